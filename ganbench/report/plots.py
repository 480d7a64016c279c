"""Figures of a results folder (matplotlib, drawn off-screen).

Every figure is built from the results layout only (metrics.parquet, samples.npz, manifest.json)
and states the number of seeds behind it. :func:`figures` decides which figures a folder
supports and returns them as :class:`Figure` records; :func:`write_figures` saves them as PNG or
SVG files and the HTML report embeds them.

- ``curves``: per suite and grid point, one panel per metric over training steps, a line per
  variant with the mean over seeds and a band of one standard deviation (the legend gives the
  number of seeds).
- ``samples``: 2-D data: generated samples of one seed at up to five evaluations, over the
  discriminator's output on the plane (a heat map) and the mode centres (crosses).
- ``modes``: the per-mode histogram of high-quality samples at the final evaluation, the mean
  over seeds per variant, against the data's mode weights.
- ``dirac``: Dirac-GAN trajectories in the (theta, psi) plane, every seed, with the equilibrium
  (Mescheder et al. 2018, Figure 1).
- ``spectrum``: eigenvalues (or Ritz values) of the game's Jacobian at the last evaluation in the
  complex plane, every seed (Mescheder et al. 2017, Figure 2).
- ``images``: image runs: the grid of generated samples (``samples_step_<N>.png``) of each
  variant's lowest seed at the last evaluation.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ganbench.fileio import atomic_write_bytes, read_bounded
from ganbench.metrics import catalog
from ganbench.metrics import names as M
from ganbench.results.layout import COMPLETED, MANIFEST, MAX_MANIFEST_BYTES
from ganbench.results.read import Results, read_sample_rows, sample_shapes

SAMPLES_FILE = "samples.npz"

CURVE_METRICS = catalog.CURVE_METRICS
"""Metrics drawn as curves when recorded, in panel order."""

KINDS = ("curves", "samples", "modes", "dirac", "spectrum", "images")
FORMATS = ("png", "svg")
MAX_SNAPSHOTS = 5
MAX_VARIANTS_PER_FIGURE = 16
_DPI = 110
MAX_SLUG = 150
"""Longest figure file name stem (file systems take 255 bytes)."""


@dataclass
class Figure:
    """One figure: what it shows, where it belongs, and the matplotlib figure."""

    kind: str
    suite: str
    point: dict[str, Any]  # dataset and grid values
    title: str
    caption: str
    figure: Any  # matplotlib.figure.Figure

    @property
    def slug(self) -> str:
        parts = [self.suite, *(f"{k}-{v}" for k, v in self.point.items()), self.kind]
        slug = file_stem(parts)
        if len(slug) > MAX_SLUG:  # long names from a results folder: keep file names legal
            digest = hashlib.sha256(slug.encode()).hexdigest()[:12]
            slug = f"{slug[: MAX_SLUG - 30]}-{digest}__{self.kind}"
        return slug

    def to_bytes(self, fmt: str = "png") -> bytes:
        buf = io.BytesIO()
        self.figure.savefig(buf, format=fmt, dpi=_DPI, bbox_inches="tight")
        return buf.getvalue()


def file_stem(parts: Iterable[Any]) -> str:
    """A file name stem from names of a results folder: runs of other characters than
    ``[A-Za-z0-9_.=-]`` become ``_``, and so do leading dots (a suite named ``.x`` must not
    write hidden files, nor ``..`` name a parent)."""
    stem = re.sub(r"[^A-Za-z0-9_.=-]+", "_", "__".join(str(p) for p in parts))
    dots = len(stem) - len(stem.lstrip("."))
    return "_" * dots + stem[dots:]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def figures(
    results: Results, kinds: Iterable[str] = KINDS, notes: list[str] | None = None
) -> list[Figure]:
    """Every figure of ``kinds`` that the results support, by suite and grid point. Each
    figure reads a bounded part of the stored samples (:class:`_Samples`); ``notes``, when
    given, receives a line per stored array that was cut or left out."""
    from ganbench.report.select import group_columns
    from ganbench.report.summary import curves

    kinds = list(kinds)
    out: list[Figure] = []
    point_keys = [k for k in group_columns(results) if k not in ("suite", "variant")]
    available = set(results.metrics["metric"].unique())
    curve_metrics = [m for m in CURVE_METRICS if m in available]
    # Reference rows (floor, data, chance) hold one final value each: no curve to draw.
    trained = results.only(
        set(results.runs.loc[~results.runs["variant"].map(M.is_reference), "run_id"])
    )
    trajectories = (
        curves(trained, curve_metrics)
        if curve_metrics and "curves" in kinds and len(trained.runs)
        else None
    )
    for (suite, *values), runs in results.runs.groupby(
        ["suite", *point_keys], sort=False, dropna=False
    ):
        point = {k: v for k, v in zip(point_keys, values, strict=True) if not _missing(v)}
        if trajectories is not None:
            mask = trajectories["suite"] == suite
            for k, v in zip(point_keys, values, strict=True):
                mask &= trajectories[k].isna() if _missing(v) else trajectories[k] == v
            if mask.any():
                out.append(_curves_figure(trajectories[mask], runs, suite, point))
        samples = _Samples(runs)
        # Reference rows keep no snapshots: a row of empty panels each in the sample grid.
        drawn = _Samples(runs[~runs["variant"].map(M.is_reference)])
        if "samples" in kinds and drawn.has_snapshots:
            fig = _samples_figure(drawn, suite, point)
            if fig is not None:
                out.append(fig)
        if "modes" in kinds:
            fig = _modes_figure(results, runs, samples, suite, point)
            if fig is not None:
                out.append(fig)
        if "dirac" in kinds and samples.has("trajectory"):
            out.append(_dirac_figure(samples, suite, point))
        if "spectrum" in kinds and samples.has_prefix("eigenvalues_step_"):
            out.append(_spectrum_figure(samples, suite, point))
        if "images" in kinds:
            fig = _images_figure(samples, suite, point)
            if fig is not None:
                out.append(fig)
        if notes is not None:
            notes += [n for n in [*drawn.notes, *samples.notes] if n not in notes]
    return out


def write_figures(figs: list[Figure], folder: Path, fmt: str = "png") -> list[Path]:
    """Save each figure as ``<folder>/<slug>.<fmt>`` (atomically); returns the paths. Names
    from a results folder can sanitise to the same slug ('a/b' and 'a?b' both give 'a_b'): the
    later figures get '-2', '-3', ... rather than overwrite the earlier."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    taken: set[str] = set()
    for fig in figs:
        name, n = fig.slug, 1
        while name in taken:
            n += 1
            name = f"{fig.slug}-{n}"
        taken.add(name)
        paths.append(atomic_write_bytes(folder / f"{name}.{fmt}", fig.to_bytes(fmt)))
    return paths


