"""Comparison with a baseline variant (``ganbench report --baseline``) on a synthetic results folder.

Every expected delta is a difference of hand-computed means; every expected p-value is Welch's
formula evaluated here from the values written, never read back from the code under test.
"""

from __future__ import annotations

import io
import json
import math
import statistics
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from results_folder import write_run as write_run_folder
from rich.console import Console
from scipy import stats
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.errors import ConfigError
from ganbench.report import (
    metric_direction,
    read_results,
    summarize,
    summary_table,
    to_text,
    verdict_lines,
    versus_baseline,
    welch_p_value,
)

SUITE = "stab"
METRICS = ["modes", "reverse_kl", "hq_fraction", "grad_norm_d_mean"]

# Final values per (variant, dataset): one list per metric, one value per seed.
VALUES: dict[tuple[str, str], dict[str, list[float]]] = {
    ("baseline", "ring8"): {
        "modes": [4, 5, 6, 5],  # mean 5, variance 2/3
        "reverse_kl": [0.5, 0.75, 0.5, 0.25],  # mean 0.5
        "hq_fraction": [0.5, 0.5, 0.5, 0.5],  # no variance
        "grad_norm_d_mean": [1, 2, 1, 2],
    },
    ("r1", "ring8"): {
        "modes": [7, 8, 8, 7],  # mean 7.5: clearly more modes
        "reverse_kl": [0.125, 0.25, 0.125, 0.0],  # mean 0.125: clearly lower (better)
        "hq_fraction": [0.75, 0.75, 0.75, 0.75],  # no variance either, but a different value
        "grad_norm_d_mean": [5, 6, 5, 6],  # clearly different, but a metric without direction
    },
    ("r1", "grid25"): {  # no baseline run on grid25
        "modes": [20, 21, 22, 23],
        "reverse_kl": [0.5, 0.5, 0.25, 0.25],
        "hq_fraction": [0.5, 0.5, 0.5, 0.5],
        "grad_norm_d_mean": [1, 2, 1, 2],
    },
    ("noisy", "ring8"): {
        "modes": [3, 7, 4, 7],  # mean 5.25: a small difference buried in the seeds' spread
        "reverse_kl": [0.25, 0.75, 1.0, 0.5],  # mean 0.625
        "hq_fraction": [0.5, 0.5, 0.5, 0.5],  # identical to the baseline
        "grad_norm_d_mean": [1, 2, 1, 2],
    },
    ("wgan", "ring8"): {
        "modes": [2, 3, 2, 3],  # mean 2.5: clearly fewer modes
        "reverse_kl": [1.0, 1.25, 1.0, 1.25],  # mean 1.125: clearly higher (worse)
        "hq_fraction": [0.25, 0.25, 0.25, 0.25],
        "grad_norm_d_mean": [1, 1, 1, 1],
    },
    ("single", "ring8"): {  # one seed: no sample variance, no test
        "modes": [9],
        "reverse_kl": [0.1],
        "hq_fraction": [0.9],
        "grad_norm_d_mean": [1],
    },
}


def write_run(
    out: Path, run_id: str, *, variant: str, seed: int, dataset: str, finals: dict[str, float]
) -> None:
    """One completed run of suite ``stab``: an early and a final evaluation, the final one at
    step 1000."""
    rows = [(500, m, -1.0, None, None) for m in finals]
    rows += [(1000, m, float(v), None, None) for m, v in finals.items()]
    write_run_folder(
        out, run_id, suite=SUITE, variant=variant, seed=seed, dataset=dataset,
        grid_point={"dataset": dataset}, rows=rows,
    )  # fmt: skip


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    for (variant, dataset), metrics in VALUES.items():
        seeds = len(next(iter(metrics.values())))
        for seed in range(seeds):
            finals = {m: values[seed] for m, values in metrics.items()}
            run_id = f"{variant}-{dataset}-{seed}"
            write_run(out, run_id, variant=variant, seed=seed, dataset=dataset, finals=finals)
    (out / SUITE / "suite.toml").write_text(
        '[suite]\nname = "stab"\n'
        + "".join(f'[[variants]]\nname = "{v}"\n' for v in ("baseline", "r1", "noisy", "wgan"))
        + '[[variants]]\nname = "single"\n[grid]\ndataset = ["ring8", "grid25"]\n',
        encoding="utf-8",
    )
    return out


