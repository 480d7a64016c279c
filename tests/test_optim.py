"""Optimisers against their published update rules, computed by hand."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from ganbench.train.engine import _SQRT_OPTIMIZERS
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


def _updates(name: str, grads: list[float], **knobs: float) -> list[float]:
    """Updates of ``name`` for a scalar parameter receiving ``grads``, one step each."""
    opt = make_optimizer(name)(**{k: jnp.float32(v) for k, v in knobs.items()})
    params = jnp.zeros(1, jnp.float32)
    state = opt.init(params)
    out = []
    for g in grads:
        updates, state = opt.update(jnp.full(1, g, jnp.float32), state, params)
        out.append(float(updates[0]))
    return out


GRADS = [1.0, -2.0, 0.5, 1e-5, 3.0]


@pytest.mark.parametrize("name", _SQRT_OPTIMIZERS)
def test_unrolled_optimizers_take_eps_root_inside_the_square_root(name):
    # Unrolling builds these optimisers with eps_root (and raises it to differentiate through
    # them): the first step of either is Adam's, -lr m / (sqrt(v + eps_root) + eps).
    lr, eps_root, eps, g = 0.1, 0.25, 1e-3, 2.0
    knobs = {k: jnp.float32(knob.default) for k, knob in OPTIMIZERS.get(name).knobs.items()}
    knobs["eps"] = jnp.float32(eps)
    opt = make_optimizer(name)(learning_rate=jnp.float32(lr), **knobs, eps_root=eps_root)
    params = jnp.zeros(1, jnp.float32)
    state = opt.init(params)
    assert "eps_root" in state.hyperparams
    updates, _ = opt.update(jnp.full(1, g, jnp.float32), state, params)
    # Bias-corrected after one step: m = g, v = g^2.
    assert float(updates[0]) == pytest.approx(-lr * g / (np.sqrt(g * g + eps_root) + eps), rel=1e-6)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_with_heavy_ball_momentum(momentum):
    """t_k = g_k + momentum t_(k-1), update -lr t_k (Polyak's heavy ball, as PyTorch's SGD with
    dampening 0 and optax's trace)."""
    lr, trace, expected = 0.1, 0.0, []
    for g in GRADS:
        trace = g + momentum * trace
        expected.append(-lr * trace)
    got = _updates("sgd", GRADS, learning_rate=lr, momentum=momentum)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_rmsprop_puts_epsilon_inside_the_square_root():
    """nu_k = decay nu_(k-1) + (1 - decay) g_k^2, update -lr g_k / sqrt(nu_k + eps): optax's
    placement (eps_in_sqrt). PyTorch's RMSprop divides by sqrt(nu_k) + eps instead; the two
    differ where nu_k is near eps, as at the first step here (a gradient of 1e-5)."""
    lr, decay, eps = 0.01, 0.9, 1e-8
    grads = [1e-5, *GRADS]
    nu, inside, outside = 0.0, [], []
    for g in grads:
        nu = decay * nu + (1 - decay) * g * g
        inside.append(-lr * g / np.sqrt(nu + eps))
        outside.append(-lr * g / (np.sqrt(nu) + eps))
    got = _updates("rmsprop", grads, learning_rate=lr, decay=decay, eps=eps)
    np.testing.assert_allclose(got, inside, rtol=1e-5)
    assert abs(outside[0] / got[0]) > 10  # the placement is observable


def test_adam_puts_epsilon_outside_the_square_root_after_bias_correction():
    """Kingma & Ba 2015, Algorithm 1: -lr m_hat / (sqrt(v_hat) + eps)."""
    lr, b1, b2, eps = 0.1, 0.5, 0.9, 1e-3
    m = v = 0.0
    expected = []
    for t, g in enumerate(GRADS, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        expected.append(-lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps))
    got = _updates("adam", GRADS, learning_rate=lr, b1=b1, b2=b2, eps=eps)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
