"""Diagnostics: pure functions of arrays."""

from ganbench.metrics.frechet import frechet_distance, frechet_distance_from_stats, gaussian_stats
from ganbench.metrics.images import (
    class_coverage,
    density_coverage,
    fd_sample_warning,
    kid,
    pairwise_sq_dists,
    precision_recall,
    stacked_modes,
)
from ganbench.metrics.modes import ModeCoverage, assign_modes, kl_to_weights, mode_coverage

__all__ = [
    "ModeCoverage",
    "assign_modes",
    "class_coverage",
    "density_coverage",
    "fd_sample_warning",
    "frechet_distance",
    "frechet_distance_from_stats",
    "gaussian_stats",
    "kid",
    "kl_to_weights",
    "mode_coverage",
    "pairwise_sq_dists",
    "precision_recall",
    "stacked_modes",
]
