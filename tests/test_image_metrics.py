"""Image-GAN feature metrics against exact oracles: brute-force loops, an independent KID written
out term by term, hand-made point sets with answers worked out in comments, and the expectations
Naeem et al. 2020 (ICML, Lemmas 1-2) prove for density and coverage.

Coordinates in the hand-made cases are small dyadic numbers, so every distance (and every tie
between a distance and a radius) is exact in float64 whatever the evaluation order.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganbench.metrics import (
    class_coverage,
    density_coverage,
    fd_sample_warning,
    kid,
    pairwise_sq_dists,
    precision_recall,
    stacked_modes,
)


def col(*values: float) -> np.ndarray:
    """1-D points as an (N, 1) feature array."""
    return np.array(values, np.float64)[:, None]


# ------------------------------------------------------------------------------------------------
# pairwise distances
# ------------------------------------------------------------------------------------------------


def brute_sq_dists(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.zeros((len(x), len(y)))
    for i in range(len(x)):
        for j in range(len(y)):
            out[i, j] = sum((float(a) - float(b)) ** 2 for a, b in zip(x[i], y[j], strict=True))
    return out


def test_pairwise_matches_brute_force_for_every_block():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    expected = brute_sq_dists(x, y)
    results = [pairwise_sq_dists(x, y, block=b) for b in (1, 3, 1024)]
    for got in results:
        assert got.shape == (7, 5) and got.dtype == np.float64
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    # Blocks change only the last bits of the matrix products.
    np.testing.assert_allclose(results[0], results[1], rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(results[0], results[2], rtol=1e-14, atol=1e-14)


def test_pairwise_exact_on_integers_and_identical_across_blocks():
    rng = np.random.default_rng(1)
    x = rng.integers(-5, 6, size=(9, 4)).astype(np.float64)
    y = rng.integers(-5, 6, size=(4, 4)).astype(np.float32)  # float32 input, float64 output
    expected = brute_sq_dists(x, y)
    for b in (1, 3, 1024):
        np.testing.assert_array_equal(pairwise_sq_dists(x, y, block=b), expected)
    d_self = pairwise_sq_dists(x, x, block=2)
    np.testing.assert_array_equal(np.diag(d_self), np.zeros(9))
    assert np.all(d_self >= 0)


def test_pairwise_accurate_with_a_large_common_offset():
    # |x|^2 + |y|^2 - 2 x.y without the common shift would lose ~all digits here (|x|^2 ~ 1e12).
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 3)) + 1e6, rng.normal(size=(4, 3)) + 1e6
    np.testing.assert_allclose(pairwise_sq_dists(x, y), brute_sq_dists(x, y), rtol=1e-6)


def test_pairwise_non_finite_rows_stay_local():
    x = np.array([[0.0, 0.0], [np.nan, 1.0], [3.0, 4.0]])
    y = np.array([[0.0, 0.0], [np.inf, 0.0]])
    d = pairwise_sq_dists(x, y)
    assert not np.isfinite(d[1]).any() and not np.isfinite(d[:, 1]).any()
    assert d[0, 0] == 0.0 and d[2, 0] == 25.0


# ------------------------------------------------------------------------------------------------
# KID
# ------------------------------------------------------------------------------------------------


def kid_by_loops(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, every term written out (Binkowski et al.
    2018; Gretton et al. 2012 eq. 3)."""
    m, d = x.shape

    def k(a, b):
        return (sum(float(p) * float(q) for p, q in zip(a, b, strict=True)) / d + 1.0) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2.0 * xy / (m * m)


@pytest.mark.parametrize("subset_size", [6, 1000])
def test_kid_equals_the_loop_oracle_on_the_full_sets(subset_size):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 3)), rng.normal(0.3, 1.2, size=(6, 3))
    # m = min(subset_size, 6, 6) = 6: the subset is a permutation of the whole set.
    mean, std = kid(x, y, subsets=1, subset_size=subset_size)
    assert mean == pytest.approx(kid_by_loops(x, y), rel=1e-12, abs=1e-14)
    assert std == 0.0


def test_kid_near_zero_for_one_distribution_positive_for_shifted():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    subsets = 100
    mean, std = kid(x, y, subsets=subsets, subset_size=100, seed=0)
    assert std > 0
    assert abs(mean) < 3 * std / math.sqrt(subsets)
    mean_s, std_s = kid(x, y + 0.5, subsets=subsets, subset_size=100, seed=0)
    assert std_s >= 0
    assert mean_s > 0 and mean_s > 10 * std_s / math.sqrt(subsets)
    assert mean_s > 10 * abs(mean)


def test_kid_deterministic_given_seed():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(50, 4)), rng.normal(size=(40, 4))
    a = kid(x, y, subsets=5, subset_size=20, seed=7)
    assert a == kid(x, y, subsets=5, subset_size=20, seed=7)
    assert a != kid(x, y, subsets=5, subset_size=20, seed=8)
    assert a[1] >= 0


