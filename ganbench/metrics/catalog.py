"""The metric catalog: one entry per metric ganbench writes, with everything the rest of the
code needs to know about it.

An entry says what the metric means (``ganbench list metrics``), which way is better (reports
and comparisons), whether the summary table shows it by default and where the curves figure
draws it, and, for metrics computed from one evaluation's samples, which dataset kind computes
it and how. Adding a metric of 2-D or point-mass data is its function and one entry here: the
evaluation (:func:`ganbench.diagnostics.samples.evaluate_samples`), the EMA generator's rows,
the report, the HTML glossary and the listing all read this catalog.

Image metrics are measured in a feature extractor's space (:mod:`ganbench.extractors`): each is
declared once here as a :class:`FeatureMetric` (its key, meaning, direction, table placement,
the suites that record it and ``compute`` on a :class:`FeatureEvaluation`), and stored under a
name the extractor gives it (:meth:`ganbench.extractors.base.Extractor.metric_name`:
``fd_dinov2_vitl14``, ``fid_inception``, ``precision``, ...). Suites' image evaluations,
``ganbench eval``, the report and ``ganbench list metrics`` read the same declarations;
:func:`info` resolves any such name to its family's entry, and the names written before that
rule (``fid_mnist_cnn``, ``precision``, ...) take their entries from the same declarations.
Adding an image metric is its function (``ganbench/metrics/images.py``) and one
:class:`FeatureMetric` here.

Names ending in ``<k>`` or ``<metric>`` stand for a family (``mode_count/0``, ``ema/modes``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ganbench.kinds import MIXTURE, POINT_MASS
from ganbench.metrics import names as M
from ganbench.metrics.frechet import (
    frechet_distance,
    frechet_distance_from_stats,
    frechet_infinity,
    gaussian_stats,
)
from ganbench.metrics.images import (
    class_coverage,
    density_coverage,
    kid,
    precision_recall,
    stacked_modes,
)
from ganbench.metrics.modes import ModeCoverage, mode_coverage, top_mode_share


class Evaluation:
    """One evaluation's samples and what several metrics share (computed once, on demand)."""

    def __init__(self, fake: np.ndarray, real: np.ndarray, dataset: Any, settings: Any) -> None:
        self.fake, self.real, self.dataset, self.settings = fake, real, dataset, settings
        self.n_fake, self.n_real = int(fake.shape[0]), int(real.shape[0])

    @functools.cached_property
    def modes(self) -> ModeCoverage:
        """Mode coverage against the dataset's mixture (VEEGAN/PacGAN protocol)."""
        return mode_coverage(
            self.fake,
            self.dataset.means_array(),
            self.dataset.stds_array(),
            weights=self.dataset.weights_array(),
            threshold=self.settings.hq_threshold,
            min_count=self.settings.min_count,
        )


Value = float | list[tuple[str, float]]
"""What a metric's ``compute`` returns: its value, or (name, value) pairs for a family."""


@dataclass(frozen=True)
class MetricInfo:
    name: str
    description: str
    better: str | None = None
    """``"higher"``, ``"lower"``, or None (no direction: a statistic, not a score)."""
    table: bool = False
    """Shown in the summary table when no metrics are named."""
    curve: int | None = None
    """Position in the curves figure (None: not drawn)."""
    frechet: bool = False
    """A Fréchet distance: biased upward at small sample counts (the report says so)."""
    kind: str | None = None
    """The dataset kind whose evaluations compute it with ``compute``."""
    compute: Callable[[Evaluation], Value] | None = None
    uses_real: bool = False
    """Its value depends on the real samples too: the row records their number."""

    @property
    def higher_is_better(self) -> bool | None:
        return None if self.better is None else self.better == "higher"

    def rows(self, ev: Evaluation) -> list[tuple[str, float, int | None, int]]:
        """(metric, value, n_real, n_fake) rows of one evaluation."""
        assert self.compute is not None
        value = self.compute(ev)
        n_real = ev.n_real if self.uses_real else None
        if isinstance(value, list):
            return [(name, float(v), n_real, ev.n_fake) for name, v in value]
        return [(self.name, float(value), n_real, ev.n_fake)]