@pytest.fixture
def compared(results_dir: Path) -> pd.DataFrame:
    return versus_baseline(summarize(read_results(results_dir), METRICS), "baseline")


def row_of(frame: pd.DataFrame, variant: str, dataset: str = "ring8") -> pd.Series:
    mask = (frame["variant"] == variant) & (frame["dataset"] == dataset)
    assert mask.sum() == 1, frame
    return frame[mask].iloc[0]


def welch_by_hand(values: list[float], base: list[float]) -> float:
    """Two-sided Welch t-test p-value: t = delta / sqrt(s1²/n1 + s2²/n2), Welch–Satterthwaite df."""
    n1, n2 = len(values), len(base)
    v1, v2 = statistics.variance(values), statistics.variance(base)
    a, b = v1 / n1, v2 / n2
    t = (statistics.mean(values) - statistics.mean(base)) / math.sqrt(a + b)
    df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))
    return 2 * stats.t.sf(abs(t), df)


def hand_p(variant: str, metric: str) -> float:
    return welch_by_hand(VALUES[(variant, "ring8")][metric], VALUES[("baseline", "ring8")][metric])


# --- comparison --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "metric", "delta"),
    [
        ("r1", "modes", 2.5),  # 7.5 - 5
        ("r1", "reverse_kl", -0.375),  # 0.125 - 0.5
        ("noisy", "modes", 0.25),  # 5.25 - 5
        ("noisy", "reverse_kl", 0.125),  # 0.625 - 0.5
        ("wgan", "modes", -2.5),  # 2.5 - 5
        ("wgan", "reverse_kl", 0.625),  # 1.125 - 0.5
        ("r1", "grad_norm_d_mean", 4.0),  # 5.5 - 1.5
    ],
)
def test_delta_and_welch_p_match_hand_computation(
    compared: pd.DataFrame, variant: str, metric: str, delta: float
) -> None:
    row = row_of(compared, variant)
    assert row[f"{metric}_delta"] == pytest.approx(delta, abs=1e-12)
    assert row[f"{metric}_p"] == pytest.approx(hand_p(variant, metric), abs=1e-9, rel=1e-9)


def test_hand_p_values_are_on_the_intended_sides_of_alpha() -> None:
    """Guards the fixture: the verdict tests below rely on these p-values."""
    for variant, metric in [("r1", "modes"), ("r1", "reverse_kl"), ("wgan", "modes")]:
        assert hand_p(variant, metric) < 0.05, (variant, metric)
    assert hand_p("wgan", "reverse_kl") < 0.05
    assert hand_p("noisy", "modes") > 0.5
    assert hand_p("noisy", "reverse_kl") > 0.3
    # modes: t = 2.5 / sqrt((1/3)/4 + (2/3)/4) = 5 with df = 5.4 (worked out by hand).
    assert hand_p("r1", "modes") == pytest.approx(2 * stats.t.sf(5.0, 5.4), rel=1e-12)


def test_verdicts_follow_each_metrics_direction(compared: pd.DataFrame) -> None:
    r1, wgan, noisy = row_of(compared, "r1"), row_of(compared, "wgan"), row_of(compared, "noisy")
    assert r1["modes_verdict"] == "better"  # more modes
    assert r1["reverse_kl_delta"] < 0 and r1["reverse_kl_verdict"] == "better"  # lower is better
    assert wgan["modes_verdict"] == "worse"
    assert wgan["reverse_kl_delta"] > 0 and wgan["reverse_kl_verdict"] == "worse"
    assert noisy["modes_verdict"] == "same"  # +0.25 within the seeds' spread
    assert noisy["reverse_kl_verdict"] == "same"
    # A clear difference in a metric without a direction gets no verdict.
    assert r1["grad_norm_d_mean_p"] < 0.05 and r1["grad_norm_d_mean_verdict"] == "n/a"


