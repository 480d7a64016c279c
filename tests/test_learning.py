"""Slow: the engine actually learns a known answer (run with `nox -s slow`)."""

from __future__ import annotations

import jax
import pytest

from ganbench.config import load_suite
from ganbench.metrics import names as M
from ganbench.run.loop import train_group
from ganbench.run.plan import Group
from ganbench.run.progress import NullProgress


@pytest.mark.slow
def test_non_saturating_gan_learns_the_ring(write_suite):
    path = write_suite(
        """
        [[variants]]
        name = "ns"
        loss = "non_saturating"
        generator = { width = 64, depth = 2 }
        discriminator = { width = 64, depth = 2 }
        """
    )
    suite = load_suite(
        path,
        seeds=2,
        steps=3000,
        overrides=["suite.eval_every=1000", "defaults.batch_size=128", "metrics.samples=2000"],
    )
    records, _ = train_group(
        Group("ns", suite.runs), devices=jax.local_devices(), progress=NullProgress()
    )
    # An untrained generator puts its samples near the origin: 0 modes, FD ~ 0.5. Learning
    # means that the ring is matched (all 8 modes, FD two orders below) at some evaluation; a
    # non-saturating GAN may drop modes for thousands of steps, so one seed must match it and
    # every seed is held to "far from untrained". (On one 2-core x86-64 CPU seed 0 held 5-6
    # modes from step 1000 to 3000 while seed 1 matched the ring by step 2000; on another both
    # matched: float rounding differs between CPUs, and the game is chaotic. Of 4 seeds trained
    # as one group, one matched and all ended with 6-8 modes.)
    matched = 0
    for rec in records:
        assert rec.status == "completed"
        by_step: dict[int, dict[str, float]] = {}
        for step, metric, value, *_rest in rec.rows:
            by_step.setdefault(step, {})[metric] = value
        matched += any(e[M.MODES] == 8 and e[M.FD] < 0.02 for e in by_step.values())
        final = by_step[max(by_step)]
        assert final[M.MODES] >= 5, final
        assert final[M.FD] < 0.25, final
    assert matched >= 1, "no seed matched the ring"
