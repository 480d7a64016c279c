"""Curves aggregated over seeds, report figures and the self-contained HTML page, on synthetic
results folders whose values are chosen by hand."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from results_folder import write_run
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.report import curves, read_results, summarize, with_stability
from ganbench.report.html import render_html
from ganbench.report.plots import close, figures, write_figures

RING = [[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)]


def _manifest_dataset(run_dir: Path, means=RING) -> None:
    path = run_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["dataset"] = {"name": "ring8", "means": means, "weights": [1 / 8] * 8}
    path.write_text(json.dumps(manifest))


def _toy(tmp_path: Path) -> Path:
    """Two variants x 3 seeds on ring8, evaluations at steps 100 and 200, with samples."""
    out = tmp_path / "results"
    rng = np.random.default_rng(0)
    losses = {
        "gan": [(1.0, 2.0), (2.0, 4.0), (3.0, 9.0)],
        "wgan": [(0.5, 0.5), (0.5, 1.5), (2.0, 1.0)],
    }
    for variant, per_seed in losses.items():
        for seed, (a, b) in enumerate(per_seed):
            rows = [(100, "loss_d", a, None, None), (200, "loss_d", b, None, None)]
            rows += [(100, "modes", 4.0 + seed, None, 1000), (200, "modes", 6.0 + seed, None, 1000)]
            rows += [(200, f"mode_count/{k}", float(10 * k + seed), None, 1000) for k in range(8)]
            run = write_run(
                out, f"{variant}{seed}", variant=variant, seed=seed, rows=rows, step=200
            )
            _manifest_dataset(run)
            samples = {
                "final": rng.normal(size=(50, 2)).astype(np.float32),
                "step_100": rng.normal(size=(50, 2)).astype(np.float32),
                "step_200": rng.normal(size=(50, 2)).astype(np.float32),
                "d_grid_step_100": rng.normal(size=(8, 8)).astype(np.float32),
                "d_grid_step_200": rng.normal(size=(8, 8)).astype(np.float32),
                "d_grid_extent": np.array([-1.5, 1.5, -1.5, 1.5], np.float32),
            }
            np.savez(run / "samples.npz", **samples)
    return out


def _dirac(tmp_path: Path) -> Path:
    out = tmp_path / "dirac"
    for variant in ("gan", "r1"):
        for seed in range(2):
            rows = [(s, "eq_distance", 1.0 / s, None, None) for s in (10, 20)]
            run = write_run(out, f"{variant}{seed}", suite="dirac", variant=variant, seed=seed,
                            dataset="dirac", rows=rows, step=20)  # fmt: skip
            t = np.linspace(0, 6, 21)
            np.savez(
                run / "samples.npz",
                final=np.zeros((4, 1), np.float32),
                trajectory=np.stack([np.cos(t), np.sin(t)], axis=1).astype(np.float32),
                eigenvalues_step_20=np.array([-0.5 + 0.5j, -0.5 - 0.5j], np.complex64),
            )
    return out


def test_curves_mean_std_and_t_interval_by_hand(tmp_path: Path) -> None:
    results = read_results(_toy(tmp_path))
    table = curves(results, ["loss_d"])
    gan = table[table["variant"] == "gan"].set_index("step")
    # step 200 values 2, 4, 9: mean 5, sample std sqrt(((-3)^2 + (-1)^2 + 4^2) / 2) = sqrt(13)
    assert gan.loc[200, "mean"] == pytest.approx(5.0)
    assert gan.loc[200, "std"] == pytest.approx(math.sqrt(13.0))
    assert gan.loc[200, "n"] == 3
    # t_{0.975, 2} = 4.302652729911275 (Student's t table)
    half = 4.302652729911275 * math.sqrt(13.0) / math.sqrt(3.0)
    assert gan.loc[200, "ci_low"] == pytest.approx(5.0 - half)
    assert gan.loc[200, "ci_high"] == pytest.approx(5.0 + half)
    wgan = table[table["variant"] == "wgan"].set_index("step")
    assert wgan.loc[100, "mean"] == pytest.approx(1.0)  # (0.5 + 0.5 + 2) / 3
    assert list(table["variant"].drop_duplicates()) == ["gan", "wgan"]  # suite order kept


def test_curves_skip_failed_runs_and_count_diverged_steps(tmp_path: Path) -> None:
    out = tmp_path / "r"
    write_run(
        out, "a", seed=0, rows=[(1, "loss_d", 1.0, None, None), (2, "loss_d", 3.0, None, None)]
    )
    write_run(out, "b", seed=1, status="diverged", diverged_at=2,
              rows=[(1, "loss_d", 3.0, None, None)])  # fmt: skip
    write_run(out, "c", seed=2, status="failed", rows=[(1, "loss_d", 100.0, None, None)])
    table = curves(read_results(out), "loss_d").set_index("step")
    assert table.loc[1, "mean"] == pytest.approx(2.0) and table.loc[1, "n"] == 2
    assert table.loc[2, "mean"] == pytest.approx(3.0) and table.loc[2, "n"] == 1
    assert math.isnan(table.loc[2, "std"]) and math.isnan(table.loc[2, "ci_low"])


def test_figures_of_two_dimensional_runs_have_the_expected_panels(tmp_path: Path) -> None:
    results = read_results(_toy(tmp_path))
    figs = figures(results)
    by_kind = {f.kind: f for f in figs}
    assert set(by_kind) == {"curves", "samples", "modes"}
    try:
        curve_titles = [ax.get_title() for ax in by_kind["curves"].figure.axes if ax.get_title()]
        assert curve_titles == ["loss_d", "modes ↑"]
        assert "3 seeds" in by_kind["curves"].title + by_kind["curves"].figure._suptitle.get_text()
        # samples: 2 variants x 2 snapshots, each with the heat map behind the points
        sample_axes = by_kind["samples"].figure.axes
        assert len(sample_axes) == 4 and all(ax.images for ax in sample_axes)
        assert [ax.get_title() for ax in sample_axes[:2]] == ["step 100", "step 200"]
        modes = [ax for ax in by_kind["modes"].figure.axes if ax.get_title()]
        assert [ax.get_title() for ax in modes] == ["gan (n=3)", "wgan (n=3)"]
        # bars: the mean over seeds of mode_count/k = 10 k + (0 + 1 + 2) / 3
        heights = [p.get_height() for p in modes[0].patches]
        assert heights == pytest.approx([10 * k + 1.0 for k in range(8)])
        paths = write_figures(figs, tmp_path / "plots")
        assert sorted(p.name for p in paths) == [
            "toy__dataset-ring8__curves.png",
            "toy__dataset-ring8__modes.png",
            "toy__dataset-ring8__samples.png",
        ]
        assert all(p.stat().st_size > 5_000 and p.read_bytes()[:4] == b"\x89PNG" for p in paths)
        svg = write_figures(figs[:1], tmp_path / "svg", "svg")[0]
        assert svg.read_text().lstrip().startswith("<?xml")
    finally:
        close(figs)


def test_reference_rows_add_no_empty_panels_to_the_sample_grid(tmp_path: Path) -> None:
    """A chance row (one final value, no snapshots) beside the runs: the sample grid still has
    one row per trained run's variant, not a row of empty panels for the reference."""
    out = _toy(tmp_path)
    chance = write_run(
        out, "chance-x", variant="chance: uniform box", rows=[(200, "modes", 6.0, None, 1000)]
    )
    _manifest_dataset(chance)
    np.savez(chance / "samples.npz", final=np.zeros((50, 2), np.float32))
    figs = figures(read_results(out), kinds=["samples"])
    try:
        (fig,) = figs
        assert len(fig.figure.axes) == 4 and all(ax.collections for ax in fig.figure.axes)
    finally:
        close(figs)


