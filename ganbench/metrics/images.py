"""Sample-quality metrics for image GANs, computed on feature arrays (e.g. Inception pool3).

Every function is pure numpy in float64; features are (N, D) arrays (N samples, D features),
``real`` has N rows and ``fake`` has M rows.

* Kernel Inception Distance (Binkowski, Sutherland, Arbel, Gretton 2018, "Demystifying MMD
  GANs", ICLR, section 4): the unbiased estimate of the squared maximum mean discrepancy with the
  cubic polynomial kernel ``k(x, y) = (x.y / D + 1)^3``,
  ``MMD^2_u = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(m(m-1)) sum_{i!=j} k(y_i, y_j)
  - 2/m^2 sum_{i,j} k(x_i, y_j)`` (Gretton et al. 2012, JMLR 13, "A Kernel Two-Sample Test",
  eq. 3, with equal sample sizes m), averaged over random subsets of size m.
* Improved precision and recall (Kynkaanniemi, Karras, Laine, Lehtinen, Aila 2019, NeurIPS,
  section 2, eqs. 1-2): the manifold of a set Phi is the union of the closed balls
  ``B(phi', ||phi' - NN_k(phi')||)``, ``phi'`` in Phi, ``NN_k`` the k-th nearest neighbour of
  ``phi'`` in Phi other than itself; ``f(phi, Phi) = 1`` when
  ``||phi - phi'|| <= ||phi' - NN_k(phi')||`` for some ``phi'``. Precision is the mean of
  ``f(fake_j, real)`` over the fakes, recall the mean of ``f(real_i, fake)`` over the reals.
* Density and coverage (Naeem, Oh, Uh, Choi, Yoo 2020, "Reliable Fidelity and Diversity Metrics
  for Generative Models", ICML, section 3): with ``B_i = B(X_i, NND_k(X_i))`` the ball around the
  real sample ``X_i`` whose radius is the distance to its k-th nearest *real* neighbour,
  ``density = 1/(kM) sum_j sum_i 1[Y_j in B_i]`` and
  ``coverage = 1/N sum_i 1[exists j: Y_j in B_i]``. For two independent samples of one
  continuous distribution ``E[density] = 1`` and
  ``E[coverage] = 1 - prod_{i=1..k} (N - i)/(M + N - i)`` (their Lemmas 1 and 2).
* Class and Stacked-MNIST mode statistics (Metz, Poole, Pfau, Sohl-Dickstein 2017, "Unrolled
  Generative Adversarial Networks", ICLR; Srivastava et al. 2017, VEEGAN, NeurIPS; Lin et al.
  2018, PacGAN, NeurIPS): histograms of classifier labels, the number of occupied modes and
  ``KL(p_hat || uniform) = ln K - H(p_hat)`` in nats (``0 log 0 = 0``).

Balls are closed (``<=``) everywhere, as in Kynkaanniemi et al.'s definition of ``f``; Naeem et
al.'s reference code tests strictly (``<``). The two differ only on exact ties, which have
probability zero for continuous features but matter for discrete or duplicated ones (a
duplicate of a centre is inside its closed ball even when the radius is 0).

Distances use ``|x - s|^2 + |y - s|^2 - 2 (x - s).(y - s)``, computed in row blocks so memory
is O(block * M), not O(N * M). The common shift ``s`` (the mean of the finite rows of both
inputs, rounded to a power-of-two grid no coarser than their standard deviation) does not change
the distances but avoids the cancellation that a large common offset would cause, and keeps data
on a coarse dyadic grid (e.g. integers) exact. Round-off negatives are clipped to 0. Results
are the same for every ``block`` up to floating-point round-off of the matrix products (last-bit
differences, which can change a ``<=`` decision only for a distance within round-off of a
radius; on exactly representable data, e.g. small integers, they are bit-identical).

Non-finite features: :func:`kid`, :func:`precision_recall` and :func:`density_coverage` return
``(nan, nan)`` when any input feature is NaN or infinite (the statistics are undefined, and a
diverged generator should not crash an evaluation); :func:`pairwise_sq_dists` returns
non-finite values (NaN or +inf) in the rows and columns of non-finite samples, finite ones
elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from numbers import Integral

import numpy as np

_NAN2 = (float("nan"), float("nan"))

FD_SAMPLES_PER_DIM = 10
"""Rule of thumb used by :func:`fd_sample_warning` (a choice of this module, not a paper's)."""


# --------------------------------------------------------------------------------------------
# validation and blocked distances
# --------------------------------------------------------------------------------------------


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_pair(x, y, names: tuple[str, str] = ("real", "fake")) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 (N, D) and (M, D) with the same D >= 1."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or x.shape[1] < 1:
        raise ValueError(
            f"expected {names[0]} (N, D) and {names[1]} (M, D) features with the same D >= 1, "
            f"got {names[0]} {x.shape}, {names[1]} {y.shape}"
        )
    return x, y


def _check_count(name: str, a: np.ndarray, minimum: int, why: str) -> None:
    if a.shape[0] < minimum:
        raise ValueError(f"{why}: need at least {minimum} {name} samples, got {name} {a.shape}")


def _centre(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Subtract a common per-feature shift from ``x`` and ``y`` (distances are unchanged).

    The shift is the mean of the finite rows of both, rounded to a multiple of the power of two
    ``q = 2**floor(log2(std))`` (so within ``q / 2 <= std / 2`` of the mean): this removes a
    large common offset, and data on a coarse dyadic grid (integers, halves, ...) stay exact, so
    exact ties between a distance and a radius are decided exactly.
    """
    finite = np.concatenate(
        [x[np.all(np.isfinite(x), axis=1)], y[np.all(np.isfinite(y), axis=1)]], axis=0
    )
    if finite.shape[0] == 0:
        return x, y
    mean = finite.mean(axis=0)
    std = finite.std(axis=0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        q = np.exp2(np.floor(np.log2(std)))
        rounded = np.round(mean / q) * q
    shift = np.where((std > 0) & np.isfinite(rounded), rounded, mean)
    return x - shift, y - shift


def _sq_norms(a: np.ndarray) -> np.ndarray:
    return np.sum(a * a, axis=1)


def _dist_blocks(x: np.ndarray, y: np.ndarray, block: int) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, d2)`` with ``d2`` the squared distances of ``x[start:start+block]`` to all
    of ``y``; inputs already centred. Norms are computed once, outside the blocks."""
    xx = _sq_norms(x)
    yy = _sq_norms(y)
    for start in range(0, x.shape[0], block):
        xb = x[start : start + block]
        with np.errstate(invalid="ignore", over="ignore"):  # non-finite rows: NaN/inf
            d2 = xx[start : start + block, None] + yy[None, :] - 2.0 * (xb @ y.T)
        np.maximum(d2, 0.0, out=d2)  # NaN stays NaN
        yield start, d2


def _kth_nn_sq(x: np.ndarray, k: int, block: int) -> np.ndarray:
    """Squared distance from each row of ``x`` to its k-th nearest other row of ``x``."""
    out = np.empty(x.shape[0])
    for start, d2 in _dist_blocks(x, x, block):
        rows = np.arange(d2.shape[0])
        d2[rows, start + rows] = np.inf  # exclude the point itself (by index, not by value)
        out[start : start + d2.shape[0]] = np.partition(d2, k - 1, axis=1)[:, k - 1]
    return out


def _fraction_inside(q: np.ndarray, centres: np.ndarray, r2: np.ndarray, block: int) -> float:
    """Fraction of rows of ``q`` in the union of closed balls ``B(centres_i, sqrt(r2_i))``."""
    inside = 0
    for _, d2 in _dist_blocks(q, centres, block):
        inside += int(np.count_nonzero(np.any(d2 <= r2[None, :], axis=1)))
    return inside / q.shape[0]


def pairwise_sq_dists(x: np.ndarray, y: np.ndarray, *, block: int = 1024) -> np.ndarray:
    """Squared Euclidean distances (N, M) between the rows of ``x`` (N, D) and ``y`` (M, D).

    Float64, computed ``block`` rows of ``x`` at a time (see the module docstring for the
    formula, the common shift and round-off); round-off negatives are clipped to 0.

    >>> import numpy as np
    >>> pairwise_sq_dists(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[3.0, 4.0]]))
    array([[25.],
           [13.]])
    """
    x, y = _check_pair(x, y, ("x", "y"))
    block = _check_int("block", block, 1)
    x, y = _centre(x, y)
    out = np.empty((x.shape[0], y.shape[0]))
    for start, d2 in _dist_blocks(x, y, block):
        out[start : start + d2.shape[0]] = d2
    return out


# --------------------------------------------------------------------------------------------
# KID
# --------------------------------------------------------------------------------------------


def _mmd2_unbiased_cubic(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 (Gretton et al. 2012, eq. 3, equal sizes) with the KID kernel."""
    m, d = x.shape
    kxx = (x @ x.T / d + 1.0) ** 3
    kyy = (y @ y.T / d + 1.0) ** 3
    kxy = (x @ y.T / d + 1.0) ** 3
    within = kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)
    return float(within / (m * (m - 1)) - 2.0 * kxy.sum() / (m * m))


def kid(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel Inception Distance (Binkowski et al. 2018): ``(mean, std)`` over subsets.

    Each of ``subsets`` rounds draws ``m = min(subset_size, N, M)`` rows of ``real`` and,
    independently, ``m`` rows of ``fake`` without replacement (``np.random.default_rng(seed)``,
    real then fake in each round) and evaluates the unbiased MMD^2 with the cubic kernel
    ``(x.y / D + 1)^3``. The defaults (100 subsets of 1000) follow the paper's experiments. ``std``
    is the population standard deviation (ddof=0) of the subset estimates, a spread, not a
    standard error of the mean; the mean can be slightly negative (the estimator is unbiased).
    Non-finite features give ``(nan, nan)``.
    """
    x, y = _check_pair(real, fake)
    subsets = _check_int("subsets", subsets, 1)
    subset_size = _check_int("subset_size", subset_size, 2)
    _check_count("real", x, 2, "KID's unbiased estimator")
    _check_count("fake", y, 2, "KID's unbiased estimator")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return _NAN2
    m = min(subset_size, x.shape[0], y.shape[0])
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    for s in range(subsets):
        ix = rng.choice(x.shape[0], size=m, replace=False)
        iy = rng.choice(y.shape[0], size=m, replace=False)
        values[s] = _mmd2_unbiased_cubic(x[ix], y[iy])
    return float(values.mean()), float(values.std())


# --------------------------------------------------------------------------------------------
# k-NN manifold metrics
# --------------------------------------------------------------------------------------------


def precision_recall(
    real: np.ndarray, fake: np.ndarray, *, k: int = 3, block: int = 1024
) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019, section 2, eqs. 1-2).

    ``precision`` is the fraction of fakes inside the real manifold and ``recall`` the fraction
    of reals inside the fake manifold, both with closed balls of radius the distance to the k-th
    nearest neighbour within the same set (itself excluded); ``k = 3`` is the paper's default.
    Requires more than ``k`` samples in each set. Non-finite features give ``(nan, nan)``.
    """
    x, y = _check_pair(real, fake)
    k = _check_int("k", k, 1)
    block = _check_int("block", block, 1)
    _check_count("real", x, k + 1, f"the k-th nearest neighbour with k={k}")
    _check_count("fake", y, k + 1, f"the k-th nearest neighbour with k={k}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return _NAN2
    x, y = _centre(x, y)
    precision = _fraction_inside(y, x, _kth_nn_sq(x, k, block), block)
    recall = _fraction_inside(x, y, _kth_nn_sq(y, k, block), block)
    return precision, recall


def density_coverage(
    real: np.ndarray, fake: np.ndarray, *, k: int = 5, block: int = 1024
) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020, section 3); radii from the real set only.

    ``density = 1/(kM) sum_j #{i: Y_j in B_i}`` (unbounded above; 1 in expectation when fake
    and real come from one distribution), ``coverage = fraction of real X_i whose ball B_i
    contains at least one fake``; ``B_i`` is the closed ball around ``X_i`` with radius the
    distance to its k-th nearest other real sample. ``k = 5`` is the paper's recommended value.
    Requires more than ``k`` real samples and at least one fake. Non-finite features give
    ``(nan, nan)``.
    """
    x, y = _check_pair(real, fake)
    k = _check_int("k", k, 1)
    block = _check_int("block", block, 1)
    _check_count("real", x, k + 1, f"the k-th nearest neighbour with k={k}")
    _check_count("fake", y, 1, "density and coverage")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return _NAN2
    x, y = _centre(x, y)
    r2 = _kth_nn_sq(x, k, block)
    hits = 0
    covered = 0
    for start, d2 in _dist_blocks(x, y, block):
        inside = d2 <= r2[start : start + d2.shape[0], None]  # (real block, fake)
        hits += int(np.count_nonzero(inside))
        covered += int(np.count_nonzero(np.any(inside, axis=1)))
    return hits / (k * y.shape[0]), covered / x.shape[0]


# --------------------------------------------------------------------------------------------
# class / mode histograms
# --------------------------------------------------------------------------------------------


def _kl_to_uniform(counts: np.ndarray, log_k: float) -> float:
    """KL(p_hat || uniform over K) = sum_p p (ln p + ln K) in nats, 0 log 0 = 0; NaN if empty."""
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    if total <= 0:
        return float("nan")
    p = counts[counts > 0] / total
    return float(np.sum(p * (np.log(p) + log_k)))


def _check_labels(a, name: str, ndim: int) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != ndim:
        raise ValueError(f"expected {name} with {ndim} dimension(s), got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"expected integer {name}, got dtype {a.dtype}")
    return a.astype(np.int64)


def class_coverage(labels: np.ndarray, n_classes: int = 10) -> dict:
    """Class histogram of predicted labels: coverage and KL to the uniform class distribution.

    Args:
      labels: (N,) int class indices in ``[0, n_classes)`` (the caller takes the argmax of a
        classifier's logits).
      n_classes: number of classes K.

    Returns:
      ``{"classes_covered": int, "class_kl": float, "class_histogram": (K,) int64}`` with
      ``class_kl = KL(p_hat || uniform) = ln K - H(p_hat)`` in nats (NaN for no labels).

    >>> class_coverage([3, 3, 3], n_classes=4)["classes_covered"]
    1
    """
    n_classes = _check_int("n_classes", n_classes, 1)
    a = _check_labels(labels, "labels", 1)
    if a.size and (a.min() < 0 or a.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got range [{a.min()}, {a.max()}]")
    hist = np.bincount(a, minlength=n_classes).astype(np.int64)
    return {
        "classes_covered": int(np.count_nonzero(hist)),
        "class_kl": _kl_to_uniform(hist, math.log(n_classes)),
        "class_histogram": hist,
    }


def stacked_modes(digits: np.ndarray, n_digits: int = 3) -> dict:
    """Mode statistics of Stacked MNIST (Metz et al. 2017; VEEGAN; PacGAN).

    Each sample stacks ``n_digits`` MNIST digits, one per channel; ``digits`` (N, n_digits) holds
    the digit a classifier read in each channel (0..9). The mode of a sample is the decimal
    number ``sum_c digits[c] * 10**(n_digits - 1 - c)`` (``100 d0 + 10 d1 + d2``: 1000 modes for
    three channels).

    Returns:
      ``{"modes": int, "kl": float, "n": int}``: the number of modes with at least one sample,
      ``KL(p_hat || uniform over 10**n_digits)`` in nats (NaN for no samples) and N.

    >>> stacked_modes([[1, 2, 3], [1, 2, 3]])["modes"]
    1
    """
    n_digits = _check_int("n_digits", n_digits, 1)
    if n_digits > 18:
        raise ValueError(f"n_digits must be <= 18 (int64 mode index), got {n_digits}")
    a = _check_labels(digits, "digits", 2)
    if a.shape[1] != n_digits:
        raise ValueError(f"expected digits of shape (N, {n_digits}), got shape {a.shape}")
    if a.size and (a.min() < 0 or a.max() > 9):
        raise ValueError(f"digits must lie in 0..9, got range [{a.min()}, {a.max()}]")
    place = 10 ** np.arange(n_digits - 1, -1, -1, dtype=np.int64)
    _, counts = np.unique(a @ place, return_counts=True)
    return {
        "modes": int(counts.size),
        "kl": _kl_to_uniform(counts, n_digits * math.log(10.0)),
        "n": int(a.shape[0]),
    }


# --------------------------------------------------------------------------------------------
# Frechet distance sample size
# --------------------------------------------------------------------------------------------


def fd_sample_warning(n: int, dim: int) -> str | None:
    """A warning when ``n`` samples are too few for a Frechet distance in ``dim`` dimensions.

    Warns when ``n < 10 * dim`` (:data:`FD_SAMPLES_PER_DIM`, a rule of thumb of this module):
    the sample covariance has rank at most ``n - 1`` (singular when ``n <= dim``), and the
    Frechet distance estimated from ``n`` samples is biased upward, by roughly a constant over
    ``n`` (Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to find
    them", CVPR), so values from different ``n`` are not comparable. Returns None otherwise.

    >>> fd_sample_warning(100_000, 2048) is None
    True
    """
    n = _check_int("n", n, 0)
    dim = _check_int("dim", dim, 1)
    if n >= FD_SAMPLES_PER_DIM * dim:
        return None
    msg = (
        f"Frechet distance from n={n} samples in dim={dim}: fewer than "
        f"{FD_SAMPLES_PER_DIM} * dim = {FD_SAMPLES_PER_DIM * dim} samples; the estimate is biased "
        "upward at small n (Chong & Forsyth 2020) and only comparable at equal n"
    )
    if n <= dim:
        msg += f"; the covariance has rank <= n - 1 = {max(n - 1, 0)} < dim (singular)"
    return msg
