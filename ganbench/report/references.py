"""Published numbers beside measured ones: one verdict per (variant, grid point, metric).

A suite's ``[[reference]]`` tables (:mod:`ganbench.references`) travel with its results in
``suite.toml``. For each reference and each configuration of the results it matches (same suite,
variant and grid point; one row per profile when runs record one), the measured side is the mean,
sample standard deviation (ddof = 1) and count k of the metric over the completed runs at the
report's step, exactly as the summary averages them; the verdict compares the two:

- published standard error or deviation from n >= 2 runs, and k >= 2: Welch's two-sided t-test
  between the published (mean, sd, n) -- sd = se * sqrt(n) for a standard error -- and the
  measured (mean, sd, k), with Welch-Satterthwaite degrees of freedom (:func:`ganbench.report.stats.welch`);
- no published uncertainty (or n = 1), and k >= 2: a two-sided one-sample t-test of the measured
  seeds against the published value (:func:`ganbench.report.stats.one_sample`), marked "no uncertainty published";
- k = 1: no test ("1 run: untested");
- an analytic value (kind ``tolerance``: a statement such as "converges to the equilibrium",
  where the uncertainty is the distance that still counts as reaching it): "agrees" when the
  measured mean lies within +- the tolerance of the value, whatever k (deterministic suites run
  one seed); no test statistic.

Otherwise "agrees" when p >= alpha, else "higher" or "lower" (measured relative to published), with
"better"/"worse" by the metric's direction. Zero variance on both sides (modes 8 ± 0 against
8 ± 0) leaves no noise to test against: equal means agree (p = 1), different means differ (p = 0).

The statistics are pure functions of numbers; nothing here imports training code or a renderer
(the tables are drawn by :mod:`ganbench.report.references_render`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from ganbench import tomlguard
from ganbench.references import MAX_REFERENCES, Reference, check_against_suite, grid_matches
from ganbench.report.baseline import DEFAULT_ALPHA
from ganbench.report.select import final_values, is_missing, metric_direction
from ganbench.report.stats import one_sample, welch
from ganbench.results.layout import COMPLETED
from ganbench.results.read import (
    MEASUREMENT_COLUMNS,
    RUN_COLUMNS,
    SUITE_FILE,
    TAIL_COLUMNS,
    Results,
    flatten_table,
)
from ganbench.text import clip

PROFILE = "profile"
"""A run column naming the suite profile that produced the run (``None``: the suite as written);
when the results have it, each profile gets its own reference rows."""

TESTS = ("welch", "one-sample", "tolerance", "none")
"""``test`` column: Welch's two-sample t-test, the one-sample t-test, the tolerance of an
analytic value, or no test."""

AGREES = "agrees"
HIGHER = "higher"
LOWER = "lower"
UNTESTED = "untested"
NO_VALUES = "not measured"

NO_UNCERTAINTY = "no uncertainty published"

MAX_REFERENCE_BYTES = 16 << 20
"""Largest suite.toml read for its references (as the results reader's limit)."""


@dataclass(frozen=True)
class PublishedVerdict:
    """The comparison of one measured cell with its published number."""

    test: str
    """One of :data:`TESTS`."""
    t: float
    df: float
    p: float
    verdict: str
    """``agrees``, ``higher``, ``lower`` (measured relative to published), ``untested`` (one
    measured value) or ``not measured`` (none)."""
    judged: str | None
    """``better`` or ``worse`` for ``higher``/``lower`` by the metric's direction; ``None``
    without a difference or a direction."""
    note: str
    """The cell's words, e.g. ``lower (worse)``, ``agrees; no uncertainty published``."""


def versus_published(
    ref: Reference, mean: float, sd: float, k: int, *, alpha: float = DEFAULT_ALPHA
) -> PublishedVerdict:
    """The verdict of measured (mean, sd, k) against ``ref`` (see the module docstring)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha {alpha!r}: must be between 0 and 1 (exclusive)")
    nan = math.nan
    if k == 0 or not math.isfinite(mean):
        return PublishedVerdict("none", nan, nan, nan, NO_VALUES, None, "no measured value")
    if ref.kind == "tolerance":
        assert ref.uncertainty is not None
        diff = mean - ref.value
        if abs(diff) <= ref.uncertainty:
            return PublishedVerdict(
                "tolerance", nan, nan, nan, AGREES, None, "agrees; within tolerance"
            )
        verdict = HIGHER if diff > 0 else LOWER
        direction = metric_direction(ref.metric)
        judged = None if direction is None else ("better" if (diff > 0) == direction else "worse")
        note = (verdict if judged is None else f"{verdict} ({judged})") + "; beyond tolerance"
        return PublishedVerdict("tolerance", nan, nan, nan, verdict, judged, note)
    published_sd = ref.published_sd
    with_spread = published_sd is not None and ref.n is not None and ref.n >= 2
    if k == 1:
        note = "1 run: untested" + ("" if with_spread else f"; {NO_UNCERTAINTY}")
        return PublishedVerdict("none", nan, nan, nan, UNTESTED, None, note)
    if with_spread:
        assert published_sd is not None and ref.n is not None
        test, result = "welch", welch(mean, sd, k, ref.value, published_sd, ref.n)
    else:
        test, result = "one-sample", one_sample(mean, sd, k, ref.value)
    if math.isnan(result.p) or math.isnan(result.t):
        # e.g. measured values near the float range: no statistic to judge by
        note = "untested: no finite test statistic" + ("" if with_spread else f"; {NO_UNCERTAINTY}")
        return PublishedVerdict(test, result.t, result.df, result.p, UNTESTED, None, note)
    if result.p >= alpha or mean == ref.value:
        verdict, judged = AGREES, None
    else:
        verdict = HIGHER if mean > ref.value else LOWER
        direction = metric_direction(ref.metric)
        judged = (
            None
            if direction is None
            else ("better" if (mean > ref.value) == direction else "worse")
        )
    note = verdict if judged is None else f"{verdict} ({judged})"
    if not with_spread:
        note += f"; {NO_UNCERTAINTY}"
    return PublishedVerdict(test, result.t, result.df, result.p, verdict, judged, note)


# --- reading -----------------------------------------------------------------------------------


def read_references(results: Results) -> tuple[dict[str, list[Reference]], list[str]]:
    """Each suite's references, from the ``suite.toml`` beside its runs, and warnings.

    Results folders are untrusted: a suite.toml that cannot be read, or a reference table that
    does not validate, is skipped with a warning (never raised).
    """
    found: dict[str, list[Reference]] = {}
    warnings: list[str] = []
    if "path" not in results.runs.columns:
        return found, warnings
    for suite, runs in results.runs.groupby("suite", sort=False):
        for run_path in runs["path"]:
            path = Path(str(run_path)).parent.parent / SUITE_FILE
            if any(w.startswith(f"{path}: cannot read") for w in results.warnings):
                break  # named once already, by the reader
            if not path.is_file():  # also not a FIFO, which would block
                continue
            try:
                data = tomlguard.load(path, MAX_REFERENCE_BYTES)
            except (OSError, ValueError) as exc:
                warnings.append(f"{path}: cannot read its references ({clip(str(exc))})")
                break
            tables = data.get("reference", [])
            valid: dict[int, Reference] = {}
            for i, table in enumerate(tables if isinstance(tables, list) else []):
                if i >= MAX_REFERENCES:
                    warnings.append(f"{path}: references past the first {MAX_REFERENCES:,} skipped")
                    break
                try:
                    valid[i] = Reference.model_validate(table)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(p) for p in first["loc"])
                    warnings.append(
                        f"{path}: reference[{i}] skipped ({where}: {clip(first['msg'])})"
                    )
            # As the loader checks them: variants and grid keys of this suite, no duplicates.
            listed = data.get("variants")
            names = [str(v["name"]) for v in (listed if isinstance(listed, list) else [])
                     if isinstance(v, dict) and "name" in v]  # fmt: skip
            grid = data.get("grid") if isinstance(data.get("grid"), dict) else {}
            grid = {k: v for k, v in flatten_table(grid).items() if isinstance(v, list)}
            bad: set[int] = set()
            # Grid values are not checked: a grid narrowed with --set keeps the references
            # to its other values (they match no run), as the loader allows.
            found_problems = check_against_suite(valid, names, grid, overridden=frozenset(grid))
            for i, keys, message in found_problems:
                if i not in bad:
                    where = ".".join(keys) or "reference"
                    warnings.append(f"{path}: reference[{i}] skipped ({where}: {clip(message)})")
                bad.add(i)
            refs = [ref for i, ref in valid.items() if i not in bad]
            if refs:
                found[str(suite)] = refs
            break
    return found, warnings


# --- the table ---------------------------------------------------------------------------------

ROW_COLUMNS = (
    "metric",
    "higher_is_better",
    "published",
    "uncertainty",
    "kind",
    "n",
    "published_sd",
    "measured_mean",
    "measured_sd",
    "k",
    "difference",
    "t",
    "df",
    "p",
    "test",
    "verdict",
    "judged",
    "note",
    "source",
)
"""Columns of :func:`reference_table` after the configuration columns."""

_RESERVED = frozenset(RUN_COLUMNS + TAIL_COLUMNS + MEASUREMENT_COLUMNS)


def reference_keys(results: Results) -> list[str]:
    """The configuration columns of a reference row: suite, profile (when the runs have that
    column), variant, dataset and the grid keys."""
    keys = ["suite", *([PROFILE] if PROFILE in results.runs.columns else [])]
    keys += ["variant", "dataset", *results.grid_keys]
    return list(dict.fromkeys(keys))


def reference_table(
    results: Results,
    references: dict[str, list[Reference]],
    *,
    step: str | int = "final",
    alpha: float = DEFAULT_ALPHA,
) -> pd.DataFrame:
    """One row per reference and configuration of ``results`` it matches (suite, variant, grid
    point; and profile when the runs have one), in the order of the suite's references and then
    of the runs: the configuration columns (:func:`reference_keys`), then :data:`ROW_COLUMNS`.

    The measured side uses completed runs only and leaves NaN values out, as
    :func:`ganbench.report.summarize` does; ``step`` picks each run's value as there.
    ``attrs["alpha"]`` records the level; ``attrs["unmatched"]`` counts references without runs.
    """
    keys = reference_keys(results)
    runs = results.runs
    recorded = set(results.metrics["metric"].unique())
    wanted = sorted({r.metric for refs in references.values() for r in refs} & recorded)
    values: dict[tuple[str, str], float] = {}
    if wanted:
        for row in final_values(results, wanted, step=step).itertuples(index=False):
            values[(f"{row.suite}\0{row.run_id}", str(row.metric))] = float(row.value)
    rows: list[dict[str, Any]] = []
    unmatched = 0
    for suite, refs in references.items():
        mine = runs[runs["suite"] == suite]
        if mine.empty:
            continue
        configs = list(mine.groupby(keys, sort=False, dropna=False))
        for ref in refs:
            matched = 0
            for key, group in configs:
                first = group.iloc[0]
                if first["variant"] != ref.variant or not grid_matches(
                    ref.grid, _point(first, results.grid_keys)
                ):
                    continue
                matched += 1
                done = group[group["status"] == COMPLETED]
                got = [
                    values.get((f"{s}\0{r}", ref.metric))
                    for s, r in zip(done["suite"], done["run_id"], strict=True)
                ]
                measured = np.array([v for v in got if v is not None and not math.isnan(v)])
                config = {k: None if is_missing(v) else v for k, v in zip(keys, key, strict=True)}
                rows.append(_row(ref, config, measured, alpha))
            unmatched += matched == 0
    table = pd.DataFrame(rows, columns=[*keys, *ROW_COLUMNS])
    for col in (
        "published",
        "uncertainty",
        "published_sd",
        "measured_mean",
        "measured_sd",
        "difference",
        "t",
        "df",
        "p",
    ):
        table[col] = table[col].astype("float64")
    table["k"] = table["k"].astype("int64")
    table["n"] = table["n"].astype("Int64")
    table.attrs.update(alpha=alpha, unmatched=unmatched)
    return table


def _point(run: pd.Series, grid_keys: list[str]) -> dict[str, Any]:
    """A run's grid point as the suite writes it: ``dataset`` and each grid key (the reader
    stores a grid key named like a run column as ``grid.<key>``)."""
    point: dict[str, Any] = {"dataset": run["dataset"]}
    for column in grid_keys:
        name = column.removeprefix("grid.")
        if name not in _RESERVED:
            name = column
        value = run[column]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        point[name] = value
    return point


def _row(ref: Reference, config: dict[str, Any], measured: np.ndarray, alpha: float) -> dict:
    k = len(measured)
    with np.errstate(over="ignore", invalid="ignore"):  # near the float range: inf, untested
        mean = float(measured.mean()) if k else math.nan
        sd = float(measured.std(ddof=1)) if k > 1 else math.nan
    verdict = versus_published(ref, mean, sd, k, alpha=alpha)
    return {
        **config,
        "metric": ref.metric,
        "higher_is_better": metric_direction(ref.metric),
        "published": ref.value,
        "uncertainty": ref.uncertainty if ref.uncertainty is not None else math.nan,
        "kind": ref.kind,
        "n": ref.n if ref.n is not None else pd.NA,
        "published_sd": ref.published_sd if ref.published_sd is not None else math.nan,
        "measured_mean": mean,
        "measured_sd": sd,
        "k": k,
        "difference": mean - ref.value if k else math.nan,
        "t": verdict.t,
        "df": verdict.df,
        "p": verdict.p,
        "test": verdict.test,
        "verdict": verdict.verdict,
        "judged": verdict.judged,
        "note": verdict.note,
        "source": ref.source,
    }


__all__ = [
    "ROW_COLUMNS",
    "TESTS",
    "PublishedVerdict",
    "read_references",
    "reference_keys",
    "reference_table",
    "versus_published",
]