@dataclass(frozen=True)
class FeatureSettings:
    """The protocol knobs of the feature-space metrics (defaults: the papers' own)."""

    kid_subsets: int = 100
    """KID subsets (Binkowski et al. 2018's experiments: 100 subsets of 1000)."""
    kid_subset_size: int = 1000
    pr_k: int = 3
    """k of improved precision and recall (Kynkaanniemi et al. 2019's default)."""
    dc_k: int = 5
    """k of density and coverage (Naeem et al. 2020's recommendation)."""
    knn_samples: int | None = None
    """At most this many samples of each set enter the k-NN metrics (a subset drawn with
    ``np.random.default_rng(seed)``; their cost grows as N^2); None: all."""
    fd_inf_points: int = 15
    """Subset sizes of FD-infinity (Chong & Forsyth 2020)."""
    seed: int = 0


class FeatureEvaluation:
    """One evaluation in one extractor's feature space: the reference's features (or only its
    mean and covariance, as a statistics file holds them), the generated samples' features and
    their classifier labels, and what several metrics share (computed once, on demand)."""

    def __init__(
        self,
        fake: np.ndarray,
        real: np.ndarray | None = None,
        *,
        real_stats: tuple[np.ndarray, np.ndarray] | None = None,
        n_real: int | None = None,
        labels: np.ndarray | None = None,
        classes: int | None = None,
        settings: FeatureSettings | None = None,
    ) -> None:
        if real is None and real_stats is None:
            raise ValueError("a feature evaluation needs the reference's features or statistics")
        self.fake, self.real = fake, real
        self._real_stats = real_stats
        self.labels, self.classes = labels, classes
        self.settings = settings or FeatureSettings()
        self.n_fake = int(fake.shape[0])
        self.n_real = int(real.shape[0]) if real is not None else n_real

    @property
    def has_real_features(self) -> bool:
        return self.real is not None

    @functools.cached_property
    def real_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance (N - 1 denominator) of the reference, float64."""
        if self._real_stats is not None:
            return self._real_stats
        return gaussian_stats(self.real)

    @functools.cached_property
    def fake_stats(self) -> tuple[np.ndarray, np.ndarray]:
        return gaussian_stats(self.fake)

    def _knn_subset(self, x: np.ndarray, salt: int) -> np.ndarray:
        cap = self.settings.knn_samples
        if cap is None or x.shape[0] <= cap:
            return x
        rng = np.random.default_rng([self.settings.seed, salt])
        return x[np.sort(rng.choice(x.shape[0], size=cap, replace=False))]

    @functools.cached_property
    def knn_sets(self) -> tuple[np.ndarray, np.ndarray]:
        """The (real, fake) features the k-NN metrics see (all, or ``knn_samples`` of each)."""
        assert self.real is not None
        return self._knn_subset(self.real, 0), self._knn_subset(self.fake, 1)

    @functools.cached_property
    def kid(self) -> tuple[float, float]:
        s = self.settings
        return kid(
            self.real, self.fake, subsets=s.kid_subsets, subset_size=s.kid_subset_size,
            seed=s.seed,
        )  # fmt: skip

    @functools.cached_property
    def precision_recall(self) -> tuple[float, float]:
        return precision_recall(*self.knn_sets, k=self.settings.pr_k)

    @functools.cached_property
    def density_coverage(self) -> tuple[float, float]:
        return density_coverage(*self.knn_sets, k=self.settings.dc_k)

    @functools.cached_property
    def class_stats(self) -> tuple[float, float]:
        """(classes covered, KL to uniform): one label column is a class histogram over
        ``classes``; several (Stacked MNIST) count the tuples of digits."""
        labels = np.asarray(self.labels)
        if labels.shape[1] == 1:
            c = class_coverage(labels[:, 0], self.classes or 10)
            return float(c["classes_covered"]), float(c["class_kl"])
        modes = stacked_modes(labels, n_digits=labels.shape[1])
        return float(modes["modes"]), float(modes["kl"])


@dataclass(frozen=True)
class FeatureMetric:
    """A metric measured in a feature extractor's space (module docstring)."""

    key: str
    description: str
    """``{features}`` stands for the extractor's description in listings."""
    better: str | None
    compute: Callable[[FeatureEvaluation], float]
    needs: str = "features"
    """What of the reference it needs: ``"stats"`` (a mean and covariance suffice),
    ``"features"`` (the reference's features), or ``"labels"`` (the generated samples' class
    labels; a classifier's)."""
    frechet: bool = False
    table: bool = False
    uses_real: bool = True
    """The value depends on the reference: its rows record the reference's size."""
    knn: bool = False
    """A k-nearest-neighbour metric: it sees at most ``knn_samples`` of each set."""
    suite: str | None = None
    """Which image runs of a suite record it (``ganbench eval`` computes every metric):
    ``"any"``, in every extractor's features; ``"classifier"``, in a dataset's classifier's;
    ``"classifier_single"``, in a classifier's but not over several channels' concatenated
    features (Stacked MNIST's protocol has no k-NN metrics of those); None: no suite."""
    diverged: bool = False
    """Recorded (as NaN) by an evaluation of non-finite generated samples, so that the run's
    curves end visibly."""
    stored: str = "{key}_{extractor}"
    """The name results store it under, measured in an extractor's features: ``{key}``,
    ``{extractor}`` (the extractor's name) and ``{fd}`` (the name of the Fréchet distance in the
    same features) are filled in; an extractor may name a metric otherwise
    (:attr:`ganbench.extractors.base.Extractor.names`)."""

    @property
    def higher_is_better(self) -> bool | None:
        return None if self.better is None else self.better == "higher"

    def stored_name(self, extractor: str, fd: str | None = None) -> str:
        """The name of this metric in ``extractor``'s features (``fd``: the Fréchet distance's
        name there, when it is not the rule's).

        >>> FEATURE_BY_KEY["kid_std"].stored_name("inception")
        'kid_inception_std'
        >>> FEATURE_BY_KEY["fd_inf"].stored_name("mnist_cnn", fd="fid_mnist_cnn")
        'fid_mnist_cnn_inf'
        """
        if fd is None and "{fd}" in self.stored:
            fd = FEATURE_BY_KEY["fd"].stored_name(extractor)
        return self.stored.format(key=self.key, extractor=extractor, fd=fd)

    def counts(self, ev: FeatureEvaluation) -> tuple[int | None, int]:
        """(reference, generated) sample counts behind the value."""
        n_real, n_fake = (ev.n_real if self.uses_real else None), ev.n_fake
        cap = ev.settings.knn_samples
        if self.knn and cap is not None:
            n_real = None if n_real is None else min(n_real, cap)
            n_fake = min(n_fake, cap)
        return n_real, n_fake


