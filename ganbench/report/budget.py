"""Budget curves: the expected best score after k hyperparameter trials, with a bootstrap band.

With enough hyperparameter search most GAN objectives reach similar scores (Lucic et al., "Are
GANs Created Equal? A Large-Scale Study", NeurIPS 2018), so a comparison of objectives has to say
how much search it assumes. A budget curve says it: for k = 1, 2, ..., n it gives the expected
best score among k trials drawn at random from the n trials that were run (Dodge et al., "Show
Your Work: Improved Reporting of Experimental Results", EMNLP 2019, Section 3, "expected
validation performance"). At k = 1 it is the mean trial; as k grows it tends to the best trial.

A suite with a ``[search]`` section runs trials: ordinary runs, each with a trial index (the runs
table's ``trial`` column) and the searched knobs' values among its grid columns. Here:

- a trial's value of a metric is the mean over its seeds of each run's final value (the value
  :func:`ganbench.report.select.final_values` picks, at ``step``);
- a curve belongs to one configuration: suite, variant, dataset and the grid columns that are not
  searched knobs (:func:`searched_knobs`); its n is that configuration's number of trials;
- a run that diverged, or that recorded a non-finite value of the metric, counts at the worst
  finite value that a completed trial run reached at the same grid point (every variant there):
  a configuration whose trials diverge pays for it rather than being judged on its survivors (a
  non-finite value would make every expectation infinite). Failed runs, and runs that did not
  record the metric, are left out; the notes count them;
- the band is a percentile bootstrap over trials: the n trial values are resampled with
  replacement ``n_boot`` times (a fixed seed, so a report is reproducible), each resample gives a
  curve, and the band holds the middle ``level`` of them at every k. It describes the spread of
  the estimate from these n trials, not a guaranteed coverage of the expected best (Lourie et al.,
  "Show Your Work with Confidence: Confidence Bands for Tuning Curves", 2023, find that bootstrap
  bands of tuning curves miss their nominal coverage; Tang et al., "Showing Your Work Doesn't
  Always Work", ACL 2020, that the estimator is biased).

:func:`dominance` states "A is better than B at every budget k" only when A's band is better
than B's at every k both can reach; otherwise it names the budgets where the bands overlap.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ganbench.errors import ConfigError, OptionError
from ganbench.metrics import names
from ganbench.report.formatting import point_text
from ganbench.report.select import (
    available_metrics,
    final_values,
    is_missing,
    metric_direction,
    point_key,
)
from ganbench.results.layout import (
    COMPLETED,
    DIVERGED,
    PROFILE,
    TRIAL,
)
from ganbench.results.read import Results, flatten_table, suite_document
from ganbench.text import short, suggestion

__all__ = [
    "BudgetPanels",
    "Dominance",
    "best_trials",
    "bootstrap_band",
    "budget_curves",
    "budget_panels",
    "dominance",
    "dominance_lines",
    "expected_best",
    "searched_knobs",
]

N_BOOT = 1000
"""Bootstrap resamples of a budget curve's band."""
LEVEL = 0.95
"""Central share of the bootstrap curves a band holds."""
SEED = 0
"""Seed of the bootstrap resampling (numpy ``default_rng``): the same results give the same
bands."""
MAX_PAIRWISE_VARIANTS = 4
"""Up to this many variants at a grid point, every pair is compared; beyond it, each variant is
compared with the first."""

CURVE_COLUMNS = ("metric", "k", "expected", "low", "high", "n_trials")
"""Columns of :func:`budget_curves` after the configuration columns."""


# --- the estimator -----------------------------------------------------------------------------


