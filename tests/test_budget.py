"""Budget curves: the expected best of k trials against exact oracles, the bootstrap band, the
dominance statement, and ``ganbench report --budget`` on a synthetic results folder of trials.

Oracles are computed here by hand or by enumerating every ordered draw, never read back from the
code under test.
"""

from __future__ import annotations

import io
import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from results_folder import write_run
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.errors import OptionError
from ganbench.report import read_results
from ganbench.report.budget import (
    bootstrap_band,
    budget_curves,
    budget_panels,
    dominance,
    dominance_lines,
    expected_best,
    searched_knobs,
)
from ganbench.report.budget_render import budget_figures, shown_budgets

SUITE = "search"
KNOB = "optimizer.lr_g"


def brute_force(values: list[float], k: int, best=max) -> Fraction:
    """The mean of the best of every one of the n^k ordered draws of k values, exactly."""
    draws = list(itertools.product([Fraction(v) for v in values], repeat=k))
    return sum((best(d) for d in draws), Fraction(0)) / len(draws)


# --- the estimator -----------------------------------------------------------------------------


def test_hand_computed_case_mean_at_one_and_max_in_the_limit():
    # Sorted 1, 2, 3 and k = 2: P(best = v_(i)) = (i/3)^2 - ((i-1)/3)^2 = 1/9, 3/9, 5/9.
    assert expected_best([3.0, 1.0, 2.0], 2) == pytest.approx(1 / 9 + 2 * 3 / 9 + 3 * 5 / 9)
    assert expected_best([3.0, 1.0, 2.0], 2) == pytest.approx(22 / 9, rel=1e-15)
    assert expected_best([3.0, 1.0, 2.0], 1) == pytest.approx(2.0, rel=1e-15)  # the mean
    assert expected_best([3.0, 1.0, 2.0], 500) == pytest.approx(3.0, rel=1e-15)  # the max
    curve = expected_best([3.0, 1.0, 2.0], np.arange(1, 40))
    assert (np.diff(curve) >= 0).all() and curve.shape == (39,)


@pytest.mark.parametrize(
    "values",
    [[0.5, -1.0, 2.0], [1.0, 2.0, 2.0, 5.0], [3.0, 3.0, 3.0], [0.25, 7.0, -2.0, 1.5]],
    ids=["three", "ties", "all-equal", "four"],
)
def test_equals_enumeration_of_every_ordered_draw(values):
    for k in (1, 2, 3, 4):
        assert expected_best(values, k) == pytest.approx(float(brute_force(values, k)), rel=1e-12)
        lowest = expected_best(values, k, higher_is_better=False)
        assert lowest == pytest.approx(float(brute_force(values, k, min)), rel=1e-12)


def test_minimisation_is_the_maximisation_of_the_negated_values():
    values = [0.3, 0.1, 0.7, 0.2]
    ks = np.arange(1, 9)
    lowest = expected_best(values, ks, higher_is_better=False)
    np.testing.assert_allclose(lowest, -expected_best([-v for v in values], ks), rtol=1e-15)
    assert lowest[0] == pytest.approx(np.mean(values)) and (np.diff(lowest) <= 0).all()
    # 1 - 2 (1/4)^2 ... by hand for k = 2: sorted best-first 0.1, 0.2, 0.3, 0.7 with 7/16,
    # 5/16, 3/16, 1/16.
    assert lowest[1] == pytest.approx((0.1 * 7 + 0.2 * 5 + 0.3 * 3 + 0.7 * 1) / 16)


def test_one_trial_and_tied_trials_are_their_value_with_a_zero_width_band():
    for values in ([4.5], [2.0, 2.0, 2.0]):
        ks = np.arange(1, 6)
        np.testing.assert_array_equal(expected_best(values, ks), values[0])
        low, high = bootstrap_band(values, ks)
        np.testing.assert_array_equal(low, values[0])
        np.testing.assert_array_equal(high, values[0])


