"""Metric rows from samples, by dataset kind: what every evaluation of a run (and every chance
row) records. Pure NumPy on the host; nothing here imports training code."""

from __future__ import annotations

import numpy as np

from ganbench.data.dirac import PointMass
from ganbench.metrics import frechet_distance, mode_coverage
from ganbench.metrics import names as M


def evaluate_samples(
    fake: np.ndarray, real: np.ndarray, dataset, metrics, evaluator=None
) -> list[tuple]:
    """Diagnostics on one evaluation's samples: (metric, value, n_real, n_fake) rows; image
    datasets are measured in the ``evaluator``'s feature space."""
    n = int(fake.shape[0])
    if getattr(dataset, "is_image", False):
        return evaluator.rows(fake, real)
    if isinstance(dataset, PointMass):
        # The generated distribution is a point mass too: its distance to the data's point.
        theta = np.mean(np.asarray(fake, np.float64), axis=0)
        return [(M.EQ_THETA, float(np.linalg.norm(theta - np.asarray(dataset.point))), None, n)]
    mc = mode_coverage(
        fake,
        dataset.means_array(),
        dataset.stds_array(),
        weights=dataset.weights_array(),
        threshold=metrics.hq_threshold,
        min_count=metrics.min_count,
    )
    rows = [
        (M.MODES, float(mc.modes), None, n),
        (M.HQ_FRACTION, mc.hq_fraction, None, n),
        (M.REVERSE_KL, mc.reverse_kl, None, n),
        (M.FD, frechet_distance(real, fake), int(real.shape[0]), n),
    ]
    rows += [(f"{M.MODE_COUNT_PREFIX}{k}", float(c), None, n) for k, c in enumerate(mc.counts)]
    return rows


def equilibrium_rows(params: np.ndarray, dataset) -> list[tuple]:
    """The Dirac-GAN's distance to its equilibrium (theta = data point, psi = 0) from the
    players' parameters ``[theta..., psi...]``."""
    dim = dataset.dim
    theta = np.asarray(params[:dim], np.float64) - np.asarray(dataset.point, np.float64)
    psi = np.asarray(params[dim:], np.float64)
    return [
        (M.EQ_PSI, float(np.linalg.norm(psi)), None, None),
        (M.EQ_DISTANCE, float(np.sqrt(np.sum(theta**2) + np.sum(psi**2))), None, None),
    ]
