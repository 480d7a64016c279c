"""Diagnostics of image runs: metrics in the feature space of ganbench's own MNIST classifier.

:func:`load_extractor` returns the classifier (:mod:`ganbench.extractors.mnist_cnn`): the
weights shipped with ganbench (:mod:`ganbench.extractors.shipped`), so that everyone measures in
the same feature space; for data other than the canonical MNIST files, one trained on MNIST train
the first time and cached in ``<data dir>/extractors/`` with the checksums of its weights and of
the data it saw (:mod:`ganbench.extractors.cache`). Its test accuracy is measured when it is
trained and kept with it. :meth:`ImageEvaluator.rows` turns one evaluation's real and
generated images into metric rows, every value with the numbers of real and fake samples behind
it:

- MNIST: ``fid_mnist_cnn`` (Frechet distance of the 128-d penultimate features, float64,
  symmetric eigh form), ``kid_mnist_cnn`` and its ``_std`` (Binkowski et al. 2018: 100 subsets
  of up to 1000), ``precision`` and ``recall`` (k = 3, Kynkaanniemi et al. 2019), ``density`` and
  ``coverage`` (k = 5, Naeem et al. 2020), ``classes`` and ``class_kl`` (argmax of the logits);
- Stacked MNIST: each channel classified; ``classes`` counts the digit triples (of 1000) and
  ``class_kl`` is KL to uniform over them (Metz et al. 2017; Srivastava et al. 2017), plus
  ``fid_mnist_cnn`` and ``kid_mnist_cnn`` on the channels' concatenated features.

The real set of an evaluation is a fresh draw from MNIST train of the same size as the generated
set. :meth:`ImageEvaluator.floor_rows` gives the same metrics between MNIST train and MNIST test
draws of that size: what a generator that reproduced the data distribution would score, given the
estimator biases at that sample count.

Optionally (``[metrics] inception_weights``), the same real and generated sets are also measured
in the 2048-d pool3 features of the FID Inception-v3 (:mod:`ganbench.extractors.inception`),
from a weights file the user converted once: ``fid_inception`` and ``kid_inception`` (+ ``_std``).
The file is loaded and checked by :func:`load_extractor` before anything is written.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ganbench.metrics import names as M

CLASSIFIER_SETTINGS = {"seed": 0, "epochs": 1, "batch_size": 64, "lr": 2e-3}
"""Training settings of the cached MNIST classifier (a change retrains it): one epoch of Adam,
batch 64, learning rate decaying from 2e-3 to 0 on a cosine (99.07% test accuracy, 98 s on a
2-core CPU; :mod:`ganbench.extractors.mnist_cnn`)."""

CLASSIFIER_RECIPE = (
    "mnist_cnn v2: conv 32-64-64 (VALID, as matrix products), dense 128, Adam with cosine decay"
)
"""Recorded with the cached weights: a change of architecture or schedule retrains them."""


@dataclass
class ImageEvaluator:
    params: Any
    info: dict[str, Any] = field(default_factory=dict)
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    inception: Any = None
    """Variables of the FID Inception-v3 (:func:`ganbench.extractors.inception.load_inception`);
    None: no Inception metrics."""
    inception_info: dict[str, Any] = field(default_factory=dict)
    """``path`` and ``sha256`` of the Inception weights file."""
    inception_batch: int = 32

    def _embed(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features (N, 128 * C) and per-channel digit labels (N, C) of (N, 28, 28, C) images."""
        from ganbench.extractors import mnist_cnn

        images = np.asarray(images, np.float32)
        n, c = images.shape[0], images.shape[-1]
        channels = np.transpose(images, (3, 0, 1, 2)).reshape(c * n, 28, 28, 1)
        feats, logits = mnist_cnn.embed(self.params, channels)
        feats = feats.reshape(c, n, -1)
        labels = np.argmax(logits, axis=1).reshape(c, n)
        return np.concatenate(list(feats), axis=1), labels.T

    def classifies(self, dataset: Any = None) -> bool:
        """Whether the MNIST classifier measures ``dataset``'s images (MNIST and Stacked MNIST;
        any images when ``dataset`` is None); other image data get the Inception metrics only,
        when Inception weights are given."""
        if self.params is None:
            return False
        return dataset is None or getattr(dataset, "extractor", None) == "mnist_cnn"

    def rows(self, fake: np.ndarray, real: np.ndarray, dataset: Any = None) -> list[tuple]:
        """Metric rows (metric, value, n_real, n_fake) of one evaluation of ``dataset``'s
        images."""
        from ganbench.metrics import (
            class_coverage,
            density_coverage,
            frechet_distance,
            kid,
            precision_recall,
            stacked_modes,
        )

        nr, nf = int(real.shape[0]), int(fake.shape[0])
        if not self.classifies(dataset):
            if self.inception is None:
                return []
            if not np.all(np.isfinite(fake)):
                return [(m, float("nan"), nr, nf) for m in (M.FID_INCEPTION, M.KID_INCEPTION)]
            return self._inception_rows(fake, real)
        if not np.all(np.isfinite(fake)):
            nan = float("nan")
            names = [M.FID_MNIST, M.KID_MNIST, M.CLASSES]
            if self.inception is not None:
                names += [M.FID_INCEPTION, M.KID_INCEPTION]
            return [(m, nan, nr, nf) for m in names]
        f_real, _ = self._embed(real)
        f_fake, labels = self._embed(fake)
        kid_mean, kid_std = kid(
            f_real, f_fake, subsets=self.kid_subsets, subset_size=self.kid_subset_size
        )
        rows = [
            (M.FID_MNIST, frechet_distance(f_real, f_fake), nr, nf),
            (M.KID_MNIST, kid_mean, nr, nf),
            (M.KID_MNIST_STD, kid_std, nr, nf),
        ]
        if labels.shape[1] == 1:
            precision, recall = precision_recall(f_real, f_fake, k=3)
            density, coverage = density_coverage(f_real, f_fake, k=5)
            classes = class_coverage(labels[:, 0], 10)
            rows += [
                (M.PRECISION, precision, nr, nf),
                (M.RECALL, recall, nr, nf),
                (M.DENSITY, density, nr, nf),
                (M.COVERAGE, coverage, nr, nf),
                (M.CLASSES, float(classes["classes_covered"]), None, nf),
                (M.CLASS_KL, float(classes["class_kl"]), None, nf),
            ]
        else:
            modes = stacked_modes(labels, n_digits=labels.shape[1])
            rows += [
                (M.CLASSES, float(modes["modes"]), None, nf),
                (M.CLASS_KL, float(modes["kl"]), None, nf),
            ]
        if self.inception is not None:
            rows += self._inception_rows(fake, real)
        return rows

    def _inception_rows(self, fake: np.ndarray, real: np.ndarray) -> list[tuple]:
        """``fid_inception``, ``kid_inception`` and its ``_std`` in the FID Inception-v3's pool3
        features."""
        from ganbench.extractors.inception import inception_features
        from ganbench.metrics import frechet_distance, kid

        nr, nf = int(real.shape[0]), int(fake.shape[0])
        f_real = inception_features(self.inception, real, batch_size=self.inception_batch)
        f_fake = inception_features(self.inception, fake, batch_size=self.inception_batch)
        kid_mean, kid_std = kid(
            f_real, f_fake, subsets=self.kid_subsets, subset_size=self.kid_subset_size
        )
        return [
            (M.FID_INCEPTION, frechet_distance(f_real, f_fake), nr, nf),
            (M.KID_INCEPTION, kid_mean, nr, nf),
            (M.KID_INCEPTION_STD, kid_std, nr, nf),
        ]

    def floor_rows(self, images: dict[str, np.ndarray], n: int, channels: int) -> list[tuple]:
        """The metrics between ``n`` MNIST train and ``n`` MNIST test images (each image's
        channels drawn independently, as the dataset does), seed 0: the floor of a perfect
        generator at this sample count."""
        rng = np.random.default_rng(0)
        train, test = images["train"], images["test"]

        def draw(pool: np.ndarray) -> np.ndarray:
            idx = rng.integers(0, pool.shape[0], size=(n, channels))
            x = pool[idx].astype(np.float32) / 127.5 - 1.0  # (n, channels, 28, 28)
            return np.transpose(x, (0, 2, 3, 1))

        real = draw(train)
        return self.rows(draw(test), real)

    def sample_warning(self, n: int, channels: int, dataset: Any = None) -> str | None:
        from ganbench.extractors.inception import FEATURE_DIM
        from ganbench.metrics import fd_sample_warning

        warnings = [fd_sample_warning(n, 128 * channels)] if self.classifies(dataset) else []
        if self.inception is not None:
            warnings.append(fd_sample_warning(n, FEATURE_DIM))
        found = [w for w in warnings if w]
        return "; ".join(found) if found else None