def close(figs: list[Figure]) -> None:
    plt = _pyplot()
    for fig in figs:
        plt.close(fig.figure)


# --------------------------------------------------------------------------- run files


MAX_FIGURE_POINTS = 10_000
"""Most samples of one evaluation a figure reads and draws (ganbench stores 2,500 by default)."""
MAX_GRID_CELLS = 256 * 256
"""Largest D grid read (ganbench stores 64 x 64); a larger one is left out."""
MAX_TRAJECTORY_ROWS = 20_000
"""Most rows of a Dirac-GAN trajectory read, evenly spread over it (first and last kept)."""
MAX_EIGENVALUES = 1 << 16
"""Most eigenvalues of one evaluation read (the Dirac-GAN has 2; dense spectra thousands)."""


class _Samples:
    """Bounded, lazy access to the samples.npz and manifest.json of a set of runs.

    Results folders are untrusted: only each archive's index and its arrays' headers are read
    up front, and an array is read when a figure asks for it, bounded whatever the file holds
    (:func:`ganbench.results.read.read_sample_rows`): at most :data:`MAX_FIGURE_POINTS` samples
    of an evaluation (its first ones: ganbench stores independent draws, so they are a random
    subset), a D grid of at most :data:`MAX_GRID_CELLS` cells, a trajectory of at most
    :data:`MAX_TRAJECTORY_ROWS` rows spread over it. A file that cannot be read counts as
    holding no samples; nothing is unpickled. ``notes`` says which stored arrays were cut.
    """

    def __init__(self, runs: pd.DataFrame) -> None:
        self.runs = runs.reset_index(drop=True)
        self._shapes: dict[str, dict[str, tuple[tuple[int, ...], np.dtype]]] = {}
        self._cache: dict[tuple[str, str, int], np.ndarray | None] = {}
        self._notes: list[str] = []
        self._cut: dict[str, tuple[set[str], int]] = {}  # path -> sample arrays cut, most rows
        for path in dict.fromkeys(self.runs["path"]):
            self._shapes[path] = sample_shapes(path)

    def has(self, key: str) -> bool:
        return any(key in keys for keys in self._shapes.values())

    def has_prefix(self, prefix: str) -> bool:
        return any(k.startswith(prefix) for keys in self._shapes.values() for k in keys)

    @property
    def has_snapshots(self) -> bool:
        return self.has_prefix("step_")

    def has_snapshots_in(self, path: str) -> bool:
        """Whether the run at ``path`` stored generated samples of some evaluation."""
        return any(k.startswith("step_") for k in self._shapes.get(path, {}))

    def load(self, path: str) -> _Arrays:
        return _Arrays(self, path)

    def array(self, path: str, key: str, max_rows: int | None = None) -> np.ndarray | None:
        """Array ``key`` of the run at ``path``, bounded as the class says; None when absent,
        too large or unreadable."""
        shapes = self._shapes.get(path, {})
        if key not in shapes:
            return None
        shape, _ = shapes[key]
        spread = False
        if key.startswith("step_") or key in ("final", "final_ema"):
            rows = MAX_FIGURE_POINTS if max_rows is None else min(max_rows, MAX_FIGURE_POINTS)
        elif key.startswith("d_grid_step_"):
            if math.prod(shape) > MAX_GRID_CELLS:
                self._note(path, f"{key} has {math.prod(shape):,} cells; not drawn (at most "
                           f"{MAX_GRID_CELLS:,})")  # fmt: skip
                return None
            rows = shape[0] if shape else 1
        elif key == "trajectory":
            rows, spread = MAX_TRAJECTORY_ROWS, True
        elif key.startswith("eigenvalues_step_"):
            rows = MAX_EIGENVALUES
        else:
            rows = max_rows if max_rows is not None else 1 << 16
        cached = (path, key, rows)
        if cached not in self._cache:
            array, n = read_sample_rows(path, key, max_rows=rows, spread=spread)
            if array is not None and not _numeric(array):
                array = None
            if array is not None and array.ndim and n > len(array):
                if key.startswith("step_") or key in ("final", "final_ema"):
                    arrays, most = self._cut.get(path, (set(), 0))
                    self._cut[path] = (arrays | {key}, max(most, n))
                elif spread:
                    self._note(path, f"{key} holds {n:,} rows; drawn from {len(array):,} "
                               "spread over it")  # fmt: skip
            self._cache[cached] = array
        return self._cache[cached]

    def _note(self, path: str, text: str) -> None:
        note = f"{Path(path) / SAMPLES_FILE}: {text}"
        if note not in self._notes:
            self._notes.append(note)

    @property
    def notes(self) -> list[str]:
        """One line per file whose arrays were cut or left out."""
        cut = [
            f"{Path(path) / SAMPLES_FILE}: {len(arrays)} evaluation(s) hold up to {most:,} "
            f"samples each; figures and players draw at most the first {MAX_FIGURE_POINTS:,} "
            "(independent draws: a random subset)"
            for path, (arrays, most) in self._cut.items()
        ]
        return [*cut, *self._notes]

    def cut(self, path: str, key: str) -> int | None:
        """The number of stored rows of ``key`` when a figure reads fewer, else None."""
        shape = self._shapes.get(path, {}).get(key, ((0,), None))[0]
        n = shape[0] if shape else 1
        return n if n > MAX_FIGURE_POINTS else None

    def manifest(self, path: str) -> dict[str, Any]:
        try:
            manifest = json.loads(read_bounded(Path(path) / MANIFEST, MAX_MANIFEST_BYTES))
        except (OSError, ValueError, RecursionError):
            return {}
        return manifest if isinstance(manifest, dict) else {}

    def by_variant(self) -> list[tuple[str, pd.DataFrame]]:
        return list(self.runs.groupby("variant", sort=False))


