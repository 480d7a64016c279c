"""2-D convolutions written as matrix products, for XLA:CPU.

``conv(x, kernel, strides, padding)`` is ``lax.conv_general_dilated`` with NHWC inputs and HWIO
kernels, and ``conv_transpose`` is ``lax.conv_transpose(..., transpose_kernel=True)`` (what
Flax's ``nn.ConvTranspose(transpose_kernel=True)`` and Keras' ``Conv2DTranspose`` compute); both
equal them to float32 rounding (the sums run in another order). They are built from pads,
strided slices and one ``dot_general`` each:

* ``conv``: the patches of the padded input (im2col, :func:`patches`: ``(N, OH, OW, kh, kw,
  C)``) times the kernel as a ``(kh * kw * C, O)`` matrix;
* ``conv_transpose`` with stride 1: ``conv`` with the flipped kernel;
* ``conv_transpose`` with a larger stride: the input times the transposed kernel matrix gives
  every tap's contribution, which is scattered back onto the output (col2im, :func:`col2im`),
  so nothing is multiplied by the zeros of a dilated input.

Their derivatives are JAX's own, of these pads, slices and dots: the gradient with respect to
the kernel is the patches (transposed) times the output gradient, that with respect to the input
is col2im of the output gradient times the kernel (or patches times the kernel), so forward
mode, higher derivatives (gradient penalties) and ``vmap`` all work, and under ``vmap`` over runs
(a batch of kernels) every product is a batched matrix product.

Why: on XLA:CPU (jax 0.10.2) a ``convolution`` instruction is fast (Eigen, YNNPACK) only in the
canonical NHWC/HWIO form, and the pass that rewrites other forms into it
(``ConvCanonicalization``) visits only the entry computation. The kernel gradient of a
convolution is not canonical (batch and feature dimensions swapped), so inside a loop body
(``lax.scan``) it runs in XLA's generic loop emitter: 1-3 GFLOP/s against 100-180 outside
(jax-ml/jax#12868); JAX's input gradient of a strided convolution multiplies the zeros of a
dilated input, and that of a strided transposed convolution has a reversed window, which no
fast path takes even outside loops. Under ``vmap`` with a kernel per run JAX turns every
convolution into a grouped one (``feature_group_count`` = runs), which XLA:CPU runs about 4x
slower. ``benchmarks/dcgan_speed.py`` measures each case.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

Padding = str | Sequence[tuple[int, int]]

_NHWC = ("NHWC", "HWIO", "NHWC")


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    a, b = (int(u) for u in v)
    return (a, b)


def conv_pads(
    in_hw: Sequence[int], kernel_hw: Sequence[int], strides: Sequence[int], padding: Padding
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit (low, high) padding of each spatial dimension, as ``lax.conv_general_dilated``
    resolves ``"SAME"`` (output ``ceil(n / s)``, the odd pixel of padding at the end) and
    ``"VALID"`` (none)."""
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return ((0, 0), (0, 0))
        if mode != "SAME":
            raise ValueError(f"padding must be 'SAME', 'VALID' or pairs, got {padding!r}")
        pads = []
        for n, k, s in zip(in_hw, kernel_hw, strides, strict=True):
            out = -(-n // s)
            total = max((out - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        return (pads[0], pads[1])
    pairs = [tuple(int(v) for v in p) for p in padding]
    if len(pairs) != 2 or any(len(p) != 2 for p in pairs):
        raise ValueError(f"expected two (low, high) padding pairs, got {padding!r}")
    return (pairs[0], pairs[1])  # type: ignore[return-value]


def _out_size(n: int, k: int, s: int, pad: tuple[int, int]) -> int:
    return (n + pad[0] + pad[1] - k) // s + 1


def patches(
    x: jax.Array,
    kernel_hw: Sequence[int],
    strides: Sequence[int],
    pads: tuple[tuple[int, int], tuple[int, int]],
) -> jax.Array:
    """im2col: ``(N, OH, OW, kh, kw, C)``, entry ``[n, i, j, a, b, c]`` is the padded input at
    ``(s_h i + a, s_w j + b, c)``: the pixels each output sees, in the kernel's (HWIO) order.

    Built in two passes of ``kw``- and ``kh``-way stacks of strided slices (columns, then
    rows): XLA:CPU fuses a concatenation of at most 8 operands with the slices feeding it,
    so each pass is one loop, where one 25-way stack would copy every slice twice. Its
    transpose (the input gradient) is :func:`col2im`'s two passes of padded sums."""
    n, h, w, c = x.shape
    (kh, kw), (sh, sw) = kernel_hw, strides
    oh, ow = _out_size(h, kh, sh, pads[0]), _out_size(w, kw, sw, pads[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"kernel {kh}x{kw} does not fit a {h}x{w} input padded by {pads}")
    # Negative padding crops, as in lax.pad.
    xp = lax.pad(x, jnp.zeros((), x.dtype), ((0, 0, 0), (*pads[0], 0), (*pads[1], 0), (0, 0, 0)))
    hp = xp.shape[1]
    cols = jnp.stack(
        [
            lax.slice(xp, (0, 0, b, 0), (n, hp, b + sw * (ow - 1) + 1, c), (1, 1, sw, 1))
            for b in range(kw)
        ],
        axis=3,
    )  # (N, Hp, OW, kw, C)
    return jnp.stack(
        [
            lax.slice(
                cols, (0, a, 0, 0, 0), (n, a + sh * (oh - 1) + 1, ow, kw, c), (1, sh, 1, 1, 1)
            )
            for a in range(kh)
        ],
        axis=3,
    )


def col2im(
    cols: jax.Array,
    strides: Sequence[int],
    pads: tuple[tuple[int, int], tuple[int, int]],
    out_hw: Sequence[int],
) -> jax.Array:
    """The transpose of :func:`patches`: ``cols`` (N, H, W, kh, kw, C), the contribution of
    every input pixel to every tap, summed where the taps land on the padded canvas of the
    (N, OH, OW, C) output, which is cropped by ``pads``. Two passes (rows, then columns) of
    ``kh``- and ``kw``-way sums of interior-padded copies; the taps are split, not indexed,
    so that the transpose is one concatenation per pass (:func:`patches`)."""
    _, h, w, kh, kw, _ = cols.shape
    sh, sw = strides
    # The canvas: the padded output, at least as large as the crop taken from it.
    hp = max(out_hw[0] + sum(pads[0]), out_hw[0] + pads[0][0], sh * (h - 1) + kh)
    wp = max(out_hw[1] + sum(pads[1]), out_hw[1] + pads[1][0], sw * (w - 1) + kw)
    zero = jnp.zeros((), cols.dtype)
    rows = None
    for a, tap in enumerate(jnp.split(cols, kh, axis=3)):
        placed = lax.pad(
            tap[:, :, :, 0],
            zero,
            ((0, 0, 0), (a, hp - a - sh * (h - 1) - 1, sh - 1), (0, 0, 0), (0, 0, 0), (0, 0, 0)),
        )
        rows = placed if rows is None else rows + placed
    assert rows is not None  # (N, Hp, W, kw, C)
    acc = None
    for b, tap in enumerate(jnp.split(rows, kw, axis=3)):
        placed = lax.pad(
            tap[:, :, :, 0],
            zero,
            ((0, 0, 0), (0, 0, 0), (b, wp - b - sw * (w - 1) - 1, sw - 1), (0, 0, 0)),
        )
        acc = placed if acc is None else acc + placed
    assert acc is not None
    (lo_h, _), (lo_w, _) = pads
    return acc[:, lo_h : lo_h + out_hw[0], lo_w : lo_w + out_hw[1], :]


def conv(
    x: jax.Array,
    kernel: jax.Array,
    strides: int | Sequence[int] = 1,
    padding: Padding = "SAME",
) -> jax.Array:
    """``lax.conv_general_dilated(x, kernel, strides, padding, dimension_numbers=("NHWC",
    "HWIO", "NHWC"))`` as patches times the kernel matrix. ``x``: (N, H, W, C); ``kernel``:
    (kh, kw, C, O); ``padding``: "SAME", "VALID" or two (low, high) pairs; result
    (N, OH, OW, O)."""
    if x.ndim != 4 or kernel.ndim != 4 or x.shape[3] != kernel.shape[2]:
        raise ValueError(f"expected NHWC input and HWIO kernel, got {x.shape} and {kernel.shape}")
    kh, kw = kernel.shape[:2]
    s = _pair(strides)
    pads = conv_pads(x.shape[1:3], (kh, kw), s, padding)
    cols = patches(x, (kh, kw), s, pads)
    return lax.dot_general(cols, kernel, (((3, 4, 5), (0, 1, 2)), ((), ())))


def conv_transpose(
    x: jax.Array,
    kernel: jax.Array,
    strides: int | Sequence[int] = 1,
    padding: Padding = "SAME",
) -> jax.Array:
    """``lax.conv_transpose(x, kernel, strides, padding, dimension_numbers=("NHWC", "HWIO",
    "NHWC"), transpose_kernel=True)``: the gradient with respect to its input of the
    convolution ``conv(., kernel, strides, padding)`` that maps (N, s_h H, s_w W, O) images to
    (N, H, W, C) ones, applied to ``x``. ``x``: (N, H, W, C); ``kernel``: (kh, kw, O, C) (Flax's
    and Keras' layout: output channels, then input channels); result (N, s_h H, s_w W, O) for
    ``"SAME"``, (N, s_h (H - 1) + max(kh, s_h), ...) for ``"VALID"``, as lax computes them.

    Stride 1 is a convolution with the flipped kernel (patches times a matrix, whose input
    gradient is the one product with a small inner dimension); other strides multiply ``x``
    by the kernel matrix (every tap's contribution) and scatter the result back
    (:func:`col2im`), which multiplies nothing by the zeros of a dilated input."""
    if x.ndim != 4 or kernel.ndim != 4 or x.shape[3] != kernel.shape[3]:
        raise ValueError(
            f"expected NHWC input and a (kh, kw, out, in) kernel, got {x.shape} and {kernel.shape}"
        )
    kh, kw = kernel.shape[:2]
    s = _pair(strides)
    out_hw, pads = _transpose_geometry(x.shape[1:3], (kh, kw), s, padding)
    if s == (1, 1):
        flipped = jnp.swapaxes(lax.rev(kernel, (0, 1)), 2, 3)  # (kh, kw, C, O)
        # The forward convolution's padding (lo, hi) becomes (k - 1 - lo, k - 1 - hi).
        return conv(
            x,
            flipped,
            1,
            [
                (kh - 1 - pads[0][0], kh - 1 - pads[0][1]),
                (kw - 1 - pads[1][0], kw - 1 - pads[1][1]),
            ],
        )
    cols = lax.dot_general(x, kernel, (((3,), (3,)), ((), ())))  # (N, H, W, kh, kw, O)
    return col2im(cols, s, pads, out_hw)


def conv_transpose_to(
    x: jax.Array,
    kernel: jax.Array,
    strides: int | Sequence[int],
    out_hw: Sequence[int],
) -> jax.Array:
    """TensorFlow's ``tf.nn.conv2d_transpose(x, kernel, output_shape, strides, "SAME")``: the
    gradient with respect to its input of ``conv(., kernel, strides, "SAME")`` on (N, *out_hw,
    O) images, applied to ``x`` (N, H, W, C). ``kernel``: (kh, kw, O, C), TensorFlow's layout
    for the transposed convolution (output channels, then input channels).

    The output size is given, not derived, because a strided SAME convolution maps several
    sizes to one (7 and 8 both give 4 at stride 2): :func:`conv_transpose` makes ``s * H``, as
    ``lax.conv_transpose`` does, and cannot make the 4 -> 7 step of a DCGAN for 28 x 28 images.
    ``out_hw`` must be one of the sizes that map to (H, W): ``ceil(out / s) == H``."""
    if x.ndim != 4 or kernel.ndim != 4 or x.shape[3] != kernel.shape[3]:
        raise ValueError(
            f"expected NHWC input and a (kh, kw, out, in) kernel, got {x.shape} and {kernel.shape}"
        )
    kh, kw = kernel.shape[:2]
    s = _pair(strides)
    out = (int(out_hw[0]), int(out_hw[1]))
    for n, o, st in zip(x.shape[1:3], out, s, strict=True):
        if -(-o // st) != n:
            raise ValueError(
                f"a SAME convolution of stride {st} maps size {o} to {-(-o // st)}, not {n}: "
                f"output size {o} is not a transposed size of input {n}"
            )
    pads = conv_pads(out, (kh, kw), s, "SAME")
    cols = lax.dot_general(x, kernel, (((3,), (3,)), ((), ())))  # (N, H, W, kh, kw, O)
    return col2im(cols, s, pads, out)


def conv_transpose_padded(
    x: jax.Array,
    kernel: jax.Array,
    strides: int | Sequence[int],
    padding: Sequence[tuple[int, int]],
    out_hw: Sequence[int],
) -> jax.Array:
    """The gradient with respect to its input of ``conv(., kernel, strides, padding)`` on
    (N, *out_hw, O) images, applied to ``x`` (N, H, W, C), with the forward convolution's
    explicit (low, high) ``padding``: a transposed convolution as Chainer's
    ``Deconvolution2D(ksize, stride, pad)`` and PyTorch's ``ConvTranspose2d(kernel_size, stride,
    padding)`` define it (output ``s (H - 1) + k - 2 pad``), or Theano's ``GpuDnnConvGradI`` as
    the DCGAN of Radford et al. uses it (output ``s H`` with pad 2 and a 5 x 5 kernel).
    ``kernel``: (kh, kw, O, C), the forward convolution's HWIO kernel.

    ``out_hw`` must map to (H, W) under the forward convolution: ``(out + lo + hi - k) // s + 1
    == H``."""
    if x.ndim != 4 or kernel.ndim != 4 or x.shape[3] != kernel.shape[3]:
        raise ValueError(
            f"expected NHWC input and a (kh, kw, out, in) kernel, got {x.shape} and {kernel.shape}"
        )
    kh, kw = kernel.shape[:2]
    s = _pair(strides)
    pads = conv_pads(out_hw, (kh, kw), s, [tuple(p) for p in padding])
    out = (int(out_hw[0]), int(out_hw[1]))
    for n, o, k, st, (lo, hi) in zip(x.shape[1:3], out, (kh, kw), s, pads, strict=True):
        if _out_size(o, k, st, (lo, hi)) != n:
            raise ValueError(
                f"a convolution of kernel {k}, stride {st} and padding ({lo}, {hi}) maps size "
                f"{o} to {_out_size(o, k, st, (lo, hi))}, not {n}"
            )
    cols = lax.dot_general(x, kernel, (((3,), (3,)), ((), ())))  # (N, H, W, kh, kw, O)
    return col2im(cols, s, pads, out)


def _transpose_geometry(
    in_hw: Sequence[int], kernel_hw: Sequence[int], strides: Sequence[int], padding: Padding
) -> tuple[tuple[int, int], tuple[tuple[int, int], tuple[int, int]]]:
    """Output size of ``lax.conv_transpose`` and the padding of the forward convolution it is
    the gradient of (output size ``in_hw``)."""
    if not isinstance(padding, str):
        raise ValueError("conv_transpose takes 'SAME' or 'VALID' padding")
    mode = padding.upper()
    out, pads = [], []
    for n, k, s in zip(in_hw, kernel_hw, strides, strict=True):
        # lax.conv_transpose: a convolution of the s-dilated input padded by (a, b).
        if mode == "SAME":
            total = k + s - 2
            a = k - 1 if s > k - 1 else -(-total // 2)
        elif mode == "VALID":
            total = k + s - 2 + max(k - s, 0)
            a = k - 1
        else:
            raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")
        b = total - a
        out.append((n - 1) * s + 1 + a + b - k + 1)
        # The forward convolution (out -> n) whose input gradient this is has padding
        # (k - 1 - a, k - 1 - b); negative padding crops.
        pads.append((k - 1 - a, k - 1 - b))
    return (out[0], out[1]), (pads[0], pads[1])  # type: ignore[return-value]


def conv_general_dilated(
    lhs: jax.Array,
    rhs: jax.Array,
    window_strides: Sequence[int],
    padding: Padding,
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: Any = None,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> jax.Array:
    """A drop-in for ``lax.conv_general_dilated`` (``nn.Conv(conv_general_dilated=...)``) in
    the cases :func:`conv` covers: 2-D, NHWC/HWIO/NHWC, no dilation, no groups. Anything else
    raises ``NotImplementedError`` rather than computing something different."""
    dn = lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    if (
        lhs.ndim != 4
        or dn != lax.conv_dimension_numbers(lhs.shape, rhs.shape, _NHWC)
        or any(d != 1 for d in (lhs_dilation or (1, 1)))
        or any(d != 1 for d in (rhs_dilation or (1, 1)))
        or feature_group_count != 1
        or batch_group_count != 1
        or preferred_element_type not in (None, lhs.dtype)
    ):
        raise NotImplementedError(
            "ganbench.models.conv covers 2-D NHWC/HWIO convolutions without dilation or groups"
        )
    return conv(lhs, rhs, tuple(window_strides), padding)


class ConvTranspose(nn.Module):
    """``nn.ConvTranspose(features, kernel_size, strides, padding, transpose_kernel=True)``
    with the same parameters (``kernel`` of shape ``kernel_size + (features, in_features)``,
    optional ``bias``; the same names, shapes and initial values) computed by
    :func:`conv_transpose`."""

    features: int
    kernel_size: tuple[int, int]
    strides: tuple[int, int] = (1, 1)
    padding: str = "SAME"
    use_bias: bool = True
    kernel_init: Any = nn.initializers.lecun_normal()
    bias_init: Any = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param(
            "kernel", self.kernel_init, (*self.kernel_size, self.features, x.shape[-1]), jnp.float32
        )
        bias = (
            self.param("bias", self.bias_init, (self.features,), jnp.float32)
            if self.use_bias
            else None
        )
        y = conv_transpose(x, kernel, self.strides, self.padding)
        return y if bias is None else y + bias.reshape((1, 1, 1, -1))


class ConvTransposePadded(nn.Module):
    """A transposed convolution with explicit padding (:func:`conv_transpose_padded`): kernel
    ``kernel_size + (features, in_features)``, optional bias; the output is ``scale`` times the
    input's spatial size (2 for the stride-2 up-convolutions of the DCGAN family), or, with
    ``scale`` None, ``s (H - 1) + k - lo - hi``."""

    features: int
    kernel_size: tuple[int, int]
    strides: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]
    scale: int | None = None
    use_bias: bool = True
    kernel_init: Any = nn.initializers.lecun_normal()
    bias_init: Any = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param(
            "kernel", self.kernel_init, (*self.kernel_size, self.features, x.shape[-1]), jnp.float32
        )
        out = []
        for n, k, s, (lo, hi) in zip(
            x.shape[1:3], self.kernel_size, self.strides, self.padding, strict=True
        ):
            out.append(n * self.scale if self.scale is not None else s * (n - 1) + k - lo - hi)
        y = conv_transpose_padded(x, kernel, self.strides, self.padding, out)
        if not self.use_bias:
            return y
        bias = self.param("bias", self.bias_init, (self.features,), jnp.float32)
        return y + bias.reshape((1, 1, 1, -1))
