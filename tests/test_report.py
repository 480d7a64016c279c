"""Results reader, aggregation and rendering, on synthetic results folders.

Expected numbers are computed by hand from the values written, never read back from the code.
"""

from __future__ import annotations

import ast
import io
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from results_folder import write_run
from rich.console import Console

import ganbench
from ganbench.errors import ConfigError, ResultsError
from ganbench.report import (
    final_values,
    read_results,
    summarize,
    summary_table,
    to_text,
)

SUITE = "toy"


def mode_rows(
    final_modes: float, final_fd: float, *, early_modes: float = 1.0
) -> list[tuple[int, str, float, int | None, int | None]]:
    """Two evaluations; the final (step 1000) rows are written first to test ordering."""
    return [
        (1000, "modes", final_modes, None, 2500),
        (1000, "fd", final_fd, 2500, 2500),
        (1000, "loss_d", 1.25, None, None),
        (500, "modes", early_modes, None, 2500),
        (500, "fd", 9.0, 2500, 2500),
        (500, "loss_d", 2.0, None, None),
    ]


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    """Suite 'toy': variant gan (seeds 0-2 completed, seed 3 diverged, seed 4 failed), wgan."""
    out = tmp_path / "out"
    write_run(out, "a0", seed=0, rows=mode_rows(8, 0.5))
    write_run(out, "a1", seed=1, rows=mode_rows(7, 0.25))
    write_run(out, "a2", seed=2, rows=mode_rows(6, 0.75))
    write_run(
        out,
        "a3",
        seed=3,
        status="diverged",
        step=700,
        diverged_at=700,
        rows=[(500, "modes", 0.0, None, 2500), (500, "fd", 100.0, 2500, 2500)],
    )
    write_run(out, "a4", seed=4, status="failed", step=0)
    write_run(out, "b0", variant="wgan", seed=0, rows=mode_rows(5, 2.0))
    (out / SUITE / "suite.toml").write_text(
        '[suite]\nname = "toy"\n[[variants]]\nname = "wgan"\n[[variants]]\nname = "gan"\n',
        encoding="utf-8",
    )
    return out


def row_of(summary: pd.DataFrame, **keys: Any) -> pd.Series:
    mask = pd.Series(True, index=summary.index)
    for key, value in keys.items():
        mask &= summary[key] == value
    assert mask.sum() == 1, summary
    return summary[mask].iloc[0]


# --- reading -----------------------------------------------------------------------------------


def test_read_results_tables(results_dir: Path) -> None:
    results = read_results(results_dir)
    assert results.warnings == []
    runs = results.runs
    assert len(runs) == 6
    assert set(runs["run_id"]) == {"a0", "a1", "a2", "a3", "a4", "b0"}
    # Variant order follows suite.toml (wgan listed first), then seeds ascending.
    assert list(runs["run_id"]) == ["b0", "a0", "a1", "a2", "a3", "a4"]
    assert runs.loc[runs["run_id"] == "a3", "diverged_at"].item() == 700
    assert pd.isna(runs.loc[runs["run_id"] == "a0", "diverged_at"].item())
    assert runs["wall_seconds"].tolist() == [12.5] * 6
    assert runs.loc[runs["run_id"] == "a4", "error"].item() == "boom"
    assert set(runs["dataset"]) == {"ring8"}

    metrics = results.metrics
    for column in ["run_id", "suite", "variant", "seed", "status", "dataset", "step", "metric"]:
        assert column in metrics.columns
    assert str(metrics["n_fake"].dtype) == "Int64"
    # 4 completed runs x 6 rows + the diverged run's 2 rows; the failed run has none.
    assert len(metrics) == 4 * 6 + 2
    assert set(metrics.loc[metrics["run_id"] == "a3", "status"]) == {"diverged"}


@pytest.mark.parametrize("where", ["root", "suite", "runs", "run"])
def test_read_results_accepts_any_level(results_dir: Path, where: str) -> None:
    path = {
        "root": results_dir,
        "suite": results_dir / SUITE,
        "runs": results_dir / SUITE / "runs",
        "run": results_dir / SUITE / "runs" / "a1",
    }[where]
    runs = read_results(path).runs
    assert len(runs) == (1 if where == "run" else 6)