def test_refuses_no_values_non_finite_values_and_budgets_below_one():
    with pytest.raises(ValueError, match="no values"):
        expected_best([], 1)
    with pytest.raises(ValueError, match="finite"):
        expected_best([1.0, float("nan")], 1)
    with pytest.raises(ValueError, match="integers >= 1"):
        expected_best([1.0], 0)
    with pytest.raises(ValueError, match="level"):
        bootstrap_band([1.0, 2.0], 1, level=1.0)


@pytest.mark.parametrize("higher", [True, False])
def test_bootstrap_band_contains_the_estimate_and_is_reproducible(higher):
    rng = np.random.default_rng(7)
    for values in (rng.normal(size=12), rng.exponential(size=20), np.array([1.0, 2.0, 3.0])):
        ks = np.arange(1, len(values) + 1)
        estimate = expected_best(values, ks, higher_is_better=higher)
        low, high = bootstrap_band(values, ks, higher_is_better=higher)
        assert (low <= estimate + 1e-12).all() and (estimate <= high + 1e-12).all()
        assert (low < high).all()
        again = bootstrap_band(values, ks, higher_is_better=higher)
        np.testing.assert_array_equal(again[0], low)
        np.testing.assert_array_equal(again[1], high)
        if len(values) > 3:  # another seed, other resamples (3 values: few distinct ones)
            other = bootstrap_band(values, ks, higher_is_better=higher, seed=1)
            assert not np.array_equal(other[0], low)
    # A wider level gives a band at least as wide.
    values = rng.normal(size=10)
    narrow = bootstrap_band(values, np.arange(1, 11), level=0.5)
    wide = bootstrap_band(values, np.arange(1, 11), level=0.99)
    assert (wide[0] <= narrow[0]).all() and (wide[1] >= narrow[1]).all()


def test_shown_budgets_are_powers_of_two_below_the_largest_n():
    assert shown_budgets(20) == [1, 2, 4, 8, 16]
    assert shown_budgets(8) == [1, 2, 4]
    assert shown_budgets(1) == []


# --- the dominance statement -------------------------------------------------------------------


def curve(lows: list[float], highs: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"k": range(1, len(lows) + 1), "low": lows, "high": highs})


def test_dominance_states_a_winner_only_when_the_bands_are_apart_at_every_k():
    a, b = curve([5, 6, 7], [6, 7, 8]), curve([1, 2, 3, 4], [2, 3, 4, 5])
    result = dominance("a", a, "b", b, higher_is_better=True)
    assert result.winner == "a" and result.ks == (1, 2, 3)
    assert (
        result.sentence()
        == "a is better than b at every budget k = 1..3 (the bands do not overlap)"
    )
    # Lower is better: the same bands make b the winner.
    assert dominance("a", a, "b", b, higher_is_better=False).winner == "b"
    # Overlap at k = 2 and 3 (touching counts), a better at k = 1.
    c = curve([3, 2, 4], [4, 6, 5])
    result = dominance("a", curve([5, 6, 5], [6, 7, 6]), "c", c, higher_is_better=True)
    assert result.winner is None and result.overlap == (2, 3) and result.a_better == (1,)
    assert result.sentence() == (
        "neither a nor c dominates: the bands overlap at k = 2-3; a is better at k = 1"
    )


# --- from a results folder ---------------------------------------------------------------------


def rows(modes: float) -> list[tuple[int, str, float, int | None, int | None]]:
    return [
        (1000, "modes", modes, None, 2500),
        (1000, "fd", 10.0 - modes, 2500, 2500),
        (1000, "loss_d", 1.0, None, None),
        (500, "modes", 0.0, None, 2500),  # an earlier evaluation: never the final value
    ]


# (variant, batch_size) -> per trial, per seed: the final modes, or a status.
TRIALS: dict[tuple[str, int], list[list[float | str]]] = {
    ("wide", 64): [[8, 8], [7, 7], [8, 6], [6, 6]],
    ("narrow", 64): [[2, 2], [1, 1], [3, 1], [2, "diverged"]],
    ("wide", 128): [[5], [3], [4], [2]],
    ("narrow", 128): [[4], [2], [3], [1], ["failed"]],
}
SUITE_TOML = """[suite]
name = "search"
[[variants]]
name = "wide"
[[variants]]
name = "narrow"
[grid]
batch_size = [64, 128]
[search]
"optimizer.lr_g" = [1e-5, 1e-3]
"""


