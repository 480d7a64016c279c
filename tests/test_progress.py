"""The terminal progress of `ganbench run`: rich bars and plain lines, for groups and for the
MNIST classifier's training."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from ganbench.cli import progress as progress_mod


@pytest.fixture
def captured(monkeypatch):
    buffer = io.StringIO()
    console = Console(file=buffer, width=120, force_terminal=False, color_system=None)
    monkeypatch.setattr(progress_mod, "err", console)
    return buffer


def test_plain_task_prints_every_tenth_with_time_left(captured, monkeypatch):
    clock = iter([0.0, 10.0, 20.0, 30.0])
    monkeypatch.setattr(progress_mod.time, "perf_counter", lambda: next(clock))
    task = progress_mod.PlainProgress(1).task("classifier", 100)
    task.update(5, "epoch 1/1")  # under a tenth: nothing
    task.update(10, "epoch 1/1, loss 0.5")  # 10 s for 10 of 100 steps: ~90 s left
    task.update(100, "epoch 1/1, loss 0.1")
    task.close("classifier trained")
    lines = captured.getvalue().splitlines()
    assert lines == [
        "  classifier 10/100 (epoch 1/1, loss 0.5) 10s, ~90s left",
        "  classifier 100/100 (epoch 1/1, loss 0.1) 20s, ~0s left",
        "  classifier trained",
    ]


def test_rich_task_bar_sits_beside_the_groups_and_prints_its_message(captured):
    with progress_mod.RichProgress(2) as progress:
        task = progress.task("classifier", 10)
        task.update(4, "epoch 1/1, loss 0.3")
        inner = progress._progress
        (bar,) = [t for t in inner.tasks if t.description.strip() == "classifier"]
        assert (
            bar.completed == 4 and bar.total == 10 and bar.fields["info"] == "epoch 1/1, loss 0.3"
        )
        task.close("classifier trained in 3s")
        assert [t.description for t in inner.tasks] == ["groups"]
    assert "classifier trained in 3s" in captured.getvalue()
