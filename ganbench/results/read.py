"""Read a folder of results into pandas DataFrames.

The layout read here is the results contract (DESIGN.md, "Results layout")::

    <out>/<suite name>/suite.toml
    <out>/<suite name>/runs/<run_id>/manifest.json
    <out>/<suite name>/runs/<run_id>/metrics.parquet

:func:`read_results` accepts any folder at or above run folders. Folders whose name starts with
``.`` (runs being written) are ignored silently; folders that look like runs but cannot be read are
skipped and reported in :attr:`Results.warnings`, never raised, so one broken run does not hide a
suite. Only a path that does not exist or holds no valid run raises :class:`ResultsError`.

Results folders are untrusted input: a truncated, corrupt or hostile file (JSON nested too deeply,
integers out of range, a manifest over :data:`MAX_MANIFEST_BYTES`, a link loop, a folder where a
file belongs) makes its run a skipped one, with the reason; nothing is unpickled or executed.

A baseline row measured over many draws (a chance row: its metrics.parquet has a ``draw``
column, :data:`ganbench.results.layout.DRAW`) reads as one run per draw, run id
``<run_id>/draw-<d>`` and seed ``d``, so the report averages draws as it averages seeds.

Row order (used by the report too): suites by name; within a suite, variants in the order of the
suite's ``suite.toml`` (``[[variants]]``), then grid values in the order of its ``[grid]`` lists,
then seeds ascending. Values the ``suite.toml`` does not list (or every value, when it is missing)
come after the listed ones, sorted (numbers before strings).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib import format as npy_format

from ganbench import tomlguard
from ganbench.errors import ResultsError
from ganbench.fileio import open_regular, read_bounded
from ganbench.metrics.names import EMA_PREFIX, is_baseline_row
from ganbench.results.layout import (
    COMPLETED,
    DRAW,
    DRAW_SUFFIX,
    MANIFEST,
    MAX_DRAWS,
    MAX_MANIFEST_BYTES,
    METRICS,
    PROFILE,
    RUNS_DIR,
    SAMPLES,
    SUITE_FILE,
    TRIAL,
    Manifest,
)
from ganbench.text import clip

EMA_VARIANT_SUFFIX = " (EMA G)"
"""Appended to a variant's name for the rows of its exponential-moving-average generator."""

MAX_SAMPLE_ARRAYS = 10_000
"""Most arrays a samples.npz may hold (ganbench writes one per evaluation and kind)."""
MAX_SAMPLE_BYTES = 2 << 30
"""Most bytes the arrays of one samples.npz may hold, by their headers (ganbench's largest,
Stacked MNIST's final images, are tens of MiB)."""
MAX_METRIC_ROWS = 10_000_000
"""Most rows of one metrics.parquet, by its footer (ganbench writes hundreds to thousands)."""
RUN_COLUMNS = (
    "suite",
    "variant",
    "run_id",
    "seed",
    "trial",
    "status",
    "step",
    "diverged_at",
    "dataset",
)
"""Identity and outcome columns of :attr:`Results.runs`; grid-key columns follow them.
``trial`` (nullable Int64) is the run's trial index in a hyperparameter search (manifest key
``trial``), missing for runs not from a search."""

TAIL_COLUMNS = ("wall_seconds", "compile_seconds", "error", "path")
"""Columns of :attr:`Results.runs` after the grid-key columns."""

METRIC_ID_COLUMNS = ("run_id", "suite", "variant", "seed", "status", "dataset")
"""Run columns repeated on every row of :attr:`Results.metrics` (grid keys follow them)."""

MEASUREMENT_COLUMNS = ("step", "metric", "value", "n_real", "n_fake")
"""Columns of metrics.parquet, in the order :attr:`Results.metrics` ends with."""

# PROFILE (results.layout) is also the key column of the suite profile a run was made with:
# present, first among Results.grid_keys, when any run of the folder was made with a profile;
# None in the rows of runs made without one.

_RESERVED = frozenset((*RUN_COLUMNS, *TAIL_COLUMNS, *MEASUREMENT_COLUMNS, PROFILE))
_EXPECTED_LAYOUT = (
    f"<out>/<suite>/{RUNS_DIR}/<run_id>/{MANIFEST} (with {METRICS} next to it); pass the output "
    "folder, a suite folder, a runs/ folder or a single run folder"
)


