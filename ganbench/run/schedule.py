"""Run a plan: load the image evaluator, write the baseline runs, then claim, train and write
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
from ganbench.data import mnist as mnist_data
from ganbench.diagnostics.image_eval import default_extractors, load_extractor
from ganbench.diagnostics.images import to_uint8
from ganbench.results.claims import ClaimBook
from ganbench.results.layout import COMPLETED, DIVERGED, FAILED, STATUSES
from ganbench.results.write import is_finished, run_dir, write_run, write_suite_file
from ganbench.run.baselines import write_chance_rows, write_floor
from ganbench.run.checkpoint import CHECKPOINTS_DIR, Checkpointing, checkpoint_path
from ganbench.run.loop import train_group
from ganbench.run.plan import Group, Plan, dataset_of, replan
from ganbench.run.progress import NullProgress, Progress
from ganbench.run.record import RunRecord, environment, now, run_manifest


@dataclass
class RunSummary:
    completed: int = 0
    diverged: int = 0
    failed: int = 0
    skipped: int = 0
    claimed_elsewhere: int = 0
    """Runs of the plan that another process trained or is training (they held a claim on
    them, or finished them first)."""
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
    ctx = _Context(
        plan, progress, None, env, summary, threading.Lock(), ClaimBook(plan.suite_folder)
    )
    # Before anything is written: missing MNIST is bad input (exit 2), not a failed run.
    _load_evaluator(ctx, plan.groups)
    write_suite_file(plan.out, plan.suite.name, plan.suite.raw)
    write_chance_rows(plan, env)
    todo = {r.run_id for g in plan.groups for r in g.to_write}
    current, shown = plan, 0
    while current.groups:
        trained = len(ctx.written)
        _load_evaluator(ctx, current.groups)
        for group in current.groups:
            if is_image_dataset(group.runs[0].config.dataset):
                write_floor(plan, group, ctx.evaluator, env, ctx.book)
        _run_groups(ctx, current, devices, shown)
        shown += len(current.groups)
        # Runs that nobody trains: those other processes grouped differently and skipped
        # because this process held some of their group, or whose holder died.
        with ctx.book.planning():
            left = [
                r.run_id
                for r in plan.suite.runs
                if r.run_id not in ctx.written and not is_finished(_run_path(plan, r))
            ]
            held = ctx.book.held(left)
        again = replan(current, exclude=held | ctx.written)
        if not again.groups or (
            len(ctx.written) == trained and _run_ids(again) == _run_ids(current)
        ):
            break
        progress.log(
            f"{again.todo} run(s) not finished and not claimed by another process: training "
            "them here"
        )
        current = again
    summary.claimed_elsewhere = len(todo - ctx.written)
    summary.wall_seconds = time.perf_counter() - t_start
    return summary


def _load_evaluator(ctx: _Context, groups: list[Group]) -> None:
    """The image evaluator, loaded (once) when one of ``groups`` trains on images: the
    extractors the suite names, else each dataset's own classifier (the MNIST classifier for
    MNIST data). Every image dataset is checked first: missing data are bad input (exit 2),
    found before anything is written."""
    image = [g for g in groups if is_image_dataset(g.runs[0].config.dataset)]
    if ctx.evaluator is not None or not image:
        return
    datasets = {}
    for group in image:
        dataset = dataset_of(group.runs[0])
        datasets.setdefault(dataset.name, dataset)
    spec = image[0].runs[0]
    metrics = spec.metrics
    defaults: list[str] = []
    for dataset in datasets.values():
        defaults += [n for n in default_extractors(dataset) if n not in defaults]
    names = metrics.extractor_list(defaults)
    # Files the user gives (weights) first, then MNIST, then the other image data: every
    # missing file is found before anything is trained or written. A labelled dataset's own
    # classifier, when the suite does not name it, is optional: untrained, its runs simply
    # record no class metrics (the manifest says why).
    evaluator = load_extractor(
        log=ctx.progress.log,
        task=ctx.progress.task,
        extractors=names,
        weights=metrics.weight_files(),
        resize=metrics.resize,
        optional=frozenset(defaults) if metrics.extractors is None else frozenset(),
    )
    for name, why in evaluator.skipped.items():
        ctx.progress.log(
            f"{why}. Until then, its dataset's runs record no class metrics and nothing in "
            f"{name}'s features (their manifests say why)"
        )
    for dataset in datasets.values():
        if dataset.name in ("mnist", "stacked_mnist"):
            for split in ("train", "test"):
                mnist_data.load_mnist(split)
        else:
            dataset.check_available()
    ctx.evaluator = evaluator
    for name, dataset in datasets.items():
        if evaluator.classifies(dataset) or dataset.extractor in evaluator.skipped:
            continue
        measuring = [m.extractor.name for m in evaluator.models if evaluator.applies(m, dataset)]
        ctx.progress.log(
            f"dataset {name!r}: no classifier of these images is named, so its runs record "
            + (
                f"the metrics of {', '.join(measuring)} and no class metrics"
                if measuring
                else "no image metrics (training statistics and sample grids only); name a "
                "feature extractor in [metrics] extractors (ganbench list extractors) to "
                "measure them"
            )
        )
    info = ctx.evaluator.info
    if info.get("test_accuracy") is not None:
        name = evaluator.models[0].extractor.name
        what = "MNIST feature classifier" if name == "mnist_cnn" else f"{name} classifier"
        ctx.progress.log(
            f"{what} ({info.get('source', 'cached')}, sha256 {str(info.get('sha256'))[:12]}): "
            f"test accuracy {100 * info['test_accuracy']:.2f}%"
        )


def _run_ids(plan: Plan) -> set[str]:
    return {r.run_id for g in plan.groups for r in g.to_write}


def _run_groups(ctx: _Context, plan: Plan, devices: list, shown: int) -> None:
    """Claim, train and write every group of ``plan`` that is still free, on ``devices``."""
    run = functools.partial(_claim_and_train, ctx, plan, shown)
    needs = [min(len(g.runs), len(devices)) for g in plan.groups]
    if all(n == len(devices) for n in needs):
        for gi in range(len(plan.groups)):
            run(gi, devices)
    else:
        _run_side_by_side(run, needs, devices)


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
    book: ClaimBook
    written: set[str] = field(default_factory=set)
    """Runs this process has trained and written (or recorded as failed)."""


def _claim_and_train(ctx: _Context, plan: Plan, shown: int, gi: int, devices: list) -> None:
    """Train and write one group if every run it writes can be claimed and none of them has
    been finished meanwhile by another process; otherwise leave it (what is left of it is
    planned again once this process's groups are done)."""
    progress = ctx.progress
    group = plan.groups[gi]
    ids = [r.run_id for r in group.to_write]
    with ctx.book.planning():
        claims, holder = ctx.book.claim(ids)
        done = (
            [i for i, r in zip(ids, group.to_write, strict=True) if is_finished(_run_path(plan, r))]
            if claims is not None and not plan.force
            else []
        )
        if done:
            claims.release()
    if claims is None:
        progress.log(f"skipped {group.label}: being trained by {holder}")
        return
    if done:
        progress.log(
            f"skipped {group.label}: {len(done)} of its runs were finished by another process"
        )
        return
    with claims:
        _train_and_write(ctx, plan, group, shown + gi, shown + len(plan.groups), devices)
        with ctx.lock:
            ctx.written.update(ids)


def _run_path(plan: Plan, spec: RunSpec) -> Path:
    return run_dir(plan.out, spec.suite, spec.run_id)


def _train_and_write(
    ctx: _Context, plan: Plan, group: Group, index: int, total: int, devices: list
) -> None:
    """Train one claimed group (resuming its checkpoint), write its runs, drop the checkpoint."""
    progress, evaluator, env = ctx.progress, ctx.evaluator, ctx.env
    summary, lock = ctx.summary, ctx.lock

    ckpt = Checkpointing(
        checkpoint_path(plan.suite_folder, group.id),
        every_seconds=plan.checkpoint_every,
        resume=not plan.force,
    )
    started = now()
    spec0 = group.runs[0]
    progress.start_group(index, total, group.label, spec0.steps)
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