FEATURE_METRICS: tuple[FeatureMetric, ...] = (
    FeatureMetric(
        "fd", "Frechet distance of Gaussian fits (Heusel et al. 2017), float64, symmetric eigh "
        "form; biased upward at small N", "lower",
        lambda ev: frechet_distance_from_stats(*ev.real_stats, *ev.fake_stats), needs="stats",
        frechet=True, table=True, suite="any", diverged=True,
    ),
    FeatureMetric(
        "fd_inf", "FD-infinity (Chong & Forsyth 2020): the Frechet distance extrapolated to "
        "N -> infinity from 15 subset sizes (N/10 .. N) of the generated set", "lower",
        lambda ev: frechet_infinity(
            ev.fake, *ev.real_stats, points=ev.settings.fd_inf_points, seed=ev.settings.seed
        )[0], needs="stats", frechet=True, stored="{fd}_inf",
    ),
    FeatureMetric(
        "kid", "kernel distance (unbiased MMD^2, cubic kernel; Binkowski et al. 2018), mean "
        "over subsets", "lower", lambda ev: ev.kid[0], table=True, suite="any", diverged=True,
    ),
    FeatureMetric(
        "kid_std", "standard deviation of the KID estimate over its subsets", None,
        lambda ev: ev.kid[1], suite="any", stored="kid_{extractor}_std",
    ),
    FeatureMetric(
        "precision", "improved precision, k = 3 (Kynkaanniemi et al. 2019): generated samples "
        "inside the real manifold", "higher", lambda ev: ev.precision_recall[0], table=True, knn=True,
        suite="classifier_single",
    ),
    FeatureMetric(
        "recall", "improved recall, k = 3: real samples inside the generated manifold",
        "higher", lambda ev: ev.precision_recall[1], table=True, knn=True,
        suite="classifier_single",
    ),
    FeatureMetric(
        "density", "density, k = 5 (Naeem et al. 2020); 1 for samples of the data "
        "distribution", "higher", lambda ev: ev.density_coverage[0], table=True, knn=True,
        suite="classifier_single",
    ),
    FeatureMetric(
        "coverage", "coverage, k = 5 (Naeem et al. 2020): real neighbourhoods holding a "
        "generated sample", "higher", lambda ev: ev.density_coverage[1], table=True, knn=True,
        suite="classifier_single",
    ),
    FeatureMetric(
        "classes", "classes (or, for several channels, tuples of classes such as Stacked "
        "MNIST's digit triples) the classifier finds in the generated samples", "higher",
        lambda ev: ev.class_stats[0], needs="labels", table=True, uses_real=False,
        suite="classifier", diverged=True,
    ),
    FeatureMetric(
        "class_kl", "KL(generated class histogram || uniform), nats", "lower",
        lambda ev: ev.class_stats[1], needs="labels", table=True, uses_real=False,
        suite="classifier",
    ),
)  # fmt: skip
"""Every metric of a feature space, in the order evaluations record them."""