def test_zero_variance_on_both_sides(compared: pd.DataFrame) -> None:
    r1, wgan, noisy = row_of(compared, "r1"), row_of(compared, "wgan"), row_of(compared, "noisy")
    assert (r1["hq_fraction_delta"], r1["hq_fraction_p"]) == (0.25, 0.0)
    assert r1["hq_fraction_verdict"] == "better"
    assert (wgan["hq_fraction_delta"], wgan["hq_fraction_p"]) == (-0.25, 0.0)
    assert wgan["hq_fraction_verdict"] == "worse"
    assert (noisy["hq_fraction_delta"], noisy["hq_fraction_p"]) == (0.0, 1.0)
    assert noisy["hq_fraction_verdict"] == "same"
    # One side without variance: the ordinary Welch test (df = n - 1 of the other side).
    p = welch_p_value(7.0, 0.0, 4, 5.0, 1.0, 4)
    assert p == pytest.approx(2 * stats.t.sf(2.0 / math.sqrt(1 / 4), 3), rel=1e-12)


def test_fewer_than_two_values_or_no_baseline_is_not_an_error(compared: pd.DataFrame) -> None:
    single = row_of(compared, "single")
    assert single["modes_delta"] == 4.0  # 9 - 5: the delta is still shown
    assert math.isnan(single["modes_p"]) and single["modes_verdict"] == "n/a"
    assert math.isnan(welch_p_value(1.0, 0.5, 4, 2.0, math.nan, 1))
    assert math.isnan(welch_p_value(1.0, 0.5, 4, 2.0, 0.0, 1))  # n = 1 even with a std given
    on_grid25 = row_of(compared, "r1", "grid25")  # no baseline run on grid25
    for metric in METRICS:
        assert math.isnan(on_grid25[f"{metric}_delta"]) and math.isnan(on_grid25[f"{metric}_p"])
        assert on_grid25[f"{metric}_verdict"] == "n/a"


def test_baseline_rows_order_and_columns(results_dir: Path) -> None:
    summary = summarize(read_results(results_dir), ["modes", "reverse_kl"])
    before = summary.copy()
    out = versus_baseline(summary, "baseline")
    pd.testing.assert_frame_equal(summary, before)  # the input is not modified
    # Same rows in the same (suite file) order.
    assert list(zip(out["variant"], out["dataset"], strict=True)) == [
        ("baseline", "ring8"),
        ("r1", "ring8"),
        ("r1", "grid25"),
        ("noisy", "ring8"),
        ("wgan", "ring8"),
        ("single", "ring8"),
    ]
    base = row_of(out, "baseline")
    assert base["modes_verdict"] == "baseline" and math.isnan(base["modes_delta"])
    stats_columns = [c for c in out.columns if c.startswith(("modes_", "reverse_kl_"))]
    assert stats_columns == [
        *("modes_mean", "modes_std", "modes_n", "modes_delta", "modes_p", "modes_verdict"),
        *("reverse_kl_mean", "reverse_kl_std", "reverse_kl_n"),
        *("reverse_kl_delta", "reverse_kl_p", "reverse_kl_verdict"),
    ]
    # Only the metrics asked for are compared.
    only = versus_baseline(summary, "baseline", ["reverse_kl"])
    assert "reverse_kl_verdict" in only.columns and "modes_verdict" not in only.columns


def test_alpha_sets_the_threshold(compared: pd.DataFrame, results_dir: Path) -> None:
    p = row_of(compared, "r1")["modes_p"]
    summary = summarize(read_results(results_dir), ["modes"])
    assert row_of(versus_baseline(summary, "baseline", alpha=p * 1.01), "r1")["modes_verdict"] == (
        "better"
    )
    assert row_of(versus_baseline(summary, "baseline", alpha=p * 0.99), "r1")["modes_verdict"] == (
        "same"
    )
    for alpha in (0.0, 1.0, -0.1, 1.5, math.nan):
        with pytest.raises(ConfigError, match="between 0 and 1"):
            versus_baseline(summary, "baseline", alpha=alpha)


