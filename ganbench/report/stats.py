"""The report's t-tests, in one place: Welch's two-sample test and the one-sample test, from
summary statistics (mean, sample standard deviation with ddof = 1, count).

Every comparison the report makes goes through here: a variant against the baseline
(:func:`ganbench.report.baseline.welch_p_value`, two-sided), against the chance rows
(:func:`ganbench.report.chance.one_sided_p`, one-sided) and against a published number
(:mod:`ganbench.report.references`, two-sided, and the one-sample test).

Welch's statistic is t = (mean_a - mean_b) / sqrt(v_a + v_b) with v = sd^2 / n, and its
Welch-Satterthwaite degrees of freedom df = (v_a + v_b)^2 / (v_a^2 / (n_a - 1) + v_b^2 /
(n_b - 1)) (Welch 1947); p-values are Student's t tails with df degrees of freedom. Zero variance
on both sides leaves no noise to test against: the test then says only whether the means differ
in the direction asked (p = 0) or not (p = 1), with t = ±inf (0 for equal means) and df NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Alternative = Literal["two-sided", "greater", "less"]
"""What the test asks of a - b: that it differs from 0, is positive, or is negative."""


@dataclass(frozen=True)
class TestResult:
    """A t-test: statistic, degrees of freedom and p-value (``t`` is infinite and ``df`` NaN
    when both sides have zero variance and different means)."""

    t: float
    df: float
    p: float


def welch_df(v_a: float, n_a: int, v_b: float, n_b: int) -> float:
    """Welch-Satterthwaite degrees of freedom from each side's squared standard error
    v = sd^2 / n and count (n >= 2)."""
    return (v_a + v_b) ** 2 / (v_a**2 / (n_a - 1) + v_b**2 / (n_b - 1))


def _tail(t: float, df: float, alternative: Alternative) -> float:
    from scipy.stats import t as student_t  # imported here: only comparisons need scipy

    if alternative == "greater":
        return float(student_t.sf(t, df))
    if alternative == "less":
        return float(student_t.cdf(t, df))
    return float(2.0 * student_t.sf(abs(t), df))


def _no_noise(diff: float, alternative: Alternative) -> TestResult:
    t = 0.0 if diff == 0 else math.copysign(math.inf, diff)
    if alternative == "greater":
        hit = diff > 0
    elif alternative == "less":
        hit = diff < 0
    else:
        hit = diff != 0
    return TestResult(t, math.nan, 0.0 if hit else 1.0)


def welch(
    mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int,
    alternative: Alternative = "two-sided",
) -> TestResult:  # fmt: skip
    """Welch's t-test of a - b from each side's mean, sample sd and count (n >= 2 each); NaN
    statistics (never an exception) when they overflow a float."""
    if n_a < 2 or n_b < 2:
        raise ValueError(f"Welch's test needs two values a side, got {n_a} and {n_b}")
    try:
        v_a, v_b = sd_a**2 / n_a, sd_b**2 / n_b
        diff = mean_a - mean_b
        if v_a + v_b == 0:
            return _no_noise(diff, alternative)
        t = diff / math.sqrt(v_a + v_b)
        df = welch_df(v_a, n_a, v_b, n_b)
    except (OverflowError, ZeroDivisionError):  # values near the float range: no statistic
        return TestResult(math.nan, math.nan, math.nan)
    return TestResult(t, df, _tail(t, df, alternative))


def one_sample(mean: float, sd: float, k: int, value: float) -> TestResult:
    """The two-sided one-sample t-test of k values (mean, sample sd) against ``value``:
    t = (mean - value) / (sd / sqrt(k)), df = k - 1."""
    if k < 2:
        raise ValueError(f"the one-sample t-test needs two values, got {k}")
    diff = mean - value
    if sd == 0:
        return _no_noise(diff, "two-sided")
    try:
        t = diff / (sd / math.sqrt(k))
    except (OverflowError, ZeroDivisionError):  # values near the float range: no statistic
        return TestResult(math.nan, math.nan, math.nan)
    df = float(k - 1)
    return TestResult(t, df, _tail(t, df, "two-sided"))
