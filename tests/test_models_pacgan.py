"""PacGAN's 2-D networks (arch 'bn_mlp', arch 'maxout') and the weight_init setting, against
their definitions (fjxmlzn/PacGAN ``2DRing_GAN&PacGAN/pacgan_task.py`` on Blocks; see
:mod:`ganbench.models.pacgan`): parameter counts written out, forward passes recomputed in NumPy
from the parameters, population statistics by the momentum rule, initialisation statistics."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.config import load_suite
from ganbench.config.expand import structure_of
from ganbench.config.tables import ModelConfig
from ganbench.metrics import names as M
from ganbench.models import ARCHS, build_discriminator, build_generator
from ganbench.models.pacgan import BatchNormMLP, MaxoutMLP, PopulationBatchNorm
from ganbench.run.loop import train_group
from ganbench.run.plan import Group
from ganbench.run.progress import NullProgress
from ganbench.train.engine import Program

EPS = 1e-4  # Blocks' BatchNormalization epsilon
MOMENTUM = 0.05  # PacGAN's population update: p <- 0.95 p + 0.05 m


def count(tree) -> int:
    return int(sum(leaf.size for leaf in jax.tree.leaves(tree)))


def np_tree(tree):
    return jax.tree.map(lambda a: np.asarray(a, np.float64), tree)


def perturbed(params, seed: int, scale: float = 0.3):
    """Every parameter moved by a random amount, so that scales, shifts and biases differ from
    their initial 1 and 0 and the oracle exercises them."""
    leaves, treedef = jax.tree.flatten(params)
    rng = np.random.default_rng(seed)
    return jax.tree.unflatten(
        treedef,
        [leaf + scale * rng.standard_normal(leaf.shape).astype(np.float32) for leaf in leaves],
    )


# --------------------------------------------------------------------------- parameter counts


def test_generator_parameter_count_is_pacgans():
    g = build_generator(ModelConfig(arch="bn_mlp", width=400, depth=4), (2,))
    # Shapes only (eval_shape): the counts need no initial values, so nothing is compiled.
    v = jax.eval_shape(lambda: g.init(jax.random.key(0), jnp.zeros((1, 2)), train=False))
    weights = 2 * 400 + 3 * 400 * 400 + 400 * 2  # four hidden linears without bias, output
    bn = 4 * 2 * 400  # scale and shift of four batch norms
    out_bias = 2
    assert count(v["params"]) == weights + bn + out_bias == 484_802
    # The population statistics (mean and stdev of four layers) are state, not parameters.
    assert count(v["batch_stats"]) == 4 * 2 * 400
    p = v["params"]
    assert "bias" not in p["dense_0"] and "bias" not in p["dense_3"]
    assert p["dense_4"]["bias"].shape == (2,)


@pytest.mark.parametrize("pack", [1, 2, 3, 4])
def test_discriminator_parameter_count_is_pacgans(pack):
    d = build_discriminator(ModelConfig(arch="maxout", width=200, depth=3), (2 * pack,))
    v = jax.eval_shape(lambda: d.init(jax.random.key(0), jnp.zeros((1, 2 * pack))))
    first = 2 * pack * 200 * 5 + 200 * 5  # LinearMaxout(2p -> 200 x 5 pieces), with bias
    hidden = 2 * (200 * 200 * 5 + 200 * 5)  # two LinearMaxout(200 -> 200 x 5)
    out = 200 + 1  # Linear(200 -> 1) with bias
    assert count(v["params"]) == first + hidden + out
    assert set(v) == {"params"}, "no batch norm, no other state in D"


def test_pieces_sets_the_maxout_width():
    d = build_discriminator(ModelConfig(arch="maxout", width=7, depth=2, pieces=3), (4,))
    v = jax.eval_shape(lambda: d.init(jax.random.key(0), jnp.zeros((1, 4))))
    assert v["params"]["maxout_0"]["linear"]["kernel"].shape == (4, 21)
    assert count(v["params"]) == (4 * 21 + 21) + (7 * 21 + 21) + (7 + 1)


def test_engine_feeds_the_discriminator_packed_inputs(write_suite):
    text = write_suite().read_text()
    text = text.replace(
        "generator = { width = 16, depth = 1 }",
        'generator = { arch = "bn_mlp", width = 8, depth = 2 }',
    ).replace(
        "discriminator = { width = 16, depth = 1 }",
        'discriminator = { arch = "maxout", width = 6, depth = 2, pieces = 3 }',
    )
    spec = load_suite(write_suite(text=text)).runs[0]
    for pack in (1, 3):
        config = spec.config.model_copy(update={"pack": pack})
        program = Program(structure_of(config), eval_every=10, samples=10)
        g, d = program.n_player_params
        assert g == (2 * 8 + 8 * 8) + 2 * 2 * 8 + (8 * 2 + 2)
        assert d == (2 * pack * 18 + 18) + (6 * 18 + 18) + (6 + 1)
        assert program.generator.groups == pack


# --------------------------------------------------------------------------- maxout forward


def test_maxout_forward_is_the_max_over_each_units_pieces():
    width, depth, pieces, n_in = 5, 2, 4, 6
    d = MaxoutMLP(width, depth, pieces)
    x = np.random.default_rng(0).standard_normal((9, n_in)).astype(np.float32)
    params = perturbed(d.init(jax.random.key(1), jnp.asarray(x))["params"], 2)
    got = np.asarray(d.apply({"params": params}, jnp.asarray(x)))
    p = np_tree(params)
    h = x.astype(np.float64)
    for i in range(depth):
        w, b = p[f"maxout_{i}"]["linear"]["kernel"], p[f"maxout_{i}"]["linear"]["bias"]
        pre = h @ w + b  # (N, width * pieces)
        # Unit u takes pieces u*pieces .. u*pieces + pieces - 1 (Blocks' reshape layout).
        h = np.stack(
            [np.max(pre[:, u * pieces : (u + 1) * pieces], axis=1) for u in range(width)], axis=1
        )
    want = h @ p[f"dense_{depth}"]["kernel"] + p[f"dense_{depth}"]["bias"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- batch-norm MLP


def np_bn_mlp(p, stats, z, depth, *, train: bool, groups: int = 1):
    """The generator in NumPy (float64). Training: each slot's batch mean and biased variance,
    stdev sqrt(var + eps); returns the output and the population statistics after one update.
    Evaluation: the population mean and stdev as given, no epsilon."""
    h = z.astype(np.float64)
    new_stats = {}
    for i in range(depth):
        a = h @ p[f"dense_{i}"]["kernel"]  # no bias
        scale, shift = p[f"bn_{i}"]["scale"], p[f"bn_{i}"]["shift"]
        if train:
            out = np.empty_like(a)
            means, stdevs = [], []
            for j in range(groups):
                slot = a[j::groups]
                mu = slot.mean(axis=0)
                var = ((slot - mu) ** 2).mean(axis=0)
                sd = np.sqrt(var + EPS)
                out[j::groups] = (slot - mu) / sd * scale + shift
                means.append(mu)
                stdevs.append(sd)
            old = stats[f"bn_{i}"]
            new_stats[f"bn_{i}"] = {
                "mean": (1 - MOMENTUM) * old["mean"] + MOMENTUM * np.mean(means, axis=0),
                "stdev": (1 - MOMENTUM) * old["stdev"] + MOMENTUM * np.mean(stdevs, axis=0),
            }
        else:
            s = stats[f"bn_{i}"]
            out = (a - s["mean"]) / s["stdev"] * scale + shift
        h = np.maximum(out, 0.0)
    y = h @ p[f"dense_{depth}"]["kernel"] + p[f"dense_{depth}"]["bias"]
    return y, new_stats


@pytest.mark.parametrize("groups", [1, 2, 3])
def test_bn_mlp_training_uses_batch_statistics_and_updates_the_population(groups):
    depth = 3
    g = BatchNormMLP(width=7, depth=depth, out_dim=2, groups=groups)
    z = np.random.default_rng(0).standard_normal((12 * groups, 2)).astype(np.float32)
    v = g.init(jax.random.key(0), jnp.asarray(z), train=False)
    params = perturbed(v["params"], 1)
    stats = jax.tree.map(lambda s: s + 0.5, v["batch_stats"])  # not the initial 0 and 1
    got, upd = g.apply(
        {"params": params, "batch_stats": stats},
        jnp.asarray(z),
        train=True,
        mutable=["batch_stats"],
    )
    want, want_stats = np_bn_mlp(
        np_tree(params), np_tree(stats), z, depth, train=True, groups=groups
    )
    np.testing.assert_allclose(np.asarray(got), want, rtol=2e-4, atol=2e-5)
    for layer, s in want_stats.items():
        for k in ("mean", "stdev"):
            np.testing.assert_allclose(
                np.asarray(upd["batch_stats"][layer][k]), s[k], rtol=2e-5, atol=2e-6
            )


def test_bn_mlp_slots_are_every_pack_th_sample():
    """With groups = 2, a batch whose even samples are shifted far from its odd ones is
    normalised per slot: each slot's outputs are those of that slot alone."""
    g = BatchNormMLP(width=5, depth=1, out_dim=2, groups=2)
    rng = np.random.default_rng(3)
    z = rng.standard_normal((16, 2)).astype(np.float32)
    z[0::2] += 50.0
    v = g.init(jax.random.key(0), jnp.asarray(z), train=False)
    both, _ = g.apply(v, jnp.asarray(z), train=True, mutable=["batch_stats"])
    alone = BatchNormMLP(width=5, depth=1, out_dim=2, groups=1)
    for j in range(2):
        slot, _ = alone.apply(v, jnp.asarray(z[j::2]), train=True, mutable=["batch_stats"])
        np.testing.assert_allclose(np.asarray(both)[j::2], np.asarray(slot), rtol=1e-5, atol=1e-6)