def write_trials(out: Path, trials=TRIALS, *, suite_toml: str | None = SUITE_TOML) -> Path:
    for (variant, batch), per_trial in trials.items():
        for trial, seeds in enumerate(per_trial):
            for seed, value in enumerate(seeds):
                status = value if isinstance(value, str) else "completed"
                point = {"batch_size": batch, KNOB: 1e-4 * (trial + 1)}
                write_run(out, f"{variant}-{batch}-{trial}-{seed}", suite=SUITE, variant=variant,
                          seed=seed, trial=trial, grid_point=point, status=status,
                          rows=None if status == "failed" else rows(
                              0.5 if status == "diverged" else float(value)))  # fmt: skip
    if suite_toml is not None:
        (out / SUITE / "suite.toml").write_text(suite_toml, encoding="utf-8")
    return out


def test_the_runs_table_has_the_trial_and_the_knob_column(tmp_path):
    out = write_trials(tmp_path / "out")
    write_run(out, "plain", suite=SUITE, variant="wide", grid_point={"batch_size": 64},
              rows=rows(8.0))  # fmt: skip
    runs = read_results(out).runs
    assert str(runs["trial"].dtype) == "Int64"
    assert runs.loc[runs["run_id"] == "plain", "trial"].isna().all()
    assert runs.loc[runs["run_id"] == "narrow-128-4-0", "trial"].tolist() == [4]
    assert searched_knobs(read_results(out)) == {SUITE: [KNOB]}
    # Without suite.toml: the knob is the column whose values belong to single trials.
    bare = dict(TRIALS)
    bare[("narrow", 128)] = bare[("narrow", 128)][:4]  # every grid value crossed with every trial
    assert searched_knobs(read_results(write_trials(tmp_path / "bare", bare, suite_toml=None))) == {
        SUITE: [KNOB]
    }


def test_a_manifest_with_a_bad_trial_is_skipped_with_a_reason(tmp_path):
    out = write_trials(tmp_path / "out")
    bad = out / SUITE / "runs" / "wide-64-0-0" / "manifest.json"
    bad.write_text(bad.read_text().replace('"trial": 0', '"trial": -1'), encoding="utf-8")
    results = read_results(out)
    assert any("key 'trial' must be a non-negative integer" in w for w in results.warnings)


def test_budget_curves_match_the_enumeration_of_the_trial_values(tmp_path):
    results = read_results(write_trials(tmp_path / "out"))
    curves = budget_curves(results, "modes")
    assert list(curves.columns) == [
        "suite", "variant", "dataset", "batch_size", "metric", "k", "expected", "low", "high",
        "n_trials",
    ]  # fmt: skip
    # Trial values: the mean over seeds. narrow/64 trial 3 has a diverged seed counted at the
    # worst completed modes at batch 64 (1, narrow's trials 1 and 2).
    trial_values = {
        ("wide", 64): [8, 7, 7, 6],
        ("narrow", 64): [2, 1, 2, 1.5],
        ("wide", 128): [5, 3, 4, 2],
        ("narrow", 128): [4, 2, 3, 1],  # trial 4 only failed: left out
    }
    assert len(curves) == 16
    for (variant, batch), values in trial_values.items():
        mine = curves[(curves["variant"] == variant) & (curves["batch_size"] == batch)]
        assert mine["k"].tolist() == [1, 2, 3, 4] and set(mine["n_trials"]) == {4}
        expected = [float(brute_force(values, k)) for k in (1, 2, 3, 4)]
        np.testing.assert_allclose(mine["expected"], expected, rtol=1e-12)
        assert (mine["low"] <= mine["expected"] + 1e-12).all()
        assert (mine["expected"] <= mine["high"] + 1e-12).all()
    info = curves.attrs["budget"]
    assert (info["diverged"], info["failed"], info["trials_dropped"]) == (1, 1, 1)
    # Lower is better (fd = 10 - modes): the expected minimum.
    fd = budget_curves(results, "fd")
    mine = fd[(fd["variant"] == "narrow") & (fd["batch_size"] == 64)]
    # fd's worst completed value at batch 64 is 10 - 1 = 9: trial 3 = mean(8, 9) = 8.5.
    expected = [float(brute_force([8, 9, 8, 8.5], k, min)) for k in (1, 2, 3, 4)]
    np.testing.assert_allclose(mine["expected"], expected, rtol=1e-12)
    lines = dominance_lines(curves)
    assert lines == [
        "ring8, batch_size=64: wide is better than narrow at every budget k = 1..4 (the bands "
        "do not overlap)",
        "ring8, batch_size=128: neither wide nor narrow dominates: the bands overlap at k = 1-4",
    ]


