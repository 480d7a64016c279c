"""The MNIST feature classifier (ganbench.extractors.mnist_cnn) on a synthetic separable problem,
and the checksummed weights cache (ganbench.extractors.cache)."""

from __future__ import annotations

import json
import warnings

import jax
import numpy as np
import pytest

from ganbench import __version__
from ganbench.extractors import cache as cache_mod
from ganbench.extractors import mnist_cnn
from ganbench.extractors.cache import (
    CacheMismatchWarning,
    array_fingerprint,
    flatten_params,
    load_or_train,
    unflatten_params,
)
from ganbench.extractors.mnist_cnn import (
    FEATURE_DIM,
    accuracy,
    features,
    logits,
    to_model_input,
    train_classifier,
)


def squares(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (n, 28, 28) noise images; class c has a bright 4x4 square at grid cell c
    (2 rows x 5 columns), jittered by up to one pixel."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, c in enumerate(labels):
        r = 4 + 12 * (c // 5) + rng.integers(-1, 2)
        col = 2 + 5 * (c % 5) + rng.integers(-1, 2)
        images[i, r : r + 4, col : col + 4] = rng.integers(200, 256, (4, 4))
    return images, labels


@pytest.fixture(scope="module")
def trained():
    """The CNN after one epoch of 20 steps on 640 squares (held-out accuracy 1.0; 2000 squares
    took 63 steps for the same accuracy)."""
    x, y = squares(640, seed=0)
    return train_classifier(x, y, seed=0, epochs=1, batch_size=32)


def test_to_model_input():
    x = np.array([[[0, 255] * 14] * 28], np.uint8)
    out = to_model_input(x)
    assert out.shape == (1, 28, 28, 1) and out.dtype == np.float32
    assert out.min() == -1.0 and out.max() == 1.0
    with pytest.raises(ValueError, match="uint8"):
        to_model_input(x.astype(np.float32))


def test_learns_separable_problem(trained):
    x, y = squares(500, seed=1)
    assert accuracy(trained, x, y) > 0.95
    assert accuracy(trained, to_model_input(x), y) == accuracy(trained, x, y)


def test_shapes(trained):
    x, _ = squares(5, seed=2)
    f = features(trained, x)
    lg = logits(trained, to_model_input(x))
    assert f.shape == (5, FEATURE_DIM) and f.dtype == np.float32
    assert lg.shape == (5, 10)
    assert np.all(f >= 0.0)  # ReLU features


def test_features_independent_of_batch_size(trained):
    x, _ = squares(23, seed=3)
    np.testing.assert_allclose(
        features(trained, x, batch=7), features(trained, x, batch=1000), rtol=1e-5, atol=1e-5
    )


def test_bad_inputs(trained):
    with pytest.raises(ValueError, match="images"):
        features(trained, np.zeros((2, 28, 28, 3), np.float32))
    with pytest.raises(ValueError, match="labels"):
        train_classifier(np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 2, 10]))


# --- cache -------------------------------------------------------------------------------------


class CountingTrainer:
    def __init__(self, params=None, report=None):
        self.calls = 0
        kernel = np.arange(6.0).reshape(2, 3)
        self.params = params or {"layer": {"kernel": kernel, "bias": np.ones(3)}}
        self.report = report or {"test_accuracy": 0.5}

    def __call__(self):
        self.calls += 1
        return self.params, self.report


def test_cache_reused(tmp_path):
    train = CountingTrainer()
    p1, info1 = load_or_train("fp", train, tmp_path, name="m", settings={"epochs": 3})
    p2, info2 = load_or_train("fp", train, tmp_path, name="m", settings={"epochs": 3})
    assert train.calls == 1
    assert info1["retrained"] and not info2["retrained"]
    assert info1["reason"] is None and info2["reason"] is None
    np.testing.assert_array_equal(p2["layer"]["kernel"], train.params["layer"]["kernel"])
    np.testing.assert_array_equal(p1["layer"]["bias"], p2["layer"]["bias"])
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["sha256"] == cache_mod._sha256(tmp_path / "m.npz")
    assert meta["data_fingerprint"] == "fp"
    assert meta["settings"] == {"epochs": 3}
    assert meta["test_accuracy"] == 0.5
    assert meta["ganbench_version"] == __version__
    assert info2["test_accuracy"] == 0.5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz"]


