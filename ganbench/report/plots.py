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
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ganbench.fileio import atomic_write_bytes
from ganbench.metrics import catalog
from ganbench.metrics import names as M
from ganbench.results import samples as sample_files
from ganbench.results.layout import COMPLETED
from ganbench.results.read import Results
from ganbench.results.samples import MAX_FIGURE_POINTS

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
    _rendered: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    @property
    def slug(self) -> str:
        parts = [self.suite, *(f"{k}-{v}" for k, v in self.point.items()), self.kind]
        slug = file_stem(parts)
        if len(slug) > MAX_SLUG:  # long names from a results folder: keep file names legal
            digest = hashlib.sha256(slug.encode()).hexdigest()[:12]
            slug = f"{slug[: MAX_SLUG - 30]}-{digest}__{self.kind}"
        return slug

    def to_bytes(self, fmt: str = "png") -> bytes:
        """The figure saved as ``fmt``, drawn once per format: the HTML page and ``--plots``
        share one PNG (a drawing takes 0.2-0.7 s; a figure is not changed once built)."""
        if fmt not in self._rendered:
            buf = io.BytesIO()
            self.figure.savefig(buf, format=fmt, dpi=_DPI, bbox_inches="tight")
            self._rendered[fmt] = buf.getvalue()
        return self._rendered[fmt]


def file_stem(parts: Iterable[Any]) -> str:
    """A file name stem from names of a results folder: runs of other characters than
    ``[A-Za-z0-9_.=-]`` become ``_``, and so do leading dots (a suite named ``.x`` must not
    write hidden files, nor ``..`` name a parent)."""
    stem = re.sub(r"[^A-Za-z0-9_.=-]+", "_", "__".join(str(p) for p in parts))
    dots = len(stem) - len(stem.lstrip("."))
    return "_" * dots + stem[dots:]


