"""Checkpoints of a training group at chunk boundaries, for exact resume after a crash.

A checkpoint is one ``.npz`` file, ``<out>/<suite>/.checkpoints/<group id>.npz``, written with
:func:`ganbench.data.store.atomic_write_bytes` (temporary file, ``fsync``, rename, ``fsync`` of
the folder): a crash at any point leaves the previous checkpoint or the new one, never a part.
It holds

- every leaf of the group's training state (all runs stacked, padding included), in the order of
  ``jax.tree.flatten``; typed PRNG keys are stored as their key data;
- what the runs have recorded so far: metric rows, sample snapshots, trajectories, image grids,
  status and the step of divergence;
- a JSON header: format, the group's id and run ids, the chunk reached, and the settings that
  must match for the training to continue bit for bit (ganbench and jax versions, platform,
  device count, padded run count).

The state is restored into the freshly initialised state's shardings, so the compiled programs
continue as if they had never stopped: on the same machine a resumed run ends with the same
metrics, bit for bit, as an uninterrupted one. Arrays are read with ``allow_pickle=False``; a
checkpoint that cannot be read or does not match is reported and ignored (training restarts).

The format is plain NumPy rather than a checkpointing library's: the state of a group is a few
arrays that live in one process, and a single atomically renamed file is the simplest thing that
can never be half-written; it also needs nothing beyond NumPy to inspect.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ganbench.fileio import atomic_write_bytes, open_regular
from ganbench.results.layout import COMPLETED, STATUSES

if TYPE_CHECKING:
    from ganbench.run.compile import CompiledGroup
    from ganbench.run.plan import Group
    from ganbench.run.record import RunRecord

FORMAT = 1
HEADER = "__header__"
CHECKPOINTS_DIR = ".checkpoints"


def checkpoint_path(suite_folder: Path, group_id: str) -> Path:
    return Path(suite_folder) / CHECKPOINTS_DIR / f"{group_id}.npz"


@dataclass
class Checkpoint:
    """A checkpoint read back: its header, state leaves and per-run records (as dicts)."""

    header: dict[str, Any]
    leaves: list[np.ndarray]
    records: list[dict[str, Any]]

    @property
    def chunk(self) -> int:
        """Chunks completed (the next chunk to train)."""
        return int(self.header["chunk"])


def _json_float(value: Any) -> Any:
    """Floats as JSON can hold them exactly: finite floats round-trip through repr; non-finite
    ones are tagged strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    return value


def _from_json_float(value: Any) -> Any:
    if isinstance(value, dict) and "float" in value:
        return float(value["float"])
    return value


def _is_key(leaf: Any) -> bool:
    import jax

    return jax.dtypes.issubdtype(getattr(leaf, "dtype", np.float32), jax.dtypes.prng_key)