# ------------------------------------------------------------------------------------------------
# precision / recall
# ------------------------------------------------------------------------------------------------


def test_precision_recall_hand_made_1d():
    real = col(0, 1, 2, 3)
    fake = col(-0.5, 0, 4, 4.5)
    # k=1. Real radii: 1 for every point, so the real manifold is [-1, 4]. Fakes -0.5, 0 inside;
    # 4 is at distance exactly 1 from 3 (inside: closed ball); 4.5 outside -> precision 3/4.
    # Fake radii: 0.5 each (-0.5<->0, 4<->4.5), so the fake manifold is [-1, 0.5] U [3.5, 5];
    # of the reals only 0 is inside -> recall 1/4.
    assert precision_recall(real, fake, k=1) == (0.75, 0.25)
    # Swapping the roles swaps the two numbers.
    assert precision_recall(fake, real, k=1) == (0.25, 0.75)


def test_precision_recall_hand_made_2d():
    real = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    fake = np.array([[0.5, 0.5], [2.0, 0.0], [2.0, 2.0], [5.0, 5.0]])
    # k=1: every corner's radius is 1. (0.5, 0.5) is sqrt(0.5) from a corner: inside; (2, 0) is
    # exactly 1 from (1, 0): inside; (2, 2) is sqrt(2) from (1, 1): outside; (5, 5) outside.
    # Fake radii: (0.5, 0.5) has NN (2, 0) at sqrt(2.5) (k=1) and 3rd NN (5, 5) at sqrt(40.5)
    # (k=3); both balls hold all four corners (at sqrt(0.5)) -> recall 1.
    assert precision_recall(real, fake, k=1) == (0.5, 1.0)
    # k=3: the third neighbour of a corner is the opposite corner, radius sqrt(2); now (2, 2) is
    # exactly sqrt(2) from (1, 1): inside -> 3/4.
    assert precision_recall(real, fake, k=3) == (0.75, 1.0)


def test_precision_recall_duplicates_use_closed_balls():
    # Real radii (k=1): 0, 0 (the duplicate of 0), 1, 1. Fake 0 lies in the zero-radius balls
    # (closed), 0.1 in none -> precision 1/2. Fake radii 0.1: reals 0, 0 inside -> recall 1/2.
    assert precision_recall(col(0, 0, 5, 6), col(0, 0.1), k=1) == (0.5, 0.5)


def test_precision_recall_identical_and_disjoint_sets():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(60, 5))
    assert precision_recall(x, x.copy(), k=3) == (1.0, 1.0)
    assert precision_recall(x, rng.normal(100.0, 1.0, size=(50, 5)), k=3) == (0.0, 0.0)


def test_precision_recall_independent_of_block():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(37, 4)), rng.normal(0.5, 1.0, size=(29, 4))
    results = {precision_recall(x, y, k=3, block=b) for b in (1, 3, 7, 1024)}
    assert len(results) == 1
    p, r = results.pop()
    assert 0 < p < 1 and 0 < r < 1


# ------------------------------------------------------------------------------------------------
# density / coverage
# ------------------------------------------------------------------------------------------------


def test_density_coverage_hand_made():
    real = col(0, 1, 2, 3)
    fake = col(0.5, 1.0, 10, 11)
    # k=1: radii 1; balls [-1, 1], [0, 2], [1, 3], [2, 4].
    # Balls holding each fake: 0.5 -> around 0 and 1 (2); 1.0 -> around 0, 1, 2 (3, two on the
    # boundary); 10, 11 -> none. density = (2 + 3) / (k M) = 5 / 4.
    # Covered reals: 0 (0.5), 1 (1.0), 2 (1.0 at distance exactly 1); 3 is not -> 3/4.
    assert density_coverage(real, fake, k=1) == (1.25, 0.75)
    # k=2: radii 2, 1, 1, 2 (2nd NN of 0 is 2; of 1 is 0 or 2 at 1). 0.5 -> around 0 and 1 (2);
    # 1.0 -> around 0 (1 <= 2), 1, 2 (1 <= 1), 3 (2 <= 2) (4). density = 6 / (2 * 4) = 3/4.
    # Every real has 1.0 in its ball -> coverage 1.
    assert density_coverage(real, fake, k=2) == (0.75, 1.0)


def test_density_coverage_identical_sets_and_block():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(40, 3))
    assert density_coverage(x, x.copy(), k=5)[1] == 1.0
    y = rng.normal(0.3, 1.0, size=(33, 3))
    results = {density_coverage(x, y, k=5, block=b) for b in (1, 4, 1024)}
    assert len(results) == 1


