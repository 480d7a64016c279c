"""MLP generator and discriminator.

Flax Linen is used on purpose: ``init``/``apply`` are pure functions of explicit variable
collections, which is exactly the functional core the engine needs (parameters, optimizer state
and spectral-norm power-iteration vectors are plain pytrees that ``vmap`` and ``lax.scan`` carry).
Flax NNX's ``SpectralNorm`` normalises its wrapped parameters in place, so the stored weights
would become the normalised ones after the first call; Linen's ``SpectralNorm`` keeps the raw
weights as parameters and carries ``u`` and ``sigma`` in a separate ``batch_stats`` collection,
updated only when asked (Miyato et al. 2018, Algorithm 1: one power iteration per step).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganbench.models.dirac import LinearDiscriminator, PointGenerator
from ganbench.registry import Registry

ACTIVATIONS: Registry[Callable[[jax.Array], jax.Array]] = Registry("activation")
ACTIVATIONS.add("relu", jax.nn.relu, help="max(x, 0)")
ACTIVATIONS.add("leaky_relu", lambda x: jax.nn.leaky_relu(x, 0.2), help="leaky ReLU, slope 0.2")
ACTIVATIONS.add("tanh", jnp.tanh, help="tanh")
ACTIVATIONS.add("elu", jax.nn.elu, help="ELU")
ACTIVATIONS.add("gelu", jax.nn.gelu, help="GELU")
ACTIVATIONS.add("softplus", jax.nn.softplus, help="log(1 + exp(x))")
ACTIVATIONS.add("swish", jax.nn.swish, help="x * sigmoid(x)")


class MLP(nn.Module):
    """``depth`` hidden layers of ``width`` units, then a linear layer to ``out_dim``."""

    width: int
    depth: int
    out_dim: int
    activation: str = "relu"
    spectral_norm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, *, update_stats: bool = False) -> jax.Array:
        act = ACTIVATIONS.get(self.activation)
        sizes: Sequence[int] = [self.width] * self.depth + [self.out_dim]
        for i, size in enumerate(sizes):
            dense = nn.Dense(size, name=f"dense_{i}")
            if self.spectral_norm:
                x = nn.SpectralNorm(dense, name=f"sn_{i}")(x, update_stats=update_stats)
            else:
                x = dense(x)
            if i < len(sizes) - 1:
                x = act(x)
        return x


@dataclass(frozen=True)
class Arch:
    """How to build a network of one architecture, and for which player."""

    build: Callable[..., nn.Module]  # (ModelConfig, out_dim) -> module
    roles: tuple[str, ...]  # "generator", "discriminator"
    uses_init: bool = False  # reads ModelConfig.init (the initial parameter value)


def _mlp(cfg, out_dim: int) -> nn.Module:
    return MLP(cfg.width, cfg.depth, out_dim, cfg.activation, cfg.spectral_norm)


def _point(cfg, out_dim: int) -> nn.Module:
    return PointGenerator(out_dim, 1.0 if cfg.init is None else cfg.init)


def _linear(cfg, out_dim: int) -> nn.Module:
    return LinearDiscriminator(1.0 if cfg.init is None else cfg.init)


ARCHS: Registry[Arch] = Registry("architecture")
ARCHS.add(
    "mlp",
    Arch(_mlp, ("generator", "discriminator")),
    help="fully connected network",
    knobs={
        "width": "int, hidden units per layer",
        "depth": "int, number of hidden layers",
        "activation": f"one of {', '.join(ACTIVATIONS.names())}",
        "spectral_norm": "bool, spectral normalisation of every layer (Miyato et al. 2018)",
    },
)
ARCHS.add(
    "point",
    Arch(_point, ("generator",), uses_init=True),
    help="generator that is a single point theta, ignoring z: the Dirac-GAN's generator "
    "(Mescheder et al. 2018, section 2.2)",
    knobs={"init": "float, initial theta (every coordinate), default 1"},
)
ARCHS.add(
    "linear",
    Arch(_linear, ("discriminator",), uses_init=True),
    help="linear discriminator D(x) = psi^T x without bias: the Dirac-GAN's discriminator "
    "(Mescheder et al. 2018, section 2.2)",
    knobs={"init": "float, initial psi (every coordinate), default 1"},
)


def build_generator(cfg, out_dim: int) -> nn.Module:
    return ARCHS.get(cfg.arch).build(cfg, out_dim)


def build_discriminator(cfg) -> nn.Module:
    return ARCHS.get(cfg.arch).build(cfg, 1)
