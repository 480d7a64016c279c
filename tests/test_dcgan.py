"""The TensorFlow-tutorial DCGAN (ganbench.models.dcgan): shapes, exact parameter counts, the
BatchNorm / dropout / spectral-norm state, and vmap over runs.

The networks are initialised and applied under `jax.jit` (`_init`, `_apply`): one XLA program per
network and call signature, shared by the tests, instead of one per primitive and shape when run
op by op."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganbench.models.dcgan import (
    BN_EPSILON,
    BN_MOMENTUM,
    LEAKY_SLOPE,
    Discriminator,
    Generator,
    dcgan_discriminator,
    dcgan_generator,
    param_count,
)

SMALL = 16  # base channel count for the tests that do not need the full-size nets (64)
TINY = 8


def _z(n: int, seed: int = 0, z_dim: int = 100) -> jax.Array:
    return jax.random.normal(jax.random.key(seed), (n, z_dim))


def _x(n: int, seed: int = 1) -> jax.Array:
    return jax.random.uniform(jax.random.key(seed), (n, 28, 28, 1), minval=-1.0, maxval=1.0)


@functools.partial(jax.jit, static_argnums=0)
def _init(module, key: jax.Array, x: jax.Array) -> dict:
    """``module.init(key, x, train=False)`` as one program (modules are static: equal modules
    share it)."""
    return module.init(key, x, train=False)


@functools.partial(jax.jit, static_argnums=0, static_argnames=("train", "mutable", "update_stats"))
def _apply(module, variables: dict, x: jax.Array, **kwargs):
    """``module.apply(variables, x, **kwargs)`` as one program; ``mutable`` as a tuple."""
    return module.apply(variables, x, **kwargs)


def _init_g(base: int = SMALL, seed: int = 0) -> tuple[Generator, dict]:
    g = dcgan_generator(base=base)
    return g, _init(g, jax.random.key(seed), _z(2))


def _init_d(base: int = SMALL, seed: int = 0, sn: bool = False) -> tuple[Discriminator, dict]:
    d = dcgan_discriminator(base=base, spectral_norm=sn)
    return d, _init(d, jax.random.key(seed), _x(2))


def test_keras_defaults():
    assert LEAKY_SLOPE == 0.3 and BN_MOMENTUM == 0.99 and BN_EPSILON == 1e-3


def test_base_channels_and_image_channels():
    g = dcgan_generator(base=16, channels=3)
    v = _init(g, jax.random.key(0), _z(2))
    assert v["params"]["dense"]["kernel"].shape == (100, 7 * 7 * 64)
    assert _apply(g, v, _z(2), train=False).shape == (2, 28, 28, 3)
    d = dcgan_discriminator(base=16)
    dv = _init(d, jax.random.key(0), jnp.zeros((2, 28, 28, 3)))
    assert dv["params"]["conv_0"]["kernel"].shape == (5, 5, 3, 16)
    assert dv["params"]["conv_1"]["kernel"].shape == (5, 5, 16, 32)


def test_generator_shape_and_range():
    g, v = _init_g()
    y = _apply(g, v, 5.0 * _z(4), train=False)
    assert y.shape == (4, 28, 28, 1)
    assert float(jnp.max(jnp.abs(y))) <= 1.0


def test_discriminator_shape():
    d, v = _init_d()
    assert _apply(d, v, _x(3), train=False).shape == (3, 1)


def test_wrong_input_shapes_raise():
    g, gv = _init_g()
    d, dv = _init_d()
    with pytest.raises(ValueError, match="latent"):
        g.apply(gv, jnp.zeros((2, 100, 1)), train=False)
    with pytest.raises(ValueError, match="images"):
        d.apply(dv, jnp.zeros((2, 28, 28)), train=False)


def _shapes(module, x):
    """The variables' shapes at init, without computing them (fast for the full-size nets)."""
    return jax.eval_shape(lambda: module.init(jax.random.key(0), x, train=False))


