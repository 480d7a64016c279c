"""Discriminator penalties.

A penalty is a function ``(d_fn, real, fake, key, weight) -> scalar`` added to the discriminator
loss; ``d_fn`` maps a batch of inputs (B, ...) to outputs (B,). The weight is a traced
hyperparameter, so a sweep over it is one compiled program.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from ganbench.registry import Registry

DFn = Callable[[jax.Array], jax.Array]


@dataclass(frozen=True)
class Penalty:
    fn: Callable[[DFn, jax.Array, jax.Array, jax.Array, jax.Array], jax.Array] | None
    default_weight: float


PENALTIES: Registry[Penalty] = Registry("penalty")


def input_gradients(d_fn: DFn, x: jax.Array) -> jax.Array:
    """Per-sample gradient of D with respect to its input, shape of ``x``.

    D acts on each sample independently (no batch statistics), so the gradient of the sum of the
    outputs with respect to the batch is the stack of per-sample gradients.
    """
    return jax.grad(lambda v: jnp.sum(d_fn(v)))(x)


def per_sample_norm(g: jax.Array) -> jax.Array:
    return jnp.sqrt(jnp.sum(jnp.reshape(g, (g.shape[0], -1)) ** 2, axis=1))


def gradient_penalty(
    d_fn: DFn, real: jax.Array, fake: jax.Array, key: jax.Array, weight: jax.Array
) -> jax.Array:
    """WGAN-GP: weight * E[(|grad D(x_hat)| - 1)^2], x_hat = eps x + (1 - eps) G(z),
    eps ~ U[0, 1] per sample (Gulrajani et al. 2017, Algorithm 1)."""
    eps_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    eps = jax.random.uniform(key, eps_shape, real.dtype)
    x_hat = eps * real + (1.0 - eps) * fake
    norms = per_sample_norm(input_gradients(d_fn, x_hat))
    return weight * jnp.mean((norms - 1.0) ** 2)


PENALTIES.add("none", Penalty(None, 0.0), help="no penalty")
PENALTIES.add(
    "gp",
    Penalty(gradient_penalty, 10.0),
    help="WGAN-GP two-sided gradient penalty on random interpolates (Gulrajani et al. 2017)",
    knobs={"weight": "float >= 0, default 10 (lambda in the paper)"},
)
