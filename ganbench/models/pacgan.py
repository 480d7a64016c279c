"""PacGAN's 2-D networks (Lin et al. 2018, Table 1), as the authors' code defines them.

Source: fjxmlzn/PacGAN at commit 190853e56d6e7843c0d991dc64658cfb3311135e,
``synthetic_data_experiments/2DRing_GAN&PacGAN/`` (``2DGrid_GAN&PacGAN/`` differs only in the
data of ``config.py``), built on the ALI code (IshmaelBelghazi/ALI) and on Blocks
(mila-iqia/blocks, ``blocks/bricks/{simple,bn}.py`` at c69c2dc2). Below, "task" is
``pacgan_task.py`` and "config" is ``config.py`` of that folder.

Generator (:class:`BatchNormMLP`, arch ``bn_mlp``). task lines 43-59 and 94:
``MLP(dims=[2, 400, 400, 400, 400, 2], activations=[Sequence([BatchNormalization(400).apply,
Rectifier().apply])] * 4 + [Identity()], use_bias=False)``, then
``decoder.linear_transformations[-1].use_bias = True``. So each hidden layer is a Linear without
bias, then batch norm, then ReLU; the output layer is a Linear with bias. z is 2-D N(0, I)
(task lines 106-108: ``circle_gaussian_mixture(num_modes=1, r=0, std=1)``; config
``num_zdim = 2``). Widths from config ``gen_hidden_size = 400``.

Batch norm (:class:`PopulationBatchNorm`), as Blocks' ``BatchNormalization`` with its defaults
(``bn.py`` lines 130-146):

* learned scale and shift (``learn_scale = learn_shift = True``), initialised to 1 and 0
  (``scale_init = Constant(1)``, ``shift_init = Constant(0)``, lines 140-143; not touched by the
  pushed weight initialisation, lines 107-112);
* training mode: the batch mean and stdev = sqrt(biased batch variance + epsilon), epsilon 1e-4
  (lines 190-208: ``var = mean(sqr(input_ - mean))``, ``stdev = sqrt(var + eps)``), and
  y = (x - mean) * (scale / stdev) + shift (line 178, Theano's ``bn.batch_normalization``);
* the population statistics are a running mean and a running *stdev* (not a variance),
  initialised to 0 and 1 (lines 271-277), updated once per training iteration as
  ``p <- 0.95 p + 0.05 m`` with m the batch's statistic (task line 149:
  ``bn_updates = [(p, m * 0.05 + p * 0.95) ...]``, added to the training algorithm at line 159);
* inference mode uses the population mean and stdev, with no epsilon added (lines 216-223).

Evaluation uses the population statistics: the samples scored after each epoch are
``gan.decoder.apply(self.z)`` built outside the ``batch_normalization`` context, i.e. in
inference mode (PacGAN ``pacgan/extensions.py`` lines 71-74, GraphLogger; MetricLogger, lines
137-172, scores those points). ganbench does the same (the engine's ``g_apply``).

Packing and batch statistics. With packing degree p the decoder is applied p times, once per
latent batch of 100 (task lines 106-108; ``pacgan/bricks.py`` lines 62-67), so batch norm takes
its statistics over each of the p slots separately, and the p population updates of one layer
are averaged before the momentum step (task lines 127-147, "merge same variables"). The engine
packs consecutive generated samples (sample ``i * p + j`` is slot j of packed input i), so
:class:`PopulationBatchNorm` takes statistics over the samples of each slot j (``groups = p``,
set by the engine from the suite's ``pack``) and averages the slots' statistics for the update.

Known difference: after every epoch PacGAN also runs the population update on 50 monitoring
batches of 100 without changing the parameters (task lines 178-180,
``DataStreamMonitoring(..., updates=bn_updates)`` over ``ShuffledScheme(5000, batch_size)``,
``pacgan/streams.py`` line 33), so its evaluation uses statistics of the final generator,
while ganbench's lag the parameters by the momentum's horizon (about 20 steps). At Adam 1e-4
the parameters move little in 20 steps; ganbench does not reproduce the monitoring pass.

Discriminator (:class:`MaxoutMLP`, arch ``maxout``). task lines 61-90: three
``LinearMaxout(output_dim=200, num_pieces=5)`` then ``Linear(200, 1)``, input width
``num_xdim * num_packing`` (2p). Blocks' ``LinearMaxout`` is a ``Linear`` with bias to
``output_dim * num_pieces`` units followed by ``Maxout`` (``simple.py`` lines 184-227; the
Linear's ``use_bias`` defaults to True, lines 52-56, and the biases are initialised by
``biases_init = Constant(0)``). ``Maxout`` reshapes the last axis to (output_dim, num_pieces)
and takes the maximum over pieces (lines 175-180), so unit i is the maximum of pre-activations
``i * pieces .. i * pieces + pieces - 1``; :class:`Maxout` uses the same layout. No dropout
(task lines 110-125: ``_create_model(with_dropout=False)`` for both graphs) and no batch norm in
D: the ``batch_normalization`` context only switches the decoder's BatchNormalization bricks.

Initialisation. task line 92: ``PacGAN(..., weights_init=IsotropicGaussian(0.02),
biases_init=Constant(0.0))`` pushed to every Linear of both networks: weights N(0, 0.02^2),
biases 0 (see :mod:`ganbench.models.inits`). Parameter counts, with p the packing degree:
G 2*400 + 3*400*400 + 400*2 weights, 4 * 2 * 400 batch-norm scales and shifts and 2 output
biases (the population statistics, 4 * 2 * 400, are state, not parameters); D
(2p * 1000 + 1000) + 2 * (200 * 1000 + 1000) + (200 + 1).

Training (not part of these modules; for suites): Adam lr 1e-4, beta1 0.8 (config lines 23-24;
Blocks' Adam defaults beta2 0.999, epsilon 1e-8), batch 100 (config line 25), the loss the
ALI code's GAN loss: D minimises softplus(-D(x)) + softplus(D(G(z))), G minimises
softplus(D(x)) + softplus(-D(G(z))) (``pacgan/bricks.py`` lines 69-72; the real term has no
gradient in G, so this is the non-saturating loss), and both players step *simultaneously* on
one batch (``ali/algorithms.py`` lines 28-43 in IshmaelBelghazi/ALI: one ``GradientDescent``
over both players' gradients), i.e. ganbench's ``updates = "simultaneous"``.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganbench.models.activations import ACTIVATIONS
from ganbench.models.archs import Arch, Setting, register_arch
from ganbench.models.inits import kernel_initializer

BN_EPSILON = 1e-4
"""Blocks' BatchNormalization default epsilon (``bn.py`` line 131)."""
BN_MOMENTUM = 0.05
"""Weight of the new batch statistic in the population update (PacGAN ``pacgan_task.py`` line
149: ``m * 0.05 + p * 0.95``)."""
INIT_STD = 0.02
"""PacGAN's ``weights_init_std`` (``config.py`` line 21)."""
PIECES = 5
"""PacGAN's ``disc_maxout_pieces`` (``config.py`` line 20)."""

