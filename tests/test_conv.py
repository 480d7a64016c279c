"""ganbench.models.conv: convolutions as matrix products, checked against lax's convolutions
(forward, both gradients, forward mode, second order, vmap, inside lax.scan) and against a
direct loop over the definition.

Each side of a comparison is one jitted program (`_jit`, `_value_and_vjp`): one XLA compilation
per function and shape instead of one per primitive and shape when run op by op."""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from ganbench.models import conv as C

DN = ("NHWC", "HWIO", "NHWC")
RTOL = 1e-5  # of the largest magnitude: float32 sums of up to a few hundred terms, reordered


def _close(a, b, rtol=RTOL):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert float(np.max(np.abs(a - b))) <= rtol * max(float(np.max(np.abs(b))), 1e-30)


def _rand(seed, shape):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


def _lax_conv(x, w, s, padding):
    return lax.conv_general_dilated(x, w, (s, s), padding, dimension_numbers=DN)


def _lax_conv_t(x, w, s, padding):
    return lax.conv_transpose(x, w, (s, s), padding, dimension_numbers=DN, transpose_kernel=True)


@functools.partial(jax.jit, static_argnums=(0, 3, 4))
def _jit(f, x, w, s, padding):
    """``f(x, w, s, padding)`` as one program."""
    return f(x, w, s, padding)


@functools.partial(jax.jit, static_argnums=(0, 4, 5))
def _value_and_vjp(f, x, w, g, s, padding):
    """``f(x, w, s, padding)`` and its gradients with respect to x and w along g, as one
    program."""
    y, vjp = jax.vjp(lambda x, w: f(x, w, s, padding), x, w)
    return (y, *vjp(g))


def _out_shape(f, x, w, s, padding):
    return jax.eval_shape(lambda x, w: f(x, w, s, padding), x, w).shape


def _direct_conv(x, w, s, pads):
    """The definition, in float64 loops: y[n, i, j, o] = sum_{a, b, c} xpad[n, s i + a, s j + b,
    c] w[a, b, c, o]."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw = w.shape[:2]
    oh = (xp.shape[1] - kh) // s + 1
    ow = (xp.shape[2] - kw) // s + 1
    y = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, s * i : s * i + kh, s * j : s * j + kw, :]
            y[:, i, j, :] = np.einsum("nabc,abco->no", window, w)
    return y


# (input size, kernel, stride, padding): the DCGAN's and the classifier's layers and odd cases.
CASES = [
    (28, 5, 2, "SAME"),
    (14, 5, 2, "SAME"),
    (7, 5, 1, "SAME"),
    (28, 3, 1, "VALID"),
    (12, 3, 1, "VALID"),
    (9, 3, 2, "VALID"),
    (8, 2, 2, "SAME"),
    (7, 1, 3, "SAME"),
    (6, 4, 3, "VALID"),
]


def test_hand_computed_3x3():
    """A 4x4 ramp convolved with a 3x3 box (SAME, stride 1): each output is the sum of its
    in-image 3x3 neighbourhood, e.g. the corner 0 + 1 + 4 + 5 = 10."""
    x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    y = _jit(C.conv, x, jnp.ones((3, 3, 1, 1)), 1, "SAME")[0, :, :, 0]
    expected = [
        [10, 18, 24, 18],
        [27, 45, 54, 39],
        [51, 81, 90, 63],
        [42, 66, 72, 50],
    ]
    np.testing.assert_array_equal(np.asarray(y), expected)
    # Stride 2 keeps every second of them (the SAME padding of 4 -> 2 puts its pixel at the end).
    y2 = _jit(C.conv, x, jnp.ones((3, 3, 1, 1)), 2, "SAME")[0, :, :, 0]
    np.testing.assert_array_equal(np.asarray(y2), [[45, 39], [66, 50]])


def test_hand_computed_transpose():
    """A transposed convolution (the gradient of a convolution) scatters each input pixel over
    the kernel's footprint: one pixel of value 2 through a 3x3 kernel 1..9 (stride 2, VALID)
    is that kernel times 2, and it equals lax's."""
    x = jnp.zeros((1, 1, 1, 1)).at[0, 0, 0, 0].set(2.0)
    k = jnp.arange(1.0, 10.0).reshape(3, 3, 1, 1)
    y = _jit(C.conv_transpose, x, k, 2, "VALID")[0, :, :, 0]
    np.testing.assert_array_equal(np.asarray(y), 2.0 * np.arange(1.0, 10.0).reshape(3, 3))
    np.testing.assert_array_equal(
        np.asarray(y), np.asarray(_jit(_lax_conv_t, x, k, 2, "VALID"))[0, :, :, 0]
    )