@dataclass
class Results:
    """Runs and measurements read from a results folder.

    Attributes:
        runs: one row per valid run; columns :data:`RUN_COLUMNS`, then one column per grid key
            (named as the key, e.g. ``optimizer.lr_d``; a grid key ``dataset`` is the
            ``dataset`` column), then :data:`TAIL_COLUMNS`.
        metrics: long format, one row per measurement; columns :data:`METRIC_ID_COLUMNS`, the
            grid-key columns, then :data:`MEASUREMENT_COLUMNS`. Runs are identified by
            ``(suite, run_id)``.
        grid_keys: the grid-key column names, in order of first appearance; led by
            :data:`PROFILE` when any run was made with a suite profile, so that rows, filters
            and comparisons tell the profiles apart like grid points.
        warnings: one line per folder that was skipped or is suspect, naming folder and reason.
        root: the path that was read.
    """

    runs: pd.DataFrame
    metrics: pd.DataFrame
    grid_keys: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    root: Path | None = None

    def only(self, run_ids: set[str]) -> Results:
        """The same results restricted to the given run ids."""
        return Results(
            runs=self.runs[self.runs["run_id"].isin(run_ids)].reset_index(drop=True),
            metrics=self.metrics[self.metrics["run_id"].isin(run_ids)].reset_index(drop=True),
            grid_keys=list(self.grid_keys),
            warnings=list(self.warnings),
            root=self.root,
        )

    def with_ema_rows(self, suffix: str = EMA_VARIANT_SUFFIX) -> Results:
        """The results plus one pseudo-run per run that recorded ``ema/<metric>`` values.

        The pseudo-run is the run's EMA generator: variant ``<variant><suffix>``, run id
        ``<run_id>/ema``, and the ``ema/`` metrics under their plain names (training statistics
        such as losses belong to the run, not to a generator, so it has none). It follows its
        run, so a report shows the raw and the averaged generator as neighbouring rows.
        """
        is_ema = self.metrics["metric"].str.startswith(EMA_PREFIX)
        if not is_ema.any():
            return self
        ema = self.metrics[is_ema].copy()
        ema["metric"] = ema["metric"].str.slice(len(EMA_PREFIX))
        with_ema = set(zip(ema["suite"], ema["run_id"], strict=True))
        ema["variant"] = ema["variant"] + suffix
        ema["run_id"] = ema["run_id"] + "/ema"
        rows = []
        for run in self.runs.to_dict("records"):
            rows.append(run)
            if (run["suite"], run["run_id"]) in with_ema:
                rows.append(
                    {**run, "variant": run["variant"] + suffix, "run_id": run["run_id"] + "/ema"}
                )
        runs = pd.DataFrame(rows, columns=self.runs.columns).astype(self.runs.dtypes.to_dict())
        metrics = pd.concat([self.metrics[~is_ema], ema], ignore_index=True)
        return Results(
            runs=runs,
            metrics=metrics,
            grid_keys=list(self.grid_keys),
            warnings=list(self.warnings),
            root=self.root,
        )


class _Invalid(Exception):
    """A run folder that cannot be read; the message is the reason."""


