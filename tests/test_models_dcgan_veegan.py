"""Arch ``dcgan_veegan``, the DCGAN of PacGAN's Stacked MNIST experiment (VEEGAN setup), against
its definition in fjxmlzn/PacGAN ``stacked_MNIST_experiments/VEEGAN_experiment`` (``model.py``,
``ops.py``): layer shapes, parameter counts worked out by hand, the transposed convolutions'
output sizes, TensorFlow's batch norm (batch statistics against running averages), the
initialisation, and short engine runs on a tiny Stacked MNIST with pack 1 and 2."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from jax import lax
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.metrics import names as M
from ganbench.models import conv as C
from ganbench.models.dcgan import param_count
from ganbench.models.dcgan_veegan import (
    BASE,
    BN_EPSILON,
    BN_MOMENTUM,
    INIT_STD,
    KERNEL,
    LEAKY_SLOPE,
    STRIDE,
    BatchNorm,
    Discriminator,
    Generator,
    same_sizes,
)

DN = ("NHWC", "HWIO", "NHWC")


def _z(n: int, seed: int = 0) -> jax.Array:
    # The reference draws z from U(-1, 1) (model.py, train).
    return jax.random.uniform(jax.random.key(seed), (n, 100), minval=-1.0, maxval=1.0)


def _x(n: int, channels: int = 3, seed: int = 1) -> jax.Array:
    return jax.random.uniform(jax.random.key(seed), (n, 28, 28, channels), minval=-1.0, maxval=1.0)


def _layer_shapes(inter) -> dict[str, tuple[int, ...]]:
    """Output shape of each named submodule from ``capture_intermediates``."""
    layers = inter["intermediates"]
    return {k: layers[k]["__call__"][0].shape for k in layers if k != "__call__"}


def _shapes(module, x):
    """The variables' shapes at init, without computing them (fast for the full-size nets)."""
    return jax.eval_shape(lambda: module.init(jax.random.key(0), x, train=False))


def test_reference_constants():
    # ops.py: batch_norm(epsilon=1e-5, momentum=0.9), conv2d / deconv2d (k 5, d 2, stddev
    # 0.02), lrelu(leak=0.2); model.py DCGAN.__init__: gf_dim = df_dim = 64.
    assert (BN_EPSILON, BN_MOMENTUM) == (1e-5, 0.9)
    assert (KERNEL, STRIDE, INIT_STD, LEAKY_SLOPE, BASE) == (5, 2, 0.02, 0.2, 64)


def test_sizes_halve_with_ceil():
    # conv_out_size_same(size, 2) = ceil(size / 2), four times from 28.
    assert same_sizes(28) == (28, 14, 7, 4, 2)
    assert same_sizes(64) == (64, 32, 16, 8, 4)


# ---------------------------------------------------------------- transposed convolutions