class _Arrays:
    """The arrays of one run's samples.npz as a read-only mapping whose values are read, bounded,
    on access (:meth:`_Samples.array`)."""

    def __init__(self, samples: _Samples, path: str) -> None:
        self._samples, self._path = samples, path
        self._keys = list(samples._shapes.get(path, {}))

    def __iter__(self):
        return iter(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __getitem__(self, key: str) -> np.ndarray:
        array = self.get(key)
        if array is None:
            raise KeyError(key)
        return array

    def get(self, key: str, default: Any = None, *, rows: int | None = None) -> Any:
        array = self._samples.array(self._path, key, rows)
        return default if array is None else array


def _numeric(array: np.ndarray) -> bool:
    """Arrays the figures can draw: booleans, integers, floats and complex numbers."""
    return isinstance(array, np.ndarray) and array.dtype.kind in "biufc"


def _points(array: np.ndarray | None) -> np.ndarray | None:
    """A stored (n, 2+) array of 2-D points as float64, or None when it is not one."""
    if array is None or array.ndim != 2 or array.shape[1] < 2 or array.dtype.kind == "c":
        return None
    return array.astype(np.float64)


def _extent(array: np.ndarray | None) -> tuple[float, float, float, float] | None:
    """A stored (x_lo, x_hi, y_lo, y_hi) with finite, increasing bounds, or None."""
    if array is None or array.shape != (4,) or array.dtype.kind == "c":
        return None
    x_lo, x_hi, y_lo, y_hi = (float(v) for v in array)
    ok = all(math.isfinite(v) for v in (x_lo, x_hi, y_lo, y_hi)) and x_lo < x_hi and y_lo < y_hi
    return (x_lo, x_hi, y_lo, y_hi) if ok else None


def _steps_of(keys: Iterable[str], prefix: str) -> list[int]:
    return sorted(int(k[len(prefix) :]) for k in keys if re.fullmatch(rf"{prefix}\d{{1,15}}", k))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _mpl(text: str) -> str:
    """Text for a matplotlib label: names and grid values come from results folders, and a '$'
    in them must not start mathtext (a malformed formula fails when the figure is drawn)."""
    return text.replace("$", r"\$")


def _point_text(suite: str, point: dict[str, Any]) -> str:
    where = ", ".join(f"{k}={v}" for k, v in point.items())
    return f"{suite}" + (f" · {where}" if where else "")


def _seeds_text(runs: pd.DataFrame) -> str:
    counts = runs.groupby("variant", sort=False)["seed"].nunique()
    low, high = int(counts.min()), int(counts.max())
    return f"{low} seed{'s' * (low != 1)}" if low == high else f"{low}-{high} seeds"


def _grid_shape(n: int, max_cols: int = 4) -> tuple[int, int]:
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def _panels(n: int, width: float, height: float):
    """A figure with ``n`` panels, up to four per row, each ``width`` x ``height`` inches; the
    unused cells of the last row are blank."""
    plt = _pyplot()
    rows, cols = _grid_shape(n)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return fig, axes


def _finish(fig, title: str) -> None:
    fig.suptitle(_mpl(title), fontsize=10)
    fig.tight_layout()


# --------------------------------------------------------------------------- figures


def _curves_figure(table: pd.DataFrame, runs: pd.DataFrame, suite: str, point: dict) -> Figure:
    plt = _pyplot()
    metrics = list(dict.fromkeys(table["metric"]))
    fig, axes = _panels(len(metrics), 3.6, 2.7)
    variants = list(dict.fromkeys(runs["variant"]))[:MAX_VARIANTS_PER_FIGURE]
    colours = plt.get_cmap("tab10" if len(variants) <= 10 else "tab20")
    seeds = runs.groupby("variant", sort=False)["seed"].nunique()
    for ax, metric in zip(axes.flat, metrics, strict=False):
        rows_m = table[table["metric"] == metric]
        for i, variant in enumerate(variants):
            line = rows_m[rows_m["variant"] == variant]
            if line.empty:
                continue
            colour = colours(i % colours.N)
            steps = line["step"].to_numpy()
            mean, std = line["mean"].to_numpy(), line["std"].to_numpy()
            ax.plot(
                steps, mean, color=colour, lw=1.4, label=_mpl(f"{variant} (n={seeds[variant]})")
            )
            band = np.nan_to_num(std)
            ax.fill_between(steps, mean - band, mean + band, color=colour, alpha=0.18, lw=0)
        direction = catalog.higher_is_better(metric.removesuffix("_mean"))
        arrow = "" if direction is None else (" ↑" if direction else " ↓")
        ax.set_title(metric + arrow, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if metric in (M.FD, M.EQ_DISTANCE) and (rows_m["mean"] > 0).all():
            ax.set_yscale("log")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8,
               bbox_to_anchor=(0.5, -0.02 - 0.03 * math.ceil(len(labels) / 4)))  # fmt: skip
    title = f"{_point_text(suite, point)}: metrics over training"
    fig.suptitle(_mpl(f"{title} (mean ± 1 std over {_seeds_text(runs)})"), fontsize=10)
    fig.tight_layout()
    caption = (
        f"Lines: mean over seeds at each evaluation; bands: ± one sample standard deviation; "
        f"n = seeds per variant ({_seeds_text(runs)}). Diverged runs contribute the steps they "
        "recorded. ↑ higher is better, ↓ lower is better."
    )
    return Figure("curves", suite, point, title, caption, fig)


def _samples_figure(samples: _Samples, suite: str, point: dict) -> Figure | None:
    plt = _pyplot()
    groups = samples.by_variant()[:MAX_VARIANTS_PER_FIGURE]
    first = []  # each variant's lowest seed that stored snapshots
    for variant, runs in groups:
        for _, run in runs.sort_values("seed").iterrows():
            if samples.has_snapshots_in(run["path"]):
                first.append((variant, run))
                break
    all_steps = sorted(
        {s for _, run in first for s in _steps_of(samples.load(run["path"]), "step_")}
    )
    if not all_steps:
        return None
    shown = _spread(all_steps, MAX_SNAPSHOTS)
    fig, axes = plt.subplots(
        len(first), len(shown), figsize=(2.3 * len(shown), 2.3 * len(first)), squeeze=False
    )
    shown_n: set[int] = set()
    for r, (variant, run) in enumerate(first):
        data = samples.load(run["path"])
        means = _means(samples.manifest(run["path"]))
        extent = _extent(data.get("d_grid_extent"))
        for c, step in enumerate(shown):
            ax = axes[r, c]
            grid = data.get(f"d_grid_step_{step}")
            if (
                grid is not None
                and grid.ndim == 2
                and grid.dtype.kind != "c"
                and extent is not None
            ):
                grid = grid.astype(np.float64)
                low, high = _clim(grid)
                ax.imshow(grid, origin="lower", extent=extent, cmap="RdBu_r", alpha=0.75,
                          aspect="auto", vmin=low, vmax=high)  # fmt: skip
            x = _points(data.get(f"step_{step}"))
            if x is not None and x.size:
                shown_n.add(int(x.shape[0]))
                ax.scatter(x[:, 0], x[:, 1], s=1.5, c="k", alpha=0.5, lw=0, rasterized=True)
            if means.size:
                ax.scatter(means[:, 0], means[:, 1], s=18, marker="x", c="#e6550d", lw=1)
            if extent is not None:
                ax.set_xlim(extent[0], extent[1])
                ax.set_ylim(extent[2], extent[3])
            elif means.size:
                pad = 0.25 * float(np.ptp(means)) + 0.5
                ax.set_xlim(means[:, 0].min() - pad, means[:, 0].max() + pad)
                ax.set_ylim(means[:, 1].min() - pad, means[:, 1].max() + pad)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"step {step}", fontsize=9)
            if c == 0:
                ax.set_ylabel(_mpl(f"{variant}\nseed {run['seed']}"), fontsize=8)
    title = f"{_point_text(suite, point)}: generated samples"
    _finish(fig, title)
    counts = ", ".join(str(n) for n in sorted(shown_n)) or "no"
    stored = [n for variant, run in first for step in shown
              if (n := samples.cut(run["path"], f"step_{step}")) is not None]  # fmt: skip
    cut = (
        f" (the first {MAX_FIGURE_POINTS:,} of up to {max(stored):,} stored: ganbench stores "
        "independent draws, so they are a random subset)"
        if stored
        else ""
    )
    caption = (
        f"One seed per variant (the lowest with stored samples): {counts}{cut} generated samples per "
        "panel (dots) at evaluations spread over training, over the discriminator's output on the plane (red: "
        "higher D, blue: lower; each panel's colour scale spans its 1st to 99th percentile, since only D's shape "
        "matters for some losses) and the mode centres (crosses)."
    )
    return Figure("samples", suite, point, title, caption, fig)


