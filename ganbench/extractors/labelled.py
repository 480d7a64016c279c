"""A classifier for every labelled image dataset ganbench stores, trained here like the MNIST one.

CIFAR-10 (``ganbench data import cifar10``) and image folders imported with one sub-folder per
class (``ganbench data import folder NAME DIR --size S``) get a small CNN of their own, trained
by ``ganbench data extractor --train --dataset NAME`` on the dataset's training images. Its
128-d penultimate layer is a feature space of the domain (Fréchet distance, KID, precision and
recall, density and coverage) and its logits give the class metrics (``classes``: classes found
in the generated samples; ``class_kl``: KL of their histogram to uniform), as
:mod:`ganbench.extractors.mnist_cnn` gives MNIST. Nothing is downloaded and nothing ships: the
weights live next to the dataset (``<dataset folder>/classifier.npz`` and its sidecar
``classifier.json``, the format of :mod:`ganbench.extractors.cache`), with the SHA-256 of the
weights, the fingerprint of the data they were trained on, the recipe and the test accuracy.
These Fréchet distances are measured in a network trained on the dataset itself: they are not
comparable with Inception FIDs, nor across datasets or retrainings (the checksum says which
network measured a run).

Names. The extractor of dataset D is ``<D>_cnn`` with D lower-cased and every character outside
``[a-z0-9_]`` replaced by ``_`` (:func:`extractor_name`): ``cifar10_cnn``,
``folder_my_cats_cnn`` for ``folder:my-cats``. Two datasets whose names map to the same
extractor (``folder:a-b`` and ``folder:a_b``), or a dataset whose name maps to a registered
extractor's, are refused when that name is looked up, with both named.

Network (:class:`LabelledCNN`): mnist_cnn's, generalised to S x S x C images and K classes --
Conv(32, 3x3) ReLU, Conv(64, 3x3) ReLU, max-pool 2, Conv(64, 3x3) ReLU, max-pool 2, then one
more Conv(64, 3x3) ReLU and max-pool 2 while the side exceeds 8 (so that the dense layer stays
small at larger sizes), Flatten, Dense(128) ReLU = the features, Dense(K) = the logits; every
convolution VALID. At 28 x 28 x 1 with 10 classes it is the MNIST classifier
(:class:`~ganbench.extractors.mnist_cnn.MnistCNN` is this network at that size). At 32 x 32
x 3: 32 -> 30 -> 28 -> 14 -> 12 -> 6, 6 x 6 x 64 = 2,304 inputs to the dense layer, 352,650
parameters for 10 classes. Images must be at least :data:`MIN_SIDE` pixels on a side.

Training (:data:`SETTINGS`): the MNIST classifier's recipe (:mod:`ganbench.extractors.
classifier`: Adam, batch 64, the step size decaying from 2e-3 to 0 along a cosine, measured
there on MNIST), run for ``epochs`` = 10 passes (CIFAR-10 images are harder than digits and the
network is small: no augmentation, no normalisation layers) and at least ``min_steps`` = 2,000
steps, so a small folder is seen often enough. Seed 0; the data are shuffled each epoch and the
last partial batch dropped.

Test accuracy: CIFAR-10 on its official test split (10,000 images); a folder, which has one
split, on a held-out 10% of each class (:func:`holdout_split`: ``round(0.1 n_c)`` images of a
class of ``n_c``, at least one when it holds two or more, drawn with
``numpy.random.default_rng(0)``), which the classifier does not train on.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ganbench.data.stored import CLASSIFIER_SUFFIX, classifier_name
from ganbench.errors import ConfigError, DataError

FEATURE_DIM = 128
MIN_SIDE = 12
"""The smallest image side the network takes: 12 -> 10 -> 8 -> 4 -> 2 -> 1."""
MAX_POOLED_SIDE = 8
"""Stages of Conv(64) and pool are added while the side exceeds this."""
EVAL_BATCH = 500
"""Images per forward pass when embedding (the last batch padded: one compiled shape)."""
HOLDOUT = 0.1
"""The fraction of each class of a folder held out to measure the test accuracy."""

SETTINGS = {
    "seed": 0,
    "epochs": 10,
    "min_steps": 2000,
    "batch_size": 64,
    "lr": 2e-3,
    "holdout": HOLDOUT,
}
"""Training settings (module docstring); recorded with the weights."""
RECIPE = (
    "labelled_cnn v1: conv 32-64-64 (VALID), conv 64 + pool while the side exceeds 8, dense 128, "
    "Adam with cosine decay"
)
"""The architecture and schedule: weights trained under another recipe are refused."""
WEIGHTS_NAME = "classifier"
"""``<dataset folder>/classifier.npz`` and ``classifier.json``."""
SUFFIX = CLASSIFIER_SUFFIX

Params = Any


class ClassifierMissing(DataError):
    """No classifier is trained for a labelled dataset (the message says how to train it)."""


# ------------------------------------------------------------------------------------ names


extractor_name = classifier_name
"""The extractor of dataset ``dataset`` (module docstring); the rule is the data's
(:func:`ganbench.data.stored.classifier_name`), which names a dataset's default extractor."""


