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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.linen.linear import default_kernel_init

from ganbench.models.dirac import LinearDiscriminator, PointGenerator
from ganbench.models.inits import kernel_initializer
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


@dataclass(frozen=True)
class Arch:
    """How to build an architecture's generator and discriminator (None: not for that player).

    Builders take ``(ModelConfig, shape)``: the generator the shape of one sample (a flat
    ``(dim,)`` or an image ``(H, W, C)``), the discriminator the shape of one (packed) input.
    """

    generator: Callable[..., nn.Module] | None
    discriminator: Callable[..., nn.Module] | None
    uses_init: bool = False  # reads ModelConfig.init (the initial parameter value)
    images: bool = False  # takes or makes (H, W, C) images rather than flat vectors
    train_flag: bool = False  # its __call__ takes ``train`` (batch norm, dropout)
    batch_norm: bool = False  # its generator keeps batch-norm running averages (batch_stats)
    pack_groups: bool = False  # its generator's batch norm takes statistics per packing slot
    # (PacGAN): the engine sets the module's ``groups`` to the suite's pack
    weight_init: bool = False  # reads ModelConfig.weight_init
    pieces: bool = False  # reads ModelConfig.pieces (maxout pieces per unit)
    input_scale: bool = False  # reads ModelConfig.input_scale (its input multiplied first)
    d_batch_stats: bool = False  # its discriminator normalises with the statistics of the batch
    # it is given: the engine passes real and generated batches in separate calls
    g_per_pack_slot: bool = False  # with pack > 1 its generator makes each packed slot's batch
    # in a call of its own (own batch statistics, running averages updated slot by slot)

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(
            role
            for role, build in (
                ("generator", self.generator),
                ("discriminator", self.discriminator),
            )
            if build is not None
        )


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


def _bn_mlp_g(cfg, shape: tuple[int, ...]) -> nn.Module:
    from ganbench.models.pacgan import BatchNormMLP

    return BatchNormMLP(
        cfg.width, cfg.depth, _size(shape), cfg.activation, weight_init=cfg.weight_init
    )


def _maxout_d(cfg, shape: tuple[int, ...]) -> nn.Module:
    from ganbench.models.pacgan import PIECES, MaxoutMLP

    pieces = PIECES if cfg.pieces is None else cfg.pieces
    return MaxoutMLP(cfg.width, cfg.depth, pieces, weight_init=cfg.weight_init)


def _point(cfg, shape: tuple[int, ...]) -> nn.Module:
    return PointGenerator(_size(shape), 1.0 if cfg.init is None else cfg.init)


def _linear(cfg, shape: tuple[int, ...]) -> nn.Module:
    return LinearDiscriminator(1.0 if cfg.init is None else cfg.init)


DCGAN_BASE = 64
"""The DCGAN's base channel count (its discriminator's first convolution) by default."""


def _dcgan_g(cfg, shape: tuple[int, ...]) -> nn.Module:
    from ganbench.models.dcgan import Generator

    return Generator(channels=shape[-1], base=cfg.channels or DCGAN_BASE)


def _dcgan_d(cfg, shape: tuple[int, ...]) -> nn.Module:
    from ganbench.models.dcgan import Discriminator

    return Discriminator(base=cfg.channels or DCGAN_BASE, spectral_norm=cfg.spectral_norm)


WEIGHT_INIT_KNOB = (
    'string, "normal:<std>" (weights N(0, std^2), biases 0) or "orthogonal:<gain>" '
    "(orthogonal weights times gain, biases 0)"
)


def _veegan_g(cfg, shape: tuple[int, ...]) -> nn.Module:
    from ganbench.models.dcgan_veegan import BASE, Generator

    return Generator(channels=shape[-1], base=cfg.channels or BASE)


def _veegan_d(cfg, shape: tuple[int, ...]) -> nn.Module:
    from ganbench.models.dcgan_veegan import BASE, Discriminator

    return Discriminator(base=cfg.channels or BASE)