@pytest.mark.parametrize(("size", "k", "s", "padding"), CASES)
def test_conv_matches_definition_and_lax(size, k, s, padding):
    x, w = _rand(0, (2, size, size + 1, 3)), _rand(1, (k, k, 3, 4))
    pads = C.conv_pads(x.shape[1:3], (k, k), (s, s), padding)
    assert pads == tuple(
        tuple(p) for p in lax.padtype_to_pads(x.shape[1:3], (k, k), (s, s), padding)
    )
    y = _jit(C.conv, x, w, s, padding)
    _close(y, _direct_conv(x, w, s, pads))
    _close(y, _jit(_lax_conv, x, w, s, padding))


@pytest.mark.parametrize(("size", "k", "s", "padding"), CASES)
def test_conv_gradients_match_lax(size, k, s, padding):
    x, w = _rand(2, (2, size, size, 3)), _rand(3, (k, k, 3, 5))
    g = _rand(4, _out_shape(_lax_conv, x, w, s, padding))
    y_ref, *grads_ref = _value_and_vjp(_lax_conv, x, w, g, s, padding)
    y, *grads = _value_and_vjp(C.conv, x, w, g, s, padding)
    _close(y, y_ref)
    for got, want in zip(grads, grads_ref, strict=True):
        _close(got, want)


@pytest.mark.parametrize(("size", "k", "s", "padding"), CASES)
def test_conv_transpose_matches_lax(size, k, s, padding):
    x, w = _rand(5, (2, size, size + 2, 3)), _rand(6, (k, k, 4, 3))
    g = _rand(7, _out_shape(_lax_conv_t, x, w, s, padding))
    y_ref, *grads_ref = _value_and_vjp(_lax_conv_t, x, w, g, s, padding)
    y, *grads = _value_and_vjp(C.conv_transpose, x, w, g, s, padding)
    _close(y, y_ref)
    for got, want in zip(grads, grads_ref, strict=True):
        _close(got, want)


def test_conv_transpose_is_the_input_gradient_of_conv():
    """conv_transpose(g, w) = the gradient with respect to x of <conv(x, w), g> (SAME, stride 2:
    28 -> 14 and back, the DCGAN's last layers)."""
    x, w = _rand(8, (3, 28, 28, 4)), _rand(9, (5, 5, 4, 6))
    g = _rand(10, (3, 14, 14, 6))
    _, gx, _ = _value_and_vjp(_lax_conv, x, w, g, 2, "SAME")
    _close(_jit(C.conv_transpose, g, w, 2, "SAME"), gx)


@pytest.mark.parametrize("transpose", [False, True])
def test_forward_mode_and_second_order_match_lax(transpose):
    """jvp (forward mode), jvp of the gradient (the engine's iterative spectrum) and the
    gradient of an input-gradient norm (gradient penalties) agree with lax's convolutions."""
    mine, ref = (C.conv_transpose, _lax_conv_t) if transpose else (C.conv, _lax_conv)
    x = _rand(11, (2, 7, 7, 3) if transpose else (2, 14, 14, 3))
    w = _rand(12, (5, 5, 4, 3) if transpose else (5, 5, 3, 4))
    tx, tw = _rand(13, x.shape), _rand(14, w.shape)

    @functools.partial(jax.jit, static_argnums=0)
    def derivatives(f, x, w, tx, tw):
        """Both sides as one program each."""

        def conv(x, w):
            return f(x, w, 2, "SAME")

        def loss(x, w):
            return jnp.sum(jnp.tanh(conv(x, w)))

        def penalty(w):
            gx = jax.grad(loss)(x, w)
            return jnp.sum(gx**2)

        return (
            jax.jvp(conv, (x, w), (tx, tw))[1],
            jax.jvp(jax.grad(loss), (x, w), (tx, tw))[1],
            jax.grad(penalty)(w),
        )

    got, want = derivatives(mine, x, w, tx, tw), derivatives(ref, x, w, tx, tw)
    for a, b in zip(got, want, strict=True):
        _close(a, b)