def load_pyplot():
    """matplotlib's pyplot on the off-screen Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def figures(
    results: Results, kinds: Iterable[str] = KINDS, notes: list[str] | None = None
) -> list[Figure]:
    """Every figure of ``kinds`` that the results support, by suite and grid point. Each
    figure reads a bounded part of the stored samples (:class:`ganbench.results.samples.Samples`); ``notes``, when
    given, receives a line per stored array that was cut or left out."""
    from ganbench.report.select import group_columns, is_missing
    from ganbench.report.summary import curves

    kinds = list(kinds)
    out: list[Figure] = []
    point_keys = [k for k in group_columns(results) if k not in ("suite", "variant")]
    available = set(results.metrics["metric"].unique())
    curve_metrics = [m for m in CURVE_METRICS if m in available]
    # Baseline rows (floor, data, chance) hold one final value each: no curve to draw.
    trained = results.only(
        set(results.runs.loc[~results.runs["variant"].map(M.is_baseline_row), "run_id"])
    )
    trajectories = (
        curves(trained, curve_metrics)
        if curve_metrics and "curves" in kinds and len(trained.runs)
        else None
    )
    for (suite, *values), runs in results.runs.groupby(
        ["suite", *point_keys], sort=False, dropna=False
    ):
        point = {k: v for k, v in zip(point_keys, values, strict=True) if not is_missing(v)}
        if trajectories is not None:
            mask = trajectories["suite"] == suite
            for k, v in zip(point_keys, values, strict=True):
                mask &= trajectories[k].isna() if is_missing(v) else trajectories[k] == v
            if mask.any():
                out.append(_curves_figure(trajectories[mask], runs, suite, point))
        samples = sample_files.Samples(runs)
        # Baseline rows keep no snapshots: a row of empty panels each in the sample grid.
        drawn = sample_files.Samples(runs[~runs["variant"].map(M.is_baseline_row)])
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
    plt = load_pyplot()
    for fig in figs:
        plt.close(fig.figure)


# --------------------------------------------------------------------------- run files


def mpl_text(text: str) -> str:
    """Text for a matplotlib label: names and grid values come from results folders, and a '$'
    in them must not start mathtext (a malformed formula fails when the figure is drawn)."""
    return text.replace("$", r"\$")


def figure_title(suite: str, point: dict[str, Any]) -> str:
    """The start of a figure's or player's title: ``suite · dataset=ring8, lr=0.001``."""
    where = ", ".join(f"{k}={v}" for k, v in point.items())
    return f"{suite}" + (f" · {where}" if where else "")


def _seeds_text(runs: pd.DataFrame) -> str:
    counts = runs.groupby("variant", sort=False)["seed"].nunique()
    low, high = int(counts.min()), int(counts.max())
    return f"{low} seed{'s' * (low != 1)}" if low == high else f"{low}-{high} seeds"


def _grid_shape(n: int, max_cols: int = 4) -> tuple[int, int]:
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def subplot_grid(n: int, width: float, height: float):
    """A figure with ``n`` panels, up to four per row, each ``width`` x ``height`` inches; the
    unused cells of the last row are blank."""
    plt = load_pyplot()
    rows, cols = _grid_shape(n)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return fig, axes


def _figure(kind: str, suite: str, point: dict, fig, what: str, caption: str) -> Figure:
    """A finished figure: titled ``<suite · point>: <what>`` and laid out."""
    title = f"{figure_title(suite, point)}: {what}"
    fig.suptitle(mpl_text(title), fontsize=10)
    fig.tight_layout()
    return Figure(kind, suite, point, title, caption, fig)


def style_panel(ax, title: str, xlabel: str, ylabel: str | None = None, *, grid: bool = False):
    """A panel's title, axis labels and tick labels in the figures' sizes; a light grid."""
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    if grid:
        ax.grid(alpha=0.3)


def variant_lines(frame: pd.DataFrame, variants: list[str]):
    """``(variant, colour, rows)`` for each of ``variants`` with rows in ``frame``; a variant keeps
    its colour (tab10, tab20 beyond ten variants) whichever panel it is drawn in."""
    plt = load_pyplot()
    colours = plt.get_cmap("tab10" if len(variants) <= 10 else "tab20")
    for i, variant in enumerate(variants):
        rows = frame[frame["variant"] == variant]
        if not rows.empty:
            yield variant, colours(i % colours.N), rows


# --------------------------------------------------------------------------- figures


def _curves_figure(table: pd.DataFrame, runs: pd.DataFrame, suite: str, point: dict) -> Figure:
    metrics = list(dict.fromkeys(table["metric"]))
    fig, axes = subplot_grid(len(metrics), 3.6, 2.7)
    variants = list(dict.fromkeys(runs["variant"]))[:MAX_VARIANTS_PER_FIGURE]
    seeds = runs.groupby("variant", sort=False)["seed"].nunique()
    for ax, metric in zip(axes.flat, metrics, strict=False):
        rows_m = table[table["metric"] == metric]
        for variant, colour, line in variant_lines(rows_m, variants):
            steps = line["step"].to_numpy()
            mean, std = line["mean"].to_numpy(), line["std"].to_numpy()
            ax.plot(
                steps, mean, color=colour, lw=1.4, label=mpl_text(f"{variant} (n={seeds[variant]})")
            )
            band = np.nan_to_num(std)
            ax.fill_between(steps, mean - band, mean + band, color=colour, alpha=0.18, lw=0)
        direction = catalog.higher_is_better(metric.removesuffix("_mean"))
        arrow = "" if direction is None else (" ↑" if direction else " ↓")
        style_panel(ax, metric + arrow, "step", grid=True)
        if metric in (M.FD, M.EQ_DISTANCE) and (rows_m["mean"] > 0).all():
            ax.set_yscale("log")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8,
               bbox_to_anchor=(0.5, -0.02 - 0.03 * math.ceil(len(labels) / 4)))  # fmt: skip
    title = f"{figure_title(suite, point)}: metrics over training"
    fig.suptitle(mpl_text(f"{title} (mean ± 1 std over {_seeds_text(runs)})"), fontsize=10)
    fig.tight_layout()
    caption = (
        f"Lines: mean over seeds at each evaluation; bands: ± one sample standard deviation; "
        f"n = seeds per variant ({_seeds_text(runs)}). Diverged runs contribute the steps they "
        "recorded. ↑ higher is better, ↓ lower is better."
    )
    return Figure("curves", suite, point, title, caption, fig)


def _samples_figure(samples: sample_files.Samples, suite: str, point: dict) -> Figure | None:
    plt = load_pyplot()
    groups = samples.by_variant()[:MAX_VARIANTS_PER_FIGURE]
    first = []  # each variant's lowest seed that stored snapshots
    for variant, runs in groups:
        for _, run in runs.sort_values("seed").iterrows():
            if samples.has_snapshots_in(run["path"]):
                first.append((variant, run))
                break
    all_steps = sorted(
        {s for _, run in first for s in sample_files.steps_of(samples.load(run["path"]), "step_")}
    )
    if not all_steps:
        return None
    shown = spread_evenly(all_steps, MAX_SNAPSHOTS)
    fig, axes = plt.subplots(
        len(first), len(shown), figsize=(2.3 * len(shown), 2.3 * len(first)), squeeze=False
    )
    shown_n: set[int] = set()
    for r, (variant, run) in enumerate(first):
        data = samples.load(run["path"])
        means = sample_files.mode_means(samples.manifest(run["path"]))
        extent = sample_files.extent(data.get("d_grid_extent"))
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
                low, high = colour_limits(grid)
                ax.imshow(grid, origin="lower", extent=extent, cmap="RdBu_r", alpha=0.75,
                          aspect="auto", vmin=low, vmax=high)  # fmt: skip
            x = sample_files.points(data.get(f"step_{step}"))
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
                ax.set_ylabel(mpl_text(f"{variant}\nseed {run['seed']}"), fontsize=8)
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
    return _figure("samples", suite, point, fig, "generated samples", caption)


def colour_limits(grid: np.ndarray) -> tuple[float, float]:
    """The colour scale of a D-output heat map: its finite values' 1st to 99th percentile."""
    finite = grid[np.isfinite(grid)]
    if not finite.size:
        return -1.0, 1.0
    low, high = (float(v) for v in np.percentile(finite, [1, 99]))
    return (low, high) if high > low else (low - 1.0, high + 1.0)