def read_results(path: str | os.PathLike[str]) -> Results:
    """Read every run folder at or below ``path``.

    Raises:
        ResultsError: if ``path`` does not exist, is not a folder, or holds no valid run.
    """
    root = Path(path)
    if not root.exists():
        raise ResultsError(f"results path '{root}' does not exist")
    if root.is_file():
        if root.name != MANIFEST:
            raise ResultsError(
                f"results path '{root}' is a file; expected a results folder: {_EXPECTED_LAYOUT}"
            )
        root = root.parent

    warnings: list[str] = []
    run_dirs = _find_run_dirs(root, warnings)
    if not run_dirs:
        raise ResultsError(f"no runs found under '{root}'; expected {_EXPECTED_LAYOUT}")

    records: list[dict[str, Any]] = []
    frames: list[pd.DataFrame | None] = []
    grid_keys: list[str] = []
    seen: dict[tuple[str, str], Path] = {}
    suite_orders: dict[str, _SuiteOrder] = {}
    for run_dir in run_dirs:
        try:
            manifest = _read_manifest(run_dir / MANIFEST)
            frame = _read_metrics(run_dir, manifest["status"])
            _check_samples(run_dir)
            record = _run_record(manifest, run_dir)
        except _Invalid as exc:
            warnings.append(f"skipped {run_dir}: {exc}")
            continue
        key = (manifest["suite"], manifest["run_id"])
        if key in seen:
            warnings.append(
                f"skipped {run_dir}: duplicate run_id '{key[1]}' of suite '{key[0]}' "
                f"(already read from {seen[key]})"
            )
            continue
        seen[key] = run_dir
        if frame is None and manifest["status"] == COMPLETED:
            warnings.append(
                f"{run_dir}: completed run has no metric values ({METRICS} missing or empty)"
            )
        for grid_key in record["_grid"]:
            if grid_key not in grid_keys:
                grid_keys.append(grid_key)
        if manifest["suite"] not in suite_orders:
            suite_orders[manifest["suite"]] = _SuiteOrder.load(run_dir, warnings)
        record["_frame"] = len(frames)  # its rows are in frames[_frame] (see _draw_runs)
        frame, draws = _draw_runs(record, frame)
        records.extend(draws)
        frames.append(frame)

    for suite, order in suite_orders.items():
        if not order.variants:
            continue  # no suite.toml, or one without variants: said above, or nothing to say
        unlisted = sorted(
            {
                r["variant"]
                for r in records
                if r["suite"] == suite and not is_baseline_row(r["variant"])
            }
            - set(order.variants)
        )
        if unlisted:
            shown = ", ".join(repr(clip(v, 60)) for v in unlisted[:5])
            more = f" and {len(unlisted) - 5:,} more" if len(unlisted) > 5 else ""
            warnings.append(
                f"{order.path}: lists no variant {shown}{more} of the runs beside it (an "
                "earlier version of the suite?); their rows follow the listed ones, by name"
            )
    if any(r["_profile"] is not None for r in records):
        grid_keys.insert(0, PROFILE)
        for r in records:
            r["_grid"] = {PROFILE: r["_profile"], **r["_grid"]}
    if not records:
        details = "; ".join(warnings)
        raise ResultsError(
            f"no valid run under '{root}': {len(run_dirs)} run folder(s) found, none readable "
            f"({details})"
        )

    order = _sort_order(records, grid_keys, suite_orders)
    records = [records[i] for i in order]
    runs = _runs_frame(records, grid_keys)
    metrics = _metrics_frame(runs, records, frames, grid_keys)
    return Results(runs=runs, metrics=metrics, grid_keys=grid_keys, warnings=warnings, root=root)


# --- discovery ---------------------------------------------------------------------------------


def _find_run_dirs(root: Path, warnings: list[str]) -> list[Path]:
    """Folders holding a manifest.json at or below ``root``, in sorted walk order."""
    found: list[Path] = []

    def on_error(exc: OSError) -> None:
        warnings.append(f"skipped {exc.filename}: cannot list folder ({exc.strerror})")

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for link in [d for d in dirnames if (here / d).is_symlink()]:
            # os.walk lists links to folders but does not enter them: say so, not drop them.
            warnings.append(
                f"skipped {here / link}: a link to a folder; results are not read through "
                "links (copy the folder instead)"
            )
        if here.name == RUNS_DIR:  # ganbench writes only run folders (and hidden ones) here
            for name in sorted(f for f in filenames if not f.startswith(".")):
                what = _what_link(here / name) if (here / name).is_symlink() else "a file"
                warnings.append(f"skipped {here / name}: {what}, not a run folder")
        if MANIFEST in filenames:
            found.append(here)
            dirnames[:] = []  # a run folder holds no runs
        elif here.parent.name == RUNS_DIR and here != root:
            reason = (
                f"{MANIFEST} is a folder, not a file"
                if MANIFEST in dirnames
                else f"no {MANIFEST} (not a run folder)"
            )
            warnings.append(f"skipped {here}: {reason}")
    return found


# --- one run -----------------------------------------------------------------------------------


