"""Players: training replayed evaluation by evaluation, several variants side by side.

GAN Lab (Kahng et al. 2018, "GAN Lab: Understanding Complex Deep Generative Models using
Interactive Visual Experimentation", IEEE VIS) made a GAN's dynamics visible by drawing the
generator's samples and the discriminator's decision surface moving together. A results folder
holds what that takes for every stored evaluation, so the report replays it: per suite and grid
point, one :class:`Player` whose panels (one per variant, up to :data:`MAX_PANELS`) step through
the evaluations in sync. Three kinds:

- ``samples`` (2-D data): the generated samples of each evaluation (``step_<N>`` in
  samples.npz) over D's output on the plane (``d_grid_step_<N>``) and the mode centres, for each
  variant's lowest seed that stored any;
- ``images`` (image data): the grid of 64 generated images of each evaluation
  (``samples_step_<N>.png``), for each variant's lowest seed;
- ``dirac`` (the Dirac-GAN): the (theta, psi) trajectory of every seed (up to
  :data:`MAX_DIRAC_SEEDS`) drawn up to the player's step.

:func:`players` reads them; :func:`player_html` embeds one in the HTML report with the data as
JSON (the page's inline script draws on ``<canvas>``); :mod:`ganbench.report.animate` writes the
same frames as animated GIFs. The page's data is compact:

- samples: the first :data:`MAX_POINTS` samples of each evaluation (the stored samples are
  independent draws, so these are a random subset), each coordinate a little-endian int16,
  ``round((x - centre) / half_width * QUANT)`` over the panel's extent (the extent spans
  ``±QUANT``; points farther out than one more extent width clip to ``±32767``, off the panel
  either way; ``-32768`` marks a non-finite coordinate). The error is at most
  ``half_width / (2 * QUANT)``.
- D's output: one uint8 per grid cell, 0-254 over the evaluation's colour limits (its 1st to
  99th percentile, as the static samples figure), 255 where it is not finite; drawn through
  :func:`colour_table` (matplotlib's RdBu_r at 75% opacity over white, as the static figure).
- images: each grid re-encoded as PNG (which also checks it is one), base64.
- Dirac: float32 rows (step, theta, psi), step 0 the initial values, at most
  :data:`MAX_PATH_ROWS` per seed.
"""

from __future__ import annotations

import base64
import io
import json
import math
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ganbench.metrics import names as M
from ganbench.report.formatting import html_text
from ganbench.report.plots import colour_limits, figure_title, spread_evenly
from ganbench.report.select import is_missing
from ganbench.results import samples as sample_files
from ganbench.results.read import Results
from ganbench.results.samples import MAX_GRID_CELLS

KINDS = ("samples", "images", "dirac")
MAX_PANELS = 16
"""Most panels (variants) of one player; the page says which variants it leaves out."""
MAX_POINTS = 500
"""Most samples per panel and evaluation embedded in the page."""
MAX_FRAMES = 200
"""Most evaluations of a samples player (evenly spread over training, first and last kept)."""
QUANT = 16384
"""int16 units per half extent of a panel (see the module docstring)."""
MISSING = -32768
"""The int16 code of a non-finite coordinate."""
"""Largest D grid drawn (ganbench stores 64 x 64); a larger one is left out."""
MAX_DIRAC_SEEDS = 8
MAX_PATH_ROWS = 2000
"""Most trajectory rows per Dirac-GAN seed (evenly spread, first and last kept)."""
MAX_DIRAC_FRAMES = 200
"""Most positions of a Dirac-GAN player's slider (evenly spread over the steps)."""
MAX_IMAGE_BYTES = 8 << 20
MAX_IMAGE_PIXELS = 2048 * 2048
"""Largest image grid file and size shown (ganbench's are 64 small images, a few kB)."""
_HEAT_LEVELS = 254  # codes 0..254; 255 is a cell that is not finite


# --------------------------------------------------------------------------- records


