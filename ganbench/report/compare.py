"""Is a change really better? Two sets of runs compared metric by metric against seed noise.

:func:`compare` pairs configurations of a *base* and a *new* set of runs — two results folders
(matched on variant, dataset and grid point), or two variants of one folder (matched on suite,
dataset and grid point) — and, per metric, compares the seeds' final values:

- ``delta`` = mean(new) - mean(base), with a two-sided Welch confidence interval
  ``delta -/+ t_{(1+level)/2, df} * sqrt(s_b^2/n_b + s_n^2/n_n)``, ``df`` by Welch-Satterthwaite
  (Welch 1947);
- ``p_welch``: the two-sided Welch t-test (scipy ``ttest_ind_from_stats``, ``equal_var=False``);
- ``p_mannwhitney``: the two-sided Mann-Whitney U test (scipy ``mannwhitneyu``; exact for small
  samples without ties). It assumes nothing about normality but cannot reach small p-values with
  few seeds: with 3 against 3 the smallest two-sided p is 0.1;
- ``verdict``: ``better``/``worse`` when the chosen test gives ``p < alpha`` and the metric has a
  direction (more modes is better, lower FD is better), ``same`` otherwise, ``n/a`` without a
  direction or without two values on each side.

Only completed runs count (as in :func:`ganbench.report.summarize`). The table is drawn by
:mod:`ganbench.report.compare_render`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ganbench.errors import ConfigError, OptionError
from ganbench.metrics import catalog
from ganbench.report.baseline import DEFAULT_ALPHA, welch_p_value
from ganbench.report.select import final_values, metric_direction, point_key, split_metrics
from ganbench.report.stats import welch_df
from ganbench.results.layout import COMPLETED
from ganbench.results.read import Results
from ganbench.text import suggestion

TESTS = ("welch", "mannwhitney")
"""Tests that can decide a verdict."""

COMPARE_COLUMNS = (
    "metric",
    "base_mean",
    "base_std",
    "base_n",
    "new_mean",
    "new_std",
    "new_n",
    "delta",
    "ci_low",
    "ci_high",
    "p_welch",
    "p_mannwhitney",
    "verdict",
)
"""Columns of :func:`compare` after the matching keys."""


def compare(
    base: Results,
    new: Results,
    *,
    metrics: str | Iterable[str] | None = None,
    base_variant: str | None = None,
    new_variant: str | None = None,
    alpha: float = DEFAULT_ALPHA,
    level: float = 0.95,
    test: str = "welch",
    step: str | int = "final",
) -> pd.DataFrame:
    """One row per matched configuration x metric (see the module docstring).

    With ``base_variant`` and ``new_variant``, the two variants of ``base`` and ``new`` (usually
    the same results) are compared at each suite, dataset and grid point; otherwise every variant
    of ``base`` with the same variant of ``new`` at the same dataset and grid point.
    ``attrs`` records ``alpha``, ``level``, ``test``, ``unmatched`` (configurations of one side
    only) and ``keys``.

    Raises:
        ConfigError: for bad settings, a variant not in the results, a metric not recorded on
            both sides, or no configuration in common.
    """
    if not 0 < alpha < 1:
        raise OptionError("alpha", f"{alpha!r}: must be between 0 and 1 (exclusive), e.g. 0.05")
    if not 0 < level < 1:
        raise OptionError("level", f"{level!r}: must be between 0 and 1 (exclusive), e.g. 0.95")
    if test not in TESTS:
        raise OptionError("test", f"{test!r}: allowed: {', '.join(TESTS)}")
    by_variant = base_variant is not None or new_variant is not None
    if by_variant and (base_variant is None or new_variant is None):
        raise ConfigError("name both variants to compare two variants of one folder")
    grid = list(dict.fromkeys([*base.grid_keys, *new.grid_keys]))
    keys = ["suite", "dataset", *grid] if by_variant else ["variant", "dataset", *grid]
    chosen = _metrics(base, new, metrics)

    base_values = _values(base, chosen, grid, base_variant, step)
    new_values = _values(new, chosen, grid, new_variant, step)
    base_groups = _groups(base_values, keys)
    new_groups = _groups(new_values, keys)
    common = [k for k in base_groups if k in new_groups]
    unmatched = [("base", k) for k in base_groups if k not in new_groups]
    unmatched += [("new", k) for k in new_groups if k not in base_groups]
    if not common:
        raise ConfigError(
            "no configuration in common: base has "
            + _listing(base_groups, keys)
            + "; new has "
            + _listing(new_groups, keys)
        )
    rows: list[dict[str, Any]] = []
    for key in common:
        b, n = base_groups[key], new_groups[key]
        for metric in chosen:
            row = dict(zip(keys, key, strict=True))
            row.update(
                compare_samples(
                    b[metric].to_numpy(np.float64),
                    n[metric].to_numpy(np.float64),
                    direction=metric_direction(metric),
                    alpha=alpha,
                    level=level,
                    test=test,
                )
            )
            row["metric"] = metric
            rows.append(row)
    out = pd.DataFrame(rows, columns=[*keys, *COMPARE_COLUMNS])
    out = out.drop(columns=[k for k in grid if out[k].isna().all()])
    out.attrs.update(
        alpha=alpha,
        level=level,
        test=test,
        keys=[k for k in keys if k in out.columns],
        unmatched=[(side, dict(zip(keys, k, strict=True))) for side, k in unmatched],
        base_label=base_variant,
        new_label=new_variant,
    )
    return out


def compare_samples(
    base: np.ndarray,
    new: np.ndarray,
    *,
    direction: bool | None,
    alpha: float = DEFAULT_ALPHA,
    level: float = 0.95,
    test: str = "welch",
) -> dict[str, Any]:
    """The statistics of one metric's seed values, base against new (NaN values dropped)."""
    from scipy import stats

    base = base[np.isfinite(base)]
    new = new[np.isfinite(new)]
    nb, nn = len(base), len(new)
    out: dict[str, Any] = {
        "base_mean": float(base.mean()) if nb else math.nan,
        "base_std": float(base.std(ddof=1)) if nb > 1 else math.nan,
        "base_n": nb,
        "new_mean": float(new.mean()) if nn else math.nan,
        "new_std": float(new.std(ddof=1)) if nn > 1 else math.nan,
        "new_n": nn,
    }
    delta = out["new_mean"] - out["base_mean"]
    ci_low = ci_high = p_welch = p_mw = math.nan
    if nb > 1 and nn > 1:
        vb, vn = out["base_std"] ** 2 / nb, out["new_std"] ** 2 / nn
        se = math.sqrt(vb + vn)
        if se > 0:
            df = welch_df(vb, nb, vn, nn)
            half = float(stats.t.ppf((1 + level) / 2, df)) * se
        else:
            half = 0.0
        ci_low, ci_high = delta - half, delta + half
        p_welch = welch_p_value(
            out["new_mean"], out["new_std"], nn, out["base_mean"], out["base_std"], nb
        )
        if np.ptp(np.concatenate([base, new])) == 0:
            p_mw = 1.0
        else:
            p_mw = float(stats.mannwhitneyu(new, base, alternative="two-sided").pvalue)
    p = p_welch if test == "welch" else p_mw
    if direction is None or math.isnan(p):
        verdict = "n/a"
    elif p < alpha and delta != 0:
        verdict = "better" if (delta > 0) == direction else "worse"
    else:
        verdict = "same"
    out.update(
        delta=delta,
        ci_low=ci_low,
        ci_high=ci_high,
        p_welch=p_welch,
        p_mannwhitney=p_mw,
        verdict=verdict,
    )
    return out