def _direct_transpose(x, w, s, out):
    """The definition of tf.nn.conv2d_transpose(x, w, output (out, out), stride s, SAME), in
    float64 loops: input pixel (i, j) adds w[a, b, :, c] x[i, j, c] at (s i + a, s j + b) of the
    padded output, whose padding is that of the SAME convolution out -> ceil(out / s):
    total = max((ceil(out / s) - 1) s + k - out, 0), the smaller half first."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    n, h, _, _ = x.shape
    k = w.shape[0]
    total = max((h - 1) * s + k - out, 0)
    lo = total // 2
    canvas = np.zeros((n, s * (h - 1) + k, s * (h - 1) + k, w.shape[2]))
    for i in range(h):
        for j in range(h):
            canvas[:, s * i : s * i + k, s * j : s * j + k, :] += np.einsum(
                "nc,aboc->nabo", x[:, i, j, :], w
            )
    return canvas[:, lo : lo + out, lo : lo + out, :]


@pytest.mark.parametrize(("size_in", "size_out"), [(2, 4), (4, 7), (7, 14), (14, 28)])
def test_transposed_convolution_output_sizes(size_in, size_out):
    """Each generator layer maps n to the given size m with ceil(m / 2) = n, and equals both the
    loop definition and the input gradient of lax's SAME convolution on m x m images."""
    assert math.ceil(size_out / 2) == size_in
    rng = np.random.default_rng(size_out)
    x = jnp.asarray(rng.normal(size=(2, size_in, size_in, 4)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(5, 5, 3, 4)), jnp.float32)
    # Each side as one jitted program (not op by op).
    got = jax.jit(lambda x, w: C.conv_transpose_to(x, w, 2, (size_out, size_out)))(x, w)
    assert got.shape == (2, size_out, size_out, 3)
    want = _direct_transpose(x, w, 2, size_out)
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=1e-5 * np.abs(want).max())

    @jax.jit
    def input_gradient(x, w):
        _, vjp = jax.vjp(
            lambda y: lax.conv_general_dilated(y, w, (2, 2), "SAME", dimension_numbers=DN),
            jnp.zeros((2, size_out, size_out, 3)),
        )
        return vjp(x)[0]

    grad = input_gradient(x, w)
    np.testing.assert_allclose(np.asarray(got), np.asarray(grad), atol=1e-5 * np.abs(want).max())


def test_transposed_convolution_impulse_4_to_7():
    """4 -> 7 pads the SAME convolution 7 -> 4 by (2, 2) (total (4 - 1) 2 + 5 - 7 = 4): a unit
    impulse at input (0, 0) writes kernel taps a, b >= 2 at output (a - 2, b - 2)."""
    w = jnp.arange(25.0).reshape(5, 5, 1, 1)
    x = jnp.zeros((1, 4, 4, 1)).at[0, 0, 0, 0].set(1.0)
    y = np.asarray(jax.jit(lambda x, w: C.conv_transpose_to(x, w, 2, (7, 7)))(x, w))[0, :, :, 0]
    expected = np.zeros((7, 7))
    expected[:3, :3] = np.arange(25.0).reshape(5, 5)[2:, 2:]
    np.testing.assert_array_equal(y, expected)


def test_transposed_convolution_refuses_sizes_that_do_not_map_back():
    x, w = jnp.zeros((1, 4, 4, 2)), jnp.zeros((5, 5, 3, 2))
    out = jax.eval_shape(lambda x, w: C.conv_transpose_to(x, w, 2, (8, 8)), x, w)
    assert out.shape == (1, 8, 8, 3)  # ceil(8 / 2) = 4 too
    with pytest.raises(ValueError, match="maps size 9 to 5, not 4"):
        C.conv_transpose_to(x, w, 2, (9, 9))


# ---------------------------------------------------------------- shapes and parameter counts


def test_generator_layer_shapes():
    g = Generator()
    v = _shapes(g, _z(2))
    y, inter = jax.eval_shape(
        lambda v, z: g.apply(v, z, train=False, capture_intermediates=True), v, _z(3)
    )
    assert y.shape == (3, 28, 28, 3)
    got = _layer_shapes(inter)
    assert got["h0_lin"] == (3, 2048)  # 8 * 64 * 2 * 2, reshaped to (2, 2, 512)
    assert got["bn_0"] == (3, 2, 2, 512)
    assert got["deconv_1"] == (3, 4, 4, 256)
    assert got["deconv_2"] == (3, 7, 7, 128)
    assert got["deconv_3"] == (3, 14, 14, 64)
    assert got["deconv_4"] == (3, 28, 28, 3)


