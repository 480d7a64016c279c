"""Datasets: samplers that run inside the compiled training loop. Each module registers its
datasets in :data:`ganbench.data.base.DATASETS` (mixtures of Gaussians, the Dirac-GAN's point
mass, MNIST images)."""

from ganbench.data import (  # noqa: F401  (each registers its datasets)
    cifar10,
    dirac,
    folders,
    images,
    mixtures,
)
from ganbench.data.base import (
    DATASETS,
    FAMILIES,
    IMAGE,
    KINDS,
    MIXTURE,
    POINT_MASS,
    Dataset,
    dataset_problem,
    get_dataset,
)
from ganbench.data.mixtures import GaussianMixture

__all__ = [
    "DATASETS",
    "FAMILIES",
    "IMAGE",
    "KINDS",
    "MIXTURE",
    "POINT_MASS",
    "Dataset",
    "GaussianMixture",
    "dataset_problem",
    "get_dataset",
]