def encode(header: dict[str, Any], state: Any, records: list) -> bytes:
    """The checkpoint's bytes: ``state`` (a pytree of device arrays) and ``records``
    (:class:`ganbench.run.record.RunRecord`)."""
    import jax

    leaves = jax.tree.leaves(state)
    arrays: dict[str, np.ndarray] = {}
    keys = []
    for i, leaf in enumerate(leaves):
        if _is_key(leaf):
            keys.append(i)
            leaf = jax.random.key_data(leaf)
        arrays[f"state/{i}"] = np.asarray(jax.device_get(leaf))
    recs = []
    for r, rec in enumerate(records):
        prefix = f"run/{r}/"
        for name, value in rec.snapshots.items():
            arrays[f"{prefix}snapshot/{name}"] = np.asarray(value)
        for name, data in rec.files.items():
            arrays[f"{prefix}file/{name}"] = np.frombuffer(data, np.uint8)
        if rec.final is not None:
            arrays[prefix + "final"] = np.asarray(rec.final)
        if rec.final_ema is not None:
            arrays[prefix + "final_ema"] = np.asarray(rec.final_ema)
        if rec.trajectory:
            arrays[prefix + "trajectory"] = np.concatenate(rec.trajectory)
        recs.append(
            {
                "run_id": rec.spec.run_id,
                "status": rec.status,
                "step": rec.step,
                "diverged_at": rec.diverged_at,
                "error": rec.error,
                "rows": [[_json_float(v) for v in row] for row in rec.rows],
                "snapshots": list(rec.snapshots),
                "files": list(rec.files),
            }
        )
    head = {**header, "format": FORMAT, "n_leaves": len(leaves), "key_leaves": keys}
    head["records"] = recs
    arrays[HEADER] = np.frombuffer(json.dumps(head).encode(), np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def save(path: Path, header: dict[str, Any], state: Any, records: list) -> None:
    atomic_write_bytes(path, encode(header, state, records))


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read (truncated, corrupt, another format)."""


def read(path: Path) -> Checkpoint:
    """Read a checkpoint file (no pickle). Raises OSError, or CheckpointError when the file is
    not a whole checkpoint (or not a regular file)."""
    with open_regular(path) as f:
        try:
            return _read(f)
        except CheckpointError:
            raise
        except Exception as exc:  # any parse failure of untrusted bytes
            raise CheckpointError(f"unreadable checkpoint ({type(exc).__name__}: {exc})") from exc


def _read(f) -> Checkpoint:
    with np.load(f, allow_pickle=False) as z:
        head = _header(z)
        leaves = [z[f"state/{i}"] for i in range(int(head["n_leaves"]))]
        records = []
        for r, rec in enumerate(head["records"]):
            prefix = f"run/{r}/"
            rec = dict(rec)
            rec["rows"] = [tuple(_from_json_float(v) for v in row) for row in rec["rows"]]
            rec["snapshots"] = {n: z[f"{prefix}snapshot/{n}"] for n in rec["snapshots"]}
            rec["files"] = {n: z[f"{prefix}file/{n}"].tobytes() for n in rec["files"]}
            for name in ("final", "final_ema", "trajectory"):
                rec[name] = z[prefix + name] if prefix + name in z.files else None
            records.append(rec)
    return Checkpoint(head, leaves, records)


def _header(z) -> dict[str, Any]:
    head = json.loads(bytes(z[HEADER]).decode())
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise CheckpointError("not a ganbench checkpoint of format 1")
    return head


def read_header(path: Path) -> dict[str, Any]:
    """Only the JSON header (cheap: one member of the archive). Raises OSError or
    CheckpointError."""
    with open_regular(path) as f:
        try:
            with np.load(f, allow_pickle=False) as z:
                return _header(z)
        except CheckpointError:
            raise
        except Exception as exc:  # any parse failure of untrusted bytes
            raise CheckpointError(f"unreadable checkpoint ({type(exc).__name__}: {exc})") from exc


def restore_state(template: Any, checkpoint: Checkpoint) -> Any:
    """The checkpoint's state placed like ``template`` (same tree, shapes and shardings)."""
    import jax

    leaves, treedef = jax.tree.flatten(template)
    if len(leaves) != len(checkpoint.leaves):
        raise ValueError(f"{len(checkpoint.leaves)} state arrays, expected {len(leaves)}")
    keys = set(checkpoint.header["key_leaves"])
    out = []
    for i, (like, saved) in enumerate(zip(leaves, checkpoint.leaves, strict=True)):
        if i in keys:
            data = jax.random.key_data(like)
            if saved.shape != data.shape or saved.dtype != data.dtype:
                raise ValueError(f"state key {i}: {saved.dtype}{saved.shape} != {data.shape}")
            out.append(
                jax.random.wrap_key_data(
                    jax.device_put(saved, like.sharding), impl=jax.random.key_impl(like)
                )
            )
            continue
        if saved.shape != like.shape or saved.dtype != like.dtype:
            raise ValueError(
                f"state array {i}: saved {saved.dtype}{saved.shape}, expected "
                f"{like.dtype}{like.shape}"
            )
        out.append(jax.device_put(saved, like.sharding))
    return jax.tree.unflatten(treedef, out)


def checkpoint_header(group: Group, compiled: CompiledGroup, chunk: int) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the group, and the settings under which the
    compiled programs give the same numbers (versions, platform, devices, padding)."""
    import jax

    from ganbench.version import __version__

    spec0 = group.runs[0]
    return {
        "group": group.id,
        "run_ids": [r.run_id for r in group.runs],
        "chunk": chunk,
        "steps": spec0.steps,
        "eval_every": spec0.eval_every,
        "ganbench": __version__,
        "jax": jax.__version__,
        "platform": jax.default_backend(),
        "devices": compiled.n_devices,
        "padded_runs": int(compiled.seeds.shape[0]),
        "exact_runs": compiled.exact,
    }


@dataclass
class Checkpointing:
    """Where and how often a group's training is checkpointed (None path: never)."""

    path: Path | None = None
    every_seconds: float = 60.0
    resume: bool = True


def _restore_records(records: list[RunRecord], saved: list[dict], end: int) -> None:
    """The records of a checkpoint taken at step ``end``, checked against it: a run still
    training is at ``end``, none is past it, and no row is later (an edited header must not
    turn half-trained runs into finished ones)."""
    if [d["run_id"] for d in saved] != [r.spec.run_id for r in records]:
        raise ValueError("its runs are not this group's")
    for data in saved:
        status, step, diverged_at = data["status"], data["step"], data["diverged_at"]
        if status not in STATUSES:
            raise ValueError(f"run {data['run_id']} has status {status!r}")
        if not isinstance(step, int) or step > end or (status == COMPLETED and step != end):
            raise ValueError(f"run {data['run_id']} is at step {step!r}, the checkpoint at {end}")
        if diverged_at is not None and not (isinstance(diverged_at, int) and diverged_at <= end):
            raise ValueError(f"run {data['run_id']} diverged at {diverged_at!r}, after {end}")
        if any(not isinstance(row[0], int) or row[0] > end for row in data["rows"]):
            raise ValueError(f"run {data['run_id']} has rows after step {end}")
    for rec, data in zip(records, saved, strict=True):
        rec.status, rec.step = data["status"], data["step"]
        rec.diverged_at, rec.error = data["diverged_at"], data["error"]
        rec.rows = list(data["rows"])
        rec.snapshots = dict(data["snapshots"])
        rec.files = dict(data["files"])
        rec.final, rec.final_ema = data["final"], data["final_ema"]
        rec.trajectory = [] if data["trajectory"] is None else [data["trajectory"]]


def resume(group, compiled, state, records, ckpt: Checkpointing, progress) -> tuple[Any, int]:
    """The state and first chunk to train: from the group's checkpoint when there is a matching
    one, else the initial state and chunk 0."""
    import jax

    if ckpt.path is None or not ckpt.resume or not ckpt.path.exists():
        return state, 0
    try:
        saved = read(ckpt.path)
        expect = checkpoint_header(group, compiled, saved.chunk)
        diff = [k for k, v in expect.items() if saved.header.get(k) != v]
        if diff:
            raise ValueError("it was written under other settings: " + ", ".join(diff))
        spec0 = group.runs[0]
        n_chunks, end = spec0.steps // spec0.eval_every, saved.chunk * spec0.eval_every
        if not 0 < saved.chunk < n_chunks:  # written between chunks, never after the last
            raise ValueError(f"its chunk {saved.chunk} is not one of 1..{n_chunks - 1}")
        restored = restore_state(state, saved)
        at = {int(s) for s in np.asarray(jax.device_get(restored.step)).ravel()}
        if at != {end}:
            raise ValueError(f"its state is at step {sorted(at)}, its header at {end}")
        _restore_records(records, saved.records, end)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        progress.log(f"ignoring checkpoint {ckpt.path}: {exc}; training {group.label} afresh")
        return state, 0
    progress.log(
        f"resuming {group.label} from its checkpoint at step {saved.chunk * group.runs[0].eval_every}"
    )
    return restored, saved.chunk
