"""Discriminator penalties.

A penalty is a function ``(d_fn, real, fake, key, knobs) -> scalar`` added to the discriminator
loss; ``d_fn`` maps a batch of inputs (B, ...) to outputs (B,) and ``knobs`` maps the penalty's
knob names (``weight``, ...) to scalars. Knobs are traced hyperparameters, so a sweep over a
penalty weight is one compiled program.

Conventions, with ``g(x) = grad_x D(x)`` taken per sample:

* ``gp``: weight * E (|g(x_hat)| - 1)^2 on interpolates (Gulrajani et al. 2017, Algorithm 1).
* ``gp_one_sided``: weight * E max(0, |g(x_hat)| - 1)^2, the one-sided variant of Gulrajani et
  al. 2017 (section 4 and appendix) studied as WGAN-LP by Petzka et al. 2018.
* ``r1`` / ``r2``: weight / 2 * E |g(x)|^2 on real (R1) or generated (R2) samples, with ``weight``
  the gamma of Mescheder et al. 2018, equations 9 and 10. Their training code
  (github.com/LMescheder/GAN_stability, ``reg_param`` in the configs) multiplies E |g|^2 by
  ``reg_param`` without the 1/2, so a config of that code with ``reg_param = r`` is ``weight = 2r``
  here.
* ``r1_r2``: weight / 2 * (E |g(x)|^2 + E |g(G(z))|^2), R1 and R2 with one gamma, as R3GAN
  trains (Huang et al. 2024, "The GAN is dead; long live the GAN!", section 2; their code,
  github.com/brownvc/R3GAN, R3GAN/Trainer.py, adds ``Gamma / 2 * (R1Penalty + R2Penalty)`` with
  each penalty the per-sample squared gradient norm): ``weight`` is their ``Gamma``.
* ``dragan``: weight * E (|g(x_p)| - 1)^2 around the data (Kodali et al. 2017), with the points of
  the authors' code (github.com/kodalinaveen3/DRAGAN): x_p = x + alpha * scale * std(x) * u,
  u ~ U[0, 1]^d per coordinate, alpha ~ U[0, 1] per sample, std(x) over the whole real batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp

from ganbench.knobs import Knob
from ganbench.registry import Registry

DFn = Callable[[jax.Array], jax.Array]
PenaltyFn = Callable[[DFn, jax.Array, jax.Array, jax.Array, Mapping[str, jax.Array]], jax.Array]


@dataclass(frozen=True)
class Penalty:
    fn: PenaltyFn | None
    knobs: dict[str, Knob] = field(default_factory=dict)


PENALTIES: Registry[Penalty] = Registry("penalty")


def input_gradients(d_fn: DFn, x: jax.Array) -> jax.Array:
    """Per-sample gradient of D with respect to its input, shape of ``x``.

    D acts on each sample independently (no batch statistics), so the gradient of the sum of the
    outputs with respect to the batch is the stack of per-sample gradients.
    """
    return jax.grad(lambda v: jnp.sum(d_fn(v)))(x)


def per_sample_sq_norm(g: jax.Array) -> jax.Array:
    return jnp.sum(jnp.reshape(g, (g.shape[0], -1)) ** 2, axis=1)


def per_sample_norm(g: jax.Array) -> jax.Array:
    return jnp.sqrt(per_sample_sq_norm(g))


def _per_sample_uniform(key: jax.Array, x: jax.Array) -> jax.Array:
    return jax.random.uniform(key, (x.shape[0],) + (1,) * (x.ndim - 1), x.dtype)


def interpolates(key: jax.Array, real: jax.Array, fake: jax.Array) -> jax.Array:
    """eps * real + (1 - eps) * fake with eps ~ U[0, 1] per sample (WGAN-GP)."""
    eps = _per_sample_uniform(key, real)
    return eps * real + (1.0 - eps) * fake


def gradient_penalty(d_fn: DFn, real, fake, key, knobs) -> jax.Array:
    norms = per_sample_norm(input_gradients(d_fn, interpolates(key, real, fake)))
    return knobs["weight"] * jnp.mean((norms - 1.0) ** 2)


def one_sided_gradient_penalty(d_fn: DFn, real, fake, key, knobs) -> jax.Array:
    norms = per_sample_norm(input_gradients(d_fn, interpolates(key, real, fake)))
    return knobs["weight"] * jnp.mean(jax.nn.relu(norms - 1.0) ** 2)


def r1_penalty(d_fn: DFn, real, fake, key, knobs) -> jax.Array:
    return 0.5 * knobs["weight"] * jnp.mean(per_sample_sq_norm(input_gradients(d_fn, real)))


def r2_penalty(d_fn: DFn, real, fake, key, knobs) -> jax.Array:
    return 0.5 * knobs["weight"] * jnp.mean(per_sample_sq_norm(input_gradients(d_fn, fake)))


def dragan_points(key: jax.Array, real: jax.Array, scale: jax.Array) -> jax.Array:
    """Perturbed points around the real batch, as in the DRAGAN authors' code."""
    key_u, key_alpha = jax.random.split(key)
    u = jax.random.uniform(key_u, real.shape, real.dtype)
    perturbed = real + scale * jnp.std(real) * u
    return real + _per_sample_uniform(key_alpha, real) * (perturbed - real)