def test_bn_mlp_evaluation_uses_the_population_statistics():
    depth = 2
    g = BatchNormMLP(width=6, depth=depth, out_dim=2)
    z = np.random.default_rng(4).standard_normal((10, 2)).astype(np.float32)
    v = g.init(jax.random.key(0), jnp.asarray(z), train=False)
    np.testing.assert_array_equal(v["batch_stats"]["bn_0"]["mean"], np.zeros(6))
    np.testing.assert_array_equal(v["batch_stats"]["bn_0"]["stdev"], np.ones(6))
    np.testing.assert_array_equal(v["params"]["bn_0"]["scale"], np.ones(6))
    np.testing.assert_array_equal(v["params"]["bn_0"]["shift"], np.zeros(6))
    params = perturbed(v["params"], 5)
    rng = np.random.default_rng(6)
    stats = jax.tree.map(
        lambda s: jnp.asarray(rng.uniform(0.5, 2.0, s.shape), jnp.float32), v["batch_stats"]
    )
    got = g.apply({"params": params, "batch_stats": stats}, jnp.asarray(z), train=False)
    want, _ = np_bn_mlp(np_tree(params), np_tree(stats), z, depth, train=False)
    np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5, atol=2e-6)
    # One sample alone gives the same output: nothing depends on the batch.
    one = g.apply({"params": params, "batch_stats": stats}, jnp.asarray(z[:1]), train=False)
    np.testing.assert_allclose(np.asarray(one), np.asarray(got)[:1], rtol=1e-6, atol=1e-6)


