"""A small MNIST classifier that ganbench trains itself: its penultimate layer (128 ReLU units)
is the image feature space of "fid_mnist_cnn", its logits classify digits.

Architecture (Keras' MNIST convnet example, keras-team/keras ``examples/mnist_cnn.py``, "gets to
99.25% test accuracy after 12 epochs": Conv(32, 3x3) ReLU, Conv(64, 3x3) ReLU, max-pool 2,
Flatten, Dense(128) ReLU, Dense(10); here with a third Conv(64, 3x3) ReLU and max-pool 2 before
the flatten, which shrinks the dense layer from 9216 x 128 to 1600 x 128 inputs, and without the
dropout):

    (N, 28, 28, 1) -> Conv 32 -> 26x26 -> Conv 64 -> 24x24 -> pool -> 12x12 -> Conv 64 -> 10x10
    -> pool -> 5x5x64 = 1600 -> Dense 128, ReLU = features -> Dense 10 = logits

All convolutions are VALID (Keras' default padding); 261,962 parameters. Inputs are float32 images
in [-1, 1] of shape (N, 28, 28, 1), the scaling of the GAN generator's tanh output;
:func:`to_model_input` converts uint8 MNIST images. Every function here also accepts uint8
(N, 28, 28) images and converts them itself.

Training is Adam on the softmax cross-entropy with the step size decaying from 2e-3 to 0 along a
cosine, over shuffled mini-batches of 64 (the last partial batch is dropped, a different one each
epoch), one jitted step per batch with the data resident on the device. Measured on MNIST with
``benchmarks/mnist_classifier.py`` on a 2-core AMD EPYC (Zen 4) CPU, jax 0.10.2: one epoch reaches
99.07% test accuracy in 98 s including compilation (from 1e-3: 98.84% in 99 s). The earlier
recipe, 2 epochs from 1e-3, reached 99.08%; a constant step size with batches of 128 stalled at
98.99% after 2 epochs and 98.98% after 3, hence the defaults: 1 epoch, batch 64, cosine decay
from 2e-3.

In training the convolutions are :mod:`ganbench.models.conv`'s matrix products on patches and the
pooling a maximum over a reshape (the values of ``nn.Conv`` and ``nn.max_pool`` to float32
rounding): on XLA:CPU a training step of this net takes 103 ms at batch 64 that way, 153 ms with
XLA's own convolutions and pooling (120 ms with the matrix-product convolutions and
``nn.max_pool``, whose gradient is a select-and-scatter). Features and logits are computed with
XLA's own convolutions, whose forward pass outside a loop runs about 4x faster than the matrix
products (90-98 against 23-27 GFLOP/s at batches of 125-1000 images).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ganbench.extractors.labelled import LabelledCNN

FEATURE_DIM = 128
NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28, 1)

Params = Any  # the Flax ``params`` collection: a nested dict of arrays


class MnistCNN(LabelledCNN):
    """Returns ``(features (N, 128), logits (N, 10))`` for images (N, 28, 28, 1) in [-1, 1]:
    the labelled datasets' classifier (:class:`ganbench.extractors.labelled.LabelledCNN`) at
    MNIST's size, which is conv 32-64-64 with two max-pools and dense 128-10.

    ``training``: compute the convolutions as :mod:`ganbench.models.conv`'s matrix products and
    the pooling as a maximum over a reshape, whose gradients XLA:CPU runs fast; otherwise XLA's
    own convolution and ``reduce_window``, which run a forward pass about 4x faster. The two
    give the same values to float32 rounding, with the same parameters."""

    side: int = IMAGE_SHAPE[0]
    channels: int = IMAGE_SHAPE[2]
    classes: int = NUM_CLASSES


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) to float32 (N, 28, 28, 1) in [-1, 1]: ``x / 127.5 - 1``."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE[:2]:
        raise ValueError(f"expected uint8 images (N, 28, 28), got {images.dtype} {images.shape}")
    return (images.astype(np.float32) / 127.5 - 1.0).reshape((-1, *IMAGE_SHAPE))


def _check_images(images: Any) -> Any:
    """Validates uint8 (N, 28, 28) or float (N, 28, 28, 1); returns it unchanged."""
    shape, dtype = tuple(images.shape), np.dtype(images.dtype)
    ok_uint8 = dtype == np.uint8 and len(shape) == 3 and shape[1:] == IMAGE_SHAPE[:2]
    ok_float = np.issubdtype(dtype, np.floating) and len(shape) == 4 and shape[1:] == IMAGE_SHAPE
    if not (ok_uint8 or ok_float):
        raise ValueError(
            "expected uint8 images (N, 28, 28) or float images (N, 28, 28, 1) in [-1, 1], "
            f"got {dtype} {shape}"
        )
    return images


def _as_input(x: jax.Array) -> jax.Array:
    """Traced counterpart of :func:`to_model_input`; float input passes through as float32."""
    if x.dtype == jnp.uint8:
        return (x.astype(jnp.float32) / 127.5 - 1.0).reshape((-1, *IMAGE_SHAPE))
    return x.astype(jnp.float32)


def init_params(seed: int = 0) -> Params:
    return MnistCNN().init(jax.random.key(seed), jnp.zeros((1, *IMAGE_SHAPE)))["params"]


def _loss(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
    _, logits = MnistCNN(training=True).apply({"params": params}, _as_input(x))
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def _make_step(opt: optax.GradientTransformation) -> Callable:
    @jax.jit
    def step(params, opt_state, images, labels, idx):
        loss, grads = jax.value_and_grad(_loss)(params, images[idx], labels[idx])
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def train_classifier(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    *,
    seed: int = 0,
    epochs: int = 1,
    batch_size: int = 64,
    lr: float = 2e-3,
    on_epoch: Callable[[int, Params, float], None] | None = None,
    on_steps: Callable[[int, int, int, float], None] | None = None,
    report_every: int = 25,
) -> Params:
    """Trains :class:`MnistCNN` with Adam, the step size decaying from ``lr`` to 0 along a cosine
    over all ``epochs * (N // batch_size)`` steps, and returns its ``params``.

    ``train_images``: uint8 (N, 28, 28) or float (N, 28, 28, 1) in [-1, 1]; ``train_labels``:
    integers in [0, 10), shape (N,). ``on_epoch(epoch, params, mean_loss)`` is called after each
    epoch (1-based) if given; ``on_steps(done, total, epoch, mean_loss)`` every ``report_every``
    steps and at the end of each epoch (``mean_loss`` over the steps since the last call), for a
    progress bar. The result depends only on the data and the arguments (not on the callbacks).
    """
    _check_images(train_images)
    labels = np.asarray(train_labels)
    n = train_images.shape[0]
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"expected {n} integer labels, got {labels.dtype} {labels.shape}")
    if n == 0 or labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise ValueError(f"expected a non-empty set with labels in [0, {NUM_CLASSES})")
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(f"bad settings: epochs={epochs}, batch_size={batch_size}, lr={lr}")
    batch_size = min(batch_size, n)
    n_batches = n // batch_size
    opt = optax.adam(optax.cosine_decay_schedule(lr, epochs * n_batches))
    params = init_params(seed)
    opt_state = opt.init(params)
    step = _make_step(opt)
    images, labels = jnp.asarray(train_images), jnp.asarray(labels, jnp.int32)
    key = jax.random.fold_in(jax.random.key(seed), 1)
    done, total_steps = 0, epochs * n_batches
    for e in range(1, epochs + 1):
        order = jax.random.permutation(jax.random.fold_in(key, e), n)[: n_batches * batch_size]
        total, recent, since = jnp.zeros(()), jnp.zeros(()), 0
        for i, idx in enumerate(np.asarray(order).reshape((n_batches, batch_size)), start=1):
            params, opt_state, loss = step(params, opt_state, images, labels, idx)
            total, recent, since, done = total + loss, recent + loss, since + 1, done + 1
            if on_steps is not None and (since == report_every or i == n_batches):
                on_steps(done, total_steps, e, float(recent) / since)
                recent, since = jnp.zeros(()), 0
        if on_epoch is not None:
            on_epoch(e, params, float(total) / n_batches)
    return params


@jax.jit
def _forward(params: Params, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    return MnistCNN().apply({"params": params}, _as_input(x))


def embed(params: Params, images: Any, *, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate-layer features (N, 128) and class logits (N, 10) from one forward pass,
    ``batch`` images at a time."""
    _check_images(images)
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    n = images.shape[0]
    size = min(batch, n)
    feats = np.empty((n, FEATURE_DIM), np.float32)
    logit = np.empty((n, NUM_CLASSES), np.float32)
    for start in range(0, n, size):
        chunk = np.asarray(images[start : start + size])
        m = chunk.shape[0]
        if m < size:  # pad the last chunk: one compiled shape for every chunk
            pad = np.zeros((size - m, *chunk.shape[1:]), chunk.dtype)
            chunk = np.concatenate([chunk, pad])
        f, lg = _forward(params, chunk)
        feats[start : start + m], logit[start : start + m] = np.asarray(f)[:m], np.asarray(lg)[:m]
    return feats, logit


def features(params: Params, images: Any, *, batch: int = 1000) -> np.ndarray:
    """Penultimate-layer features (N, 128), computed ``batch`` images at a time."""
    return embed(params, images, batch=batch)[0]


def logits(params: Params, images: Any, *, batch: int = 1000) -> np.ndarray:
    """Class logits (N, 10), computed ``batch`` images at a time."""
    return embed(params, images, batch=batch)[1]


def accuracy(params: Params, images: Any, labels: np.ndarray, *, batch: int = 1000) -> float:
    """Fraction of ``images`` whose arg-max logit equals the label."""
    labels = np.asarray(labels)
    if labels.shape != (images.shape[0],):
        raise ValueError(f"expected {images.shape[0]} labels, got shape {labels.shape}")
    return float(np.mean(np.argmax(logits(params, images, batch=batch), axis=1) == labels))


# --------------------------------------------------------------------------------- registry

EVAL_BATCH = 1000
"""Images per forward pass when embedding (the last batch is padded: one compiled shape)."""


class MnistFeatureModel:
    """The classifier with its weights, as a :class:`ganbench.extractors.base.FeatureModel`.

    It takes 28 x 28 images with any number of channels and embeds each channel on its own (a
    Stacked MNIST image is three digits): the features are the channels' 128-d features side by
    side (N, 128 C) and the labels the digit read in each channel (N, C). uint8 pixels become
    ``x / 127.5 - 1`` (:func:`to_model_input`); float images in [-1, 1] are used as they are."""

    def __init__(self, params: Params, weights: dict[str, Any]) -> None:
        self.params = params
        self.weights = weights

    @property
    def extractor(self):
        return MNIST_CNN

    @property
    def resize(self) -> None:
        return None

    @property
    def info(self) -> dict[str, Any]:
        return {
            "name": MNIST_CNN.name,
            "resize": None,
            "feature_dim": FEATURE_DIM,
            "batch_size": EVAL_BATCH,
            "weights": dict(self.weights),
        }

    def embed(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1:3] != IMAGE_SHAPE[:2] or images.shape[3] < 1:
            raise ValueError(
                f"{MNIST_CNN.name} takes 28 x 28 images (N, 28, 28, C), got shape {images.shape}"
            )
        if images.dtype == np.uint8:
            x = images.astype(np.float32) / 127.5 - 1.0
        elif np.issubdtype(images.dtype, np.floating):
            x = images.astype(np.float32)
        else:
            raise ValueError(f"expected uint8 or float images, got {images.dtype}")
        n, c = x.shape[0], x.shape[-1]
        channels = np.transpose(x, (3, 0, 1, 2)).reshape(c * n, *IMAGE_SHAPE)
        feats, logit = embed(self.params, channels, batch=EVAL_BATCH)
        feats = feats.reshape(c, n, -1)
        labels = np.argmax(logit, axis=1).reshape(c, n)
        return np.concatenate(list(feats), axis=1), labels.T

    def features(self, images: np.ndarray) -> np.ndarray:
        return self.embed(images)[0]


def _load_weights_file(path) -> tuple[Params, dict[str, Any]]:
    """The classifier's parameters from an .npz of one array per leaf (``conv_0/kernel``, ...,
    the format ``ganbench data extractor --train --out DIR`` writes), checked against the network."""
    from pathlib import Path

    from ganbench.errors import DataError
    from ganbench.extractors.base import weights_info
    from ganbench.extractors.cache import flat_shapes, unflatten_params

    path = Path(path).expanduser().absolute()
    expected = flat_shapes(jax.eval_shape(init_params))
    try:
        with np.load(path, allow_pickle=False) as npz:
            flat = {k: np.asarray(npz[k]) for k in npz.files}
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: cannot read the classifier's weights (an .npz of arrays, "
                        f"never a pickle): {exc}") from None  # fmt: skip
    for key, shape in expected.items():
        if key not in flat:
            raise DataError(f"{path}: missing array {key!r} of the MNIST classifier")
        if flat[key].shape != shape or not np.all(np.isfinite(flat[key])):
            raise DataError(
                f"{path}: array {key!r} has shape {flat[key].shape} (expected {shape}) or holds "
                "non-finite values"
            )
    params = unflatten_params({k: flat[k].astype(np.float32) for k in expected})
    return params, {**weights_info(path), "source": "user file"}