def test_density_coverage_expectations_for_one_distribution():
    # Naeem et al. 2020: for independent samples of one continuous distribution E[density] = 1
    # (Lemma 1) and E[coverage] = 1 - prod_{i=1..k} (N - i) / (M + N - i) (Lemma 2), exact at
    # finite N, M. Monte Carlo over independent repeats, tolerance 4 standard errors.
    rng = np.random.default_rng(9)
    n = m = 200
    k, repeats = 5, 20
    values = np.array(
        [
            density_coverage(rng.normal(size=(n, 4)), rng.normal(size=(m, 4)), k=k)
            for _ in range(repeats)
        ]
    )
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / math.sqrt(repeats)
    expected_coverage = 1 - math.prod((n - i) / (m + n - i) for i in range(1, k + 1))
    assert abs(mean[0] - 1.0) < 4 * se[0]
    assert abs(mean[1] - expected_coverage) < 4 * se[1]
    assert se[0] < 0.05 and se[1] < 0.02  # the tolerances are tight enough to mean something


# ------------------------------------------------------------------------------------------------
# class / mode histograms
# ------------------------------------------------------------------------------------------------


def test_class_coverage_hand_made():
    one = class_coverage(np.full(30, 7))
    assert one["classes_covered"] == 1
    assert one["class_kl"] == pytest.approx(math.log(10), rel=1e-12)
    assert one["class_histogram"].tolist() == [0] * 7 + [30] + [0, 0]
    uniform = class_coverage(np.repeat(np.arange(10), 3))
    assert uniform["classes_covered"] == 10
    assert uniform["class_kl"] == pytest.approx(0.0, abs=1e-12)
    # p = (1/2, 1/4, 1/4, 0): H = 1.5 ln 2, KL = ln 4 - 1.5 ln 2 = 0.5 ln 2.
    mixed = class_coverage(np.array([0, 0, 1, 2]), n_classes=4)
    assert mixed["classes_covered"] == 3
    assert mixed["class_kl"] == pytest.approx(0.5 * math.log(2), rel=1e-12)
    assert mixed["class_histogram"].tolist() == [2, 1, 1, 0]


def test_stacked_modes_hand_made():
    digits = np.array([[1, 2, 3], [1, 2, 3], [4, 5, 6], [0, 0, 0]])
    # Modes 123 (twice), 456, 0: p = (1/2, 1/4, 1/4), KL = ln 1000 - 1.5 ln 2.
    out = stacked_modes(digits)
    assert out["modes"] == 3 and out["n"] == 4
    assert out["kl"] == pytest.approx(math.log(1000) - 1.5 * math.log(2), rel=1e-12)
    # Each of the 1000 modes once (mode index = 100 d0 + 10 d1 + d2 enumerates them all).
    every = np.array([[i // 100, i // 10 % 10, i % 10] for i in range(1000)])
    full = stacked_modes(every)
    assert full["modes"] == 1000 and full["n"] == 1000
    assert full["kl"] == pytest.approx(0.0, abs=1e-12)
    # Two channels: 100 modes; (3, 4) and (4, 3) are different modes.
    two = stacked_modes(np.array([[3, 4], [4, 3]]), n_digits=2)
    assert two["modes"] == 2 and two["kl"] == pytest.approx(math.log(100) - math.log(2))


def test_fd_sample_warning():
    message = fd_sample_warning(100, 128)
    assert isinstance(message, str) and "n=100" in message and "singular" in message
    assert isinstance(fd_sample_warning(1000, 128), str)  # n > dim but < 10 dim
    assert fd_sample_warning(10_000, 64) is None
    assert fd_sample_warning(1280, 128) is None


# ------------------------------------------------------------------------------------------------
# validation and non-finite input
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda a, b: pairwise_sq_dists(a, b),
        lambda a, b: kid(a, b),
        lambda a, b: precision_recall(a, b),
        lambda a, b: density_coverage(a, b),
    ],
    ids=["pairwise_sq_dists", "kid", "precision_recall", "density_coverage"],
)
def test_bad_shapes_raise_with_the_shapes(call):
    with pytest.raises(ValueError, match=r"\(10, 3\).*\(10, 2\)"):
        call(np.zeros((10, 3)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match=r"\(10,\)"):
        call(np.zeros(10), np.zeros((10, 3)))


def test_too_few_samples_and_bad_labels_raise():
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match=r"k=5.*real \(5, 2\)"):
        density_coverage(x, x, k=5)
    with pytest.raises(ValueError, match=r"fake \(3, 2\)"):
        precision_recall(np.zeros((10, 2)), np.zeros((3, 2)), k=3)
    with pytest.raises(ValueError, match=r"real \(1, 2\)"):
        kid(np.zeros((1, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="labels"):
        class_coverage(np.array([0, 10]))
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        stacked_modes(np.zeros((2, 3), int), n_digits=2)
    with pytest.raises(ValueError, match=r"0\.\.9"):
        stacked_modes(np.array([[1, 2, 10]]))


def test_non_finite_features_give_nan():
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    y[4, 1] = np.nan
    x_inf = x.copy()
    x_inf[0, 0] = np.inf
    for real, fake in [(x, y), (x_inf, x)]:
        for result in (
            kid(real, fake, subsets=2, subset_size=10),
            precision_recall(real, fake),
            density_coverage(real, fake),
        ):
            assert len(result) == 2 and all(math.isnan(v) for v in result)
