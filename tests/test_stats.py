"""The report's t-tests (ganbench.report.stats) against closed forms and scipy's reference."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from ganbench.report.stats import one_sample, welch, welch_df


def test_welch_statistic_and_degrees_of_freedom_by_hand():
    # a: mean 5, sd 2, n 4 -> v_a = 1; b: mean 2, sd 1, n 4 -> v_b = 0.25.
    r = welch(5.0, 2.0, 4, 2.0, 1.0, 4)
    assert r.t == pytest.approx(3.0 / math.sqrt(1.25), rel=1e-12)
    # df = 1.25^2 / (1/3 + 0.0625/3) = 1.5625 / 0.3541666... = 4.4117647...
    assert r.df == pytest.approx(1.5625 / (1.0625 / 3.0), rel=1e-12)
    assert welch_df(1.0, 4, 0.25, 4) == pytest.approx(r.df, rel=1e-15)
    # df = 2 (equal sds, n = 2 each): P(|T| >= t) = 1 - t / sqrt(2 + t^2) in closed form.
    r2 = welch(3.0, 1.0, 2, 1.0, 1.0, 2)
    assert r2.df == pytest.approx(2.0) and r2.t == pytest.approx(2.0)
    assert r2.p == pytest.approx(1.0 - 2.0 / math.sqrt(6.0), rel=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_welch_agrees_with_scipy(alternative):
    args = (24.0, 0.5, 4, 21.2, 1.7, 5)
    ref = sps.ttest_ind_from_stats(*args, equal_var=False, alternative=alternative)
    got = welch(*args, alternative=alternative)
    assert got.t == pytest.approx(float(ref.statistic), rel=1e-12)
    assert got.p == pytest.approx(float(ref.pvalue), rel=1e-9)


def test_one_sided_tails_split_the_two_sided_p():
    two = welch(1.0, 1.0, 5, 0.0, 1.0, 5).p
    assert welch(1.0, 1.0, 5, 0.0, 1.0, 5, "greater").p == pytest.approx(two / 2, rel=1e-12)
    assert welch(1.0, 1.0, 5, 0.0, 1.0, 5, "less").p == pytest.approx(1 - two / 2, rel=1e-12)


@pytest.mark.parametrize(
    ("a", "b", "alternative", "p"),
    [
        (8.0, 8.0, "two-sided", 1.0),
        (8.0, 7.0, "two-sided", 0.0),
        (8.0, 7.0, "greater", 0.0),
        (8.0, 7.0, "less", 1.0),
        (7.0, 8.0, "less", 0.0),
        (8.0, 8.0, "greater", 1.0),
    ],
)
def test_zero_variance_on_both_sides_tests_only_the_direction(a, b, alternative, p):
    r = welch(a, 0.0, 3, b, 0.0, 3, alternative)
    assert r.p == p and math.isnan(r.df)
    assert r.t == (0.0 if a == b else math.copysign(math.inf, a - b))


def test_one_sample_by_hand_and_refusals():
    # k = 2, sd sqrt(2), mean 2 against 0: t = 2 / 1 = 2, df 1: p = 1 - 2 atan(2) / pi.
    r = one_sample(2.0, math.sqrt(2.0), 2, 0.0)
    assert r.t == pytest.approx(2.0) and r.df == 1.0
    assert r.p == pytest.approx(1.0 - 2.0 * math.atan(2.0) / math.pi, rel=1e-12)
    assert one_sample(3.0, 0.0, 4, 3.0).p == 1.0 and one_sample(3.0, 0.0, 4, 2.0).p == 0.0
    with pytest.raises(ValueError, match="two values"):
        one_sample(1.0, 1.0, 1, 0.0)
    with pytest.raises(ValueError, match="two values a side"):
        welch(1.0, 1.0, 1, 0.0, 1.0, 4)