def test_unknown_baseline_says_did_you_mean(compared: pd.DataFrame, results_dir: Path) -> None:
    summary = summarize(read_results(results_dir), ["modes"])
    with pytest.raises(ConfigError, match=r"'basline'.*did you mean 'baseline'\?") as e:
        versus_baseline(summary, "basline")
    assert "variants: baseline, r1, noisy, wgan, single" in str(e.value)
    with pytest.raises(ConfigError, match="unknown metric 'fd'"):
        versus_baseline(summary, "baseline", ["fd"])


def test_metric_direction_covers_ema() -> None:
    assert metric_direction("modes") is True
    assert metric_direction("reverse_kl") is False
    assert metric_direction("ema/reverse_kl") is False
    assert metric_direction("ema/hq_fraction") is True
    assert metric_direction("grad_norm_d_mean") is None
    assert metric_direction("mode_count/3") is None


# --- rendering ---------------------------------------------------------------------------------


def test_csv_and_json_hold_delta_p_and_verdict(compared: pd.DataFrame) -> None:
    parsed = pd.read_csv(io.StringIO(to_text(compared, "csv")))
    for metric in METRICS:
        assert {f"{metric}_delta", f"{metric}_p", f"{metric}_verdict"} <= set(parsed.columns)
    r1 = row_of(parsed, "r1")
    assert r1["modes_delta"] == 2.5
    assert r1["modes_p"] == pytest.approx(hand_p("r1", "modes"), abs=1e-9, rel=1e-9)
    assert r1["modes_verdict"] == "better" and r1["reverse_kl_verdict"] == "better"
    assert row_of(parsed, "baseline")["modes_verdict"] == "baseline"
    assert math.isnan(row_of(parsed, "baseline")["modes_p"])  # empty cell

    records = json.loads(to_text(compared, "json"))
    by_key = {(r["variant"], r["dataset"]): r for r in records}
    assert by_key[("wgan", "ring8")]["reverse_kl_delta"] == 0.625
    assert by_key[("wgan", "ring8")]["reverse_kl_verdict"] == "worse"
    assert by_key[("r1", "grid25")]["modes_p"] is None
    assert by_key[("baseline", "ring8")]["modes_delta"] is None


def test_markdown_shows_delta_cells_and_one_line_per_grid_point(compared: pd.DataFrame) -> None:
    text = to_text(compared, "markdown")
    lines = text.splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[6:10] == ["modes ↑", "Δ modes", "reverse_kl ↓", "Δ reverse_kl"]

    def cells(variant: str, dataset: str = "ring8") -> list[str]:
        line = next(x for x in lines if x.startswith(f"| {variant} | {dataset} |"))
        return [c.strip() for c in line.strip("|").split("|")]

    assert cells("baseline")[6:10] == ["5.00 ± 0.82", "baseline", "0.500 ± 0.204", "baseline"]
    assert cells("r1")[6:10] == ["7.50 ± 0.58", "+2.50 ↑", "0.125 ± 0.102", "-0.375 ↑"]
    assert cells("wgan")[6:10] == ["2.50 ± 0.58", "-2.50 ↓", "1.12 ± 0.14", "+0.62 ↓"]
    assert cells("noisy")[7] == "+0.25 ="
    assert cells("single")[7] == "+4.00"  # no test, no mark
    assert cells("r1", "grid25")[7] == "—"
    assert cells("r1")[13] == "+4.00"  # grad_norm_d_mean: no direction, no mark

    assert (
        "- ring8: modes better with r1; worse with wgan; same for noisy; no test for single "
        "(fewer than 2 values)\n" in text
    )
    assert "- grid25: no 'baseline' runs to compare with" in text
    assert (
        "Δ vs 'baseline' at the same dataset/grid point; ↑ better, ↓ worse: Welch t-test "
        "p < 0.05 over 1 to 4 seeds; = not distinguishable from seed noise." in text
    )


