"""The Dirac-GAN's data: a point mass at the origin (Mescheder et al. 2018, section 2.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ganbench.data.base import DATASETS, POINT_MASS


@dataclass(frozen=True)
class PointMass:
    """All samples equal ``point``; the Dirac-GAN's data is ``point = (0,)``."""

    name: str
    point: tuple[float, ...]
    weights: tuple[float, ...] = (1.0,)

    kind: ClassVar[str] = POINT_MASS
    n_modes = 1

    @property
    def dim(self) -> int:
        return len(self.point)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.dim,)

    def sample(self, key, n: int, data=None):
        import jax.numpy as jnp

        del key, data  # deterministic
        return jnp.broadcast_to(jnp.asarray(self.point, jnp.float32), (n, self.dim))

    def sample_numpy(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.point, np.float64), (n, self.dim)).copy()

    def describe(self) -> dict:
        return {"name": self.name, "kind": "point mass", "dim": self.dim, "point": list(self.point)}


def dirac() -> PointMass:
    return PointMass("dirac", (0.0,))


DATASETS.add(
    "dirac",
    dirac,
    help="point mass at 0 in R^1, the Dirac-GAN's data (Mescheder et al. 2018, section 2.2); "
    "pair it with generator arch 'point' and discriminator arch 'linear'",
)
