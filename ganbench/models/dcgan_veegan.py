"""The DCGAN of PacGAN's Stacked MNIST experiment in the VEEGAN setup (Lin et al. 2018, "PacGAN",
Table 2): carpedm20/DCGAN-tensorflow as configured by fjxmlzn/PacGAN,
``stacked_MNIST_experiments/VEEGAN_experiment`` (``model.py``: ``DCGAN.generator``,
``DCGAN.discriminator``, ``DCGAN.build_model``; ``ops.py``: ``batch_norm``, ``conv2d``,
``deconv2d``, ``linear``, ``lrelu``; ``config.py``; read at commit 190853e).

Generator (z: (N, 100) -> (N, 28, 28, 3)); the sizes halve with ``ceil`` from 28
(``conv_out_size_same``: 28, 14, 7, 4, 2) and every transposed convolution is given its output
size, as ``tf.nn.conv2d_transpose(output_shape=...)`` is::

    linear 100 -> 8 gf * 2 * 2 (bias), reshape (2, 2, 8 gf), BN, ReLU
    deconv 5x5 stride 2 -> (4, 4, 4 gf), BN, ReLU
    deconv 5x5 stride 2 -> (7, 7, 2 gf), BN, ReLU      (4 -> 7: not 2 x 4)
    deconv 5x5 stride 2 -> (14, 14, gf), BN, ReLU
    deconv 5x5 stride 2 -> (28, 28, 3), tanh

Discriminator (x: (N, 28, 28, 3 * pack) -> logits (N, 1))::

    conv 5x5 stride 2 SAME -> (14, 14, df), leaky ReLU 0.2         (no BN on the first layer)
    conv 5x5 stride 2 SAME -> (7, 7, 2 df), BN, leaky ReLU 0.2
    conv 5x5 stride 2 SAME -> (4, 4, 4 df), BN, leaky ReLU 0.2
    conv 5x5 stride 2 SAME -> (2, 2, 8 df), BN, leaky ReLU 0.2
    linear 2 * 2 * 8 df -> 1 (bias): the logit

with gf = df = 64 (``DCGAN.__init__`` defaults, not overridden by ``pacgan_task.py``); ``base``
sets both. Every convolution and linear layer has a bias, initialised to 0. Weights: convolutions
``truncated_normal(stddev=0.02)`` (TensorFlow's: the normal of std 0.02 redrawn beyond two
standard deviations, so the drawn weights have std 0.02 * 0.880 = 0.0176), transposed
convolutions and linear layers ``random_normal(stddev=0.02)``. Batch norm is
``tf.contrib.layers.batch_norm(decay=0.9, epsilon=1e-5, scale=True, updates_collections=None)``:
a scale (gamma, initially 1) and an offset (beta, 0) per channel, statistics over the batch and
both spatial axes (the generator's first one too: it normalises the reshaped (2, 2, 8 gf)
tensor, 8 gf channels, not 2048 features).

Batch statistics, as the reference uses them:

* The generator normalises with the batch's statistics in training (``is_training=True``, the
  ``train`` flag here) and keeps running averages ``0.9 * ra + 0.1 * batch`` that its sampler
  (``DCGAN.sampler``, ``train=False``) normalises with; every evaluation uses them. On 4-D
  inputs ``tf.contrib.layers.batch_norm`` runs TensorFlow's fused kernel, which normalises with
  the biased batch variance and feeds the running average the unbiased one (``n / (n - 1)``,
  Bessel's correction; ``tensorflow/core/kernels/fused_batch_norm_op.cc``), reproduced here.
  (``tf.nn.fused_batch_norm`` also raises epsilon to at least 1.001e-5; 1e-5 is kept.)
* The discriminator's layers are called with the default ``train=True`` everywhere, in D's and
  in G's step alike: D always normalises with the statistics of the batch it is given, and
  ``DCGAN.build_model`` gives it the real batch and the generated batch in two separate calls
  (``self.discriminator(inputs)`` and ``self.discriminator(self.G, reuse=True)``), so real and
  generated images are never normalised together. TensorFlow keeps running averages for D too,
  but nothing reads them, so :class:`Discriminator` keeps none, and ``train`` does not change
  it. The engine honours the separate calls for architectures registered with
  ``d_batch_stats=True`` (see ``ganbench.train.engine.Program.d_pair``).

Packing (``DCGAN.build_model``, ``load_mnist``): PacGAN's D sees ``pack`` images stacked along
channels (3 * pack channels, image j in channels 3 j .. 3 j + 2) for real and generated inputs
alike, which is ganbench's ``pack_samples`` layout. The reference calls the generator once per
packed slot (``self.G_sep``), each call with its own batch of 64 latents, so each slot has its
own batch statistics and each call updates the running averages in turn; the engine does the
same for architectures registered with ``g_per_pack_slot=True``.

The convolutions are :mod:`ganbench.models.conv` products (as in ``dcgan.py``), the transposed
ones :func:`ganbench.models.conv.conv_transpose_to` with the explicit output size.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from ganbench.models.archs import Arch, Setting, register_arch, square_image
from ganbench.models.conv import conv_general_dilated, conv_transpose_to

BASE = 64  # gf_dim = df_dim (DCGAN.__init__ defaults)
KERNEL = 5  # k_h = k_w (ops.py conv2d, deconv2d)
STRIDE = 2  # d_h = d_w (ops.py conv2d, deconv2d)
LEAKY_SLOPE = 0.2  # ops.py lrelu(leak=0.2)
BN_MOMENTUM = 0.9  # ops.py batch_norm(momentum=0.9): TensorFlow's decay
BN_EPSILON = 1e-5  # ops.py batch_norm(epsilon=1e-5)
INIT_STD = 0.02  # ops.py: stddev of conv2d, deconv2d and linear
IMAGE_SIZE = 28  # config.py input_height = output_height
LAYERS = 4  # the generator's transposed convolutions, the discriminator's convolutions

TRUNCATED_INIT = nn.initializers.truncated_normal(INIT_STD)  # conv2d: truncated at 2 std
NORMAL_INIT = nn.initializers.normal(INIT_STD)  # deconv2d, linear


def same_sizes(size: int = IMAGE_SIZE, layers: int = LAYERS) -> tuple[int, ...]:
    """The spatial sizes of a stack of SAME convolutions of stride 2 from ``size``: (28, 14, 7,
    4, 2), ``conv_out_size_same`` applied ``layers`` times (``ceil(n / 2)``)."""
    sizes = [size]
    for _ in range(layers):
        sizes.append(math.ceil(sizes[-1] / STRIDE))
    return tuple(sizes)


class BatchNorm(nn.Module):
    """``tf.contrib.layers.batch_norm`` on the last axis, as ``ops.batch_norm`` configures it.

    ``train=True`` normalises with the biased variance of the batch over every axis but the last;
    with ``running`` it also moves the running averages (``batch_stats``: ``mean`` from 0,
    ``var`` from 1) by ``momentum * ra + (1 - momentum) * batch``, the variance with Bessel's
    correction as TensorFlow's fused kernel does. ``train=False`` normalises with the running
    averages. Without ``running`` the layer keeps no statistics and always uses the batch's.
    """

    momentum: float = BN_MOMENTUM
    epsilon: float = BN_EPSILON
    running: bool = True

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        c = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones, (c,), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros, (c,), jnp.float32)
        axes = tuple(range(x.ndim - 1))
        if self.running:
            ra_mean = self.variable("batch_stats", "mean", jnp.zeros, (c,), jnp.float32)
            ra_var = self.variable("batch_stats", "var", jnp.ones, (c,), jnp.float32)
        if train or not self.running:
            mean = jnp.mean(x, axis=axes)
            var = jnp.mean(jnp.square(x - jnp.reshape(mean, (1,) * len(axes) + (c,))), axis=axes)
            if self.running and not self.is_initializing():
                n = x.size // c
                m = self.momentum
                ra_mean.value = m * ra_mean.value + (1.0 - m) * mean
                ra_var.value = m * ra_var.value + (1.0 - m) * var * (n / max(n - 1, 1))
        else:
            mean, var = ra_mean.value, ra_var.value
        shape = (1,) * len(axes) + (c,)
        mul = jnp.reshape(lax.rsqrt(var + self.epsilon) * scale, shape)
        return (x - jnp.reshape(mean, shape)) * mul + jnp.reshape(bias, shape)


class ConvTransposeTo(nn.Module):
    """``ops.deconv2d``: ``tf.nn.conv2d_transpose`` to a given output size (SAME, 5x5, stride
    2), kernel (5, 5, features, in) drawn from N(0, 0.02^2), bias 0."""

    features: int
    out_size: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param(
            "kernel", NORMAL_INIT, (KERNEL, KERNEL, self.features, x.shape[-1]), jnp.float32
        )
        bias = self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32)
        y = conv_transpose_to(x, kernel, STRIDE, (self.out_size, self.out_size))
        return y + bias.reshape((1, 1, 1, -1))


class Generator(nn.Module):
    """``DCGAN.generator`` (training) and ``DCGAN.sampler`` (``train=False``): (N, z_dim) latent
    codes to (N, 28, 28, channels) images in [-1, 1]."""

    channels: int = 3  # c_dim / packing_num
    base: int = BASE

    @nn.compact
    def __call__(self, z: jax.Array, *, train: bool) -> jax.Array:
        if z.ndim != 2:
            raise ValueError(f"expected latent codes of shape (N, z_dim), got {z.shape}")
        s = same_sizes()  # (28, 14, 7, 4, 2)
        g = self.base
        x = nn.Dense(
            8 * g * s[4] * s[4], kernel_init=NORMAL_INIT, bias_init=nn.initializers.zeros,
            name="h0_lin",
        )(z)  # fmt: skip
        x = x.reshape((z.shape[0], s[4], s[4], 8 * g))
        x = jax.nn.relu(BatchNorm(name="bn_0")(x, train=train))
        for i, (size, features) in enumerate(zip(s[3:0:-1], (4 * g, 2 * g, g), strict=True), 1):
            x = ConvTransposeTo(features, size, name=f"deconv_{i}")(x)
            x = jax.nn.relu(BatchNorm(name=f"bn_{i}")(x, train=train))
        x = ConvTransposeTo(self.channels, s[0], name="deconv_4")(x)
        return jnp.tanh(x)


class Discriminator(nn.Module):
    """``DCGAN.discriminator``: (N, 28, 28, C) images (C = 3 * pack) to logits (N, 1).

    Batch norm always uses the statistics of the batch given (the reference never calls D in
    inference mode), so ``train`` is accepted for the engine's interface and changes nothing;
    call D on real and generated batches separately, as the reference does."""

    base: int = BASE

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = True) -> jax.Array:
        del train  # batch statistics in both modes (see the class docstring)
        if x.ndim != 4 or tuple(x.shape[1:3]) != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"expected images of shape (N, 28, 28, C), got {x.shape}")
        for i in range(LAYERS):
            x = nn.Conv(
                self.base * 2**i,
                (KERNEL, KERNEL),
                strides=(STRIDE, STRIDE),
                padding="SAME",
                kernel_init=TRUNCATED_INIT,
                bias_init=nn.initializers.zeros,
                conv_general_dilated=conv_general_dilated,
                name=f"conv_{i}",
            )(x)
            if i > 0:  # d_bn1 .. d_bn3; the first convolution has none
                x = BatchNorm(running=False, name=f"bn_{i}")(x, train=True)
            x = jax.nn.leaky_relu(x, LEAKY_SLOPE)
        x = x.reshape((x.shape[0], -1))  # (N, 2 * 2 * 8 base)
        return nn.Dense(1, kernel_init=NORMAL_INIT, bias_init=nn.initializers.zeros, name="h4_lin")(
            x
        )


def _veegan_g(cfg, shape: tuple[int, ...]) -> nn.Module:
    return Generator(channels=shape[-1], base=cfg.channels or BASE)


def _veegan_d(cfg, shape: tuple[int, ...]) -> nn.Module:
    return Discriminator(base=cfg.channels or BASE)


register_arch(
    "dcgan_veegan",
    Arch(
        _veegan_g,
        _veegan_d,
        settings={
            "channels": Setting(
                "int, gf_dim = df_dim (default 64: D 64-128-256-512, G 512-256-128-64)"
            )
        },
        images=True,
        train_flag=True,
        batch_norm=True,
        d_batch_stats=True,
        g_per_pack_slot=True,
        check_shape=square_image(lambda n: n == IMAGE_SIZE, "28 x 28"),
        module=__name__,
    ),
    help="the DCGAN of PacGAN's Stacked MNIST experiment, VEEGAN setup (carpedm20/"
    "DCGAN-tensorflow as fjxmlzn/PacGAN configures it): G dense, 4 transposed convolutions "
    "(5x5, stride 2) with batch norm and ReLU, tanh; D 4 convolutions (5x5, stride 2), batch "
    "norm on the last 3 (batch statistics, real and fake batches apart), leaky ReLU 0.2",
)
