"""The metric catalog: one entry per metric ganbench writes, with everything the rest of the
code needs to know about it.

An entry says what the metric means (``ganbench list metrics``), which way is better (reports
and comparisons), whether the summary table shows it by default and where the curves figure
draws it, and, for metrics computed from one evaluation's samples, which dataset kind computes
it and how. Adding a metric of 2-D or point-mass data is its function and one entry here: the
evaluation (:func:`ganbench.diagnostics.samples.evaluate_samples`), the EMA generator's rows,
the report, the HTML glossary and the listing all read this catalog. Image metrics are measured
in an extractor's feature space by :mod:`ganbench.diagnostics.image_eval`; their entries carry
the rest.

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
from ganbench.metrics.frechet import frechet_distance
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


def _eq_theta(ev: Evaluation) -> float:
    """The generated distribution is a point mass too: its distance to the data's point."""
    theta = np.mean(np.asarray(ev.fake, np.float64), axis=0)
    return float(np.linalg.norm(theta - np.asarray(ev.dataset.point)))


def _mode_counts(ev: Evaluation) -> list[tuple[str, float]]:
    return [(f"{M.MODE_COUNT_PREFIX}{k}", float(c)) for k, c in enumerate(ev.modes.counts)]


def _stat(name: str, what: str, *, better: str | None = None, **kw: Any) -> MetricInfo:
    return MetricInfo(name, what, better, **kw)


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
    # Images (MNIST): in the features of ganbench's own MNIST classifier; never plain "FID".
    MetricInfo(
        M.FID_MNIST, "images: Frechet distance in the 128-d penultimate features of ganbench's "
        "MNIST classifier (not Inception FID)", "lower", table=True, curve=10, frechet=True,
    ),
    MetricInfo(
        M.KID_MNIST, "images: kernel distance (unbiased MMD^2, cubic kernel; Binkowski et al. "
        "2018) in the same features, mean over subsets", "lower", table=True, curve=11,
    ),
    MetricInfo(M.KID_MNIST_STD, "images: standard deviation of the KID estimate over its subsets"),
    MetricInfo(
        M.FID_INCEPTION, "images, with [metrics] inception_weights: Frechet distance in the "
        "2048-d pool3 features of the FID Inception-v3 (pt_inception-2015-12-05); images resized "
        "to 299 x 299 with JAX's bilinear resize, which differs slightly from the reference "
        "implementations' (TensorFlow, PyTorch), so close to but not identical with published "
        "FIDs; biased upward at small N", "lower", table=True, frechet=True,
    ),
    MetricInfo(
        M.KID_INCEPTION, "images, with [metrics] inception_weights: kernel distance (unbiased "
        "MMD^2, cubic kernel; Binkowski et al. 2018) in the same Inception features, mean over "
        "subsets", "lower", table=True,
    ),
    MetricInfo(
        M.KID_INCEPTION_STD, "images, with [metrics] inception_weights: standard deviation of "
        "kid_inception over its subsets",
    ),
    MetricInfo(
        M.PRECISION, "images: improved precision, k = 3 (Kynkaanniemi et al. 2019): generated "
        "samples inside the real manifold", "higher", table=True, curve=12,
    ),
    MetricInfo(
        M.RECALL, "images: improved recall, k = 3: real samples inside the generated manifold",
        "higher", table=True, curve=13,
    ),
    MetricInfo(
        M.DENSITY, "images: density, k = 5 (Naeem et al. 2020); 1 for samples of the data "
        "distribution", "higher", table=True,
    ),
    MetricInfo(
        M.COVERAGE, "images: coverage, k = 5 (Naeem et al. 2020): real neighbourhoods holding a "
        "generated sample", "higher", table=True, curve=14,
    ),
    MetricInfo(
        M.CLASSES, "images: digit classes (MNIST, of 10) or digit triples (Stacked MNIST, of "
        "1000) the classifier finds in the generated samples", "higher", table=True, curve=15,
    ),
    MetricInfo(
        M.CLASS_KL, "images: KL(generated class histogram || uniform), nats", "lower", table=True
    ),
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


def info(metric: str) -> MetricInfo | None:
    """The entry of a metric name (``ema/`` names: the plain metric's; family members: the
    family's), or None for a name ganbench does not write."""
    metric = metric.removeprefix(M.EMA_PREFIX)
    if metric in BY_NAME:
        return BY_NAME[metric]
    if metric.startswith(M.MODE_COUNT_PREFIX):
        return BY_NAME[M.MODE_COUNT_PREFIX + "<k>"]
    if metric.startswith(M.LAYER_GRAD_PREFIX):
        return BY_NAME[M.LAYER_GRAD_PREFIX + "<player>/<layer>"]
    return None


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
