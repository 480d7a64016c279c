"""Threefry-2x32 unrolled on CPU (ganbench.train.threefry): the same bits, no loop."""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.random import threefry_2x32

from ganbench.train import threefry

# Random123's known-answer vectors for Threefry-2x32 with 20 rounds ("threefry2x32_20" in its
# kat_vectors): (key, counter) -> output.
KAT = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]

DRAWS = """
import jax, numpy as np
key = jax.random.key(42)
k1, k2 = jax.random.split(key)
out = [jax.random.bits(key, (5,)), jax.random.normal(k1, (5,)), jax.random.uniform(k2, (5,)),
       jax.random.key_data(jax.random.split(jax.random.fold_in(key, 7), 3)).ravel()]
print(" ".join(str(x) for x in np.concatenate([np.asarray(o).view(np.uint32) for o in out])))
"""


def test_unrolled_threefry_gives_the_known_answers_without_a_loop():
    assert threefry.unroll_on_cpu()
    assert threefry.unroll_on_cpu()  # idempotent
    for key, counter, expected in KAT:
        out = jax.jit(threefry_2x32)(jnp.asarray(key, jnp.uint32), jnp.asarray(counter, jnp.uint32))
        assert [int(v) for v in np.asarray(out)] == list(expected)
    text = jax.jit(lambda k: jax.random.normal(k, (64,))).lower(jax.random.key(0)).as_text()
    assert "while" not in text


def test_draws_equal_those_of_the_default_lowering():
    """Fresh processes: one with JAX's default (rolled) CPU lowering, one unrolled."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    unroll = "from ganbench.train import threefry\nassert threefry.unroll_on_cpu()\n"
    out = [
        subprocess.run(
            [sys.executable, "-c", prefix + DRAWS],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for prefix in ("", unroll)
    ]
    assert len(out[0]) == 21 and out[0] == out[1]