def test_verdict_lines_count_the_others() -> None:
    rows: list[dict[str, Any]] = [
        {"variant": "base", "verdict": "baseline"},
        {"variant": "a", "verdict": "better"},
        {"variant": "b", "verdict": "same"},
        {"variant": "c", "verdict": "same"},
        {"variant": "d", "verdict": "worse"},
    ]
    frame = pd.DataFrame(
        {
            "suite": "s",
            "variant": [r["variant"] for r in rows],
            "dataset": "ring8",
            "n_runs": 4,
            "modes_mean": 1.0,
            "modes_std": 1.0,
            "modes_n": 4,
            "modes_delta": 0.0,
            "modes_p": 0.5,
            "modes_verdict": [r["verdict"] for r in rows],
        }
    )
    assert verdict_lines(frame) == ["ring8: modes better with a; worse with d; same for b, c"]
    frame["modes_verdict"] = ["baseline", "better", "same", "same", "same"]
    assert verdict_lines(frame) == ["ring8: modes better with a; same for b, c, d"]
    frame = pd.concat([frame, frame.iloc[[2]].assign(variant="e")], ignore_index=True)
    assert verdict_lines(frame) == ["ring8: modes better with a; same for 4 others"]
    frame["modes_verdict"] = ["baseline", "same", "same", "same", "same", "same"]
    assert verdict_lines(frame) == ["ring8: modes same for all 5"]


def test_rich_table_colours_the_marks(compared: pd.DataFrame) -> None:
    console = Console(record=True, width=250, force_terminal=True, color_system="standard")
    console.print(summary_table(compared))
    plain = console.export_text(styles=False, clear=False)
    assert "+2.50 ↑" in plain and "-2.50 ↓" in plain and "+0.25 =" in plain
    assert "baseline" in plain
    assert "ring8: modes better with r1; worse with wgan" in plain
    styled = console.export_text(styles=True)
    assert "\x1b[1;32m↑" in styled  # better: bold green
    assert "\x1b[1;31m↓" in styled  # worse: bold red
    assert "\x1b[1;32m=" not in styled and "\x1b[1;31m=" not in styled


# --- CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), env={"COLUMNS": "250"})

    return invoke


def test_cli_baseline_csv(cli, results_dir: Path) -> None:
    res = cli("report", str(results_dir), "--baseline", "baseline", "-f", "csv", "-m", "modes")
    assert res.exit_code == 0, res.output
    parsed = pd.read_csv(io.StringIO(res.stdout))
    assert list(parsed.columns[-3:]) == ["modes_delta", "modes_p", "modes_verdict"]
    assert row_of(parsed, "wgan")["modes_delta"] == -2.5
    assert row_of(parsed, "wgan")["modes_verdict"] == "worse"


def test_cli_baseline_table(cli, results_dir: Path) -> None:
    res = cli("report", str(results_dir), "--baseline", "baseline", "--alpha", "0.01")
    assert res.exit_code == 0, res.output
    assert "Δ modes" in res.stdout and "+2.50" in res.stdout
    assert "Welch t-test p < 0.01" in res.stdout
    assert "ring8: modes " in res.stdout


def test_cli_unknown_baseline_exits_2(cli, results_dir: Path) -> None:
    res = cli("report", str(results_dir), "--baseline", "basline")
    assert res.exit_code == 2
    assert "did you mean 'baseline'?" in res.output
    assert "baseline, r1, noisy, wgan, single" in res.output


@pytest.mark.parametrize("alpha", ["0", "1", "1.5", "-0.05"])
def test_cli_bad_alpha_exits_2(cli, results_dir: Path, alpha: str) -> None:
    res = cli("report", str(results_dir), "--baseline", "baseline", "--alpha", alpha)
    assert res.exit_code == 2
    assert "--alpha" in res.output and "between 0 and 1" in res.output
