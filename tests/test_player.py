"""The HTML report's players (training replayed evaluation by evaluation, as in GAN Lab) and
``report --plots DIR --animate``, on synthetic results folders: the data embedded in the page
must decode to the stored frames, and the GIFs must hold one frame per evaluation."""

from __future__ import annotations

import base64
import io
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from results_folder import write_run
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.report import player as player_module
from ganbench.report import read_results, summarize
from ganbench.report.animate import HEADER, SIZE, frames
from ganbench.report.html import render_html
from ganbench.report.player import MAX_POINTS, QUANT, players

ROOT = Path(__file__).resolve().parents[1]
RING = [[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)]
EXTENT = (-1.5, 1.5, -2.0, 2.0)
STEPS = (100, 200, 300)
IMAGE_STEPS = (10, 20)


def _dataset(run_dir: Path) -> None:
    path = run_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["dataset"] = {"name": "ring8", "means": RING, "weights": [1 / 8] * 8}
    path.write_text(json.dumps(manifest))


def _results(tmp_path: Path, *, variants=("gan", "wgan")) -> Path:
    """Three suites in one folder: ``toy`` (2-D samples; the first variant's seed 0 has no
    samples; 700 points at step 100, with a non-finite one and far-away ones; the last variant
    diverged after step 200), ``img`` (image grids) and ``dirac`` (trajectories)."""
    out = tmp_path / "results"
    rng = np.random.default_rng(0)
    for v, variant in enumerate(variants):
        for seed in range(3):
            steps = STEPS[:2] if v == len(variants) - 1 else STEPS
            rows = [(s, "modes", 4.0 + seed, None, 1000) for s in steps]
            run = write_run(out, f"{variant}{seed}", variant=variant, seed=seed, rows=rows,
                            step=steps[-1])  # fmt: skip
            _dataset(run)
            if seed == 0 and v == 0:
                continue
            arrays: dict[str, np.ndarray] = {"d_grid_extent": np.array(EXTENT, np.float32)}
            for step in steps:
                n = 700 if step == 100 else 60
                points = rng.normal(size=(n, 2)).astype(np.float32)
                points[3] = [np.nan, 0.5]
                points[4] = [40.0, -1e30]  # off the panel: clipped codes
                grid = rng.normal(size=(64, 64)).astype(np.float32)
                grid[5, 7] = np.nan
                arrays[f"step_{step}"] = points
                arrays[f"d_grid_step_{step}"] = grid
            np.savez(run / "samples.npz", final=arrays[f"step_{steps[-1]}"], **arrays)
    chance = write_run(out, "chance-1", variant="chance: uniform box",
                       rows=[(300, "modes", 6.0, None, 1000)])  # fmt: skip
    _dataset(chance)
    np.savez(chance / "samples.npz", final=np.zeros((50, 2), np.float32))
    for seed in range(2):
        run = write_run(out, f"img{seed}", suite="img", variant="dcgan", seed=seed,
                        dataset="mnist", rows=[(s, "loss_d", 1.0, None, None) for s in IMAGE_STEPS],
                        step=IMAGE_STEPS[-1])  # fmt: skip
        for step in IMAGE_STEPS:
            pixels = rng.integers(0, 256, size=(30, 40), dtype=np.uint8)
            Image.fromarray(pixels).save(run / f"samples_step_{step}.png")
    for seed in range(2):
        run = write_run(out, f"dirac{seed}", suite="dirac", variant="gan", seed=seed,
                        dataset="dirac", rows=[(20, "eq_distance", 1.0, None, None)],
                        step=20)  # fmt: skip
        t = np.linspace(0, 6, 20) + seed
        trajectory = np.stack([np.cos(t), np.sin(t)], axis=1).astype(np.float32)
        np.savez(run / "samples.npz", final=np.zeros((2, 1), np.float32), trajectory=trajectory)
    return out


def _embedded(page: str) -> list[dict]:
    found = re.findall(r'<script type="application/json" class="gb-data">(.*?)</script>', page)
    return [json.loads(text) for text in found]


def _bytes(b64: str) -> bytes:
    return base64.b64decode(b64, validate=True)


def _pixels(source) -> np.ndarray:
    with Image.open(source) as image:
        return np.asarray(image.convert("L"))


def _gif(path: Path) -> tuple[int, tuple[int, int], np.ndarray]:
    """Frames, size and the first frame's grey pixels of a GIF."""
    with Image.open(path) as gif:
        return gif.n_frames, gif.size, np.asarray(gif.convert("L"))


def _page(root: Path) -> str:
    results = read_results(root)
    return render_html(results, summarize(results), [])