FEATURE_BY_KEY: dict[str, FeatureMetric] = {m.key: m for m in FEATURE_METRICS}

LABEL_KEYS = tuple(m.key for m in FEATURE_METRICS if m.needs == "labels")
"""The feature metrics that need a classifier's labels: only a classifier's features give them."""

DIVERGED_FEATURE_KEYS = tuple(m.key for m in FEATURE_METRICS if m.diverged)
"""What an evaluation of non-finite generated samples records (as NaN) of an extractor's
metrics: the headline ones, so the run's curves end visibly."""

SUITE_SCOPES: dict[str, tuple[str, ...]] = {
    "classifier": ("any", "classifier", "classifier_single"),
    "classifier, several channels": ("any", "classifier"),
    "features": ("any",),
}
"""Which :attr:`FeatureMetric.suite` scopes an image run records, by extractor: a classifier
of the dataset's images (on one-channel and on several-channel images), any other extractor."""


def suite_feature_keys(kind: str) -> tuple[str, ...]:
    """The feature-metric keys a suite records in an extractor of ``kind`` (a key of
    :data:`SUITE_SCOPES`), in :data:`FEATURE_METRICS` order.

    >>> suite_feature_keys("features")
    ('fd', 'kid', 'kid_std')
    >>> suite_feature_keys("classifier, several channels")
    ('fd', 'kid', 'kid_std', 'classes', 'class_kl')
    """
    scopes = SUITE_SCOPES[kind]
    return tuple(m.key for m in FEATURE_METRICS if m.suite in scopes)


