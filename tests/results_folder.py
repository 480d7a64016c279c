"""Synthetic results folders for report and verdict tests: run folders in the layout the runner
writes (manifest.json, metrics.parquet), with values chosen by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd


def write_run(
    out: Path,
    run_id: str,
    *,
    suite: str = "toy",
    variant: str = "gan",
    seed: int = 0,
    status: str = "completed",
    dataset: str = "ring8",
    grid_point: dict[str, Any] | None = None,
    rows: list[tuple[int, str, float, int | None, int | None]] | None = None,
    step: int = 1000,
    diverged_at: int | None = None,
    config: dict[str, Any] | None = None,
    profile: str | None = None,
    trial: int | None = None,
) -> Path:
    """Write one run folder (manifest.json, and metrics.parquet when ``rows`` is given)."""
    run_dir = out / suite / "runs" / run_id
    run_dir.mkdir(parents=True)
    manifest = {
        "schema": 1,
        "run_id": run_id,
        "suite": suite,
        "variant": variant,
        "seed": seed,
        "grid_point": grid_point if grid_point is not None else {},
        "config": config if config is not None else {"dataset": dataset, "loss": "non_saturating"},
        "status": status,
        "step": step,
        "diverged_at": diverged_at,
        "error": "boom" if status == "failed" else None,
        "timing": {"wall_seconds": 12.5, "compile_seconds": 3.0},
        "versions": {"ganbench": "0.1.0"},
    }
    if profile is not None:  # as the runner writes it with --profile (else no key, as before)
        manifest["profile"] = profile
    if trial is not None:  # a hyperparameter search's trial index (else no key)
        manifest["trial"] = trial
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    if rows is not None:
        step_, metric, value, n_real, n_fake = zip(*rows, strict=True) if rows else ([],) * 5
        frame = pd.DataFrame(
            {
                "step": pd.array(step_, dtype="int64"),
                "metric": pd.array(metric, dtype="str"),
                "value": pd.array(value, dtype="float64"),
                "n_real": pd.array(n_real, dtype="Int64"),
                "n_fake": pd.array(n_fake, dtype="Int64"),
            }
        )
        frame.to_parquet(run_dir / "metrics.parquet", index=False)
    return run_dir