def _read_manifest(path: Path) -> dict[str, Any]:
    """Load and check one manifest.json."""
    if not path.is_file():  # a FIFO or device would block or never end
        reason = _what_link(path) if path.is_symlink() else "not a regular file"
        raise _Invalid(f"{MANIFEST} is {reason}")
    try:
        text = read_bounded(path, MAX_MANIFEST_BYTES).decode("utf-8")
    except (OSError, ValueError) as exc:  # FileTooLarge and UnicodeDecodeError are ValueErrors
        raise _Invalid(f"cannot read {MANIFEST} ({exc})") from exc
    if not text.strip():
        raise _Invalid(f"{MANIFEST} is empty")
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Invalid(f"corrupt {MANIFEST} ({exc})") from exc
    except (RecursionError, ValueError) as exc:  # nested too deeply; a huge integer
        raise _Invalid(f"corrupt {MANIFEST} ({type(exc).__name__}: {clip(str(exc), 300)})") from exc
    try:
        return Manifest.check(manifest)
    except ValueError as exc:
        raise _Invalid(f"{MANIFEST} {exc}") from None


def _read_metrics(run_dir: Path, status: str) -> pd.DataFrame | None:
    """Load one metrics.parquet with normalised dtypes; ``None`` when the run has none."""
    path = run_dir / METRICS
    if not path.exists():
        if path.is_symlink():
            raise _Invalid(f"{METRICS} is {_what_link(path)}")
        return None
    if not path.is_file():
        what = _what_link(path) if path.is_symlink() else "not a file"
        raise _Invalid(f"{METRICS} is {what}")
    try:
        import pyarrow.parquet as pq

        # Read through a file object: pyarrow takes a path as UTF-8 text, and a folder name
        # that is not UTF-8 would make a valid file unreadable.
        with open_regular(path) as fh:
            parquet = pq.ParquetFile(fh)
            rows = parquet.metadata.num_rows  # the footer only
            if rows > MAX_METRIC_ROWS:
                raise _Invalid(f"{METRICS} holds {rows:,} rows (at most {MAX_METRIC_ROWS:,})")
            frame = parquet.read().to_pandas()
    except _Invalid:
        raise
    except Exception as exc:  # pyarrow raises several types for truncated/corrupt files
        raise _Invalid(f"corrupt {METRICS} ({type(exc).__name__}: {clip(str(exc), 300)})") from exc
    missing = [c for c in ("step", "metric", "value") if c not in frame.columns]
    if missing:
        raise _Invalid(f"{METRICS} lacks column(s) {', '.join(missing)}")
    try:
        out = pd.DataFrame(
            {
                "step": frame["step"].astype("int64"),
                "metric": frame["metric"].astype("str"),
                "value": frame["value"].astype("float64"),
                "n_real": _counts(frame, "n_real"),
                "n_fake": _counts(frame, "n_fake"),
            }
        )
    except Exception as exc:  # TypeError, ValueError, OverflowError, pyarrow's own types
        raise _Invalid(f"{METRICS} has a column of the wrong type ({clip(str(exc), 300)})") from exc
    if DRAW in frame.columns:
        try:
            out[DRAW] = frame[DRAW].astype("int64")
        except Exception as exc:  # nulls, strings, floats out of range
            raise _Invalid(f"{METRICS} has a {DRAW} column that is not integers") from exc
        draws = out[DRAW].nunique()
        if draws > MAX_DRAWS or (len(out) and not out[DRAW].between(0, MAX_DRAWS - 1).all()):
            raise _Invalid(f"{METRICS} holds draws outside 0..{MAX_DRAWS - 1:,}")
    out = out.sort_values("step", kind="stable", ignore_index=True)
    return out if len(out) else None