def _means(manifest: dict[str, Any]) -> np.ndarray:
    """The dataset's mode centres from a manifest, as (K, 2); empty when absent or malformed."""
    dataset = manifest.get("dataset")
    try:
        means = np.asarray(dataset.get("means", []), np.float64).reshape(-1, 2)
    except (AttributeError, TypeError, ValueError, OverflowError):
        return np.zeros((0, 2))
    return means[np.isfinite(means).all(axis=1)]


def _weights(manifest: dict[str, Any]) -> np.ndarray:
    """The dataset's mode weights from a manifest; empty when absent or malformed."""
    dataset = manifest.get("dataset")
    try:
        weights = np.asarray(dataset.get("weights", []), np.float64).reshape(-1)
    except (AttributeError, TypeError, ValueError, OverflowError):
        return np.zeros(0)
    return weights if np.isfinite(weights).all() else np.zeros(0)


def _clim(grid: np.ndarray) -> tuple[float, float]:
    finite = grid[np.isfinite(grid)]
    if not finite.size:
        return -1.0, 1.0
    low, high = (float(v) for v in np.percentile(finite, [1, 99]))
    return (low, high) if high > low else (low - 1.0, high + 1.0)


def _spread(values: list[int], k: int) -> list[int]:
    if len(values) <= k:
        return values
    idx = np.unique(np.round(np.linspace(0, len(values) - 1, k)).astype(int))
    return [values[i] for i in idx]


