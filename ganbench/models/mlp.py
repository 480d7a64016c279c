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

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.linen.linear import default_kernel_init

from ganbench.models.activations import ACTIVATIONS
from ganbench.models.archs import Arch, Setting, register_arch
from ganbench.models.inits import kernel_initializer


class MLP(nn.Module):
    """``depth`` hidden layers of ``width`` units, then a linear layer to ``out_dim``."""

    width: int
    depth: int
    out_dim: int
    activation: str = "relu"
    spectral_norm: bool = False
    weight_init: str | None = None  # see ganbench.models.inits; None: Flax's default
    input_scale: float | None = None  # the input multiplied by it first; None: as it is

    @nn.compact
    def __call__(self, x: jax.Array, *, update_stats: bool = False) -> jax.Array:
        act = ACTIVATIONS.get(self.activation)
        if self.input_scale is not None:
            x = x * jnp.asarray(self.input_scale, x.dtype)
        sizes: Sequence[int] = [self.width] * self.depth + [self.out_dim]
        kinit = kernel_initializer(self.weight_init, default_kernel_init)
        for i, size in enumerate(sizes):
            dense = nn.Dense(size, kernel_init=kinit, name=f"dense_{i}")
            if self.spectral_norm:
                x = nn.SpectralNorm(dense, name=f"sn_{i}")(x, update_stats=update_stats)
            else:
                x = dense(x)
            if i < len(sizes) - 1:
                x = act(x)
        return x


def _size(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape))


def _mlp_g(cfg, shape: tuple[int, ...]) -> nn.Module:
    return MLP(
        cfg.width, cfg.depth, _size(shape), cfg.activation, cfg.spectral_norm, cfg.weight_init,
        cfg.input_scale,
    )  # fmt: skip


def _mlp_d(cfg, shape: tuple[int, ...]) -> nn.Module:
    return MLP(
        cfg.width, cfg.depth, 1, cfg.activation, cfg.spectral_norm, cfg.weight_init,
        cfg.input_scale,
    )  # fmt: skip


WEIGHT_INIT_KNOB = (
    'string, "normal:<std>" (weights N(0, std^2), biases 0) or "orthogonal:<gain>" '
    "(orthogonal weights times gain, biases 0)"
)

register_arch(
    "mlp",
    Arch(
        _mlp_g,
        _mlp_d,
        settings={
            "width": Setting("int, hidden units per layer"),
            "depth": Setting("int, number of hidden layers"),
            "activation": Setting(f"one of {', '.join(ACTIVATIONS.names())}"),
            "spectral_norm": Setting(
                "bool, spectral normalisation of every layer (Miyato et al. 2018)"
            ),
            "weight_init": Setting(
                f"{WEIGHT_INIT_KNOB}; default Flax's (LeCun-normal weights, zero biases)"
            ),
            "input_scale": Setting(
                "float, the input multiplied by it before the first layer (Metz et al. 2017, "
                "appendix A: D scales its input by 1/4); default none"
            ),
        },
        module=__name__,
    ),
    help="fully connected network (on images: flattened pixels)",
)
