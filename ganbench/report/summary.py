"""Aggregate runs over seeds: per-configuration summaries and metric curves.

A configuration is one (suite, variant, dataset, other grid keys) combination; its runs differ only
by seed. Rows come in the order of :attr:`Results.runs` (suites by name, then the suite file's
order of variants and grid values, see :mod:`ganbench.results.read`), by first appearance.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ganbench.errors import OptionError
from ganbench.metrics import catalog
from ganbench.report.select import (
    available_metrics,
    check_by,
    final_values,
    group_columns,
    metric_direction,
    point_key,
    resolve_metrics,
)
from ganbench.results.layout import COMPLETED, DIVERGED, FAILED
from ganbench.results.read import Results
from ganbench.text import suggestion

DEFAULT_METRICS: tuple[str, ...] = catalog.TABLE_METRICS
"""Metrics :func:`summarize` reports when none are named (those the results hold)."""


COUNT_COLUMNS = ("n_runs", "completed", "diverged", "failed", "seeds")
"""Columns after the configuration keys in a summary; metric blocks follow them."""


STAT_SUFFIXES = ("_mean", "_std", "_n")
"""Every metric ``m`` has ``m_mean``, ``m_std``, ``m_n`` in a summary."""


COUNT_SUFFIXES = ("_n_real", "_n_fake")
"""Present for a metric when its sample counts were recorded."""


def sort_summary(summary: pd.DataFrame, key: str) -> pd.DataFrame:
    """Rows sorted by a metric's mean, best first by its direction (descending without one),
    or by a configuration column; ties and missing values keep their order, missing last.

    Raises:
        ConfigError: for a key that is neither a summary metric nor a column.
    """
    metrics = summary_metrics(summary)
    if key in metrics:
        direction = metric_direction(key)
        column, ascending = f"{key}_mean", direction is False
    elif key in summary.columns:
        column, ascending = key, True
    else:
        known = [*summary_keys(summary), *metrics]
        hint = suggestion(key, known)
        raise OptionError("sort", f"{key!r}: not a column of the report{hint} known: "
                          f"{', '.join(known)}")  # fmt: skip
    out = summary.sort_values(column, ascending=ascending, kind="stable", na_position="last")
    out.attrs.update(summary.attrs)
    return out.reset_index(drop=True)


def summarize(
    results: Results,
    metrics: str | Iterable[str] | None = None,
    *,
    by: Sequence[str] | None = None,
    step: str | int = "final",
) -> pd.DataFrame:
    """One row per configuration: run counts and mean, std and n of each metric's final value.

    ``by`` replaces the configuration columns (default :func:`group_columns`), e.g.
    ``["variant"]`` pools every dataset and grid point of a variant; ``step`` picks the value of
    each run as in :func:`final_values`.

    Columns: the configuration columns, then ``n_runs``, ``completed``, ``diverged``, ``failed``,
    ``seeds`` (comma-separated), then for each metric ``m``: ``m_mean``, ``m_std`` (sample std,
    ddof=1; NaN below two values), ``m_n`` (values averaged) and, when the metric recorded them,
    ``m_n_real`` and ``m_n_fake`` (the most common sample counts behind the values).

    Only completed runs are averaged; diverged and failed runs are counted in their columns. A
    NaN final value is not averaged (``m_n`` says how many were). ``metrics=None`` reports
    :data:`DEFAULT_METRICS` that the results hold.

    Raises:
        ConfigError: for a requested metric that was not recorded.
    """
    if metrics is None:
        chosen = catalog.default_columns(available_metrics(results))
        if not chosen:
            chosen = [m for m in available_metrics(results) if "/" not in m]
    else:
        chosen = resolve_metrics(results, metrics)

    finals = final_values(results, chosen, step=step) if chosen else None
    lookup: dict[tuple[str, str, str], tuple[float, Any, Any]] = {}
    has_counts: dict[str, dict[str, bool]] = {m: {"n_real": False, "n_fake": False} for m in chosen}
    if finals is not None:
        for row in finals.itertuples(index=False):
            lookup[(row.suite, row.run_id, row.metric)] = (row.value, row.n_real, row.n_fake)
            for col in ("n_real", "n_fake"):
                if not pd.isna(getattr(row, col)):
                    has_counts[row.metric][col] = True

    keys = check_by(results, by)
    rows: list[dict[str, Any]] = []
    for _, group in results.runs.groupby(keys, sort=False, dropna=False):
        first = group.iloc[0]
        row: dict[str, Any] = {k: first[k] for k in keys}
        status = group["status"]
        row["n_runs"] = len(group)
        row["completed"] = int((status == COMPLETED).sum())
        row["diverged"] = int((status == DIVERGED).sum())
        row["failed"] = int((status == FAILED).sum())
        row["seeds"] = ",".join(str(s) for s in sorted(group["seed"].unique()))
        done = group[status == COMPLETED]
        for metric in chosen:
            hits = [
                lookup.get((s, r, metric))
                for s, r in zip(done["suite"], done["run_id"], strict=True)
            ]
            used = [h for h in hits if h is not None and not math.isnan(h[0])]
            values = np.array([h[0] for h in used], dtype=np.float64)
            # Values near the float range overflow to inf (never an exception): the reference
            # check then reads them as having no finite test statistic.
            with np.errstate(over="ignore", invalid="ignore"):
                row[f"{metric}_mean"] = float(values.mean()) if len(values) else math.nan
                row[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
            row[f"{metric}_n"] = len(values)
            for index, col in ((1, "n_real"), (2, "n_fake")):
                if has_counts[metric][col]:
                    row[f"{metric}_{col}"] = _typical([h[index] for h in used])
        rows.append(row)

    columns = [*keys, *COUNT_COLUMNS]
    for metric in chosen:
        columns += [metric + suffix for suffix in STAT_SUFFIXES]
        columns += [f"{metric}_{c}" for c in ("n_real", "n_fake") if has_counts[metric][c]]
    summary = pd.DataFrame(rows, columns=columns)
    for col in ("n_runs", "completed", "diverged", "failed"):
        summary[col] = summary[col].astype("int64")
    for metric in chosen:
        summary[f"{metric}_mean"] = summary[f"{metric}_mean"].astype("float64")
        summary[f"{metric}_std"] = summary[f"{metric}_std"].astype("float64")
        summary[f"{metric}_n"] = summary[f"{metric}_n"].astype("int64")
        for col in ("n_real", "n_fake"):
            if has_counts[metric][col]:
                summary[f"{metric}_{col}"] = summary[f"{metric}_{col}"].astype("Int64")
    return summary


CURVE_COLUMNS = ("metric", "step", "mean", "std", "n", "ci_low", "ci_high")
"""Columns of :func:`curves` after the :func:`group_columns`."""


def curves(
    results: Results, metrics: str | Iterable[str] | None = None, *, level: float = 0.95
) -> pd.DataFrame:
    """Each configuration's metric trajectories over training, aggregated over seeds.

    One row per configuration (:func:`group_columns`) x metric x step with the ``mean``, the
    sample ``std`` (ddof=1; NaN below two values), ``n`` (finite values averaged at that step)
    and a two-sided Student-t confidence interval ``mean -/+ t_{(1+level)/2, n-1} std/sqrt(n)``
    (``ci_low``, ``ci_high``; NaN below two values). Runs that failed are left out; a diverged
    run contributes the steps it recorded, so ``n`` can fall along a curve.

    Raises:
        ConfigError: for a requested metric that was not recorded.
    """
    from scipy import stats

    chosen = resolve_metrics(results, metrics)
    keys = group_columns(results)
    measured = results.metrics[
        results.metrics["metric"].isin(chosen) & (results.metrics["status"] != FAILED)
    ]
    measured = measured[np.isfinite(measured["value"].to_numpy())]
    if measured.empty:
        return pd.DataFrame(columns=[*keys, *CURVE_COLUMNS])
    grouped = measured.groupby([*keys, "metric", "step"], sort=False, dropna=False)["value"]
    table = grouped.agg(mean="mean", std=lambda v: v.std(ddof=1), n="count").reset_index()
    n = table["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(n > 1, stats.t.ppf((1.0 + level) / 2.0, np.maximum(n - 1, 1)), np.nan)
        half = t * table["std"].to_numpy() / np.sqrt(n)
    table["ci_low"] = table["mean"] - half
    table["ci_high"] = table["mean"] + half
    order = {m: i for i, m in enumerate(chosen)}
    table["_rank"] = table["metric"].map(order)
    configs = results.runs[keys].drop_duplicates().reset_index(drop=True)
    configs["_config"] = range(len(configs))
    table = table.merge(configs, on=keys, how="left")
    table = table.sort_values(["_config", "_rank", "step"], kind="stable")
    return table.drop(columns=["_rank", "_config"]).reset_index(drop=True)


def summary_metrics(summary: pd.DataFrame) -> list[str]:
    """The metrics a summary holds, in column order (from its ``m_mean/m_std/m_n`` blocks)."""
    columns = set(summary.columns)
    found: list[str] = []
    for col in summary.columns:
        if col.endswith("_mean"):
            metric = col[: -len("_mean")]
            if f"{metric}_std" in columns and f"{metric}_n" in columns:
                found.append(metric)
    return found


def summary_keys(summary: pd.DataFrame) -> list[str]:
    """The configuration columns of a summary (those before ``n_runs``)."""
    columns = list(summary.columns)
    return columns[: columns.index("n_runs")] if "n_runs" in columns else []


def grid_points(summary: pd.DataFrame) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The configuration columns of a summary other than ``variant``, and each row's values of
    them as a key (:func:`ganbench.report.select.point_key`): rows at one grid point share it."""
    others = [k for k in summary_keys(summary) if k != "variant"]
    points = [point_key(v) for v in summary[others].itertuples(index=False, name=None)]
    return others, points


def row_columns(metric: str, suffixes: Sequence[str], rows: list[tuple]) -> dict[str, list[Any]]:
    """Columns ``<metric><suffix>`` from one tuple of values per summary row.

    >>> row_columns("fd", ("_delta", "_p"), [(0.5, 0.01), (-1.0, 0.2)])
    {'fd_delta': [0.5, -1.0], 'fd_p': [0.01, 0.2]}
    """
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in suffixes]
    return {metric + s: list(c) for s, c in zip(suffixes, columns, strict=True)}


def metric_arrays(summary: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of a summary: the mean, sample std (float64) and count (int64) of ``metric``."""
    return (
        summary[f"{metric}_mean"].to_numpy(np.float64),
        summary[f"{metric}_std"].to_numpy(np.float64),
        summary[f"{metric}_n"].to_numpy(np.int64),
    )


def _typical(counts: list[Any]) -> Any:
    """The most common recorded count (smallest on ties); ``pd.NA`` when none was recorded."""
    recorded = [int(c) for c in counts if not pd.isna(c)]
    if not recorded:
        return pd.NA
    tally = Counter(recorded)
    best = max(tally.values())
    return min(c for c, n in tally.items() if n == best)