@dataclass
class Frame:
    """One evaluation of a ``samples`` panel: the points and D's grid as stored (float64)."""

    step: int
    points: np.ndarray  # (n, 2), n <= MAX_POINTS
    heat: np.ndarray | None  # (rows indexed by y, columns by x) or None
    clim: tuple[float, float] | None  # the heat map's colour limits


@dataclass
class Panel:
    """One variant of a player.

    ``samples`` panels hold ``frames`` (one :class:`Frame` per evaluation) and the plane's
    ``extent`` and mode centres ``means``; ``images`` panels hold one PNG per evaluation in
    ``images``; ``dirac`` panels hold one (m, 3) array of (step, theta, psi) rows per seed in
    ``paths`` and the axes' half width ``lim``.
    """

    variant: str
    seeds: list[int]
    steps: list[int]
    frames: list[Frame] = field(default_factory=list)
    extent: tuple[float, float, float, float] = (-1.0, 1.0, -1.0, 1.0)
    means: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    images: list[bytes] = field(default_factory=list)
    paths: list[np.ndarray] = field(default_factory=list)
    lim: float = 1.0
    stats: list[str] = field(default_factory=list)
    """``samples`` panels: per frame, the evaluation's mode count and the share of the samples
    nearest the most common mode (``top_mode_share``: one blob reads near 100%), or ``""``."""

    @property
    def seed_text(self) -> str:
        return f"seed{'s' * (len(self.seeds) != 1)} {', '.join(map(str, self.seeds))}"


@dataclass
class Player:
    """One player: a suite and grid point, a kind, and its panels in sync.

    ``steps`` are the slider's positions: every step any panel has a frame at (``dirac``: up
    to :data:`MAX_DIRAC_FRAMES` steps spread over the trajectories); a panel shows its latest
    frame at or before the slider's step. ``left_out`` names the variants beyond
    :data:`MAX_PANELS`.
    """

    kind: str
    suite: str
    point: dict[str, Any]
    panels: list[Panel]
    steps: list[int]
    left_out: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        what = {
            "samples": "generated samples over D's output",
            "images": "generated images",
            "dirac": "Dirac-GAN trajectories",
        }[self.kind]
        by = "step by step" if self.kind == "dirac" else "evaluation by evaluation"
        return f"{figure_title(self.suite, self.point)}: {what}, {by}"

    @property
    def caption(self) -> str:
        if self.kind == "samples":
            text = (
                f"One panel per variant (its lowest seed with stored samples): the first "
                f"{MAX_POINTS} samples (independent draws: a random subset) of each of up to "
                f"{MAX_FRAMES} evaluations spread over training (dots) over the "
                "discriminator's output on the plane (red: higher D, blue: lower; colour scale "
                "from each evaluation's 1st to 99th percentile) and the mode centres (crosses); "
                "under each panel, the evaluation's mode count and the share of all samples "
                "nearest the most common mode (top_mode_share: one blob reads near 100%)."
            )
        elif self.kind == "images":
            text = (
                "One panel per variant (its lowest seed): the 64 generated images stored at "
                "each evaluation (samples_step_<N>.png)."
            )
        else:
            text = (
                "The generator's θ (across) and the discriminator's ψ (up) of every seed "
                f"(up to {MAX_DIRAC_SEEDS}, one colour each) up to the step shown, from the "
                "start (black dot) to the current point (ringed); the star is the equilibrium "
                "(0, 0)."
            )
        text += " One slider drives every panel; a panel whose run stopped earlier keeps its last frame."
        if self.left_out:
            text += (
                f" Showing the first {MAX_PANELS} of {MAX_PANELS + len(self.left_out)} "
                f"variants; left out: {', '.join(self.left_out)}."
            )
        return text


# --------------------------------------------------------------------------- reading