def test_population_statistics_converge_to_the_batch_statistics():
    """k updates on the same batch: p_k = m + (p_0 - m) 0.95^k."""
    bn = PopulationBatchNorm()
    x = np.random.default_rng(7).normal(3.0, 2.0, (50, 4)).astype(np.float32)
    v = bn.init(jax.random.key(0), jnp.asarray(x), train=False)
    stats = v["batch_stats"]
    for _ in range(10):
        _, upd = bn.apply(
            {"params": v["params"], "batch_stats": stats},
            jnp.asarray(x),
            train=True,
            mutable=["batch_stats"],
        )
        stats = upd["batch_stats"]
    mu = x.astype(np.float64).mean(axis=0)
    sd = np.sqrt(x.astype(np.float64).var(axis=0) + EPS)
    decay = 0.95**10
    np.testing.assert_allclose(stats["mean"], mu * (1 - decay), rtol=1e-5)
    np.testing.assert_allclose(stats["stdev"], sd + (1.0 - sd) * decay, rtol=1e-5)


# --------------------------------------------------------------------------- weight_init


def _kernels_and_biases(params):
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    kernels = {jax.tree_util.keystr(k): np.asarray(v) for k, v in flat if "kernel" in str(k[-1])}
    biases = {jax.tree_util.keystr(k): np.asarray(v) for k, v in flat if "bias" in str(k[-1])}
    return kernels, biases