def test_page_data_decodes_to_the_stored_frames(tmp_path: Path) -> None:
    """The oracle: decoded by hand from the page, every frame equals the samples.npz arrays up
    to the documented quantisation error."""
    root = _results(tmp_path)
    page = _page(root)
    data = {d["kind"]: d for d in _embedded(page)}
    assert set(data) == {"samples", "images", "dirac"}
    toy = data["samples"]
    assert toy["steps"] == list(STEPS) and toy["quant"] == QUANT
    assert len(_bytes(toy["lut"])) == 256 * 3
    # each variant's lowest seed with samples (gan's seed 0 stored none); no chance panel
    assert [(p["label"], p["seeds"]) for p in toy["panels"]] == [("gan", [1]), ("wgan", [0])]
    half = np.array([(EXTENT[1] - EXTENT[0]) / 2, (EXTENT[3] - EXTENT[2]) / 2])
    centre = np.array([(EXTENT[0] + EXTENT[1]) / 2, (EXTENT[2] + EXTENT[3]) / 2])
    for panel, run in zip(toy["panels"], ("gan1", "wgan0"), strict=True):
        stored = np.load(root / "toy" / "runs" / run / "samples.npz")
        steps = [s for s in STEPS if f"step_{s}" in stored.files]
        assert panel["steps"] == steps and panel["extent"] == list(EXTENT)
        assert np.allclose(panel["means"], RING, atol=1e-6)
        codes = np.frombuffer(_bytes(panel["points"]), "<i2").reshape(-1, 2)
        heat = np.frombuffer(_bytes(panel["heat"]), np.uint8).reshape(len(steps), 64, 64)
        assert panel["hshape"] == [64, 64] and sum(panel["n"]) == len(codes)
        start = 0
        for k, step in enumerate(steps):
            points = stored[f"step_{step}"][:MAX_POINTS].astype(np.float64)
            assert panel["n"][k] == len(points) == (MAX_POINTS if step == 100 else 60)
            mine = codes[start : start + len(points)]
            start += len(points)
            decoded = centre + mine / QUANT * half
            finite = np.isfinite(points)
            assert (mine[~finite] == -32768).all()
            near = finite.all(axis=1) & (np.abs(points - centre) < 1.9 * half).all(axis=1)
            assert np.abs(decoded[near] - points[near]).max() <= (half / (2 * QUANT)).max() + 1e-9
            assert (mine[4] == [32767, -32767]).all()  # far off the panel: clipped
            grid = stored[f"d_grid_step_{step}"].astype(np.float64)
            low, high = np.percentile(grid[np.isfinite(grid)], [1, 99])
            assert panel["clim"][k] == pytest.approx([low, high])
            got = heat[k]
            assert got[5, 7] == 255 and (got[np.isfinite(grid)] < 255).all()
            value = low + got / 254 * (high - low)
            ok = np.isfinite(grid)
            err = np.abs(value[ok] - np.clip(grid[ok], low, high)).max()
            assert err <= (high - low) / 508 + 1e-9
    # images: the PNG grids of each evaluation, pixel for pixel, of the lowest seed
    (img,) = data["images"]["panels"]
    assert data["images"]["steps"] == list(IMAGE_STEPS) and img["seeds"] == [0]
    for step, b64 in zip(IMAGE_STEPS, img["png"], strict=True):
        stored = _pixels(root / "img" / "runs" / "img0" / f"samples_step_{step}.png")
        assert (_pixels(io.BytesIO(_bytes(b64))) == stored).all()
    # Dirac: (step, theta, psi) rows of every seed, exactly
    (gan,) = data["dirac"]["panels"]
    assert gan["seeds"] == [0, 1] and data["dirac"]["steps"] == list(range(20))
    for seed, b64 in enumerate(gan["paths"]):
        rows = np.frombuffer(_bytes(b64), "<f4").reshape(-1, 3)
        trajectory = np.load(root / "dirac" / "runs" / f"dirac{seed}" / "samples.npz")["trajectory"]
        assert (rows[:, 0] == np.arange(20)).all() and (rows[:, 1:] == trajectory).all()
    # the page draws them: one section per player, the script once, nothing fetched
    assert page.count('class="gb-player"') == 3 and page.count("function samplesPanel") == 1
    assert not re.search(r"(?i)(https?:|//cdn|<link|@import|url\(|fetch\()", page)


def test_names_from_results_cannot_close_the_data_element(tmp_path: Path) -> None:
    name = "</script><script>alert(1)</script>&"
    page = _page(_results(tmp_path, variants=(name, "wgan")))
    assert page.count("<script>alert(1)") == 0
    (toy,) = [d for d in _embedded(page) if d["kind"] == "samples"]
    assert toy["panels"][0]["label"] == name


def test_panels_are_capped_and_the_page_says_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(player_module, "MAX_PANELS", 1)
    results = read_results(_results(tmp_path))
    (toy,) = [p for p in players(results) if p.kind == "samples"]
    assert [p.variant for p in toy.panels] == ["gan"] and toy.left_out == ["wgan"]
    page = render_html(results, summarize(results), [], players=[toy])
    assert "Showing the first 1 of 2 variants; left out: wgan." in page
    assert "gb-player" not in render_html(results, summarize(results), [], players=[])