def load_extractor(
    data_dir=None, log=None, inception_weights=None, task=None, classifier: bool = True
) -> ImageEvaluator:
    """The MNIST classifier shipped with ganbench (:mod:`ganbench.extractors.shipped`) when the
    data are the canonical MNIST files, else one trained on them (about two minutes on a 2-core
    CPU) and cached in the data directory, and, when ``inception_weights`` names a file, the
    FID Inception-v3 loaded from it (checked first, so a bad file fails before any training). ``log(message)`` reports what
    happens; ``task(label, total)`` (a :class:`ganbench.run.progress.TaskProgress` factory), if
    given, shows the training's progress: steps done, epoch, loss. ``classifier=False``: no
    MNIST classifier (the suite's image data are not MNIST's), only Inception when named.

    Raises:
        DataError: when MNIST is missing (the message says how to get it), or the Inception
            weights file is missing or malformed (the message names the file and the problem).
    """
    from ganbench.data import mnist as mnist_data
    from ganbench.data.store import data_dir as default_data_dir
    from ganbench.extractors.cache import CacheMismatchWarning, load_or_train

    inception, inception_info = None, {}
    if inception_weights is not None:
        from ganbench.extractors.inception import load_inception

        inception, inception_info = load_inception(inception_weights)
        if log is not None:
            log(
                f"Inception-v3 (FID) weights: {inception_info['path']} "
                f"(sha256 {inception_info['sha256']})"
            )
    if not classifier:  # image data that the MNIST classifier does not measure
        return ImageEvaluator(None, {}, inception=inception, inception_info=inception_info)
    root = default_data_dir() if data_dir is None else data_dir
    for split in ("train", "test"):  # missing MNIST is bad input, found before anything runs
        mnist_data.load_mnist(split, root)
    fingerprint = mnist_fingerprint()

    def train():
        if log is not None:
            log("training the MNIST feature classifier (once; cached in the data directory)")
        return train_mnist_classifier(root, task=task)

    settings = classifier_settings()
    params, info, why = shipped_classifier()
    if params is None:
        if why is not None:  # canonical MNIST, yet the shipped weights cannot be used
            warnings.warn(
                f"the MNIST classifier shipped with ganbench cannot be used ({why}); training "
                "one here, whose features differ from everyone else's",
                CacheMismatchWarning,
                stacklevel=2,
            )
        params, info = load_or_train(
            fingerprint, train, root / "extractors", name="mnist_cnn", settings=settings
        )
        info["source"] = "trained here"
    return ImageEvaluator(params, info, inception=inception, inception_info=inception_info)


def classifier_settings() -> dict[str, Any]:
    """The settings and recipe recorded with (and required of) the classifier's weights."""
    return {**CLASSIFIER_SETTINGS, "recipe": CLASSIFIER_RECIPE}


def shipped_classifier() -> tuple[Any, dict[str, Any], str | None]:
    """The classifier shipped with ganbench, checked against the canonical MNIST files and the
    current recipe: :func:`ganbench.extractors.shipped.load_shipped`'s ``(params, info, why)``."""
    from ganbench.extractors import shipped

    return shipped.load_shipped(mnist_fingerprint(), classifier_settings())


def mnist_fingerprint() -> str:
    """The MNIST files the classifier is trained on, as the weights' data fingerprint."""
    from ganbench.data import mnist as mnist_data

    return "mnist:" + ",".join(mnist_data.SHA256[k] for k in mnist_data.FILES)


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
