"""Progress on stderr: rich bars on a terminal, plain lines otherwise.

Groups that run side by side (one thread each) report through the same object: the group a
call refers to is the one its thread started.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ganbench.cli.console import err
from ganbench.run.progress import NullProgress


class RichProgress:
    def __init__(self, n_groups: int) -> None:
        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}", markup=False),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )
        self._groups = (
            self._progress.add_task("groups", total=n_groups, info="") if n_groups else None
        )
        self._local = threading.local()  # .steps: this thread's group task

    def __enter__(self) -> RichProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)

    def start_group(self, index: int, total: int, label: str, steps: int) -> None:
        old = getattr(self._local, "steps", None)
        if old is not None:
            self._progress.remove_task(old)
        if self._groups is not None:  # later passes add groups
            self._progress.update(self._groups, total=total)
        self._local.steps = self._progress.add_task(f"  {label}", total=steps, info="compiling")

    def advance(self, steps: int, info: str) -> None:
        self._progress.update(self._local.steps, advance=steps, info=info)

    def end_group(self, message: str) -> None:
        if self._groups is not None:
            self._progress.advance(self._groups)
        self._progress.remove_task(self._local.steps)
        self._local.steps = None
        self._progress.console.print(f"  {message}", highlight=False, markup=False)

    def log(self, message: str) -> None:
        self._progress.console.print(message, highlight=False, markup=False)

    def task(self, label: str, total: int) -> _RichTask:
        return _RichTask(self._progress, label, total)


class _RichTask:
    def __init__(self, progress: Progress, label: str, total: int) -> None:
        self._progress = progress
        self._id = progress.add_task(f"  {label}", total=total, info="")

    def update(self, done: int, info: str) -> None:
        self._progress.update(self._id, completed=done, info=info)

    def close(self, message: str) -> None:
        self._progress.remove_task(self._id)
        self._progress.console.print(f"  {message}", highlight=False, markup=False)


class PlainProgress:
    """One line per chunk, for logs and CI."""

    def __init__(self, n_groups: int) -> None:
        self._n = n_groups
        self._local = threading.local()  # this thread's group: label, done, total, t0

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def start_group(self, index: int, total: int, label: str, steps: int) -> None:
        g = self._local
        g.label, g.done, g.total, g.t0 = label, 0, steps, time.perf_counter()
        err.print(f"[group {index + 1}/{total}] {label}: compiling", highlight=False, markup=False)

    def advance(self, steps: int, info: str) -> None:
        g = self._local
        g.done += steps
        dt = time.perf_counter() - g.t0
        note = f" ({info})" if info else ""
        err.print(f"  step {g.done}/{g.total}{note} {dt:.1f}s", highlight=False, markup=False)

    def end_group(self, message: str) -> None:
        err.print(f"  {message}", highlight=False, markup=False)

    def log(self, message: str) -> None:
        err.print(message, highlight=False, markup=False)

    def task(self, label: str, total: int) -> _PlainTask:
        return _PlainTask(label, total)


class _PlainTask:
    """A line at every tenth of the work (and the last step), with the time so far and the
    estimated time left."""

    def __init__(self, label: str, total: int) -> None:
        self._label = label
        self._total = max(total, 1)
        self._t0 = time.perf_counter()
        self._shown = 0  # tenths of the work already printed

    def update(self, done: int, info: str) -> None:
        tenth = 10 * done // self._total
        if tenth <= self._shown and done < self._total:
            return
        self._shown = tenth
        dt = time.perf_counter() - self._t0
        left = dt * (self._total - done) / max(done, 1)
        note = f" ({info})" if info else ""
        err.print(
            f"  {self._label} {done}/{self._total}{note} {dt:.0f}s, ~{left:.0f}s left",
            highlight=False,
            markup=False,
        )

    def close(self, message: str) -> None:
        err.print(f"  {message}", highlight=False, markup=False)


class RunProgress:
    """What ``ganbench run`` prints around training: the plan's one line, the bar (rich on a
    terminal, plain lines otherwise) while groups train, and the counts at the end.
    ``summary`` is the run's :class:`ganbench.run.schedule.RunSummary` once finished."""

    def __init__(self, out: Path, process: int = 0, processes: int = 1, *, rich: bool) -> None:
        self._out = out
        self._where = f"process {process} of {processes}: " if processes > 1 else ""
        self._rich = rich
        self._bar: RichProgress | PlainProgress | None = None
        self._suite = ""
        self.summary = None

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None

    def planned(self, plan) -> None:
        import jax

        self._suite = plan.suite.name
        if plan.elsewhere and not plan.groups:
            _say(f"{self._where}nothing to do here; {len(plan.elsewhere)} groups are other "
                 "processes'")  # fmt: skip
            return
        if not plan.groups:
            _say(f"{self._where}nothing to do: all {len(plan.skipped)} runs of {self._suite!r} "
                 f"are finished in {self._out / self._suite} (use --force to retrain)")  # fmt: skip
            return
        local = jax.local_devices()
        _say(
            f"{self._where}{self._suite}: {plan.todo} runs in {len(plan.groups)} compiled groups "
            f"on {len(local)} {local[0].platform} device(s)"
            + (f"; {len(plan.skipped)} finished runs skipped" if plan.skipped else "")
            + (f"; {plan.resumed} group(s) resume from a checkpoint" if plan.resumed else "")
            + (f"; {len(plan.elsewhere)} groups on other processes" if plan.elsewhere else "")
        )
        bar = RichProgress if self._rich else PlainProgress
        self._bar = bar(len(plan.groups)).__enter__()

    def finished(self, summary) -> None:
        self.summary = summary
        if self._bar is not None:  # else nothing was trained: the plan's line said so
            self._done(summary)
        if self._where:
            _say(f"{self._where}waiting for the other processes")

    def _done(self, summary) -> None:
        self._bar.__exit__(None, None, None)
        self._bar = None
        _say(
            f"{self._where}done in {summary.wall_seconds:.1f}s: {summary.completed} completed, "
            f"{summary.diverged} diverged, {summary.failed} failed, {summary.skipped} skipped"
            + (
                f", {summary.claimed_elsewhere} trained by other processes"
                if summary.claimed_elsewhere
                else ""
            )
            + f"; results in {self._out / self._suite}"
        )

    # The training's own events go to the bar.
    def start_group(self, index: int, total: int, label: str, steps: int) -> None:
        self._active().start_group(index, total, label, steps)

    def advance(self, steps: int, info: str) -> None:
        self._active().advance(steps, info)

    def end_group(self, message: str) -> None:
        self._active().end_group(message)

    def log(self, message: str) -> None:
        self._active().log(message)

    def task(self, label: str, total: int):
        return self._active().task(label, total)

    def _active(self):
        # With nothing to train, the data and chance rows are written silently.
        return self._bar if self._bar is not None else NullProgress()


def _say(line: str) -> None:
    err.print(line, highlight=False, markup=False)
