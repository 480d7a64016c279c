"""Datasets: samplers that run inside the compiled training loop."""

from ganbench.data.mixtures import DATASETS, GaussianMixture, get_dataset

__all__ = ["DATASETS", "GaussianMixture", "get_dataset"]
