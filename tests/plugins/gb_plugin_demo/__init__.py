"""A plugin package outside ganbench, as a user would write one: it registers a generator, a
discriminator (spectrally normalised, with the keyword the engine passes) and a loss through
ganbench's public API only. tests/test_plugins.py imports it through a suite's
``[suite] imports``."""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

import ganbench
from ganbench.objectives.losses import LossOutput


class TinyGenerator(nn.Module):
    """z -> hidden -> hidden -> the sample (flat)."""

    hidden: int
    out_dim: int

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        h = jnp.tanh(nn.Dense(self.hidden)(z))
        h = jnp.tanh(nn.Dense(self.hidden)(h))
        return nn.Dense(self.out_dim)(h)


class TinyCritic(nn.Module):
    """x -> hidden -> 1, every layer spectrally normalised when ``sn``."""

    hidden: int
    sn: bool

    @nn.compact
    def __call__(self, x: jax.Array, *, update_stats: bool = False) -> jax.Array:
        x = jnp.reshape(x, (x.shape[0], -1))
        for i, size in enumerate((self.hidden, 1)):
            layer = nn.Dense(size, name=f"dense_{i}")
            x = nn.SpectralNorm(layer)(x, update_stats=update_stats) if self.sn else layer(x)
            if i == 0:
                x = jax.nn.leaky_relu(x, 0.2)
        return x


def _generator(cfg, shape):
    return TinyGenerator(hidden=cfg.setting("hidden"), out_dim=math.prod(shape))


def _critic(cfg, shape):
    return TinyCritic(hidden=cfg.setting("hidden"), sn=cfg.setting("sn"))


ganbench.register_network(
    "demo_tiny",
    generator=_generator,
    discriminator=_critic,
    settings={
        "hidden": {"help": "int, hidden units", "kind": int, "default": 16, "low": 1, "high": 512},
        "sn": {
            "help": "bool, spectral normalisation of the critic",
            "kind": bool,
            "default": False,
            "roles": ("discriminator",),
        },
    },
    help="a two-layer tanh generator and a one-hidden-layer critic (test plugin)",
)


@ganbench.register_loss(
    "demo_softplus",
    help="the non-saturating loss written by hand (test plugin)",
)
def demo_softplus(d_real: jax.Array, d_fake: jax.Array) -> LossOutput:
    real = jnp.mean(jax.nn.softplus(-d_real))
    fake = jnp.mean(jax.nn.softplus(d_fake))
    return LossOutput(real + fake, real, fake, jnp.mean(jax.nn.softplus(-d_fake)))
