"""Slow: the engine actually learns a known answer (run with `nox -s slow`)."""

from __future__ import annotations

import jax
import pytest

from ganbench.config import load_suite
from ganbench.metrics import names as M
from ganbench.train.runner import Group, NullProgress, train_group


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
        final = {m: v for (_, m, v, *_r) in rec.rows}
        assert rec.status == "completed"
        # An untrained generator puts its samples near the origin: 0 modes, FD ~ 0.5.
        assert final[M.MODES] >= 6, final
        assert final[M.FD] < 0.1, final