def players(
    results: Results, kinds: tuple[str, ...] = KINDS, notes: list[str] | None = None
) -> list[Player]:
    """Every player the results support, by suite and grid point (the order of
    :func:`ganbench.report.plots.figures`). Baseline rows (data, chance, floor) and the EMA
    generator's rows (their snapshots are the raw generator's) get no panel. A samples player
    reads at most :data:`MAX_FRAMES` evaluations of :data:`MAX_POINTS` samples per panel
    whatever the files hold; ``notes``, when given, receives a line per array cut."""
    from ganbench.report.select import group_columns

    point_keys = [k for k in group_columns(results) if k not in ("suite", "variant")]
    runs_all = results.runs
    trained = runs_all[
        ~runs_all["variant"].map(M.is_baseline_row) & ~runs_all["run_id"].str.endswith("/ema")
    ]
    out: list[Player] = []
    for (suite, *values), runs in trained.groupby(["suite", *point_keys], sort=False, dropna=False):
        point = {k: v for k, v in zip(point_keys, values, strict=True) if not is_missing(v)}
        variants = list(runs.groupby("variant", sort=False))
        if "images" in kinds:
            player = _player("images", suite, point, variants, _images_panel)
            if player is not None:
                out.append(player)
        if not ({"samples", "dirac"} & set(kinds)):
            continue
        samples = sample_files.Samples(runs)
        if "samples" in kinds and samples.has_snapshots:
            stats = _frame_stats(results, runs)
            make = partial(_samples_panel, samples, stats=stats)
            player = _player("samples", suite, point, variants, make)
            if player is not None:
                out.append(player)
        if "dirac" in kinds and samples.has("trajectory"):
            player = _player("dirac", suite, point, variants, partial(_dirac_panel, samples))
            if player is not None:
                player.steps = spread_evenly(player.steps, MAX_DIRAC_FRAMES)
                out.append(player)
        if notes is not None:
            notes += [n for n in samples.notes if n not in notes]
    return out


def _player(kind, suite, point, variants, make) -> Player | None:
    panels: list[Panel] = []
    left_out: list[str] = []
    for variant, runs in variants:
        if len(panels) == MAX_PANELS:  # named in the caption, not read
            left_out.append(str(variant))
            continue
        panel = make(variant, runs.sort_values("seed", kind="stable"))
        if panel is not None:
            panels.append(panel)
    if not panels:
        return None
    steps = sorted({s for p in panels for s in p.steps})
    return Player(kind, suite, point, panels, steps, left_out)


STAT_METRICS = (M.MODES, M.TOP_MODE_SHARE)
"""What a samples panel says under each frame."""


def _frame_stats(results: Results, runs: pd.DataFrame) -> dict[tuple[str, int], str]:
    """``(run_id, step) -> "modes 3 · top mode 92%"`` for the runs' evaluations."""
    metrics = results.metrics
    mine = metrics[
        metrics["run_id"].isin(set(runs["run_id"])) & metrics["metric"].isin(STAT_METRICS)
    ]
    values: dict[tuple[str, int], dict[str, float]] = {}
    for run_id, step, metric, value in mine[["run_id", "step", "metric", "value"]].itertuples(
        index=False, name=None
    ):
        values.setdefault((run_id, int(step)), {})[metric] = float(value)
    out = {}
    for key, found in values.items():
        parts = []
        if math.isfinite(found.get(M.MODES, math.nan)):
            parts.append(f"modes {found[M.MODES]:g}")
        if math.isfinite(found.get(M.TOP_MODE_SHARE, math.nan)):
            parts.append(f"top mode {100 * found[M.TOP_MODE_SHARE]:.0f}%")
        out[key] = " · ".join(parts)
    return out