def test_vmap_over_runs_and_inside_scan():
    """A batch of kernels (the engine's runs) under vmap, and the same inside lax.scan, equal
    one lax convolution per run."""
    xs, ws = _rand(15, (3, 4, 14, 14, 2)), _rand(16, (3, 5, 5, 2, 6))
    g = _rand(17, (3, 4, 7, 7, 6))

    def value_and_grads(f):
        def one(x, w, g):
            y, vjp = jax.vjp(lambda x, w: f(x, w, 2, "SAME"), x, w)
            return (y, *vjp(g))

        return one

    one_run = jax.jit(value_and_grads(_lax_conv))
    want = [one_run(xs[r], ws[r], g[r]) for r in range(3)]
    got = jax.jit(jax.vmap(value_and_grads(C.conv)))(xs, ws, g)

    def scanned(carry, inputs):
        return carry, jax.vmap(value_and_grads(C.conv))(*inputs)

    _, in_scan = jax.jit(lambda a: lax.scan(scanned, 0.0, a))((xs[None], ws[None], g[None]))
    for i in range(3):
        for r in range(3):
            _close(got[i][r], want[r][i])
            _close(in_scan[i][0, r], want[r][i])


def test_drop_in_for_flax_conv():
    """nn.Conv(conv_general_dilated=...) has nn.Conv's parameters and output; unsupported
    arguments are refused, not computed differently."""
    x = _rand(18, (2, 28, 28, 1))
    for kwargs in ({"strides": (2, 2), "padding": "SAME"}, {"padding": "VALID"}):
        ref = nn.Conv(8, (5, 5), **kwargs)
        mine = nn.Conv(8, (5, 5), conv_general_dilated=C.conv_general_dilated, **kwargs)
        v = ref.init(jax.random.key(0), x)
        assert jax.tree.structure(v) == jax.tree.structure(mine.init(jax.random.key(0), x))
        _close(jax.jit(mine.apply)(v, x), jax.jit(ref.apply)(v, x))
    with pytest.raises(NotImplementedError):
        C.conv_general_dilated(x, jnp.ones((3, 3, 1, 2)), (1, 1), "SAME", rhs_dilation=(2, 2))
    with pytest.raises(NotImplementedError):
        C.conv_general_dilated(
            x, jnp.ones((3, 3, 1, 2)), (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW")
        )


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_transpose_module_equals_flax(stride):
    """ConvTranspose has nn.ConvTranspose(transpose_kernel=True)'s parameter names, shapes,
    initial values and outputs."""
    x = _rand(19, (2, 7, 7, 16))
    init = nn.initializers.glorot_uniform()
    for use_bias in (False, True):
        ref = nn.ConvTranspose(
            8,
            (5, 5),
            strides=(stride,) * 2,
            use_bias=use_bias,
            transpose_kernel=True,
            kernel_init=init,
        )
        mine = C.ConvTranspose(
            8, (5, 5), strides=(stride,) * 2, use_bias=use_bias, kernel_init=init
        )
        v_ref, v = ref.init(jax.random.key(3), x), mine.init(jax.random.key(3), x)
        assert jax.tree.map(jnp.shape, v) == jax.tree.map(jnp.shape, v_ref)
        for a, b in zip(jax.tree.leaves(v), jax.tree.leaves(v_ref), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        _close(jax.jit(mine.apply)(v, x), jax.jit(ref.apply)(v, x))


def test_no_convolution_instructions():
    """The point of the module: a training step written with it has no convolution instruction
    for XLA:CPU to run outside its fast path (in a loop body, or grouped under vmap)."""

    def step(x, w):
        return jax.grad(lambda w: jnp.sum(C.conv_transpose(C.conv(x, w, 2, "SAME"), w, 2, "SAME")))(
            w
        )

    hlo = (
        jax.jit(jax.vmap(step))
        .lower(_rand(20, (2, 2, 14, 14, 3)), _rand(21, (2, 5, 5, 3, 4)))
        .as_text()
    )
    assert "convolution" not in hlo
    assert "dot_general" in hlo