def test_non_finite_values_count_at_the_worst_and_unrecorded_ones_are_left_out(tmp_path):
    out = tmp_path / "out"
    for variant, values in (("a", [3.0, float("nan"), None]), ("b", [1.0, 2.0, 5.0])):
        for trial, value in enumerate(values):
            # None: a completed run that recorded fd but not modes.
            recorded = [(1000, "fd", 1.0, 2500, 2500)] if value is None else rows(value)
            write_run(out, f"{variant}-{trial}", suite=SUITE, variant=variant, trial=trial,
                      grid_point={KNOB: 1e-4 * (trial + 1)}, rows=recorded)  # fmt: skip
    curves = budget_curves(read_results(out), "modes")
    a = curves[curves["variant"] == "a"]
    # a's NaN trial counts at the worst finite modes at the point: 1 (b's trial 0).
    expected = [float(brute_force([3.0, 1.0], k)) for k in (1, 2)]
    np.testing.assert_allclose(a["expected"], expected, rtol=1e-12)
    assert a["n_trials"].tolist() == [2, 2]
    info = curves.attrs["budget"]
    assert (info["non_finite"], info["no_value"], info["trials_dropped"]) == (1, 1, 1)


def test_budget_metric_and_trials_are_checked(tmp_path):
    results = read_results(write_trials(tmp_path / "out"))
    with pytest.raises(OptionError, match=r"'loss_d': has no direction .* allowed: fd, modes"):
        budget_curves(results, "loss_d")
    with pytest.raises(OptionError, match=r"'mode': is not recorded .*did you mean 'modes'"):
        budget_curves(results, "mode")
    plain = tmp_path / "plain"
    write_run(plain, "r0", rows=rows(3.0))
    with pytest.raises(OptionError, match=r"no hyperparameter trials.*\[search\] section"):
        budget_curves(read_results(plain), "modes")


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["report", *args], env={"COLUMNS": "200"})

    return invoke


def test_report_budget_prints_the_table_comparisons_and_notes(cli, tmp_path):
    out = write_trials(tmp_path / "out")
    res = cli(str(out), "--budget", "modes")
    assert res.exit_code == 0, res.output
    text = res.stdout
    assert "expected best modes ↑ after k hyperparameter trials" in text
    for header in ("variant", "batch_size", "trials", "k=1", "k=2", "k=n (all)"):
        assert header in text
    # wide at batch 64: k = 1 is the mean of its trials, 7.
    assert "7.00 [" in text
    assert "wide is better than narrow at every budget k = 1..4" in text
    assert "neither wide nor narrow dominates: the bands overlap at k = 1-4" in text
    assert "Runs left out: 1 failed." in text
    assert (
        "Counted at the worst modes a completed trial reached at their grid point: 1 diverged"
        in text
    )
    assert "Searched knobs (pooled into each curve): optimizer.lr_g." in text

    res = cli(str(out), "--budget", "fd", "--format", "csv")
    assert res.exit_code == 0, res.output
    table = pd.read_csv(io.StringIO(res.stdout))
    mine = table[(table["variant"] == "wide") & (table["batch_size"] == 128)]
    expected = [float(brute_force([5, 7, 6, 8], k, min)) for k in (1, 2, 3, 4)]
    np.testing.assert_allclose(mine["expected"], expected, rtol=1e-12)
    assert set(table["metric"]) == {"fd"}

    res = cli(str(out), "--budget", "modes", "--format", "markdown", "--by", "variant")
    assert res.exit_code == 0, res.output
    assert "warning: --by shapes the summary, which --budget replaces on stdout" in res.output
    assert "| variant | dataset | batch_size | trials | k=1 | k=2 | k=n (all) |" in res.stdout
    assert "- ring8, batch_size=64: wide is better than narrow" in res.stdout


