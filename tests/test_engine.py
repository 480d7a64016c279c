"""The compiled engine: seeds, vmap invariance, spectral norm, divergence as data."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganbench.config import load_suite
from ganbench.config.expand import hparams_of, structure_of
from ganbench.metrics import names as M
from ganbench.models.mlp import MLP
from ganbench.run.loop import train_group
from ganbench.run.plan import Group
from ganbench.run.progress import NullProgress
from ganbench.train.engine import Program


def final(record, metric):
    return [v for (_, m, v, *_r) in record.rows if m == metric][-1]


def group_of(specs):
    return Group("test", list(specs))


def test_different_seeds_give_different_parameters(write_suite):
    suite = load_suite(write_suite())
    spec = suite.runs[0]
    program = Program(structure_of(spec.config), eval_every=spec.eval_every, samples=50)
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


SHARED_SUITE = """
[suite]
name = "shared"
seeds = 1
steps = {steps}
eval_every = {steps}

[defaults]
dataset = "{dataset}"
batch_size = 16
z_dim = 2
generator = {{ width = 16, depth = 2 }}
discriminator = {{ width = 16, depth = 2 }}
optimizer = {{ name = "adam", lr_g = 1e-3, lr_d = 1e-3, b1 = 0.5 }}

[metrics]
samples = 50

[[variants]]
name = "v"
{body}
"""


def _program(tmp_path, body, *, dataset="grid25", steps=4):
    path = tmp_path / "shared.toml"
    path.write_text(SHARED_SUITE.format(steps=steps, dataset=dataset, body=body))
    spec = load_suite(path).runs[0]
    return Program(structure_of(spec.config), eval_every=spec.eval_every, samples=50), spec


@pytest.mark.parametrize(
    "body",
    [
        'loss = "non_saturating"',
        'loss = "minimax"',
        'loss = "least_squares"',
        'loss = "hinge"\ndiscriminator = { width = 16, depth = 2, spectral_norm = true }',
        'loss = "non_saturating"\npack = 2',
        'loss = "wasserstein"\npenalty = { name = "gp", weight = 1.0 }',
    ],
)
def test_shared_generator_step_equals_the_generator_objective(tmp_path, body):
    """One backward pass through D with unit cotangents, scaled per sample by dL/dD, is the
    generator's gradient (D maps each input on its own): the shared step must give
    g_objective's value and gradient, and the input-gradient norms of a separate pass."""
    from ganbench.objectives.penalties import input_gradients, per_sample_norm

    program, spec = _program(tmp_path, body)
    assert program.shares_input_gradients
    hp = hparams_of(spec.config, spec.steps)
    state = jax.jit(program.init)(np.int32(3), hp)
    # Move D off its initialisation so the cotangents are not all alike (noise, not a training
    # step: one program fewer to compile).
    state = state._replace(d_params=jax.jit(_jiggle)(state.d_params, jax.random.key(11)))
    key = jax.random.key(7)
    args = (state.g_params, state.g_stats, state.d_params, state.d_stats)
    lg, grads, (real, fake, _), norms = jax.jit(program.g_step_shared)(*args, key, hp)
    (lg_ref, _), grads_ref = jax.jit(jax.value_and_grad(program.g_objective, has_aux=True))(
        *args, state.d_opt, key, hp, state.step
    )
    np.testing.assert_allclose(lg, lg_ref, rtol=1e-6)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(grads_ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-7)
    x = jnp.concatenate([program.pack_samples(real), program.pack_samples(fake)])
    d_fn = lambda v: program.d_apply(state.d_params, state.d_stats, v)  # noqa: E731
    # The same norms from two float32 backward passes that sum in different orders: equal to
    # a few float32 roundings (1.4e-6 relative was seen with spectral normalisation).
    reference = jax.jit(lambda v: per_sample_norm(input_gradients(d_fn, v)))(x)
    np.testing.assert_allclose(norms, reference, rtol=1e-5)


def _jiggle(params, key):
    """Each parameter plus 10% of its tensor's scale in Gaussian noise."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(
        tree,
        [
            p + 0.1 * (jnp.std(p) + 0.1) * jax.random.normal(k, p.shape, p.dtype)
            for p, k in zip(leaves, keys, strict=True)
        ],
    )


@pytest.mark.parametrize(
    "body",
    [
        'loss = "non_saturating"\nunroll = 1',
        'loss = "non_saturating"\ninstance_noise = { std = 0.1 }',
        'loss = "non_saturating"\nupdates = "simultaneous"',
    ],
)
def test_generator_steps_that_see_another_d_do_not_share(tmp_path, body):
    # Unrolled D, noisy inputs or the pre-update D: the diagnostic needs its own pass.
    program, _ = _program(tmp_path, body)
    assert not program.shares_input_gradients


def test_input_gradient_diagnostic_is_the_updated_discriminators_slope(tmp_path):
    """Dirac-GAN with alternating steps: D(x) = psi x, so |grad_x D| = |psi| of the step's
    updated D on every input, real or generated; the trajectory holds psi after every step."""
    path = tmp_path / "dirac.toml"
    path.write_text(
        """