@pytest.mark.parametrize("pack", [1, 2])
def test_discriminator_layer_shapes_and_logits(pack):
    d = Discriminator(base=8)
    x = _x(4, 3 * pack)
    v = _shapes(d, x)
    logits, inter = jax.eval_shape(lambda v, x: d.apply(v, x, capture_intermediates=True), v, x)
    assert logits.shape == (4, 1)
    got = _layer_shapes(inter)
    assert got["conv_0"] == (4, 14, 14, 8)
    assert got["conv_1"] == (4, 7, 7, 16)
    assert got["conv_2"] == (4, 4, 4, 32)
    assert got["conv_3"] == (4, 2, 2, 64)
    assert v["params"]["conv_0"]["kernel"].shape == (5, 5, 3 * pack, 8)
    assert v["params"]["h4_lin"]["kernel"].shape == (2 * 2 * 64, 1)
    assert "bn_0" not in v["params"]  # no batch norm after the first convolution


def test_generator_parameter_count():
    v = _shapes(Generator(), _z(2))
    h0_lin = 100 * (8 * 64 * 2 * 2) + 8 * 64 * 2 * 2  # 204,800 + 2,048 = 206,848
    bn0 = 2 * 512  # gamma + beta per channel of the (2, 2, 512) tensor = 1,024
    deconv1 = 5 * 5 * 256 * 512 + 256  # 3,276,800 + 256 = 3,277,056
    bn1 = 2 * 256  # 512
    deconv2 = 5 * 5 * 128 * 256 + 128  # 819,200 + 128 = 819,328
    bn2 = 2 * 128  # 256
    deconv3 = 5 * 5 * 64 * 128 + 64  # 204,800 + 64 = 204,864
    bn3 = 2 * 64  # 128
    deconv4 = 5 * 5 * 3 * 64 + 3  # 4,800 + 3 = 4,803
    trainable = h0_lin + bn0 + deconv1 + bn1 + deconv2 + bn2 + deconv3 + bn3 + deconv4
    assert trainable == 4_514_819
    moving = 2 * (512 + 256 + 128 + 64)  # moving mean and variance per channel = 1,920
    assert param_count(v["params"]) == trainable
    assert param_count(v["batch_stats"]) == moving
    assert v["params"]["deconv_1"]["kernel"].shape == (5, 5, 256, 512)  # TF layout (out, in)


@pytest.mark.parametrize(("pack", "expected"), [(1, 4_310_401), (2, 4_315_201)])
def test_discriminator_parameter_count(pack, expected):
    v = _shapes(Discriminator(), _x(2, 3 * pack))
    conv0 = 5 * 5 * (3 * pack) * 64 + 64  # pack 1: 4,864; pack 2: 9,664
    conv1 = 5 * 5 * 64 * 128 + 128  # 204,928
    bn1 = 2 * 128  # 256
    conv2 = 5 * 5 * 128 * 256 + 256  # 819,456
    bn2 = 2 * 256  # 512
    conv3 = 5 * 5 * 256 * 512 + 512  # 3,277,312
    bn3 = 2 * 512  # 1,024
    h4_lin = 2 * 2 * 512 + 1  # 2,049
    total = conv0 + conv1 + bn1 + conv2 + bn2 + conv3 + bn3 + h4_lin
    assert total == expected
    assert param_count(v["params"]) == expected
    assert "batch_stats" not in v  # D keeps no running averages


# ---------------------------------------------------------------- batch norm