def test_report_budget_refuses_a_metric_without_direction_and_results_without_trials(cli, tmp_path):
    out = write_trials(tmp_path / "out")
    res = cli(str(out), "--budget", "loss_d")
    assert res.exit_code == 2
    assert (
        "--budget 'loss_d': has no direction" in res.output and "allowed: fd, modes" in res.output
    )
    plain = tmp_path / "plain"
    write_run(plain, "r0", rows=rows(3.0))
    res = cli(str(plain), "--budget", "modes")
    assert res.exit_code == 2
    assert "--budget 'modes': these results hold no hyperparameter trials" in res.output
    assert "[search] section" in res.output
    assert "Traceback" not in res.output


def test_budget_figures_one_per_grid_point_a_panel_per_metric_with_direction(tmp_path):
    results = read_results(write_trials(tmp_path / "out"))
    figs = budget_figures(budget_panels(results, ["modes", "fd", "loss_d"]))
    assert [(f.kind, f.point) for f in figs] == [
        ("budget", {"dataset": "ring8", "batch_size": 64}),
        ("budget", {"dataset": "ring8", "batch_size": 128}),
    ]
    assert [len(f.figure.axes) for f in figs] == [2, 2]  # modes and fd; loss_d has no direction
    assert "wide is better than narrow at every budget" in figs[0].caption
    assert budget_panels(results, ["loss_d"]) == []


def test_the_html_report_and_plots_hold_the_budget_figure(cli, tmp_path):
    # Few trials: every trial is a grid point of its own, with the ordinary figures.
    out = write_trials(tmp_path / "out", {("wide", 64): [[8], [7]], ("narrow", 64): [[2], [1]]})
    page, plots = tmp_path / "page.html", tmp_path / "figures"
    res = cli(str(out), "--budget", "modes", "--html", str(page), "--plots", str(plots))
    assert res.exit_code == 0, res.output
    assert "expected best after k hyperparameter trials" in page.read_text(encoding="utf-8")
    assert [p.name for p in plots.glob("*budget.png")] == [
        "search__dataset-ring8__batch_size-64__budget.png"
    ]


def test_best_trials_keep_each_configurations_best_trial_for_the_figures(tmp_path):
    from ganbench.report.budget import best_trials

    out = write_trials(tmp_path / "out")
    results = read_results(out)
    best = best_trials(results, "modes")
    # Trial means by hand (TRIALS): wide/64 -> 8, 7, 7, 6: trial 0; narrow/64 -> 2, 1, 2, and
    # the diverged seed counts at the worst completed value there (1): 1.5: trial 0 (first of the
    # tie with trial 2 by index); wide/128 -> trial 0 (5); narrow/128 -> trial 0 (4).
    assert sorted(set(best.runs["variant"])) == ["narrow (best trial 0)", "wide (best trial 0)"]
    assert len(best.runs) == 2 + 2 + 1 + 1  # both seeds of the 64-batch trials
    assert KNOB not in best.runs.columns and KNOB not in best.grid_keys
    assert set(best.metrics["variant"]) == set(best.runs["variant"])
    # Lower is better for fd (10 - modes): the same trials win.
    assert set(best_trials(results, "fd").runs["run_id"]) == set(best.runs["run_id"])
    # Without trials, nothing changes.
    plain = tmp_path / "plain"
    write_run(plain, "r0", rows=rows(3.0))
    untouched = read_results(plain)
    assert best_trials(untouched, "modes") is untouched


def test_where_selects_one_trial(tmp_path):
    from ganbench.report.select import filter_results

    results = read_results(write_trials(tmp_path / "out"))
    picked = filter_results(results, ["trial=1"])
    assert set(picked.runs["trial"]) == {1} and len(picked.runs) == 2 + 2 + 1 + 1