def feature_rows(
    ev: FeatureEvaluation, names: dict[str, str], keys: tuple[str, ...] | list[str]
) -> list[tuple[str, float, int | None, int]]:
    """(metric, value, n_real, n_fake) rows of the metrics ``keys`` of one evaluation, stored
    under ``names[key]`` (an extractor's :meth:`~ganbench.extractors.base.Extractor.metric_names`).
    """
    rows = []
    for key in keys:
        metric = FEATURE_BY_KEY[key]
        rows.append((names[key], float(metric.compute(ev)), *metric.counts(ev)))
    return rows


def _eq_theta(ev: Evaluation) -> float:
    """The generated distribution is a point mass too: its distance to the data's point."""
    theta = np.mean(np.asarray(ev.fake, np.float64), axis=0)
    return float(np.linalg.norm(theta - np.asarray(ev.dataset.point)))


def _mode_counts(ev: Evaluation) -> list[tuple[str, float]]:
    return [(f"{M.MODE_COUNT_PREFIX}{k}", float(c)) for k, c in enumerate(ev.modes.counts)]


def _stat(name: str, what: str, *, better: str | None = None, **kw: Any) -> MetricInfo:
    return MetricInfo(name, what, better, **kw)


MNIST_FEATURES = "the 128-d penultimate features of ganbench's MNIST classifier"
INCEPTION_FEATURES = (
    "the 2048-d pool3 features of the FID Inception-v3 ([metrics] inception_weights; resized "
    "as pytorch-fid resizes)"
)


def _in_features(name: str, key: str, features: str, *, curve: int | None = None) -> MetricInfo:
    """The entry of a feature metric under a name of its own: the metric's declaration
    (:data:`FEATURE_METRICS`) with the features it is measured in."""
    metric = FEATURE_BY_KEY[key]
    return MetricInfo(
        name, f"images: {metric.description}; in {features}", metric.better, table=metric.table,
        curve=curve, frechet=metric.frechet, uses_real=metric.uses_real,
    )  # fmt: skip


