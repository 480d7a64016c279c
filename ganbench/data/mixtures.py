"""Mixtures of Gaussians in the plane, the standard mode-collapse benchmarks.

ring8: 8 modes on the unit circle at angles 2*pi*k/8 with standard deviation 0.01, as in
VEEGAN (Srivastava et al. 2017, section 5.1) and PacGAN (Lin et al. 2018, section 5.1).
grid25: 25 modes at {-4, -2, 0, 2, 4}^2 with standard deviation 0.05 (same papers).
Modes are equally likely unless a suite sets ``weights`` (see :func:`mode_weights`): unequal
weights make the rare modes the first casualties of mode collapse, the data-imbalance challenge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ganbench.data.base import DATASETS, MIXTURE, WEIGHTS_HELP, get_dataset, mode_weights


@dataclass(frozen=True)
class GaussianMixture:
    """A mixture of axis-aligned Gaussians; hashable, so it can pick a compiled program."""

    kind: ClassVar[str] = MIXTURE

    name: str
    means: tuple[tuple[float, ...], ...]
    stds: tuple[tuple[float, ...], ...]
    weights: tuple[float, ...]

    @property
    def n_modes(self) -> int:
        return len(self.means)

    @property
    def dim(self) -> int:
        return len(self.means[0])

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.dim,)

    def means_array(self) -> np.ndarray:
        return np.asarray(self.means, dtype=np.float64)

    def stds_array(self) -> np.ndarray:
        return np.asarray(self.stds, dtype=np.float64)

    def weights_array(self) -> np.ndarray:
        return np.asarray(self.weights, dtype=np.float64)

    def cdf(self) -> np.ndarray:
        """The cumulative mode weights as float32 (K,), the last exactly 1."""
        cdf = np.cumsum(self.weights_array())
        cdf[-1] = 1.0
        return cdf.astype(np.float32)

    def sample(self, key, n: int, data=None):
        """Draw ``n`` samples inside a traced computation (float32).

        A sample's mode is drawn by inverting the weights' distribution function at one
        uniform number (:func:`mode_index`), then its position from the mode's Gaussian. One
        uniform per sample instead of a Gumbel number per sample and mode (``categorical``):
        on grid25 that draw took a fifth of a training step of the mode_collapse networks."""
        import jax
        import jax.numpy as jnp

        key_mode, key_noise = jax.random.split(key)
        means = jnp.asarray(self.means, jnp.float32)
        stds = jnp.asarray(self.stds, jnp.float32)
        k = mode_index(jax.random.uniform(key_mode, (n,), jnp.float32), self.cdf())
        noise = jax.random.normal(key_noise, (n, self.dim), jnp.float32)
        return means[k] + stds[k] * noise

    def sample_numpy(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` samples on the host (float64); used by tests and oracles."""
        k = rng.choice(self.n_modes, size=n, p=self.weights_array())
        return self.means_array()[k] + self.stds_array()[k] * rng.standard_normal((n, self.dim))

    def plot_extent(self) -> tuple[float, float, float, float]:
        """A square (x_lo, x_hi, y_lo, y_hi) around the means of 2-D data with a margin of a
        quarter of their spread plus 6 standard deviations: the plane the report draws."""
        means, stds = self.means_array(), self.stds_array()
        centre = (means.max(axis=0) + means.min(axis=0)) / 2.0
        half = 1.25 * float(np.max(np.abs(means - centre))) + 6.0 * float(stds.max())
        return (
            float(centre[0] - half),
            float(centre[0] + half),
            float(centre[1] - half),
            float(centre[1] + half),
        )

    def describe(self) -> dict:
        """Effective means, standard deviations and weights, stored in every manifest."""
        return {
            "name": self.name,
            "n_modes": self.n_modes,
            "dim": self.dim,
            "means": [list(m) for m in self.means],
            "stds": [list(s) for s in self.stds],
            "weights": list(self.weights),
        }


def mode_index(u, cdf: np.ndarray):
    """The mode of each uniform number u in [0, 1): the k with cdf[k-1] <= u < cdf[k] (cdf[-1]
    = 1), so mode k has probability cdf[k] - cdf[k-1]. Counts the boundaries at or below u, a
    comparison per mode (the mixtures have tens of modes, where a binary search gains
    nothing)."""
    import jax.numpy as jnp

    bounds = jnp.asarray(cdf[:-1], jnp.float32)
    return jnp.sum(u[:, None] >= bounds[None, :], axis=1, dtype=jnp.int32)


def _mixture(name: str, means: np.ndarray, std: float) -> GaussianMixture:
    k, d = means.shape
    return GaussianMixture(
        name=name,
        means=tuple(tuple(float(v) for v in m) for m in means),
        stds=tuple((float(std),) * d for _ in range(k)),
        weights=(1.0 / k,) * k,
    )


def ring8() -> GaussianMixture:
    angles = 2.0 * np.pi * np.arange(8) / 8
    return _mixture("ring8", np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01)


def ring8_r2() -> GaussianMixture:
    angles = 2.0 * np.pi * np.arange(8) / 8
    return _mixture("ring8_r2", 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.02)


def grid25() -> GaussianMixture:
    axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    return _mixture("grid25", np.stack([xs.ravel(), ys.ravel()], axis=1), 0.05)


DATASETS.add(
    "ring8",
    ring8,
    help="8 Gaussians on the unit circle, sigma 0.01 (VEEGAN; PacGAN)",
)
DATASETS.add(
    "ring8_r2",
    ring8_r2,
    help="8 Gaussians on a circle of radius 2, sigma 0.02 (Metz et al. 2017, appendix A, the "
    "setting of Figure 1)",
)
DATASETS.add(
    "grid25",
    grid25,
    help="25 Gaussians on the grid {-4,-2,0,2,4}^2, sigma 0.05 (VEEGAN; PacGAN)",
)


__all__ = ["DATASETS", "WEIGHTS_HELP", "GaussianMixture", "get_dataset", "mode_weights"]