def _draw_runs(
    record: dict[str, Any], frame: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, list[dict[str, Any]]]:
    """A run's metrics frame and its records: one record per draw of a run whose
    metrics.parquet has a ``draw`` column (a baseline row measured over many draws: run id
    ``<run_id>/draw-<d>``, seed ``d``), else the run's own record.

    Each record's ``_rows`` is the (start, end) slice of its rows in the returned frame, which
    is sorted by draw (stable) and loses the ``draw`` column: the frame is cut once, when the
    metrics table is built, instead of into a frame per draw (a baseline row holds hundreds)."""
    if frame is None:
        return None, [{**record, "_rows": (0, 0)}]
    if DRAW not in frame.columns:
        return frame, [{**record, "_rows": (0, len(frame))}]
    frame = frame.sort_values(DRAW, kind="stable")
    draws = frame[DRAW].to_numpy()
    cuts = [0, *(np.flatnonzero(draws[1:] != draws[:-1]) + 1), len(draws)]
    out = [
        {**record, "run_id": f"{record['run_id']}{DRAW_SUFFIX}{int(draws[start])}",
         "seed": int(draws[start]), "_rows": (start, end)}
        for start, end in itertools.pairwise(cuts)
    ]  # fmt: skip
    return frame.drop(columns=[DRAW]).reset_index(drop=True), out


def _check_samples(run_dir: Path) -> None:
    """A samples.npz, when present, must be a readable .npz archive of plain (non-object)
    arrays. Only the archive's index and each array's header are read: cheap, and nothing is
    unpickled. (A missing samples.npz is allowed: the report's tables do not need it.)"""
    path = run_dir / SAMPLES
    if not path.exists() and not path.is_symlink():
        return
    hint = f"; delete {SAMPLES} to report the run without its samples"
    if not path.is_file():
        raise _Invalid(f"{SAMPLES} is not a readable file{hint}")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_SAMPLE_ARRAYS:
                raise _Invalid(
                    f"{SAMPLES} holds {len(members):,} arrays (at most {MAX_SAMPLE_ARRAYS:,}){hint}"
                )
            total = 0
            for info in members:
                if not info.filename.endswith(".npy"):
                    raise _Invalid(f"{SAMPLES} holds {info.filename!r}, not an array{hint}")
                with archive.open(info) as fh:
                    shape, dtype = _npy_header(fh)
                # What reading it would take, by its header and by the archive's index: both
                # bound what numpy and zipfile would read (nothing is decompressed here).
                total += max(math.prod(shape) * dtype.itemsize, info.file_size)
                if total > MAX_SAMPLE_BYTES:
                    raise _Invalid(
                        f"{SAMPLES} holds more than {MAX_SAMPLE_BYTES:,} bytes of arrays (array "
                        f"{info.filename[:-4]!r} of shape {shape}){hint}"
                    )
                if dtype.hasobject:
                    raise _Invalid(
                        f"{SAMPLES} array {info.filename[:-4]!r} holds Python objects (a pickle); "
                        f"refused, never unpickled{hint}"
                    )
    except _Invalid:
        raise
    except Exception as exc:  # untrusted bytes: zipfile, zlib and numpy raise many types
        raise _Invalid(
            f"corrupt {SAMPLES} ({type(exc).__name__}: {clip(str(exc), 300)}){hint}"
        ) from exc


def _what_link(path: Path) -> str:
    """What a link that is not a regular file points at, in words."""
    try:
        path.stat()
    except OSError:
        return "a broken or looping link"
    return "a link to something that is not a regular file (a folder, a device or a pipe)"


