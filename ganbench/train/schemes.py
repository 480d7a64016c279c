"""Training schemes: how the two players' updates are combined, and the stabilising additions.

Two kinds of item live here:

* ``UPDATES``, the update rule of a step (suite key ``updates``): ``alternating`` (n_critic
  discriminator updates, then one generator update against the updated discriminator),
  ``simultaneous`` (both players step from the same point) and ``extragradient`` (Korpelevich
  1976; Gidel et al. 2019: a lookahead step, then the update from the original point with the
  gradients at the lookahead point).
* ``SCHEMES``, additions that compose with any update rule where they make sense (``ema``,
  ``instance_noise``, ``consensus``, ``unroll``, ``pack``, and ``ttur``, which is a setting of
  the optimiser).

The update rules are written for any pair of players with any vector field, so the tests can run
them on games with known answers (the bilinear game, the Dirac-GAN) as well as on GANs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from ganbench.knobs import Knob
from ganbench.registry import Registry

# --------------------------------------------------------------------------- registries

UPDATES: Registry[str] = Registry("update rule")
UPDATES.add(
    "alternating",
    "alternating",
    help="n_critic discriminator updates, then one generator update against the updated "
    "discriminator (Goodfellow et al. 2014, Algorithm 1)",
)
UPDATES.add(
    "simultaneous",
    "simultaneous",
    help="both players take a step from the same point on the same batch (simultaneous "
    "gradient descent; n_critic must be 1)",
)
UPDATES.add(
    "extragradient",
    "extragradient",
    help="extrapolate both players one optimiser step, then update from the original point with "
    "the gradients at the extrapolated point (Korpelevich 1976; Gidel et al. 2019, Extra-Adam "
    "with Adam; two gradient evaluations per step)",
)

SCHEME_KNOBS: dict[str, dict[str, Knob]] = {
    "ema": {
        "decay": Knob(
            0.999,
            0.0,
            1.0,
            high_inclusive=False,
            help="EMA decay beta: ema <- beta ema + (1-beta) w",
        ),
        "start": Knob(0.0, 0.0, 1e9, help="generator step before which the EMA equals the weights"),
    },
    "instance_noise": {
        "std": Knob(0.1, 0.0, 1e3, low_inclusive=False, help="initial noise standard deviation"),
        "anneal": Knob(
            1.0,
            0.0,
            1e3,
            help="fraction of the run over which the std falls linearly to 0 (0: constant)",
        ),
    },
    "consensus": {
        "weight": Knob(
            10.0, 0.0, 1e6, help="gamma (Mescheder et al. 2017 use 10 on mixtures of Gaussians)"
        ),
    },
}
"""Traced knobs of the schemes configured by a table."""

MAX_UNROLL = 100
MAX_PACK = 64

SCHEMES: Registry[str] = Registry("scheme")
SCHEMES.add(
    "ema",
    "ema",
    help="exponential moving average of the generator's weights; every diagnostic is also "
    "computed for the averaged generator, as ema/<metric> (Yazici et al. 2019). "
    "Suite: ema = { decay = 0.999 }",
    knobs=SCHEME_KNOBS["ema"],
)
SCHEMES.add(
    "instance_noise",
    "instance_noise",
    help="Gaussian noise added to every discriminator input, real and generated, annealed "
    "linearly to 0 (Sonderby et al. 2017; Arjovsky & Bottou 2017). "
    "Suite: instance_noise = { std = 0.1, anneal = 1.0 }",
    knobs=SCHEME_KNOBS["instance_noise"],
)
SCHEMES.add(
    "consensus",
    "consensus",
    help="consensus optimisation: both players add weight * grad(1/2 |v|^2), v the joint "
    "gradient field (Mescheder et al. 2017); needs updates 'simultaneous' or 'extragradient'. "
    "Suite: consensus = { weight = 10 }",
    knobs=SCHEME_KNOBS["consensus"],
)
SCHEMES.add(
    "unroll",
    "unroll",
    help="unrolled GAN: the generator's loss is taken against the discriminator after k "
    "further optimiser steps, differentiated through them (Metz et al. 2017). Suite: unroll = 5",
    knobs={"unroll": f"int in [0, {MAX_UNROLL}], default 0 (off); static: picks the program"},
)
SCHEMES.add(
    "pack",
    "pack",
    help="PacGAN: the discriminator judges m samples concatenated into one input, all real or "
    "all generated; batch_size counts packed inputs (Lin et al. 2018). Suite: pack = 2",
    knobs={"pack": f"int in [1, {MAX_PACK}], default 1 (off); static: picks the program"},
)
SCHEMES.add(
    "ttur",
    "ttur",
    help="two time-scale update rule: separate learning rates, lr_d above lr_g "
    "(Heusel et al. 2017). Suite: optimizer = { lr_g = 1e-4, lr_d = 4e-4 }",
    knobs={"lr_g, lr_d": "optimizer knobs (traced)"},
)

# --------------------------------------------------------------------------- update rules

Params = tuple[Any, ...]  # one pytree per player
Field = Callable[[Params], tuple[Params, Any]]
"""A game's vector field: players' parameters -> (each player's descent gradient, aux)."""


def apply_updates(
    opts: tuple[optax.GradientTransformation, ...],
    opt_states: tuple[Any, ...],
    params: Params,
    grads: Params,
    project: Callable[[Params], Params] = lambda p: p,
) -> tuple[Params, tuple[Any, ...]]:
    """One optimiser step of every player; ``project`` then applies constraints (clipping)."""
    new_params, new_states = [], []
    for opt, state, p, g in zip(opts, opt_states, params, grads, strict=True):
        updates, state = opt.update(g, state, p)
        new_params.append(optax.apply_updates(p, updates))
        new_states.append(state)
    return project(tuple(new_params)), tuple(new_states)


def simultaneous_step(field: Field, opts, opt_states, params: Params, project=lambda p: p):
    """Both players step from the same point."""
    grads, aux = field(params)
    new_params, new_states = apply_updates(opts, opt_states, params, grads, project)
    return new_params, new_states, grads, aux


def extragradient_step(
    field: Field, opts, opt_states, params: Params, project=lambda p: p, field_half=None
):
    """Extragradient (Korpelevich 1976) with any optimiser (Gidel et al. 2019, Algorithm 1/4).

    The lookahead step updates the optimiser state, as the authors' Extra-Adam does; the final
    step starts from the original parameters with the gradients at the lookahead point.
    ``field_half`` evaluates the field at the lookahead point (default: ``field``), so a
    stochastic game can use a fresh batch there.
    """
    grads0, _ = field(params)
    half, states_half = apply_updates(opts, opt_states, params, grads0, project)
    grads1, aux = (field_half or field)(half)
    new_params, new_states = apply_updates(opts, states_half, params, grads1, project)
    return new_params, new_states, grads1, aux


def sq_norm(tree) -> jax.Array:
    return sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree))


def with_consensus(field: Field, weight: jax.Array) -> Field:
    """Consensus optimisation (Mescheder et al. 2017, Algorithm 2): every player descends its own
    gradient plus ``weight * grad L`` with ``L = 1/2 |v|^2`` over the joint field ``v``."""

    def regularised(params: Params):
        def half_sq_norm(p):
            grads, aux = field(p)
            return 0.5 * sq_norm(grads), (grads, aux)

        reg, (grads, aux) = jax.grad(half_sq_norm, has_aux=True)(params)
        return jax.tree.map(lambda g, r: g + weight * r, grads, reg), aux

    return regularised