def test_generator_parameter_count_at_base_64():
    v = _shapes(dcgan_generator(), _z(2))
    dense = 100 * (7 * 7 * 256)  # Dense(12544, no bias) = 1,254,400
    bn0 = 2 * (7 * 7 * 256)  # gamma + beta over 12,544 features = 25,088
    deconv1 = 5 * 5 * 256 * 128  # 819,200 (no bias)
    bn1 = 2 * 128  # 256
    deconv2 = 5 * 5 * 128 * 64  # 204,800
    bn2 = 2 * 64  # 128
    deconv3 = 5 * 5 * 64 * 1  # 1,600
    trainable = dense + bn0 + deconv1 + bn1 + deconv2 + bn2 + deconv3
    moving = 2 * (7 * 7 * 256) + 2 * 128 + 2 * 64  # moving mean + variance (Keras non-trainable)
    assert trainable == 2_305_472
    assert moving == 25_472
    assert trainable + moving == 2_330_944  # the tutorial's model.summary() total
    assert param_count(v["params"]) == trainable
    assert param_count(v["batch_stats"]) == moving
    assert v["params"]["dense"]["kernel"].shape == (100, 12544)
    assert v["params"]["deconv_1"]["kernel"].shape == (5, 5, 128, 256)  # Keras layout (out, in)


def test_discriminator_parameter_count_at_base_64():
    v = _shapes(dcgan_discriminator(), _x(2))
    conv0 = 5 * 5 * 1 * 64 + 64  # 1,664
    conv1 = 5 * 5 * 64 * 128 + 128  # 204,928
    dense = (7 * 7 * 128) * 1 + 1  # 6,273
    assert conv0 + conv1 + dense == 212_865  # the tutorial's model.summary() total
    assert param_count(v["params"]) == 212_865
    assert "batch_stats" not in v


def test_batchnorm_stats_update_only_in_training():
    g, v = _init_g()
    z = _z(8, seed=3)
    y_eval, upd = _apply(g, v, z, train=False, mutable=("batch_stats",))
    assert jax.tree.all(jax.tree.map(jnp.array_equal, upd["batch_stats"], v["batch_stats"]))
    y_train, upd = _apply(g, v, z, train=True, mutable=("batch_stats",))
    old = v["batch_stats"]["bn_1"]
    new = upd["batch_stats"]["bn_1"]
    assert not np.allclose(new["mean"], old["mean"])
    assert not np.allclose(new["var"], old["var"])
    assert y_eval.shape == y_train.shape
    assert not np.allclose(y_eval, y_train)  # batch statistics versus running statistics
    # One Keras-style running-average step from the initial (0, 1): m * ra + (1 - m) * batch.
    assert float(jnp.max(jnp.abs(new["mean"]))) < 0.1


def test_dropout_keys():
    d, v = _init_d()
    x = _x(4)
    a = _apply(d, v, x, train=True, rngs={"dropout": jax.random.key(1)})
    a2 = _apply(d, v, x, train=True, rngs={"dropout": jax.random.key(1)})
    b = _apply(d, v, x, train=True, rngs={"dropout": jax.random.key(2)})
    np.testing.assert_array_equal(a, a2)
    assert not np.allclose(a, b)
    e1 = _apply(d, v, x, train=False)
    e2 = _apply(d, v, x, train=False, rngs={"dropout": jax.random.key(2)})
    np.testing.assert_array_equal(e1, e2)


def test_spectral_norm_state():
    d, v = _init_d(sn=True)
    stats = v["batch_stats"]
    assert set(stats) == {"sn_conv_0", "sn_conv_1", "sn_dense"}
    assert stats["sn_conv_1"]["conv_1/kernel/sigma"].shape == ()
    assert param_count(v["params"]) == param_count(_init_d()[1]["params"])
    x = _x(4)
    _, same = _apply(d, v, x, train=False, mutable=("batch_stats",))
    assert jax.tree.all(jax.tree.map(jnp.array_equal, same["batch_stats"], stats))
    _, upd = _apply(d, v, x, train=False, update_stats=True, mutable=("batch_stats",))
    sigma = upd["batch_stats"]["sn_conv_1"]["conv_1/kernel/sigma"]
    assert float(sigma) > 0.0
    u_new = upd["batch_stats"]["sn_conv_1"]["conv_1/kernel/u"]
    assert not np.allclose(u_new, stats["sn_conv_1"]["conv_1/kernel/u"])