def _init(arch: str, weight_init: str | None, width: int = 400, depth: int = 2):
    cfg = ModelConfig(arch=arch, width=width, depth=depth, weight_init=weight_init)
    if arch == "bn_mlp":
        return build_generator(cfg, (2,)).init(jax.random.key(3), jnp.zeros((1, 2)), train=False)[
            "params"
        ]
    if arch == "maxout":
        return build_discriminator(cfg, (4,)).init(jax.random.key(3), jnp.zeros((1, 4)))["params"]
    return build_generator(cfg, (2,)).init(jax.random.key(3), jnp.zeros((1, 2)))["params"]


@pytest.mark.parametrize(
    ("arch", "weight_init", "big"),
    [
        ("bn_mlp", None, "['dense_1']['kernel']"),  # PacGAN's default
        ("maxout", None, "['maxout_1']['linear']['kernel']"),  # PacGAN's default
        ("mlp", "normal:0.02", "['dense_1']['kernel']"),
        ("mlp", "normal:2e-2", "['dense_1']['kernel']"),
    ],
)
def test_normal_init_has_std_002_and_zero_biases(arch, weight_init, big):
    kernels, biases = _kernels_and_biases(
        _init(arch, weight_init, width=400 if arch != "maxout" else 100)
    )
    w = kernels[big].ravel().astype(np.float64)
    n = w.size  # 160,000 (400 x 400) or 50,000 (100 x 500)
    # Sample std of n N(0, s^2) draws: standard error s / sqrt(2n); sample mean: s / sqrt(n).
    assert abs(w.std() - 0.02) < 5 * 0.02 / np.sqrt(2 * n)
    assert abs(w.mean()) < 5 * 0.02 / np.sqrt(n)
    assert biases, "the networks have biases"
    for name, b in biases.items():
        np.testing.assert_array_equal(b, 0.0, err_msg=name)
    for name, k in kernels.items():
        assert abs(k.std() - 0.02) < 0.02 * 0.2, name  # every layer, small ones loosely


def test_mlp_default_init_is_still_flaxs():
    """weight_init None leaves 'mlp' at Flax's LeCun-normal (std 1/sqrt(fan_in) before
    truncation at 2 sigma: 0.8796 / sqrt(fan_in)), not PacGAN's 0.02."""
    kernels, _ = _kernels_and_biases(_init("mlp", None))
    w = kernels["['dense_1']['kernel']"].ravel()
    assert abs(w.std() - 1 / np.sqrt(400)) < 0.01 / np.sqrt(400)


@pytest.mark.parametrize("arch", ["mlp", "bn_mlp", "maxout"])
def test_orthogonal_init_has_orthogonal_columns_or_rows_times_gain(arch):
    gain = 1.4
    kernels, biases = _kernels_and_biases(_init(arch, "orthogonal:1.4", width=30, depth=2))
    shapes = set()
    for name, w in kernels.items():
        w = w.astype(np.float64)
        rows, cols = w.shape
        gram = w.T @ w if rows >= cols else w @ w.T
        np.testing.assert_allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=1e-5, err_msg=name)
        shapes.add("tall" if rows > cols else "wide" if rows < cols else "square")
    assert {"tall", "wide"} <= shapes, "both cases are exercised"
    for name, b in biases.items():
        np.testing.assert_array_equal(b, 0.0, err_msg=name)


# --------------------------------------------------------------------------- schema and CLI


SUITE = """
[suite]
name = "pac"
seeds = 1
steps = 10
eval_every = 10

[defaults]
dataset = "ring8"
batch_size = 8
z_dim = 2
generator = {{ arch = "bn_mlp", width = 8, depth = 2 }}
discriminator = {{ arch = "maxout", width = 8, depth = 2 }}
optimizer = {{ name = "adam", lr_g = 1e-4, lr_d = 1e-4, b1 = 0.8 }}

[[variants]]
name = "gan"
loss = "non_saturating"
{extra}
"""


