"""Mode coverage on mixtures of Gaussians.

Protocol of VEEGAN (Srivastava et al. 2017, section 5.1) as implemented in PacGAN's code
(Lin et al. 2018, github.com/fjxmlzn/PacGAN, 2D-grid/2D-ring experiments): each sample is assigned
to the mode with the smallest per-dimension standardised distance
``sqrt(sum_d (x_d - mu_kd)^2 / sigma_kd^2)``; it is high quality (HQ) when that distance is below
``threshold`` (3 standard deviations); a mode is covered when it has at least ``min_count`` HQ
samples. ``reverse_kl`` is KL(p_hat || w) with p_hat the histogram of HQ samples over modes and w
the true mode weights (uniform weights give ``ln K - H(p_hat)``), in nats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ModeCoverage:
    modes: int
    """Number of modes with at least ``min_count`` HQ samples."""
    hq_fraction: float
    """HQ samples / all samples."""
    reverse_kl: float
    """KL(p_hat || weights) in nats; NaN when there is no HQ sample."""
    counts: np.ndarray
    """HQ samples per mode, shape (K,)."""
    n_samples: int
    nearest: np.ndarray | None = None
    """Samples (finite ones, HQ or not) whose nearest mode is each mode, shape (K,)."""


ASSIGN_BLOCK_BYTES = 32 << 20
"""Memory for the standardised differences of one block of samples in :func:`assign_modes`."""


def assign_modes(
    samples: np.ndarray, means: np.ndarray, stds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest mode by standardised distance.

    Args:
      samples: (N, D) array.
      means: (K, D) mode centres.
      stds: (K, D) per-mode, per-dimension standard deviations.

    Returns:
      ``(index, distance)``: (N,) int mode index and (N,) standardised distance to it.
    """
    x = np.asarray(samples, np.float64)
    mu = np.asarray(means, np.float64)
    sd = np.asarray(stds, np.float64)
    if x.ndim != 2 or mu.ndim != 2 or x.shape[1] != mu.shape[1] or sd.shape != mu.shape:
        raise ValueError(
            f"shape mismatch: samples {x.shape}, means {mu.shape}, stds {sd.shape}; "
            "expected (N, D), (K, D), (K, D)"
        )
    n = x.shape[0]
    index = np.empty(n, np.intp)
    nearest = np.empty(n, np.float64)
    # In blocks of samples, so the (block, K, D) differences stay near ASSIGN_BLOCK_BYTES
    # whatever N is; each sample's arithmetic is the same in any block.
    block = max(1, ASSIGN_BLOCK_BYTES // (8 * max(1, mu.size)))
    for start in range(0, n, block):
        xs = x[start : start + block]
        z = (xs[:, None, :] - mu[None, :, :]) / sd[None, :, :]
        dist = np.sqrt(np.sum(z * z, axis=-1))  # (block, K)
        # Non-finite samples are assigned nowhere: their distance is +inf.
        dist = np.where(np.isfinite(dist), dist, np.inf)
        i = np.argmin(dist, axis=1)
        index[start : start + block] = i
        nearest[start : start + block] = dist[np.arange(xs.shape[0]), i]
    return index, nearest


def top_mode_share(nearest: np.ndarray, n_samples: int) -> float:
    """The share of all ``n_samples`` samples whose nearest mode is the most common one:
    ``max_k nearest_k / n``, with ``nearest`` the histogram of every (finite) sample's nearest
    mode, high quality or not. One blob reads near 1 wherever it sits, however imprecise: the
    textbook mode collapse (Metz et al. 2017, Figure 1), which the mode count and the HQ fraction
    miss when the blob is wider than the HQ threshold (3 standard deviations). Samples of the
    data read their largest mode weight (1/8 on ring8); NaN without samples.

    >>> top_mode_share(np.array([3, 0, 5]), 10)
    0.5
    """
    nearest = np.asarray(nearest)
    if n_samples <= 0 or nearest.size == 0:
        return float("nan")
    return float(nearest.max() / n_samples)


def kl_to_weights(counts: np.ndarray, weights: np.ndarray) -> float:
    """KL(p_hat || w) in nats for a histogram ``counts`` and reference weights ``w``."""
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    if total <= 0:
        return float("nan")
    p = counts / total
    w = np.asarray(weights, np.float64)
    w = w / w.sum()
    nz = p > 0
    return float(np.sum(p[nz] * (np.log(p[nz]) - np.log(w[nz]))))


def mode_coverage(
    samples: np.ndarray,
    means: np.ndarray,
    stds: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    threshold: float = 3.0,
    min_count: int = 1,
) -> ModeCoverage:
    """Mode coverage statistics of ``samples`` against a mixture of Gaussians.

    >>> import numpy as np
    >>> means = np.array([[0.0, 0.0], [10.0, 0.0]]); stds = np.ones((2, 2))
    >>> mc = mode_coverage(np.zeros((4, 2)), means, stds)
    >>> (mc.modes, mc.hq_fraction, round(mc.reverse_kl, 6))
    (1, 1.0, 0.693147)
    """
    k = np.asarray(means).shape[0]
    index, dist = assign_modes(samples, means, stds)
    hq = dist < threshold
    counts = np.bincount(index[hq], minlength=k).astype(np.int64)
    nearest = np.bincount(index[np.isfinite(dist)], minlength=k).astype(np.int64)
    n = int(np.asarray(samples).shape[0])
    w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, np.float64)
    return ModeCoverage(
        modes=int(np.sum(counts >= min_count)),
        hq_fraction=float(hq.sum() / n) if n else float("nan"),
        reverse_kl=kl_to_weights(counts, w),
        counts=counts,
        n_samples=n,
        nearest=nearest,
    )