def test_batch_norm_training_and_running_averages():
    """Training: (x - mean) / sqrt(var + eps) with the biased batch variance over (N, H, W);
    the running averages move by 0.9 ra + 0.1 batch from (0, 1), the variance with Bessel's
    correction n / (n - 1) (TensorFlow's fused kernel). Inference: the running averages."""
    rng = np.random.default_rng(0)
    x = rng.normal(1.5, 2.0, size=(8, 2, 2, 3))
    bn = BatchNorm()
    v = bn.init(jax.random.key(0), jnp.zeros((1, 2, 2, 3)), train=False)
    # One jitted program per mode (not op by op).
    apply = jax.jit(bn.apply, static_argnames=("train", "mutable"))
    y, upd = apply(v, jnp.asarray(x, jnp.float32), train=True, mutable=("batch_stats",))
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # numpy's var is biased
    np.testing.assert_allclose(np.asarray(y), (x - mean) / np.sqrt(var + 1e-5), atol=1e-5)
    n = 8 * 2 * 2
    stats = upd["batch_stats"]
    np.testing.assert_allclose(np.asarray(stats["mean"]), 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(stats["var"]), 0.9 + 0.1 * var * n / (n - 1), rtol=1e-5)
    # Inference with the initial averages (0, 1): x / sqrt(1 + eps), nothing updated.
    y0, same = apply(v, jnp.asarray(x, jnp.float32), train=False, mutable=("batch_stats",))
    np.testing.assert_allclose(np.asarray(y0), x / np.sqrt(1 + 1e-5), rtol=1e-5)
    assert jax.tree.all(jax.tree.map(jnp.array_equal, same["batch_stats"], v["batch_stats"]))
    # Inference after the update: the updated averages.
    y1 = apply({**v, **upd}, jnp.asarray(x, jnp.float32), train=False)
    ra_m, ra_v = 0.1 * mean, 0.9 + 0.1 * var * n / (n - 1)
    np.testing.assert_allclose(np.asarray(y1), (x - ra_m) / np.sqrt(ra_v + 1e-5), atol=1e-4)


def test_batch_norm_without_running_averages_uses_the_batch_in_both_modes():
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(6, 3, 3, 2)), jnp.float32)
    bn = BatchNorm(running=False)
    v = bn.init(jax.random.key(0), x, train=True)
    assert set(v) == {"params"}
    apply = jax.jit(bn.apply, static_argnames="train")  # one program per mode
    a, b = apply(v, x, train=True), apply(v, x, train=False)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    xn = np.asarray(x, np.float64)
    want = (xn - xn.mean((0, 1, 2))) / np.sqrt(xn.var((0, 1, 2)) + 1e-5)
    np.testing.assert_allclose(np.asarray(a), want, atol=1e-5)


def test_generator_samples_with_running_averages_and_trains_with_batch_statistics():
    g = Generator(base=8)
    v = jax.jit(lambda z: g.init(jax.random.key(0), z, train=False))(_z(2))
    z = _z(16, seed=3)
    infer = jax.jit(lambda v, z: g.apply(v, z, train=False))
    train = jax.jit(lambda v, z: g.apply(v, z, train=True, mutable=["batch_stats"]))
    y_eval = infer(v, z)
    y_train, upd = train(v, z)
    assert float(jnp.max(jnp.abs(y_train))) <= 1.0  # tanh
    assert not np.allclose(y_eval, y_train)
    # In training a sample depends on the rest of its batch; in inference it does not (the
    # same batch size, another second half: no other program to compile).
    other = jnp.concatenate([z[:8], _z(8, seed=4)])
    y_other_train, _ = train(v, other)
    assert not np.allclose(y_other_train[:8], y_train[:8], atol=1e-6)
    np.testing.assert_allclose(infer(v, other)[:8], y_eval[:8], atol=1e-6)
    assert not np.allclose(upd["batch_stats"]["bn_2"]["mean"], 0.0)


def test_discriminator_normalises_each_call_with_its_own_batch():
    d = Discriminator(base=8)
    a, b = _x(6, seed=1), _x(6, seed=2) * 0.5 + 0.3
    v = jax.jit(lambda x: d.init(jax.random.key(0), x, train=False))(a)
    apply = jax.jit(lambda v, x: d.apply(v, x))
    apart = jnp.concatenate([apply(v, a), apply(v, b)])
    together = apply(v, jnp.concatenate([a, b]))
    assert not np.allclose(apart, together, atol=1e-4)
    train = jax.jit(lambda v, x: d.apply(v, x, train=True))
    np.testing.assert_array_equal(np.asarray(train(v, a)), np.asarray(apply(v, a)))


# ---------------------------------------------------------------- initialisation