def write(tmp_path, extra: str = "", name: str = "pac.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(SUITE.format(extra=extra)))
    return path


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        ('generator = { arch = "mlp", pieces = 3 }', ["pieces", "'maxout'", "not 'mlp'"]),
        ('generator = { arch = "bn_mlp", pieces = 3 }', ["pieces", "'maxout'", "not 'bn_mlp'"]),
        ('discriminator = { arch = "maxout", pieces = 1 }', ["pieces", "2"]),
        (
            'generator = { arch = "bn_mlp", weight_init = "uniform:1" }',
            ["weight_init", "normal:<std>", "orthogonal:<gain>"],
        ),
        ('generator = { arch = "bn_mlp", weight_init = "normal:-1" }', ["weight_init", "positive"]),
        (
            'generator = { arch = "bn_mlp", weight_init = "normal" }',
            ["weight_init", "normal:<std>"],
        ),
        ('generator = { arch = "bn_mlp", weight_init = "normal:nan" }', ["weight_init"]),
        (
            'discriminator = { arch = "linear", weight_init = "normal:0.1" }',
            ["weight_init", "'bn_mlp', 'maxout', 'mlp'", "not 'linear'"],
        ),
        ('generator = { arch = "maxout" }', ["generator.arch", "'maxout' is not a generator"]),
        (
            'discriminator = { arch = "bn_mlp" }',
            ["discriminator.arch", "'bn_mlp' is not a discriminator"],
        ),
    ],
)
def test_bad_settings_exit_2_naming_the_key(tmp_path, extra, needles):
    path = write(tmp_path, extra)
    out = tmp_path / "out"
    for args in (["validate", str(path)], ["run", str(path), "--out", str(out)]):
        result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
        assert result.exit_code == 2, (args, result.output)
        text = " ".join(result.output.split())
        assert "error:" in text and "Traceback" not in text
        assert str(path.name) in text
        for needle in needles:
            assert needle in text, (needle, text)
    assert not out.exists()


def test_weight_init_spellings_of_one_value_share_a_run_id(tmp_path):
    ids = []
    for i, value in enumerate(["normal:0.02", "normal:2e-2", "normal:0.020", "normal:.02"]):
        path = write(
            tmp_path, f'generator = {{ arch = "bn_mlp", weight_init = "{value}" }}', f"{i}.toml"
        )
        suite = load_suite(path)
        assert suite.runs[0].config.generator.weight_init == "normal:0.02"
        ids.append(suite.runs[0].run_id)
    assert len(set(ids)) == 1
    other = load_suite(
        write(tmp_path, 'generator = { arch = "bn_mlp", weight_init = "normal:0.03" }', "x.toml")
    )
    assert other.runs[0].run_id != ids[0]
    # Unset, the settings are not part of the run's identity at all.
    plain = load_suite(write(tmp_path, "", "plain.toml")).runs[0]
    for role in ("generator", "discriminator"):
        assert "weight_init" not in plain.config.resolved()[role]
        assert "pieces" not in plain.config.resolved()[role]
    pieces = load_suite(
        write(tmp_path, 'discriminator = { arch = "maxout", pieces = 5 }', "p.toml")
    )
    assert pieces.runs[0].run_id != plain.run_id


SMOKE_IDS = ["d5d88b2c4287", "74f30140754b", "65684c7da9b7", "bc86e5995c33"]
"""suites/smoke.toml's run ids before weight_init and pieces existed."""


def test_shipped_run_ids_are_unchanged():
    root = Path(__file__).resolve().parents[1]
    assert [r.run_id for r in load_suite(root / "suites" / "smoke.toml").runs] == SMOKE_IDS


def test_list_shows_the_new_architectures_and_settings():
    result = CliRunner().invoke(app, ["list", "models", "--format", "json"])
    assert result.exit_code == 0, result.output
    items = {item["name"]: item for item in json.loads(result.stdout)["models"]}
    assert {"pieces", "weight_init", "width", "depth"} <= set(items["maxout"]["knobs"])
    assert {"weight_init", "width", "depth", "activation"} <= set(items["bn_mlp"]["knobs"])
    assert "weight_init" in items["mlp"]["knobs"]
    assert ARCHS.get("bn_mlp").roles == ("generator",)
    assert ARCHS.get("maxout").roles == ("discriminator",)


# --------------------------------------------------------------------------- engine


ENGINE_SUITE = """
[suite]
name = "pac-engine"
seeds = 2
steps = {steps}
eval_every = {eval_every}

[defaults]
dataset = "ring8"
batch_size = 16
z_dim = 2
generator = {{ arch = "bn_mlp", width = 16, depth = 2 }}
discriminator = {{ arch = "maxout", width = 8, depth = 2, pieces = 3 }}
optimizer = {{ name = "adam", lr_g = 1e-3, lr_d = 1e-3, b1 = 0.8 }}

[metrics]
samples = 200

{variants}
"""