def spread_evenly(values: list[int], k: int) -> list[int]:
    """At most ``k`` of ``values``, evenly spread, first and last kept.

    >>> spread_evenly([100, 200, 300, 400, 500], 3)
    [100, 300, 500]
    """
    if len(values) <= k:
        return values
    idx = np.unique(np.round(np.linspace(0, len(values) - 1, k)).astype(int))
    return [values[i] for i in idx]


def _modes_figure(
    results: Results, runs: pd.DataFrame, samples: sample_files.Samples, suite: str, point: dict
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
    weights = sample_files.mode_weights(samples.manifest(runs.iloc[0]["path"]))
    variants = list(dict.fromkeys(runs["variant"]))[:MAX_VARIANTS_PER_FIGURE]
    fig, axes = subplot_grid(len(variants), 3.6, 2.3)
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
        style_panel(ax, mpl_text(f"{variant} (n={table.shape[1]})"), "mode")
    caption = (
        "Bars: high-quality samples assigned to each mode at the final evaluation, mean over the "
        "completed seeds (n per panel); line: the count each mode would get under the data's "
        "mode weights with the same total."
    )
    return _figure("modes", suite, point, fig, "high-quality samples per mode", caption)


def _variant_panels(samples: sample_files.Samples, width: float, height: float):
    """A figure with a panel per variant (at most :data:`MAX_VARIANTS_PER_FIGURE`), and
    ``(ax, variant, runs by seed)`` for each."""
    groups = samples.by_variant()[:MAX_VARIANTS_PER_FIGURE]
    fig, axes = subplot_grid(len(groups), width, height)
    panels = [(ax, variant, runs.sort_values("seed"))
              for ax, (variant, runs) in zip(axes.flat, groups, strict=False)]  # fmt: skip
    return fig, panels


def _dirac_figure(samples: sample_files.Samples, suite: str, point: dict) -> Figure:
    fig, panels = _variant_panels(samples, 3.0, 3.0)
    for ax, variant, runs in panels:
        lim = 0.0
        for _, run in runs.iterrows():
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
        style_panel(ax, mpl_text(f"{variant} (n={runs['seed'].nunique()})"), "θ", "ψ", grid=True)
    caption = (
        "The generator's θ and the discriminator's ψ at every step, one line per seed from its "
        "start (dot); the star is the equilibrium (θ, ψ) = (0, 0). Axes clipped to ±10."
    )
    return _figure("dirac", suite, point, fig, "Dirac-GAN trajectories", caption)


def _spectrum_figure(samples: sample_files.Samples, suite: str, point: dict) -> Figure:
    fig, panels = _variant_panels(samples, 3.0, 2.8)
    for ax, variant, runs in panels:
        step = None
        for _, run in runs.iterrows():
            data = samples.load(run["path"])
            steps = sample_files.steps_of(data, "eigenvalues_step_")
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
        style_panel(
            ax,
            mpl_text(f"{variant} (n={runs['seed'].nunique()}{where})"),
            "Re λ",
            "Im λ",
            grid=True,
        )
    caption = (
        "Eigenvalues (metrics.spectrum = 'dense', and the Dirac-GAN) or Ritz values ('iterative') "
        "of the Jacobian of the game's vector field at the last evaluation, every seed (colours). "
        "Eigenvalues right of the vertical line (Re λ > 0) push plain gradient steps away from "
        "the stationary point; large |Im λ| relative to |Re λ| means rotation (Mescheder et al. "
        "2017)."
    )
    return _figure("spectrum", suite, point, fig, "Jacobian eigenvalues", caption)


def _images_figure(samples: sample_files.Samples, suite: str, point: dict) -> Figure | None:
    grids = []
    for variant, runs in samples.by_variant()[:MAX_VARIANTS_PER_FIGURE]:
        run = runs.sort_values("seed").iloc[0]
        steps = sample_files.steps_of(
            (p.stem for p in Path(run["path"]).glob("samples_step_*.png")), "samples_step_"
        )
        if steps:
            path = Path(run["path"]) / f"samples_step_{steps[-1]}.png"
            if not path.is_file():  # also not a FIFO, which would block
                continue
            try:
                image = load_pyplot().imread(path)
            except Exception:  # an unreadable or corrupt PNG (PIL and OSError types): no grid
                continue
            grids.append((variant, int(run["seed"]), steps[-1], image))
    if not grids:
        return None
    fig, axes = subplot_grid(len(grids), 3.0, 3.2)
    for ax, (variant, seed, step, image) in zip(axes.flat, grids, strict=False):
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
        ax.set_title(mpl_text(f"{variant}\nseed {seed}, step {step}"), fontsize=9)
        ax.axis("off")
    caption = (
        "64 generated images of each variant's lowest seed at its last evaluation (the run "
        "folder holds one such grid per evaluation, samples_step_<N>.png)."
    )
    return _figure("images", suite, point, fig, "generated images", caption)
