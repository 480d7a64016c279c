"""Write run folders atomically.

A run is written into ``runs/.tmp-<run_id>-<random>/`` and renamed to ``runs/<run_id>/`` only when
every file is complete, so a folder named after a run id is always a whole result. Re-runs skip
folders whose manifest says completed or diverged.
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

from ganbench.data.store import atomic_write_bytes

FINISHED = ("completed", "diverged")
MANIFEST = "manifest.json"
METRICS = "metrics.parquet"
SAMPLES = "samples.npz"
SCHEMA_VERSION = 1


def suite_dir(out: Path, suite_name: str) -> Path:
    return Path(out) / suite_name


def run_dir(out: Path, suite_name: str, run_id: str) -> Path:
    return suite_dir(out, suite_name) / "runs" / run_id


def read_status(path: Path) -> str | None:
    """Status of a finished run folder, or None when it is missing or unreadable."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    status = manifest.get("status") if isinstance(manifest, dict) else None
    return status if isinstance(status, str) else None


def is_finished(path: Path) -> bool:
    return read_status(path) in FINISHED


def write_suite_file(out: Path, suite_name: str, raw: dict[str, Any]) -> None:
    import tomli_w

    atomic_write_bytes(suite_dir(out, suite_name) / "suite.toml", tomli_w.dumps(raw).encode())


def _metrics_table(rows: list[tuple]):
    import pyarrow as pa

    step, metric, value, n_real, n_fake = zip(*rows, strict=True) if rows else ([],) * 5
    return pa.table(
        {
            "step": pa.array(step, pa.int64()),
            "metric": pa.array(metric, pa.string()),
            "value": pa.array(value, pa.float64()),
            "n_real": pa.array(n_real, pa.int64()),
            "n_fake": pa.array(n_fake, pa.int64()),
        }
    )


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
            if "/" in name or name.startswith(".") or name in (METRICS, SAMPLES, MANIFEST):
                raise ValueError(f"bad extra file name {name!r}")
            (tmp / name).write_bytes(data)
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
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
