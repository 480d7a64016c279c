"""Metric rows from samples, by dataset kind: what every evaluation of a run (and every chance
row) records. Pure NumPy on the host; nothing here imports training code."""

from __future__ import annotations

import numpy as np

from ganbench.data.base import IMAGE
from ganbench.metrics import names as M
from ganbench.metrics.catalog import Evaluation, computed_from_samples


def evaluate_samples(
    fake: np.ndarray, real: np.ndarray, dataset, metrics, evaluator=None
) -> list[tuple]:
    """Diagnostics on one evaluation's samples: (metric, value, n_real, n_fake) rows; image
    datasets are measured in the ``evaluator``'s feature space."""
    if dataset.kind == IMAGE:
        return evaluator.rows(fake, real, dataset)
    ev = Evaluation(fake, real, dataset, metrics)
    return [row for entry in computed_from_samples(dataset.kind) for row in entry.rows(ev)]


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