def expected_best(
    values: Sequence[float] | np.ndarray,
    k: int | Sequence[int] | np.ndarray,
    *,
    higher_is_better: bool = True,
) -> np.ndarray:
    """The expected best of ``k`` draws with replacement from ``values`` (Dodge et al. 2019).

    With the n values sorted from worst to best, v_(1), ..., v_(n), the best of k draws is
    v_(i) or better with probability (i/n)^k, so

        E[best of k] = sum_i v_(i) * ((i/n)^k - ((i-1)/n)^k),

    the expectation of the maximum of k independent draws from the empirical distribution of
    the values (Dodge et al., "Show Your Work: Improved Reporting of Experimental Results",
    EMNLP 2019, Section 3). Ties need no special case: tied values share their probability.
    ``higher_is_better=False`` gives the expected minimum (the same formula on the negated
    values). k = 1 gives the mean; as k grows the estimate tends to the best value.

    Args:
        values: the n observed trial values (finite).
        k: one budget or an array of budgets (integers >= 1; k may exceed n).
        higher_is_better: whether the best is the largest value.

    Returns:
        float64 array of the shape of ``k``.

    Raises:
        ValueError: for no values, a non-finite value, or a budget below 1.

    >>> expected_best([1.0, 2.0, 3.0], [1, 2]).round(6).tolist()  # 2 and 22/9
    [2.0, 2.444444]
    >>> float(expected_best([1.0, 2.0, 3.0], 2, higher_is_better=False).round(6))  # 14/9
    1.555556
    """
    ordered = _sorted_worst_first(values, higher_is_better)
    ks, shape = _budgets(k)
    best = _weights(len(ordered), ks) @ ordered
    return (best if higher_is_better else -best).reshape(shape)