def dragan_penalty(d_fn: DFn, real, fake, key, knobs) -> jax.Array:
    x = dragan_points(key, real, knobs["scale"])
    norms = per_sample_norm(input_gradients(d_fn, x))
    return knobs["weight"] * jnp.mean((norms - 1.0) ** 2)


def _weight(default: float, help: str) -> Knob:
    return Knob(default, 0.0, 1e6, help=help)


def _add(name: str, penalty: Penalty, help: str) -> None:
    PENALTIES.add(name, penalty, help=help, knobs=penalty.knobs)


_add("none", Penalty(None), "no penalty")
_add(
    "gp",
    Penalty(gradient_penalty, {"weight": _weight(10.0, "lambda (Gulrajani et al. 2017: 10)")}),
    "WGAN-GP: weight * E (|grad D(x_hat)| - 1)^2 on random interpolates of real and generated "
    "samples (Gulrajani et al. 2017)",
)
_add(
    "gp_one_sided",
    Penalty(one_sided_gradient_penalty, {"weight": _weight(10.0, "lambda")}),
    "one-sided WGAN-GP: weight * E max(0, |grad D(x_hat)| - 1)^2, penalising only slopes above 1 "
    "(Gulrajani et al. 2017; Petzka et al. 2018)",
)
_add(
    "r1",
    Penalty(r1_penalty, {"weight": _weight(10.0, "gamma of the paper (code reg_param = gamma/2)")}),
    "R1: gamma/2 * E |grad D(x)|^2 on real samples (Mescheder et al. 2018, eq. 9)",
)
_add(
    "r2",
    Penalty(r2_penalty, {"weight": _weight(10.0, "gamma of the paper (code reg_param = gamma/2)")}),
    "R2: gamma/2 * E |grad D(G(z))|^2 on generated samples (Mescheder et al. 2018, eq. 10)",
)
_add(
    "dragan",
    Penalty(
        dragan_penalty,
        {
            "weight": _weight(10.0, "lambda (Kodali et al. 2017: 10)"),
            "scale": Knob(
                0.5, 0.0, 100.0, help="perturbation scale in units of std(x) (code: 0.5)"
            ),
        },
    ),
    "DRAGAN: weight * E (|grad D(x_p)| - 1)^2 on perturbed real samples (Kodali et al. 2017)",
)


def r1_r2_penalty(d_fn: DFn, real, fake, key, knobs) -> jax.Array:
    return r1_penalty(d_fn, real, fake, key, knobs) + r2_penalty(d_fn, real, fake, key, knobs)


_add(
    "r1_r2",
    Penalty(
        r1_r2_penalty,
        {"weight": _weight(10.0, "gamma of R1 and R2 alike (R3GAN's Gamma)")},
    ),
    "R1 + R2: gamma/2 * (E |grad D(x)|^2 + E |grad D(G(z))|^2), both zero-centred penalties with "
    "one gamma, the regulariser of R3GAN (Huang et al. 2024, with the relativistic pairing loss)",
)
