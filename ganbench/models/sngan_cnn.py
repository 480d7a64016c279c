"""The standard CNN of Miyato et al. 2018 ("Spectral Normalization for Generative Adversarial
Networks", Table 3) as the authors' code builds it: arch ``sngan_cnn``, for square images whose
side is a multiple of 8 (32 for CIFAR-10, 48 for STL-10), any number of channels.

Source: pfnet-research/chainer-gan-lib at commit cf9efba5, ``common/net.py``:
``DCGANGenerator`` (the generator of its ``sndcgan`` and ``dcgan`` architectures) and
``SNDCGANDiscriminator``; ``train.py`` wires them as ``--architecture sndcgan``; ``example.sh``
trains them with ``--n_dis 1 --adam_beta1 0.5 --adam_beta2 0.999`` (Adam alpha 0.0002, batch 64,
100,000 iterations by default), and its README reports the resulting FID (chainer-gan-lib's
own Inception port, 50,000 training images against 10,000 generated). With ``M = side / 8`` and
``b`` the base channel count (``channels``, default 64; the reference's ``ch = 512 = 8 b``)::

    G: z (N, 128) -> dense M * M * 8b (bias) -> batch norm (per feature) -> ReLU
       -> reshape (M, M, 8b)
       -> deconv 4x4 stride 2 pad 1 to 4b (bias), batch norm, ReLU      (2M)
       -> deconv 4x4 stride 2 pad 1 to 2b (bias), batch norm, ReLU      (4M)
       -> deconv 4x4 stride 2 pad 1 to b (bias), batch norm, ReLU       (8M = side)
       -> deconv 3x3 stride 1 pad 1 to C (bias) -> tanh
    D: x (N, side, side, C) -> conv 3x3 s1 b, conv 4x4 s2 2b, conv 3x3 s1 2b, conv 4x4 s2 4b,
       conv 3x3 s1 4b, conv 4x4 s2 8b, conv 3x3 s1 8b (pad 1 each, bias, each followed by
       leaky ReLU 0.2) -> flatten (M * M * 8b) -> dense 1 (bias)

with spectral normalisation of every layer of D (``SNConvolution2D``, ``SNLinear``: one power
iteration per update, Algorithm 1). Every weight is drawn from N(0, 0.02^2)
(``wscale=0.02``), every bias is 0. Batch norm is Chainer's ``BatchNormalization``: learned
scale (1) and shift (0), epsilon 2e-5, running averages with decay 0.9 (what sampling uses in
Chainer's test mode and here). The latent code is U(-1, 1)^128 (``z_distribution="uniform"``,
``n_hidden=128``): suites set ``latent = "uniform"`` and ``z_dim = 128``.

Two details differ between the reference code and re-implementations, and ganbench follows the
authors' code: the discriminator's channels double at the strided convolutions (64-128-128-
256-256-512-512 at b = 64, as ``SNDCGANDiscriminator`` and w86763777/pytorch-gan-collections'
``source/models/sngan.py`` have them; StudioGAN's ``deep_conv`` uses 64-64-128-128-256-256-512
and sums the last feature map instead of flattening it), and the leaky ReLU's slope is Chainer's
default 0.2 (``F.leaky_relu``), where pytorch-gan-collections uses 0.1.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganbench.models.archs import Arch, Setting, register_arch, square_image
from ganbench.models.conv import ConvTransposePadded, conv_general_dilated

BASE = 64  # ch // 8 with ch = 512 (DCGANGenerator, SNDCGANDiscriminator defaults)
INIT = nn.initializers.normal(0.02)  # chainer.initializers.Normal(wscale=0.02)
LEAKY_SLOPE = 0.2  # chainer.functions.leaky_relu default
BN_EPSILON = 2e-5  # chainer.links.BatchNormalization default eps
BN_MOMENTUM = 0.9  # chainer.links.BatchNormalization default decay
PAD1 = ((1, 1), (1, 1))


def _bn(name: str, train: bool) -> nn.BatchNorm:
    return nn.BatchNorm(
        use_running_average=not train, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name
    )


class Generator(nn.Module):
    """``DCGANGenerator``: (N, z_dim) latent codes to (N, side, side, channels) in [-1, 1]."""

    side: int = 32
    channels: int = 3
    base: int = BASE

    @nn.compact
    def __call__(self, z: jax.Array, *, train: bool) -> jax.Array:
        if z.ndim != 2:
            raise ValueError(f"expected latent codes of shape (N, z_dim), got {z.shape}")
        m, b = self.side // 8, self.base
        x = nn.Dense(m * m * 8 * b, kernel_init=INIT, name="l0")(z)
        x = jax.nn.relu(_bn("bn0", train)(x))
        x = x.reshape((z.shape[0], m, m, 8 * b))
        for i, width in enumerate((4 * b, 2 * b, b), 1):
            x = ConvTransposePadded(width, (4, 4), (2, 2), PAD1, kernel_init=INIT, name=f"dc{i}")(x)
            x = jax.nn.relu(_bn(f"bn{i}", train)(x))
        x = ConvTransposePadded(self.channels, (3, 3), (1, 1), PAD1, kernel_init=INIT, name="dc4")(
            x
        )
        return jnp.tanh(x)


LAYERS = ((3, 1, 1), (4, 2, 2), (3, 1, 2), (4, 2, 4), (3, 1, 4), (4, 2, 8), (3, 1, 8))
"""(kernel, stride, channels in units of b) of ``SNDCGANDiscriminator``'s convolutions c0_0,
c0_1, c1_0, c1_1, c2_0, c2_1, c3_0."""


class Discriminator(nn.Module):
    """``SNDCGANDiscriminator``: (N, side, side, C) images to logits (N, 1), every layer
    spectrally normalised."""

    base: int = BASE

    @nn.compact
    def __call__(
        self, x: jax.Array, *, train: bool = True, update_stats: bool = False
    ) -> jax.Array:
        del train  # no batch norm or dropout in D: the same function in both modes
        if x.ndim != 4 or x.shape[1] != x.shape[2] or x.shape[1] % 8:
            raise ValueError(f"expected square images of a side divisible by 8, got {x.shape}")
        for i, (k, s, units) in enumerate(LAYERS):
            conv = nn.Conv(
                units * self.base,
                (k, k),
                strides=(s, s),
                padding=PAD1,
                kernel_init=INIT,
                conv_general_dilated=conv_general_dilated,
                name=f"conv_{i}",
            )
            x = nn.SpectralNorm(conv, name=f"sn_conv_{i}")(x, update_stats=update_stats)
            x = jax.nn.leaky_relu(x, LEAKY_SLOPE)
        x = x.reshape((x.shape[0], -1))
        dense = nn.Dense(1, kernel_init=INIT, name="l4")
        return nn.SpectralNorm(dense, name="sn_l4")(x, update_stats=update_stats)


def _g(cfg, shape: tuple[int, ...]) -> nn.Module:
    return Generator(side=shape[0], channels=shape[-1], base=cfg.channels or BASE)


def _d(cfg, shape: tuple[int, ...]) -> nn.Module:
    return Discriminator(base=cfg.channels or BASE)


register_arch(
    "sngan_cnn",
    Arch(
        _g,
        _d,
        settings={
            "channels": Setting(
                f"int, base channel count b (default {BASE}: D b-2b-2b-4b-4b-8b-8b, G 8b-4b-2b-b)"
            )
        },
        images=True,
        train_flag=True,
        batch_norm=True,
        check_shape=square_image(lambda n: n >= 8 and n % 8 == 0, "square, side a multiple of 8,"),
        module=__name__,
    ),
    help="the standard CNN of Miyato et al. 2018 (SN-GAN, Table 3) as pfnet-research/chainer-gan-"
    "lib builds it: G dense, batch norm, 3 deconvolutions 4x4 stride 2, conv 3x3, tanh; D 7 "
    "spectrally normalised convolutions, leaky ReLU 0.2, dense; images of side 8 M",
)
