"""The DCGAN of Radford, Metz and Chintala 2016 ("Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks"), as the authors' code builds it, for square
images of 16, 32, 64 or 128 pixels with any number of channels (arch ``dcgan_radford``).

Source: Newmu/dcgan_code at commit ee12b2d1, ``faces/train_uncond_dcgan.py`` (the 64 x 64
network: ``gen`` and ``discrim``, the parameter shapes ``gw`` ... ``dwy``, the settings
``nz = 100``, ``ngf = ndf = 128``, ``b1 = 0.5``, ``lr = 0.0002``, ``nbatch = 128``) and
``svhn/svhn_semisup_analysis.py`` (the 32 x 32 discriminator of the SVHN model: three
convolutions of 128, 256 and 512 channels, then the linear layer); ``lib/ops.py``
(``batchnorm``, ``deconv``), ``lib/activations.py`` (``LeakyRectify(leak=0.2)``),
``lib/inits.py``. With ``L = log2(side / 4)`` stride-2 stages and ``b`` the base channel count
(``channels``, default 128 = ngf = ndf)::

    G: z (N, nz) -> dense 4 * 4 * b 2^(L-1), no bias -> batch norm (per feature) -> ReLU
       -> reshape (4, 4, b 2^(L-1))
       -> L - 1 times: transposed conv 5x5 stride 2 (pad 2) halving the channels, no bias,
          batch norm, ReLU (down to b channels)
       -> transposed conv 5x5 stride 2 (pad 2) to C channels, no bias -> tanh
    D: x (N, side, side, C) -> conv 5x5 stride 2 (pad 2) to b channels, no bias -> leaky ReLU
       -> L - 1 times: conv 5x5 stride 2 (pad 2) doubling the channels, no bias, batch norm,
          leaky ReLU 0.2
       -> flatten (4 * 4 * b 2^(L-1)) -> dense 1, no bias (the logit; the reference's sigmoid
          is the loss's)

At 64 x 64 this is the faces network (G 1024-512-256-128 channels, D 128-256-512-1024); at
32 x 32 the SVHN model's discriminator (128-256-512) and its mirror image as generator.
Weights are drawn from N(0, 0.02^2) (``inits.Normal(scale=0.02)``), batch-norm gains from
N(1, 0.02^2) and shifts are 0 (``gain_ifn``, ``bias_ifn``). Batch norm is ``lib/ops.py``'s: the
biased variance of the batch, epsilon 1e-8; the generator's first one normalises each of the
dense layer's 4 * 4 * b 2^(L-1) outputs on its own (``batchnorm`` of a 2-D input), the others
each channel over the batch and both spatial axes.

Batch statistics, and where ganbench differs from the reference:

* the discriminator always normalises with the statistics of the batch it is given, and the
  reference gives it real and generated batches in separate calls (``p_real = discrim(X)``,
  ``p_gen = discrim(gX)``): registered with ``d_batch_stats``, so the engine does the same, and
  gradient penalties are refused with it;
* the generator trains with batch statistics; the reference also samples with them (``_gen``
  calls ``batchnorm`` without stored statistics), while ganbench samples with running
  averages (momentum 0.9, ganbench's choice; the reference keeps none), as every generator
  with batch norm does here, so a sample does not depend on the others drawn with it;
* the reference's L2 weight decay of 1e-5 on both players (``l2 = 1e-5`` in the Adam updates)
  is not applied.

The convolutions are :mod:`ganbench.models.conv` products, as in ``dcgan.py``.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from ganbench.models.archs import Arch, Setting, register_arch, square_image
from ganbench.models.conv import ConvTransposePadded, conv_general_dilated

BASE = 128  # ngf = ndf in faces/train_uncond_dcgan.py
KERNEL = 5
STRIDE = 2
PAD = ((2, 2), (2, 2))  # border_mode=(2, 2)
LEAKY_SLOPE = 0.2  # LeakyRectify(leak=0.2)
BN_EPSILON = 1e-8  # lib/ops.py batchnorm(e=1e-8)
BN_MOMENTUM = 0.9  # running averages for sampling: ganbench's (the reference keeps none)
INIT = nn.initializers.normal(0.02)  # inits.Normal(scale=0.02)
SIDES = (16, 32, 64, 128)


def stages(side: int) -> int:
    """The stride-2 stages of a network for ``side`` x ``side`` images: log2(side / 4)."""
    if side not in SIDES:
        raise ValueError(
            f"dcgan_radford makes {', '.join(map(str, SIDES))}-pixel images, not {side}"
        )
    return int(math.log2(side // 4))


def _gain_init(key, shape, dtype=jnp.float32):
    """Batch-norm gains from N(1, 0.02^2) (``gain_ifn = inits.Normal(loc=1., scale=0.02)``)."""
    return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


class BatchNorm(nn.Module):
    """``lib/ops.py`` ``batchnorm`` over every axis but the last: (x - mean) / sqrt(var + 1e-8)
    * gain + shift, with the batch's mean and biased variance. ``running``: keep running
    averages (``batch_stats``) that ``train=False`` normalises with."""

    running: bool = True
    momentum: float = BN_MOMENTUM

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        c = x.shape[-1]
        gain = self.param("scale", _gain_init, (c,), jnp.float32)
        shift = self.param("bias", nn.initializers.zeros, (c,), jnp.float32)
        axes = tuple(range(x.ndim - 1))
        shape = (1,) * len(axes) + (c,)
        if self.running:
            ra_mean = self.variable("batch_stats", "mean", jnp.zeros, (c,), jnp.float32)
            ra_var = self.variable("batch_stats", "var", jnp.ones, (c,), jnp.float32)
        if train or not self.running:
            mean = jnp.mean(x, axis=axes)
            var = jnp.mean(jnp.square(x - jnp.reshape(mean, shape)), axis=axes)
            if self.running and not self.is_initializing():
                m = self.momentum
                ra_mean.value = m * ra_mean.value + (1.0 - m) * mean
                ra_var.value = m * ra_var.value + (1.0 - m) * var
        else:
            mean, var = ra_mean.value, ra_var.value
        mul = jnp.reshape(lax.rsqrt(var + BN_EPSILON) * gain, shape)
        return (x - jnp.reshape(mean, shape)) * mul + jnp.reshape(shift, shape)


class Generator(nn.Module):
    """(N, nz) latent codes to (N, side, side, channels) images in [-1, 1]."""

    side: int = 64
    channels: int = 3
    base: int = BASE

    @nn.compact
    def __call__(self, z: jax.Array, *, train: bool) -> jax.Array:
        if z.ndim != 2:
            raise ValueError(f"expected latent codes of shape (N, z_dim), got {z.shape}")
        n_stages = stages(self.side)
        width = self.base * 2 ** (n_stages - 1)
        x = nn.Dense(4 * 4 * width, use_bias=False, kernel_init=INIT, name="dense")(z)
        x = jax.nn.relu(BatchNorm(name="bn_0")(x, train=train))
        x = x.reshape((z.shape[0], 4, 4, width))
        for i in range(1, n_stages):
            width //= 2
            x = ConvTransposePadded(
                width, (KERNEL, KERNEL), (STRIDE, STRIDE), PAD, scale=STRIDE, use_bias=False,
                kernel_init=INIT, name=f"deconv_{i}",
            )(x)  # fmt: skip
            x = jax.nn.relu(BatchNorm(name=f"bn_{i}")(x, train=train))
        x = ConvTransposePadded(
            self.channels, (KERNEL, KERNEL), (STRIDE, STRIDE), PAD, scale=STRIDE, use_bias=False,
            kernel_init=INIT, name=f"deconv_{n_stages}",
        )(x)  # fmt: skip
        return jnp.tanh(x)


class Discriminator(nn.Module):
    """(N, side, side, C) images to logits (N, 1); batch norm always with the statistics of the
    batch given (``train`` is accepted for the engine's interface and changes nothing)."""

    base: int = BASE

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = True) -> jax.Array:
        del train  # batch statistics in both modes (module docstring)
        if x.ndim != 4 or x.shape[1] != x.shape[2]:
            raise ValueError(f"expected square images (N, H, H, C), got {x.shape}")
        n_stages = stages(x.shape[1])
        for i in range(n_stages):
            x = nn.Conv(
                self.base * 2**i,
                (KERNEL, KERNEL),
                strides=(STRIDE, STRIDE),
                padding=PAD,
                use_bias=False,
                kernel_init=INIT,
                conv_general_dilated=conv_general_dilated,
                name=f"conv_{i}",
            )(x)
            if i > 0:  # the first convolution has no batch norm (dw alone)
                x = BatchNorm(running=False, name=f"bn_{i}")(x, train=True)
            x = jax.nn.leaky_relu(x, LEAKY_SLOPE)
        x = x.reshape((x.shape[0], -1))
        return nn.Dense(1, use_bias=False, kernel_init=INIT, name="dense")(x)


def _g(cfg, shape: tuple[int, ...]) -> nn.Module:
    return Generator(side=shape[0], channels=shape[-1], base=cfg.channels or BASE)


def _d(cfg, shape: tuple[int, ...]) -> nn.Module:
    return Discriminator(base=cfg.channels or BASE)


register_arch(
    "dcgan_radford",
    Arch(
        _g,
        _d,
        settings={
            "channels": Setting(
                f"int, base channel count b (default {BASE}, the reference's ngf = ndf): D b, "
                "2b, ... per stage; G the mirror image"
            )
        },
        images=True,
        train_flag=True,
        batch_norm=True,
        d_batch_stats=True,
        check_shape=square_image(lambda n: n in SIDES, "16, 32, 64 or 128-pixel square"),
        module=__name__,
    ),
    help="the DCGAN of Radford et al. 2016 as Newmu/dcgan_code builds it (5x5 convolutions of "
    "stride 2, batch norm, ReLU in G, leaky ReLU 0.2 in D, no biases, N(0, 0.02) weights), "
    "for square images of 16-128 pixels (the faces network at 64, the SVHN one at 32)",
)