[suite]
name = "dirac"
seeds = 1
steps = 40
eval_every = 20

[defaults]
dataset = "dirac"
loss = "minimax"
batch_size = 8
z_dim = 1
generator = { arch = "point", init = 1.0 }
discriminator = { arch = "linear", init = 1.0 }
optimizer = { name = "sgd", lr_g = 0.1, lr_d = 0.1 }
updates = "alternating"

[metrics]
samples = 2
snapshots = false

[[variants]]
name = "v"
"""
    )
    suite = load_suite(path)
    (rec,), _ = train_group(
        group_of(suite.runs), devices=jax.local_devices()[:1], progress=NullProgress()
    )
    psi = np.abs(np.concatenate(rec.trajectory)[1:, 1])  # after steps 1..40
    rows = {(s, m): v for (s, m, v, *_r) in rec.rows}
    for end in (20, 40):
        chunk = psi[end - 20 : end]
        for side in ("real", "fake"):
            np.testing.assert_allclose(rows[(end, f"input_grad_{side}_mean")], chunk.mean(), 1e-6)
            np.testing.assert_allclose(rows[(end, f"input_grad_{side}_max")], chunk.max(), 1e-6)


def test_mixtures_share_a_program_and_each_run_keeps_its_numbers(write_suite):
    """ring8 and grid25 runs train in one compiled program (the planner groups them), each
    sampling its own mixture: a run's numbers equal those it gets in a group of its dataset
    alone (same group size and device), bit for bit."""
    from ganbench.run.plan import make_plan

    path = write_suite(
        """
        [[variants]]
        name = "ns"
        loss = "non_saturating"

        [grid]
        dataset = ["ring8", "grid25"]
        """
    )
    suite = load_suite(path, seeds=2)
    plan = make_plan(suite, path.parent / "out")
    assert [len(g.runs) for g in plan.groups] == [4]
    assert plan.groups[0].dataset_names == "ring8+grid25"
    ring = [r for r in suite.runs if r.config.dataset == "ring8"]
    grid = [r for r in suite.runs if r.config.dataset == "grid25"]
    one = jax.local_devices()[:1]

    def rows(runs):
        recs, _ = train_group(group_of(runs), devices=one, progress=NullProgress())
        return {r.spec.run_id: r for r in recs}

    mixed = rows([ring[0], grid[0]])
    for alone in (rows(ring), rows(grid)):
        for run_id, rec in alone.items():
            if run_id in mixed:
                a, b = mixed[run_id].rows, rec.rows
                assert [r[:2] + r[3:] for r in a] == [r[:2] + r[3:] for r in b]
                np.testing.assert_array_equal([r[2] for r in a], [r[2] for r in b])  # NaN == NaN
                np.testing.assert_array_equal(mixed[run_id].final, rec.final)
                for key, snap in rec.snapshots.items():
                    np.testing.assert_array_equal(mixed[run_id].snapshots[key], snap)
    g = mixed[grid[0].run_id]
    assert any(m == "mode_count/24" for (_, m, *_r) in g.rows)
    extent = g.snapshots["d_grid_extent"]
    assert extent[1] - extent[0] > 8  # grid25's plane, not ring8's


def test_a_program_samples_at_most_max_datasets_mixtures(write_suite):
    from ganbench.run.plan import MAX_DATASETS, make_plan

    path = write_suite(
        """
        [[variants]]
        name = "ns"
        loss = "non_saturating"

        [grid]
        weights = ["uniform", "longtail:2", "longtail:4", "longtail:8", "longtail:16"]
        """
    )
    suite = load_suite(path, seeds=2)
    plan = make_plan(suite, path.parent / "out")
    assert MAX_DATASETS == 4
    assert [len(g.datasets) for g in plan.groups] == [4, 1]
    assert [len(g.runs) for g in plan.groups] == [8, 2]
    assert len({g.key for g in plan.groups}) == 1  # one structure, two programs
    weights = [g.datasets[0].weights for g in plan.groups]
    assert weights[0] == get_dataset_weights("uniform") and weights[1] != weights[0]


def get_dataset_weights(spec):
    from ganbench.data import get_dataset

    return get_dataset("ring8", spec).weights
