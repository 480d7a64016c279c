"""Datasets: samplers that run inside the compiled training loop. Each module registers its
datasets in :data:`ganbench.data.base.DATASETS` (mixtures of Gaussians, the Dirac-GAN's point
mass, MNIST images)."""

from ganbench.data import dirac, images, mixtures  # noqa: F401  (registers the datasets)
from ganbench.data.base import DATASETS, IMAGE, KINDS, MIXTURE, POINT_MASS, Dataset, get_dataset
from ganbench.data.mixtures import GaussianMixture

__all__ = [
    "DATASETS",
    "IMAGE",
    "KINDS",
    "MIXTURE",
    "POINT_MASS",
    "Dataset",
    "GaussianMixture",
    "get_dataset",
]
