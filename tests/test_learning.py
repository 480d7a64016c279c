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
    for rec in records:
        assert rec.status == "completed"
        by_step: dict[int, dict[str, float]] = {}
        for step, metric, value, *_rest in rec.rows:
            by_step.setdefault(step, {})[metric] = value
        # An untrained generator puts its samples near the origin: 0 modes, FD ~ 0.5. Learning
        # means that at some evaluation the ring is matched (all 8 modes, FD two orders below);
        # a non-saturating GAN may then drop and re-find a mode, so the final evaluation is only
        # held to "still far from untrained".
        assert any(e[M.MODES] == 8 and e[M.FD] < 0.02 for e in by_step.values()), by_step
        final = by_step[max(by_step)]
        assert final[M.MODES] >= 6, final
        assert final[M.FD] < 0.25, final
