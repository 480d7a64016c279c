"""The Dirac-GAN's two players (Mescheder et al. 2018, "Which Training Methods for GANs do
actually Converge?", section 2.2): a generator that is a single point theta (p_theta = delta_theta,
the latent code is ignored) and a linear discriminator D(x) = psi^T x. With the data a point
mass at 0, the unique equilibrium is theta = 0, psi = 0, and the paper's results on which
training methods converge to it are exact.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganbench.models.archs import Arch, Setting, register_arch


class PointGenerator(nn.Module):
    """G(z) = theta for every z: the generated distribution is a point mass at theta."""

    out_dim: int
    init_value: float = 1.0

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        theta = self.param("theta", nn.initializers.constant(self.init_value), (self.out_dim,))
        return jnp.broadcast_to(theta, (z.shape[0], self.out_dim))


class LinearDiscriminator(nn.Module):
    """D(x) = psi^T x, without a bias: one output per input, shape (B, 1)."""

    init_value: float = 1.0

    @nn.compact
    def __call__(self, x: jax.Array, *, update_stats: bool = False) -> jax.Array:
        del update_stats  # no spectral-norm state
        psi = self.param("psi", nn.initializers.constant(self.init_value), (x.shape[-1],))
        return (x @ psi)[:, None]


def _point(cfg, shape: tuple[int, ...]) -> nn.Module:
    return PointGenerator(int(math.prod(shape)), 1.0 if cfg.init is None else cfg.init)


def _linear(cfg, shape: tuple[int, ...]) -> nn.Module:
    return LinearDiscriminator(1.0 if cfg.init is None else cfg.init)


register_arch(
    "point",
    Arch(
        _point,
        None,
        settings={"init": Setting("float, initial theta (every coordinate), default 1")},
        module=__name__,
    ),
    help="generator that is a single point theta, ignoring z: the Dirac-GAN's generator "
    "(Mescheder et al. 2018, section 2.2)",
)
register_arch(
    "linear",
    Arch(
        None,
        _linear,
        settings={"init": Setting("float, initial psi (every coordinate), default 1")},
        module=__name__,
    ),
    help="linear discriminator D(x) = psi^T x without bias: the Dirac-GAN's discriminator "
    "(Mescheder et al. 2018, section 2.2)",
)