def _npy_header(fh) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype in a .npy header (the array's data is not read)."""
    shape, _, dtype = _npy_header_full(fh)
    return shape, dtype


def _npy_header_full(fh) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The shape, Fortran order and dtype in a .npy header (the data is not read)."""
    version = npy_format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = npy_format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, fortran, dtype = npy_format.read_array_header_2_0(fh)
    else:
        raise ValueError(f".npy format version {version} is not one ganbench writes")
    return tuple(int(n) for n in shape), bool(fortran), dtype


MAX_READ_BYTES = 16 << 20
"""Most bytes of one array that :func:`read_sample_rows` returns (figures and players need a few
hundred kB per array)."""
_CHUNK_BYTES = 4 << 20


def sample_shapes(run_dir: str | os.PathLike[str]) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """The shape and dtype of every array of a run's samples.npz, from the archive's index and
    each array's header (nothing else is read or decompressed); empty when the file is missing
    or unreadable."""
    path = Path(run_dir) / SAMPLES
    if not path.is_file():
        return {}
    out: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist()[:MAX_SAMPLE_ARRAYS]:
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as fh:
                    shape, dtype = _npy_header(fh)
                if not dtype.hasobject:
                    out[info.filename[:-4]] = (shape, dtype)
    except Exception:  # untrusted bytes: zipfile, zlib and numpy raise many types
        return {}
    return out


def read_sample_rows(
    run_dir: str | os.PathLike[str],
    key: str,
    *,
    max_rows: int,
    spread: bool = False,
    max_bytes: int = MAX_READ_BYTES,
) -> tuple[np.ndarray | None, int]:
    """At most ``max_rows`` rows (and ``max_bytes`` bytes) of array ``key`` of a run's
    samples.npz, and the number of rows it holds: the first rows, or with ``spread`` rows evenly
    spread over the array, the first and last included (read in chunks: memory stays bounded
    whatever the file holds). A 0-d array counts as one row. ``(None, rows)`` when not even one
    row fits, the array is not numeric, or the file cannot be read; nothing is unpickled."""
    path = Path(run_dir) / SAMPLES
    if not path.is_file():
        return None, 0
    try:
        with zipfile.ZipFile(path) as archive, archive.open(f"{key}.npy") as fh:
            shape, fortran, dtype = _npy_header_full(fh)
            if dtype.hasobject or dtype.kind not in "biufc":
                return None, 0
            n = shape[0] if shape else 1
            row_shape = shape[1:]
            row_bytes = max(1, math.prod(row_shape) * dtype.itemsize)
            rows = min(n, max_rows, max_bytes // row_bytes)
            if fortran and len(shape) > 1:  # column-major: rows are not contiguous
                if n * row_bytes > max_bytes:
                    return None, n
                whole = np.frombuffer(_read_exact(fh, n * row_bytes), dtype)
                array = whole.reshape(shape, order="F")
                pick = _spread_rows(n, rows) if spread else np.arange(rows)
                return np.ascontiguousarray(array[pick]), n
            if rows <= 0:
                return None, n
            if not spread or rows >= n:
                data = _read_exact(fh, rows * row_bytes)
                return np.frombuffer(data, dtype).reshape(
                    (rows, *row_shape) if shape else ()
                ).copy(), n
            wanted = _spread_rows(n, rows)
            per_chunk = max(1, _CHUNK_BYTES // row_bytes)
            kept, start = [], 0
            for first in range(0, n, per_chunk):
                count = min(per_chunk, n - first)
                chunk = np.frombuffer(_read_exact(fh, count * row_bytes), dtype)
                chunk = chunk.reshape((count, *row_shape))
                mine = wanted[start:][wanted[start:] < first + count]
                if mine.size:
                    kept.append(chunk[mine - first].copy())
                    start += mine.size
                if start == wanted.size:
                    break
            return np.concatenate(kept), n
    except Exception:  # untrusted bytes: zipfile, zlib and numpy raise many types
        return None, 0


def _spread_rows(n: int, k: int) -> np.ndarray:
    """``k`` row indices evenly spread over ``n`` rows, first and last included."""
    return np.unique(np.round(np.linspace(0, n - 1, max(k, 1))).astype(np.int64))


def _read_exact(fh, size: int) -> bytes:
    parts, left = [], size
    while left > 0:
        part = fh.read(min(left, _CHUNK_BYTES))
        if not part:
            raise ValueError(f"truncated array: {size - left:,} of {size:,} bytes")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _counts(frame: pd.DataFrame, column: str) -> pd.Series:
    """A nullable Int64 count column (all missing when the file does not have it)."""
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="Int64")
    return frame[column].astype("Int64")


def _run_record(manifest: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """One row of the runs table (grid values under ``_grid``)."""
    grid: dict[str, Any] = {}
    for key, value in manifest["grid_point"].items():
        name = str(key)
        if name == "dataset":
            continue  # the dataset column (from the resolved config) already holds it
        if name in _RESERVED:
            name = f"grid.{name}"
        try:
            grid[name] = _scalar(value)
        except (RecursionError, ValueError) as exc:
            raise _Invalid(f"{MANIFEST} grid value {name!r} is unreadable ({exc})") from exc
    timing = manifest.get("timing") or {}
    return {
        "suite": manifest["suite"],
        "variant": manifest["variant"],
        "run_id": manifest["run_id"],
        "seed": int(manifest["seed"]),
        "trial": manifest.get(TRIAL),
        "status": manifest["status"],
        "step": int(manifest["step"]),
        "diverged_at": manifest.get("diverged_at"),
        "dataset": manifest["config"]["dataset"],
        "_grid": grid,
        "_profile": manifest.get(PROFILE),
        "wall_seconds": _float_or_nan(timing.get("wall_seconds")),
        "compile_seconds": _float_or_nan(timing.get("compile_seconds")),
        "error": manifest.get("error"),
        "path": str(run_dir),
    }


# --- ordering ----------------------------------------------------------------------------------


def suite_document(run_paths) -> dict[str, Any] | None:
    """The first readable suite.toml beside the given run folders (``Results.runs["path"]``),
    parsed; None when there is none. Unreadable files are skipped silently: the reader has
    warned about them."""
    for path in dict.fromkeys(run_paths):
        suite_file = Path(str(path)).parent.parent / SUITE_FILE
        if not suite_file.is_file():  # also not a FIFO, which would block
            continue
        try:
            return tomlguard.load(suite_file, MAX_MANIFEST_BYTES)
        except (OSError, ValueError):  # untrusted: size, UTF-8, TOML, the guards
            continue
    return None


@dataclass
class _SuiteOrder:
    """Preferred order of variants and grid values, from a suite's suite.toml."""

    variants: list[str] = field(default_factory=list)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def load(cls, run_dir: Path, warnings: list[str]) -> _SuiteOrder:
        if run_dir.parent.name != RUNS_DIR:
            return cls()
        path = run_dir.parent.parent / SUITE_FILE
        if not path.is_file():
            if path.is_symlink() or path.exists():  # a folder, a device, a pipe, a bad link
                what = _what_link(path) if path.is_symlink() else "not a regular file"
                warnings.append(
                    f"{path}: cannot read ({what}); rows are sorted by name instead, and its "
                    "references are not used"
                )
            return cls()
        try:
            data = tomlguard.load(path, MAX_MANIFEST_BYTES)
            grid_table = data.get("grid", {})
            grid = _flatten(grid_table) if isinstance(grid_table, dict) else {}
        except (OSError, ValueError) as exc:  # ValueError: size, UTF-8, TOML, the guards
            warnings.append(
                f"{path}: cannot read ({clip(str(exc), 300)}); rows are sorted by name "
                "instead, and its references are not used"
            )
            return cls()
        listed = data.get("variants")
        variants = [
            v["name"]
            for v in (listed if isinstance(listed, list) else [])
            if isinstance(v, dict) and isinstance(v.get("name"), str)
        ]
        grid = {k: v for k, v in grid.items() if isinstance(v, list)}
        profiles = data.get("profiles")
        # The suite as written first, then its profiles in the file's order.
        grid[PROFILE] = [None, *(profiles if isinstance(profiles, dict) else {})]
        return cls(variants, grid, path)


def flatten_table(table: Mapping[str, Any]) -> dict[str, Any]:
    """Nested TOML tables to dotted keys: {"optimizer": {"lr_d": x}} -> {"optimizer.lr_d": x},
    in the document's order. Iterative: a results folder's suite.toml is untrusted, and no walk
    over it may recurse as deep as its nesting."""
    flat: dict[str, Any] = {}
    stack = [("", iter(table.items()))]
    while stack:
        prefix, items = stack[-1]
        for key, value in items:
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                stack.append((f"{name}.", iter(value.items())))
                break
            flat[name] = value
        else:
            stack.pop()
    return flat


_flatten = flatten_table


def _sort_order(
    records: list[dict[str, Any]], grid_keys: list[str], orders: dict[str, _SuiteOrder]
) -> list[int]:
    """Indices of ``records`` in report order (see the module docstring)."""

    def key(i: int) -> tuple[Any, ...]:
        rec = records[i]
        order = orders.get(rec["suite"], _SuiteOrder())
        parts: list[Any] = [rec["suite"], _rank(rec["variant"], order.variants)]
        parts.append(_rank(rec["dataset"], order.grid.get("dataset", [])))
        for grid_key in grid_keys:
            listed = order.grid.get(grid_key, [None] if grid_key == PROFILE else [])
            parts.append(_rank(rec["_grid"].get(grid_key), listed))
        parts += [rec["seed"], rec["run_id"]]
        return tuple(parts)

    return sorted(range(len(records)), key=key)


def _rank(value: Any, preferred: list[Any]) -> tuple[int, int, tuple[int, float, str]]:
    """Sort key: listed values first, in their listed order; then the rest, sorted."""
    wanted = _value_key(value)
    for i, candidate in enumerate(preferred):
        if _value_key(_scalar(candidate)) == wanted:
            return (0, i, wanted)
    return (1, 0, wanted)


def _value_key(value: Any) -> tuple[int, float, str]:
    """Totally ordered key for mixed scalars: numbers, then strings, then missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (2, 0.0, "")
    if isinstance(value, bool):
        return (1, 0.0, str(value))
    if isinstance(value, int | float):
        return (0, _float_or_nan(value) if isinstance(value, int) else value, "")
    return (1, 0.0, str(value))


# --- frames ------------------------------------------------------------------------------------


def _runs_frame(records: list[dict[str, Any]], grid_keys: list[str]) -> pd.DataFrame:
    """The runs table from ordered records."""
    columns: dict[str, Any] = {c: [r[c] for r in records] for c in RUN_COLUMNS}
    for grid_key in grid_keys:
        columns[grid_key] = [r["_grid"].get(grid_key) for r in records]
    for c in TAIL_COLUMNS:
        columns[c] = [r[c] for r in records]
    # A folder name that is not UTF-8 reads as text with surrogates, which pandas' Arrow-backed
    # strings cannot hold: paths stay Python strings.
    columns["path"] = pd.Series(columns["path"], dtype=object)
    runs = pd.DataFrame(columns)
    runs["seed"] = runs["seed"].astype("int64")
    runs["step"] = runs["step"].astype("int64")
    for column in ("trial", "diverged_at"):
        runs[column] = pd.array(
            [pd.NA if v is None else int(v) for v in columns[column]], dtype="Int64"
        )
    runs["wall_seconds"] = runs["wall_seconds"].astype("float64")
    runs["compile_seconds"] = runs["compile_seconds"].astype("float64")
    return runs


def _metrics_frame(
    runs: pd.DataFrame,
    records: list[dict[str, Any]],
    frames: list[pd.DataFrame | None],
    grid_keys: list[str],
) -> pd.DataFrame:
    """The long metrics table: each run's measurements (the ``_rows`` slice of its folder's
    frame ``frames[_frame]``, :func:`_draw_runs`), in the order of ``records``, with its
    identity columns."""
    id_columns = [*METRIC_ID_COLUMNS, *grid_keys]
    present = [f for f in frames if f is not None]
    if not present:
        empty = runs.loc[[], id_columns].reset_index(drop=True)
        empty["step"] = pd.Series([], dtype="int64")
        empty["metric"] = pd.Series([], dtype="str")
        empty["value"] = pd.Series([], dtype="float64")
        empty["n_real"] = pd.Series([], dtype="Int64")
        empty["n_fake"] = pd.Series([], dtype="Int64")
        return empty
    # Each record's rows as positions in the folders' frames concatenated once.
    offset = np.cumsum([0, *(0 if f is None else len(f) for f in frames)])
    positions, row_of_run = [np.zeros(0, np.intp)], [np.zeros(0, np.intp)]
    for i, record in enumerate(records):
        start, end = record["_rows"]
        base = offset[record["_frame"]]
        positions.append(np.arange(base + start, base + end))
        row_of_run.append(np.full(end - start, i, np.intp))
    measurements = pd.concat(present, ignore_index=True).take(np.concatenate(positions))
    ids = runs[id_columns].take(np.concatenate(row_of_run))
    return pd.concat([ids.reset_index(drop=True), measurements.reset_index(drop=True)], axis=1)


# --- small helpers -----------------------------------------------------------------------------


def _float_or_nan(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an integer beyond a float's range
            return math.copysign(math.inf, value)
    return math.nan


def _scalar(value: Any) -> Any:
    """Grid values as hashable scalars (lists and tables become their JSON text)."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value
