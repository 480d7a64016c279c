"""What a run leaves behind: its record while it trains, and the manifest that describes it
(configuration, protocol, status, timing, provenance)."""

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ganbench.config import RunSpec, Suite
from ganbench.data import IMAGE
from ganbench.metrics import names as M
from ganbench.results.layout import COMPLETED, DIVERGED, SCHEMA_VERSION
from ganbench.run.plan import Group, dataset_of


@dataclass
class RunRecord:
    spec: RunSpec
    status: str = COMPLETED
    step: int = 0
    diverged_at: int | None = None
    error: str | None = None
    rows: list[tuple] = field(default_factory=list)
    snapshots: dict[str, np.ndarray] = field(default_factory=dict)
    final: np.ndarray | None = None
    final_ema: np.ndarray | None = None
    trajectory: list[np.ndarray] = field(default_factory=list)  # (steps, P) pieces, traced models
    files: dict[str, bytes] = field(default_factory=dict)  # extra files (image sample grids)

    @property
    def alive(self) -> bool:
        return self.status == COMPLETED

    def diverge(self, step: int) -> None:
        self.status = DIVERGED
        self.diverged_at = step
        self.step = step


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment(devices: list) -> dict[str, Any]:
    import flax
    import jax
    import optax

    from ganbench.version import __version__

    return {
        "ganbench": __version__,
        "jax": jax.__version__,
        "flax": flax.__version__,
        "optax": optax.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": jax.default_backend(),
        "device_kind": devices[0].device_kind if devices else None,
        "device_count": len(devices),
        "host": platform.node(),
        "os": platform.platform(),
        "git_revision": _git_revision(),
    }


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def inception_key(evaluator) -> str:
    """What a floor's run id adds for the extractors beyond the dataset's classifier."""
    return evaluator.key()


def extractor_info(evaluator) -> dict[str, Any]:
    """What an image run's metrics were measured with: the dataset classifier's checksum and
    test accuracy, and every extractor's record (name, resize, feature dimension, batch size,
    weights' path and checksum); the Inception weights also under ``inception``, as before;
    under ``skipped``, a dataset's classifier left out because it is not trained, with why."""
    info = {k: evaluator.info.get(k) for k in ("sha256", "test_accuracy", "source")}
    models = [model.info for model in evaluator.models]
    for model in models:
        if model["name"] == "inception":
            info["inception"] = {k: model["weights"].get(k) for k in ("path", "sha256")}
    info["extractors"] = models
    if getattr(evaluator, "skipped", None):
        info["skipped"] = dict(evaluator.skipped)
    return info


def chunk_info(records: list[RunRecord]) -> str:
    """A short progress note: mean modes of the live runs and the diverged count."""
    alive = [r for r in records if r.alive]
    vals = []
    for r in alive:
        last = next((v for (_, m, v, *_rest) in reversed(r.rows) if m == M.MODES), None)
        if last is not None:
            vals.append(last)
    div = len(records) - len(alive)
    parts = []
    if vals:
        parts.append(f"modes {np.mean(vals):.1f}")
    if div:
        parts.append(f"{div} diverged")
    return ", ".join(parts)


def manifest(
    identity: dict[str, Any],
    *,
    step: int,
    timing: dict[str, Any],
    started: str,
    env: dict[str, Any],
    status: str = COMPLETED,
    diverged_at: int | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """A run folder's manifest (:class:`ganbench.results.layout.Manifest`): what the run is
    (``identity``: run id, suite, variant, seed, grid point, config, protocol, dataset, ...),
    how it ended, when, and on what."""
    return {
        "schema": SCHEMA_VERSION,
        **identity,
        "status": status,
        "step": step,
        "diverged_at": diverged_at,
        "error": error,
        "timing": {**timing, "started": started, "finished": now()},
        "environment": env,
    }


def run_manifest(
    rec: RunRecord,
    suite: Suite,
    timing: dict,
    env: dict,
    group: Group,
    started: str,
    evaluator=None,
) -> dict[str, Any]:
    """The manifest of a trained run."""
    spec = rec.spec
    dataset = dataset_of(spec)
    identity = {
        "run_id": spec.run_id,
        "suite": spec.suite,
        "variant": spec.variant,
        "seed": spec.seed,
        "profile": spec.profile,
        "grid_point": spec.grid_point,
        **({"trial": spec.trial} if spec.trial is not None else {}),
        "config": spec.config.resolved(),
        "protocol": {
            "steps": spec.steps,
            "eval_every": spec.eval_every,
            "metrics": spec.metrics.protocol(),
        },
        "dataset": dataset.describe(),
        "group": {"key": group.key_hash, "runs": len(group.runs)},
        "suite_file": str(suite.path),
        **(
            {"extractor": extractor_info(evaluator)}
            if evaluator is not None and dataset.kind == IMAGE
            else {}
        ),
    }
    return manifest(
        identity,
        step=rec.step,
        timing=timing,
        started=started,
        env=env,
        status=rec.status,
        diverged_at=rec.diverged_at,
        error=rec.error,
    )
