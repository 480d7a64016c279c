"""The compiled training engine.

A :class:`Program` holds a group's static structure (dataset, networks, loss, penalty, n_critic,
batch size, optimiser kind). It builds pure functions:

* ``init(seed, hparams) -> TrainState``: one run's initial state, derived from its seed only;
* ``train_step(state, hparams) -> (state, StepStats)``: n_critic discriminator updates, then one
  generator update;
* ``chunk(state, hparams) -> (state, ChunkStats)``: ``lax.scan`` of ``eval_every`` steps, with the
  chunk's statistics reduced on the device (mean, max, first non-finite step);
* ``evaluate(state, step) -> (fake, real)``: fresh samples for the diagnostics.

The runner vmaps these over the runs of a group and jits them once (see ``runner.py``). Numeric
hyperparameters are arrays in :class:`Hparams`, so one compiled program serves a whole sweep.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ganbench.config.schema import RunConfig
from ganbench.data import get_dataset
from ganbench.metrics import names as M
from ganbench.models import build_discriminator, build_generator
from ganbench.objectives import LOSSES, PENALTIES
from ganbench.objectives.penalties import input_gradients, per_sample_norm
from ganbench.train.optim import OPTIMIZERS, make_optimizer

# Role tags folded into a run's root key: each role's stream depends only on the seed.
KEY_INIT_G, KEY_INIT_D, KEY_TRAIN, KEY_EVAL = 0, 1, 2, 3


class Hparams(NamedTuple):
    """A run's traced hyperparameters (scalars; stacked to (R,) for a group)."""

    lr_g: jax.Array
    lr_d: jax.Array
    opt: dict[str, jax.Array]  # optimiser knobs other than the learning rate
    penalty_weight: jax.Array


class TrainState(NamedTuple):
    g_params: Any
    d_params: Any
    d_stats: Any  # spectral-norm power-iteration state of D ({} without spectral norm)
    g_stats: Any  # the same for G
    g_opt: optax.OptState
    d_opt: optax.OptState
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


class ChunkStats(NamedTuple):
    mean: dict[str, jax.Array]
    max: dict[str, jax.Array]
    first_nonfinite: jax.Array  # int32: index of the first step with a non-finite value, or -1


MEAN_ONLY = tuple(M.STEP_STATS)
WITH_MAX = tuple(M.NORM_STATS)


def static_key(config: RunConfig) -> str:
    """What picks the compiled program: the resolved config without its numeric knobs."""
    d = config.resolved()
    d.pop("name")
    d["optimizer"] = {"name": d["optimizer"]["name"]}
    d["penalty"] = {"name": d["penalty"]["name"]}
    return json.dumps(d, sort_keys=True)


def hparams_of(config: RunConfig) -> Hparams:
    """A run's numeric hyperparameters as float32 scalars (host arrays)."""
    f32 = np.float32
    return Hparams(
        lr_g=f32(config.optimizer.lr_g),
        lr_d=f32(config.optimizer.lr_d),
        opt={k: f32(v) for k, v in config.optimizer.knobs().items()},
        penalty_weight=f32(config.penalty.resolved_weight()),
    )


def global_norm(tree) -> jax.Array:
    """Global L2 norm of all leaves of a pytree."""
    return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree)))