def test_dirac_trajectories_and_spectra_are_drawn(tmp_path: Path) -> None:
    results = read_results(_dirac(tmp_path))
    figs = figures(results)
    try:
        kinds = [f.kind for f in figs]
        assert kinds == ["curves", "dirac", "spectrum"]
        dirac = figs[1].figure
        panels = [ax for ax in dirac.axes if ax.get_title()]
        assert [ax.get_title() for ax in panels] == ["gan (n=2)", "r1 (n=2)"]
        # one line per seed plus the start dot of each, and the equilibrium star
        assert len(panels[0].lines) == 2 * 2 + 1
        theta, psi = panels[0].lines[0].get_data()
        assert theta[0] == pytest.approx(1.0) and psi[0] == pytest.approx(0.0)
        spectrum = [ax for ax in figs[2].figure.axes if ax.get_title()]
        offsets = spectrum[0].collections[0].get_offsets()
        assert np.allclose(sorted(map(tuple, offsets)), [(-0.5, -0.5), (-0.5, 0.5)])
        assert "step 20" in spectrum[0].get_title()
    finally:
        close(figs)


def test_html_is_self_contained(tmp_path: Path) -> None:
    results = read_results(_toy(tmp_path))
    summary = with_stability(summarize(results), results)
    figs = figures(results)
    try:
        page = render_html(results, summary, figs)
    finally:
        close(figs)
    assert page.startswith("<!DOCTYPE html>")
    # no external reference of any kind: every src is a data: URI, no links, imports or fetches
    assert re.findall(r'src="(?!data:image/png;base64,)', page) == []
    assert not re.search(r"(?i)(https?:|//cdn|<link|@import|url\(|fetch\()", page)
    assert page.count("<img ") == 3
    assert "stability" in page and "Legend" in page and "modes" in page
    assert "6 runs" in page and "(3 runs)" in page  # counts stated: suite and per row
    assert "seeds 0, 1, 2" in page


def test_report_cli_writes_html_and_plots(tmp_path: Path) -> None:
    root = _toy(tmp_path)
    html, plots = tmp_path / "out" / "report.html", tmp_path / "figs"
    result = CliRunner().invoke(
        app, ["report", str(root), "--html", str(html), "--plots", str(plots), "-f", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert html.stat().st_size > 20_000 and len(list(plots.glob("*.png"))) == 3
    # a page inside the results folder would be read as results next time: refused
    inside = CliRunner().invoke(app, ["report", str(root), "--html", str(root / "r.html")])
    assert inside.exit_code == 2 and "inside the results folder" in inside.output
    bad = CliRunner().invoke(
        app, ["report", str(root), "--plots", str(plots), "--plot-format", "gif"]
    )
    assert bad.exit_code == 2 and "png, svg" in bad.output


def test_samples_figure_takes_each_variants_lowest_seed_with_snapshots(tmp_path: Path) -> None:
    """A variant whose lowest seed kept no snapshots is drawn from its next seed; a folder where
    no drawn run kept any draws no sample figure instead of failing."""
    out = _toy(tmp_path)
    for seed in (0, 1):  # gan's seeds 0 and 1 keep only their final samples
        np.savez(out / "toy" / "runs" / f"gan{seed}" / "samples.npz",
                 final=np.zeros((50, 2), np.float32))  # fmt: skip
    figs = figures(read_results(out), kinds=["samples"])
    try:
        (fig,) = figs
        labels = [ax.get_ylabel() for ax in fig.figure.axes if ax.get_ylabel()]
        assert labels == ["gan\nseed 2", "wgan\nseed 0"]
    finally:
        close(figs)