CATALOG: tuple[MetricInfo, ...] = (
    # Mixtures of Gaussians: mode coverage (VEEGAN section 5.1; PacGAN's code) and data-space FD.
    MetricInfo(
        M.MODES, "modes with at least min_count high-quality samples", "higher", table=True,
        curve=6, kind=MIXTURE, compute=lambda ev: float(ev.modes.modes),
    ),
    MetricInfo(
        M.HQ_FRACTION, "fraction of samples within the HQ threshold of their nearest mode",
        "higher", table=True, curve=7, kind=MIXTURE, compute=lambda ev: ev.modes.hq_fraction,
    ),
    MetricInfo(
        M.REVERSE_KL, "KL(generated mode histogram || true mode weights), nats", "lower",
        table=True, curve=8, kind=MIXTURE, compute=lambda ev: ev.modes.reverse_kl,
    ),
    MetricInfo(
        M.TOP_MODE_SHARE, "share of all samples whose nearest mode is the most common one, "
        "high quality or not: near 1 when the generator's samples sit in one blob (collapsed "
        "onto one mode), the largest mode weight for the data", table=True, curve=19,
        kind=MIXTURE, compute=lambda ev: top_mode_share(ev.modes.nearest, ev.modes.n_samples),
    ),
    MetricInfo(
        M.FD, "Frechet distance between real and generated samples in data space", "lower",
        table=True, curve=9, frechet=True, kind=MIXTURE, uses_real=True,
        compute=lambda ev: frechet_distance(ev.real, ev.fake),
    ),
    # Images under the names written before extractors named their metrics: each takes its
    # meaning, direction and table placement from its FeatureMetric; only the features and the
    # curves panel are its own.
    _in_features(M.FID_MNIST, "fd", MNIST_FEATURES + " (not Inception FID)", curve=10),
    _in_features(M.KID_MNIST, "kid", MNIST_FEATURES, curve=11),
    _in_features(M.KID_MNIST_STD, "kid_std", MNIST_FEATURES),
    _in_features(M.FID_INCEPTION, "fd", INCEPTION_FEATURES),
    _in_features(M.KID_INCEPTION, "kid", INCEPTION_FEATURES),
    _in_features(M.KID_INCEPTION_STD, "kid_std", INCEPTION_FEATURES),
    _in_features(M.PRECISION, "precision", MNIST_FEATURES, curve=12),
    _in_features(M.RECALL, "recall", MNIST_FEATURES, curve=13),
    _in_features(M.DENSITY, "density", MNIST_FEATURES),
    _in_features(M.COVERAGE, "coverage", MNIST_FEATURES, curve=14),
    _in_features(
        M.CLASSES, "classes", "ganbench's MNIST classifier's labels (of 10 digits; on Stacked "
        "MNIST, of 1000 digit triples)", curve=15,
    ),
    _in_features(M.CLASS_KL, "class_kl", "ganbench's MNIST classifier's labels"),
    # The Dirac-GAN (Mescheder et al. 2018, section 2.2): distance to its equilibrium.
    MetricInfo(
        M.EQ_THETA, "point-mass data (Dirac-GAN): |theta - x*|, the generated point's distance "
        "to the data point", "lower", kind=POINT_MASS, compute=_eq_theta,
    ),
    MetricInfo(
        M.EQ_PSI, "Dirac-GAN: |psi|, the linear discriminator's weight (0 at the equilibrium)",
        "lower",
    ),
    MetricInfo(
        M.EQ_DISTANCE, "Dirac-GAN: distance of (theta, psi) to the equilibrium (x*, 0)", "lower",
        table=True, curve=16,
    ),
    # Eigenvalues of the Jacobian of the game's vector field (Mescheder et al. 2017).
    MetricInfo(
        M.JAC_MAX_REAL, "largest real part of the eigenvalues of the Jacobian of the game's "
        "gradient vector field (traced models); > 0: locally repelling", curve=17,
    ),
    MetricInfo(
        M.JAC_IMAG_RATIO, "largest |Im|/|Re| over those eigenvalues (inf: purely imaginary, "
        "rotation without damping)",
    ),
    MetricInfo(
        M.JAC_RADIUS, "spectral radius of the plain gradient-step update map I + diag(lr) J; "
        "< 1: locally convergent", curve=18,
    ),
    MetricInfo(
        M.MODE_COUNT_PREFIX + "<k>", "high-quality samples assigned to mode k (k = 0, 1, ... in "
        "the dataset's mode order)", kind=MIXTURE, compute=_mode_counts,
    ),
    # Training statistics, reduced over each chunk on the device.
    MetricInfo(M.LOSS_D, "discriminator loss without the penalty, chunk mean", curve=0),
    MetricInfo(
        M.LOSS_D_REAL, "the part of the discriminator loss computed on real samples, chunk mean"
    ),
    MetricInfo(
        M.LOSS_D_FAKE,
        "the part of the discriminator loss computed on generated samples, chunk mean",
    ),
    MetricInfo(M.LOSS_G, "generator loss, chunk mean", curve=1),
    MetricInfo(
        M.PENALTY, "penalty added to the discriminator loss, weight included (0 without one), "
        "chunk mean",
    ),
    MetricInfo(M.D_REAL, "mean discriminator output on real samples, chunk mean", curve=2),
    MetricInfo(M.D_FAKE, "mean discriminator output on generated samples, chunk mean", curve=3),
    MetricInfo(
        M.GRAD_NORM_D + "_mean", "global L2 norm of D's parameter gradient, chunk mean",
        table=True, curve=4,
    ),
    MetricInfo(M.GRAD_NORM_D + "_max", "global L2 norm of D's parameter gradient, chunk max"),
    MetricInfo(
        M.GRAD_NORM_G + "_mean", "global L2 norm of G's parameter gradient, chunk mean",
        table=True, curve=5,
    ),
    MetricInfo(M.GRAD_NORM_G + "_max", "global L2 norm of G's parameter gradient, chunk max"),
    MetricInfo(
        M.INPUT_GRAD_REAL + "_mean",
        "norm of D's gradient w.r.t. its input on real samples, chunk mean",
    ),
    MetricInfo(
        M.INPUT_GRAD_REAL + "_max", "norm of D's gradient w.r.t. its input on real samples, "
        "chunk max",
    ),
    MetricInfo(
        M.INPUT_GRAD_FAKE + "_mean",
        "norm of D's gradient w.r.t. its input on fake samples, chunk mean",
    ),
    MetricInfo(
        M.INPUT_GRAD_FAKE + "_max", "norm of D's gradient w.r.t. its input on fake samples, "
        "chunk max",
    ),
    MetricInfo(
        M.UPDATE_RATIO_G + "_mean",
        "|G's parameter change in a step| / |G's parameters|, chunk mean",
    ),
    MetricInfo(
        M.UPDATE_RATIO_G + "_max", "|G's parameter change in a step| / |G's parameters|, chunk max"
    ),
    MetricInfo(
        M.UPDATE_RATIO_D + "_mean",
        "|D's parameter change in a step| / |D's parameters|, chunk mean",
    ),
    MetricInfo(
        M.UPDATE_RATIO_D + "_max", "|D's parameter change in a step| / |D's parameters|, chunk max"
    ),
    MetricInfo(
        M.LAYER_GRAD_PREFIX + "<player>/<layer>", "L2 norm of one layer's parameter gradient "
        "(player g or d; D's averaged over the n_critic updates of a step), chunk mean; with "
        "[metrics] layer_grads = true",
    ),
    MetricInfo(
        M.EMA_PREFIX + "<metric>", "every metric computed from samples (mode coverage, FD, image "
        "metrics, ...), for the generator's exponential moving average (written when ema is on)",
    ),
)  # fmt: skip
"""Every metric ganbench writes, in the order ``ganbench list metrics`` shows them."""

