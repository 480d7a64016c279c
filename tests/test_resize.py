"""The resize modes (ganbench.extractors.resize) against interpolation weights computed by hand
from each anchor's formula; their identities (rows sum to 1, equal size is the identity); and the
host and JAX resizes against each other. The peers' own resizes are in tests/peers."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from ganbench.extractors.resize import MODES, interpolation_matrix, resize, resize_jax

ALL = (*MODES, "torch_bicubic")


def _m(in_size: int, out_size: int, mode: str, **kw) -> np.ndarray:
    return interpolation_matrix(in_size, out_size, mode, **kw)


# ------------------------------------------------------------------ pytorch_fid (torch bilinear)


def test_pytorch_fid_weights_by_hand():
    # s = (i + 0.5) * in / out - 0.5, clamped below at 0; linear between floor(s) and the next
    # pixel (the last one repeated at the border).
    np.testing.assert_array_equal(_m(4, 2, "pytorch_fid"), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])
    np.testing.assert_array_equal(_m(3, 2, "pytorch_fid"), [[0.75, 0.25, 0], [0, 0.25, 0.75]])
    # 2 -> 5: s = 0.4 (i + 0.5) - 0.5 = -0.3 (clamped to 0), 0.1, 0.5, 0.9, 1.3 (past the last
    # pixel: the last pixel). 0.1 and 0.9 are float32 positions, as PyTorch computes them.
    want = [[1, 0], [0.9, 0.1], [0.5, 0.5], [0.1, 0.9], [0, 1]]
    np.testing.assert_allclose(_m(2, 5, "pytorch_fid"), want, rtol=0, atol=1e-7)


# ------------------------------------------------------------------ legacy_tensorflow (TF1)


def test_legacy_tensorflow_weights_by_hand_and_its_half_pixel_shift():
    # s = i * in / out: no half-pixel centres. Shrinking 4 -> 2 samples pixels 0 and 2 and
    # skips 1 and 3 (where PyTorch's resize averages the pairs); 3 -> 2 samples 0 and 1.5.
    np.testing.assert_array_equal(_m(4, 2, "legacy_tensorflow"), [[1, 0, 0, 0], [0, 0, 1, 0]])
    np.testing.assert_array_equal(_m(3, 2, "legacy_tensorflow"), [[1, 0, 0], [0, 0.5, 0.5]])
    # 2 -> 4: s = 0, 0.5, 1, 1.5: the image moves by half an output pixel towards the origin
    # (PyTorch: s = -0.25 -> 0, 0.25, 0.75, 1.25), and the last two rows are the last pixel.
    np.testing.assert_array_equal(
        _m(2, 4, "legacy_tensorflow"), [[1, 0], [0.5, 0.5], [0, 1], [0, 1]]
    )
    assert not np.array_equal(_m(2, 4, "legacy_tensorflow"), _m(2, 4, "pytorch_fid"))
    # The shift on an image: a ramp 0, 1, ..., 7 shrunk to 4 pixels.
    ramp = np.arange(8, dtype=np.float32)[None, None, :, None]
    tf = resize(np.repeat(ramp, 8, axis=1), (8, 4), "legacy_tensorflow")[0, 0, :, 0]
    torch_like = resize(np.repeat(ramp, 8, axis=1), (8, 4), "pytorch_fid")[0, 0, :, 0]
    np.testing.assert_array_equal(tf, [0, 2, 4, 6])
    np.testing.assert_array_equal(torch_like, [0.5, 2.5, 4.5, 6.5])


# ------------------------------------------------------------------ clean (Pillow bicubic)

# Pillow's bicubic filter with a = -0.5 at the distances that occur below, in 128ths:
# k(0.25) = 111/128, k(0.75) = 29/128, k(1.25) = -9/128 (k(x) = ((a+2)|x| - (a+3)) x^2 + 1 for
# |x| < 1, ((|x| - 5)|x| + 8)|x| - 4) a for 1 <= |x| < 2).


def test_clean_weights_by_hand_upsampling():
    # 2 -> 4: centre (i + 0.5) / 2, support 2 (the filter's own), taps x = 0, 1 inside the
    # image; weight k(x + 0.5 - centre), normalised by the row's sum.
    want = np.array([[111, -9], [111, 29], [29, 111], [-9, 111]], np.float64)
    want /= want.sum(axis=1, keepdims=True)  # 102 and 140
    np.testing.assert_allclose(_m(2, 4, "clean"), want, rtol=0, atol=1e-15)
    assert _m(2, 4, "clean")[0, 0] == pytest.approx(37 / 34)  # overshoot: clipped after


def test_clean_weights_by_hand_shrinking_widens_the_filter():
    # 4 -> 2: scale 2, so Pillow stretches the filter by 2 (support 4): every input pixel
    # contributes, at distances (x + 0.5 - centre) / 2 = -0.25, 0.25, 0.75, 1.25 for centre 1.
    want = np.array([[111, 111, 29, -9], [-9, 29, 111, 111]], np.float64) / 242
    np.testing.assert_allclose(_m(4, 2, "clean"), want, rtol=0, atol=1e-15)
    # Without the widening (the plain filter at the same centres) only two taps would count.
    assert np.count_nonzero(_m(4, 2, "clean")[0]) == 4
    # 8 -> 2: support 8 around centres 2 and 6; the filter reaches the whole image.
    assert np.count_nonzero(_m(8, 2, "clean")[0]) == 8


# ------------------------------------------------------------------ torch_bicubic


def test_torch_bicubic_weights_by_hand():
    # 2 -> 4, a = -0.75: row 0 samples s = -0.25, base -1, t = 0.75; taps -2..1 clamped to
    # 0, 0, 0, 1 with weights far(1.75) + near(0.75) + near(0.25) and far(1.25):
    # -0.03515625 + 0.26171875 + 0.87890625 and -0.10546875.
    m = _m(2, 4, "torch_bicubic")
    np.testing.assert_array_equal(m[0], [1.10546875, -0.10546875])
    np.testing.assert_array_equal(m[3], [-0.10546875, 1.10546875])
    # With a scale factor PyTorch positions taps by 1 / scale_factor, not in / out: 3 -> 7 at
    # factor 2.5, row 3 samples s = 0.4 * 3.5 - 0.5 = 0.9 (3 / 7 would give 1.0); base 0,
    # t = 0.9, taps -1, 0, 1, 2 (-1 clamped to 0) at distances 1.9, 0.9, 0.1, 1.1 of Keys'
    # kernel W(x) = (a+2)|x|^3 - (a+3)|x|^2 + 1 (|x| <= 1), a|x|^3 - 5a|x|^2 + 8a|x| - 4a (1 < |x|
    # < 2), a = -0.75.
    a = -0.75

    def keys(x: float) -> float:
        if x <= 1:
            return (a + 2) * x**3 - (a + 3) * x**2 + 1
        return a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a

    by_factor = _m(3, 7, "torch_bicubic", scale_factor=2.5)
    want = [keys(1.9) + keys(0.9), keys(0.1), keys(1.1)]
    np.testing.assert_allclose(by_factor[3], want, rtol=0, atol=1e-6)  # t is float32
    np.testing.assert_allclose(_m(3, 7, "torch_bicubic")[3], [0, 1, 0], rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="torch_bicubic only"):
        _m(3, 7, "pytorch_fid", scale_factor=2.0)


# ------------------------------------------------------------------ identities


SIZES = [(1, 5), (2, 4), (4, 2), (3, 7), (7, 3), (28, 299), (32, 299), (299, 299), (512, 299)]


@pytest.mark.parametrize("mode", ALL)
@pytest.mark.parametrize(("n_in", "n_out"), SIZES)
def test_rows_sum_to_one_and_equal_size_is_the_identity(mode, n_in, n_out):
    m = _m(n_in, n_out, mode)
    assert m.shape == (n_out, n_in)
    # torch_bicubic's weights are float32, as PyTorch computes them: their sum is 1 to float32
    # rounding; the other modes' weights are exact.
    atol = 1e-6 if mode == "torch_bicubic" else 1e-12
    np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=0, atol=atol)
    np.testing.assert_array_equal(_m(n_in, n_in, mode), np.eye(n_in))


def test_unknown_mode_and_bad_sizes():
    with pytest.raises(ValueError, match="unknown resize mode 'bilinear'"):
        _m(2, 4, "bilinear")
    with pytest.raises(ValueError, match=">= 1"):
        _m(0, 4, "clean")
    with pytest.raises(ValueError, match="unknown resize mode"):
        resize(np.zeros((1, 2, 2, 1), np.float32), 4, "torch_bicubic")


# ------------------------------------------------------------------ resize and resize_jax


def test_resize_is_the_two_matrix_products():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, 5, 3, 2)).astype(np.float32)
    got = resize(x, (4, 6), "pytorch_fid")
    mh, mw = _m(5, 4, "pytorch_fid"), _m(3, 6, "pytorch_fid")
    want = np.einsum("oh,nhwc,pw->nopc", mh, x.astype(np.float64), mw)
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=0, atol=0)
    assert got.dtype == np.float32


def test_clean_clips_to_the_pixel_range():
    x = np.zeros((1, 4, 4, 1), np.float32)
    x[0, :, 2:] = 255.0  # a sharp edge: bicubic overshoots on both sides
    unclipped = np.einsum("oh,nhwc,pw->nopc", _m(4, 9, "clean"), x, _m(4, 9, "clean"))
    assert unclipped.min() < 0 and unclipped.max() > 255
    out = resize(x, 9, "clean")
    assert out.min() == 0.0 and out.max() == 255.0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(28, 28), (17, 40), (300, 310)])
def test_resize_jax_equals_resize(mode, shape):
    """JAX rounds to float32 after each axis, the host once from float64: within 8 units in the
    last place of 255 (2**-13), the bound the peers test uses for JAX (tests/peers)."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (2, *shape, 3)).astype(np.float32)
    host = resize(x, 64, mode)
    dev = np.asarray(jax.jit(resize_jax, static_argnums=(1, 2))(x, 64, mode))
    assert dev.shape == host.shape == (2, 64, 64, 3)
    np.testing.assert_allclose(dev, host, rtol=0, atol=8 * np.spacing(np.float32(255)))
    same = rng.uniform(0, 255, (1, 6, 6, 1)).astype(np.float32)
    np.testing.assert_array_equal(resize(same, 6, mode), same)
    np.testing.assert_array_equal(np.asarray(resize_jax(same, 6, mode)), same)