def test_vmap_over_stacked_runs_and_jit():
    g, d = dcgan_generator(base=TINY), dcgan_discriminator(base=TINY, spectral_norm=True)
    seeds = jnp.arange(2)

    def init(seed):
        k = jax.random.key(seed)
        return g.init(k, _z(2), train=False), d.init(k, _x(2), train=False)

    gv, dv = jax.jit(jax.vmap(init))(seeds)
    assert gv["params"]["dense"]["kernel"].shape == (2, 100, 7 * 7 * 32)

    @jax.jit
    def step(gv, dv, z, key):
        fake, g_upd = g.apply(gv, z, train=True, mutable=["batch_stats"])
        logits, d_upd = d.apply(
            dv, fake, train=True, update_stats=True, rngs={"dropout": key}, mutable=["batch_stats"]
        )
        return logits, g_upd["batch_stats"], d_upd["batch_stats"]

    keys = jax.random.split(jax.random.key(7), 2)
    zs = jnp.stack([_z(3, seed=0), _z(3, seed=0)])  # same codes: runs differ only by parameters
    logits, g_stats, d_stats = jax.vmap(step)(gv, dv, zs, keys)
    assert logits.shape == (2, 3, 1)
    assert g_stats["bn_0"]["mean"].shape == (2, 7 * 7 * 32)
    assert d_stats["sn_dense"]["dense/kernel/sigma"].shape == (2,)
    assert not np.allclose(logits[0], logits[1])
    # Each vmapped run equals the same run applied on its own.
    one = jax.tree.map(lambda a: a[1], (gv, dv))
    single, _, _ = step(*one, zs[1], keys[1])
    np.testing.assert_allclose(logits[1], single, rtol=1e-4, atol=1e-5)


def _flax_convolutions(monkeypatch):
    """The same networks with Flax's own layers (lax.conv_general_dilated, lax.conv_transpose)
    in place of ganbench.models.conv's matrix products."""
    import functools

    import flax.linen as nn
    from jax import lax

    from ganbench.models import dcgan

    monkeypatch.setattr(
        dcgan, "ConvTranspose", functools.partial(nn.ConvTranspose, transpose_kernel=True)
    )
    monkeypatch.setattr(dcgan, "conv_general_dilated", lax.conv_general_dilated)


# The slow run: 435 programs op by op (one as a single program compiles longer still). The
# default run checks the layers themselves against Flax's and lax's (tests/test_conv.py: the
# modules' parameters, initial values and outputs, and both gradients).
@pytest.mark.slow
@pytest.mark.parametrize("channels", [1, 3])
def test_same_networks_as_flax_layers(monkeypatch, channels):
    """Parameters (names, shapes, initial values), outputs and gradients equal those of the
    networks built from nn.Conv / nn.ConvTranspose(transpose_kernel=True), to float32 rounding:
    run ids and cached results do not depend on how the convolutions are computed."""
    g, d = dcgan_generator(base=TINY, channels=channels), dcgan_discriminator(base=TINY)
    z, key = _z(4), jax.random.key(5)

    def run(g, d):
        gv = g.init(jax.random.key(0), z, train=False)
        x = g.apply(gv, z, train=False)
        dv = d.init(jax.random.key(1), x, train=False)

        def loss(gp, dp):
            fake, _ = g.apply({**gv, "params": gp}, z, train=True, mutable=["batch_stats"])
            return jnp.mean(d.apply({"params": dp}, fake, train=True, rngs={"dropout": key}) ** 2)

        return gv, dv, x, jax.grad(loss, (0, 1))(gv["params"], dv["params"])

    mine = run(g, d)
    _flax_convolutions(monkeypatch)
    ref = run(g, d)
    for v_mine, v_ref in zip(mine[:2], ref[:2], strict=True):
        assert jax.tree.structure(v_mine) == jax.tree.structure(v_ref)
        for a, b in zip(jax.tree.leaves(v_mine), jax.tree.leaves(v_ref), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(jax.tree.leaves(mine[2:]), jax.tree.leaves(ref[2:]), strict=True):
        scale = float(jnp.max(jnp.abs(b)))
        assert float(jnp.max(jnp.abs(a - b))) <= 1e-4 * scale
