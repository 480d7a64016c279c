"""The optional FID Inception-v3 extractor: its key/shape table, its layers against hand
computations, loading (and refusing) weights files, and the opt-in wiring into suites and image
metrics. The network runs on random weights at batch 2 (one compiled shape for the module)."""

from __future__ import annotations

import json
import math
import pickle
import textwrap
import zipfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.errors import ConfigError, DataError
from ganbench.extractors import inception as I
from ganbench.metrics import catalog
from ganbench.metrics import names as M

BATCH = 2


def random_weights(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every expected key with its shape: He-scaled kernels, batch norm near the identity (so
    activations stay of order one through 94 layers), plus the FID network's 1008-class fc."""
    arrays = {}
    for key, shape in I.expected_shapes().items():
        if key.endswith(".conv.weight"):
            scale = math.sqrt(2.0 / math.prod(shape[1:]))
            arrays[key] = rng.standard_normal(shape, dtype=np.float32) * np.float32(scale)
        elif key.endswith((".bn.weight", ".bn.running_var")):
            arrays[key] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:
            arrays[key] = (0.1 * rng.standard_normal(shape)).astype(np.float32)
    arrays["fc.weight"] = np.zeros((1008, 2048), np.float32)
    arrays["fc.bias"] = np.zeros((1008,), np.float32)
    return arrays


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("inception") / "pt_inception.npz"
    np.savez(path, **random_weights(np.random.default_rng(0)))
    return path


@pytest.fixture(scope="module")
def loaded(weights_file):
    return I.load_inception(weights_file)


def tiny_arrays(**replace) -> dict[str, np.ndarray]:
    """Every expected key with a placeholder array (the loader stops at the first bad key)."""
    arrays = {key: np.zeros(1, np.float32) for key in I.expected_shapes()}
    arrays.update(replace)
    return arrays


# ------------------------------------------------------------------------ the key/shape table


def test_table_has_the_fid_network_parameter_count():
    shapes = I.expected_shapes()
    # torchvision's documented inception_v3 parameter count, less its auxiliary classifier
    # (conv0 1x1 768->128 + BN, conv1 5x5 128->768 + BN, fc 768->1000) and its fc 2048->1000.
    aux = 768 * 128 + 2 * 128 + 128 * 768 * 25 + 2 * 768 + 768 * 1000 + 1000
    fc = 2048 * 1000 + 1000
    assert (aux, fc) == (3_326_696, 2_049_000)
    assert 27_161_264 - aux - fc == 21_785_568 == I.TRAINABLE_PARAMETERS
    trainable = sum(
        math.prod(shape)
        for key, shape in shapes.items()
        if not key.endswith((".running_mean", ".running_var"))
    )
    assert trainable == 21_785_568 == I.trainable_count(shapes)
    assert len(shapes) == 94 * 5
    assert shapes["Conv2d_1a_3x3.conv.weight"] == (32, 3, 3, 3)
    assert shapes["Mixed_5b.branch5x5_2.conv.weight"] == (64, 48, 5, 5)
    assert shapes["Mixed_5b.branch_pool.conv.weight"] == (32, 192, 1, 1)
    assert shapes["Mixed_6b.branch7x7_2.conv.weight"] == (128, 128, 1, 7)
    assert shapes["Mixed_6e.branch7x7dbl_2.conv.weight"] == (192, 192, 7, 1)
    assert shapes["Mixed_7c.branch3x3dbl_1.conv.weight"] == (448, 2048, 1, 1)
    assert shapes["Mixed_7c.branch_pool.bn.running_var"] == (192,)


# ------------------------------------------------------------------------ layers by hand


def _torch_conv_bn_relu(x, w, gamma, beta, mean, var, stride, pad):
    """PyTorch's BasicConv2d on (C, H, W) by explicit loops: cross-correlation of the zero-padded
    input with the (O, I, kh, kw) weight, batch norm with epsilon 1e-3, ReLU."""
    c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((c, h + 2 * pad[0], wd + 2 * pad[1]))
    xp[:, pad[0] : pad[0] + h, pad[1] : pad[1] + wd] = x
    ho = (xp.shape[1] - kh) // stride + 1
    wo = (xp.shape[2] - kw) // stride + 1
    out = np.zeros((o, ho, wo))
    for oc in range(o):
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, i * stride : i * stride + kh, j * stride : j * stride + kw]
                out[oc, i, j] = np.sum(patch * w[oc])
    y = (out - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-3)
    return np.maximum(gamma[:, None, None] * y + beta[:, None, None], 0.0)