def _train(tmp_path, variants: str, steps: int = 200, eval_every: int = 100):
    path = tmp_path / "engine.toml"
    path.write_text(
        textwrap.dedent(
            ENGINE_SUITE.format(
                steps=steps, eval_every=eval_every, variants=textwrap.dedent(variants)
            )
        )
    )
    suite = load_suite(path)
    records = []
    for variant in dict.fromkeys(r.variant for r in suite.runs):
        runs = [r for r in suite.runs if r.variant == variant]
        recs, _ = train_group(
            Group(variant, runs), devices=jax.local_devices()[:1], progress=NullProgress()
        )
        records += recs
    return records


def _check(records, steps):
    for rec in records:
        assert rec.status == "completed" and rec.step == steps, (rec.spec.variant, rec.error)
        values = {m: v for (_, m, v, *_r) in rec.rows}
        assert {M.LOSS_D, M.LOSS_G, M.MODES, M.HQ_FRACTION, M.REVERSE_KL} <= set(values)
        # Training statistics are finite (reverse KL is NaN by definition while no sample is
        # high-quality, so the mode metrics are only required to be recorded).
        for stat in (*M.STEP_STATS, *(f"{k}_mean" for k in M.NORM_STATS)):
            assert np.isfinite(values[stat]), (rec.spec.variant, stat)
        assert np.isfinite(values[M.MODES]) and np.isfinite(values[M.HQ_FRACTION])
    return records


@pytest.mark.slow  # the default run trains the same networks, three runs vmapped, at pack 3
def test_engine_trains_pacgan_networks_vmapped_over_seeds_with_pack_1_and_2(tmp_path):
    records = _check(
        _train(
            tmp_path,
            """
            [[variants]]
            name = "gan"
            loss = "non_saturating"
            updates = "simultaneous"

            [[variants]]
            name = "pacgan2"
            loss = "non_saturating"
            updates = "simultaneous"
            pack = 2
            """,
        ),
        200,
    )
    assert len(records) == 4
    by_variant = {}
    for rec in records:
        by_variant.setdefault(rec.spec.variant, []).append(rec)
    for recs in by_variant.values():
        a, b = ({m: v for (_, m, v, *_r) in r.rows} for r in recs)
        assert a[M.LOSS_D] != b[M.LOSS_D], "the two seeds are different runs"