def load(weights=None, resize=None, data_dir=None, log=None, task=None) -> MnistFeatureModel:
    """The classifier: from ``weights`` (an .npz) when given, else the shipped weights or ones
    trained on the data directory's MNIST (:func:`ganbench.extractors.classifier.
    load_mnist_classifier`)."""
    from ganbench.errors import ConfigError

    if resize is not None:
        raise ConfigError(f"{MNIST_CNN.name} takes 28 x 28 images as they are: no resize mode")
    if weights is not None:
        params, info = _load_weights_file(weights)
        return MnistFeatureModel(params, info)
    from ganbench.extractors.classifier import load_mnist_classifier, shipped_classifier

    params, info, _ = shipped_classifier()  # needs no data: used wherever it loads
    if params is None:
        params, info = load_mnist_classifier(data_dir, log=log, task=task)
    keep = ("sha256", "test_accuracy", "source", "retrained", "reason", "path")
    return MnistFeatureModel(params, {k: info.get(k) for k in keep if k in info})


def _declare():
    from ganbench.extractors.base import WEIGHTS_SHIPPED, Extractor, register

    return register(
        Extractor(
            name="mnist_cnn",
            description="ganbench's MNIST classifier (128-d penultimate features, 10 digit "
            "classes), shipped with ganbench; 28 x 28 images, each channel embedded on its own",
            feature_dim=FEATURE_DIM,
            input_size=None,
            resize_modes=(),
            weights=WEIGHTS_SHIPPED,
            source="a small convnet after Keras' MNIST example (keras-team/keras "
            "examples/mnist_cnn.py), trained by ganbench (module docstring)",
            load=load,
            fixed_shape=IMAGE_SHAPE,
            classes=NUM_CLASSES,
            names={
                "fd": "fid_mnist_cnn",
                "precision": "precision",
                "recall": "recall",
                "density": "density",
                "coverage": "coverage",
                "classes": "classes",
                "class_kl": "class_kl",
            },
        )
    )


MNIST_CNN = _declare()