@pytest.mark.parametrize(
    ("kernel", "stride", "pad"),
    [((1, 3), 1, (0, 1)), ((3, 1), 1, (1, 0)), ((3, 3), 2, (0, 0)), ((3, 3), 1, (0, 0))],
)
def test_basic_conv_matches_a_hand_implementation(kernel, stride, pad):
    rng = np.random.default_rng(1)
    cin, cout = 2, 3
    x = rng.standard_normal((cin, 5, 6))
    w = rng.standard_normal((cout, cin, *kernel))  # PyTorch's OIHW
    gamma, beta = rng.uniform(0.5, 2, cout), rng.standard_normal(cout)
    mean, var = rng.standard_normal(cout), rng.uniform(0.1, 2, cout)
    variables = {
        "params": {
            "conv": {"kernel": jnp.asarray(I.conv_kernel_from_oihw(w), jnp.float32)},
            "bn": {"scale": jnp.asarray(gamma, jnp.float32), "bias": jnp.asarray(beta, jnp.float32)},
        },
        "batch_stats": {"bn": {"mean": jnp.asarray(mean, jnp.float32), "var": jnp.asarray(var, jnp.float32)}},
    }  # fmt: skip
    layer = I.BasicConv(cout, kernel, stride=stride, padding=pad)
    got = layer.apply(variables, jnp.asarray(x.transpose(1, 2, 0)[None], jnp.float32))[0]
    want = _torch_conv_bn_relu(x, w, gamma, beta, mean, var, stride, pad)
    assert got.shape == want.transpose(1, 2, 0).shape
    np.testing.assert_allclose(np.asarray(got), want.transpose(1, 2, 0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("size", "stride"), [(9, 1), (9, 2), (8, 2), (7, 1)])
def test_unpadded_convolutions_computed_padded_give_the_same_outputs(size, stride, monkeypatch):
    """VALID_AS_PADDED: the padded convolution's first outputs are the unpadded one's windows."""
    x = jnp.asarray(np.random.default_rng(7).standard_normal((2, size, size, 3)), jnp.float32)
    layer = I.BasicConv(4, (3, 3), stride=stride)
    variables = layer.init(jax.random.key(0), x)
    padded = layer.apply(variables, x)
    assert "padding=((0, 1), (0, 1))" in str(jax.make_jaxpr(layer.apply)(variables, x))
    monkeypatch.setattr(I, "VALID_AS_PADDED", False)
    plain = layer.apply(variables, x)
    assert "padding=((0, 0), (0, 0))" in str(jax.make_jaxpr(layer.apply)(variables, x))
    assert padded.shape == plain.shape == (2, (size - 3) // stride + 1, (size - 3) // stride + 1, 4)
    np.testing.assert_allclose(np.asarray(padded), np.asarray(plain), rtol=1e-6, atol=1e-6)


def test_average_pool_excludes_padding_from_the_count():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    got = np.asarray(I.avg_pool_exclude_pad(jnp.asarray(x)))[0, :, :, 0]
    img = x[0, :, :, 0]
    # Corner (0, 0): the window holds pixels (0..1, 0..1) of the image, 4 of its 9 cells.
    assert got[0, 0] == pytest.approx((0 + 1 + 4 + 5) / 4)
    assert got[0, 0] != pytest.approx((0 + 1 + 4 + 5) / 9)  # what counting the padding gives
    assert got[0, 1] == pytest.approx(img[0:2, 0:3].sum() / 6)  # an edge: 6 pixels
    assert got[3, 3] == pytest.approx((10 + 11 + 14 + 15) / 4)
    assert got[1, 2] == pytest.approx(img[0:3, 1:4].mean())  # inside: 9 pixels


def test_resize_is_pytorch_bilinear_without_align_corners():
    """Upsampling follows F.interpolate(mode="bilinear", align_corners=False): source
    coordinate (i + 0.5) * in / out - 0.5, clamped at 0, linear between neighbours."""
    rng = np.random.default_rng(2)
    img = rng.uniform(-1, 1, (28, 28)).astype(np.float32)

    def axis_weights(n_in: int, n_out: int) -> np.ndarray:
        w = np.zeros((n_out, n_in))
        for i in range(n_out):
            src = max((i + 0.5) * n_in / n_out - 0.5, 0.0)
            i0 = min(int(np.floor(src)), n_in - 1)
            i1 = min(i0 + 1, n_in - 1)
            lam = src - i0
            w[i, i0] += 1 - lam
            w[i, i1] += lam
        return w

    a = axis_weights(28, 299)
    want = a @ img.astype(np.float64) @ a.T
    got = np.asarray(I.resize_to_input(jnp.asarray(img[None, :, :, None])))[0, :, :, 0]
    assert got.shape == (299, 299)
    np.testing.assert_allclose(got, want, atol=1e-5)


# ------------------------------------------------------------------------ features


def test_features_shape_finiteness_gray_and_padding(loaded):
    variables, info = loaded
    assert len(info["sha256"]) == 64 and Path(info["path"]).is_absolute()
    rng = np.random.default_rng(3)
    gray = rng.uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
    # Three images at batch 2: the second batch is padded, so one compiled shape serves both.
    f_gray = I.inception_features(variables, gray, batch_size=BATCH)
    assert f_gray.shape == (3, 2048) and f_gray.dtype == np.float64
    assert np.all(np.isfinite(f_gray)) and np.all(f_gray >= 0)  # averages of ReLU outputs
    assert np.std(f_gray) > 0
    rgb = np.repeat(gray[:2], 3, axis=-1)
    f_rgb = I.inception_features(variables, rgb, batch_size=BATCH)
    np.testing.assert_array_equal(f_rgb, f_gray[:2])
    # The padded last batch gives the same features as the same image in a full batch.
    f_last = I.inception_features(variables, gray[1:], batch_size=BATCH)
    np.testing.assert_allclose(f_last[1], f_gray[2], rtol=1e-5, atol=1e-6)
    assert I.inception_features(variables, gray[:0]).shape == (0, 2048)
    with pytest.raises(ValueError, match="1 or 3"):
        I.inception_features(variables, np.zeros((1, 28, 28, 2), np.float32))


# ------------------------------------------------------------------------ the extractor


def test_inception_is_registered_with_its_declared_names():
    from ganbench.extractors.base import WEIGHTS_USER, extractor_names, get_extractor

    ex = get_extractor("inception")
    assert ex is I.INCEPTION and "inception" in extractor_names()
    assert (ex.feature_dim, ex.input_size, ex.weights) == (2048, 299, WEIGHTS_USER)
    assert ex.resize_modes == ("legacy_tensorflow", "pytorch_fid", "clean")
    assert ex.default_resize == "legacy_tensorflow"
    assert I.CONVERT_SNIPPET in ex.weights_help and "pytorch-fid" in ex.source
    # The names results already hold, and the rule for the others.
    assert ex.metric_names() == {
        "fd": M.FID_INCEPTION,
        "fd_inf": "fid_inception_inf",
        "kid": M.KID_INCEPTION,
        "kid_std": M.KID_INCEPTION_STD,
        "precision": "precision_inception",
        "recall": "recall_inception",
        "density": "density_inception",
        "coverage": "coverage_inception",
    }
    assert (M.FID_INCEPTION, M.KID_INCEPTION, M.KID_INCEPTION_STD) == (
        "fid_inception",
        "kid_inception",
        "kid_inception_std",
    )


def test_the_documented_conversion_is_the_one_the_code_quotes():
    """docs/images.md shows the snippet errors quote and tests/peers runs."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "images.md").read_text()
    assert f"```python\n{I.CONVERT_SNIPPET}\n```" in docs
    assert I.CONVERT_SNIPPET.replace("\n", "\n    ") in I.__doc__


def test_load_needs_weights_and_a_known_resize_mode(tmp_path):
    from ganbench.errors import OptionError

    with pytest.raises(DataError) as info:
        I.INCEPTION.load()
    message = str(info.value)
    assert info.value.exit_code == 2 and "--weights" in message
    assert "numpy.savez" in message and "pt_inception-2015-12-05-6726825d.pth" in message
    with pytest.raises(OptionError) as bad:  # refused before the file is read
        I.INCEPTION.load(tmp_path / "missing.npz", resize="bilinear")
    assert bad.value.exit_code == 2
    assert "'bilinear'" in str(bad.value) and "legacy_tensorflow, pytorch_fid, clean" in str(
        bad.value
    )


def test_loaded_model_records_what_makes_features_comparable(weights_file):
    logged = []
    model = I.INCEPTION.load(weights_file, log=logged.append)
    assert model.resize == "legacy_tensorflow" and model.extractor is I.INCEPTION
    info = model.info
    assert info["name"] == "inception" and info["resize"] == "legacy_tensorflow"
    assert (info["feature_dim"], info["input_size"], info["batch_size"]) == (2048, 299, 50)
    assert info["weights"]["path"] == str(weights_file) and len(info["weights"]["sha256"]) == 64
    assert "(x - 128) / 128" in info["normalisation"]
    assert str(weights_file) in logged[0] and "legacy_tensorflow" in logged[0]
    assert I.INCEPTION.load(weights_file, resize="clean").resize == "clean"


@pytest.mark.parametrize(
    ("mode", "want"),
    [
        # TF graph (legacy_tensorflow) and clean-fid's network: (x - 128) / 128.
        ("legacy_tensorflow", [-1.0, -0.5, 0.0, 0.9921875]),
        ("clean", [-1.0, -0.5, 0.0, 0.9921875]),
        # pytorch-fid: ToTensor's x / 255 (float32), then 2 x - 1.
        ("pytorch_fid", [-1.0, 2 * np.float32(np.float32(64) / np.float32(255)) - 1, 1 / 255, 1.0]),
    ],
)
def test_normalisation_of_each_mode_on_known_pixels(mode, want):
    pixels = np.array([0, 64, 128, 255], np.uint8)
    images = np.broadcast_to(pixels[:, None, None, None], (4, 299, 299, 3))  # no resize
    x = np.asarray(I.preprocess(images, mode))
    assert x.shape == (4, 299, 299, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 150, 150, 0], want, rtol=0, atol=1e-7)
    assert np.all(x == x[:, :1, :1, :1])
    # Floats in [-1, 1] are the same pixels: (x + 1) * 127.5.
    floats = images.astype(np.float32) / np.float32(127.5) - 1
    np.testing.assert_allclose(np.asarray(I.preprocess(floats, mode)), x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("mode", ["legacy_tensorflow", "pytorch_fid", "clean"])
def test_preprocess_is_the_host_resize_then_the_normalisation(mode):
    """The order of each protocol: pytorch-fid divides by 255 before resizing; a grey image is
    resized once and repeated to three channels."""
    from ganbench.extractors.resize import resize

    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (2, 13, 21, 1), dtype=np.uint8)
    pixels = images.astype(np.float32)
    if mode == "pytorch_fid":
        want = 2 * resize(pixels / np.float32(255), 299, mode) - 1
    else:
        want = (resize(pixels, 299, mode) - 128) / 128
    got = np.asarray(I.preprocess(images, mode))
    # JAX rounds after each axis in float32: 8 units in the last place of the range (1 here).
    np.testing.assert_allclose(got, np.repeat(want, 3, axis=-1), rtol=0, atol=8 * 2.0**-23)
    assert np.array_equal(got[..., 0], got[..., 2])
    with pytest.raises(ValueError, match="unknown resize mode"):
        I.preprocess(images, "bilinear")


def test_features_do_not_depend_on_the_batch_they_are_in(loaded):
    """Three small images at batch 2 (the second batch padded) against each image alone (a
    padded batch each), grey against RGB, uint8 against its float form."""
    variables, info = loaded
    model = I.InceptionModel(variables, info, "legacy_tensorflow", batch_size=BATCH)
    rng = np.random.default_rng(6)
    grey = rng.integers(0, 256, (3, 9, 7, 1), dtype=np.uint8)
    together = model.features(grey)
    assert together.shape == (3, 2048) and together.dtype == np.float32
    assert np.all(np.isfinite(together)) and np.std(together) > 0
    alone = np.concatenate([model.features(grey[i : i + 1]) for i in range(3)])
    np.testing.assert_array_equal(alone, together)
    np.testing.assert_array_equal(model.features(np.repeat(grey[1:], 3, axis=-1)), together[1:])
    # The float form's pixels, (x + 1) * 127.5, differ from the integers by float32 rounding
    # (a unit in the last place of 255), which 94 layers amplify to about 2e-5 relative.
    floats = grey[:2].astype(np.float32) / np.float32(127.5) - 1
    np.testing.assert_allclose(model.features(floats), together[:2], rtol=1e-4, atol=1e-4)
    assert model.embed(grey[:1])[1] is None
    assert model.features(grey[:0]).shape == (0, 2048)
    with pytest.raises(ValueError, match="1 or 3"):
        model.features(np.zeros((1, 8, 8, 2), np.uint8))


def test_evaluator_adds_inception_rows(loaded, monkeypatch):
    from ganbench.diagnostics.image_eval import ImageEvaluator
    from ganbench.extractors import mnist_cnn

    # The Frechet distance itself is tested elsewhere; its two 2048 x 2048 eigendecompositions
    # take seconds on a small CPU, so here a stand-in records what it was given.
    seen = []

    def mean_distance(mu1, _sigma1, mu2, _sigma2):
        seen.append((mu1, mu2))
        return float(np.sum((mu1 - mu2) ** 2))

    monkeypatch.setattr(catalog, "frechet_distance_from_stats", mean_distance)
    from ganbench.metrics.catalog import FeatureSettings

    variables, _ = loaded
    classifier = mnist_cnn.MnistFeatureModel(mnist_cnn.init_params(0), {})
    network = I.InceptionModel(variables, {}, "pytorch_fid", BATCH)
    evaluator = ImageEvaluator([classifier, network], FeatureSettings(kid_subsets=3))
    rng = np.random.default_rng(4)
    real = rng.uniform(-1, 1, (2, 28, 28, 3)).astype(np.float32)  # Stacked MNIST's shape
    fake = rng.uniform(-1, 1, (2, 28, 28, 3)).astype(np.float32)
    rows = {m: (v, nr, nf) for m, v, nr, nf in evaluator.rows(fake, real)}
    for name in (M.FID_INCEPTION, M.KID_INCEPTION, M.KID_INCEPTION_STD):
        value, nr, nf = rows[name]
        assert np.isfinite(value) and (nr, nf) == (2, 2), name
    mu_real, mu_fake = seen[-1]  # real, then fake, in the Inception features
    x = I.inception_features(variables, real, batch_size=BATCH)
    y = I.inception_features(variables, fake, batch_size=BATCH)
    np.testing.assert_allclose(mu_real, x.mean(axis=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(mu_fake, y.mean(axis=0), rtol=1e-6, atol=1e-7)
    assert rows[M.FID_INCEPTION][0] == mean_distance(mu_real, None, mu_fake, None) > 0
    assert M.FID_MNIST in rows  # the classifier's metrics are still there
    nan = {m: v for m, v, *_ in evaluator.rows(np.full_like(fake, np.nan), real)}
    assert math.isnan(nan[M.FID_INCEPTION]) and math.isnan(nan[M.KID_INCEPTION])
    assert "dim=2048" in evaluator.sample_warning(2, 3)
    for name in (M.FID_INCEPTION, M.KID_INCEPTION):
        assert catalog.HIGHER_IS_BETTER[name] is False and "Inception" in catalog.DESCRIPTIONS[name]


# ------------------------------------------------------------------------ refused files


def _error(path: Path) -> str:
    with pytest.raises(DataError) as info:
        I.load_inception(path)
    assert info.value.exit_code == 2
    assert str(path) in str(info.value)
    return str(info.value)


def test_missing_file(tmp_path):
    assert "no such Inception weights file" in _error(tmp_path / "nope.npz")


def test_missing_key_is_named_and_counted(tmp_path):
    arrays = tiny_arrays()
    del arrays["Mixed_6c.branch7x7_2.bn.running_var"]
    del arrays["Mixed_7c.branch_pool.conv.weight"]
    np.savez(tmp_path / "w.npz", **arrays)
    message = _error(tmp_path / "w.npz")
    assert "'Mixed_6c.branch7x7_2.bn.running_var'" in message
    assert "and 1 more" in message and "2 of the 470 keys" in message


def test_wrong_shape_names_key_expected_and_got(tmp_path):
    arrays = tiny_arrays(**{"Conv2d_1a_3x3.conv.weight": np.zeros((32, 3, 5, 5), np.float32)})
    np.savez(tmp_path / "w.npz", **arrays)
    message = _error(tmp_path / "w.npz")
    assert "'Conv2d_1a_3x3.conv.weight'" in message
    assert "(32, 3, 5, 5)" in message and "(32, 3, 3, 3)" in message


def test_non_finite_values(tmp_path):
    bad = np.zeros((32, 3, 3, 3), np.float32)
    bad[0, 0, 0, 0] = np.nan
    np.savez(tmp_path / "w.npz", **tiny_arrays(**{"Conv2d_1a_3x3.conv.weight": bad}))
    assert "non-finite" in _error(tmp_path / "w.npz")


def test_object_array_is_refused_not_unpickled(tmp_path):
    obj = np.empty(1, dtype=object)
    obj[0] = {"anything": 1}
    np.savez(tmp_path / "w.npz", **tiny_arrays(**{"Conv2d_1a_3x3.conv.weight": obj}))
    assert "pickled object array" in _error(tmp_path / "w.npz")


class _Tripwire:
    """Unpickling it writes a file: the test shows it is never unpickled."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.write_text, (self.target, "unpickled"))


def test_pickle_file_is_refused_not_loaded(tmp_path):
    tripwire = tmp_path / "tripwire"
    path = tmp_path / "pt_inception.pth"
    path.write_bytes(pickle.dumps({"Conv2d_1a_3x3.conv.weight": _Tripwire(tripwire)}))
    message = _error(path)
    assert "not an .npz archive" in message and "numpy.savez" in message
    assert not tripwire.exists()


def test_pytorch_zip_checkpoint_and_npy_are_refused(tmp_path):
    pth = tmp_path / "new_format.pth"
    with zipfile.ZipFile(pth, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        z.writestr("archive/version", b"3\n")
    assert "PyTorch checkpoint" in _error(pth)
    np.save(tmp_path / "one.npy", np.zeros(3))
    assert "one array (.npy)" in _error(tmp_path / "one.npy")


def test_torchvision_imagenet_weights_are_refused(tmp_path):
    arrays = tiny_arrays(**{"fc.weight": np.zeros((1000, 2048), np.float32)})
    np.savez(tmp_path / "w.npz", **arrays)
    assert "torchvision's ImageNet" in _error(tmp_path / "w.npz")


# ------------------------------------------------------------------------ suites


IMAGE_SUITE = """
[suite]
name = "tiny_images"
seeds = 1
steps = 2
eval_every = 2

[defaults]
dataset = "mnist"
batch_size = 8
z_dim = 16
generator = {{ arch = "dcgan", channels = 4 }}
discriminator = {{ arch = "dcgan", channels = 4 }}
optimizer = {{ name = "adam", lr_g = 1e-4, lr_d = 1e-4 }}

[metrics]
samples = 8
{extra}

[[variants]]
name = "ns"
loss = "non_saturating"
{variant_extra}
"""


def _suite(folder: Path, extra: str = "", variant_extra: str = "", name="s.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = IMAGE_SUITE.format(extra=extra, variant_extra=variant_extra)
    path.write_text(textwrap.dedent(text))
    return path


def test_weights_path_resolution_and_run_identity(tmp_path, monkeypatch):
    from ganbench.config import load_suite

    plain = load_suite(_suite(tmp_path / "a"))
    relative = load_suite(_suite(tmp_path / "a", 'inception_weights = "w/pt.npz"', name="r.toml"))
    assert relative.runs[0].metrics.inception_weights == str(tmp_path / "a" / "w" / "pt.npz")
    assert relative.raw["metrics"]["inception_weights"] == str(tmp_path / "a" / "w" / "pt.npz")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    home = load_suite(_suite(tmp_path / "b", 'inception_weights = "~/pt.npz"'))
    assert home.runs[0].metrics.inception_weights == str(tmp_path / "home" / "pt.npz")
    monkeypatch.chdir(tmp_path)
    cli = load_suite(_suite(tmp_path / "c"), overrides=["metrics.inception_weights=x/pt.npz"])
    assert cli.runs[0].metrics.inception_weights == str(tmp_path / "x" / "pt.npz")
    # Unset: no trace in the identity (old run ids stay). Set: the run id says "with Inception
    # metrics", whatever the path.
    assert "inception" not in plain.runs[0].identity()["metrics"]
    assert "inception_weights" not in relative.runs[0].identity()["metrics"]
    assert relative.runs[0].run_id != plain.runs[0].run_id
    assert relative.runs[0].run_id == home.runs[0].run_id == cli.runs[0].run_id


def test_mixed_suite_keeps_toy_run_ids(tmp_path):
    from ganbench.config import load_suite

    toy = 'dataset = "ring8"\ngenerator = { arch = "mlp" }\ndiscriminator = { arch = "mlp" }\n'
    toy += "z_dim = 2"
    variants = f'\n[[variants]]\nname = "toy"\nloss = "hinge"\n{toy}\n'
    a = load_suite(_suite(tmp_path, variant_extra=variants))
    b = load_suite(_suite(tmp_path, 'inception_weights = "/w.npz"', variants, name="b.toml"))
    ids = {r.variant: r.run_id for r in a.runs}
    ids_b = {r.variant: r.run_id for r in b.runs}
    assert ids["toy"] == ids_b["toy"] and ids["ns"] != ids_b["ns"]


def test_inception_weights_need_an_image_dataset(write_suite):
    from ganbench.config import load_suite

    path = write_suite()
    text = path.read_text().replace("samples = 200", 'samples = 200\ninception_weights = "w.npz"')
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    message = str(info.value)
    line = text.splitlines().index('inception_weights = "w.npz"') + 1
    assert f"{path}:{line}: metrics.inception_weights:" in message
    assert "image dataset" in message


def test_bad_weights_file_is_bad_input_and_writes_nothing(tmp_path, monkeypatch):
    """Checked before MNIST, the classifier or any folder: exit 2 naming the file."""
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path / "no-data"))
    suite = _suite(tmp_path, 'inception_weights = "missing.npz"')
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", str(suite), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert str(tmp_path / "missing.npz") in result.output
    assert not out.exists() or not any(out.rglob("*"))


@pytest.mark.slow
def test_image_suite_with_inception_end_to_end(tiny_mnist, weights_file, tmp_path):
    import pandas as pd

    suite = _suite(tmp_path, f'inception_weights = "{weights_file}"')
    out = tmp_path / "results"
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(suite), "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifests = [json.loads(p.read_text()) for p in out.rglob("manifest.json")]
    assert {m["variant"] for m in manifests} == {"ns", "floor: MNIST train vs test"}
    for m in manifests:
        folder = out / "tiny_images" / "runs" / m["run_id"]
        metrics = pd.read_parquet(folder / "metrics.parquet")
        fid = metrics[metrics["metric"] == M.FID_INCEPTION].iloc[-1]
        assert np.isfinite(fid["value"]) and fid["n_real"] == 8 and fid["n_fake"] == 8
        assert M.KID_INCEPTION_STD in set(metrics["metric"])
    run = next(m for m in manifests if m["variant"] == "ns")
    assert run["protocol"]["metrics"]["inception_weights"] == str(weights_file)
    report = runner.invoke(app, ["report", str(out), "-f", "csv"])
    assert report.exit_code == 0 and M.FID_INCEPTION in report.stdout
