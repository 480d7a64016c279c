"""GAN losses with one shared signature.

Every loss takes the discriminator's outputs (logits for the probabilistic losses, critic values
for the Wasserstein loss) on a batch of real and of generated samples, and its knobs as keyword
arguments (traced scalars, each with a default: see :data:`LOSS_KNOBS`), and returns a
:class:`LossOutput`: the discriminator loss, its real and fake parts, and the generator loss, each
a mean over the batch. Returning the parts is what makes the diagnostics possible (the same shape
as compare_gan's loss_lib). Cross-entropies use ``softplus`` (``-log sigmoid(x) = softplus(-x)``)
for numerical stability.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ganbench.knobs import Knob
from ganbench.registry import Registry


class LossOutput(NamedTuple):
    d_loss: jax.Array  # scalar: d_real + d_fake
    d_real: jax.Array  # scalar: the part of d_loss computed on real samples
    d_fake: jax.Array  # scalar: the part of d_loss computed on generated samples
    g_loss: jax.Array  # scalar: the generator's loss on the same generated samples


LossFn = Callable[[jax.Array, jax.Array], LossOutput]

LOSSES: Registry[LossFn] = Registry("loss")

LOSS_KNOBS: dict[str, dict[str, Knob]] = {}
"""Numeric knobs of the losses that have some (traced hyperparameters: a sweep over one is one
compiled program). A suite sets them in a table, ``loss = { name = "...", <knob> = ... }``; the
engine passes them to the loss function as keyword arguments."""


def register(name: str, *, help: str, knobs: dict[str, Knob] | None = None):
    """Register a loss function under ``name``, with its knobs (if any)."""

    def decorator(fn: LossFn) -> LossFn:
        LOSSES.add(name, fn, help=help, knobs=knobs)
        if knobs:
            LOSS_KNOBS[name] = dict(knobs)
        return fn

    return decorator


CLIPPED_LOSSES = frozenset({"wasserstein_clip"})
"""Losses whose discriminator weights are clipped after every update (knob ``clip``)."""


def _check(real: jax.Array, fake: jax.Array) -> None:
    if real.ndim != 1 or fake.ndim != 1:
        raise ValueError(
            f"discriminator outputs must be vectors (B,); got {real.shape} and {fake.shape}"
        )


def _parts(d_real: jax.Array, d_fake: jax.Array, g_loss: jax.Array) -> LossOutput:
    return LossOutput(d_real + d_fake, d_real, d_fake, g_loss)


@register(
    "minimax",
    help="original minimax GAN with the saturating generator loss log(1 - D(G(z))) "
    "(Goodfellow et al. 2014)",
)
def minimax(real: jax.Array, fake: jax.Array) -> LossOutput:
    """D: -E log D(x) - E log(1 - D(G(z))); G minimises E log(1 - D(G(z))).

    >>> import jax.numpy as jnp
    >>> out = minimax(jnp.zeros(3), jnp.zeros(3))
    >>> [round(float(v), 4) for v in out]
    [1.3863, 0.6931, 0.6931, -0.6931]
    """
    _check(real, fake)
    d_real = jnp.mean(jax.nn.softplus(-real))
    d_fake = jnp.mean(jax.nn.softplus(fake))
    return _parts(d_real, d_fake, -d_fake)


@register(
    "non_saturating",
    help="non-saturating GAN: G maximises log D(G(z)) (Goodfellow et al. 2014, section 3)",
)
def non_saturating(real: jax.Array, fake: jax.Array) -> LossOutput:
    """D as in minimax; G minimises -E log D(G(z))."""
    _check(real, fake)
    d_real = jnp.mean(jax.nn.softplus(-real))
    d_fake = jnp.mean(jax.nn.softplus(fake))
    return _parts(d_real, d_fake, jnp.mean(jax.nn.softplus(-fake)))


@register(
    "wasserstein",
    help="Wasserstein critic loss E D(G(z)) - E D(x) (Arjovsky et al. 2017); pair it with "
    "penalty 'gp' for WGAN-GP (Gulrajani et al. 2017)",
)
def wasserstein(real: jax.Array, fake: jax.Array) -> LossOutput:
    """Critic minimises E D(G(z)) - E D(x); G minimises -E D(G(z))."""
    _check(real, fake)
    d_real = -jnp.mean(real)
    d_fake = jnp.mean(fake)
    return _parts(d_real, d_fake, -d_fake)


@register(
    "hinge",
    help="hinge loss: D minimises E relu(1 - D(x)) + E relu(1 + D(G(z))), G minimises "
    "-E D(G(z)) (Lim & Ye 2017; Miyato et al. 2018)",
)
def hinge(real: jax.Array, fake: jax.Array) -> LossOutput:
    _check(real, fake)
    d_real = jnp.mean(jax.nn.relu(1.0 - real))
    d_fake = jnp.mean(jax.nn.relu(1.0 + fake))
    return _parts(d_real, d_fake, -jnp.mean(fake))


@register(
    "wasserstein_clip",
    help="WGAN: Wasserstein critic loss with every critic weight clipped to [-clip, clip] after "
    "each update (Arjovsky et al. 2017, Algorithm 1: clip 0.01, RMSProp, n_critic 5)",
    knobs={
        "clip": Knob(
            0.01,
            0.0,
            100.0,
            low_inclusive=False,
            help="every discriminator weight is clipped to [-clip, clip] after each update "
            "(c = 0.01 in Arjovsky et al. 2017, Algorithm 1); also written as the run key clip",
        )
    },
)
def wasserstein_clip(real: jax.Array, fake: jax.Array, clip: jax.Array = 0.01) -> LossOutput:
    """The Wasserstein loss; the clipping is a constraint the engine applies after each update
    (with the same ``clip``)."""
    del clip
    return wasserstein(real, fake)


@register(
    "least_squares",
    help="LSGAN with the 0-1 coding: D minimises 1/2 E (D(x) - 1)^2 + 1/2 E D(G(z))^2, G minimises "
    "1/2 E (D(G(z)) - 1)^2 (Mao et al. 2017, equation 9 with a = 0, b = c = 1)",
)
def least_squares(real: jax.Array, fake: jax.Array) -> LossOutput:
    """LSGAN (Mao et al. 2017, eq. 9 with a=0, b=1, c=1); D's outputs are used unsquashed.

    >>> import jax.numpy as jnp
    >>> [float(v) for v in least_squares(jnp.array([1.0, 3.0]), jnp.array([2.0]))]
    [3.0, 1.0, 2.0, 0.5]
    """
    _check(real, fake)
    d_real = 0.5 * jnp.mean((real - 1.0) ** 2)
    d_fake = 0.5 * jnp.mean(fake**2)
    return _parts(d_real, d_fake, 0.5 * jnp.mean((fake - 1.0) ** 2))


@register(
    "non_saturating_smoothed",
    help="non-saturating GAN with one-sided label smoothing: D's target on real samples is "
    "real_label instead of 1, on generated samples still 0 (Salimans et al. 2016, section 3.4)",
    knobs={
        "real_label": Knob(
            0.9,
            0.0,
            1.0,
            low_inclusive=False,
            help="D's target for real samples (1: the plain non-saturating GAN; Salimans et al. "
            "2016 name .9)",
        )
    },
)
def non_saturating_smoothed(
    real: jax.Array, fake: jax.Array, real_label: jax.Array = 0.9
) -> LossOutput:
    """D: cross-entropy with target ``real_label`` on real samples and 0 on generated ones,
    -E[a log D(x) + (1 - a) log(1 - D(x))] - E log(1 - D(G(z))); G as the non-saturating GAN.

    >>> import jax.numpy as jnp
    >>> out = non_saturating_smoothed(jnp.zeros(2), jnp.zeros(2), real_label=0.9)
    >>> [round(float(v), 4) for v in out]
    [1.3863, 0.6931, 0.6931, 0.6931]
    """
    _check(real, fake)
    d_real = jnp.mean(
        real_label * jax.nn.softplus(-real) + (1.0 - real_label) * jax.nn.softplus(real)
    )
    d_fake = jnp.mean(jax.nn.softplus(fake))
    return _parts(d_real, d_fake, jnp.mean(jax.nn.softplus(-fake)))


# ---------------------------------------------------------------- relativistic losses
#
# Jolicoeur-Martineau 2018 ("The relativistic discriminator: a key element missing from standard
# GAN", arXiv:1807.00734, ICLR 2019) makes D judge how much more realistic a real sample is than a
# generated one. Both forms below use the logistic loss of the standard GAN (her RSGAN and
# RaSGAN), with a critic difference in place of the logit. They are the paper's definitions; the
# authors' code (github.com/AlexiaJM/RelativisticGAN, code/GAN_losses_iter.py, loss_D 5 and 6)
# computes the same RSGAN and halves both RaSGAN losses, a factor Adam's updates do not see.


@register(
    "relativistic_pairing",
    help="relativistic pairing GAN (RpGAN, RSGAN): D minimises E softplus(D(G(z)) - D(x)) over "
    "pairs (x, z), G minimises E softplus(D(x) - D(G(z))) (Jolicoeur-Martineau 2018; the loss "
    "of R3GAN, Huang et al. 2024); loss_d_real and loss_d_fake each report half of D's loss",
)
def relativistic_pairing(real: jax.Array, fake: jax.Array) -> LossOutput:
    """D: E softplus(-(C(x_i) - C(G(z_i)))) over the batch's pairs, i.e. -E log sigmoid of the
    real sample's margin over its partner; G: the same with the roles swapped.

    The loss does not split into a part on real and a part on generated samples, so
    ``d_real`` and ``d_fake`` (the recorded ``loss_d_real`` and ``loss_d_fake``) are each half
    of ``d_loss``.

    >>> import jax.numpy as jnp
    >>> out = relativistic_pairing(jnp.array([1.0, 0.0]), jnp.array([0.0, 0.0]))
    >>> [round(float(v), 4) for v in out]  # (softplus(-1) + softplus(0)) / 2 and the reverse
    [0.5032, 0.2516, 0.2516, 1.0032]
    """
    _check(real, fake)
    if real.shape != fake.shape:
        raise ValueError(f"paired losses need as many real as generated outputs; got "
                         f"{real.shape} and {fake.shape}")  # fmt: skip
    d_loss = jnp.mean(jax.nn.softplus(fake - real))
    half = 0.5 * d_loss
    return LossOutput(d_loss, half, half, jnp.mean(jax.nn.softplus(real - fake)))


@register(
    "relativistic_average",
    help="relativistic average GAN (RaGAN, RaSGAN): D classifies each real sample's critic value "
    "minus the batch mean on generated samples as real and vice versa; G the same with the "
    "labels swapped (Jolicoeur-Martineau 2018)",
)
def relativistic_average(real: jax.Array, fake: jax.Array) -> LossOutput:
    """With C the critic (D's logit), m_r = E C(x) and m_f = E C(G(z)) over the batch:
    D minimises E softplus(-(C(x) - m_f)) + E softplus(C(G(z)) - m_r) (its real and fake parts)
    and G minimises E softplus(-(C(G(z)) - m_r)) + E softplus(C(x) - m_f).

    >>> import jax.numpy as jnp
    >>> out = relativistic_average(jnp.array([2.0, 0.0]), jnp.array([0.0, 0.0]))
    >>> [round(float(v), 4) for v in out]  # m_r = 1, m_f = 0
    [0.7233, 0.41, 0.3133, 2.7233]
    """
    _check(real, fake)
    real_margin = real - jnp.mean(fake)
    fake_margin = fake - jnp.mean(real)
    d_real = jnp.mean(jax.nn.softplus(-real_margin))
    d_fake = jnp.mean(jax.nn.softplus(fake_margin))
    g_loss = jnp.mean(jax.nn.softplus(-fake_margin)) + jnp.mean(jax.nn.softplus(real_margin))
    return _parts(d_real, d_fake, g_loss)