PACGAN_INIT = nn.initializers.normal(stddev=INIT_STD)


class PopulationBatchNorm(nn.Module):
    """Batch norm over the feature axis of (N, F) inputs, with Blocks' semantics (module doc).

    Parameters ``scale`` and ``shift`` (F,); state in ``batch_stats``: ``mean`` and ``stdev``
    (F,), the population statistics. ``train=True`` normalises with the batch's statistics,
    taken separately over each of ``groups`` slots (sample ``i * groups + j`` is in slot j), and,
    when ``batch_stats`` is mutable, moves the population statistics by ``momentum`` towards
    the slots' average statistics. ``train=False`` normalises with the population statistics.
    """

    epsilon: float = BN_EPSILON
    momentum: float = BN_MOMENTUM
    groups: int = 1

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        if x.ndim != 2:
            raise ValueError(f"expected inputs of shape (N, F), got {x.shape}")
        features = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones, (features,), jnp.float32)
        shift = self.param("shift", nn.initializers.zeros, (features,), jnp.float32)
        pop_mean = self.variable("batch_stats", "mean", jnp.zeros, (features,), jnp.float32)
        pop_stdev = self.variable("batch_stats", "stdev", jnp.ones, (features,), jnp.float32)
        if not train:
            return (x - pop_mean.value[None, :]) * (scale / pop_stdev.value)[None, :] + shift[
                None, :
            ]
        n, g = x.shape[0], self.groups
        if n % g:
            raise ValueError(f"a batch of {n} samples does not split into {g} packing slots")
        xg = jnp.reshape(x, (n // g, g, features))
        mean = jnp.mean(xg, axis=0, keepdims=True)  # (1, g, F): one mean per slot
        var = jnp.mean(jnp.square(xg - mean), axis=0, keepdims=True)  # biased
        stdev = jnp.sqrt(var + self.epsilon)
        y = (xg - mean) * (scale[None, None, :] / stdev) + shift[None, None, :]
        if not self.is_initializing() and self.is_mutable_collection("batch_stats"):
            m = self.momentum
            batch_mean = jax.lax.stop_gradient(jnp.mean(mean, axis=(0, 1)))
            batch_stdev = jax.lax.stop_gradient(jnp.mean(stdev, axis=(0, 1)))
            pop_mean.value = (1.0 - m) * pop_mean.value + m * batch_mean
            pop_stdev.value = (1.0 - m) * pop_stdev.value + m * batch_stdev
        return jnp.reshape(y, (n, features))


class BatchNormMLP(nn.Module):
    """PacGAN's generator: ``depth`` x [Linear(width, no bias), batch norm, activation], then
    Linear(out_dim) with bias (module doc). Kernels from ``weight_init`` (default PacGAN's
    N(0, 0.02^2)), biases 0. ``groups``: the packing degree (see :class:`PopulationBatchNorm`).
    """

    width: int
    depth: int
    out_dim: int
    activation: str = "relu"
    groups: int = 1
    weight_init: str | None = None

    @nn.compact
    def __call__(self, z: jax.Array, *, train: bool) -> jax.Array:
        act = ACTIVATIONS.get(self.activation)
        kinit = kernel_initializer(self.weight_init, PACGAN_INIT)
        x = z
        for i in range(self.depth):
            x = nn.Dense(self.width, use_bias=False, kernel_init=kinit, name=f"dense_{i}")(x)
            x = PopulationBatchNorm(groups=self.groups, name=f"bn_{i}")(x, train=train)
            x = act(x)
        return nn.Dense(self.out_dim, kernel_init=kinit, name=f"dense_{self.depth}")(x)


class Maxout(nn.Module):
    """Blocks' ``LinearMaxout``: h = x W + b with ``units * pieces`` outputs; unit i is
    max(h[..., i * pieces : (i + 1) * pieces]) (Goodfellow et al. 2013)."""

    units: int
    pieces: int = PIECES
    kernel_init: nn.initializers.Initializer = PACGAN_INIT

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = nn.Dense(self.units * self.pieces, kernel_init=self.kernel_init, name="linear")(x)
        h = jnp.reshape(h, (*h.shape[:-1], self.units, self.pieces))
        return jnp.max(h, axis=-1)


class MaxoutMLP(nn.Module):
    """PacGAN's discriminator: ``depth`` maxout layers of ``width`` units x ``pieces``, then
    Linear(1) (module doc). Kernels from ``weight_init`` (default N(0, 0.02^2)), biases 0."""

    width: int
    depth: int
    pieces: int = PIECES
    weight_init: str | None = None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kinit = kernel_initializer(self.weight_init, PACGAN_INIT)
        for i in range(self.depth):
            x = Maxout(self.width, self.pieces, kinit, name=f"maxout_{i}")(x)
        return nn.Dense(1, kernel_init=kinit, name=f"dense_{self.depth}")(x)


WEIGHT_INIT_HELP = (
    'string, "normal:<std>" (weights N(0, std^2), biases 0) or "orthogonal:<gain>" '
    "(orthogonal weights times gain, biases 0); default PacGAN's normal:0.02"
)


def _bn_mlp_g(cfg, shape: tuple[int, ...]) -> nn.Module:
    return BatchNormMLP(
        cfg.width, cfg.depth, int(math.prod(shape)), cfg.activation, weight_init=cfg.weight_init
    )


def _maxout_d(cfg, shape: tuple[int, ...]) -> nn.Module:
    pieces = PIECES if cfg.pieces is None else cfg.pieces
    return MaxoutMLP(cfg.width, cfg.depth, pieces, weight_init=cfg.weight_init)


register_arch(
    "bn_mlp",
    Arch(
        _bn_mlp_g,
        None,
        settings={
            "width": Setting("int, hidden units per layer (PacGAN: 400)"),
            "depth": Setting("int, number of hidden layers (PacGAN: 4)"),
            "activation": Setting(f"one of {', '.join(ACTIVATIONS.names())} (PacGAN: relu)"),
            "weight_init": Setting(WEIGHT_INIT_HELP),
        },
        train_flag=True,
        batch_norm=True,
        pack_groups=True,
        module=__name__,
    ),
    help="PacGAN's 2-D generator (Lin et al. 2018, code of Table 1): depth x [linear without "
    "bias, batch norm, activation], then linear with bias; batch norm with learned scale and "
    "shift, epsilon 1e-4, batch statistics per packing slot in training, population mean and "
    "stdev (momentum 0.05) at evaluation. PacGAN: width 400, depth 4",
)
register_arch(
    "maxout",
    Arch(
        None,
        _maxout_d,
        settings={
            "width": Setting("int, maxout units per layer (PacGAN: 200)"),
            "depth": Setting("int, number of maxout layers (PacGAN: 3)"),
            "pieces": Setting("int >= 2, linear pieces per maxout unit, default 5 (PacGAN's)"),
            "weight_init": Setting(WEIGHT_INIT_HELP),
        },
        module=__name__,
    ),
    help="PacGAN's 2-D discriminator (Lin et al. 2018, code of Table 1): depth maxout layers "
    "(linear with bias to width x pieces, maximum over each unit's pieces), then linear to 1 "
    "logit; no dropout, no batch norm. PacGAN: width 200, depth 3, pieces 5",
)
