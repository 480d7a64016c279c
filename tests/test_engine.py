"""The compiled engine: seeds, vmap invariance, spectral norm, divergence as data."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ganbench.config import load_suite
from ganbench.metrics import names as M
from ganbench.models.mlp import MLP
from ganbench.train.engine import Program, hparams_of
from ganbench.train.runner import Group, NullProgress, train_group


def final(record, metric):
    return [v for (_, m, v, *_r) in record.rows if m == metric][-1]


def group_of(specs):
    return Group("test", list(specs))


def test_different_seeds_give_different_parameters(write_suite):
    suite = load_suite(write_suite())
    spec = suite.runs[0]
    program = Program(spec.config, eval_every=spec.eval_every, samples=50)
    hp = jax.tree.map(lambda *x: np.stack(x), *[hparams_of(spec.config, spec.steps)] * 3)
    states = jax.jit(jax.vmap(program.init))(jnp.array([0, 1, 0], jnp.int32), hp)
    leaves = jax.tree.leaves(states.g_params) + jax.tree.leaves(states.d_params)
    for leaf in leaves:
        if leaf.ndim > 1 and leaf[0].size > 1 and np.any(leaf[0] != 0):
            assert not np.allclose(leaf[0], leaf[1]), "seeds 0 and 1 share parameters"
            np.testing.assert_array_equal(leaf[0], leaf[2])  # same seed, same parameters


def test_a_run_gives_the_same_metrics_alone_or_vmapped_with_others(write_suite):
    path = write_suite(
        """
        [[variants]]
        name = "ns"
        loss = "non_saturating"

        [grid]
        "optimizer.lr_d" = [1e-3, 3e-4]
        """
    )
    suite = load_suite(path, seeds=2)
    devices = jax.local_devices()
    assert len(devices) == 2  # conftest: exercise sharding over two host devices
    together, _ = train_group(group_of(suite.runs), devices=devices, progress=NullProgress())
    target = suite.runs[2]
    alone, _ = train_group(group_of([target]), devices=devices[:1], progress=NullProgress())
    rec_t = next(r for r in together if r.spec.run_id == target.run_id)
    a = {(s, m): v for (s, m, v, *_r) in alone[0].rows}
    t = {(s, m): v for (s, m, v, *_r) in rec_t.rows}
    assert a.keys() == t.keys()
    for k in a:
        np.testing.assert_allclose(a[k], t[k], rtol=1e-4, atol=1e-5, err_msg=str(k))
    # ... and the runs of the group do differ from each other.
    assert final(together[0], M.LOSS_D) != final(together[1], M.LOSS_D)
    np.testing.assert_allclose(alone[0].final, rec_t.final, rtol=1e-4, atol=1e-5)


def test_chunk_statistics_are_recorded(write_suite):
    suite = load_suite(write_suite())
    recs, timing = train_group(
        group_of(suite.runs[:1]), devices=jax.local_devices()[:1], progress=NullProgress()
    )
    rec = recs[0]
    assert rec.status == "completed" and rec.step == 20
    names = {m for (_, m, *_r) in rec.rows}
    for stat in M.STEP_STATS:
        assert stat in names
    for stat in M.NORM_STATS:
        assert f"{stat}_mean" in names and f"{stat}_max" in names
    assert {M.MODES, M.HQ_FRACTION, M.REVERSE_KL, M.FD, "mode_count/7"} <= names
    steps = sorted({s for (s, *_r) in rec.rows})
    assert steps == [10, 20]
    fd_row = next(r for r in rec.rows if r[1] == M.FD)
    assert fd_row[3] == 200 and fd_row[4] == 200  # n_real, n_fake recorded
    assert final(rec, "grad_norm_d_max") >= final(rec, "grad_norm_d_mean") > 0
    assert timing["compile_seconds"] > 0


def test_spectral_norm_drives_the_largest_singular_value_to_one():
    model = MLP(width=32, depth=2, out_dim=1, spectral_norm=True)
    x = jax.random.normal(jax.random.key(0), (8, 5))
    variables = model.init({"params": jax.random.key(1)}, x)
    params = jax.tree.map(lambda w: 3.0 * w, variables["params"])  # make sigma far from 1
    stats = variables["batch_stats"]

    @jax.jit
    def power_iterations(stats):
        def one(_, st):
            _, new = model.apply(
                {"params": params, "batch_stats": st}, x, update_stats=True, mutable=["batch_stats"]
            )
            return new["batch_stats"]

        return jax.lax.fori_loop(0, 100, one, stats)

    def top_singular_values_after_normalisation(stats):
        flat_stats = {
            jax.tree_util.keystr(p): v for p, v in jax.tree_util.tree_flatten_with_path(stats)[0]
        }
        out = []
        for path, w in jax.tree_util.tree_flatten_with_path(params)[0]:
            if w.ndim != 2:
                continue
            layer = jax.tree_util.keystr(path).split("'")[1]  # sn_i
            sigma = next(v for k, v in flat_stats.items() if layer in k and k.endswith("sigma']"))
            assert np.linalg.svd(np.asarray(w), compute_uv=False)[0] > 1.5
            out.append(np.linalg.svd(np.asarray(w) / float(sigma), compute_uv=False)[0])
        return np.array(out)

    errors = []
    for _ in range(4):
        stats = power_iterations(stats)
        errors.append(np.abs(top_singular_values_after_normalisation(stats) - 1.0))
    errors = np.array(errors)  # (rounds of 100 power iterations, layers)
    checked = errors.shape[1]
    assert np.all(errors[-1] < 2e-3), errors
    assert np.all(errors[-1] <= errors[0] + 1e-6), errors
    assert checked == 3


def test_a_diverging_run_is_data_and_its_group_goes_on(write_suite):
    path = write_suite(
        """
        [[variants]]
        name = "sgd"
        loss = "wasserstein"
        optimizer = { name = "sgd", lr_g = 1e-3, lr_d = 1e-3 }

        [grid]
        "optimizer.lr_d" = [1e-3, 10.0]
        """
    )
    path.write_text(path.read_text().replace(", b1 = 0.5 }", " }"))
    suite = load_suite(path, seeds=1, steps=200, overrides=["suite.eval_every=20"])
    assert len(suite.runs) == 2  # one static structure: one compiled group
    recs, _ = train_group(
        group_of(suite.runs), devices=jax.local_devices(), progress=NullProgress()
    )
    calm, boom = sorted(recs, key=lambda r: r.spec.config.optimizer.lr_d)
    assert boom.status == "diverged"
    assert boom.diverged_at is not None and 1 <= boom.diverged_at < 200
    assert boom.step == boom.diverged_at
    assert all(s <= boom.diverged_at + 19 for (s, *_r) in boom.rows)
    assert calm.status == "completed" and calm.step == 200
    assert np.isfinite(final(calm, M.FD))
