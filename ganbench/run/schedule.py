"""Run a plan: load the image evaluator, write the reference runs, then claim, train and write
every group, side by side on the devices where groups need fewer than all of them."""

from __future__ import annotations

import functools
import shutil
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganbench.config import RunSpec
from ganbench.config.expand import is_image_dataset
from ganbench.diagnostics.image_eval import load_extractor
from ganbench.diagnostics.images import to_uint8
from ganbench.results.claims import Claim
from ganbench.results.layout import COMPLETED, DIVERGED, FAILED, STATUSES
from ganbench.results.write import is_finished, run_dir, write_run, write_suite_file
from ganbench.run.checkpoint import CHECKPOINTS_DIR, Checkpointing, checkpoint_path
from ganbench.run.loop import train_group
from ganbench.run.plan import Group, Plan
from ganbench.run.progress import NullProgress, Progress
from ganbench.run.record import RunRecord, environment, now, run_manifest
from ganbench.run.references import write_chance_rows, write_floor


@dataclass
class RunSummary:
    completed: int = 0
    diverged: int = 0
    failed: int = 0
    skipped: int = 0
    claimed_elsewhere: int = 0
    """Runs skipped because another process was training them."""
    wall_seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def run_plan(
    plan: Plan,
    *,
    devices: list | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Train every group of the plan and write its run folders."""
    import jax

    progress = progress or NullProgress()
    devices = list(devices if devices is not None else jax.local_devices())
    env = environment(devices)
    summary = RunSummary(skipped=len(plan.skipped))
    t_start = time.perf_counter()
    evaluator = None
    image_groups = [g for g in plan.groups if is_image_dataset(g.runs[0].config.dataset)]
    if image_groups:
        # Before anything is written: missing MNIST is bad input (exit 2), not a failed run.
        evaluator = load_extractor(
            log=progress.log,
            task=progress.task,
            inception_weights=image_groups[0].runs[0].metrics.inception_weights,
        )
        acc = evaluator.info.get("test_accuracy")
        if acc is not None:
            progress.log(f"MNIST feature classifier: test accuracy {100 * acc:.2f}%")
    write_suite_file(plan.out, plan.suite.name, plan.suite.raw)
    for group in image_groups:
        write_floor(plan, group, evaluator, env)
    write_chance_rows(plan, env)
    run = functools.partial(
        _claim_and_train, _Context(plan, progress, evaluator, env, summary, threading.Lock())
    )
    needs = [min(len(g.runs), len(devices)) for g in plan.groups]
    if all(n == len(devices) for n in needs):
        for gi in range(len(plan.groups)):
            run(gi, devices)
    else:
        _run_side_by_side(run, needs, devices)
    summary.wall_seconds = time.perf_counter() - t_start
    return summary


def _run_side_by_side(run, needs: list[int], devices: list) -> None:
    """Run groups that need fewer devices than there are side by side, each on its own devices
    (a group of R runs takes min(R, devices) of them, so its numbers do not depend on the
    schedule): the first group in plan order that fits in the free devices starts next."""
    cond = threading.Condition()
    free = list(devices)
    pending = list(range(len(needs)))
    errors: list[BaseException] = []

    def worker(gi: int, mine: list) -> None:
        try:
            run(gi, mine)
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)
        finally:
            with cond:
                free.extend(mine)
                free.sort(key=lambda d: d.id)
                cond.notify_all()

    with cond:
        while pending and not errors:
            gi = next((i for i in pending if needs[i] <= len(free)), None)
            if gi is None:
                cond.wait()
                continue
            pending.remove(gi)
            mine, free[:] = free[: needs[gi]], free[needs[gi] :]
            threading.Thread(target=worker, args=(gi, mine), daemon=True).start()
        while len(free) < len(devices):
            cond.wait()
    if errors:
        raise errors[0]


@dataclass
class _Context:
    """What every group of a plan is trained and written with (shared by the threads of groups
    that run side by side; ``lock`` guards ``summary``)."""

    plan: Plan
    progress: Progress
    evaluator: Any
    env: dict
    summary: RunSummary
    lock: threading.Lock


def _claim_and_train(ctx: _Context, gi: int, devices: list) -> None:
    plan, progress, summary, lock = ctx.plan, ctx.progress, ctx.summary, ctx.lock
    group = plan.groups[gi]
    claim = Claim(plan.suite_folder, group.id)
    if not claim.acquire():
        with lock:
            summary.claimed_elsewhere += len(group.to_write)
        progress.log(f"skipped {group.label}: being trained by {claim.holder}")
        return
    with claim:
        # Finished meanwhile (by a process that claimed, trained and released it)?
        todo = {r.run_id for r in group.to_write}
        done = {r.run_id for r in group.to_write if is_finished(_run_path(plan, r))}
        if not plan.force and done == todo:
            with lock:
                summary.skipped += len(todo)
            progress.log(f"skipped {group.label}: finished by another process")
            return
        _train_and_write(ctx, group, gi, devices)


def _run_path(plan: Plan, spec: RunSpec) -> Path:
    return run_dir(plan.out, spec.suite, spec.run_id)


def _train_and_write(ctx: _Context, group: Group, gi: int, devices: list) -> None:
    """Train one claimed group (resuming its checkpoint), write its runs, drop the checkpoint."""
    plan, progress, evaluator, env = ctx.plan, ctx.progress, ctx.evaluator, ctx.env
    summary, lock = ctx.summary, ctx.lock

    ckpt = Checkpointing(
        checkpoint_path(plan.suite_folder, group.id),
        every_seconds=plan.checkpoint_every,
        resume=not plan.force,
    )
    started = now()
    spec0 = group.runs[0]
    progress.start_group(gi, len(plan.groups), group.label, spec0.steps)
    try:
        records, timing = train_group(
            group,
            devices=devices,
            progress=progress,
            evaluator=evaluator,
            checkpointing=ckpt,
            exact=plan.exact,
        )
    except Exception as exc:  # a failed group is recorded; the suite goes on
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        records = [RunRecord(s, status=FAILED, error=detail) for s in group.runs]
        timing = {
            "compile_seconds": None,
            "wall_seconds": None,
            "group_runs": len(group.runs),
            "group_devices": None,
            "exact_runs": plan.exact,
        }
        with lock:
            summary.failures.append(f"{group.label}: {detail}")
        progress.log(f"group failed: {group.label}: {detail}")
    t_write = time.perf_counter()
    _remove_partial_folders(plan, group)
    keep = set() if plan.force else group.keep
    records = [rec for rec in records if rec.spec.run_id not in keep]
    for rec in records:
        samples: dict[str, np.ndarray] = dict(rec.snapshots)
        samples["final"] = (
            rec.final.astype(np.float32) if rec.final is not None else np.zeros((0, 0), np.float32)
        )
        if rec.final_ema is not None:
            samples["ema_final"] = rec.final_ema.astype(np.float32)
        if rec.final is not None and rec.final.ndim == 4:  # images: as 8-bit pixels
            samples["final"] = to_uint8(rec.final)
            if rec.final_ema is not None:
                samples["ema_final"] = to_uint8(rec.final_ema)
        if rec.trajectory:
            samples["trajectory"] = np.concatenate(rec.trajectory).astype(np.float32)
        write_run(
            plan.out,
            rec.spec.suite,
            rec.spec.run_id,
            run_manifest(rec, plan.suite, timing, env, group, started, evaluator),
            rec.rows,
            samples,
            files=rec.files,
        )
        with lock:
            if rec.status == COMPLETED:
                summary.completed += 1
            elif rec.status == DIVERGED:
                summary.diverged += 1
            else:
                summary.failed += 1
    if ckpt.path is not None:
        ckpt.path.unlink(missing_ok=True)  # every run is written: nothing left to resume
    counts = {s: sum(r.status == s for r in records) for s in STATUSES}
    wall = timing["wall_seconds"]
    phases = ", ".join(
        f"{name} {timing[f'{name}_seconds']:.1f}s"
        for name in ("compile", "train", "evaluate", "checkpoint")
        if timing.get(f"{name}_seconds")
    )
    phases += f", write {time.perf_counter() - t_write:.1f}s"
    progress.end_group(
        f"{group.label}: "
        + ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        + (f" in {wall:.1f}s ({phases})" if wall else "")
    )


def _remove_partial_folders(plan: Plan, group: Group) -> None:
    """Remove what a killed writer of this group left behind (``runs/.tmp-<run id>-*``,
    ``runs/.old-<run id>-*``, temporary checkpoint files); safe while the group is claimed. Readers never take these
    hidden folders for results."""

    for path in (plan.suite_folder / CHECKPOINTS_DIR).glob(f".{group.id}.npz.*.tmp"):
        path.unlink(missing_ok=True)
    for spec in group.runs:
        runs = _run_path(plan, spec).parent
        if runs.is_dir():
            for pattern in (f".tmp-{spec.run_id}-*", f".old-{spec.run_id}-*"):
                for path in runs.glob(pattern):
                    shutil.rmtree(path, ignore_errors=True)