def train_command(dataset: str) -> str:
    return f"ganbench data extractor --train --dataset {dataset}"


# ---------------------------------------------------------------------------------- network


def _max_pool_2x2(x: jax.Array) -> jax.Array:
    """``nn.max_pool(x, (2, 2), strides=(2, 2))`` (VALID: an odd last row or column is
    dropped), as a maximum over a reshape: a gradient without XLA's select-and-scatter."""
    n, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2]
    return jnp.max(x.reshape((n, h // 2, 2, w // 2, 2, c)), axis=(2, 4))


def sides(side: int) -> list[int]:
    """The spatial side after each layer of the network for S x S images (module docstring).

    >>> sides(28), sides(32)
    ([26, 24, 12, 10, 5], [30, 28, 14, 12, 6])
    >>> sides(64)
    [62, 60, 30, 28, 14, 12, 6]
    """
    if side < MIN_SIDE:
        raise ConfigError(
            f"a classifier takes images of at least {MIN_SIDE} x {MIN_SIDE} pixels, got {side} x "
            f"{side} (import the folder with --size {MIN_SIDE} or more)"
        )
    s = side - 4
    out = [side - 2, s, s // 2]
    s = s // 2 - 2
    out += [s, s // 2]
    s //= 2
    while s > MAX_POOLED_SIDE:
        out += [s - 2, (s - 2) // 2]
        s = (s - 2) // 2
    return out


class LabelledCNN(nn.Module):
    """``(features (N, 128), logits (N, classes))`` of images (N, side, side, channels) in
    [-1, 1] (module docstring). ``training``: convolutions as :mod:`ganbench.models.conv`'s
    matrix products and pooling over a reshape (fast gradients on XLA:CPU, as in mnist_cnn);
    else XLA's own convolution and ``reduce_window`` (fast forward passes). Same values."""

    side: int
    channels: int
    classes: int
    training: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        from ganbench.models import conv

        def conv3x3(features: int, name: str) -> nn.Conv:
            if not self.training:
                return nn.Conv(features, (3, 3), padding="VALID", name=name)
            return nn.Conv(
                features, (3, 3), padding="VALID",
                conv_general_dilated=conv.conv_general_dilated, name=name,
            )  # fmt: skip

        def pool(x: jax.Array) -> jax.Array:
            if self.training:
                return _max_pool_2x2(x)
            return nn.max_pool(x, (2, 2), strides=(2, 2))

        sides(self.side)  # refuses too small a side
        x = nn.relu(conv3x3(32, "conv_0")(x))
        x = nn.relu(conv3x3(64, "conv_1")(x))
        x = pool(x)
        x = nn.relu(conv3x3(64, "conv_2")(x))
        x = pool(x)
        i = 3
        while x.shape[1] > MAX_POOLED_SIDE:
            x = pool(nn.relu(conv3x3(64, f"conv_{i}")(x)))
            i += 1
        x = x.reshape((x.shape[0], -1))
        feats = nn.relu(nn.Dense(FEATURE_DIM, name="dense_0")(x))
        return feats, nn.Dense(self.classes, name="dense_1")(feats)


def init_params(net: LabelledCNN, seed: int = 0) -> Params:
    shape = (1, net.side, net.side, net.channels)
    return net.init(jax.random.key(seed), jnp.zeros(shape, jnp.float32))["params"]


def param_shapes(net: LabelledCNN) -> dict[str, tuple[int, ...]]:
    """``{"conv_0/kernel": shape, ...}`` of the network's parameters, without computing them
    (from ``jax.eval_shape``'s shape-and-dtype leaves, read for their ``shape`` only)."""
    from ganbench.extractors.cache import flat_shapes

    return flat_shapes(jax.eval_shape(functools.partial(init_params, net)))


def as_input(images: Any) -> jax.Array:
    """uint8 pixels to ``x / 127.5 - 1``; float images (already in [-1, 1]) as float32."""
    if images.dtype == jnp.uint8:
        return images.astype(jnp.float32) / 127.5 - 1.0
    return images.astype(jnp.float32)


def train_cnn(
    net: LabelledCNN,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int = 0,
    epochs: int = 10,
    min_steps: int = 0,
    batch_size: int = 64,
    lr: float = 2e-3,
    on_steps: Callable[[int, int, int, float], None] | None = None,
    report_every: int = 25,
    **_: Any,
) -> Params:
    """Train ``net`` on uint8 ``images`` (N, S, S, C) and integer ``labels`` (N,) with Adam, the
    step size decaying from ``lr`` to 0 along a cosine over every step, for
    ``max(epochs, ceil(min_steps / (N // batch_size)))`` epochs of shuffled batches (the last
    partial batch dropped). ``on_steps(done, total, epoch, mean_loss)`` is called every
    ``report_every`` steps and at each epoch's end, for a progress bar. Extra keywords (the
    recorded settings' others) are ignored."""
    images, labels = np.asarray(images), np.asarray(labels)
    n = images.shape[0]
    if images.shape[1:] != (net.side, net.side, net.channels) or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (N, {net.side}, {net.side}, {net.channels}), "
                         f"got {images.dtype} {images.shape}")  # fmt: skip
    if labels.shape != (n,) or n == 0 or labels.min() < 0 or labels.max() >= net.classes:
        raise ValueError(f"expected {n} labels in [0, {net.classes}), got {labels.shape}")
    if epochs < 1 or batch_size < 1 or min_steps < 0 or not lr > 0:
        raise ValueError(f"bad settings: epochs={epochs}, batch_size={batch_size}, "
                         f"min_steps={min_steps}, lr={lr}")  # fmt: skip
    batch_size = min(batch_size, n)
    n_batches = n // batch_size
    epochs = max(epochs, math.ceil(min_steps / n_batches))
    total_steps = epochs * n_batches
    opt = optax.adam(optax.cosine_decay_schedule(lr, total_steps))
    params = init_params(net, seed)
    opt_state = opt.init(params)
    trainer = net.clone(training=True)

    def loss_fn(p, x, y):
        _, logits = trainer.apply({"params": p}, as_input(x))
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @jax.jit
    def step(p, state, all_x, all_y, idx):
        loss, grads = jax.value_and_grad(loss_fn)(p, all_x[idx], all_y[idx])
        updates, state = opt.update(grads, state, p)
        return optax.apply_updates(p, updates), state, loss

    x, y = jnp.asarray(images), jnp.asarray(labels, jnp.int32)
    key = jax.random.fold_in(jax.random.key(seed), 1)
    done = 0
    for e in range(1, epochs + 1):
        order = jax.random.permutation(jax.random.fold_in(key, e), n)[: n_batches * batch_size]
        recent, since = jnp.zeros(()), 0
        for i, idx in enumerate(np.asarray(order).reshape((n_batches, batch_size)), start=1):
            params, opt_state, loss = step(params, opt_state, x, y, idx)
            recent, since, done = recent + loss, since + 1, done + 1
            if on_steps is not None and (since == report_every or i == n_batches):
                on_steps(done, total_steps, e, float(recent) / since)
                recent, since = jnp.zeros(()), 0
    return params


@functools.lru_cache(maxsize=16)
def _forward(net: LabelledCNN) -> Callable:
    return jax.jit(lambda p, x: net.apply({"params": p}, as_input(x)))


def embed(net: LabelledCNN, params: Params, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, 128) and logits (N, K) of images (N, S, S, C), uint8 or float in [-1, 1],
    :data:`EVAL_BATCH` at a time (the last batch padded)."""
    from ganbench.extractors.base import run_batched

    images = np.asarray(images)
    expected = (net.side, net.side, net.channels)
    if images.ndim != 4 or images.shape[1:] != expected:
        raise ValueError(f"this classifier takes images (N, {', '.join(map(str, expected))}), "
                         f"got shape {images.shape}")  # fmt: skip
    if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"expected uint8 or float images, got {images.dtype}")
    if images.shape[0] == 0:
        return np.zeros((0, FEATURE_DIM), np.float32), np.zeros((0, net.classes), np.float32)
    forward = _forward(net)
    out = run_batched(lambda chunk: forward(params, chunk), images, EVAL_BATCH)
    return np.concatenate([f for f, _ in out]), np.concatenate([g for _, g in out])


def accuracy(net: LabelledCNN, params: Params, images: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``images`` whose arg-max logit is their label (NaN for none)."""
    if len(labels) == 0:
        return float("nan")
    _, logits = embed(net, params, images)
    return float(np.mean(np.argmax(logits, axis=1) == np.asarray(labels)))


# --------------------------------------------------------------------------------- datasets


def labelled_dataset(name: str, data_dir=None):
    """The stored dataset ``name`` (``cifar10`` or ``folder:<name>``) from the data directory,
    checked to be imported and labelled.

    Raises:
        ConfigError: a dataset with no classifier family (MNIST has its own; the synthetic
            ones have no images), or an unlabelled folder.
        DataError: the dataset is not imported (the message says how).
    """
    from ganbench.data import cifar10, folders
    from ganbench.data.stored import stored_dataset

    if name == cifar10.DATASET:
        found = stored_dataset(name, name, data_dir, hint=cifar10.HOW_TO_GET)
        if found is None:  # the placeholder says so as a run would, with how to import it
            cifar10.cifar10().check_available(data_dir)
            raise DataError(cifar10.not_imported_message(data_dir))
    elif name.startswith(f"{folders.PREFIX}:"):
        short = folders.check_name(name.split(":", 1)[1])
        found = stored_dataset(
            name, f"{folders.SUBDIR}/{short}", data_dir, hint=folders.how_to_import(short),
            official=False,
        )  # fmt: skip
        if found is None:
            raise DataError(
                f"dataset {name!r} is not imported: no "
                f"{folders.folder_dir(short, data_dir) / 'manifest.json'}; "
                + folders.how_to_import(short)
            )
    else:
        raise ConfigError(
            f"--dataset {name!r}: a classifier is trained for mnist (its own, shipped), cifar10 "
            "and labelled image folders (folder:NAME)"
        )
    if not found.classes:
        raise ConfigError(
            f"dataset {name!r} has no labels, so no classifier can be trained on it: import a "
            "folder of one sub-folder per class (ganbench data import folder NAME DIR --size S)"
        )
    return found


def _stored_labelled(data_dir=None) -> list:
    """Every labelled dataset of the data directory: CIFAR-10 (its placeholder before it is
    imported, so that suites naming ``cifar10_cnn`` validate) and each labelled folder whose
    manifest reads."""
    from ganbench.data import cifar10, folders
    from ganbench.data.store import data_dir as default_data_dir
    from ganbench.data.stored import StoredImages, read_manifest, stored_dataset

    found: list[StoredImages] = []
    with contextlib.suppress(DataError):  # an unreadable import: no member until imported again
        found.append(stored_dataset(cifar10.DATASET, cifar10.DATASET, data_dir)
                     or cifar10.cifar10())  # fmt: skip
    root = Path(data_dir if data_dir is not None else default_data_dir()) / folders.SUBDIR
    if root.is_dir():
        for entry in sorted(root.iterdir()):
            if (
                entry.is_symlink()
                or not entry.is_dir()
                or not folders.NAME_PATTERN.match(entry.name)
            ):
                continue
            try:
                if read_manifest(entry) is None:
                    continue
                ds = stored_dataset(f"{folders.PREFIX}:{entry.name}",
                                    f"{folders.SUBDIR}/{entry.name}", data_dir, official=False)  # fmt: skip
            except DataError:
                continue
            if ds is not None and ds.classes:
                found.append(ds)
    return found


_DECLARED: dict[tuple, Any] = {}
"""Declarations made, by (name, dataset, shape, classes): one object per classifier."""


def declare(dataset) -> Any:
    """The :class:`~ganbench.extractors.base.Extractor` of labelled ``dataset``."""
    from ganbench.extractors.base import WEIGHTS_TRAINED, Extractor

    name = extractor_name(dataset.name)
    key = (name, dataset.name, tuple(dataset.shape), len(dataset.classes))
    if key not in _DECLARED:
        side, _, channels = dataset.shape
        _DECLARED[key] = Extractor(
            name=name,
            description=f"ganbench's classifier of {dataset.name} ({FEATURE_DIM}-d penultimate "
            f"features, {len(dataset.classes)} classes), trained here on its training images: "
            f"{train_command(dataset.name)}",
            feature_dim=FEATURE_DIM,
            input_size=None,
            resize_modes=(),
            weights=WEIGHTS_TRAINED,
            source="mnist_cnn's convnet generalised to the dataset's size, channels and classes, "
            "trained by ganbench (ganbench.extractors.labelled)",
            load=functools.partial(load, dataset.name),
            fixed_shape=(side, side, channels),
            classes=len(dataset.classes),
        )
    return _DECLARED[key]


def members() -> dict[str, Any]:
    """The family's extractors by name; a name that two datasets (or a dataset and a registered
    extractor) would share maps to the refusal's message instead."""
    from ganbench.extractors.base import EXTRACTORS

    by_name: dict[str, list[str]] = {}
    datasets = {}
    for ds in _stored_labelled():
        by_name.setdefault(extractor_name(ds.name), []).append(ds.name)
        datasets[ds.name] = ds
    out: dict[str, Any] = {}
    for name, owners in by_name.items():
        if len(owners) > 1 or name in EXTRACTORS:
            what = " and ".join(repr(o) for o in owners)
            also = " and ganbench's registered extractor of that name" if name in EXTRACTORS else ""
            out[name] = (
                f"extractor name {name!r} is ambiguous: it is the classifier of {what}{also} "
                "(names map lower-cased, with characters outside [a-z0-9_] as '_'); import one "
                "of the folders under another name"
            )
        else:
            out[name] = declare(datasets[owners[0]])
    return out


# ---------------------------------------------------------------------------------- weights


def weights_paths(dataset, data_dir=None) -> tuple[Path, Path]:
    folder = dataset.path(data_dir)
    return folder / f"{WEIGHTS_NAME}.npz", folder / f"{WEIGHTS_NAME}.json"


def network(dataset) -> LabelledCNN:
    side, _, channels = dataset.shape
    return LabelledCNN(side=side, channels=channels, classes=len(dataset.classes))


def holdout_split(labels: np.ndarray, fraction: float = HOLDOUT, seed: int = 0):
    """``(train indices, test indices)``, both sorted: ``round(fraction n_c)`` images of each
    class of ``n_c`` held out, at least one when the class holds two or more, drawn with
    ``numpy.random.default_rng(seed)`` class by class in label order.

    >>> holdout_split(np.array([0] * 20 + [1] * 5 + [2]))[1].size  # 2 + 1 + 0
    3
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = round(fraction * idx.size)
        if idx.size >= 2:
            k = max(k, 1)
        test.append(rng.permutation(idx)[:k])
    test_idx = np.sort(np.concatenate(test)) if test else np.zeros(0, np.int64)
    train_idx = np.setdiff1d(np.arange(labels.size), test_idx)
    return train_idx, test_idx


def split_for_training(dataset, data_dir=None, settings: dict | None = None):
    """``(train images, train labels, test images, test labels, how)``: CIFAR-10's official
    splits; a folder's held-out share of each class (:func:`holdout_split`)."""
    settings = {**SETTINGS, **(settings or {})}
    if len(dataset.splits) > 1:
        x, y = dataset.split_arrays(dataset.splits[0], data_dir)
        tx, ty = dataset.split_arrays(dataset.splits[1], data_dir)
        how = f"the {dataset.splits[1]} split"
        return x, y.astype(np.int64), tx, ty.astype(np.int64), how
    x, y = dataset.split_arrays(dataset.splits[0], data_dir)
    y = y.astype(np.int64)
    train_idx, test_idx = holdout_split(y, settings["holdout"], settings["seed"])
    how = (f"{100 * settings['holdout']:g}% of each class held out (seed {settings['seed']}, "
           f"{test_idx.size} images)")  # fmt: skip
    return x[train_idx], y[train_idx], x[test_idx], y[test_idx], how


def train(dataset, data_dir=None, settings: dict | None = None, task=None):
    """Train ``dataset``'s classifier (:data:`SETTINGS`, updated by ``settings``) and write it
    next to the dataset. Returns the sidecar's content (``sha256``, ``test_accuracy``, ...).
    ``task(label, total)`` (a progress factory) shows the steps."""
    from ganbench.extractors.cache import save_weights

    settings = {**SETTINGS, **(settings or {})}
    net = network(dataset)
    x, y, tx, ty, how = split_for_training(dataset, data_dir, settings)
    bars: list = []
    shown = settings["epochs"]

    def on_steps(done: int, total: int, epoch: int, loss: float) -> None:
        if task is not None and not bars:
            bars.append(task(f"{extractor_name(dataset.name)} steps", total))
        if bars:
            bars[0].update(done, f"epoch {epoch}/{max(shown, epoch)}, loss {loss:.4f}")

    t0 = time.perf_counter()
    params = train_cnn(net, x, y, on_steps=on_steps, **settings)
    seconds = time.perf_counter() - t0
    acc = accuracy(net, params, tx, ty)
    if bars:
        bars[0].close(f"{extractor_name(dataset.name)} trained in {seconds:.0f}s (test "
                      f"accuracy {100 * acc:.2f}% on {how})")  # fmt: skip
    report = {
        "dataset": dataset.name,
        "extractor": extractor_name(dataset.name),
        "test_accuracy": acc,
        "test_split": how,
        "n_train": int(x.shape[0]),
        "n_test": int(tx.shape[0]),
        "train_seconds": round(seconds, 1),
    }
    weights, _ = weights_paths(dataset, data_dir)
    _, meta = save_weights(
        params, report, weights.parent, WEIGHTS_NAME, dataset.fingerprint,
        {**settings, "recipe": RECIPE},
    )  # fmt: skip
    return {**meta, "path": str(weights)}


def _read_params(path: Path, net: LabelledCNN) -> Params:
    """The parameters in ``path`` (an .npz of one array per leaf), checked against ``net``."""
    from ganbench.extractors.cache import unflatten_params

    expected = param_shapes(net)
    try:
        with np.load(path, allow_pickle=False) as npz:
            flat = {k: np.asarray(npz[k]) for k in npz.files}
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: cannot read the classifier's weights (an .npz of arrays, "
                        f"never a pickle): {exc}") from None  # fmt: skip
    for key, shape in expected.items():
        if key not in flat:
            raise DataError(f"{path}: missing array {key!r} of the classifier")
        if flat[key].shape != shape or not np.all(np.isfinite(flat[key])):
            raise DataError(f"{path}: array {key!r} has shape {flat[key].shape} (expected "
                            f"{shape}) or holds non-finite values")  # fmt: skip
    extra = sorted(set(flat) - set(expected))
    if extra:
        raise DataError(f"{path}: arrays {extra} are not parameters of this classifier")
    return unflatten_params({k: flat[k].astype(np.float32) for k in expected})


def read_trained(dataset, data_dir=None) -> tuple[Params, dict[str, Any]]:
    """``(params, sidecar)`` of ``dataset``'s trained classifier, checked: its checksum, the
    data it was trained on (this import of the dataset), its recipe and its arrays' shapes.

    Raises:
        ClassifierMissing: none is trained (the message says the command that trains it).
        DataError: the files are unreadable, altered, or for other data or another recipe.
    """
    import json

    from ganbench.data.store import sha256_file

    weights, sidecar = weights_paths(dataset, data_dir)
    command = train_command(dataset.name)
    if not weights.exists():
        raise ClassifierMissing(
            f"no classifier of {dataset.name} is trained: no {weights}; train it with: {command}"
        )
    try:
        meta = json.loads(sidecar.read_text())
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise DataError(f"{sidecar}: unreadable ({exc}); train again: {command}") from None
    digest = sha256_file(weights)
    if digest != meta.get("sha256"):
        raise DataError(f"{weights}: SHA-256 {digest} differs from {meta.get('sha256')} in "
                        f"{sidecar.name} (the file changed); train again: {command}")  # fmt: skip
    if meta.get("data_fingerprint") != dataset.fingerprint:
        raise DataError(f"{weights}: trained on another import of {dataset.name} (data "
                        f"fingerprint {str(meta.get('data_fingerprint'))[:12]}, now "
                        f"{dataset.fingerprint[:12]}); train again: {command}")  # fmt: skip
    recipe = (meta.get("settings") or {}).get("recipe")
    if recipe != RECIPE:
        raise DataError(f"{weights}: trained with recipe {recipe!r}, this ganbench's is "
                        f"{RECIPE!r}; train again: {command}")  # fmt: skip
    return _read_params(weights, network(dataset)), {**meta, "path": str(weights)}


# --------------------------------------------------------------------------- feature model


class LabelledFeatureModel:
    """A labelled dataset's classifier with its weights, as a
    :class:`ganbench.extractors.base.FeatureModel`: features (N, 128) and labels (N, 1)."""

    def __init__(self, extractor, net: LabelledCNN, params: Params, weights: dict[str, Any]):
        self._extractor, self.net, self.params, self.weights = extractor, net, params, weights

    @property
    def extractor(self):
        return self._extractor

    @property
    def resize(self) -> None:
        return None

    @property
    def info(self) -> dict[str, Any]:
        return {
            "name": self._extractor.name,
            "resize": None,
            "feature_dim": FEATURE_DIM,
            "batch_size": EVAL_BATCH,
            "weights": dict(self.weights),
        }

    def embed(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features and labels (N, 1); a grey image given to a classifier of RGB images has its
        channel repeated three times (:mod:`ganbench.extractors.base`)."""
        images = np.asarray(images)
        if images.ndim == 4 and images.shape[-1] != self.net.channels:
            if images.shape[-1] != 1 or self.net.channels != 3:
                raise ConfigError(
                    f"{self._extractor.name} takes images of {self.net.channels} channel(s), "
                    f"got {images.shape[-1]}"
                )
            images = np.repeat(images, 3, axis=-1)
        feats, logits = embed(self.net, self.params, images)
        return feats, np.argmax(logits, axis=1)[:, None]

    def features(self, images: np.ndarray) -> np.ndarray:
        return self.embed(images)[0]


RECORDED = ("sha256", "test_accuracy", "test_split", "n_train", "n_test", "source", "path",
            "data_fingerprint", "settings")  # fmt: skip
"""What a run's manifest records of the classifier (``extractor.extractors[].weights``)."""


def load(dataset_name: str, weights=None, resize=None, data_dir=None, log=None, task=None):
    """The classifier of ``dataset_name``: the one trained next to the dataset (never trained
    here on the fly: :func:`train_command` trains it), or the .npz file ``weights`` names."""
    from ganbench.extractors.base import weights_info

    if resize is not None:
        raise ConfigError(f"{extractor_name(dataset_name)} takes the dataset's images as they "
                          "are: no resize mode")  # fmt: skip
    dataset = labelled_dataset(dataset_name, data_dir)
    extractor = declare(dataset)
    net = network(dataset)
    if weights is not None:
        path = Path(weights).expanduser().absolute()
        params = _read_params(path, net)
        info = {**weights_info(path), "source": "user file"}
    else:
        params, meta = read_trained(dataset, data_dir)
        info = {**{k: meta[k] for k in RECORDED if k in meta}, "source": "trained here"}
    return LabelledFeatureModel(extractor, net, params, info)


def _register() -> None:
    from ganbench.extractors.base import FAMILIES, Family, register_family

    if not any(f.name == "<dataset>_cnn" for f in FAMILIES):
        register_family(
            Family(
                name="<dataset>_cnn",
                description="a classifier of each labelled dataset (cifar10_cnn, "
                "folder_<name>_cnn): 128-d features and its classes, trained here with "
                "'ganbench data extractor --train --dataset NAME'; its Frechet distances are "
                "not comparable with Inception FIDs",
                members=members,
            )
        )


_register()


__all__ = [
    "FEATURE_DIM",
    "RECIPE",
    "SETTINGS",
    "ClassifierMissing",
    "LabelledCNN",
    "LabelledFeatureModel",
    "accuracy",
    "declare",
    "embed",
    "extractor_name",
    "holdout_split",
    "labelled_dataset",
    "load",
    "members",
    "read_trained",
    "sides",
    "train",
    "train_cnn",
    "train_command",
]
