"""Frechet distance between Gaussian fits of two sample sets.

FD = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) (Frechet 1957; Dowson & Landau 1982; used as
FID by Heusel et al. 2017). Covariances use the N-1 denominator. The trace of the matrix square
root is computed in float64 in the symmetric form Tr((sqrt(S1) S2 sqrt(S1))^(1/2)), whose
eigenvalues are real and non-negative in exact arithmetic; round-off negatives are clipped to 0,
so no complex numbers arise. The estimate is biased upward at small sample counts.
"""

from __future__ import annotations

import math

import numpy as np


def gaussian_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) with the N-1 denominator, in float64."""
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"expected (N, D) samples with N >= 2, got shape {x.shape}")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False, ddof=1))


def _sqrtm_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance_from_stats(
    mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray
) -> float:
    """Frechet distance between N(mu1, s1) and N(mu2, s2).

    >>> import numpy as np
    >>> frechet_distance_from_stats(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))
    4.0
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(s1, np.float64), np.asarray(s2, np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(
            f"shape mismatch: mu1 {mu1.shape}, s1 {s1.shape}, mu2 {mu2.shape}, s2 {s2.shape}"
        )
    if not (np.all(np.isfinite(s1)) and np.all(np.isfinite(s2))):
        return float("nan")
    r1 = _sqrtm_psd(s1)
    m = r1 @ s2 @ r1
    w = np.linalg.eigvalsh((m + m.T) / 2.0)
    tr_covmean = float(np.sum(np.sqrt(np.clip(w, 0.0, None))))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Frechet distance between Gaussian fits of samples ``x`` (N, D) and ``y`` (M, D)."""
    return frechet_distance_from_stats(*gaussian_stats(x), *gaussian_stats(y))


FD_INF_POINTS = 15
"""Subset sizes of :func:`frechet_infinity` (Chong & Forsyth 2020's ``num_points``)."""
FD_INF_MIN_FRACTION = 0.1
"""Smallest subset as a fraction of N: their defaults, 5,000 of 50,000 generated images."""


def fd_infinity_sizes(n: int, points: int = FD_INF_POINTS) -> np.ndarray:
    """The subset sizes of :func:`frechet_infinity` for ``n`` samples: ``points`` sizes evenly
    spaced from ``ceil(n / 10)`` to ``n`` (``np.linspace``, truncated to integers, as their code
    does), at least 2 each.

    >>> fd_infinity_sizes(50_000)[:3].tolist()
    [5000, 8214, 11428]
    """
    if n < 4:
        raise ValueError(f"FD-infinity needs at least 4 samples, got {n}")
    low = max(2, math.ceil(FD_INF_MIN_FRACTION * n))
    return np.linspace(low, n, points).astype(np.int64)


def frechet_infinity(
    fake: np.ndarray,
    real_mu: np.ndarray,
    real_sigma: np.ndarray,
    *,
    points: int = FD_INF_POINTS,
    seed: int = 0,
) -> tuple[float, np.ndarray, np.ndarray]:
    """FD-infinity (Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and
    where to find them", CVPR, section 3): the Fréchet distance extrapolated to infinitely many
    generated samples.

    The Fréchet distance estimated from N samples is biased upward by a term that is, to first
    order, linear in 1/N. So, as their code does (mchong6/FID_IS_infinity, score_infinity.py,
    ``calculate_FID_infinity_path``): for each of ``points`` subset sizes
    (:func:`fd_infinity_sizes`), the generated features are shuffled
    (``np.random.default_rng(seed)``, one permutation per size) and the distance of the first
    ``size`` of them to the fixed reference statistics is computed; a least-squares line of
    distance against 1/size is fitted and its value at 1/size = 0 is the result.

    Returns ``(fd_inf, sizes, distances)``; NaN when any distance is NaN.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> fake = rng.normal(size=(4000, 8))
    >>> fd, naive = frechet_infinity(fake, np.zeros(8), np.eye(8))[0], frechet_distance_from_stats(
    ...     *gaussian_stats(fake[:400]), np.zeros(8), np.eye(8))
    >>> bool(abs(fd) < 0.01 < naive)  # the same distribution: the extrapolation removes the bias
    True
    """
    fake = np.asarray(fake)
    sizes = fd_infinity_sizes(fake.shape[0], points)
    rng = np.random.default_rng(seed)
    distances = np.empty(len(sizes))
    for i, size in enumerate(sizes):
        subset = fake[rng.permutation(fake.shape[0])[:size]]
        distances[i] = frechet_distance_from_stats(*gaussian_stats(subset), real_mu, real_sigma)
    if not np.all(np.isfinite(distances)):
        return float("nan"), sizes, distances
    _slope, intercept = np.polyfit(1.0 / sizes, distances, 1)
    return float(intercept), sizes, distances