def regressions(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a comparison whose verdict is ``worse``."""
    return table[table["verdict"] == "worse"]


def _metrics(base: Results, new: Results, metrics: str | Iterable[str] | None) -> list[str]:
    held_b = set(base.metrics["metric"])
    held_n = set(new.metrics["metric"])
    if metrics is None:
        chosen = [
            m
            for m in catalog.default_columns(sorted(held_b & held_n))
            if metric_direction(m) is not None
        ]
        if not chosen:
            raise OptionError(
                "metric", "not given, and no default metric is recorded on both sides: name some"
            )
        return chosen
    chosen = split_metrics(metrics)
    problems = [
        f"metric {m!r} is not recorded in {side}"
        for m in chosen
        for side, held in (("base", held_b), ("new", held_n))
        if m not in held
    ]
    if problems:
        raise ConfigError("; ".join(problems), problems=problems)
    return chosen


def _values(
    results: Results, metrics: list[str], grid: list[str], variant: str | None, step
) -> pd.DataFrame:
    if variant is not None:
        known = list(dict.fromkeys(results.runs["variant"]))
        if variant not in known:
            hint = suggestion(variant, known)
            raise ConfigError(f"variant {variant!r} is not in the results{hint} known: "
                              f"{', '.join(known)}")  # fmt: skip
        results = results.only(set(results.runs.loc[results.runs["variant"] == variant, "run_id"]))
    wide = final_values(results, [m for m in metrics if m in set(results.metrics["metric"])],
                        wide=True, step=step)  # fmt: skip
    wide = wide[wide["status"] == COMPLETED].copy()
    for k in grid:
        if k not in wide.columns:
            wide[k] = None
    for m in metrics:
        if m not in wide.columns:
            wide[m] = math.nan
    return wide


def _groups(values: pd.DataFrame, keys: Sequence[str]) -> dict[tuple, pd.DataFrame]:
    groups: dict[tuple, pd.DataFrame] = {}
    for key, rows in values.groupby(list(keys), sort=False, dropna=False):
        groups[point_key(tuple(key))] = rows
    return groups


def _listing(groups: dict[tuple, pd.DataFrame], keys: Sequence[str]) -> str:
    items = [
        ", ".join(f"{k}={v}" for k, v in zip(keys, key, strict=True) if v is not None)
        for key in list(groups)[:6]
    ]
    more = f" and {len(groups) - 6} more" if len(groups) > 6 else ""
    return ("; ".join(f"({i})" for i in items) or "nothing") + more