def test_grid_keys_become_columns_in_suite_order(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for i, (dataset, lr) in enumerate([("ring8", 1e-3), ("grid25", 1e-4), ("ring8", 1e-4)]):
        point = {"dataset": dataset, "optimizer.lr_d": lr}
        rows = [(100, "modes", float(i), None, 100)]
        write_run(out, f"r{i}", dataset=dataset, grid_point=point, rows=rows)
    (out / SUITE / "suite.toml").write_text(
        '[[variants]]\nname = "gan"\n[grid]\ndataset = ["grid25", "ring8"]\n'
        "optimizer.lr_d = [1e-4, 1e-3]\n",
        encoding="utf-8",
    )
    results = read_results(out)
    assert results.grid_keys == ["optimizer.lr_d"]
    assert "optimizer.lr_d" in results.runs.columns
    assert "optimizer.lr_d" in results.metrics.columns
    summary = summarize(results, ["modes"])
    keys = list(zip(summary["dataset"], summary["optimizer.lr_d"], strict=True))
    assert keys == [("grid25", 1e-4), ("ring8", 1e-4), ("ring8", 1e-3)]
    assert summary["modes_mean"].tolist() == [1.0, 2.0, 0.0]


def test_a_row_of_draws_reads_as_one_run_per_draw_in_its_place(tmp_path: Path) -> None:
    """A metrics.parquet with a ``draw`` column (a baseline row's draws, written in any order)
    reads as run ``<id>/draw-<d>`` (seed d) per draw, in seed order among the suite's runs, each
    with its own rows in the order written; runs beside it keep theirs."""
    out = tmp_path / "out"
    write_run(out, "b", variant="gan", seed=1, rows=[(9, "modes", 7.0, None, 50)])
    write_run(out, "a", variant="gan", seed=0, rows=[(9, "modes", 6.0, None, 50)])
    chance_dir = write_run(out, "c", variant="chance: uniform box", seed=0, rows=[])
    draws, values = [2, 0, 2, 1, 0], [20.0, 0.0, 21.0, 10.0, 1.0]
    pd.DataFrame(
        {
            "step": pd.array([9] * 5, dtype="int64"),
            "metric": pd.array(["modes", "modes", "fd", "modes", "fd"], dtype="str"),
            "value": pd.array(values, dtype="float64"),
            "n_real": pd.array([None] * 5, dtype="Int64"),
            "n_fake": pd.array([50] * 5, dtype="Int64"),
            "draw": pd.array(draws, dtype="int64"),
        }
    ).to_parquet(chance_dir / "metrics.parquet", index=False)
    (out / SUITE / "suite.toml").write_text('[[variants]]\nname = "gan"\n', encoding="utf-8")
    results = read_results(out)
    assert results.warnings == []
    assert list(results.runs["run_id"]) == ["a", "b", "c/draw-0", "c/draw-1", "c/draw-2"]
    assert list(results.runs["seed"]) == [0, 1, 0, 1, 2]
    metrics = results.metrics
    assert "draw" not in metrics.columns
    assert list(zip(metrics["run_id"], metrics["metric"], metrics["value"], strict=True)) == [
        ("a", "modes", 6.0),
        ("b", "modes", 7.0),
        ("c/draw-0", "modes", 0.0),
        ("c/draw-0", "fd", 1.0),
        ("c/draw-1", "modes", 10.0),
        ("c/draw-2", "modes", 20.0),
        ("c/draw-2", "fd", 21.0),
    ]
    assert list(metrics["seed"]) == [0, 1, 0, 0, 1, 2, 2]
    assert str(metrics["n_fake"].dtype) == "Int64" and metrics.index.tolist() == list(range(7))


def test_invalid_folders_are_skipped_with_a_warning(results_dir: Path) -> None:
    runs_dir = results_dir / SUITE / "runs"
    bad_json = write_run(results_dir, "bad_json", rows=mode_rows(1, 1))
    (bad_json / "manifest.json").write_text('{"schema": 1, "run_id": ', encoding="utf-8")
    missing_key = write_run(results_dir, "missing_key", rows=mode_rows(1, 1))
    manifest = json.loads((missing_key / "manifest.json").read_text(encoding="utf-8"))
    del manifest["status"]
    (missing_key / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    truncated = write_run(results_dir, "truncated", seed=9, rows=mode_rows(1, 1))
    data = (truncated / "metrics.parquet").read_bytes()
    (truncated / "metrics.parquet").write_bytes(data[: len(data) // 2])
    (runs_dir / "no_manifest").mkdir()
    hidden = runs_dir / ".tmp-xyz"
    hidden.mkdir()
    (hidden / "manifest.json").write_text("not json", encoding="utf-8")

    results = read_results(results_dir)
    assert len(results.runs) == 6  # the valid runs only
    text = "\n".join(results.warnings)
    assert len(results.warnings) == 4, text
    assert "bad_json" in text and "corrupt manifest.json" in text
    assert "missing_key" in text and "status" in text
    assert "truncated" in text and "metrics.parquet" in text
    assert "no_manifest" in text
    assert ".tmp-xyz" not in text


def test_missing_path_raises(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ResultsError, match=r"nowhere.*does not exist"):
        read_results(missing)


def test_folder_without_runs_raises_with_expected_layout(tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(ResultsError, match=r"no runs found under .*empty.*runs/<run_id>/manifest"):
        read_results(tmp_path / "empty")


def test_only_invalid_runs_raises(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, "x")
    (run_dir / "manifest.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ResultsError, match=r"no valid run.*not a JSON object"):
        read_results(tmp_path)


# --- aggregation -------------------------------------------------------------------------------


def test_final_value_is_taken_at_the_last_step(results_dir: Path) -> None:
    finals = final_values(read_results(results_dir), ["modes", "fd"])
    a0 = finals[finals["run_id"] == "a0"].set_index("metric")
    assert a0.loc["modes", "value"] == 8.0  # step 1000, not the step-500 value 1.0
    assert a0.loc["modes", "step"] == 1000
    assert a0.loc["fd", "value"] == 0.5
    a3 = finals[finals["run_id"] == "a3"].set_index("metric")
    assert a3.loc["modes", "step"] == 500  # a diverged run's last evaluation

    wide = final_values(read_results(results_dir), ["modes"], wide=True)
    assert len(wide) == 6
    assert wide.set_index("run_id").loc["a2", "modes"] == 6.0
    assert math.isnan(wide.set_index("run_id").loc["a4", "modes"])  # failed: no metrics


def test_summary_means_over_completed_seeds(results_dir: Path) -> None:
    summary = summarize(read_results(results_dir), ["modes", "fd"])
    assert list(summary["variant"]) == ["wgan", "gan"]
    gan = row_of(summary, variant="gan")
    assert (gan["n_runs"], gan["completed"], gan["diverged"], gan["failed"]) == (5, 3, 1, 1)
    assert gan["seeds"] == "0,1,2,3,4"
    # modes 8, 7, 6 -> mean 7, sample std 1; the diverged run's 0 is not averaged in.
    assert gan["modes_mean"] == pytest.approx(7.0)
    assert gan["modes_std"] == pytest.approx(1.0)
    assert gan["modes_n"] == 3
    # fd 0.5, 0.25, 0.75 -> mean 0.5, std 0.25.
    assert gan["fd_mean"] == pytest.approx(0.5)
    assert gan["fd_std"] == pytest.approx(0.25)
    assert gan["fd_n_fake"] == 2500 and gan["fd_n_real"] == 2500
    assert gan["modes_n_fake"] == 2500
    assert "modes_n_real" not in summary.columns  # never recorded for modes
    wgan = row_of(summary, variant="wgan")
    assert wgan["modes_mean"] == 5.0
    assert math.isnan(wgan["modes_std"])  # one value: no sample std
    assert wgan["modes_n"] == 1


def test_nan_final_value_is_not_averaged(tmp_path: Path) -> None:
    write_run(tmp_path, "n0", seed=0, rows=[(10, "fd", 1.0, 10, 10)])
    write_run(tmp_path, "n1", seed=1, rows=[(10, "fd", 3.0, 10, 10)])
    write_run(tmp_path, "n2", seed=2, rows=[(5, "fd", 0.0, 10, 10), (10, "fd", math.nan, 10, 10)])
    summary = summarize(read_results(tmp_path), ["fd"])
    row = summary.iloc[0]
    assert (row["completed"], row["fd_n"]) == (3, 2)
    assert row["fd_mean"] == 2.0  # mean of 1 and 3; the NaN is not replaced by step 5's 0.0
    assert row["fd_std"] == pytest.approx(math.sqrt(2))
    assert "2.00 ± 1.41 (n=2)" in to_text(summary, "markdown")


def test_default_metrics_are_those_recorded(results_dir: Path) -> None:
    summary = summarize(read_results(results_dir))
    assert "modes_mean" in summary.columns and "fd_mean" in summary.columns
    assert "loss_d_mean" not in summary.columns  # not a default
    assert "hq_fraction_mean" not in summary.columns  # a default, but not recorded


def test_unknown_metric_says_did_you_mean(results_dir: Path) -> None:
    results = read_results(results_dir)
    with pytest.raises(ConfigError, match=r"unknown metric 'mdoes'; did you mean 'modes'\?") as e:
        summarize(results, ["mdoes"])
    assert "available: " in str(e.value) and "loss_d" in str(e.value)
    with pytest.raises(ConfigError, match="hq_fraction"):
        final_values(results, ["hq_fraction"])


def test_metric_patterns_and_comma_lists(tmp_path: Path) -> None:
    rows = [(10, f"mode_count/{k}", float(k), None, 50) for k in range(12)]
    write_run(tmp_path, "m0", rows=[*rows, (10, "modes", 11.0, None, 50)])
    results = read_results(tmp_path)
    summary = summarize(results, "modes, mode_count/*")
    assert summary["mode_count/11_mean"].item() == 11.0
    assert summary["modes_mean"].item() == 11.0
    with pytest.raises(ConfigError, match=r"mode_count/0\.\.mode_count/11"):
        summarize(results, ["mode_count"])


# --- rendering ---------------------------------------------------------------------------------


def test_csv_is_machine_readable_at_full_precision(tmp_path: Path) -> None:
    write_run(tmp_path, "p0", seed=0, rows=[(1, "fd", 1 / 3, 10, 10)])
    write_run(tmp_path, "p1", seed=1, rows=[(1, "fd", 2 / 3, 10, 10)])
    summary = summarize(read_results(tmp_path), ["fd"])
    parsed = pd.read_csv(io.StringIO(to_text(summary, "csv")))
    assert parsed["fd_mean"].item() == 0.5
    # sample std of {1/3, 2/3} = sqrt(2 * (1/6)^2) = sqrt(2)/6, bit for bit round-tripped.
    assert parsed["fd_std"].item() == summary["fd_std"].item()
    assert parsed["fd_std"].item() == pytest.approx(math.sqrt(2) / 6, rel=1e-15)
    assert parsed["fd_n"].item() == 2


def test_csv_and_json_numbers(results_dir: Path) -> None:
    summary = summarize(read_results(results_dir), ["modes", "fd"])
    parsed = pd.read_csv(io.StringIO(to_text(summary, "csv")))
    gan = row_of(parsed, variant="gan")
    assert (gan["modes_mean"], gan["modes_std"], gan["modes_n"]) == (7.0, 1.0, 3)
    assert gan["diverged"] == 1 and gan["failed"] == 1

    records = json.loads(to_text(summary, "json"))
    by_variant = {r["variant"]: r for r in records}
    assert by_variant["gan"]["modes_mean"] == 7.0
    assert by_variant["gan"]["fd_std"] == 0.25
    assert by_variant["gan"]["seeds"] == [0, 1, 2, 3, 4]
    assert by_variant["wgan"]["modes_std"] is None  # NaN becomes null


def test_markdown_table(results_dir: Path) -> None:
    summary = summarize(read_results(results_dir), ["modes", "fd"])
    text = to_text(summary, "markdown")
    lines = text.splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[:6] == ["variant", "dataset", "runs", "completed", "diverged", "failed"]
    assert header[6:] == ["modes ↑", "fd ↓"]
    assert set(lines[1].replace("|", "").split()) <= {"---", "---:"}
    gan = next(line for line in lines if line.startswith("| gan "))
    cells = [c.strip() for c in gan.strip("|").split("|")]
    assert cells[2:] == ["5", "3", "1", "1", "7.00 ± 1.00", "0.500 ± 0.250"]
    assert "FD is biased upward" in text


def test_rich_table_renders(results_dir: Path) -> None:
    summary = summarize(read_results(results_dir), ["modes", "fd"])
    console = Console(record=True, width=200)
    console.print(summary_table(summary))
    text = console.export_text()
    assert "ganbench: toy" in text
    assert "7.00 ± 1.00" in text
    assert "5.00" in text  # wgan: one run, no std
    assert "seeds 0, 1, 2, 3, 4 (5 runs)" not in text  # rows have different seeds
    assert "1 to 5 runs" in text
    assert "n_fake=2500" in text
    assert "FD is biased upward at small sample counts" in text


def test_unknown_format(results_dir: Path) -> None:
    summary = summarize(read_results(results_dir), ["modes"])
    with pytest.raises(ConfigError, match="did you mean 'markdown'"):
        to_text(summary, "markdwn")


def _module_file(name: str) -> Path | None:
    """The source file of a ganbench module (``None`` for a name inside a module)."""
    root = Path(ganbench.__file__).parent
    parts = name.split(".")[1:]
    for candidate in (
        root.joinpath(*parts).with_suffix(".py"),
        root.joinpath(*parts, "__init__.py"),
    ):
        if parts and candidate.is_file():
            return candidate
    return root / "__init__.py" if not parts else None


def test_report_does_not_import_jax() -> None:
    """Reading and rendering results must work without the training stack (checked statically,
    through every ganbench module the report imports, including lazy imports in functions)."""
    forbidden = {"jax", "jaxlib", "flax", "optax"}
    todo = ["ganbench.report", "ganbench.report.summary", "ganbench.report.render"]
    todo += ["ganbench.report.plots", "ganbench.report.html", "ganbench.report.compare"]
    todo.append("ganbench.results.read")
    todo += ["ganbench.report.references", "ganbench.references"]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name)
        if path is None:
            continue
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages run too
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for module in imported:
                assert module.split(".")[0] not in forbidden, f"{path} imports {module}"
                if module.split(".")[0] == "ganbench":
                    todo.append(module)
    assert "ganbench.metrics.names" in seen