def test_initialisation():
    """Convolutions: TensorFlow's truncated normal (std 0.02 before truncation at 2 std, so
    0.02 sqrt(1 - 2 * 2 phi(2) / (2 Phi(2) - 1)) = 0.0176 after); transposed convolutions and
    linear layers: N(0, 0.02^2); biases 0; batch norm gamma 1, beta 0."""
    g = jax.jit(lambda z: Generator().init(jax.random.key(0), z, train=False)["params"])(_z(2))
    d = jax.jit(lambda x: Discriminator().init(jax.random.key(1), x, train=False)["params"])(_x(2))
    phi2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    truncated_std = 0.02 * math.sqrt(1 - 2 * 2 * phi2 / mass)
    assert truncated_std == pytest.approx(0.01759, abs=1e-5)
    for name in ("conv_1", "conv_2", "conv_3"):  # 204,800 to 3,276,800 weights
        w = np.asarray(d[name]["kernel"])
        assert w.std() == pytest.approx(truncated_std, rel=0.01)
        assert np.abs(w).max() <= 2 * 0.02 + 1e-7
    for w in (g["deconv_1"]["kernel"], g["deconv_2"]["kernel"], g["h0_lin"]["kernel"]):
        w = np.asarray(w)
        assert w.std() == pytest.approx(0.02, rel=0.01)
        # Not truncated: about 4.55% of a normal lies beyond 2 std.
        assert np.mean(np.abs(w) > 0.04) == pytest.approx(0.0455, abs=0.005)
    assert np.asarray(d["h4_lin"]["kernel"]).std() == pytest.approx(0.02, rel=0.1)  # 2,048
    for tree in (g, d):
        for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
            key = jax.tree_util.keystr(path)
            if key.endswith("['bias']"):
                assert not np.any(np.asarray(leaf)), key
            if key.endswith("['scale']"):
                assert np.all(np.asarray(leaf) == 1.0), key


# ---------------------------------------------------------------- the engine

SUITE = """
[suite]
name = "veegan_tiny"
seeds = 1
steps = {steps}
eval_every = 2

[defaults]
dataset = "stacked_mnist"
loss = "non_saturating"
batch_size = 4
z_dim = 100
generator = {{ arch = "dcgan_veegan", channels = 4 }}
discriminator = {{ arch = "dcgan_veegan", channels = 4 }}
optimizer = {{ name = "adam", lr_g = 2e-4, lr_d = 2e-4, b1 = 0.5, b2 = 0.999 }}

[metrics]
samples = 32

[[variants]]
name = "dcgan"

[[variants]]
name = "pacdcgan2"
pack = 2
"""


def _suite(tmp_path: Path, steps: int = 4, text: str = SUITE) -> Path:
    path = tmp_path / "veegan.toml"
    path.write_text(textwrap.dedent(text.format(steps=steps)))
    return path


def _program(tmp_path: Path, variant: int):
    from ganbench.config import load_suite
    from ganbench.config.expand import hparams_of, structure_of
    from ganbench.train.engine import Program

    spec = load_suite(_suite(tmp_path)).runs[variant]
    program = Program(structure_of(spec.config), eval_every=2, samples=8)
    return program, hparams_of(spec.config, spec.steps)


def test_engine_calls_d_on_real_and_fake_apart(tiny_mnist, tmp_path):
    program, hp = _program(tmp_path, 0)
    state = jax.jit(program.init)(jnp.int32(0), hp)
    assert state.d_stats == {}  # D keeps no statistics
    real, fake = _x(4, seed=5), _x(4, seed=6)
    pair = jax.jit(program.d_pair)(state.d_params, state.d_stats, real, fake)
    d = jax.jit(lambda x: program.d_apply(state.d_params, {}, x))
    apart = jnp.concatenate([d(real), d(fake)])
    np.testing.assert_allclose(np.asarray(pair), np.asarray(apart), rtol=1e-6, atol=1e-7)
    together = d(jnp.concatenate([real, fake]))
    assert not np.allclose(pair, together, atol=1e-5)
    assert not program.shares_input_gradients


