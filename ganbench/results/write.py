"""Write run folders atomically.

A run is written into ``runs/.tmp-<run_id>-<random>/`` and renamed to ``runs/<run_id>/`` only when
every file is complete, so a folder named after a run id is always a whole result. Re-runs skip
folders whose manifest says completed or diverged.

Every path written here is one plain name (suite, run id, extra file) below the output folder:
a name that is empty, ``.`` or ``..``, holds a separator, a NUL or a control character, or
starts with ``.`` raises :class:`ResultsError` before anything is written, and so does a
computed path that would leave the output folder (checked on the absolute, normalised path; links
inside the output folder are the user's and are not followed by the check).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ganbench.errors import ResultsError
from ganbench.fileio import atomic_write_bytes, fsync_dir, read_bounded
from ganbench.results.layout import (
    DRAW,
    FINISHED,
    MANIFEST,
    MAX_MANIFEST_BYTES,
    METRICS,
    RUNS_DIR,
    SAMPLES,
    SUITE_FILE,
    Manifest,
)

MAX_NAME_BYTES = 200
"""Longest name (UTF-8 bytes) of a suite, run or extra file: file systems take 255, and the
temporary run folder adds a prefix and a suffix."""


def safe_name(name: str, what: str) -> str:
    """``name`` when it is one plain file name (see the module docstring), else ResultsError."""
    if (
        not isinstance(name, str)
        or not name
        or name.startswith(".")
        or any(c in name for c in "/\\")
        or not name.isprintable()  # also refuses NUL, newlines and lone surrogates
        or len(name.encode("utf-8")) > MAX_NAME_BYTES
    ):
        shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
        raise ResultsError(
            f"refusing to write {what} {shown}: not a plain file name (no separators, NUL or "
            f"control characters, not starting with '.', 1-{MAX_NAME_BYTES} bytes)"
        )
    return name


def inside(out: Path, path: Path) -> Path:
    """``path`` when it lies inside ``out`` (absolute, normalised paths), else ResultsError."""
    base = os.path.normpath(os.path.abspath(out))
    target = os.path.normpath(os.path.abspath(path))
    if os.path.commonpath([base, target]) != base or target == base:
        raise ResultsError(f"refusing to write {path}: it is not inside the output folder {out}")
    return path


def suite_dir(out: Path, suite_name: str) -> Path:
    return inside(out, Path(out) / safe_name(suite_name, "suite folder"))


def run_dir(out: Path, suite_name: str, run_id: str) -> Path:
    return inside(out, suite_dir(out, suite_name) / RUNS_DIR / safe_name(run_id, "run folder"))


def read_status(path: Path) -> str | None:
    """Status of a finished run folder, or None when it is missing or unreadable (not a regular
    file: a FIFO would block the read; larger than any manifest ganbench writes)."""
    try:
        manifest = json.loads(read_bounded(path / MANIFEST, MAX_MANIFEST_BYTES))
    except (OSError, ValueError, RecursionError):  # FileTooLarge is a ValueError
        return None
    status = manifest.get("status") if isinstance(manifest, dict) else None
    return status if isinstance(status, str) else None


def is_finished(path: Path) -> bool:
    return read_status(path) in FINISHED


def write_suite_file(out: Path, suite_name: str, raw: dict[str, Any]) -> None:
    import tomli_w

    atomic_write_bytes(suite_dir(out, suite_name) / SUITE_FILE, tomli_w.dumps(raw).encode())


def _metrics_table(rows: list[tuple]):
    """The metrics.parquet table of (step, metric, value, n_real, n_fake) rows; rows of six
    values add a ``draw`` column (a baseline row measured over many draws, see
    :data:`ganbench.results.layout.DRAW`)."""
    import pyarrow as pa

    width = len(rows[0]) if rows else 5
    columns = list(zip(*rows, strict=True)) if rows else [[]] * width
    table = {
        "step": pa.array(columns[0], pa.int64()),
        "metric": pa.array(columns[1], pa.string()),
        "value": pa.array(columns[2], pa.float64()),
        "n_real": pa.array(columns[3], pa.int64()),
        "n_fake": pa.array(columns[4], pa.int64()),
    }
    if width == 6:
        table[DRAW] = pa.array(columns[5], pa.int64())
    return pa.table(table)


def write_run(
    out: Path,
    suite_name: str,
    run_id: str,
    manifest: dict[str, Any],
    metric_rows: list[tuple],
    samples: dict[str, np.ndarray],
    files: dict[str, bytes] | None = None,
) -> Path:
    """Write one run folder atomically; replaces an existing folder of the same run. ``files``:
    extra files by name (for example PNG sample grids)."""
    import pyarrow.parquet as pq

    final = run_dir(out, suite_name, run_id)
    try:
        Manifest.check(manifest)
    except ValueError as exc:
        raise ResultsError(f"refusing to write run {run_id!r}: its {MANIFEST} {exc}") from None
    runs = final.parent
    runs.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{run_id}-", dir=runs))
    try:
        pq.write_table(_metrics_table(metric_rows), tmp / METRICS)
        buf = io.BytesIO()
        np.savez_compressed(buf, **samples)
        (tmp / SAMPLES).write_bytes(buf.getvalue())
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        for name, data in (files or {}).items():
            safe_name(name, "extra file")
            if name in (METRICS, SAMPLES, MANIFEST):
                raise ResultsError(f"refusing to write extra file {name!r}: a reserved name")
            (inside(tmp, tmp / name)).write_bytes(data)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        if final.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".old-{run_id}-", dir=runs))
            os.replace(final, trash / run_id)
            os.replace(tmp, final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, final)
        fsync_dir(runs)  # the rename that publishes the run survives a crash
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
