"""Aggregate runs over seeds: final metric values and per-configuration summaries.

A configuration is one (suite, variant, dataset, other grid keys) combination; its runs differ only
by seed. Rows come in the order of :attr:`Results.runs` (suites by name, then the suite file's
order of variants and grid values, see :mod:`ganbench.results.read`), by first appearance.
"""

from __future__ import annotations

import fnmatch
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ganbench.errors import ConfigError, OptionError
from ganbench.metrics import catalog, names
from ganbench.report.stats import welch
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

COMPARISON_SUFFIXES = ("_delta", "_p", "_verdict")
"""Added by :func:`versus_baseline` after each compared metric's block."""

VERDICTS = ("better", "worse", "same", "n/a")
"""Verdicts of a comparison with the baseline; the baseline's own rows read ``"baseline"``."""

BASELINE_VERDICT = "baseline"

DEFAULT_ALPHA = 0.05
"""Significance level of :func:`versus_baseline`."""


def group_columns(results: Results) -> list[str]:
    """The columns that identify a configuration: suite, variant, dataset, grid keys."""
    return ["suite", "variant", "dataset", *results.grid_keys]


def check_by(results: Results, by: Sequence[str] | None) -> list[str]:
    """The grouping columns: ``by`` checked against the run columns, or :func:`group_columns`.

    Raises:
        ConfigError: for an unknown column (the message lists the allowed ones).
    """
    if by is None:
        return group_columns(results)
    allowed = group_columns(results)
    bad = [k for k in by if k not in allowed]
    if bad or not by:
        raise OptionError(
            "by",
            f"{','.join(by)!r}: allowed columns: {', '.join(allowed)}"
            + (f" (unknown: {', '.join(bad)})" if bad else ""),
        )
    return list(dict.fromkeys(by))


def resolve_metrics(results: Results, metrics: str | Iterable[str] | None) -> list[str]:
    """Check requested metric names against those recorded and expand glob patterns.

    ``metrics`` may be a list of names, a comma-separated string, or ``None`` (all recorded
    metrics). Patterns such as ``mode_count/*`` expand to the recorded names they match.

    Raises:
        ConfigError: for a name (or pattern) that matches no recorded metric.
    """
    available = _available(results)
    if metrics is None:
        return available
    requested = _split(metrics)
    resolved: list[str] = []
    problems: list[str] = []
    for name in requested:
        if any(ch in name for ch in "*?["):
            matches = [m for m in available if fnmatch.fnmatchcase(m, name)]
        else:
            matches = [name] if name in available else []
        if not matches:
            problems.append(_unknown_metric(name, available))
        resolved += [m for m in matches if m not in resolved]
    if problems:
        raise ConfigError("; ".join(problems), problems=problems)
    return resolved


STEP_CHOICES = "final, best or a step number"
"""What ``step`` accepts in :func:`final_values` and :func:`summarize`."""


def final_values(
    results: Results,
    metrics: str | Iterable[str] | None = None,
    *,
    wide: bool = False,
    step: str | int = "final",
) -> pd.DataFrame:
    """Each run's value of each metric at one step.

    ``step``: ``"final"`` (default) takes the value at the last step where the run recorded the
    metric; ``"best"`` the best value over the run's evaluations by the metric's direction
    (:func:`metric_direction`; the final value for metrics without one), ``step`` is then the
    step where it was reached; an integer, the value recorded at exactly that step (runs that did
    not record it have none).

    Long by default: one row per (run, metric) with a value, with the run's identity columns and
    ``step``, ``value``, ``n_real``, ``n_fake``. With ``wide=True``: one row per run (all runs, in
    :attr:`Results.runs` order, with its columns) and one column per metric (NaN where the run has
    no value).

    Raises:
        ConfigError: for a requested metric that was not recorded, or a bad ``step``.
    """
    chosen = resolve_metrics(results, metrics)
    step = parse_step(step)
    measured = results.metrics[results.metrics["metric"].isin(chosen)]
    if isinstance(step, int):
        measured = measured[measured["step"] == step]
    elif step == "best":
        measured = _best_rows(measured)
    rank = {m: i for i, m in enumerate(chosen)}
    last = (
        measured.assign(_run=_run_index(results, measured), _metric=measured["metric"].map(rank))
        .sort_values(["_run", "_metric", "step"], kind="stable")
        .drop_duplicates(["_run", "_metric"], keep="last")
        .drop(columns=["_run", "_metric"])
        .reset_index(drop=True)
    )
    if not wide:
        return last
    table = last.pivot(index=["suite", "run_id"], columns="metric", values="value")
    table = table.reindex(columns=chosen)
    table.columns.name = None
    out = results.runs.join(table, on=["suite", "run_id"])
    return out.reset_index(drop=True)


