"""Resize modes: how images reach a feature network's input size, as the anchors define them.

FIDs computed from the same images differ between implementations mostly because of the resize
(Parmar, Zhang, Zhu 2022, "On Aliased Resizing and Surprising Subtleties in GAN Evaluation",
CVPR: clean-fid). Each mode here is one anchor's resize, written as its formula; a resize is
separable, so each mode is a pair of (out, in) interpolation matrices, one per axis, applied to
float32 pixel values in [0, 255]:

- ``pytorch_fid``: PyTorch's ``F.interpolate(mode="bilinear", align_corners=False)`` without
  antialiasing, as pytorch-fid resizes inside its network (mseitzer/pytorch-fid,
  src/pytorch_fid/inception.py, ``InceptionV3.forward``). Output pixel ``i`` samples the input
  at ``s = (i + 0.5) * in / out - 0.5``, clamped below at 0, and interpolates linearly between
  pixels ``floor(s)`` and ``min(floor(s) + 1, in - 1)``.
- ``legacy_tensorflow``: TensorFlow 1's ``tf.image.resize_bilinear`` with ``align_corners=False``
  and no half-pixel centres, as the original FID code (bioinf-jku/TTUR, the graph's
  ``ResizeBilinear``) and, emulating it, torch-fidelity
  (``interpolate_bilinear_2d_like_tensorflow1x``) and StyleGAN2-ADA's metrics resize:
  ``s = i * in / out``, the same linear interpolation. It shifts the image by half an output
  pixel and, when shrinking, skips input pixels (aliasing).
- ``clean``: clean-fid's resize (GaParmar/clean-fid, cleanfid/resize.py, ``make_resizer("PIL",
  False, "bicubic", ...)``): Pillow's bicubic filter (Keys' cubic with a = -0.5) on each
  channel as a 32-bit float image, with the filter widened by the shrink factor when shrinking
  (antialiasing; Pillow's ``ImagingResample``, src/libImaging/Resample.c), then clipped to
  [0, 255].

:func:`interpolation_matrix` also gives ``torch_bicubic``: PyTorch's
``F.interpolate(mode="bicubic", align_corners=False)`` (Keys' cubic with a = -0.75, no
antialiasing, border pixels repeated), optionally with an explicit scale factor, which DINOv2
uses to interpolate its position embeddings (not a mode for images).

The matrices are computed in float64; images are resized by two matrix products in float32
(:func:`resize`), so values equal the references' up to float32 round-off (a few units in the
last place; the references also compute in float32, summing in another order).
"""

from __future__ import annotations

import functools

import numpy as np

MODES: dict[str, str] = {
    "pytorch_fid": "PyTorch bilinear, align_corners=False, no antialiasing (pytorch-fid)",
    "legacy_tensorflow": "TensorFlow 1 resize_bilinear without half-pixel centres (the original "
    "TTUR FID code; torch-fidelity; StyleGAN2-ADA)",
    "clean": "Pillow bicubic with antialiasing, per channel on float32, clipped to [0, 255] "
    "(clean-fid)",
}
"""The resize modes an extractor may accept, with one line each."""


def _bilinear(in_size: int, out_size: int, half_pixel: bool) -> np.ndarray:
    # Positions and weights in float32, with the operations in the references' order (PyTorch's
    # area_pixel_compute_scale / _source_index with opmath float; TensorFlow's
    # CalculateResizeScale and compute_interpolation_weights), so the weights are theirs.
    f32 = np.float32
    scale = f32(in_size) / f32(out_size)
    dst = np.arange(out_size).astype(f32)
    if half_pixel:  # PyTorch's compiled kernel fuses the multiply-add: one rounding
        src = (np.float64(scale) * (dst.astype(np.float64) + 0.5) - 0.5).astype(f32)
        src = np.maximum(src, f32(0.0))
    else:
        src = dst * scale
    lo = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    hi = np.minimum(lo + 1, in_size - 1)
    frac = (src - lo.astype(f32)).astype(np.float64)
    m = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    np.add.at(m, (rows, lo), 1.0 - frac)
    np.add.at(m, (rows, hi), frac)
    return m


def _pil_bicubic(x: np.ndarray) -> np.ndarray:
    """Pillow's bicubic filter (a = -0.5; src/libImaging/Resample.c, ``bicubic_filter``)."""
    a = -0.5
    x = np.abs(x)
    return np.where(
        x < 1.0,
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0,
        np.where(x < 2.0, (((x - 5.0) * x + 8.0) * x - 4.0) * a, 0.0),
    )


def _pil(in_size: int, out_size: int) -> np.ndarray:
    """Pillow's ``precompute_coeffs`` for the bicubic filter (support 2), box (0, in_size)."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 2.0 * filterscale
    m = np.zeros((out_size, in_size))
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        x = np.arange(xmin, xmax, dtype=np.float64)
        w = _pil_bicubic((x - center + 0.5) / filterscale)
        total = w.sum()
        if total != 0.0:
            w = w / total
        m[xx, xmin:xmax] = w
    return m


def _torch_cubic(t: np.ndarray, a: float = -0.75) -> tuple[np.ndarray, ...]:
    """The four weights of PyTorch's ``get_cubic_upsample_coefficients`` at fraction ``t``."""

    def near(x):  # |x| <= 1
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a

    return far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)