def test_engine_generator_state_is_the_population_statistics(tmp_path):
    """After training, the state's batch_stats are means and stdevs of the hidden
    pre-activations (stdevs positive, no NaN), and evaluation uses them: the engine's
    g_apply equals the module in inference mode."""
    path = tmp_path / "s.toml"
    path.write_text(
        textwrap.dedent(
            ENGINE_SUITE.format(
                steps=10,
                eval_every=10,
                variants='[[variants]]\nname = "gan"\nloss = "non_saturating"\npack = 2\n',
            )
        )
    )
    spec = load_suite(path).runs[0]
    from ganbench.config.expand import hparams_of

    program = Program(structure_of(spec.config), eval_every=10, samples=50)
    hp = hparams_of(spec.config, spec.steps)
    state = jax.jit(program.init)(np.int32(0), hp)
    step = jax.jit(program.train_step)
    for _ in range(3):
        state, _ = step(state, hp)
    stats = state.g_stats["batch_stats"]
    assert not np.allclose(stats["bn_0"]["mean"], 0.0), "the population moved"
    assert np.all(np.asarray(stats["bn_1"]["stdev"]) > 0)
    z = jax.random.normal(jax.random.key(9), (5, 2))
    got = program.g_apply(state.g_params, state.g_stats, z)
    want = program.generator.apply({"params": state.g_params, **state.g_stats}, z, train=False)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_shared_generator_step_equals_the_generator_objective_with_batch_norm(tmp_path):
    """The alternating rule's shared generator step (one pass through D) gives g_objective's
    value, gradient and new population statistics for the batch-norm generator too."""
    from ganbench.config.expand import hparams_of

    path = tmp_path / "s.toml"
    path.write_text(
        textwrap.dedent(
            ENGINE_SUITE.format(
                steps=10,
                eval_every=10,
                variants='[[variants]]\nname = "gan"\nloss = "non_saturating"\npack = 2\n',
            )
        )
    )
    spec = load_suite(path).runs[0]
    program = Program(structure_of(spec.config), eval_every=10, samples=50)
    assert program.shares_input_gradients
    hp = hparams_of(spec.config, spec.steps)
    state = jax.jit(program.init)(np.int32(3), hp)
    state = jax.jit(program.train_step)(state, hp)[0]
    key = jax.random.key(7)
    args = (state.g_params, state.g_stats, state.d_params, state.d_stats)
    lg, grads, (_, _, stats), _ = jax.jit(program.g_step_shared)(*args, key, hp)
    (lg_ref, (_, _, stats_ref)), grads_ref = jax.jit(
        jax.value_and_grad(program.g_objective, has_aux=True)
    )(*args, state.d_opt, key, hp, state.step)
    np.testing.assert_allclose(lg, lg_ref, rtol=1e-6)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(grads_ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-7)
    for a, b in zip(jax.tree.leaves(stats), jax.tree.leaves(stats_ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


ORTHOGONAL_SUITE = """
[suite]
name = "ortho"
seeds = 3
steps = 4
eval_every = 2

[defaults]
dataset = "ring8"
batch_size = 16
z_dim = 2
loss = "non_saturating"
optimizer = { name = "adam", lr_g = 1e-4, lr_d = 1e-4 }
generator = { arch = "bn_mlp", width = 128, depth = 2, weight_init = "orthogonal:1.4" }
discriminator = { arch = "maxout", width = 128, depth = 2, pieces = 3, weight_init = "orthogonal:1.4" }

[metrics]
samples = 50

[[variants]]
name = "gan"
unroll = 2
pack = 3
ema = { decay = 0.9 }
"""
"""PacGAN's networks with orthogonal kernels, G's batch statistics through an unrolled D, their
average (EMA) and an odd pack size, three runs: one program for two claims (below)."""


def test_orthogonal_init_of_3_runs_on_this_processs_2_host_devices(tmp_path):
    """The same group (3 runs padded to 4, orthogonal initialisation) trained in this process,
    whose 2 host devices tests/conftest.py sets: each device initialises its own runs. The slow
    run also checks the command in a fresh process, under a time limit.

    The group is also the engine's combination of G's batch statistics through an unrolled D,
    their average and an odd pack size, vmapped over runs: each run keeps its own statistics."""
    path = tmp_path / "suite.toml"
    path.write_text(ORTHOGONAL_SUITE)
    runs = load_suite(path).runs
    assert len(runs) == 3 and len(jax.local_devices()) >= 2
    records, _ = train_group(
        Group("gan", runs), devices=jax.local_devices()[:2], progress=NullProgress()
    )
    assert [(r.status, r.step) for r in records] == [("completed", 4)] * 3
    _check(records, 4)
    a, b, c = ({m: v for (_, m, v, *_r) in r.rows} for r in records)
    assert len({a[M.LOSS_D], b[M.LOSS_D], c[M.LOSS_D]}) == 3, "the seeds are different runs"
    assert {M.EMA_PREFIX + M.MODES, M.EMA_PREFIX + M.HQ_FRACTION} <= set(a)


@pytest.mark.slow  # a fresh process; the default run trains the same group in-process above
def test_orthogonal_init_of_3_runs_on_2_host_devices_finishes(tmp_path):
    """An orthogonal initialisation is a batched QR; initialised by the SPMD partitioner over
    2 host devices (3 runs padded to 4), it hung XLA:CPU at 0% CPU. Each device now initialises
    its own runs (at width 8 the old path happened not to hang; at 128 it did). A fresh process,
    because the host device count is fixed at start-up."""
    import os
    import subprocess
    import sys

    suite = tmp_path / "suite.toml"
    suite.write_text(ORTHOGONAL_SUITE)
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "GANBENCH_COMPILE_CACHE": "off"}
    env.pop("XLA_FLAGS", None)
    cmd = [sys.executable, "-c", "from ganbench.cli import app; app()", "run", str(suite)]
    cmd += ["--out", str(tmp_path / "out"), "--no-report", "--host-devices", "2"]
    try:
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail("3 runs with orthogonal initialisation on 2 host devices did not finish")
    assert res.returncode == 0, res.stderr
    manifests = [
        json.loads(p.read_text())
        for p in (tmp_path / "out" / "ortho" / "runs").glob("*/manifest.json")
    ]
    assert sorted(m["seed"] for m in manifests if m["variant"] == "gan") == [0, 1, 2]
