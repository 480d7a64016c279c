"""Each resize mode against its anchor's own resize, on images of several sizes (up and down,
square and not): PyTorch's ``F.interpolate`` (pytorch-fid), torch-fidelity's
``interpolate_bilinear_2d_like_tensorflow1x`` (TensorFlow 1) and clean-fid's ``make_resizer("PIL",
False, "bicubic", ...)`` (Pillow).

Tolerances, in units in the last place (ulp) of the largest value (255, or 1.0 for pytorch-fid's
[0, 1] images), so 1 ulp of 255 is 2**-16:

- host :func:`resize`: float64 weights and sums, rounded to float32 once; the peers round in
  float32 after each operation (TensorFlow's lerp ``a + (b - a) t`` five times over two axes,
  PyTorch's two-tap sums likewise, Pillow once per axis): 3 ulp. Measured: 1 (pytorch_fid,
  clean), 2 (legacy_tensorflow).
- :func:`resize_jax`: float32 matrix products, rounded after each axis, and for ``clean`` a
  float32 sum over up to 4 x (shrink factor) taps: 8 ulp. Measured: 1 (pytorch_fid), 3
  (legacy_tensorflow), 6 (clean, 1000 x 700 -> 64).
- ``torch_bicubic`` (not a mode for images: DINOv2's position embeddings): PyTorch sums 16
  products of float32 cubic weights, which reach 1.1 in magnitude with negative lobes: 24 ulp.
  Measured: 21.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = pytest.importorskip("torch.nn.functional")
tf1 = pytest.importorskip("torch_fidelity.interpolate_compat_tensorflow")
cleanfid_resize = pytest.importorskip("cleanfid.resize")

import jax  # noqa: E402

from ganbench.extractors.resize import interpolation_matrix, resize, resize_jax  # noqa: E402

ULP_255 = float(np.spacing(np.float32(255)))
ULP_1 = float(np.spacing(np.float32(1)))
HOST_ULP = 3
JAX_ULP = 8
BICUBIC_ULP = 24

INPUTS = [(1, 5), (28, 28), (32, 32), (17, 40), (48, 64), (299, 299), (300, 310), (512, 384)]
LARGE = [(1000, 700)]
OUTPUTS = [(299, 299), (64, 64), (20, 30), (7, 5), (150, 400)]

_jit_resize = jax.jit(resize_jax, static_argnums=(1, 2))


def _images(shape: tuple[int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (2, *shape, 3), dtype=np.uint8)


def _nchw(x: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2)


def _nhwc(t) -> np.ndarray:
    return t.permute(0, 2, 3, 1).numpy()


def _check(got: np.ndarray, want: np.ndarray, ulps: int, unit: float) -> None:
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=ulps * unit)


@pytest.mark.parametrize("out", OUTPUTS)
@pytest.mark.parametrize("shape", INPUTS + LARGE)
def test_pytorch_fid_is_torch_bilinear_on_totensor_images(shape, out):
    # pytorch-fid: ToTensor (x / 255, float32), F.interpolate(bilinear, align_corners=False).
    x = _images(shape, 0).astype(np.float32) / np.float32(255)
    want = _nhwc(F.interpolate(_nchw(x), size=out, mode="bilinear", align_corners=False))
    _check(resize(x, out, "pytorch_fid"), want, HOST_ULP, ULP_1)
    if out[0] == out[1]:
        _check(np.asarray(_jit_resize(x, out[0], "pytorch_fid")), want, JAX_ULP, ULP_1)


@pytest.mark.parametrize("out", OUTPUTS)
@pytest.mark.parametrize("shape", INPUTS + LARGE)
def test_legacy_tensorflow_is_torch_fidelitys_tf1_bilinear(shape, out):
    # torch-fidelity's inception-v3-compat: uint8 -> float, then this resize on pixel values.
    x = _images(shape, 1).astype(np.float32)
    t = tf1.interpolate_bilinear_2d_like_tensorflow1x(_nchw(x), size=out, align_corners=False)
    want = _nhwc(t)
    _check(resize(x, out, "legacy_tensorflow"), want, HOST_ULP, ULP_255)
    if out[0] == out[1]:
        _check(np.asarray(_jit_resize(x, out[0], "legacy_tensorflow")), want, JAX_ULP, ULP_255)


@pytest.mark.parametrize("out", OUTPUTS)
@pytest.mark.parametrize("shape", INPUTS + LARGE)
def test_clean_is_clean_fids_pil_bicubic(shape, out):
    u8 = _images(shape, 2)
    # clean-fid's resizer takes Pillow's (width, height) and returns (height, width, 3).
    resizer = cleanfid_resize.make_resizer("PIL", False, "bicubic", (out[1], out[0]))
    want = np.stack([resizer(image) for image in u8])
    x = u8.astype(np.float32)
    _check(resize(x, out, "clean"), want, HOST_ULP, ULP_255)
    if out[0] == out[1]:
        _check(np.asarray(_jit_resize(x, out[0], "clean")), want, JAX_ULP, ULP_255)


def test_clean_mode_is_clean_fids_own_choice_of_resizer():
    """clean-fid's mode "clean" is the resizer tested above (cleanfid/resize.py, build_resizer)."""
    u8 = _images((40, 24), 3)[0]
    np.testing.assert_array_equal(
        cleanfid_resize.build_resizer("clean")(u8),
        cleanfid_resize.make_resizer("PIL", False, "bicubic", (299, 299))(u8),
    )


@pytest.mark.parametrize("out", OUTPUTS)
@pytest.mark.parametrize("shape", [(28, 28), (17, 40), (512, 384), (1000, 700)])
def test_torch_bicubic_is_torch_bicubic(shape, out):
    x = _images(shape, 4)[0, :, :, 0].astype(np.float32)
    want = F.interpolate(
        torch.from_numpy(x)[None, None], size=out, mode="bicubic", align_corners=False
    )[0, 0].numpy()
    mh = interpolation_matrix(shape[0], out[0], "torch_bicubic")
    mw = interpolation_matrix(shape[1], out[1], "torch_bicubic")
    _check(mh @ x.astype(np.float64) @ mw.T, want, BICUBIC_ULP, ULP_255)


@pytest.mark.parametrize(("size", "factor"), [(16, 37 / 16), (37, 16 / 37), (14, 2.5)])
def test_torch_bicubic_with_a_scale_factor(size, factor):
    # As DINOv2 implementations interpolate position embeddings (values of order 1).
    x = np.random.default_rng(5).uniform(-1, 1, (size, size)).astype(np.float32)
    want = F.interpolate(
        torch.from_numpy(x)[None, None], scale_factor=factor, mode="bicubic", align_corners=False
    )[0, 0].numpy()
    m = interpolation_matrix(size, want.shape[0], "torch_bicubic", scale_factor=factor)
    _check(m @ x.astype(np.float64) @ m.T, want, BICUBIC_ULP, ULP_1)
