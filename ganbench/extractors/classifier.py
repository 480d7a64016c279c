"""The MNIST classifier's weights: the ones shipped with ganbench, or ones trained here.

The classifier (:mod:`ganbench.extractors.mnist_cnn`) is the feature space of ``fid_mnist_cnn``,
KID, precision/recall and the class metrics. :func:`load_mnist_classifier` returns the weights
shipped with ganbench (:mod:`ganbench.extractors.shipped`) when the data are the canonical MNIST
files, so that everyone measures in the same feature space; for other data (the tests' small
stand-in, say) one trained on MNIST train the first time and cached in
``<data dir>/extractors/`` with the checksums of its weights and of the data it saw
(:mod:`ganbench.extractors.cache`). Its test accuracy is measured when it is trained and kept
with it.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

CLASSIFIER_SETTINGS = {"seed": 0, "epochs": 1, "batch_size": 64, "lr": 2e-3}
"""Training settings of the MNIST classifier (a change retrains it): one epoch of Adam, batch
64, learning rate decaying from 2e-3 to 0 on a cosine (99.07% test accuracy, 98 s on a 2-core
CPU; :mod:`ganbench.extractors.mnist_cnn`)."""

CLASSIFIER_RECIPE = (
    "mnist_cnn v2: conv 32-64-64 (VALID, as matrix products), dense 128, Adam with cosine decay"
)
"""Recorded with the weights: a change of architecture or schedule retrains them."""


def classifier_settings() -> dict[str, Any]:
    """The settings and recipe recorded with (and required of) the classifier's weights."""
    return {**CLASSIFIER_SETTINGS, "recipe": CLASSIFIER_RECIPE}


def mnist_fingerprint() -> str:
    """The MNIST files the classifier is trained on, as the weights' data fingerprint."""
    from ganbench.data import mnist as mnist_data

    return "mnist:" + ",".join(mnist_data.SHA256[k] for k in mnist_data.FILES)


def shipped_classifier() -> tuple[Any, dict[str, Any], str | None]:
    """The classifier shipped with ganbench, checked against the canonical MNIST files and the
    current recipe: :func:`ganbench.extractors.shipped.load_shipped`'s ``(params, info, why)``."""
    from ganbench.extractors import shipped

    return shipped.load_shipped(mnist_fingerprint(), classifier_settings())


def train_mnist_classifier(root, task=None) -> tuple[Any, dict[str, Any]]:
    """Train the classifier with :data:`CLASSIFIER_SETTINGS` on the MNIST training files in
    ``root`` and measure it on the test files: ``(params, {"test_accuracy", "n_train"})``.
    ``task(label, total)`` (a :class:`ganbench.run.progress.TaskProgress` factory), if given,
    shows the steps, epoch, loss and time left."""
    from ganbench.data import mnist as mnist_data
    from ganbench.extractors import mnist_cnn

    train_x, train_y = mnist_data.load_mnist("train", root)
    bars: list = []  # the bar, made at the first report (when the step count is known)
    epochs = CLASSIFIER_SETTINGS["epochs"]

    def on_steps(done: int, total: int, epoch: int, loss: float) -> None:
        if task is not None and not bars:
            bars.append(task("MNIST classifier steps", total))
        if bars:
            bars[0].update(done, f"epoch {epoch}/{epochs}, loss {loss:.4f}")

    t0 = time.perf_counter()
    params = mnist_cnn.train_classifier(train_x, train_y, **CLASSIFIER_SETTINGS, on_steps=on_steps)
    test_x, test_y = mnist_data.load_mnist("test", root)
    acc = mnist_cnn.accuracy(params, test_x, test_y)
    if bars:
        bars[0].close(
            f"MNIST classifier trained in {time.perf_counter() - t0:.0f}s "
            f"(test accuracy {100 * acc:.2f}%)"
        )
    return params, {"test_accuracy": acc, "n_train": int(train_x.shape[0])}


def load_mnist_classifier(data_dir=None, log=None, task=None) -> tuple[Any, dict[str, Any]]:
    """``(params, info)`` of the MNIST classifier: the shipped weights when the data are the
    canonical MNIST files, else ones trained on them (about two minutes on a 2-core CPU) and
    cached in the data directory. ``log(message)`` reports what happens; ``task(label, total)``
    shows the training's progress. ``info`` holds ``sha256``, ``test_accuracy``, ``source``
    ("shipped" or "trained here"), ``retrained`` and ``path``.

    Raises:
        DataError: when MNIST is missing (the message says how to get it).
    """
    from ganbench.data import mnist as mnist_data
    from ganbench.data.store import data_dir as default_data_dir
    from ganbench.extractors.cache import CacheMismatchWarning, load_or_train

    root = Path(default_data_dir() if data_dir is None else data_dir)
    for split in ("train", "test"):  # missing MNIST is bad input, found before anything runs
        mnist_data.load_mnist(split, root)
    params, info, why = shipped_classifier()
    if params is not None:
        return params, info
    if why is not None:  # canonical MNIST, yet the shipped weights cannot be used
        warnings.warn(
            f"the MNIST classifier shipped with ganbench cannot be used ({why}); training "
            "one here, whose features differ from everyone else's",
            CacheMismatchWarning,
            stacklevel=2,
        )

    def train():
        if log is not None:
            log("training the MNIST feature classifier (once; cached in the data directory)")
        return train_mnist_classifier(root, task=task)

    params, info = load_or_train(
        mnist_fingerprint(), train, root / "extractors", name="mnist_cnn",
        settings=classifier_settings(),
    )  # fmt: skip
    info["source"] = "trained here"
    return params, info


__all__ = [
    "CLASSIFIER_RECIPE",
    "CLASSIFIER_SETTINGS",
    "classifier_settings",
    "load_mnist_classifier",
    "mnist_fingerprint",
    "shipped_classifier",
    "train_mnist_classifier",
]