def test_animate_writes_one_gif_per_panel_with_one_frame_per_evaluation(tmp_path: Path) -> None:
    root = _results(tmp_path)
    plots = tmp_path / "figs"
    result = CliRunner().invoke(
        app, ["report", str(root), "--plots", str(plots), "--animate", "-f", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 4 animation(s)" in result.output
    gifs = {p.name: _gif(p) for p in sorted(plots.glob("*.gif"))}
    assert sorted(gifs) == [
        "dirac__dataset-dirac__dirac__gan.gif",
        "img__dataset-mnist__images__dcgan.gif",
        "toy__dataset-ring8__samples__gan.gif",
        "toy__dataset-ring8__samples__wgan.gif",
    ]
    expected = {  # name: (frames, size)
        "toy__dataset-ring8__samples__gan.gif": (3, (SIZE, SIZE + HEADER)),
        "toy__dataset-ring8__samples__wgan.gif": (2, (SIZE, SIZE + HEADER)),  # diverged
        "img__dataset-mnist__images__dcgan.gif": (2, (40, 30 + HEADER)),
        "dirac__dataset-dirac__dirac__gan.gif": (20, (SIZE, SIZE + HEADER)),
    }
    for name, (n_frames, size, _) in gifs.items():
        assert (n_frames, size) == expected[name], name
    # the frames are the player's: the first image frame is the stored grid under the header
    first = gifs["img__dataset-mnist__images__dcgan.gif"][2]
    stored = _pixels(root / "img" / "runs" / "img0" / "samples_step_10.png")
    assert (first[HEADER:] == stored).mean() > 0.99


def test_animation_frames_draw_samples_heat_and_modes(tmp_path: Path) -> None:
    (toy,) = [p for p in players(read_results(_results(tmp_path))) if p.kind == "samples"]
    first, *_ = frames(toy, toy.panels[0])
    pixels = np.asarray(first)[HEADER:]
    assert pixels.shape == (SIZE, SIZE, 3)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # a heat map, not a blank
    # a mode centre's cross is orange: ring mode 0 at (1, 0)
    x = round((1.0 - EXTENT[0]) / (EXTENT[1] - EXTENT[0]) * SIZE)
    y = round((EXTENT[3] - 0.0) / (EXTENT[3] - EXTENT[2]) * SIZE)
    assert tuple(pixels[y, x]) == (230, 85, 13)


def test_animate_without_plots_is_a_usage_error(tmp_path: Path) -> None:
    root = _results(tmp_path)
    result = CliRunner().invoke(app, ["report", str(root), "--animate"])
    assert result.exit_code == 2
    assert "--animate" in result.output and "--plots" in result.output


BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")  # as check_html.py


def _browser() -> str | None:
    return next((b for b in map(shutil.which, BROWSERS) if b), None)


@pytest.mark.slow  # about 4 s: a browser starts
@pytest.mark.skipif(_browser() is None, reason="no Chromium on the PATH (apt-get install chromium)")
def test_the_slider_and_play_change_the_frame_in_chromium(tmp_path: Path) -> None:
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    from ganbench.report.plots import close, figures

    results = read_results(_results(tmp_path))
    figs = figures(results, kinds=["samples"])  # check_html.py also wants the images
    try:
        page = tmp_path / "page.html"
        page.write_text(render_html(results, summarize(results), figs), encoding="utf-8")
    finally:
        close(figs)
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_html.py"), str(page), "--player"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "3/3 players decoded their frames" in check.stdout
    assert check.stdout.count("slider and play change the frame") == 3


def test_a_samples_panel_says_each_evaluations_modes_and_top_mode_share(tmp_path):
    """One blob is visible in the player: under each frame, the evaluation's mode count and
    the share of the samples nearest one mode (from the run's metrics)."""
    from ganbench.report.player import encode

    out = tmp_path / "results"
    rows = [(100, "modes", 8.0, None, 100), (100, "top_mode_share", 0.125, None, 100),
            (200, "modes", 3.0, None, 100), (200, "top_mode_share", 0.93, None, 100)]  # fmt: skip
    run = write_run(out, "a", rows=rows, step=200)
    _dataset(run)
    np.savez(run / "samples.npz", step_100=np.zeros((5, 2), np.float32),
             step_200=np.zeros((5, 2), np.float32))  # fmt: skip
    (found,) = players(read_results(out), ("samples",))
    assert found.panels[0].stats == ["modes 8 · top mode 12%", "modes 3 · top mode 93%"]
    assert encode(found)["panels"][0]["stats"] == found.panels[0].stats
    assert "top_mode_share" in found.caption
