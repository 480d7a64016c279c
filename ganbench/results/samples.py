"""Bounded reading of the stored samples of runs: ``samples.npz`` arrays and manifests.

The figures (:mod:`ganbench.report.plots`) and the HTML page's players
(:mod:`ganbench.report.player`) draw what a run stored: generated samples per evaluation
(``step_<N>``), D's output on a grid (``d_grid_step_<N>``, ``d_grid_extent``), a Dirac-GAN
trajectory, Jacobian eigenvalues, and the dataset's mode centres and weights from the manifest.
Results folders are untrusted: :class:`Samples` reads each archive's index up front and an array
only when asked, bounded whatever the file holds (through
:func:`ganbench.results.read.read_sample_rows`); the file names are those of
:mod:`ganbench.results.layout`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ganbench.fileio import read_bounded
from ganbench.results.layout import MANIFEST, MAX_MANIFEST_BYTES, SAMPLES
from ganbench.results.read import read_sample_rows, sample_shapes

MAX_FIGURE_POINTS = 10_000
"""Most samples of one evaluation a figure reads and draws (ganbench stores 2,500 by default)."""
MAX_GRID_CELLS = 256 * 256
"""Largest D grid read (ganbench stores 64 x 64); a larger one is left out."""
MAX_TRAJECTORY_ROWS = 20_000
"""Most rows of a Dirac-GAN trajectory read, evenly spread over it (first and last kept)."""
MAX_EIGENVALUES = 1 << 16
"""Most eigenvalues of one evaluation read (the Dirac-GAN has 2; dense spectra thousands)."""


class Samples:
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

    def load(self, path: str) -> SampleArrays:
        return SampleArrays(self, path)

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
        note = f"{Path(path) / SAMPLES}: {text}"
        if note not in self._notes:
            self._notes.append(note)

    @property
    def notes(self) -> list[str]:
        """One line per file whose arrays were cut or left out."""
        cut = [
            f"{Path(path) / SAMPLES}: {len(arrays)} evaluation(s) hold up to {most:,} "
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
        """The manifest of the run at ``path`` as plain JSON; ``{}`` when it cannot be read."""
        try:
            manifest = json.loads(read_bounded(Path(path) / MANIFEST, MAX_MANIFEST_BYTES))
        except (OSError, ValueError, RecursionError):
            return {}
        return manifest if isinstance(manifest, dict) else {}

    def by_variant(self) -> list[tuple[str, pd.DataFrame]]:
        return list(self.runs.groupby("variant", sort=False))


class SampleArrays:
    """The arrays of one run's samples.npz as a read-only mapping whose values are read, bounded,
    on access (:meth:`Samples.array`)."""

    def __init__(self, samples: Samples, path: str) -> None:
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


def points(array: np.ndarray | None) -> np.ndarray | None:
    """A stored (n, 2+) array of 2-D points as float64, or None when it is not one."""
    if array is None or array.ndim != 2 or array.shape[1] < 2 or array.dtype.kind == "c":
        return None
    return array.astype(np.float64)


def extent(array: np.ndarray | None) -> tuple[float, float, float, float] | None:
    """A stored (x_lo, x_hi, y_lo, y_hi) with finite, increasing bounds, or None."""
    if array is None or array.shape != (4,) or array.dtype.kind == "c":
        return None
    x_lo, x_hi, y_lo, y_hi = (float(v) for v in array)
    ok = all(math.isfinite(v) for v in (x_lo, x_hi, y_lo, y_hi)) and x_lo < x_hi and y_lo < y_hi
    return (x_lo, x_hi, y_lo, y_hi) if ok else None


def steps_of(keys: Iterable[str], prefix: str) -> list[int]:
    """The N of every ``<prefix><N>`` key, ascending (``step_100`` -> 100).

    >>> steps_of(["step_200", "step_100", "final", "step_x"], "step_")
    [100, 200]
    """
    return sorted(int(k[len(prefix) :]) for k in keys if re.fullmatch(rf"{prefix}\d{{1,15}}", k))


def mode_means(manifest: dict[str, Any]) -> np.ndarray:
    """The dataset's mode centres from a manifest, as (K, 2); empty when absent or malformed."""
    dataset = manifest.get("dataset")
    try:
        means = np.asarray(dataset.get("means", []), np.float64).reshape(-1, 2)
    except (AttributeError, TypeError, ValueError, OverflowError):
        return np.zeros((0, 2))
    return means[np.isfinite(means).all(axis=1)]


def mode_weights(manifest: dict[str, Any]) -> np.ndarray:
    """The dataset's mode weights from a manifest; empty when absent or malformed."""
    dataset = manifest.get("dataset")
    try:
        weights = np.asarray(dataset.get("weights", []), np.float64).reshape(-1)
    except (AttributeError, TypeError, ValueError, OverflowError):
        return np.zeros(0)
    return weights if np.isfinite(weights).all() else np.zeros(0)