def test_engine_generates_each_packed_slot_apart(tiny_mnist, tmp_path):
    """pack 2: slot j holds samples z[j::2] (pack_samples' layout), made in a call of their own
    (own batch statistics); the running averages take one update per slot, slot 0 first."""
    program, hp = _program(tmp_path, 1)
    assert program.pack == 2
    state = jax.jit(program.init)(jnp.int32(0), hp)
    z = _z(8, seed=7)
    fake, stats = jax.jit(program.g_apply_train)(state.g_params, state.g_stats, z)
    g = program.generator
    s0 = {"params": state.g_params, **state.g_stats}
    train = jax.jit(lambda v, z: g.apply(v, z, train=True, mutable=["batch_stats"]))
    y0, u0 = train(s0, z[0::2])
    y1, u1 = train({**s0, **u0}, z[1::2])
    tol = {"rtol": 1e-6, "atol": 1e-6}  # separately compiled: float rounding may differ
    np.testing.assert_allclose(np.asarray(fake[0::2]), np.asarray(y0), **tol)
    np.testing.assert_allclose(np.asarray(fake[1::2]), np.asarray(y1), **tol)
    for a, b in zip(jax.tree.leaves(stats), jax.tree.leaves(u1), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), **tol)
    packed = program.pack_samples(fake)
    assert packed.shape == (4, 28, 28, 6)
    # Image 0 of input 1 in channels 0-2, image 1 in channels 3-5 (PacGAN's j * 3 + k).
    np.testing.assert_array_equal(np.asarray(packed[1, ..., 3:]), np.asarray(fake[3]))
    whole, _ = train(s0, z)
    assert not np.allclose(whole, fake, atol=1e-6)  # one call over both slots would differ


@pytest.mark.slow  # a whole image suite through the CLI, twice: see `nox -s slow`
def test_tiny_stacked_mnist_run_pack_1_and_2(tiny_mnist, tmp_path):
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", str(_suite(tmp_path)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifests = {
        m["variant"]: m
        for m in (
            json.loads(p.read_text())
            for p in (out / "veegan_tiny" / "runs").glob("*/manifest.json")
        )
    }
    for variant, pack in (("dcgan", 1), ("pacdcgan2", 2)):
        m = manifests[variant]
        assert m["status"] == "completed"
        assert m["config"]["generator"]["arch"] == "dcgan_veegan"
        assert m["config"].get("pack", 1) == pack
        metrics = pd.read_parquet(out / "veegan_tiny" / "runs" / m["run_id"] / "metrics.parquet")
        for name in (M.LOSS_D, M.LOSS_G):
            values = metrics[metrics["metric"] == name]["value"]
            assert len(values) == 2 and np.all(np.isfinite(values)), (variant, name)
        classes = metrics[metrics["metric"] == M.CLASSES]["value"]
        assert len(classes) == 2 and np.all((classes >= 1) & (classes <= 32))
        assert np.all(np.isfinite(metrics[metrics["metric"] == M.CLASS_KL]["value"]))


def test_schema_channels_and_penalties(tmp_path):
    from ganbench.config import load_suite
    from ganbench.errors import ConfigError

    runs = load_suite(_suite(tmp_path)).runs
    assert runs[0].config.discriminator.channels == 4
    bad = SUITE.replace('name = "dcgan"\n', 'name = "dcgan"\npenalty = {{ name = "r1" }}\n')
    with pytest.raises(ConfigError, match="normalises with batch statistics"):
        load_suite(_suite(tmp_path, text=bad))
    result = CliRunner().invoke(app, ["validate", str(_suite(tmp_path, text=bad))])
    assert result.exit_code == 2 and "penalty 'r1'" in result.output


def test_listed():
    result = CliRunner().invoke(app, ["list", "models"])
    assert result.exit_code == 0, result.output
    assert "dcgan_veegan" in result.output
    assert "channels" in result.output