def bootstrap_band(
    values: Sequence[float] | np.ndarray,
    k: int | Sequence[int] | np.ndarray,
    *,
    higher_is_better: bool = True,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    seed: int = SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """A percentile bootstrap band of :func:`expected_best` at each budget.

    Resamples the n values with replacement ``n_boot`` times (``numpy.random.default_rng(seed)``),
    computes :func:`expected_best` of every resample, and returns the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles at each k. Equal inputs give equal bands.

    Returns:
        ``(low, high)``, float64 arrays of the shape of ``k``; both equal the value when n = 1.

    Raises:
        ValueError: as :func:`expected_best`; for ``n_boot < 1`` or ``level`` outside (0, 1).
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (exclusive), got {level}")
    signed = _sorted_worst_first(values, higher_is_better)
    ks, shape = _budgets(k)
    rng = np.random.default_rng(seed)
    draws = np.sort(signed[rng.integers(0, len(signed), size=(n_boot, len(signed)))], axis=1)
    curves = draws @ _weights(len(signed), ks).T  # (n_boot, len(ks))
    tails = np.quantile(curves, [(1 - level) / 2, (1 + level) / 2], axis=0)
    low, high = (tails[0], tails[1]) if higher_is_better else (-tails[1], -tails[0])
    return low.reshape(shape), high.reshape(shape)


def _sorted_worst_first(values: Sequence[float] | np.ndarray, higher_is_better: bool) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError("expected best of no values: give at least one")
    if not np.isfinite(array).all():
        raise ValueError("values must be finite (count a failed trial as a finite worst value)")
    return np.sort(array if higher_is_better else -array)


def _budgets(k: int | Sequence[int] | np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    array = np.asarray(k)
    if array.dtype.kind not in "iu" or (array < 1).any():
        raise ValueError(f"budgets k must be integers >= 1, got {array.tolist()}")
    return array.reshape(-1).astype(np.int64), array.shape


def _weights(n: int, ks: np.ndarray) -> np.ndarray:
    """(len(ks), n): P(the best of k draws is the i-th worst value) = (i/n)^k - ((i-1)/n)^k."""
    cdf = (np.arange(n + 1, dtype=np.float64) / n)[None, :] ** ks[:, None].astype(np.float64)
    return np.diff(cdf, axis=1)


# --- from results ------------------------------------------------------------------------------


def has_trials(results: Results) -> bool:
    """Whether any run of ``results`` is a trial of a hyperparameter search."""
    return TRIAL in results.runs.columns and bool(results.runs[TRIAL].notna().any())


def searched_knobs(results: Results) -> dict[str, list[str]]:
    """Per suite with trials, the grid columns that hold searched knobs.

    A trial's manifest lists the searched values in its grid point, beside the suite's own grid
    values; the grid columns that the suite's ``suite.toml`` (next to its runs) does not list in
    ``[grid]`` (or a profile's ``grid``) are the searched ones. Without a readable ``suite.toml``,
    a column is taken for a searched knob when some value of it does not occur in every trial
    of a variant (a grid value is crossed with every trial; a searched value belongs to its
    trials).
    """
    runs = results.runs
    if not has_trials(results):
        return {}
    trials = runs[runs[TRIAL].notna()]
    columns = [c for c in results.grid_keys if c != PROFILE]
    found: dict[str, list[str]] = {}
    for suite, mine in trials.groupby("suite", sort=False):
        present = [c for c in columns if mine[c].notna().any()]
        listed = _listed_grid_keys(mine)
        if listed is not None:
            found[str(suite)] = [
                c for c in present if c not in listed and c.removeprefix("grid.") not in listed
            ]
        else:
            found[str(suite)] = [c for c in present if _varies_with_trials(mine, c)]
    return found


def _listed_grid_keys(runs: pd.DataFrame) -> set[str] | None:
    """The grid keys of the suite.toml beside these runs (profiles' grids too); None when none
    can be read."""
    data = suite_document(runs["path"])
    if data is None:
        return None
    tables = [data.get("grid")]
    profiles = data.get("profiles")
    if isinstance(profiles, dict):
        tables += [p.get("grid") for p in profiles.values() if isinstance(p, dict)]
    keys: set[str] = set()
    for table in tables:
        if isinstance(table, dict):
            keys |= set(flatten_table(table))
    return keys


def _varies_with_trials(runs: pd.DataFrame, column: str) -> bool:
    for _, mine in runs.groupby("variant", sort=False):
        every = set(mine[TRIAL].dropna())
        for _, same in mine.groupby(column, sort=False, dropna=False):
            if set(same[TRIAL].dropna()) != every:
                return True
    return False


def check_budget_metric(results: Results, metric: str) -> bool:
    """Whether ``metric`` is higher-is-better, once it is checked for a budget curve: the
    results must hold trials, and their runs must have recorded the metric, which must have a
    direction.

    Raises:
        OptionError: (``budget``) naming the allowed metrics, or saying that the results hold
            no trials.
    """
    if not has_trials(results):
        raise OptionError(
            "budget",
            f"{short(metric)}: these results hold no hyperparameter trials; budget curves need the "
            "runs of a suite with a [search] section (each run records its trial index)",
        )
    trial_runs = set(results.runs.loc[results.runs[TRIAL].notna(), "run_id"])
    recorded = available_metrics(results.only(trial_runs))
    allowed = [m for m in recorded if metric_direction(m) is not None]
    direction = metric_direction(metric)
    if metric not in recorded:
        why = f"is not recorded by the trials{suggestion(metric, allowed)}"
    elif direction is None:
        why = "has no direction (higher or lower is better)"
    if metric not in recorded or direction is None:
        raise OptionError(
            "budget", f"{short(metric)}: {why}; allowed: {', '.join(allowed) or 'none'}"
        )
    return direction


def budget_curves(
    results: Results,
    metric: str,
    *,
    step: str | int = "final",
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    seed: int = SEED,
    knobs: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Each configuration's budget curve of ``metric``: one row per configuration and k.

    Columns: the configuration columns (suite, variant, dataset and the grid columns that are not
    searched knobs: :func:`searched_knobs`, or ``knobs`` per suite), then :data:`CURVE_COLUMNS`:
    ``metric``, ``k`` (1 to ``n_trials``), ``expected`` (:func:`expected_best` of the trial
    values), ``low`` and ``high`` (:func:`bootstrap_band`), ``n_trials``. How trial values are
    made, diverged runs counted and runs left out: see the module docstring; the counts are in
    ``attrs["budget"]`` (:func:`budget_notes` words them).

    Raises:
        OptionError: as :func:`check_budget_metric`.
    """
    higher = check_budget_metric(results, metric)
    knobs = searched_knobs(results) if knobs is None else knobs
    counts = dict.fromkeys(("diverged", "non_finite", "unvalued", "failed", "no_value"), 0)
    counts["trials_dropped"] = counts["conflicting"] = 0
    frames: list[pd.DataFrame] = []
    all_keys: list[str] = ["suite", "variant", "dataset"]
    for keys, group, per_trial, _cell in _configurations(
        results, metric, step, knobs, higher, counts
    ):
        all_keys += [c for c in keys if c not in all_keys]
        trial_values = per_trial.dropna().to_numpy()
        if not len(trial_values):
            continue
        ks = np.arange(1, len(trial_values) + 1)
        low, high = bootstrap_band(
            trial_values, ks, higher_is_better=higher, n_boot=n_boot, level=level, seed=seed
        )
        curve = {
            **dict(zip(keys, group, strict=True)),
            "metric": metric,
            "k": ks,
            "expected": expected_best(trial_values, ks, higher_is_better=higher),
            "low": low,
            "high": high,
            "n_trials": len(trial_values),
        }
        frames.append(pd.DataFrame(curve))

    columns = [*all_keys, *CURVE_COLUMNS]
    table = (
        pd.concat(frames, ignore_index=True).reindex(columns=columns)
        if frames
        else pd.DataFrame(columns=columns)
    )
    table["k"] = table["k"].astype("int64")
    table["n_trials"] = table["n_trials"].astype("int64")
    for column in ("expected", "low", "high"):
        table[column] = table[column].astype("float64")
    table.attrs["budget"] = {
        "metric": metric,
        "higher_is_better": higher,
        "level": level,
        "n_boot": n_boot,
        "step": step,
        "knobs": {s: list(k) for s, k in knobs.items()},
        "without_trial": int(
            (results.runs[TRIAL].isna() & ~results.runs["variant"].map(names.is_baseline_row)).sum()
        ),
        **counts,
    }
    return table


def _configurations(
    results: Results,
    metric: str,
    step: str | int,
    knobs: dict[str, list[str]],
    higher: bool,
    counts: dict[str, int],
):
    """Each search configuration of the trial runs: its key columns, their values, the value of
    each of its trials (a Series by trial index; NaN for a trial without a valued run) and its
    runs (with their value in ``_value``)."""
    runs = results.runs[results.runs[TRIAL].notna()]
    finals = final_values(results.only(set(runs["run_id"])), [metric], step=step)
    run_keys = zip(finals["suite"], finals["run_id"], strict=True)
    value_of = dict(zip(run_keys, finals["value"], strict=True))
    for suite, mine in runs.groupby("suite", sort=False):
        searched = set(knobs.get(str(suite), []))
        keys = ["suite", "variant", "dataset", *(c for c in results.grid_keys if c not in searched)]
        scored = _run_values(mine, value_of, [c for c in keys if c != "variant"], higher, counts)
        columns = [c for c in results.grid_keys if c in searched]
        for group, cell in mine.assign(_value=scored).groupby(keys, sort=False, dropna=False):
            clash = _clashing_trials(cell, columns)
            if clash:
                counts["conflicting"] += len(clash)
                cell = cell[~cell[TRIAL].isin(clash)]
                if cell.empty:
                    continue
            per_trial = cell.groupby(TRIAL, sort=True)["_value"].mean()  # NaN: no valued run
            counts["trials_dropped"] += int(per_trial.isna().sum())
            yield keys, group, per_trial, cell


def _clashing_trials(cell: pd.DataFrame, searched: list[str]) -> list[int]:
    """Trials of one configuration whose runs cannot be one trial: two runs with the same seed,
    or runs that drew different values of a searched knob (runs of two searches, with other
    seeds or distributions, in one folder). Their runs are not pooled: the trial is left out."""
    out = []
    for trial, runs in cell.groupby(TRIAL, sort=True):
        if runs["seed"].duplicated().any() or any(
            runs[c].astype(str).nunique(dropna=False) > 1 for c in searched
        ):
            out.append(int(trial))
    return out


def ranking_metric(results: Results, candidates: Iterable[str]) -> str | None:
    """The first of ``candidates`` that ranks trials (recorded by them, with a direction), or
    None."""
    for metric in candidates:
        try:
            check_budget_metric(results, metric)
        except OptionError:
            continue
        return metric
    return None


def best_trials(results: Results, metric: str, *, step: str | int = "final") -> Results:
    """The results with each search configuration reduced to its best trial by ``metric``
    (trial values as in :func:`budget_curves`), for the per-configuration figures and players: a
    kept trial's variant is renamed ``<variant> (best trial <t>)`` and the searched knobs' columns
    are dropped, so the best trials of all variants at a grid point share one figure. Runs that
    are not trials are kept as they are; results without trials are returned unchanged.

    Raises:
        OptionError: as :func:`check_budget_metric`.
    """
    if not has_trials(results):
        return results
    higher = check_budget_metric(results, metric)
    knobs = searched_knobs(results)
    counts = dict.fromkeys(("diverged", "non_finite", "unvalued", "failed", "no_value"), 0)
    counts["trials_dropped"] = counts["conflicting"] = 0
    label: dict[str, str] = {}
    for _keys, _group, per_trial, cell in _configurations(
        results, metric, step, knobs, higher, counts
    ):
        valued = per_trial.dropna()
        if valued.empty:
            continue
        best = int(valued.idxmax() if higher else valued.idxmin())
        for run_id, variant in cell.loc[cell[TRIAL] == best, ["run_id", "variant"]].itertuples(
            index=False, name=None
        ):
            label[run_id] = f"{variant} (best trial {best})"
    plain = set(results.runs.loc[results.runs[TRIAL].isna(), "run_id"])
    kept = results.only(plain | set(label))
    dropped = sorted({k for ks in knobs.values() for k in ks})
    runs = kept.runs.drop(columns=dropped, errors="ignore")
    metrics = kept.metrics.drop(columns=dropped, errors="ignore")
    runs["variant"] = [
        label.get(r, v) for r, v in zip(runs["run_id"], runs["variant"], strict=True)
    ]
    metrics["variant"] = [
        label.get(r, v) for r, v in zip(metrics["run_id"], metrics["variant"], strict=True)
    ]
    return Results(
        runs=runs,
        metrics=metrics,
        grid_keys=[k for k in kept.grid_keys if k not in dropped],
        warnings=list(kept.warnings),
        root=kept.root,
    )


def _run_values(
    runs: pd.DataFrame,
    value_of: dict[tuple[str, str], float],
    point: list[str],
    higher: bool,
    counts: dict[str, int],
) -> pd.Series:
    """Each run's value for its trial: a completed run's own finite value; the worst finite value
    of a completed run at its grid point (``point`` columns) for a run that diverged or recorded
    a non-finite value; NaN for a failed run or one that did not record the metric. Adds what it
    left out and what it counted at the worst value to ``counts``."""
    recorded = [value_of.get(key) for key in zip(runs["suite"], runs["run_id"], strict=True)]
    status = runs["status"].tolist()
    where = [point_key(row) for row in runs[point].itertuples(index=False, name=None)]
    floors: dict[tuple[Any, ...], float] = {}
    for value, state, at in zip(recorded, status, where, strict=True):
        if state == COMPLETED and value is not None and math.isfinite(value):
            seen = floors.get(at, value)
            floors[at] = min(seen, value) if higher else max(seen, value)
    scored = []
    for value, state, at in zip(recorded, status, where, strict=True):
        if state == COMPLETED and value is None:
            counts["no_value"] += 1
            scored.append(math.nan)
        elif state == COMPLETED and math.isfinite(value):
            scored.append(value)
        elif state in (COMPLETED, DIVERGED):
            floor = floors.get(at)
            kind = "diverged" if state == DIVERGED else "non_finite"
            counts[kind if floor is not None else "unvalued"] += 1
            scored.append(math.nan if floor is None else floor)
        else:
            counts["failed"] += 1
            scored.append(math.nan)
    return pd.Series(scored, index=runs.index, dtype="float64")


# --- comparing two curves ----------------------------------------------------------------------


@dataclass(frozen=True)
class Dominance:
    """How the bands of two budget curves compare at the budgets both reach (k = 1 to the smaller
    ``n_trials``)."""

    a: str
    b: str
    winner: str | None
    """``a`` or ``b`` when its band is better than the other's at every compared k; else None."""
    ks: tuple[int, ...]
    overlap: tuple[int, ...]
    """Budgets where the bands overlap (touching counts)."""
    a_better: tuple[int, ...]
    b_better: tuple[int, ...]

    def sentence(self) -> str:
        """The statement: 'A is better than B at every budget k = 1..m', or 'neither A nor B
        dominates: the bands overlap at k = ...'."""
        if not self.ks:
            return f"{self.a} and {self.b}: no budget to compare"
        if self.winner is not None:
            loser = self.b if self.winner == self.a else self.a
            return (
                f"{self.winner} is better than {loser} at every budget k = 1..{self.ks[-1]} "
                "(the bands do not overlap)"
            )
        parts = []
        if self.overlap:
            parts.append(f"the bands overlap at k = {_ranges(self.overlap)}")
        parts += [f"{who} is better at k = {_ranges(ks)}"
                  for who, ks in ((self.a, self.a_better), (self.b, self.b_better)) if ks]  # fmt: skip
        return f"neither {self.a} nor {self.b} dominates: {'; '.join(parts)}"


def dominance(
    a: str, a_curve: pd.DataFrame, b: str, b_curve: pd.DataFrame, *, higher_is_better: bool
) -> Dominance:
    """Compare two budget curves (rows of one configuration each, with ``k``, ``low``, ``high``)
    by their bands: one is better at a budget when its whole band is better than the other's."""
    lows = dict(zip(b_curve["k"], b_curve["low"], strict=True))
    highs = dict(zip(b_curve["k"], b_curve["high"], strict=True))
    ks, overlap, a_better, b_better = [], [], [], []
    for k, low, high in zip(a_curve["k"], a_curve["low"], a_curve["high"], strict=True):
        if k not in lows:
            continue
        ks.append(int(k))
        if higher_is_better:
            a_wins, b_wins = low > highs[k], lows[k] > high
        else:
            a_wins, b_wins = high < lows[k], highs[k] < low
        (a_better if a_wins else b_better if b_wins else overlap).append(int(k))
    winner = None
    if ks and len(a_better) == len(ks):
        winner = a
    elif ks and len(b_better) == len(ks):
        winner = b
    return Dominance(a, b, winner, tuple(ks), tuple(overlap), tuple(a_better), tuple(b_better))


def _ranges(ks: Sequence[int]) -> str:
    """1, 2, 3, 6 -> '1-3, 6'."""
    parts = []
    for _, run in itertools.groupby(enumerate(ks), lambda p: p[1] - p[0]):
        block = [k for _, k in run]
        parts.append(str(block[0]) if len(block) == 1 else f"{block[0]}-{block[-1]}")
    return ", ".join(parts)


def dominance_lines(curves: pd.DataFrame, *, with_point: bool = True) -> list[str]:
    """One :class:`Dominance` sentence per pair of variants at each grid point (each variant
    against the first when a point has more than :data:`MAX_PAIRWISE_VARIANTS`), led by the
    grid point unless ``with_point`` is false."""
    info = curves.attrs.get("budget", {})
    higher = bool(info.get("higher_is_better", True))
    keys = _config_columns(curves)
    point = [c for c in keys if c != "variant"]
    shown = _shown_keys(curves, point)
    lines = []
    groups = curves.groupby(point, sort=False, dropna=False) if point else [((), curves)]
    for values, rows in groups:
        values = values if isinstance(values, tuple) else (values,)
        label = ", ".join(
            point_text(c, v) for c, v in zip(point, values, strict=True) if c in shown
        )
        variants = list(dict.fromkeys(rows["variant"]))
        if len(variants) <= MAX_PAIRWISE_VARIANTS:
            pairs = list(itertools.combinations(variants, 2))
        else:
            pairs = [(variants[0], v) for v in variants[1:]]
        for a, b in pairs:
            result = dominance(a, rows[rows["variant"] == a], b, rows[rows["variant"] == b],
                               higher_is_better=higher)  # fmt: skip
            lead = f"{label}: " if label and with_point else ""
            lines.append(lead + result.sentence())
    return lines


def _config_columns(curves: pd.DataFrame) -> list[str]:
    return list(curves.columns[: list(curves.columns).index("metric")])


def _shown_keys(curves: pd.DataFrame, keys: list[str]) -> list[str]:
    """Configuration columns worth a column: not a single suite, not an all-missing grid key."""
    return [
        k
        for k in keys
        if not (k == "suite" and curves["suite"].nunique() <= 1)
        and not (k not in ("variant", "dataset") and curves[k].isna().all())
    ]


@dataclass(frozen=True)
class BudgetPanels:
    """The budget curves one figure draws (:func:`budget_panels`)."""

    suite: str
    point: dict[str, Any]
    """The grid point: dataset and the grid keys that are not searched."""
    tables: list[pd.DataFrame]
    """:func:`budget_curves` of each metric, at this point only (``attrs`` kept)."""
    chance: dict[str, dict[str, float]]
    """Per metric, each chance row's mean final value: the level a curve must beat."""


def conflict_note(count: int) -> str:
    """The warning for trials whose runs disagree on what the trial was."""
    return (
        f"{count} trial(s) left out: their runs share a trial index but not one trial (the same "
        "seed twice, or different searched values: runs of two searches in one folder?)."
    )


def budget_panels(
    results: Results, metrics: Iterable[str], *, step: str | int = "final"
) -> list[BudgetPanels]:
    """The budget curves of each suite and grid point (searched knobs pooled) of the results'
    trials, one table per metric, with the chance rows' means: what one budget figure draws.
    Metrics the trials did not record, or without a direction, are skipped; no trials, none."""
    if not has_trials(results):
        return []
    curves = []
    for metric in dict.fromkeys(metrics):
        try:
            curves.append(budget_curves(results, metric, step=step))
        except OptionError:
            continue
    curves = [c for c in curves if len(c)]
    if not curves:
        return []
    keys = _config_columns(curves[0])
    point = [c for c in keys if c not in ("suite", "variant")]
    out = []
    points = curves[0][["suite", *point]].drop_duplicates()
    for values in points.itertuples(index=False, name=None):
        suite, *coords = values
        where = {k: v for k, v in zip(point, coords, strict=True) if not is_missing(v)}
        selected = []
        for table in curves:
            mask = table["suite"] == suite
            for k, v in zip(point, coords, strict=True):
                mask &= table[k].isna() if is_missing(v) else table[k] == v
            if mask.any():
                part = table[mask]
                part.attrs = table.attrs
                selected.append(part)
        if selected:
            levels = {
                str(t.attrs.get("budget", {}).get("metric", "")): _chance_levels(
                    results, str(t.attrs.get("budget", {}).get("metric", "")), str(suite), where,
                    step,
                )
                for t in selected
            }  # fmt: skip
            out.append(BudgetPanels(str(suite), where, selected, levels))
    return out


def _chance_levels(
    results: Results, metric: str, suite: str, point: dict[str, Any], step: str | int
) -> dict[str, float]:
    """The mean final value of ``metric`` of each chance row (a mode-blind generator) of
    ``suite`` at the grid point's dataset: the level a curve must beat to mean anything."""
    runs = results.runs
    mask = (runs["suite"] == suite) & runs["variant"].map(names.is_chance).astype(bool)
    if "dataset" in point:
        mask &= runs["dataset"] == point["dataset"]
    chosen = runs[mask & (runs["status"] == COMPLETED)]
    if chosen.empty:
        return {}
    try:
        finals = final_values(results.only(set(chosen["run_id"])), [metric], step=step)
    except ConfigError:  # the chance rows do not record this metric
        return {}
    finals = finals[np.isfinite(finals["value"].to_numpy(dtype=float))]
    return {str(v): float(g["value"].mean()) for v, g in finals.groupby("variant", sort=True)}
