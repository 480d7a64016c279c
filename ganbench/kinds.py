"""Dataset kinds: the vocabulary that datasets declare (``Dataset.kind``) and that the metric
catalog computes by (``MetricInfo.kind``). It lives below both, so the report can read the
catalog without importing the datasets (and their JAX samplers)."""

MIXTURE = "mixture"
"""Mixtures of Gaussians: mode coverage, FD."""
POINT_MASS = "point mass"
"""The Dirac-GAN's data: distance to the equilibrium."""
IMAGE = "image"
"""Images: metrics in an extractor's feature space."""

KINDS = (MIXTURE, POINT_MASS, IMAGE)