def parse_step(step: str | int) -> str | int:
    """``"final"``, ``"best"`` or a non-negative step number (from an int or its text)."""
    if isinstance(step, int) and not isinstance(step, bool) and step >= 0:
        return step
    text = str(step).strip()
    if text in ("final", "best"):
        return text
    if text.isdigit():
        return int(text)
    raise OptionError("step", f"{step!r}: allowed: {STEP_CHOICES} (e.g. 5000)")


def _best_rows(measured: pd.DataFrame) -> pd.DataFrame:
    """Per run and metric, the row with the best finite value (ties: the later step); the
    last row for metrics without a direction."""
    keep = []
    for metric, rows in measured.groupby("metric", sort=False):
        direction = metric_direction(str(metric))
        if direction is None:
            keep.append(rows)
            continue
        finite = rows[np.isfinite(rows["value"].to_numpy())]
        # Best value first (highest or lowest), the later step first among equal values.
        best = finite.sort_values(
            ["value", "step"], ascending=[direction is False, False], kind="stable"
        ).drop_duplicates(["suite", "run_id"], keep="first")
        keep.append(best.sort_values("step", kind="stable"))
    if not keep:
        return measured
    # One row per run and metric is left, so the caller's "last row" rule picks it.
    return pd.concat(keep).sort_index(kind="stable")


def filter_results(results: Results, where: Iterable[str]) -> Results:
    """The runs whose columns match every ``KEY=VALUE`` (``VALUE`` may list alternatives
    separated by ``|``; numbers compare as numbers), e.g. ``dataset=grid25``,
    ``variant=wgan-gp|hinge``, ``optimizer.lr_d=0.0002``.

    Raises:
        ConfigError: for a malformed condition or an unknown column (the message lists them).
    """
    runs = results.runs
    allowed = ["suite", "variant", "dataset", "seed", "status", "run_id", *results.grid_keys]
    mask = pd.Series(True, index=runs.index)
    for condition in where:
        key, sep, value = condition.partition("=")
        key = key.strip()
        if not sep or not key:
            raise OptionError("where", f"{condition!r}: expected KEY=VALUE, e.g. dataset=grid25")
        if key not in allowed:
            hint = suggestion(key, allowed)
            raise OptionError("where", f"{condition!r}: unknown key {key!r}{hint} known: "
                              f"{', '.join(allowed)}")  # fmt: skip
        wanted = [v.strip() for v in value.split("|")]
        mask &= runs[key].map(lambda cell, wanted=wanted: _matches(cell, wanted))
    kept = set(runs.loc[mask, "run_id"])
    if not kept:
        raise OptionError(
            "where",
            f"{' '.join(where)}: no run matches (values of the keys: "
            + "; ".join(
                f"{k}: {', '.join(map(str, dict.fromkeys(runs[k].tolist())))}"
                for k in dict.fromkeys(c.partition("=")[0].strip() for c in where)
            )
            + ")",
        )
    return results.only(kept)


def _matches(cell: Any, wanted: list[str]) -> bool:
    for text in wanted:
        if str(cell) == text:
            return True
        try:
            if not isinstance(cell, str) and float(text) == float(cell):
                return True
        except (TypeError, ValueError):
            pass
    return False


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
        available = set(_available(results))
        chosen = [m for m in DEFAULT_METRICS if m in available]
        if not chosen:
            chosen = [m for m in _available(results) if "/" not in m]
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


def metric_direction(metric: str) -> bool | None:
    """``True`` when higher is better, ``False`` when lower is better, ``None`` without a direction.

    ``ema/<m>`` has the direction of ``m``.
    """
    return catalog.HIGHER_IS_BETTER.get(metric.removeprefix(names.EMA_PREFIX))


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
    chosen = held if metrics is None else _split(metrics)
    problems = [_unknown_metric(m, held) for m in chosen if m not in held]
    if problems:
        raise ConfigError("; ".join(problems), problems=problems)

    others = [k for k in summary_keys(summary) if k != "variant"]
    point = [_point_key(values) for values in summary[others].itertuples(index=False, name=None)]
    is_base = (summary["variant"] == baseline).tolist()
    base_row: dict[tuple[Any, ...], int] = {}
    for pos, (key, base) in enumerate(zip(point, is_base, strict=True)):
        if base:
            base_row.setdefault(key, pos)

    added: dict[str, list[Any]] = {}
    for metric in chosen:
        direction = metric_direction(metric)
        mean = summary[f"{metric}_mean"].to_numpy(dtype=np.float64)
        std = summary[f"{metric}_std"].to_numpy(dtype=np.float64)
        n = summary[f"{metric}_n"].to_numpy(dtype=np.int64)
        deltas, pvalues, verdicts = [], [], []
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
            deltas.append(delta)
            pvalues.append(p)
            verdicts.append(verdict)
        added[f"{metric}_delta"] = deltas
        added[f"{metric}_p"] = pvalues
        added[f"{metric}_verdict"] = verdicts

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