class Program:
    """The static structure shared by a group of runs, and its pure functions."""

    def __init__(self, config: RunConfig, *, eval_every: int, samples: int) -> None:
        self.config = config
        self.dataset = get_dataset(config.dataset)
        self.generator = build_generator(config.generator, out_dim=self.dataset.dim)
        self.discriminator = build_discriminator(config.discriminator)
        self.loss_fn = LOSSES.get(config.loss)
        self.penalty_fn = PENALTIES.get(config.penalty.name).fn
        self.n_critic = config.n_critic
        self.batch = config.batch_size
        self.z_dim = config.z_dim
        self.eval_every = eval_every
        self.samples = samples
        self.optimizer_name = config.optimizer.name
        assert config.optimizer.name in OPTIMIZERS
        # Updates read their hyperparameters from the state (inject_hyperparams), so one
        # transformation serves every run of the group.
        self._opt = make_optimizer(self.optimizer_name)(
            learning_rate=1.0, **{k: 0.0 for k in OPTIMIZERS.get(self.optimizer_name).knobs}
        )

    # ------------------------------------------------------------------ networks

    def g_apply(self, params, stats, z):
        return self.generator.apply({"params": params, **stats}, z)

    def d_apply(self, params, stats, x, *, update_stats: bool = False):
        """D outputs (B,); with ``update_stats`` also the updated spectral-norm state."""
        variables = {"params": params, **stats}
        if update_stats and stats:
            out, new_stats = self.discriminator.apply(
                variables, x, update_stats=True, mutable=list(stats)
            )
            return out[:, 0], dict(new_stats)
        out = self.discriminator.apply(variables, x)
        return (out[:, 0], stats) if update_stats else out[:, 0]

    # ------------------------------------------------------------------ init

    def init(self, seed: jax.Array, hp: Hparams) -> TrainState:
        root = jax.random.key(seed)
        z = jnp.zeros((1, self.z_dim), jnp.float32)
        x = jnp.zeros((1, *self.dataset.shape), jnp.float32)
        g_vars = dict(self.generator.init({"params": jax.random.fold_in(root, KEY_INIT_G)}, z))
        d_vars = dict(self.discriminator.init({"params": jax.random.fold_in(root, KEY_INIT_D)}, x))
        g_params, d_params = g_vars.pop("params"), d_vars.pop("params")
        opt = make_optimizer(self.optimizer_name)
        g_opt = opt(learning_rate=hp.lr_g, **hp.opt).init(g_params)
        d_opt = opt(learning_rate=hp.lr_d, **hp.opt).init(d_params)
        return TrainState(
            g_params=g_params,
            d_params=d_params,
            d_stats=d_vars,
            g_stats=g_vars,
            g_opt=g_opt,
            d_opt=d_opt,
            step=jnp.zeros((), jnp.int32),
            key=jax.random.fold_in(root, KEY_TRAIN),
        )

    # ------------------------------------------------------------------ one step

    def _sample_z(self, key, n):
        return jax.random.normal(key, (n, self.z_dim), jnp.float32)

    def _d_update(self, carry, key, g_params, g_stats, hp: Hparams):
        d_params, d_stats, d_opt = carry
        key_data, key_z, key_pen = jax.random.split(key, 3)
        real = self.dataset.sample(key_data, self.batch)
        fake = self.g_apply(g_params, g_stats, self._sample_z(key_z, self.batch))

        def loss(params):
            logits, new_stats = self.d_apply(
                params, d_stats, jnp.concatenate([real, fake]), update_stats=True
            )
            r, f = logits[: self.batch], logits[self.batch :]
            out = self.loss_fn(r, f)
            if self.penalty_fn is None:
                pen = jnp.zeros((), jnp.float32)
            else:
                pen = self.penalty_fn(
                    lambda v: self.d_apply(params, d_stats, v),
                    real,
                    fake,
                    key_pen,
                    hp.penalty_weight,
                )
            return out.d_loss + pen, (out, pen, new_stats, jnp.mean(r), jnp.mean(f))

        grads, (out, pen, new_stats, mr, mf) = jax.grad(loss, has_aux=True)(d_params)
        updates, d_opt = self._opt.update(grads, d_opt, d_params)
        d_params = optax.apply_updates(d_params, updates)
        stats = (out.d_loss, out.d_real, out.d_fake, pen, mr, mf, global_norm(grads))
        return (d_params, new_stats, d_opt), stats

    def train_step(self, state: TrainState, hp: Hparams) -> tuple[TrainState, StepStats]:
        # Four streams; the last is reserved for stochastic diagnostics, so adding one later
        # does not change the training stream of existing suites.
        key, key_critic, key_g, _key_diag = jax.random.split(state.key, 4)

        def critic(carry, k):
            return self._d_update(carry, k, state.g_params, state.g_stats, hp)

        (d_params, d_stats, d_opt), d_stats_seq = jax.lax.scan(
            critic,
            (state.d_params, state.d_stats, state.d_opt),
            jax.random.split(key_critic, self.n_critic),
        )
        loss_d, loss_d_real, loss_d_fake, pen, mr, mf, gn_d = (jnp.mean(v) for v in d_stats_seq)

        key_data, key_z = jax.random.split(key_g)
        real = self.dataset.sample(key_data, self.batch)
        z = self._sample_z(key_z, self.batch)

        def g_loss(params):
            fake = self.g_apply(params, state.g_stats, z)
            logits = self.d_apply(d_params, d_stats, jnp.concatenate([real, fake]))
            return self.loss_fn(logits[: self.batch], logits[self.batch :]).g_loss, fake

        (lg, fake), g_grads = jax.value_and_grad(g_loss, has_aux=True)(state.g_params)
        updates, g_opt = self._opt.update(g_grads, state.g_opt, state.g_params)
        g_params = optax.apply_updates(state.g_params, updates)

        # Diagnostics: D's input gradient on the real and generated batch of this step.
        x = jax.lax.stop_gradient(jnp.concatenate([real, fake]))
        norms = per_sample_norm(input_gradients(lambda v: self.d_apply(d_params, d_stats, v), x))
        stats = StepStats(
            loss_d=loss_d,
            loss_d_real=loss_d_real,
            loss_d_fake=loss_d_fake,
            penalty=pen,
            d_real=mr,
            d_fake=mf,
            loss_g=lg,
            grad_norm_d=gn_d,
            grad_norm_g=global_norm(g_grads),
            input_grad_real=jnp.mean(norms[: self.batch]),
            input_grad_fake=jnp.mean(norms[self.batch :]),
        )
        new_state = TrainState(
            g_params=g_params,
            d_params=d_params,
            d_stats=d_stats,
            g_stats=state.g_stats,
            g_opt=g_opt,
            d_opt=d_opt,
            step=state.step + 1,
            key=key,
        )
        return new_state, stats

    # ------------------------------------------------------------------ one chunk

    def chunk(self, state: TrainState, hp: Hparams) -> tuple[TrainState, ChunkStats]:
        state, seq = jax.lax.scan(
            lambda s, _: self.train_step(s, hp), state, None, length=self.eval_every
        )
        seq = seq._asdict()
        finite = jnp.all(jnp.stack([jnp.isfinite(v) for v in seq.values()]), axis=0)
        first_bad = jnp.where(jnp.all(finite), -1, jnp.argmin(finite)).astype(jnp.int32)
        mean = {k: jnp.mean(seq[k]) for k in MEAN_ONLY}
        mean.update({f"{k}_mean": jnp.mean(seq[k]) for k in WITH_MAX})
        mx = {f"{k}_max": jnp.max(seq[k]) for k in WITH_MAX}
        return state, ChunkStats(mean=mean, max=mx, first_nonfinite=first_bad)

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, state: TrainState, seed: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``samples`` generated and real samples, keyed by the run's seed and step only."""
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), KEY_EVAL), state.step)
        key_z, key_real = jax.random.split(key)
        fake = self.g_apply(state.g_params, state.g_stats, self._sample_z(key_z, self.samples))
        real = self.dataset.sample(key_real, self.samples)
        return fake, real