def test_cache_retrains_on_corrupted_weights(tmp_path):
    train = CountingTrainer()
    load_or_train("fp", train, tmp_path)
    weights = tmp_path / "weights.npz"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.warns(CacheMismatchWarning, match="checksum"):
        _, info = load_or_train("fp", train, tmp_path)
    assert train.calls == 2 and info["retrained"] and "checksum" in info["reason"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, info = load_or_train("fp", train, tmp_path)  # repaired: silent reuse
    assert train.calls == 2 and not info["retrained"]


@pytest.mark.parametrize(
    ("fingerprint", "settings", "match"),
    [("other", {"epochs": 3}, "fingerprint"), ("fp", {"epochs": 4}, "settings")],
)
def test_cache_retrains_on_changed_inputs(tmp_path, fingerprint, settings, match):
    train = CountingTrainer()
    load_or_train("fp", train, tmp_path, settings={"epochs": 3})
    with pytest.warns(CacheMismatchWarning, match=match):
        _, info = load_or_train(fingerprint, train, tmp_path, settings=settings)
    assert train.calls == 2 and info["retrained"]
    meta = json.loads((tmp_path / "weights.json").read_text())
    assert meta["data_fingerprint"] == fingerprint and meta["settings"] == settings


def test_cache_retrains_on_missing_or_bad_sidecar(tmp_path):
    train = CountingTrainer()
    load_or_train("fp", train, tmp_path)
    (tmp_path / "weights.json").write_text("{not json")
    with pytest.warns(CacheMismatchWarning, match="sidecar"):
        load_or_train("fp", train, tmp_path)
    (tmp_path / "weights.npz").unlink()
    with pytest.warns(CacheMismatchWarning, match="missing"):
        load_or_train("fp", train, tmp_path)
    assert train.calls == 3


def test_cache_writes_nothing_partial(tmp_path, monkeypatch):
    def failing_train():
        raise RuntimeError("training failed")

    with pytest.raises(RuntimeError, match="training failed"):
        load_or_train("fp", failing_train, tmp_path / "a")
    assert not (tmp_path / "a").exists()

    def half_written(f, **arrays):
        f.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(cache_mod.np, "savez", half_written)
    with pytest.raises(OSError, match="disk full"):
        load_or_train("fp", CountingTrainer(), tmp_path / "b")
    assert list((tmp_path / "b").iterdir()) == []  # no weights, no sidecar, no temporary file


def test_flatten_roundtrip_and_classifier_weights(tmp_path, trained):
    flat = flatten_params(trained)
    assert "conv_0/kernel" in flat and "dense_1/bias" in flat
    back = unflatten_params(flat)
    x, _ = squares(9, seed=4)
    np.testing.assert_array_equal(features(back, x), features(trained, x))
    fp = array_fingerprint(x)
    assert fp == array_fingerprint(x.copy()) and fp != array_fingerprint(x[:-1])
    load_or_train(fp, CountingTrainer(trained), tmp_path)
    cached, info = load_or_train(fp, CountingTrainer(), tmp_path)
    assert not info["retrained"]
    np.testing.assert_array_equal(logits(cached, x), logits(trained, x))
    with pytest.raises(ValueError, match="plain name"):
        flatten_params({"a/b": np.zeros(1)})


def test_training_and_inference_forms_compute_the_same_network(trained):
    """Training runs the convolutions as matrix products and the pooling as a reshape-max;
    features and logits use XLA's convolution and reduce_window. Same parameters, same values
    to float32 rounding, and the same gradients as Flax's own layers."""
    import jax
    import jax.numpy as jnp

    from ganbench.extractors.mnist_cnn import MnistCNN, _as_input, embed

    x, _ = squares(64, seed=3)
    inputs = _as_input(jnp.asarray(x))
    variables = {"params": trained}
    # Each form as one jitted program (not op by op: one compilation instead of dozens).
    fast_f, fast_l = jax.jit(MnistCNN(training=True).apply)(variables, inputs)
    ref_f, ref_l = jax.jit(MnistCNN().apply)(variables, inputs)
    np.testing.assert_allclose(fast_f, ref_f, rtol=1e-5, atol=1e-5 * float(jnp.abs(ref_f).max()))
    np.testing.assert_allclose(fast_l, ref_l, rtol=1e-5, atol=1e-5 * float(jnp.abs(ref_l).max()))
    init = jax.eval_shape(MnistCNN(training=True).init, jax.random.key(0), inputs[:1])["params"]
    assert jax.tree.structure(init) == jax.tree.structure(trained)

    def loss(params, training):
        _, lg = MnistCNN(training=training).apply({"params": params}, inputs)
        return jnp.mean(lg**2)

    grad = jax.jit(jax.grad(loss), static_argnums=1)
    for a, b in zip(
        jax.tree.leaves(grad(trained, True)),
        jax.tree.leaves(grad(trained, False)),
        strict=True,
    ):
        # Where two pooled values are within rounding of each other the two forms may route the
        # gradient to different ones: compare whole tensors, not elements.
        assert float(jnp.linalg.norm(a - b)) <= 1e-3 * float(jnp.linalg.norm(b))
    # 64 images in padded chunks of 24: XLA may sum a convolution in another order for another
    # batch size (it does on some CPUs), so the same float32 rounding bound as above.
    f, lg = embed(trained, x, batch=24)
    np.testing.assert_allclose(f, ref_f, rtol=1e-5, atol=1e-5 * float(jnp.abs(ref_f).max()))
    np.testing.assert_allclose(lg, ref_l, rtol=1e-5, atol=1e-5 * float(jnp.abs(ref_l).max()))


# --------------------------------------------------------------------------- shipped weights

SHIPPED_SHA256 = "0dda24b4b9bc05ae9fcfc10d71d4455b6a554ee4f4acf29c2035247e750dacf8"
"""The shipped weights' checksum, pinned here so that a changed file is a visible change."""


def test_the_shipped_weights_load_with_their_recorded_checksum():
    import hashlib

    from ganbench.extractors import shipped
    from ganbench.extractors.classifier import classifier_settings, mnist_fingerprint

    weights, sidecar = shipped.paths()
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == SHIPPED_SHA256
    meta = json.loads(sidecar.read_text())
    assert meta["sha256"] == SHIPPED_SHA256
    params, info, why = shipped.load_shipped(mnist_fingerprint(), classifier_settings())
    assert why is None and info["source"] == "shipped" and info["sha256"] == SHIPPED_SHA256
    leaves = jax.tree_util.tree_leaves(params)
    assert sum(int(np.prod(x.shape)) for x in leaves) == 261_962  # the module's documented count
    assert 0.99 <= meta["test_accuracy"] <= 1.0


def test_the_shipped_weights_classify_mnist_test_at_the_recorded_accuracy(shared_mnist, tmp_path):
    """On the real MNIST test files (``../shared/data/mnist``), the shipped classifier's accuracy
    is the recorded one, and ``load_extractor`` uses it without training anything."""
    from ganbench.data import mnist
    from ganbench.diagnostics.image_eval import load_extractor

    mnist.import_mnist(shared_mnist, data_dir=tmp_path)
    images, labels = mnist.load_mnist("test", tmp_path)
    evaluator = load_extractor(data_dir=tmp_path)
    assert evaluator.info["source"] == "shipped" and evaluator.info["retrained"] is False
    assert not (tmp_path / "extractors").exists()  # nothing trained, nothing cached
    measured = mnist_cnn.accuracy(evaluator.models[0].params, images, labels)
    assert measured == pytest.approx(evaluator.info["test_accuracy"], abs=5e-4)


def test_shipped_weights_for_other_data_or_a_damaged_file_are_not_used(tmp_path):
    import shutil

    from ganbench.extractors import shipped
    from ganbench.extractors.classifier import classifier_settings, mnist_fingerprint

    for path in shipped.paths():
        shutil.copy(path, tmp_path / path.name)
    settings, fingerprint = classifier_settings(), mnist_fingerprint()
    # Other data (the tests' stand-in MNIST): not an error, the caller trains its own.
    assert shipped.load_shipped("mnist:other", settings, tmp_path) == (None, {}, None)
    params, _, why = shipped.load_shipped(fingerprint, {**settings, "epochs": 2}, tmp_path)
    assert params is None and "settings changed" in why
    weights = tmp_path / "mnist_cnn.npz"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 1
    weights.write_bytes(bytes(data))
    params, _, why = shipped.load_shipped(fingerprint, settings, tmp_path)
    assert params is None and "checksum mismatch" in why
