"""What the runner reports progress to: the CLI's rich bars, or nothing."""

from __future__ import annotations

from typing import Any, Protocol


class Progress(Protocol):
    """What training reports as it goes. :func:`ganbench.api.run_suite` also calls
    ``planned(plan)`` once the plan is made and ``finished(summary)`` (a
    :class:`ganbench.run.schedule.RunSummary`) at the end, where the object has them."""

    def start_group(self, index: int, total: int, label: str, steps: int) -> None: ...
    def advance(self, steps: int, info: str) -> None: ...
    def end_group(self, message: str) -> None: ...
    def log(self, message: str) -> None: ...
    def task(self, label: str, total: int) -> TaskProgress: ...


class TaskProgress(Protocol):
    """A bar for work outside the groups (training the MNIST feature classifier)."""

    def update(self, done: int, info: str) -> None: ...
    def close(self, message: str) -> None: ...


class _NullTask:
    def update(self, done: int, info: str) -> None:
        pass

    def close(self, message: str) -> None:
        pass


class NullProgress:
    def task(self, label: str, total: int) -> TaskProgress:
        return _NullTask()

    def start_group(self, index: int, total: int, label: str, steps: int) -> None:
        pass

    def advance(self, steps: int, info: str) -> None:
        pass

    def end_group(self, message: str) -> None:
        pass

    def log(self, message: str) -> None:
        pass


def notify(progress: Any, event: str, arg: Any) -> None:
    """Call ``progress.<event>(arg)`` where ``progress`` has that method (``planned`` and
    ``finished`` are optional)."""
    method = getattr(progress, event, None)
    if method is not None:
        method(arg)
