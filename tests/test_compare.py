"""`ganbench compare` and the report's --by/--where/--step/--sort, on synthetic results whose
values are chosen by hand or drawn with fixed seeds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from results_folder import write_run
from scipy import stats
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.errors import ConfigError
from ganbench.report import filter_results, read_results, sort_summary, summarize
from ganbench.report.compare import compare, compare_samples


def _folder(out: Path, values: dict[str, list[float]], *, metric="fd", dataset="ring8") -> Path:
    for variant, per_seed in values.items():
        for seed, v in enumerate(per_seed):
            write_run(out, f"{variant}-{dataset}-{seed}", variant=variant, seed=seed,
                      dataset=dataset, rows=[(100, metric, v, 500, 500)])  # fmt: skip
    return out


def test_welch_interval_and_p_values_by_hand() -> None:
    base = np.array([1.0, 2.0, 3.0])
    new = np.array([7.0, 9.0, 11.0])
    row = compare_samples(base, new, direction=False)
    # means 2 and 9, variances 1 and 4: se = sqrt(1/3 + 4/3); Welch-Satterthwaite df
    vb, vn = 1.0 / 3, 4.0 / 3
    df = (vb + vn) ** 2 / (vb**2 / 2 + vn**2 / 2)
    assert df == pytest.approx(2.9411764705882355)
    half = stats.t.ppf(0.975, df) * math.sqrt(vb + vn)
    assert row["delta"] == pytest.approx(7.0)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((7.0 - half, 7.0 + half))
    t = 7.0 / math.sqrt(vb + vn)
    assert row["p_welch"] == pytest.approx(2 * stats.t.sf(t, df))
    assert row["p_welch"] < 0.05
    # Mann-Whitney: every new value above every base value, 3 vs 3: exact p = 2 / C(6, 3)
    assert row["p_mannwhitney"] == pytest.approx(2 / 20)
    assert row["verdict"] == "worse"  # lower is better and new is significantly higher
    assert compare_samples(base, new, direction=False, test="mannwhitney")["verdict"] == "same"
    assert compare_samples(base, new, direction=None)["verdict"] == "n/a"


def test_planted_regression_is_flagged_and_noise_is_not(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    base = _folder(tmp_path / "base", {"gan": list(rng.normal(1.0, 0.1, 5))})
    worse = _folder(tmp_path / "worse", {"gan": list(rng.normal(2.0, 0.1, 5))})
    same = _folder(tmp_path / "same", {"gan": list(rng.normal(1.0, 0.1, 5))})
    flagged = compare(read_results(base), read_results(worse), metrics=["fd"])
    assert flagged["verdict"].tolist() == ["worse"] and flagged["p_welch"].iloc[0] < 1e-4
    assert flagged["p_mannwhitney"].iloc[0] == pytest.approx(2 / math.comb(10, 5))
    calm = compare(read_results(base), read_results(same), metrics=["fd"])
    assert calm["verdict"].tolist() == ["same"] and calm["p_welch"].iloc[0] > 0.05
    # the interval covers zero exactly when the difference is not significant
    assert calm["ci_low"].iloc[0] < 0 < calm["ci_high"].iloc[0]


def test_two_variants_of_one_folder_match_by_grid_point(tmp_path: Path) -> None:
    out = tmp_path / "r"
    _folder(out, {"ns": [6.0, 7.0, 8.0], "wgan": [1.0, 1.5, 2.0]}, metric="modes")
    _folder(out, {"ns": [20.0, 21.0, 22.0], "wgan": [20.0, 22.0, 21.0]}, metric="modes",
            dataset="grid25")  # fmt: skip
    table = compare(read_results(out), read_results(out), metrics=["modes"],
                    base_variant="ns", new_variant="wgan")  # fmt: skip
    verdicts = dict(zip(table["dataset"], table["verdict"], strict=True))
    assert verdicts == {"ring8": "worse", "grid25": "same"}
    with pytest.raises(ConfigError, match="did you mean 'wgan'"):
        compare(read_results(out), read_results(out), base_variant="ns", new_variant="wgn")


def test_cli_compare_fails_on_regression_only_when_asked(tmp_path: Path) -> None:
    base = _folder(tmp_path / "a", {"gan": [1.0, 1.1, 0.9, 1.0]})
    new = _folder(tmp_path / "b", {"gan": [3.0, 3.1, 2.9, 3.2]})
    runner = CliRunner()
    plain = runner.invoke(app, ["compare", str(base), str(new), "-f", "json"])
    assert plain.exit_code == 0, plain.output
    record = json.loads(plain.stdout)[0]
    assert record["verdict"] == "worse" and record["metric"] == "fd"
    gate = runner.invoke(app, ["compare", str(base), str(new), "--fail-on-regression"])
    assert gate.exit_code == 3 and "significantly worse" in gate.output  # 1: a run failed
    better = runner.invoke(app, ["compare", str(new), str(base), "--fail-on-regression"])
    assert better.exit_code == 0 and "better" in better.stdout
    missing = runner.invoke(app, ["compare", str(base), str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "--in FOLDER" in missing.output
    bad_test = runner.invoke(app, ["compare", str(base), str(new), "--test", "ks"])
    assert bad_test.exit_code == 2 and "welch, mannwhitney" in bad_test.output


def test_where_by_step_and_sort(tmp_path: Path) -> None:
    out = tmp_path / "r"
    for variant, ring, grid in (("a", (5.0, 7.0), 10.0), ("b", (8.0, 6.0), 20.0)):
        for seed in range(2):
            write_run(out, f"{variant}r{seed}", variant=variant, seed=seed,
                      rows=[(100, "modes", ring[0] + seed, None, None),
                            (200, "modes", ring[1] + seed, None, None)])  # fmt: skip
            write_run(out, f"{variant}g{seed}", variant=variant, seed=seed, dataset="grid25",
                      rows=[(200, "modes", grid, None, None)])  # fmt: skip
    results = read_results(out)
    only_grid = filter_results(results, ["dataset=grid25"])
    assert set(only_grid.runs["dataset"]) == {"grid25"} and len(only_grid.runs) == 4
    assert len(filter_results(results, ["variant=a|b", "seed=1"]).runs) == 4
    with pytest.raises(ConfigError, match="did you mean 'dataset'"):
        filter_results(results, ["datset=grid25"])
    with pytest.raises(ConfigError, match="no run matches"):
        filter_results(results, ["dataset=grid9"])
    # --by variant pools both datasets: a = mean(7, 8, 10, 10)
    pooled = summarize(results, ["modes"], by=["variant"]).set_index("variant")
    assert pooled.loc["a", "modes_mean"] == pytest.approx(8.75)
    assert pooled.loc["a", "n_runs"] == 4
    # --step best takes each run's best (highest) modes; --step 100 the value at step 100
    best = summarize(results, ["modes"], step="best").set_index(["variant", "dataset"])
    assert best.loc[("b", "ring8"), "modes_mean"] == pytest.approx(8.5)  # 8, 9
    at100 = summarize(results, ["modes"], step=100).set_index(["variant", "dataset"])
    assert at100.loc[("a", "ring8"), "modes_mean"] == pytest.approx(5.5)
    assert at100.loc[("a", "grid25"), "modes_n"] == 0  # no value at step 100
    with pytest.raises(ConfigError, match="final, best or a step number"):
        summarize(results, ["modes"], step="last")
    ordered = sort_summary(summarize(results, ["modes"]), "modes")
    assert ordered["modes_mean"].tolist() == sorted(ordered["modes_mean"], reverse=True)
    result = CliRunner().invoke(app, ["report", str(out), "--by", "variant", "--where",
                                      "dataset=ring8", "--step", "best", "-f", "csv"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("variant,n_runs")
    bad_by = CliRunner().invoke(app, ["report", str(out), "--by", "lr"])
    assert bad_by.exit_code == 2 and "allowed columns" in bad_by.output