BY_NAME: dict[str, MetricInfo] = {m.name: m for m in CATALOG}


def _feature_entry(metric: FeatureMetric) -> MetricInfo:
    return MetricInfo(
        _FEATURE_FAMILY[metric.key], "images: " + metric.description + " in an extractor's "
        "features (ganbench list extractors)", metric.better, table=metric.table,
        frechet=metric.frechet, uses_real=metric.uses_real,
    )  # fmt: skip


_FEATURE_FAMILY = {m.key: m.stored_name("<extractor>", fd="<fd>") for m in FEATURE_METRICS}
"""The names a feature metric takes in results (:attr:`FeatureMetric.stored`)."""

FEATURE_FAMILIES: dict[str, MetricInfo] = {m.key: _feature_entry(m) for m in FEATURE_METRICS}
"""The catalog entry of each feature metric's family of names."""


def feature_key(metric: str) -> str | None:
    """The feature-metric key (:data:`FEATURE_METRICS`) of a stored name, or None.

    >>> [feature_key(m) for m in ("fd_dinov2_vitl14", "fid_inception_inf", "kid_x_std", "fd")]
    ['fd', 'fd_inf', 'kid_std', None]
    """
    metric = metric.removeprefix(M.EMA_PREFIX)
    if metric in BY_NAME:
        return _LEGACY_FEATURE_KEYS.get(metric)
    for key, (prefix, suffix) in _STORED_PATTERNS:
        if not metric.endswith(suffix) or len(metric) <= len(prefix) + len(suffix):
            continue
        if prefix == "{fd}":  # named after the Fréchet distance in the same features
            if feature_key(metric[: -len(suffix)]) == "fd":
                return key
        elif metric.startswith(prefix):
            return key
    return None


def _pattern(metric: FeatureMetric) -> tuple[str, str]:
    """(prefix, suffix) around the extractor's name in a stored name (``{fd}`` as the prefix
    of names made from the Fréchet distance's)."""
    if metric.stored.startswith("{fd}"):
        return "{fd}", metric.stored.removeprefix("{fd}")
    prefix, suffix = metric.stored.format(key=metric.key, extractor="\0", fd="").split("\0")
    return prefix, suffix