def _modes_figure(
    results: Results, runs: pd.DataFrame, samples: _Samples, suite: str, point: dict
) -> Figure | None:
    from ganbench.report.select import final_values

    metrics = results.metrics
    run_ids = set(runs["run_id"])
    counts = metrics[
        metrics["run_id"].isin(run_ids)
        & metrics["metric"].str.fullmatch(rf"{re.escape(M.MODE_COUNT_PREFIX)}\d{{1,4}}")
        & (metrics["suite"] == suite)
        & (metrics["status"] == COMPLETED)
    ]
    if counts.empty:
        return None
    finals = final_values(results.only(run_ids), sorted(set(counts["metric"])))
    finals = finals[finals["suite"] == suite]
    finals = finals.assign(mode=finals["metric"].str.slice(len(M.MODE_COUNT_PREFIX)).astype(int))
    n_modes = int(finals["mode"].max()) + 1
    weights = _weights(samples.manifest(runs.iloc[0]["path"]))
    variants = list(dict.fromkeys(runs["variant"]))[:MAX_VARIANTS_PER_FIGURE]
    fig, axes = _panels(len(variants), 3.6, 2.3)
    for ax, variant in zip(axes.flat, variants, strict=False):
        mine = finals[finals["variant"] == variant]
        table = mine.pivot_table(index="mode", columns="run_id", values="value")
        table = table.reindex(range(n_modes))
        mean = table.mean(axis=1).to_numpy()
        total = np.nansum(mean)
        ax.bar(range(n_modes), mean, color="#3182bd", width=0.8)
        if weights.size == n_modes and total > 0:
            ax.step(np.arange(n_modes + 1) - 0.5, np.append(weights, weights[-1]) * total,
                    where="post", color="#e6550d", lw=1)  # fmt: skip
        ax.set_title(_mpl(f"{variant} (n={table.shape[1]})"), fontsize=9)
        ax.set_xlabel("mode", fontsize=8)
        ax.tick_params(labelsize=7)
    title = f"{_point_text(suite, point)}: high-quality samples per mode"
    _finish(fig, title)
    caption = (
        "Bars: high-quality samples assigned to each mode at the final evaluation, mean over the "
        "completed seeds (n per panel); line: the count each mode would get under the data's "
        "mode weights with the same total."
    )
    return Figure("modes", suite, point, title, caption, fig)


