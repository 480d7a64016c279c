"""Near-chance flags: which variants' metrics a mode-blind generator matches within seed noise.

The chance rows (``chance: ...`` variants, :mod:`ganbench.diagnostics.chance`) score what a
generator that learned nothing about the modes scores. A variant's metric is flagged *near
chance* when it is not better than the best chance row at its suite and data (dataset, weights
and any other grid key the chance row carries) beyond seed noise: a one-sided Welch t-test of the
variant's seeds against that chance row's seeds, in the metric's direction
(:data:`ganbench.metrics.catalog.HIGHER_IS_BETTER`), does not reach ``p < alpha``. With fewer than
two values on either side there is no noise estimate and the cell reads *untested*. Reference
rows (floor, data, chance) are never flagged, and the data row is never the bar. Nothing here
imports training code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ganbench.metrics import names
from ganbench.report.baseline import DEFAULT_ALPHA
from ganbench.report.select import metric_direction
from ganbench.report.stats import welch
from ganbench.report.summary import grid_points, metric_arrays, row_columns, summary_metrics

NEAR_CHANCE = "near chance"
"""Not better than the best chance row beyond seed noise (one-sided Welch, p >= alpha)."""
ABOVE_CHANCE = "above chance"
"""Better than the best chance row beyond seed noise (one-sided Welch, p < alpha)."""
UNTESTED = "untested"
"""Fewer than two values on a side: no noise estimate, no test."""

FLAGS = (NEAR_CHANCE, ABOVE_CHANCE, UNTESTED)
"""Values of a ``<metric>_chance`` column (missing: no chance row, a baseline row, or a metric
without a direction or value)."""

CHANCE_SUFFIXES = ("_chance", "_chance_p", "_chance_row")
"""Columns :func:`with_chance_flags` adds per flagged metric: the flag, the one-sided p-value
and the chance row tested against."""

MARKS = {NEAR_CHANCE: "~", UNTESTED: "?"}
"""The mark after a metric cell in the human formats (none above chance)."""


LEGEND = {
    MARKS[NEAR_CHANCE]: "within seed noise of chance: not better than the best chance row at the "
    "same data by a one-sided Welch t-test over the seeds (p >= alpha)",
    MARKS[UNTESTED]: "untested against chance: fewer than 2 values on a side",
}
"""The marks' meaning, for legends."""


def has_flags(summary: pd.DataFrame) -> bool:
    """Whether :func:`with_chance_flags` added flags to a summary."""
    return any(str(c).endswith("_chance") for c in summary.columns)


def one_sided_p(
    mean: float, std: float, n: int, chance_mean: float, chance_std: float, chance_n: int,
    higher_is_better: bool,
) -> float:  # fmt: skip
    """p-value of Welch's t-test of "the variant is better than chance" from each side's mean,
    sample std (ddof=1) and count: P(T >= t) for t = (mean - chance_mean) / sqrt(std^2/n +
    chance_std^2/chance_n) (sign flipped when lower is better), T Student with the
    Welch-Satterthwaite degrees of freedom.

    NaN when either side has fewer than two values or a non-finite statistic. Without noise on
    either side: 0 if the variant is better, else 1.
    """
    stats = (mean, std, chance_mean, chance_std)
    if n < 2 or chance_n < 2 or not all(math.isfinite(x) for x in stats):
        return math.nan
    alternative = "greater" if higher_is_better else "less"
    return welch(mean, std, n, chance_mean, chance_std, chance_n, alternative).p


