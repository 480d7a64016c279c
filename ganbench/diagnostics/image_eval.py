"""Diagnostics of image runs: metrics in the feature spaces of the suite's extractors.

An image run is measured in the feature space of each extractor its suite names
(``[metrics] extractors``; :mod:`ganbench.extractors`): by default the dataset's own classifier,
for MNIST and Stacked MNIST ganbench's MNIST classifier (``mnist_cnn``, shipped with ganbench so
that everyone measures in the same space). :meth:`ImageEvaluator.rows` turns one evaluation's
real and generated images into metric rows, every value with the numbers of real and fake
samples behind it. The metrics are declared once, in :mod:`ganbench.metrics.catalog`
(:data:`~ganbench.metrics.catalog.FEATURE_METRICS`), and ``ganbench eval`` computes them by the
same code. What each extractor records in a suite (:data:`SUITE_METRICS`):

- the MNIST classifier on MNIST: ``fid_mnist_cnn`` (Frechet distance of the 128-d penultimate
  features, float64, symmetric eigh form), ``kid_mnist_cnn`` and its ``_std`` (Binkowski et al.
  2018: 100 subsets of up to 1000), ``precision`` and ``recall`` (k = 3, Kynkaanniemi et al.
  2019), ``density`` and ``coverage`` (k = 5, Naeem et al. 2020), ``classes`` and ``class_kl``
  (argmax of the logits);
- on Stacked MNIST each channel is classified; ``classes`` counts the digit triples (of 1000)
  and ``class_kl`` is KL to uniform over them (Metz et al. 2017; Srivastava et al. 2017), plus
  ``fid_mnist_cnn`` and ``kid_mnist_cnn`` on the channels' concatenated features (k-NN metrics
  of concatenated per-channel features are not part of that protocol);
- any other extractor (the FID Inception-v3 with ``inception_weights`` or ``[metrics.weights]``,
  DINOv2, ...): its Frechet distance and KID (``fid_inception``, ``kid_inception``,
  ``fd_dinov2_vitl14``, ...).

The real set of an evaluation is a fresh draw from the training data of the same size as the
generated set. :meth:`ImageEvaluator.floor_rows` gives the same metrics between MNIST train and
MNIST test draws of that size: what a generator that reproduced the data distribution would
score, given the estimator biases at that sample count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ganbench.extractors.base import WEIGHTS_TRAINED
from ganbench.metrics.catalog import (
    DIVERGED_FEATURE_KEYS,
    SUITE_SCOPES,
    FeatureEvaluation,
    FeatureSettings,
    feature_rows,
    suite_feature_keys,
)

SUITE_METRICS: dict[str, tuple[str, ...]] = {
    kind: suite_feature_keys(kind) for kind in SUITE_SCOPES
}
"""The feature metrics an image run records, by extractor: a classifier of the dataset's
images (on one-channel and on several-channel images), any other feature extractor (each
metric's declaration says which: :attr:`ganbench.metrics.catalog.FeatureMetric.suite`)."""


_UNMARKED_RESIZE = {"inception": "pytorch_fid"}
"""The resize mode a floor's key leaves unsaid, where it is not the extractor's default."""


def suite_metric_keys(model: Any, channels: int) -> tuple[str, ...]:
    """The metric keys a suite's evaluation records in ``model``'s features."""
    extractor = model.extractor
    if extractor.classes is None:
        return SUITE_METRICS["features"]
    per_channel = extractor.fixed_shape is not None and extractor.fixed_shape[-1] == 1
    if per_channel and channels > 1:
        return SUITE_METRICS["classifier, several channels"]
    return SUITE_METRICS["classifier"]


@dataclass
class ImageEvaluator:
    """Metric rows of image evaluations in the feature spaces of ``models`` (loaded
    extractors, :class:`ganbench.extractors.base.FeatureModel`), the dataset's classifier
    first."""

    models: list[Any]
    settings: FeatureSettings = field(default_factory=FeatureSettings)
    skipped: dict[str, str] = field(default_factory=dict)
    """Extractors left out, by name, with why: a dataset's own classifier that is not trained
    (its runs then record no class metrics; the message says how to train it)."""

    @property
    def info(self) -> dict[str, Any]:
        """The first extractor's weights record (the dataset's classifier: its ``sha256``,
        ``test_accuracy``, ``source``), or an empty dict."""
        return dict(self.models[0].info.get("weights", {})) if self.models else {}

    def applies(self, model: Any, dataset: Any = None) -> bool:
        """Whether ``model`` measures ``dataset``'s images: a feature extractor that resizes
        measures any images; a classifier only its own dataset's (``dataset.extractor``, the
        MNIST classifier for MNIST and Stacked MNIST); any, when ``dataset`` is None."""
        extractor = model.extractor
        if dataset is None or extractor.classes is None:
            return True
        return getattr(dataset, "extractor", None) == extractor.name

    def classifies(self, dataset: Any = None) -> bool:
        """Whether a classifier of the suite measures ``dataset``'s images."""
        return any(
            m.extractor.classes is not None and self.applies(m, dataset) for m in self.models
        )

    def rows(self, fake: np.ndarray, real: np.ndarray, dataset: Any = None) -> list[tuple]:
        """Metric rows (metric, value, n_real, n_fake) of one evaluation of ``dataset``'s
        images, in every extractor that measures them (:meth:`applies`)."""
        nr, nf = int(real.shape[0]), int(fake.shape[0])
        channels = int(fake.shape[-1])
        out: list[tuple] = []
        finite = bool(np.all(np.isfinite(fake)))
        for model in (m for m in self.models if self.applies(m, dataset)):
            keys = suite_metric_keys(model, channels)
            names = model.extractor.metric_names()
            if not finite:
                nan = float("nan")
                out += [(names[k], nan, nr, nf) for k in keys if k in DIVERGED_FEATURE_KEYS]
                continue
            f_real, _ = model.embed(real)
            f_fake, labels = model.embed(fake)
            ev = FeatureEvaluation(
                f_fake, f_real, labels=labels, classes=model.extractor.classes,
                settings=self.settings,
            )  # fmt: skip
            out += feature_rows(ev, names, keys)
        return out

    def floor_rows(
        self, images: dict[str, np.ndarray], n: int, channels: int, dataset: Any = None
    ) -> list[tuple]:
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
        return self.rows(draw(test), real, dataset)

    def sample_warning(self, n: int, channels: int, dataset: Any = None) -> str | None:
        """A warning when ``n`` samples are too few for a Frechet distance in some extractor's
        feature space (:func:`ganbench.metrics.fd_sample_warning`)."""
        from ganbench.metrics import fd_sample_warning

        dims = []
        for model in (m for m in self.models if self.applies(m, dataset)):
            extractor = model.extractor
            per_channel = extractor.fixed_shape is not None and extractor.fixed_shape[-1] == 1
            dims.append(extractor.feature_dim * (channels if per_channel else 1))
        found = [w for w in (fd_sample_warning(n, d) for d in dims) if w]
        return "; ".join(found) if found else None

    def key(self) -> str:
        """What, beyond the dataset and sample count, picks a floor's run id: the extractors
        other than the dataset's classifier, with their weights' checksums and resize modes
        (the FID Inception-v3 in the ``pytorch_fid`` mode, which floors used before the resize
        modes existed, keeps its earlier form)."""
        parts = []
        first = self.models[0] if self.models else None
        if first is not None and first.extractor.weights == WEIGHTS_TRAINED:
            # A classifier trained on the user's data: retraining it changes every feature.
            parts.append(f"|{first.info['name']}:{(first.info.get('weights') or {}).get('sha256')}")
        for model in self.models[1:]:
            info = model.info
            sha = (info.get("weights") or {}).get("sha256")
            part = f"|{info['name']}:{sha}"
            unmarked = _UNMARKED_RESIZE.get(info["name"], model.extractor.default_resize)
            if model.resize is not None and model.resize != unmarked:
                part += f":{model.resize}"
            parts.append(part)
        return "".join(parts)


def default_extractors(dataset: Any) -> list[str]:
    """The extractors an image dataset is measured with when its suite names none: its own
    classifier (``dataset.extractor``: ``mnist_cnn`` for MNIST and Stacked MNIST), if any."""
    name = getattr(dataset, "extractor", None)
    return [name] if name else []


def load_extractor(
    data_dir=None,
    log=None,
    inception_weights=None,
    task=None,
    *,
    extractors: list[str] | None = None,
    weights: dict[str, str] | None = None,
    resize: dict[str, str] | None = None,
    optional: set[str] | frozenset[str] = frozenset(),
) -> ImageEvaluator:
    """The image evaluator of a suite: ``extractors`` (default ``["mnist_cnn"]``) loaded with
    their ``weights`` files and ``resize`` modes (by extractor name), and the FID Inception-v3
    when ``inception_weights`` names its weights file (the older form of ``extractors =
    [..., "inception"]`` with ``weights = {inception = ...}``). Files the user gives are loaded
    and checked first, so a bad file fails before any training. ``log(message)`` reports what
    happens; ``task(label, total)`` (a :class:`ganbench.run.progress.TaskProgress` factory), if
    given, shows the training of a classifier ganbench trains itself. An extractor of
    ``optional`` (a dataset's own classifier the suite does not name) whose weights are not
    trained is left out, with why in :attr:`ImageEvaluator.skipped`.

    Raises:
        DataError: when MNIST is missing (the message says how to get it), or a weights file is
            missing or malformed (the message names the file and the problem).
    """
    from ganbench.extractors.base import get_extractor
    from ganbench.extractors.labelled import ClassifierMissing

    names = list(extractors) if extractors is not None else ["mnist_cnn"]
    weights = dict(weights or {})
    resize = dict(resize or {})
    if inception_weights is not None:
        # The older form keeps its protocol: suites written with it measured in the pytorch_fid
        # mode before the extractor had resize modes (docs/images.md).
        weights.setdefault("inception", inception_weights)
        resize.setdefault("inception", "pytorch_fid")
        if "inception" not in names:
            names.append("inception")
    declared = [get_extractor(name) for name in names]
    # User files first (cheap to check), then whatever trains.
    order = sorted(range(len(declared)), key=lambda i: declared[i].weights != "user")
    models: list[Any] = [None] * len(declared)
    skipped: dict[str, str] = {}
    for i in order:
        extractor = declared[i]
        try:
            models[i] = extractor.load(
                weights=weights.get(extractor.name), resize=resize.get(extractor.name),
                data_dir=data_dir, log=log, task=task,
            )  # fmt: skip
        except ClassifierMissing as exc:
            if extractor.name not in optional:
                raise
            skipped[extractor.name] = str(exc)
            continue
        info = models[i].info.get("weights") or {}
        if log is not None and info.get("path") and extractor.weights == "user":
            log(f"{extractor.name} weights: {info['path']} (sha256 {info.get('sha256')})")
    return ImageEvaluator([m for m in models if m is not None], skipped=skipped)


__all__ = [
    "SUITE_METRICS",
    "ImageEvaluator",
    "default_extractors",
    "load_extractor",
    "suite_metric_keys",
]
