"""Mixtures of Gaussians in the plane, the standard mode-collapse benchmarks.

ring8: 8 modes on the unit circle at angles 2*pi*k/8 with standard deviation 0.01, as in
VEEGAN (Srivastava et al. 2017, section 5.1) and PacGAN (Lin et al. 2018, section 5.1).
grid25: 25 modes at {-4, -2, 0, 2, 4}^2 with standard deviation 0.05 (same papers).
Modes are equally likely unless a suite sets ``weights`` (see :func:`mode_weights`): unequal
weights make the rare modes the first casualties of mode collapse, the data-imbalance challenge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ganbench.registry import Registry


@dataclass(frozen=True)
class GaussianMixture:
    """A mixture of axis-aligned Gaussians; hashable, so it can pick a compiled program."""

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


def grid25() -> GaussianMixture:
    axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    return _mixture("grid25", np.stack([xs.ravel(), ys.ravel()], axis=1), 0.05)


DATASETS: Registry = Registry("dataset")
DATASETS.add(
    "ring8",
    ring8,
    help="8 Gaussians on the unit circle, sigma 0.01 (VEEGAN; PacGAN)",
)
DATASETS.add(
    "grid25",
    grid25,
    help="25 Gaussians on the grid {-4,-2,0,2,4}^2, sigma 0.05 (VEEGAN; PacGAN)",
)


WEIGHTS_HELP = (
    '"uniform" (default), "geometric" (w_k proportional to 0.5^k), "geometric:<r>" with r in '
    '(0, 1], "longtail:<f>" (geometric with the first mode f >= 1 times as likely as the last), '
    "or a list of one positive number per mode (normalised to sum to 1)"
)


def mode_weights(spec: str | Sequence[float], k: int) -> tuple[float, ...]:
    """Mode weights of a ``weights`` setting for a mixture of ``k`` modes.

    ``"geometric:r"`` gives w_k proportional to r^k (k = 0..K-1): mode 0 is the most likely and
    the last mode the rarest, at r^(K-1) of the first. ``"longtail:f"`` is the same profile
    with r = f^(-1/(K-1)), so the first mode is f times as likely as the last whatever K is: the
    exponential long-tail profile with imbalance factor f of Cui et al. 2019 (section 5.1).

    >>> [round(w, 4) for w in mode_weights("geometric", 3)]
    [0.5714, 0.2857, 0.1429]
    >>> [round(w, 4) for w in mode_weights("longtail:4", 3)]
    [0.5714, 0.2857, 0.1429]

    Raises:
      ValueError: with a message naming the allowed values.
    """
    if isinstance(spec, str):
        if spec == "uniform":
            raw = [1.0] * k
        elif spec == "geometric" or spec.startswith("geometric:"):
            text = spec.partition(":")[2] or "0.5"
            try:
                r = float(text)
            except ValueError:
                raise ValueError(
                    f"bad ratio {text!r} in weights {spec!r}; {WEIGHTS_HELP}"
                ) from None
            if not (math.isfinite(r) and 0.0 < r <= 1.0):
                raise ValueError(f"the geometric ratio must be in (0, 1], got {r!r}")
            raw = [r**i for i in range(k)]
        elif spec.startswith("longtail:"):
            text = spec.partition(":")[2]
            try:
                f = float(text)
            except ValueError:
                raise ValueError(
                    f"bad factor {text!r} in weights {spec!r}; {WEIGHTS_HELP}"
                ) from None
            if not (math.isfinite(f) and 1.0 <= f <= 1e6):
                raise ValueError(f"the long-tail factor must be in [1, 1e6], got {f!r}")
            raw = [f ** (-i / (k - 1)) if k > 1 else 1.0 for i in range(k)]
        else:
            raise ValueError(f"unknown weights {spec!r}; allowed: {WEIGHTS_HELP}")
    else:
        raw = list(spec)
        if len(raw) != k:
            raise ValueError(f"weights lists {len(raw)} numbers but the dataset has {k} modes")
        if any(isinstance(w, bool) or not isinstance(w, int | float) for w in raw):
            raise ValueError(f"weights must be numbers, got {list(spec)!r}")
        if any(not (math.isfinite(w) and w > 0) for w in raw):
            raise ValueError(f"weights must be positive and finite, got {list(spec)!r}")
    total = math.fsum(raw)
    return tuple(float(w) / total for w in raw)


def _dirac():
    from ganbench.data.dirac import dirac

    return dirac()


DATASETS.add(
    "dirac",
    _dirac,
    help="point mass at 0 in R^1, the Dirac-GAN's data (Mescheder et al. 2018, section 2.2); "
    "pair it with generator arch 'point' and discriminator arch 'linear'",
)


def _mnist():
    from ganbench.data.images import mnist

    return mnist()


def _stacked_mnist():
    from ganbench.data.images import stacked_mnist

    return stacked_mnist()


DATASETS.add(
    "mnist",
    _mnist,
    help="MNIST training digits, 28 x 28 x 1 in [-1, 1] (needs the files: ganbench data fetch "
    "mnist, or ganbench data import mnist DIR)",
)
DATASETS.add(
    "stacked_mnist",
    _stacked_mnist,
    help="three MNIST digits as the channels of one 28 x 28 x 3 image, 1000 modes (Metz et al. "
    "2017; VEEGAN; PacGAN)",
)


def get_dataset(name: str, weights: str | Sequence[float] = "uniform") -> GaussianMixture:
    """The registered mixture ``name`` with the mode weights of a ``weights`` setting."""
    mixture = DATASETS.get(name)()
    if isinstance(weights, str) and weights == "uniform":
        return mixture
    return replace(mixture, weights=mode_weights(weights, mixture.n_modes))