def _torch_bicubic(in_size: int, out_size: int, scale_factor: float | None) -> np.ndarray:
    # aten/src/ATen/native/UpSample.h: area_pixel_compute_scale uses 1 / scale_factor when one
    # is given, else in / out; the cubic source index is not clamped, the taps are. The scale
    # and the source positions are float32, as PyTorch computes them for float32 images (with
    # float64 positions, a 1000 -> 299 resize differed from PyTorch's by up to 0.02 of 255).
    f32 = np.float32
    scale = f32(1.0 / scale_factor) if scale_factor else f32(in_size) / f32(out_size)
    dst = np.arange(out_size, dtype=np.float64)
    src = (np.float64(scale) * (dst + 0.5) - 0.5).astype(f32)  # one rounding, as for bilinear
    base = np.floor(src).astype(np.int64)
    t = (src - base.astype(f32)).astype(np.float64)
    m = np.zeros((out_size, in_size))
    for i in range(out_size):
        for k, w in zip(range(-1, 3), _torch_cubic(t[i]), strict=True):
            m[i, min(max(int(base[i]) + k, 0), in_size - 1)] += w
    return m


@functools.cache
def _matrix(in_size: int, out_size: int, mode: str, scale_factor: float | None) -> np.ndarray:
    if mode == "pytorch_fid":
        m = _bilinear(in_size, out_size, half_pixel=True)
    elif mode == "legacy_tensorflow":
        m = _bilinear(in_size, out_size, half_pixel=False)
    elif mode == "clean":
        m = _pil(in_size, out_size)
    elif mode == "torch_bicubic":
        m = _torch_bicubic(in_size, out_size, scale_factor)
    else:
        raise ValueError(f"unknown resize mode {mode!r}; known: {', '.join(MODES)}")
    m.setflags(write=False)
    return m


def interpolation_matrix(
    in_size: int, out_size: int, mode: str, *, scale_factor: float | None = None
) -> np.ndarray:
    """The (out_size, in_size) float64 matrix of one axis of a resize (module docstring):
    ``resized = M @ column``. ``scale_factor`` (``torch_bicubic`` only): the factor PyTorch
    was given instead of a size (its source positions then use ``1 / scale_factor``).

    >>> interpolation_matrix(2, 4, "pytorch_fid")
    array([[1.  , 0.  ],
           [0.75, 0.25],
           [0.25, 0.75],
           [0.  , 1.  ]])
    >>> interpolation_matrix(2, 4, "legacy_tensorflow")
    array([[1. , 0. ],
           [0.5, 0.5],
           [0. , 1. ],
           [0. , 1. ]])
    """
    if in_size < 1 or out_size < 1:
        raise ValueError(f"sizes must be >= 1, got {in_size} -> {out_size}")
    if scale_factor is not None and mode != "torch_bicubic":
        raise ValueError("scale_factor applies to torch_bicubic only")
    return _matrix(int(in_size), int(out_size), mode, scale_factor)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"unknown resize mode {mode!r}; known: {', '.join(MODES)}")
    return mode


def resize(pixels: np.ndarray, size: int | tuple[int, int], mode: str) -> np.ndarray:
    """Float32 images (N, H, W, C) of pixel values resized to ``size`` (an int: square) with
    ``mode``; images already at the size are returned unchanged (every mode is the identity
    there). The ``clean`` mode clips to [0, 255] as clean-fid does."""
    check_mode(mode)
    pixels = np.asarray(pixels, np.float32)
    out_h, out_w = (size, size) if isinstance(size, int) else size
    h, w = pixels.shape[1:3]
    if (h, w) == (out_h, out_w):
        return pixels
    mh = interpolation_matrix(h, out_h, mode)
    mw = interpolation_matrix(w, out_w, mode)
    # Width first, then height, as Pillow does; in float64, rounded to float32 once.
    x = np.einsum("ow,nhwc->nhoc", mw, pixels.astype(np.float64), optimize=True)
    x = np.einsum("oh,nhwc->nowc", mh, x, optimize=True)
    if mode == "clean":
        np.clip(x, 0.0, 255.0, out=x)
    return np.ascontiguousarray(x, np.float32)


def resize_jax(pixels, size: int, mode: str):
    """:func:`resize` as JAX operations (for use inside a jitted feature network): the same
    matrices, two ``einsum``s in float32 and, for ``clean``, the clip."""
    import jax.numpy as jnp

    check_mode(mode)
    _, h, w, _ = pixels.shape
    if (h, w) == (size, size):
        return pixels
    mh = jnp.asarray(interpolation_matrix(h, size, mode), jnp.float32)
    mw = jnp.asarray(interpolation_matrix(w, size, mode), jnp.float32)
    x = jnp.einsum("ow,nhwc->nhoc", mw, pixels)
    x = jnp.einsum("oh,nhwc->nowc", mh, x)
    if mode == "clean":
        x = jnp.clip(x, 0.0, 255.0)
    return x


__all__ = ["MODES", "check_mode", "interpolation_matrix", "resize", "resize_jax"]
