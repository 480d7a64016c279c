"""Optimisers against their published update rules, computed by hand."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from ganbench.train.optim import OPTIMIZERS, make_optimizer


def test_optimistic_adam_is_twice_the_current_minus_the_previous_adam_direction():
    lr, b1, b2, eps = 0.1, 0.5, 0.9, 1e-8
    grads = [1.0, -2.0, 0.5, 3.0, 3.0]
    opt = make_optimizer("optimistic_adam")(
        learning_rate=jnp.float32(lr), b1=jnp.float32(b1), b2=jnp.float32(b2), eps=jnp.float32(eps)
    )
    params = jnp.zeros(1, jnp.float32)
    state = opt.init(params)
    m = v = 0.0
    r_prev = None
    for t, g in enumerate(grads, start=1):
        updates, state = opt.update(jnp.full(1, g, jnp.float32), state, params)
        # Daskalakis et al. 2018, Algorithm 1 (without AMSGrad), bias-corrected Adam direction r.
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        r = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        r_prev = r if r_prev is None else r_prev  # the first step is plain Adam
        expected = -lr * (2 * r - r_prev)
        assert float(updates[0]) == pytest.approx(expected, rel=1e-5), t
        r_prev = r


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_takes_its_registered_knobs(name):
    knobs = {k: jnp.float32(knob.default) for k, knob in OPTIMIZERS.get(name).knobs.items()}
    opt = make_optimizer(name)(learning_rate=jnp.float32(0.01), **knobs)
    params = jnp.ones(3, jnp.float32)
    updates, state = opt.update(jnp.ones(3, jnp.float32), opt.init(params), params)
    assert set(state.hyperparams) >= set(knobs) | {"learning_rate"}
    assert np.all(np.asarray(updates) < 0)  # a descent step on a positive gradient