def with_chance_flags(
    summary: pd.DataFrame, *, alpha: float = DEFAULT_ALPHA, metrics: list[str] | None = None
) -> pd.DataFrame:
    """The summary with ``<m>_chance``, ``<m>_chance_p`` and ``<m>_chance_row`` columns (at the
    end, for every metric ``m`` with a direction; default all the summary holds) when it holds
    chance rows; otherwise the summary unchanged. ``attrs["chance_alpha"]`` records ``alpha``.

    A chance row stands beside a row of the same suite whose configuration columns equal the
    chance row's wherever the chance row has a value (it leaves grid keys that do not change the
    data empty). Among them the best by the metric's direction (finite means only) is the bar.
    """
    if "variant" not in summary.columns:
        return summary
    variants = summary["variant"].astype(str)
    is_chance = variants.map(names.is_chance).to_numpy(bool)
    if not is_chance.any():
        return summary
    is_baseline_row = variants.map(names.is_baseline_row).to_numpy(bool)
    chosen = summary_metrics(summary) if metrics is None else metrics
    chosen = [m for m in chosen if metric_direction(m) is not None]
    others, points = grid_points(summary)
    chance_rows = np.flatnonzero(is_chance)
    added: dict[str, list[Any]] = {}
    for metric in chosen:
        higher = bool(metric_direction(metric))
        mean, std, n = metric_arrays(summary, metric)
        rows: list[tuple[Any, float, Any]] = []
        for pos in range(len(summary)):
            flag, p, bar = None, math.nan, None
            if not is_baseline_row[pos] and n[pos] > 0 and math.isfinite(mean[pos]):
                beside = [
                    c
                    for c in chance_rows
                    if math.isfinite(mean[c]) and _beside(points[c], points[pos], others)
                ]
                if beside:
                    best = max(beside, key=lambda c: mean[c] if higher else -mean[c])
                    bar = variants.iloc[best]
                    p = one_sided_p(
                        mean[pos], std[pos], int(n[pos]),
                        mean[best], std[best], int(n[best]), higher,
                    )  # fmt: skip
                    flag = UNTESTED if math.isnan(p) else ABOVE_CHANCE if p < alpha else NEAR_CHANCE
            rows.append((flag, p, bar))
        added.update(row_columns(metric, ("_chance", "_chance_p", "_chance_row"), rows))
    out = summary.drop(columns=[c for c in added if c in summary.columns])
    out = out.assign(**{c: pd.Series(v, index=out.index, dtype=object) for c, v in added.items()})
    for metric in chosen:
        out[f"{metric}_chance_p"] = out[f"{metric}_chance_p"].astype("float64")
    out.attrs.update(summary.attrs)
    out.attrs["chance_alpha"] = alpha
    return out


def _beside(chance: tuple, row: tuple, keys: list[str]) -> bool:
    """Whether a chance row's configuration (missing values: any) matches a row's; the suite
    must match."""
    for key, c, r in zip(keys, chance, row, strict=True):
        if c is None and key != "suite":
            continue
        if c != r:
            return False
    return True


def chance_mark(summary_row: pd.Series, metric: str) -> str:
    """The mark after a metric's cell (``" ~"``, ``" ?"`` or nothing)."""
    flag = summary_row.get(f"{metric}_chance")
    mark = MARKS.get(flag) if isinstance(flag, str) else None
    return f" {mark}" if mark else ""


def chance_notes(summary: pd.DataFrame) -> list[str]:
    """Notes under a flagged table: what ``~`` and ``?`` mean, per metric against which chance
    rows."""
    flagged = [m for m in summary_metrics(summary) if f"{m}_chance" in summary.columns]
    if not flagged:
        return []
    alpha = summary.attrs.get("chance_alpha", DEFAULT_ALPHA)
    near: list[str] = []
    untested = False
    for m in flagged:
        flags = summary[f"{m}_chance"]
        rows = summary.loc[flags == NEAR_CHANCE, f"{m}_chance_row"]
        if len(rows):
            near.append(f"{m} ({' / '.join(str(r) for r in dict.fromkeys(rows))})")
        untested |= bool((flags == UNTESTED).any())
    notes = []
    if near:
        notes.append(
            f"{MARKS[NEAR_CHANCE]} within seed noise of chance: not above the best chance row at "
            f"the same dataset/grid point by a one-sided Welch t-test over the seeds "
            f"(p >= {alpha:g}); " + "; ".join(near) + "."
        )
    elif any((summary[f"{m}_chance"] == ABOVE_CHANCE).any() for m in flagged):
        notes.append(
            "Every tested value is above the best chance row at its dataset/grid point "
            f"(one-sided Welch t-test over the seeds, p < {alpha:g})."
        )
    if untested:
        notes.append(f"{MARKS[UNTESTED]} untested against chance: fewer than 2 values on a side.")
    return notes