_STORED_PATTERNS = sorted(
    ((m.key, _pattern(m)) for m in FEATURE_METRICS),
    key=lambda item: (item[1][0] != "{fd}", -len(item[1][0]) - len(item[1][1])),
)
"""Each feature metric's stored-name pattern, the most specific first (``{fd}_inf``,
``kid_..._std`` and ``class_kl_...`` before ``kid_...`` and ``classes_...``)."""


_LEGACY_FEATURE_KEYS = {
    M.FID_MNIST: "fd", M.KID_MNIST: "kid", M.KID_MNIST_STD: "kid_std",
    M.FID_INCEPTION: "fd", M.KID_INCEPTION: "kid", M.KID_INCEPTION_STD: "kid_std",
    M.PRECISION: "precision", M.RECALL: "recall", M.DENSITY: "density",
    M.COVERAGE: "coverage", M.CLASSES: "classes", M.CLASS_KL: "class_kl",
}  # fmt: skip
"""Names written before the rule, each with its feature metric."""


def info(metric: str) -> MetricInfo | None:
    """The entry of a metric name (``ema/`` names: the plain metric's; family members: the
    family's, feature metrics of any extractor included), or None for a name ganbench does not
    write."""
    metric = metric.removeprefix(M.EMA_PREFIX)
    if metric in BY_NAME:
        return BY_NAME[metric]
    if metric.startswith(M.MODE_COUNT_PREFIX):
        return BY_NAME[M.MODE_COUNT_PREFIX + "<k>"]
    if metric.startswith(M.LAYER_GRAD_PREFIX):
        return BY_NAME[M.LAYER_GRAD_PREFIX + "<player>/<layer>"]
    key = feature_key(metric)
    if key is not None:
        return FEATURE_FAMILIES[key]
    return None


def higher_is_better(metric: str) -> bool | None:
    """Which way is better for any metric name (None: no direction, or not a metric ganbench
    writes)."""
    entry = info(metric)
    return None if entry is None else entry.higher_is_better


def default_columns(available) -> list[str]:
    """The metrics a summary shows when none are named: those of :data:`TABLE_METRICS` the
    results hold, in catalog order, then feature metrics of other extractors marked for the
    table, in the order given."""
    present = set(available)
    chosen = [m for m in TABLE_METRICS if m in present]
    for m in available:
        if m not in chosen and m not in BY_NAME and not m.startswith(M.EMA_PREFIX):
            entry = info(m)
            if entry is not None and entry.table:
                chosen.append(m)
    return chosen


def computed_from_samples(kind: str) -> tuple[MetricInfo, ...]:
    """The entries an evaluation of a dataset of ``kind`` computes, in catalog order."""
    return tuple(m for m in CATALOG if m.kind == kind and m.compute is not None)


HIGHER_IS_BETTER: dict[str, bool] = {
    m.name: m.higher_is_better for m in CATALOG if m.higher_is_better is not None
}
"""Which way is better, for the metrics that have a direction."""

DESCRIPTIONS: dict[str, str] = {m.name: m.description for m in CATALOG}
"""One line per metric (and family), shown by ``ganbench list metrics``."""

TABLE_METRICS: tuple[str, ...] = tuple(m.name for m in CATALOG if m.table)
"""What the summary table shows when no metrics are named (those the results hold)."""

CURVE_METRICS: tuple[str, ...] = tuple(
    m.name for m in sorted((m for m in CATALOG if m.curve is not None), key=lambda m: m.curve)
)
"""Metrics drawn as curves when recorded, in panel order."""


def is_frechet(metric: str) -> bool:
    """Whether a metric is a Fréchet distance (biased upward at small sample counts)."""
    entry = info(metric)
    return entry is not None and entry.frechet