def _samples_panel(
    samples: sample_files.Samples, variant: str, runs: pd.DataFrame, *, stats: dict | None = None
) -> Panel | None:
    for _, run in runs.iterrows():
        data = samples.load(run["path"])
        steps = spread_evenly(sample_files.steps_of(data, "step_"), MAX_FRAMES)
        if not steps:
            continue
        means = sample_files.mode_means(samples.manifest(run["path"]))
        extent = sample_files.extent(data.get("d_grid_extent"))
        frames = []
        for step in steps:
            points = sample_files.points(data.get(f"step_{step}", rows=MAX_POINTS))
            points = np.zeros((0, 2)) if points is None else points[:MAX_POINTS, :2]
            grid = data.get(f"d_grid_step_{step}")
            heat, clim = None, None
            if (
                extent is not None
                and grid is not None
                and grid.ndim == 2
                and grid.dtype.kind in "biuf"
                and 0 < grid.size <= MAX_GRID_CELLS
            ):
                heat = grid.astype(np.float64)
                clim = colour_limits(heat)
                if not all(math.isfinite(v) for v in clim):  # only for values near 1e308
                    heat, clim = None, None
            frames.append(Frame(step, points, heat, clim))
        if extent is None:
            extent = _fallback_extent(means, frames)
        texts = [(stats or {}).get((run["run_id"], step), "") for step in steps]
        return Panel(str(variant), [int(run["seed"])], steps, frames=frames, extent=extent,
                     means=means, stats=texts)  # fmt: skip
    return None


def _fallback_extent(means: np.ndarray, frames: list[Frame]) -> tuple[float, float, float, float]:
    """The plane shown when a run stored no D grid extent: the modes' box with a margin (as the
    static figure), else the samples' 1st to 99th percentile box, else [-1, 1]^2."""
    if means.size:
        pad = 0.25 * float(np.ptp(means)) + 0.5
        box = (means[:, 0].min() - pad, means[:, 0].max() + pad,
               means[:, 1].min() - pad, means[:, 1].max() + pad)  # fmt: skip
    else:
        points = np.concatenate([f.points for f in frames]) if frames else np.zeros((0, 2))
        points = points[np.isfinite(points).all(axis=1)]
        if not len(points):
            return (-1.0, 1.0, -1.0, 1.0)
        (x_lo, y_lo), (x_hi, y_hi) = np.percentile(points, [1, 99], axis=0)
        box = (x_lo - 0.5, x_hi + 0.5, y_lo - 0.5, y_hi + 0.5)
    x_lo, x_hi, y_lo, y_hi = (float(v) for v in box)
    ok = all(math.isfinite(v) for v in box) and x_hi > x_lo and y_hi > y_lo
    return (x_lo, x_hi, y_lo, y_hi) if ok else (-1.0, 1.0, -1.0, 1.0)


def _images_panel(variant: str, runs: pd.DataFrame) -> Panel | None:
    for _, run in runs.iterrows():
        folder = Path(run["path"])
        steps = sample_files.steps_of(
            (p.stem for p in folder.glob("samples_step_*.png")), "samples_step_"
        )
        images, kept = [], []
        for step in steps:
            png = _png(folder / f"samples_step_{step}.png")
            if png is not None:
                images.append(png)
                kept.append(step)
        if kept:
            return Panel(str(variant), [int(run["seed"])], kept, images=images)
    return None


def _png(path: Path) -> bytes | None:
    """The image at ``path`` re-encoded as an 8-bit grey or RGB PNG; None when it is not a
    regular file, too large, or not an image Pillow reads (results folders are untrusted)."""
    from PIL import Image

    try:
        if not path.is_file() or path.stat().st_size > MAX_IMAGE_BYTES:
            return None
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS or width < 1 or height < 1:
                return None
            image = image.convert("L" if image.mode in ("L", "I", "I;16", "1") else "RGB")
            buf = io.BytesIO()
            image.save(buf, format="PNG")
    except Exception:  # untrusted bytes: Pillow raises many types
        return None
    return buf.getvalue()


