"""The pytrees a program passes around: a run's traced hyperparameters, its training state,
and the statistics of a step and of a chunk (all NamedTuples, stacked along a leading run axis
for a group)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import optax


class Hparams(NamedTuple):
    """A run's traced hyperparameters (scalars; stacked to (R,) for a group)."""

    lr_g: jax.Array
    lr_d: jax.Array
    opt: dict[str, jax.Array]  # optimiser knobs other than the learning rate
    loss: dict[str, jax.Array]  # the loss's knobs (wasserstein_clip: clip; ...), passed to it
    penalty: dict[str, jax.Array]  # the penalty's knobs (weight, ...)
    scheme: dict[str, jax.Array]  # ema_*, noise_*, consensus_weight (those in use)
    dataset: Any = 0  # int32: the run's dataset among its program's ``datasets``


class TrainState(NamedTuple):
    g_params: Any
    d_params: Any
    d_stats: Any  # spectral-norm power-iteration state of D ({} without spectral norm)
    g_stats: Any  # the same for G
    g_opt: optax.OptState
    d_opt: optax.OptState
    g_ema: Any  # exponential moving average of g_params (None when EMA is off)
    step: jax.Array  # int32, generator steps taken
    key: jax.Array  # typed PRNG key of the training stream


class StepStats(NamedTuple):
    """Per-step statistics; D-side values are averaged over the step's n_critic updates."""

    loss_d: jax.Array
    loss_d_real: jax.Array
    loss_d_fake: jax.Array
    penalty: jax.Array
    d_real: jax.Array  # mean D output on real samples
    d_fake: jax.Array  # mean D output on generated samples
    loss_g: jax.Array
    grad_norm_d: jax.Array
    grad_norm_g: jax.Array
    input_grad_real: jax.Array  # mean over samples of |grad_x D(x)| on real samples
    input_grad_fake: jax.Array  # the same on generated samples
    update_ratio_g: jax.Array  # |G's parameter change over the step| / |G's parameters|
    update_ratio_d: jax.Array  # the same for D (all n_critic updates of the step)
    layers: dict[str, jax.Array]  # "<player>/<layer>" -> gradient norm, when layer_grads is on


class ChunkStats(NamedTuple):
    mean: dict[str, jax.Array]
    max: dict[str, jax.Array]
    first_nonfinite: jax.Array  # int32: index of the first step with a non-finite value, or -1
    trajectory: jax.Array | None = None  # (eval_every, P): both players' parameters after
    # every step, for models small enough to trace (the Dirac-GAN); None otherwise


class DAux(NamedTuple):
    """What a discriminator objective returns besides its value."""

    loss_d: jax.Array
    loss_d_real: jax.Array
    loss_d_fake: jax.Array
    penalty: jax.Array
    d_real: jax.Array
    d_fake: jax.Array
    d_stats: Any  # updated spectral-norm state


def hparams_axes() -> Hparams:
    """``in_axes`` of :class:`Hparams` for ``jax.vmap`` over a group's runs: every knob is
    stacked along the run axis. (The dataset's arrays are no hyperparameter: the program's
    functions take them as their own argument, shared by the runs.)"""
    return Hparams(lr_g=0, lr_d=0, opt=0, loss=0, penalty=0, scheme=0, dataset=0)
