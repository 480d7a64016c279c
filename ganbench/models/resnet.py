"""The ResNet generator and discriminator used for CIFAR-10 by Gulrajani et al. 2017 ("Improved
Training of Wasserstein GANs", WGAN-GP) and Miyato et al. 2018 (SN-GAN): archs
``resnet_wgan_gp`` and ``resnet_sngan``, for square images whose side is a multiple of 8.

Sources: igul222/improved_wgan_training at commit fa66c574, ``gan_cifar_resnet.py``
(``Generator``, ``Discriminator``, ``ResidualBlock``, ``OptimizedResBlockDisc1``,
``UpsampleConv``, ``ConvMeanPool``, ``MeanPoolConv``; ``DIM_G = DIM_D = 128``; the unconditional
model sets ``CONDITIONAL = False``) with ``tflib/ops/{conv2d,linear,batchnorm}.py``; and
pfnet-research/sngan_projection at commit e84b1a5f, ``gen_models/resnet_32.py``
(``ResNetGenerator``), ``gen_models/resblocks.py``, ``dis_models/snresnet_32.py``
(``SNResNetProjectionDiscriminator`` with ``n_classes = 0``), ``dis_models/resblocks.py``,
configured for unconditional CIFAR-10 by ``configs/sn_cifar10_unconditional.yml`` (G ``ch: 256``,
D ``ch: 128``, ``dim_z: 128``, hinge loss, ``n_dis: 5``, Adam 2e-4 (0, 0.9), batch 64).

Both papers use the same blocks. With ``M = side / 8``, ``g`` and ``d`` the channel counts::

    G: z (N, 128) -> dense M * M * g (bias) -> reshape (M, M, g)
       -> 3 x up block: [BN, ReLU, nearest 2x upsample, conv 3x3 g, BN, ReLU, conv 3x3 g]
                        + [nearest 2x upsample, conv 1x1 g]
       -> BN, ReLU, conv 3x3 to C -> tanh
    D: x -> [conv 3x3 d, ReLU, conv 3x3 d, 2x2 mean pool] + [2x2 mean pool, conv 1x1 d]
       -> [ReLU, conv 3x3 d, ReLU, conv 3x3 d, 2x2 mean pool] + [conv 1x1 d, 2x2 mean pool]
       -> 2 x [ReLU, conv 3x3 d, ReLU, conv 3x3 d] + identity
       -> ReLU -> pool over the spatial axes -> dense 1

(gan_cifar_resnet.py's ``UpsampleConv`` repeats each pixel over a 2 x 2 block with
``depth_to_space`` of four copies: a nearest-neighbour upsampling, as Chainer's
``unpooling_2d(x, 2)``; its ``ConvMeanPool`` and ``MeanPoolConv`` are convolution then mean pool
and mean pool then convolution, as sngan_projection's ``_downsample``). Every convolution has
a bias. The two differ in:

=====================  =================================  =====================================
                       ``resnet_wgan_gp`` (Gulrajani)     ``resnet_sngan`` (Miyato)
=====================  =================================  =====================================
G channels ``g``       128 (``DIM_G``)                     256 (``ch: 256``)
D head                 mean over the spatial axes, dense   sum over the spatial axes, dense
                       1 with bias                         1 without bias (``nobias=True``)
D normalisation        none (``NORMALIZATION_D = False``)  spectral norm of every layer
batch-norm epsilon     1e-5 (``fused_batch_norm``)         2e-5 (Chainer's default)
=====================  =================================  =====================================

Initialisation, the same in both: residual convolutions uniform with limit sqrt(12 / (fan_in +
fan_out)) (tflib's ``he_init`` and Chainer's ``GlorotUniform(sqrt(2))`` agree), shortcut
convolutions, the output convolution and the dense layers Glorot-uniform (tflib's
``he_init=False`` / ``initialization=None``, Chainer's ``GlorotUniform()``), biases 0; fans of a
k x k kernel are in * k^2 and out * k^2 in both.

Batch statistics: both train with the batch's statistics; gan_cifar_resnet.py also samples with
them (its ``Normalize`` never passes ``is_training``), sngan_projection samples with running
averages (decay 0.9), as ganbench does for both (momentum 0.9).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganbench.models.archs import Arch, Setting, register_arch, square_image
from ganbench.models.conv import conv_general_dilated

RESIDUAL_INIT = nn.initializers.variance_scaling(2.0, "fan_avg", "uniform")
GLOROT_INIT = nn.initializers.glorot_uniform()
BN_MOMENTUM = 0.9
PAD1 = ((1, 1), (1, 1))

WGAN_GP = {"g": 128, "d": 128, "bn_epsilon": 1e-5, "pool": "mean", "head_bias": True, "sn": False}
SNGAN = {"g": 256, "d": 128, "bn_epsilon": 2e-5, "pool": "sum", "head_bias": False, "sn": True}


def upsample(x: jax.Array) -> jax.Array:
    """Nearest-neighbour 2x upsampling: each pixel repeated over a 2 x 2 block."""
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def mean_pool(x: jax.Array) -> jax.Array:
    """2 x 2 mean pooling of stride 2 (an even side)."""
    n, h, w, c = x.shape
    return jnp.mean(jnp.reshape(x, (n, h // 2, 2, w // 2, 2, c)), axis=(2, 4))


class _Layer(nn.Module):
    """A convolution (``kernel`` > 0) or dense layer, spectrally normalised with ``sn``."""

    features: int
    kernel: int = 0
    init: nn.initializers.Initializer = GLOROT_INIT
    use_bias: bool = True
    sn: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, update_stats: bool = False) -> jax.Array:
        if self.kernel:
            pad = (self.kernel - 1) // 2
            layer = nn.Conv(
                self.features,
                (self.kernel, self.kernel),
                padding=((pad, pad), (pad, pad)),
                use_bias=self.use_bias,
                kernel_init=self.init,
                conv_general_dilated=conv_general_dilated,
                name="conv",
            )
        else:
            layer = nn.Dense(
                self.features, use_bias=self.use_bias, kernel_init=self.init, name="dense"
            )
        if self.sn:
            return nn.SpectralNorm(layer, name="sn")(x, update_stats=update_stats)
        return layer(x)


class UpBlock(nn.Module):
    """The generator's residual block: BN, ReLU, upsample, conv 3x3, BN, ReLU, conv 3x3, plus
    upsample and conv 1x1 on the shortcut."""

    features: int
    epsilon: float

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        def bn(name: str) -> nn.BatchNorm:
            return nn.BatchNorm(
                use_running_average=not train, momentum=BN_MOMENTUM, epsilon=self.epsilon,
                name=name,
            )  # fmt: skip

        h = jax.nn.relu(bn("bn1")(x))
        h = _Layer(self.features, 3, RESIDUAL_INIT, name="conv1")(upsample(h))
        h = jax.nn.relu(bn("bn2")(h))
        h = _Layer(self.features, 3, RESIDUAL_INIT, name="conv2")(h)
        return h + _Layer(self.features, 1, GLOROT_INIT, name="shortcut")(upsample(x))


class DownBlock(nn.Module):
    """The discriminator's residual blocks: ``first`` is the optimised first block (no
    activation before its first convolution; shortcut pool then conv 1x1); ``down`` pools after
    the residual's second convolution and after the shortcut's conv 1x1; blocks that keep the
    size and channel count have the identity shortcut."""

    features: int
    first: bool = False
    down: bool = False
    sn: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, update_stats: bool = False) -> jax.Array:
        def layer(features: int, kernel: int, init, name: str):
            return lambda h: _Layer(features, kernel, init, sn=self.sn, name=name)(h, update_stats)

        h = x if self.first else jax.nn.relu(x)
        h = layer(self.features, 3, RESIDUAL_INIT, "conv1")(h)
        h = layer(self.features, 3, RESIDUAL_INIT, "conv2")(jax.nn.relu(h))
        if self.first or self.down:
            h = mean_pool(h)
        if self.first:
            return h + layer(self.features, 1, GLOROT_INIT, "shortcut")(mean_pool(x))
        if self.down or x.shape[-1] != self.features:
            s = layer(self.features, 1, GLOROT_INIT, "shortcut")(x)
            return h + (mean_pool(s) if self.down else s)
        return h + x


class Generator(nn.Module):
    """(N, z_dim) latent codes to (N, side, side, channels) images in [-1, 1]."""

    side: int = 32
    channels: int = 3
    width: int = 128
    epsilon: float = 1e-5

    @nn.compact
    def __call__(self, z: jax.Array, *, train: bool) -> jax.Array:
        if z.ndim != 2:
            raise ValueError(f"expected latent codes of shape (N, z_dim), got {z.shape}")
        m = self.side // 8
        x = _Layer(m * m * self.width, 0, GLOROT_INIT, name="dense")(z)
        x = x.reshape((z.shape[0], m, m, self.width))
        for i in range(3):
            x = UpBlock(self.width, self.epsilon, name=f"block_{i}")(x, train=train)
        x = nn.BatchNorm(
            use_running_average=not train, momentum=BN_MOMENTUM, epsilon=self.epsilon, name="bn"
        )(x)
        x = _Layer(self.channels, 3, GLOROT_INIT, name="out")(jax.nn.relu(x))
        return jnp.tanh(x)


class Discriminator(nn.Module):
    """(N, side, side, C) images to logits (N, 1)."""

    width: int = 128
    pool: str = "mean"
    head_bias: bool = True
    sn: bool = False

    @nn.compact
    def __call__(
        self, x: jax.Array, *, train: bool = True, update_stats: bool = False
    ) -> jax.Array:
        del train  # no batch norm or dropout in D: the same function in both modes
        if x.ndim != 4 or x.shape[1] != x.shape[2] or x.shape[1] % 4:
            raise ValueError(f"expected square images of a side divisible by 4, got {x.shape}")
        blocks = ((True, False), (False, True), (False, False), (False, False))
        for i, (first, down) in enumerate(blocks):
            x = DownBlock(self.width, first, down, self.sn, name=f"block_{i}")(x, update_stats)
        x = jax.nn.relu(x)
        x = jnp.mean(x, axis=(1, 2)) if self.pool == "mean" else jnp.sum(x, axis=(1, 2))
        return _Layer(1, 0, GLOROT_INIT, self.head_bias, self.sn, name="head")(x, update_stats)


def _builders(spec: dict) -> tuple:
    def g(cfg, shape: tuple[int, ...]) -> nn.Module:
        return Generator(shape[0], shape[-1], cfg.channels or spec["g"], spec["bn_epsilon"])

    def d(cfg, shape: tuple[int, ...]) -> nn.Module:
        return Discriminator(cfg.channels or spec["d"], spec["pool"], spec["head_bias"], spec["sn"])

    return g, d


SIDES = square_image(lambda n: n >= 8 and n % 8 == 0, "square, side a multiple of 8,")

register_arch(
    "resnet_wgan_gp",
    Arch(
        *_builders(WGAN_GP),
        settings={
            "channels": Setting(
                "int, channels of every block (default 128: gan_cifar_resnet.py's DIM_G and DIM_D)"
            )
        },
        images=True,
        train_flag=True,
        batch_norm=True,
        check_shape=SIDES,
        module=__name__,
    ),
    help="the CIFAR-10 ResNet of Gulrajani et al. 2017 (WGAN-GP, gan_cifar_resnet.py): G dense "
    "and 3 up residual blocks with batch norm, D 4 residual blocks (2 down), mean pool, dense; "
    "no normalisation in D",
)
register_arch(
    "resnet_sngan",
    Arch(
        *_builders(SNGAN),
        settings={
            "channels": Setting(
                "int, channels of every block (default G 256, D 128: sngan_projection's CIFAR-10 "
                "configuration)"
            )
        },
        images=True,
        train_flag=True,
        batch_norm=True,
        check_shape=SIDES,
        module=__name__,
    ),
    help="the CIFAR-10 ResNet of Miyato et al. 2018 (SN-GAN, pfnet-research/sngan_projection): "
    "G as WGAN-GP's at 256 channels, D 4 residual blocks with spectral normalisation, sum "
    "pool, dense without bias",
)