def _dirac_panel(samples: sample_files.Samples, variant: str, runs: pd.DataFrame) -> Panel | None:
    paths, seeds, lim = [], [], 0.0
    for _, run in runs.iterrows():
        path = samples.load(run["path"]).get("trajectory")
        if path is None or path.ndim != 2 or path.shape[1] < 2 or path.dtype.kind == "c":
            continue
        if not len(path) or len(paths) == MAX_DIRAC_SEEDS:
            continue
        path = path.astype(np.float64)
        rows = np.arange(len(path))
        if len(rows) > MAX_PATH_ROWS:
            rows = np.unique(np.round(np.linspace(0, len(path) - 1, MAX_PATH_ROWS)).astype(int))
        theta, psi = path[rows, 0], path[rows, path.shape[1] // 2]
        # the stored row i holds the parameters after step i (row 0: the initial values)
        paths.append(np.stack([rows.astype(np.float64), theta, psi], axis=1))
        seeds.append(int(run["seed"]))
        finite = np.concatenate([theta, psi])
        finite = finite[np.isfinite(finite)]
        if finite.size:
            lim = max(lim, float(np.max(np.abs(finite))))
    if not paths:
        return None
    steps = sorted({int(s) for p in paths for s in p[:, 0]})
    lim = min(max(lim, 0.5) * 1.1, 10.0)
    return Panel(str(variant), seeds, steps, paths=paths, lim=lim)


# --------------------------------------------------------------------------- encoding


def quantise_points(points: np.ndarray, extent: tuple[float, float, float, float]) -> np.ndarray:
    """(n, 2) points as int16 codes over ``extent`` (see the module docstring).

    >>> quantise_points(np.array([[0.0, 1.0], [np.nan, -3.0]]), (-1.0, 1.0, -1.0, 1.0)).tolist()
    [[0, 16384], [-32768, -32767]]
    """
    x_lo, x_hi, y_lo, y_hi = extent
    centre = np.array([(x_lo + x_hi) / 2, (y_lo + y_hi) / 2])
    half = np.array([(x_hi - x_lo) / 2, (y_hi - y_lo) / 2])
    points = np.asarray(points, np.float64)
    with np.errstate(all="ignore"):
        codes = np.round((points - centre) / half * QUANT)
        codes = np.clip(codes, -32767, 32767)
    codes[~np.isfinite(points)] = MISSING
    return codes.astype("<i2")


def dequantise_points(codes: np.ndarray, extent: tuple[float, float, float, float]) -> np.ndarray:
    """The points that int16 ``codes`` stand for (NaN for :data:`MISSING`)."""
    x_lo, x_hi, y_lo, y_hi = extent
    centre = np.array([(x_lo + x_hi) / 2, (y_lo + y_hi) / 2])
    half = np.array([(x_hi - x_lo) / 2, (y_hi - y_lo) / 2])
    points = centre + codes.astype(np.float64) / QUANT * half
    points[codes == MISSING] = np.nan
    return points


def quantise_heat(grid: np.ndarray, clim: tuple[float, float]) -> np.ndarray:
    """D's grid as uint8 codes: 0-254 over ``clim`` (values outside it saturate), 255 where
    not finite.

    >>> quantise_heat(np.array([[0.0, 0.5, 2.0, np.nan]]), (0.0, 1.0)).tolist()
    [[0, 127, 254, 255]]
    """
    low, high = clim
    with np.errstate(all="ignore"):
        scaled = np.round((np.clip(grid, low, high) - low) / (high - low) * _HEAT_LEVELS)
    scaled = np.where(np.isfinite(scaled), scaled, 0)  # an overflowing range: the low colour
    codes = np.where(np.isfinite(grid), scaled, 255)
    return codes.astype(np.uint8)


def colour_table() -> np.ndarray:
    """(256, 3) uint8 colours of the heat-map codes: matplotlib's RdBu_r at 75% opacity over
    white (as the static samples figure draws D), and white for code 255."""
    import matplotlib

    rgb = matplotlib.colormaps["RdBu_r"](np.linspace(0.0, 1.0, _HEAT_LEVELS + 1))[:, :3]
    table = np.ones((256, 3))
    table[: _HEAT_LEVELS + 1] = 0.75 * rgb + 0.25
    return np.round(table * 255).astype(np.uint8)


def encode(player: Player) -> dict[str, Any]:
    """The player's data as the page embeds it (JSON-ready; arrays base64, see the module
    docstring)."""
    data: dict[str, Any] = {"kind": player.kind, "steps": player.steps, "panels": []}
    if player.kind == "samples":
        data["lut"] = _b64(colour_table())
        data["quant"] = QUANT
    for panel in player.panels:
        entry: dict[str, Any] = {"label": panel.variant, "seeds": panel.seeds, "steps": panel.steps}
        if player.kind == "samples":
            entry.update(_encode_samples(panel))
            if any(panel.stats):
                entry["stats"] = panel.stats
        elif player.kind == "images":
            entry["png"] = [base64.b64encode(png).decode("ascii") for png in panel.images]
        else:
            entry["lim"] = panel.lim
            entry["paths"] = [_b64(path.astype("<f4")) for path in panel.paths]
        data["panels"].append(entry)
    return data


def _encode_samples(panel: Panel) -> dict[str, Any]:
    shapes = [f.heat.shape for f in panel.frames if f.heat is not None]
    shape = shapes[0] if shapes else None
    heats, clims = [], []
    for frame in panel.frames:
        if shape is not None and frame.heat is not None and frame.heat.shape == shape:
            heats.append(quantise_heat(frame.heat, frame.clim))
            clims.append([float(v) for v in frame.clim])
        elif shape is not None:
            heats.append(np.full(shape, 255, np.uint8))
            clims.append(None)
    codes = [quantise_points(f.points, panel.extent) for f in panel.frames]
    return {
        "extent": [float(v) for v in panel.extent],
        "means": [[round(float(x), 6), round(float(y), 6)] for x, y in panel.means],
        "n": [len(c) for c in codes],
        "points": _b64(np.concatenate(codes) if codes else np.zeros((0, 2), "<i2")),
        "hshape": list(shape) if shape is not None else None,
        "clim": clims,
        "heat": _b64(np.stack(heats)) if heats else None,
    }


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def to_json(player: Player) -> str:
    """:func:`encode` as JSON that is safe inside a ``<script>`` element (``<``, ``>`` and ``&``
    escaped, so no name from a results folder can close the element)."""
    text = json.dumps(encode(player), separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --------------------------------------------------------------------------- the page


def player_html(player: Player, anchor: str) -> str:
    """One player as an HTML ``<section id="player-<anchor>">``: controls, a caption and its
    data; :data:`PLAYER_SCRIPT` (once per page) draws it, and sets ``data-ready`` ("1" once its
    frames decoded), ``data-frame`` and ``data-step`` on the section, and
    ``<body data-players-loaded="k/n">`` once all n players finished (k decoded)."""
    last = max(len(player.steps) - 1, 0)
    speeds = "".join(
        f'<option value="{fps}"{" selected" * (fps == 4)}>{fps} / s</option>'
        for fps in (1, 2, 4, 8, 16)
    )
    return (
        f'<section class="gb-player" id="player-{html_text(anchor)}" data-kind="{player.kind}" '
        'data-ready="0" data-frame="" data-step="">'
        f"<h4>{html_text(player.title)}</h4>"
        '<div class="gb-controls"><button type="button" class="gb-play">play</button> '
        f'<input type="range" class="gb-slider" min="0" max="{last}" step="1" value="{last}" '
        'aria-label="evaluation"> <span class="gb-step"></span> '
        f'<label>speed <select class="gb-speed" aria-label="frames per second">{speeds}'
        "</select></label></div>"
        '<div class="gb-panels"></div>'
        f'<p class="notes">{html_text(player.caption)}</p>'
        f'<script type="application/json" class="gb-data">{to_json(player)}</script>'
        "</section>"
    )


PLAYER_CSS = """
.gb-player { background: #fff; border: 1px solid #e3e3e3; padding: 10px; margin: 14px 0 24px; }
.gb-player h4 { margin: 0 0 8px; }
.gb-controls { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.gb-slider { width: 320px; } .gb-step { font-variant-numeric: tabular-nums; min-width: 13em; }
.gb-panels { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 8px; }
.gb-panel { font-size: 12px; color: #333; }
.gb-panel canvas { display: block; border: 1px solid #ddd; image-rendering: pixelated; }
"""

PLAYER_SCRIPT = (resources.files("ganbench.report") / "player.js").read_text(encoding="utf-8")
"""The page's player script (ganbench/report/player.js), inlined once per page that has
players."""