ARCHS: Registry[Arch] = Registry("architecture")
ARCHS.add(
    "mlp",
    Arch(_mlp_g, _mlp_d, weight_init=True, input_scale=True),
    help="fully connected network (on images: flattened pixels)",
    knobs={
        "width": "int, hidden units per layer",
        "depth": "int, number of hidden layers",
        "activation": f"one of {', '.join(ACTIVATIONS.names())}",
        "spectral_norm": "bool, spectral normalisation of every layer (Miyato et al. 2018)",
        "weight_init": f"{WEIGHT_INIT_KNOB}; default Flax's (LeCun-normal weights, zero biases)",
        "input_scale": "float, the input multiplied by it before the first layer (Metz et al. "
        "2017, appendix A: D scales its input by 1/4); default none",
    },
)
ARCHS.add(
    "bn_mlp",
    Arch(_bn_mlp_g, None, train_flag=True, batch_norm=True, pack_groups=True, weight_init=True),
    help="PacGAN's 2-D generator (Lin et al. 2018, code of Table 1): depth x [linear without "
    "bias, batch norm, activation], then linear with bias; batch norm with learned scale and "
    "shift, epsilon 1e-4, batch statistics per packing slot in training, population mean and "
    "stdev (momentum 0.05) at evaluation. PacGAN: width 400, depth 4",
    knobs={
        "width": "int, hidden units per layer (PacGAN: 400)",
        "depth": "int, number of hidden layers (PacGAN: 4)",
        "activation": f"one of {', '.join(ACTIVATIONS.names())} (PacGAN: relu)",
        "weight_init": f"{WEIGHT_INIT_KNOB}; default PacGAN's normal:0.02",
    },
)
ARCHS.add(
    "maxout",
    Arch(None, _maxout_d, weight_init=True, pieces=True),
    help="PacGAN's 2-D discriminator (Lin et al. 2018, code of Table 1): depth maxout layers "
    "(linear with bias to width x pieces, maximum over each unit's pieces), then linear to 1 "
    "logit; no dropout, no batch norm. PacGAN: width 200, depth 3, pieces 5",
    knobs={
        "width": "int, maxout units per layer (PacGAN: 200)",
        "depth": "int, number of maxout layers (PacGAN: 3)",
        "pieces": "int >= 2, linear pieces per maxout unit, default 5 (PacGAN's)",
        "weight_init": f"{WEIGHT_INIT_KNOB}; default PacGAN's normal:0.02",
    },
)
ARCHS.add(
    "point",
    Arch(_point, None, uses_init=True),
    help="generator that is a single point theta, ignoring z: the Dirac-GAN's generator "
    "(Mescheder et al. 2018, section 2.2)",
    knobs={"init": "float, initial theta (every coordinate), default 1"},
)
ARCHS.add(
    "linear",
    Arch(None, _linear, uses_init=True),
    help="linear discriminator D(x) = psi^T x without bias: the Dirac-GAN's discriminator "
    "(Mescheder et al. 2018, section 2.2)",
    knobs={"init": "float, initial psi (every coordinate), default 1"},
)
ARCHS.add(
    "dcgan",
    Arch(_dcgan_g, _dcgan_d, images=True, train_flag=True, batch_norm=True),
    help="the DCGAN of the TensorFlow DCGAN tutorial, for 28 x 28 images: G dense, batch "
    "norm and 3 transposed convolutions; D 2 strided convolutions with dropout 0.3",
    knobs={
        "channels": f"int, base channel count (default {DCGAN_BASE}: D 64-128, G 256-128-64)",
        "spectral_norm": "bool, spectral normalisation of every D layer (Miyato et al. 2018)",
    },
)

ARCHS.add(
    "dcgan_veegan",
    Arch(
        _veegan_g,
        _veegan_d,
        images=True,
        train_flag=True,
        batch_norm=True,
        d_batch_stats=True,
        g_per_pack_slot=True,
    ),
    help="the DCGAN of PacGAN's Stacked MNIST experiment, VEEGAN setup (carpedm20/"
    "DCGAN-tensorflow as fjxmlzn/PacGAN configures it): G dense, 4 transposed convolutions "
    "(5x5, stride 2) with batch norm and ReLU, tanh; D 4 convolutions (5x5, stride 2), batch "
    "norm on the last 3 (batch statistics, real and fake batches apart), leaky ReLU 0.2",
    knobs={
        "channels": "int, gf_dim = df_dim (default 64: D 64-128-256-512, G 512-256-128-64)",
    },
)


def build_generator(cfg, shape: tuple[int, ...]) -> nn.Module:
    """G for samples of ``shape`` (a flat ``(dim,)`` or an image ``(H, W, C)``)."""
    return ARCHS.get(cfg.arch).generator(cfg, tuple(shape))


def build_discriminator(cfg, shape: tuple[int, ...]) -> nn.Module:
    """D for inputs of ``shape`` (after packing)."""
    return ARCHS.get(cfg.arch).discriminator(cfg, tuple(shape))