def _verdict(delta: float, p: float, direction: bool | None, alpha: float) -> str:
    if direction is None or math.isnan(p):
        return "n/a"
    if p < alpha and delta != 0:
        return "better" if (delta > 0) == direction else "worse"
    return "same"


def _point_key(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """A hashable grid-point key in which every kind of missing value compares equal."""
    return tuple(None if _is_missing(v) else v for v in values)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _available(results: Results) -> list[str]:
    """Recorded metric names, sorted (``mode_count/<k>`` numerically)."""
    found = results.metrics["metric"].unique().tolist()
    return sorted(found, key=_metric_sort_key)


def _metric_sort_key(name: str) -> tuple[str, int, str]:
    stem, _, tail = name.rpartition("/")
    if stem and tail.isdigit():
        return (stem + "/", int(tail), "")
    return (name, -1, "")


def _split(metrics: str | Iterable[str]) -> list[str]:
    items: Sequence[str] = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    return [m.strip() for m in items if m.strip()]


def _unknown_metric(name: str, available: list[str]) -> str:
    """An actionable message for a metric that was not recorded."""
    hint = suggestion(name, available, n=3)
    return f"unknown metric {name!r}{hint} available: {_describe(available)}"


def _describe(available: list[str]) -> str:
    """Recorded metric names, with numbered families such as mode_count/<k> collapsed."""
    if not available:
        return "none (the results hold no metric values)"
    families: dict[str, list[str]] = {}
    plain: list[str] = []
    for name in available:
        stem, _, tail = name.rpartition("/")
        if stem:
            families.setdefault(stem, []).append(tail)
        else:
            plain.append(name)
    parts = list(plain)
    for stem, tails in families.items():
        if len(tails) > 3:
            parts.append(f"{stem}/{tails[0]}..{stem}/{tails[-1]} ({stem}/* for all)")
        else:
            parts += [f"{stem}/{t}" for t in tails]
    return ", ".join(parts)


def _run_index(results: Results, frame: pd.DataFrame) -> pd.Series:
    """Position of each row's run in :attr:`Results.runs` (for stable run ordering)."""
    position = {
        (s, r): i
        for i, (s, r) in enumerate(zip(results.runs["suite"], results.runs["run_id"], strict=True))
    }
    return pd.Series(
        [position[(s, r)] for s, r in zip(frame["suite"], frame["run_id"], strict=True)],
        index=frame.index,
        dtype="int64",
    )


def _typical(counts: list[Any]) -> Any:
    """The most common recorded count (smallest on ties); ``pd.NA`` when none was recorded."""
    recorded = [int(c) for c in counts if not pd.isna(c)]
    if not recorded:
        return pd.NA
    tally = Counter(recorded)
    best = max(tally.values())
    return min(c for c, n in tally.items() if n == best)


STABILITY = "stability"
"""Summary column: the stability profile of a configuration in words (see
:func:`with_stability`); the counts are in ``verdict_<label>`` columns."""

MISSING_STABILITY = "-"
"""The stability cell of a configuration without runs to judge."""


def with_stability(
    summary: pd.DataFrame, results: Results, by: Sequence[str] | None = None
) -> pd.DataFrame:
    """The summary with each configuration's stability profile: how many of its runs ended
    diverged, mode-collapsed, diffuse, oscillating, converged or undecided (the rules and thresholds of
    :mod:`ganbench.report.verdicts`).

    Adds ``verdict_<label>`` count columns and a ``stability`` column such as
    ``"3 converged, 1 oscillating"`` right after the run counts.
    """
    from ganbench.report.verdicts import LABELS, stability_profile, verdicts

    keys = check_by(results, by)
    profile = stability_profile(verdicts(results), by=keys)
    counts = {_point_key(tuple(row[k] for k in keys)): row for row in profile.to_dict("records")}
    out = summary.copy()
    at = list(out.columns).index("seeds") + 1 if "seeds" in out.columns else len(out.columns)
    words, columns = [], {f"verdict_{lab}": [] for lab in LABELS}
    for _, rec in out.iterrows():
        row = counts.get(_point_key(tuple(rec[k] for k in keys)), {})
        parts = []
        for lab in LABELS:
            n = int(row.get(lab, 0))
            columns[f"verdict_{lab}"].append(n)
            if n:
                parts.append(f"{n} {lab}")
        words.append(", ".join(parts) or MISSING_STABILITY)
    out.insert(at, STABILITY, words)
    for i, (name, values) in enumerate(columns.items()):
        out.insert(at + 1 + i, name, pd.array(values, dtype="int64"))
    return out
