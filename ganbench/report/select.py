"""Which runs and values a report covers: the columns that make a row, metric names and patterns,
the value of each run at a step (final, best or a given step), and ``where`` filters.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ganbench.errors import ConfigError, OptionError
from ganbench.metrics import catalog, names
from ganbench.results.read import Results
from ganbench.text import short, suggestion


def is_missing(value: Any) -> bool:
    """Whether a configuration cell holds no value: ``None``, ``pd.NA`` or a float NaN."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def point_key(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """A configuration's key with every missing cell as ``None`` (NaN != NaN would split it)."""
    return tuple(None if is_missing(v) else v for v in values)


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
            f"{short(','.join(by))}: allowed columns: {', '.join(allowed)}"
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
    available = available_metrics(results)
    if metrics is None:
        return available
    requested = split_metrics(metrics)
    resolved: list[str] = []
    problems: list[str] = []
    for name in requested:
        if any(ch in name for ch in "*?["):
            matches = [m for m in available if fnmatch.fnmatchcase(m, name)]
        else:
            matches = [name] if name in available else []
        if not matches:
            problems.append(unknown_metric(name, available))
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
        measured.assign(_run=run_index(results, measured), _metric=measured["metric"].map(rank))
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
    raise OptionError("step", f"{short(step)}: allowed: {STEP_CHOICES} (e.g. 5000)")


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
    ``variant=wgan-gp|hinge``, ``optimizer.lr_d=0.0002``, ``trial=3`` (results of a search).

    Raises:
        ConfigError: for a malformed condition or an unknown column (the message lists them).
    """
    runs = results.runs
    allowed = ["suite", "variant", "dataset", "seed", "status", "run_id", *results.grid_keys]
    if "trial" in runs.columns and runs["trial"].notna().any():
        allowed.insert(4, "trial")  # a search's trial index
    mask = pd.Series(True, index=runs.index)
    for condition in where:
        key, sep, value = condition.partition("=")
        key = key.strip()
        if not sep or not key:
            raise OptionError(
                "where", f"{short(condition)}: expected KEY=VALUE, e.g. dataset=grid25"
            )
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


def metric_direction(metric: str) -> bool | None:
    """``True`` when higher is better, ``False`` when lower is better, ``None`` without a direction.

    ``ema/<m>`` has the direction of ``m``.
    """
    return catalog.higher_is_better(metric.removeprefix(names.EMA_PREFIX))


def available_metrics(results: Results) -> list[str]:
    """Recorded metric names, sorted (``mode_count/<k>`` numerically)."""
    found = results.metrics["metric"].unique().tolist()
    return sorted(found, key=_metric_sort_key)


def _metric_sort_key(name: str) -> tuple[str, int, str]:
    stem, _, tail = name.rpartition("/")
    if stem and tail.isdigit():
        return (stem + "/", int(tail), "")
    return (name, -1, "")


def split_metrics(metrics: str | Iterable[str]) -> list[str]:
    items: Sequence[str] = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    return [m.strip() for m in items if m.strip()]


def unknown_metric(name: str, available: list[str]) -> str:
    """An actionable message for a metric that was not recorded."""
    hint = suggestion(name, available, n=3) if len(name) <= 100 else ""
    return f"unknown metric {short(name)}{hint} available: {_describe(available)}"


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


def run_index(results: Results, frame: pd.DataFrame) -> pd.Series:
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
