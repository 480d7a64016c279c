"""Diagnostics: pure functions of arrays."""

from ganbench.metrics.frechet import frechet_distance, frechet_distance_from_stats, gaussian_stats
from ganbench.metrics.modes import ModeCoverage, assign_modes, kl_to_weights, mode_coverage

__all__ = [
    "ModeCoverage",
    "assign_modes",
    "frechet_distance",
    "frechet_distance_from_stats",
    "gaussian_stats",
    "kl_to_weights",
    "mode_coverage",
]
