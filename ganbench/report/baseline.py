"""Every variant against a baseline variant at the same dataset / grid point: the difference of
means and a Welch t-test over the seeds, with a better / worse / same verdict per metric.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ganbench.errors import ConfigError, OptionError
from ganbench.report.select import metric_direction, split_metrics, unknown_metric
from ganbench.report.stats import welch
from ganbench.report.summary import (
    COUNT_SUFFIXES,
    STAT_SUFFIXES,
    grid_points,
    metric_arrays,
    row_columns,
    summary_metrics,
)
from ganbench.text import suggestion

COMPARISON_SUFFIXES = ("_delta", "_p", "_verdict")
"""Added by :func:`versus_baseline` after each compared metric's block."""


VERDICTS = ("better", "worse", "same", "n/a")
"""Verdicts of a comparison with the baseline; the baseline's own rows read ``"baseline"``."""


BASELINE_VERDICT = "baseline"


DEFAULT_ALPHA = 0.05
"""Significance level of :func:`versus_baseline`."""


def welch_p_value(
    mean: float, std: float, n: int, base_mean: float, base_std: float, base_n: int
) -> float:
    """Two-sided p-value of Welch's t-test from each side's mean, sample std (ddof=1) and count.

    NaN when either side has fewer than two values or a non-finite statistic. When both sides
    have zero variance there is no noise to compare against: 0 if the means differ, else 1.
    """
    stats = (mean, std, base_mean, base_std)
    if n < 2 or base_n < 2 or not all(math.isfinite(x) for x in stats):
        return math.nan
    return welch(mean, std, n, base_mean, base_std, base_n).p


def versus_baseline(
    summary: pd.DataFrame,
    baseline: str,
    metrics: str | Iterable[str] | None = None,
    *,
    alpha: float = DEFAULT_ALPHA,
) -> pd.DataFrame:
    """Compare every configuration with the baseline variant's at the same grid point.

    The matching baseline configuration has the same suite and the same value of every other
    configuration column (dataset, grid keys). Returns a copy of ``summary`` (same rows, same
    order) with, after each compared metric ``m``'s block:

    - ``m_delta``: ``m_mean`` minus the baseline's ``m_mean``;
    - ``m_p``: the two-sided Welch t-test p-value over the seeds' values (see
      :func:`welch_p_value`);
    - ``m_verdict``: ``"better"`` or ``"worse"`` when ``p < alpha``, judged by the metric's
      direction (:func:`metric_direction`), ``"same"`` otherwise; ``"n/a"`` when the p-value is
      undefined or the metric has no direction; ``"baseline"`` on the baseline's own rows.

    A configuration without a baseline at its grid point gets NaN and ``"n/a"``. ``metrics=None``
    compares every metric of the summary. ``attrs["baseline"]`` and ``attrs["alpha"]`` of the
    result record the comparison.

    Raises:
        ConfigError: for a baseline that is no variant of the summary, a metric that the summary
            does not hold, or ``alpha`` outside (0, 1).
    """
    if not 0 < alpha < 1:
        raise OptionError("alpha", f"{alpha!r}: must be between 0 and 1 (exclusive), e.g. 0.05")
    variants = [str(v) for v in dict.fromkeys(summary["variant"].tolist())]
    if baseline not in variants:
        hint = suggestion(baseline, variants)
        listed = ", ".join(variants) if variants else "none"
        raise ConfigError(
            f"baseline variant {baseline!r} is not in the results{hint} variants: {listed}"
        )
    held = summary_metrics(summary)
    chosen = held if metrics is None else split_metrics(metrics)
    problems = [unknown_metric(m, held) for m in chosen if m not in held]
    if problems:
        raise ConfigError("; ".join(problems), problems=problems)

    _, point = grid_points(summary)
    is_base = (summary["variant"] == baseline).tolist()
    base_row: dict[tuple[Any, ...], int] = {}
    for pos, (key, base) in enumerate(zip(point, is_base, strict=True)):
        if base:
            base_row.setdefault(key, pos)

    added: dict[str, list[Any]] = {}
    for metric in chosen:
        direction = metric_direction(metric)
        mean, std, n = metric_arrays(summary, metric)
        rows: list[tuple[float, float, str]] = []
        for pos in range(len(summary)):
            ref = base_row.get(point[pos])
            if is_base[pos]:
                delta, p, verdict = math.nan, math.nan, BASELINE_VERDICT
            elif ref is None:
                delta, p, verdict = math.nan, math.nan, "n/a"
            else:
                delta = float(mean[pos]) - float(mean[ref])
                p = welch_p_value(
                    float(mean[pos]), float(std[pos]), int(n[pos]),
                    float(mean[ref]), float(std[ref]), int(n[ref]),
                )  # fmt: skip
                verdict = _verdict(delta, p, direction, alpha)
            rows.append((delta, p, verdict))
        added.update(row_columns(metric, COMPARISON_SUFFIXES, rows))

    stale = [c for c in summary.columns if c in added]
    out = summary.drop(columns=stale)
    columns = list(out.columns)
    for metric in chosen:
        block = [metric + s for s in (*STAT_SUFFIXES, *COUNT_SUFFIXES) if metric + s in columns]
        at = max(columns.index(c) for c in block) + 1
        columns[at:at] = [metric + s for s in COMPARISON_SUFFIXES]
    out = out.assign(**{c: pd.Series(v, index=out.index) for c, v in added.items()})
    for metric in chosen:
        out[f"{metric}_delta"] = out[f"{metric}_delta"].astype("float64")
        out[f"{metric}_p"] = out[f"{metric}_p"].astype("float64")
    out = out[columns]
    out.attrs.update(baseline=baseline, alpha=alpha)
    return out


def _verdict(delta: float, p: float, direction: bool | None, alpha: float) -> str:
    if direction is None or math.isnan(p):
        return "n/a"
    if p < alpha and delta != 0:
        return "better" if (delta > 0) == direction else "worse"
    return "same"
