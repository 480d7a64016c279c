"""The DCGAN of TensorFlow's "Deep Convolutional Generative Adversarial Network" tutorial
(tensorflow/docs, site/en/tutorials/generative/dcgan.ipynb), for 28x28x1 images in [-1, 1].

Generator (z: (N, z_dim) -> (N, 28, 28, 1)):
    Dense(7*7*256, no bias), BN, LeakyReLU, reshape (7, 7, 256),
    ConvTranspose(128, 5x5, stride 1, SAME, no bias), BN, LeakyReLU,
    ConvTranspose(64, 5x5, stride 2, SAME, no bias), BN, LeakyReLU,
    ConvTranspose(1, 5x5, stride 2, SAME, no bias), tanh.
Discriminator (x: (N, 28, 28, 1) -> logits (N, 1)):
    Conv(64, 5x5, stride 2, SAME), LeakyReLU, Dropout(0.3),
    Conv(128, 5x5, stride 2, SAME), LeakyReLU, Dropout(0.3), Flatten, Dense(1).

The tutorial leaves every layer at its Keras default, reproduced here: LeakyReLU negative slope
0.3 (``tf.keras.layers.LeakyReLU(alpha=0.3)``; Keras 3 ``negative_slope=0.3``), BatchNormalization
momentum 0.99 and epsilon 1e-3 (Flax's running-average update ``m * ra + (1 - m) * batch`` is
Keras' with the same ``m``), Glorot-uniform kernels and zero biases. Transposed convolutions are
the gradient of a convolution (``transpose_kernel=True``), as Keras' ``Conv2DTranspose`` is; the
SAME padding of ``lax.conv_transpose`` gives the same output sizes as TensorFlow (7 -> 14 -> 28).

The convolutions are computed by :mod:`ganbench.models.conv` (patches times a matrix), not by
XLA's convolution instruction, which XLA:CPU runs 30-100x slower for kernel gradients inside the
engine's ``lax.scan`` and about 4x slower when ``vmap`` over runs turns it into a grouped
convolution. The layers are ``nn.Conv(conv_general_dilated=conv.conv_general_dilated)`` and
``conv.ConvTranspose``: the parameters (names, shapes, initial values) are those of ``nn.Conv``
and ``nn.ConvTranspose(transpose_kernel=True)``, and the outputs equal theirs to float32 rounding.
At ``base=64`` the parameter counts equal the tutorial's ``model.summary()``: generator 2,305,472
trainable parameters plus 25,472 BatchNorm moving statistics (Keras' "non-trainable params",
2,330,944 in all), discriminator 212,865.

``base`` sets the hidden channel counts: the discriminator's convolutions have ``base`` and
``2 base`` channels, the generator's ``4 base`` (dense and first block), ``2 base`` and ``base``;
the tutorial's nets are ``base = 64``, and CPU suites shrink them (``base = 16`` gives
16/32 and 64/32/16). ``channels`` is the number of image channels the generator makes (1 for
MNIST, 3 for Stacked MNIST); the discriminator takes any number (packed inputs stack along
channels).

State. Both modules are pure functions of explicit variable collections, as in ``mlp.py``:

* BatchNorm running statistics live in the generator's ``batch_stats`` collection. The training
  state carries them next to the parameters (so the scanned loop stays pure): a training pass is
  ``y, upd = G.apply({"params": p, "batch_stats": s}, z, train=True, mutable=["batch_stats"])``
  and the state keeps ``upd["batch_stats"]``; sampling and evaluation use ``train=False``, which
  normalises with the running statistics and changes nothing. As in Keras, ``train=True``
  normalises with the batch's own statistics.
* With ``spectral_norm=True`` the discriminator wraps every Conv/Dense in ``nn.SpectralNorm``;
  its power-iteration vectors ``u`` and ``sigma`` live in the discriminator's ``batch_stats`` and
  advance only with ``update_stats=True`` and ``mutable=["batch_stats"]`` (one iteration per
  call, Miyato et al. 2018), exactly as in ``mlp.py``.
* Dropout (discriminator, ``train=True`` only) draws from the ``"dropout"`` rng stream. No key is
  stored: derive one per step from the step key carried by the training state, for instance
  ``k_drop = jax.random.fold_in(step_key, TAG_DROPOUT)`` (ganbench.train.keys), and pass ``rngs={"dropout": k}``. Use a
  different key for each discriminator call within a step (``k_real, k_fake =
  jax.random.split(k_drop)``) so that real and fake batches get independent masks; under ``vmap``
  over runs each run's key comes from its own seed. ``train=False`` needs no key.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganbench.models.archs import Arch, Setting, register_arch, square_image
from ganbench.models.conv import ConvTranspose, conv_general_dilated

LEAKY_SLOPE = 0.3  # Keras LeakyReLU default (alpha / negative_slope)
BN_MOMENTUM = 0.99  # Keras BatchNormalization default
BN_EPSILON = 1e-3  # Keras BatchNormalization default
DROPOUT_RATE = 0.3  # the tutorial's Dropout(0.3)
KERNEL_INIT = nn.initializers.glorot_uniform()  # Keras default kernel_initializer
IMAGE_SHAPE = (28, 28, 1)


def _leaky(x: jax.Array) -> jax.Array:
    return jax.nn.leaky_relu(x, LEAKY_SLOPE)


class Generator(nn.Module):
    """The tutorial's generator: (N, z_dim) latent codes to (N, 28, 28, channels) images in
    [-1, 1]."""

    channels: int = 1
    base: int = 64

    @nn.compact
    def __call__(self, z: jax.Array, *, train: bool) -> jax.Array:
        if z.ndim != 2:
            raise ValueError(f"expected latent codes of shape (N, z_dim), got {z.shape}")
        c256, c128, c64 = 4 * self.base, 2 * self.base, self.base

        def bn(name: str) -> nn.BatchNorm:
            return nn.BatchNorm(
                use_running_average=not train,
                momentum=BN_MOMENTUM,
                epsilon=BN_EPSILON,
                name=name,
            )

        def deconv(features: int, stride: int, name: str) -> ConvTranspose:
            return ConvTranspose(
                features,
                (5, 5),
                strides=(stride, stride),
                padding="SAME",
                use_bias=False,
                kernel_init=KERNEL_INIT,
                name=name,
            )

        x = nn.Dense(7 * 7 * c256, use_bias=False, kernel_init=KERNEL_INIT, name="dense")(z)
        x = _leaky(bn("bn_0")(x))
        x = x.reshape((x.shape[0], 7, 7, c256))
        x = _leaky(bn("bn_1")(deconv(c128, 1, "deconv_1")(x)))  # (N, 7, 7, 128)
        x = _leaky(bn("bn_2")(deconv(c64, 2, "deconv_2")(x)))  # (N, 14, 14, 64)
        x = deconv(self.channels, 2, "deconv_3")(x)  # (N, 28, 28, channels)
        return jnp.tanh(x)


class Discriminator(nn.Module):
    """The tutorial's discriminator: (N, 28, 28, C) images to logits (N, 1)."""

    base: int = 64
    spectral_norm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, update_stats: bool = False) -> jax.Array:
        if x.ndim != 4 or tuple(x.shape[1:3]) != IMAGE_SHAPE[:2]:
            raise ValueError(f"expected images of shape (N, 28, 28, C), got {x.shape}")

        def layer(module: nn.Module, name: str, h: jax.Array) -> jax.Array:
            if self.spectral_norm:
                return nn.SpectralNorm(module, name=f"sn_{name}")(h, update_stats=update_stats)
            return module(h)

        for i, channels in enumerate((self.base, 2 * self.base)):
            conv = nn.Conv(
                channels,
                (5, 5),
                strides=(2, 2),
                padding="SAME",
                kernel_init=KERNEL_INIT,
                conv_general_dilated=conv_general_dilated,
                name=f"conv_{i}",
            )
            x = _leaky(layer(conv, f"conv_{i}", x))
            x = nn.Dropout(DROPOUT_RATE, deterministic=not train, rng_collection="dropout")(x)
        x = x.reshape((x.shape[0], -1))  # (N, 7 * 7 * 128)
        return layer(nn.Dense(1, kernel_init=KERNEL_INIT, name="dense"), "dense", x)