def _dirac_figure(samples: _Samples, suite: str, point: dict) -> Figure:
    groups = samples.by_variant()[:MAX_VARIANTS_PER_FIGURE]
    fig, axes = _panels(len(groups), 3.0, 3.0)
    for ax, (variant, runs) in zip(axes.flat, groups, strict=False):
        lim = 0.0
        for _, run in runs.sort_values("seed").iterrows():
            path = samples.load(run["path"]).get("trajectory")
            if path is None or path.ndim != 2 or path.shape[1] < 2 or path.dtype.kind == "c":
                continue
            theta, psi = path[:, 0], path[:, path.shape[1] // 2]
            finite = np.isfinite(theta) & np.isfinite(psi)
            theta, psi = theta[finite], psi[finite]
            if not theta.size:
                continue
            ax.plot(theta, psi, lw=0.8, alpha=0.8)
            ax.plot(theta[:1], psi[:1], "o", ms=3, color="k")
            lim = max(lim, float(np.max(np.abs(theta))), float(np.max(np.abs(psi))))
        lim = min(max(lim, 0.5) * 1.1, 10.0)
        ax.plot([0], [0], "*", ms=9, color="#e6550d")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(_mpl(f"{variant} (n={runs['seed'].nunique()})"), fontsize=9)
        ax.set_xlabel("θ", fontsize=8)
        ax.set_ylabel("ψ", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    title = f"{_point_text(suite, point)}: Dirac-GAN trajectories"
    _finish(fig, title)
    caption = (
        "The generator's θ and the discriminator's ψ at every step, one line per seed from its "
        "start (dot); the star is the equilibrium (θ, ψ) = (0, 0). Axes clipped to ±10."
    )
    return Figure("dirac", suite, point, title, caption, fig)


def _spectrum_figure(samples: _Samples, suite: str, point: dict) -> Figure:
    groups = samples.by_variant()[:MAX_VARIANTS_PER_FIGURE]
    fig, axes = _panels(len(groups), 3.0, 2.8)
    for ax, (variant, runs) in zip(axes.flat, groups, strict=False):
        step = None
        for _, run in runs.sort_values("seed").iterrows():
            data = samples.load(run["path"])
            steps = _steps_of(data, "eigenvalues_step_")
            if not steps:
                continue
            step = steps[-1]
            eigs = data.get(f"eigenvalues_step_{step}")
            if eigs is None:
                continue
            eigs = np.asarray(eigs).astype(np.complex128)
            eigs = eigs[np.isfinite(eigs)]
            ax.scatter(eigs.real, eigs.imag, s=16, alpha=0.7, lw=0)
        ax.axvline(0.0, color="#e6550d", lw=0.8)
        ax.axhline(0.0, color="0.6", lw=0.5)
        where = f", step {step}" if step is not None else ""
        ax.set_title(_mpl(f"{variant} (n={runs['seed'].nunique()}{where})"), fontsize=9)
        ax.set_xlabel("Re λ", fontsize=8)
        ax.set_ylabel("Im λ", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    title = f"{_point_text(suite, point)}: Jacobian eigenvalues"
    _finish(fig, title)
    caption = (
        "Eigenvalues (metrics.spectrum = 'dense', and the Dirac-GAN) or Ritz values ('iterative') "
        "of the Jacobian of the game's vector field at the last evaluation, every seed (colours). "
        "Eigenvalues right of the vertical line (Re λ > 0) push plain gradient steps away from "
        "the stationary point; large |Im λ| relative to |Re λ| means rotation (Mescheder et al. "
        "2017)."
    )
    return Figure("spectrum", suite, point, title, caption, fig)


def _images_figure(samples: _Samples, suite: str, point: dict) -> Figure | None:
    grids = []
    for variant, runs in samples.by_variant()[:MAX_VARIANTS_PER_FIGURE]:
        run = runs.sort_values("seed").iloc[0]
        steps = _steps_of(
            (p.stem for p in Path(run["path"]).glob("samples_step_*.png")), "samples_step_"
        )
        if steps:
            path = Path(run["path"]) / f"samples_step_{steps[-1]}.png"
            if not path.is_file():  # also not a FIFO, which would block
                continue
            try:
                image = _pyplot().imread(path)
            except Exception:  # an unreadable or corrupt PNG (PIL and OSError types): no grid
                continue
            grids.append((variant, int(run["seed"]), steps[-1], image))
    if not grids:
        return None
    fig, axes = _panels(len(grids), 3.0, 3.2)
    for ax, (variant, seed, step, image) in zip(axes.flat, grids, strict=False):
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
        ax.set_title(_mpl(f"{variant}\nseed {seed}, step {step}"), fontsize=9)
        ax.axis("off")
    title = f"{_point_text(suite, point)}: generated images"
    _finish(fig, title)
    caption = (
        "64 generated images of each variant's lowest seed at its last evaluation (the run "
        "folder holds one such grid per evaluation, samples_step_<N>.png)."
    )
    return Figure("images", suite, point, title, caption, fig)