def dcgan_generator(base: int = 64, channels: int = 1) -> Generator:
    """The tutorial's generator (``base`` 64, 1 channel)."""
    return Generator(channels=channels, base=base)


def dcgan_discriminator(base: int = 64, spectral_norm: bool = False) -> Discriminator:
    """The tutorial's discriminator (``base`` 64), optionally spectrally normed."""
    return Discriminator(base=base, spectral_norm=spectral_norm)


def param_count(params: Any) -> int:
    """Number of scalars in a pytree of arrays (a ``params`` or ``batch_stats`` collection)."""
    return int(sum(leaf.size for leaf in jax.tree.leaves(params)))


DCGAN_BASE = 64
"""The DCGAN's base channel count (its discriminator's first convolution) by default."""


def _dcgan_g(cfg, shape: tuple[int, ...]) -> nn.Module:
    return Generator(channels=shape[-1], base=cfg.channels or DCGAN_BASE)


def _dcgan_d(cfg, shape: tuple[int, ...]) -> nn.Module:
    return Discriminator(base=cfg.channels or DCGAN_BASE, spectral_norm=cfg.spectral_norm)


register_arch(
    "dcgan",
    Arch(
        _dcgan_g,
        _dcgan_d,
        settings={
            "channels": Setting(
                f"int, base channel count (default {DCGAN_BASE}: D 64-128, G 256-128-64)"
            ),
            "spectral_norm": Setting(
                "bool, spectral normalisation of every D layer (Miyato et al. 2018)",
                roles=("discriminator",),
            ),
        },
        images=True,
        train_flag=True,
        batch_norm=True,
        check_shape=square_image(lambda n: n == IMAGE_SHAPE[0], "28 x 28"),
        module=__name__,
    ),
    help="the DCGAN of the TensorFlow DCGAN tutorial, for 28 x 28 images: G dense, batch "
    "norm and 3 transposed convolutions; D 2 strided convolutions with dropout 0.3",
)
