"""The compiled training engine.

A :class:`Program` holds a group's static structure (dataset, networks, loss, penalty kind,
n_critic, g_steps, latent distribution, batch size, optimiser kind, update rule, unrolling and
packing). It builds pure functions:

* ``init(seed, hparams) -> TrainState``: one run's initial state, derived from its seed only;
* ``train_step(state, hparams, data) -> (state, StepStats)``: one step of the update rule
  (alternating: n_critic discriminator updates, then g_steps generator updates);
* ``chunk(state, hparams, data) -> (state, ChunkStats)``: ``lax.scan`` of ``eval_every`` steps,
  with the chunk's statistics reduced on the device (mean, max, first non-finite step);
* ``evaluate(state, seed, data, dataset) -> dict``: fresh samples for the diagnostics (and those
  of the generator EMA when it is on);
* ``jacobian`` and ``jvp``: the game's Jacobian (:mod:`ganbench.train.jacobian`).

``data`` is the dataset's arrays (images) or None. The run package vmaps these over the runs of
a group and jits them once (see :mod:`ganbench.run.compile`). Numeric hyperparameters (learning
rates, optimiser, loss, penalty and scheme knobs) are arrays in :class:`Hparams`, so one compiled
program serves a whole sweep.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ganbench.metrics import names as M
from ganbench.models.latent import LATENTS
from ganbench.objectives import LOSSES, PENALTIES
from ganbench.objectives.penalties import per_sample_norm
from ganbench.train import schemes
from ganbench.train.jacobian import GameJacobian
from ganbench.train.keys import (
    KEY_EVAL,
    KEY_INIT_D,
    KEY_INIT_G,
    KEY_TRAIN,
    TAG_DROPOUT,
    TAG_NOISE,
    TAG_UNROLL,
)
from ganbench.train.networks import Players
from ganbench.train.optim import OPTIMIZERS, make_optimizer
from ganbench.train.state import ChunkStats, DAux, Hparams, StepStats, TrainState
from ganbench.train.structure import Structure

# Optimisers whose update divides by sqrt(v): differentiating through them (unrolling) needs
# eps_root > 0 inside the square root, or a zero gradient entry gives 0 * inf = NaN.
_SQRT_OPTIMIZERS = ("adam", "optimistic_adam")
UNROLL_EPS_ROOT = 1e-16


MEAN_ONLY = tuple(M.STEP_STATS)
WITH_MAX = tuple(M.NORM_STATS)


def global_norm(tree) -> jax.Array:
    """Global L2 norm of all leaves of a pytree."""
    return jnp.sqrt(schemes.sq_norm(tree))


def _mean_tuple(values) -> tuple:
    return tuple(jnp.mean(v) for v in values)


class Program(Players, GameJacobian):
    """The static structure shared by a group of runs, and its pure functions: the players'
    networks (:class:`~ganbench.train.networks.Players`), one step and one chunk of training,
    evaluation, and the game's Jacobian (:class:`~ganbench.train.jacobian.GameJacobian`)."""

    def __init__(
        self,
        structure: Structure,
        *,
        eval_every: int,
        samples: int,
        layer_grads: bool = False,
        heatmap: int = 0,
        datasets: Sequence[Any] = (),
    ) -> None:
        s = self.structure = structure
        Players.__init__(self, s)
        self.layer_grads = layer_grads
        self.datasets: tuple[Any, ...] = tuple(datasets) or (self.dataset,)
        """The datasets of the program's runs (mixtures of one dimension), in the order of
        :attr:`Hparams.dataset`; the structure's own is one of them."""
        if self.dataset not in self.datasets:
            raise ValueError(f"dataset {s.dataset.name!r} is not among the program's datasets")
        self.loss_fn = LOSSES.get(s.loss)
        self.penalty_fn = PENALTIES.get(s.penalty).fn
        self.n_critic = s.n_critic
        self.g_steps = s.g_steps
        self._latent = LATENTS.get(s.latent)
        self.z_dim = s.z_dim
        self.eval_every = eval_every
        self.samples = samples
        self.chunk_steps = eval_every
        """Steps per call of :meth:`chunk` (see :meth:`sub_chunked`)."""
        self._data: Any = None
        """The dataset's arrays inside a compiled function (see :meth:`_with_data`)."""
        self.scan_unroll: int | bool = 1
        """``unroll`` of the chunk's ``lax.scan`` over steps (1: a plain loop; True: none)."""
        # D's output over a heatmap x heatmap grid of the plane (2-D data, unpacked D only).
        self.heatmap = heatmap if self.dataset.dim == 2 and s.pack == 1 else 0
        self.updates = s.updates
        self.unroll = s.unroll
        self.clip = s.clip
        self.ema = s.ema
        self.noise = s.instance_noise
        self.consensus = s.consensus
        # The Dirac-GAN's players have one parameter per data dimension: trace them every step.
        self.trace = self.g_arch.uses_init and self.d_arch.uses_init
        self.optimizer_name = s.optimizer
        assert s.optimizer in OPTIMIZERS
        self._opt_extra = (
            {"eps_root": 0.0} if self.unroll and self.optimizer_name in _SQRT_OPTIMIZERS else {}
        )
        # Updates read their hyperparameters from the state (inject_hyperparams), so one
        # transformation serves every run of the group.
        self._opt = make_optimizer(self.optimizer_name)(
            learning_rate=1.0,
            **{k: 0.0 for k in OPTIMIZERS.get(self.optimizer_name).knobs},
            **self._opt_extra,
        )

    # ------------------------------------------------------------------ init

    def init(self, seed: jax.Array, hp: Hparams) -> TrainState:
        root = jax.random.key(seed)
        z = jnp.zeros((1, self.z_dim), jnp.float32)
        x = jnp.zeros((1, *self._d_in), jnp.float32)
        g_vars = dict(
            self.generator.init(
                {"params": jax.random.fold_in(root, KEY_INIT_G)},
                z,
                **self._train_kwargs(self.g_arch, False),
            )
        )
        d_vars = dict(
            self.discriminator.init(
                {"params": jax.random.fold_in(root, KEY_INIT_D)},
                x,
                **self._train_kwargs(self.d_arch, False),
            )
        )
        g_params, d_params = g_vars.pop("params"), d_vars.pop("params")
        opt = make_optimizer(self.optimizer_name)
        g_opt = opt(learning_rate=hp.lr_g, **hp.opt, **self._opt_extra).init(g_params)
        d_opt = opt(learning_rate=hp.lr_d, **hp.opt, **self._opt_extra).init(d_params)
        if self.clip:
            d_params = self._clip(d_params, hp)
        return TrainState(
            g_params=g_params,
            d_params=d_params,
            d_stats=d_vars,
            g_stats=g_vars,
            g_opt=g_opt,
            d_opt=d_opt,
            g_ema=g_params if self.ema else None,
            step=jnp.zeros((), jnp.int32),
            key=jax.random.fold_in(root, KEY_TRAIN),
        )

    # ------------------------------------------------------------------ pieces of a step

    def _sample_z(self, key, n):
        return self._latent(key, (n, self.z_dim))

    def _layer_norms(self, grads, player: str) -> dict[str, jax.Array]:
        """Gradient norm of each top-level parameter group (a layer), keyed "<player>/<name>";
        empty unless ``layer_grads`` is on."""
        if not self.layer_grads:
            return {}
        return {f"{player}/{name}": global_norm(sub) for name, sub in grads.items()}

    def _clip(self, d_params, hp: Hparams):
        c = hp.loss["clip"]
        return jax.tree.map(lambda p: jnp.clip(p, -c, c), d_params)

    def _project(self, hp: Hparams):
        """Constraints after an update of (G, D): weight clipping of D when the loss clips."""
        if not self.clip:
            return lambda p: p
        return lambda p: (p[0], self._clip(p[1], hp))

    def _noisy(self, x, key, hp: Hparams, step):
        """Instance noise: x + sigma_t * N(0, I), sigma_t falling linearly from std to 0."""
        if not self.noise:
            return x
        anneal = hp.scheme["noise_anneal_steps"]
        frac = jnp.where(anneal > 0, jnp.clip(1.0 - step / jnp.maximum(anneal, 1.0), 0.0, 1.0), 1.0)
        sigma = hp.scheme["noise_std"] * frac
        return x + sigma * jax.random.normal(key, x.shape, x.dtype)

    def dataset_index(self, dataset) -> int:
        """A run's :attr:`Hparams.dataset`: its dataset's position in :attr:`datasets`."""
        return self.datasets.index(dataset)

    def sample_data(self, key, n: int, data=None, index=0):
        """``n`` samples of the dataset at ``index`` (traced) among :attr:`datasets`.

        Every dataset draws from the same key and the run's is selected, so a run's samples are
        bit for bit those of its dataset alone: sharing a program costs a few small draws per
        step (the group planner caps the datasets of a program), not a change of numbers."""
        if len(self.datasets) == 1:
            return self.dataset.sample(key, n, data)
        draws = [dataset.sample(key, n, data) for dataset in self.datasets]
        return jax.lax.select_n(jnp.asarray(index, jnp.int32), *draws)

    def _real_and_z(self, key, hp: Hparams):
        """A real batch of pack * batch_size samples and the latent codes of a generated one."""
        key_data, key_z = jax.random.split(key)
        n = self.pack * self.batch
        return self.sample_data(key_data, n, self._data, hp.dataset), self._sample_z(key_z, n)

    def _batch(self, key, g_params, g_stats, hp: Hparams):
        """A real and a generated batch of pack * batch_size samples each (unpacked), and G's
        state after generating in training mode (see :meth:`g_apply_train`)."""
        real, z = self._real_and_z(key, hp)
        fake, g_stats = self.g_apply_train(g_params, g_stats, z)
        return real, fake, g_stats

    def _dropout_key(self, key):
        """D's dropout stream of a step (None when D has no training-mode randomness)."""
        return jax.random.fold_in(key, TAG_DROPOUT) if self.d_arch.train_flag else None

    def _inputs(self, real, fake, key, hp: Hparams, step):
        """The discriminator's inputs: instance noise on every sample, then packing."""
        key_r, key_f = jax.random.split(jax.random.fold_in(key, TAG_NOISE))
        return (
            self.pack_samples(self._noisy(real, key_r, hp, step)),
            self.pack_samples(self._noisy(fake, key_f, hp, step)),
        )

    def d_objective(self, d_params, d_stats, g_params, g_stats, key, hp: Hparams, step):
        """The discriminator's loss plus penalty on a fresh batch; differentiable in D and G."""
        key_batch, key_pen = jax.random.split(key)
        real, fake, _ = self._batch(key_batch, g_params, g_stats, hp)
        real_in, fake_in = self._inputs(real, fake, key, hp, step)
        drop = self._dropout_key(key)
        logits, new_stats = self.d_pair(
            d_params, d_stats, real_in, fake_in, update_stats=True, key=drop
        )
        r, f = logits[: self.batch], logits[self.batch :]
        out = self.loss_fn(r, f, **hp.loss)
        if self.penalty_fn is None:
            pen = jnp.zeros((), jnp.float32)
        else:
            pen_drop = self._dropout_key(key_pen)
            pen = self.penalty_fn(
                lambda v: self.d_apply(d_params, d_stats, v, key=pen_drop),
                real_in,
                fake_in,
                key_pen,
                hp.penalty,
            )
        aux = DAux(out.d_loss, out.d_real, out.d_fake, pen, jnp.mean(r), jnp.mean(f), new_stats)
        return out.d_loss + pen, aux

    def d_update(self, d_params, d_stats, d_opt, g_params, g_stats, key, hp: Hparams, step):
        """One optimiser step of D (then clipping); differentiable in ``g_params``."""
        grads, aux = jax.grad(self.d_objective, has_aux=True)(
            d_params, d_stats, g_params, g_stats, key, hp, step
        )
        updates, d_opt = self._opt.update(grads, d_opt, d_params)
        d_params = optax.apply_updates(d_params, updates)
        if self.clip:
            d_params = self._clip(d_params, hp)
        return d_params, aux.d_stats, d_opt, grads, aux

    def unrolled(self, d_params, d_stats, d_opt, g_params, g_stats, key, hp: Hparams, step):
        """D after ``unroll`` further optimiser steps against G, differentiable in ``g_params``
        (Metz et al. 2017, section 2.2); D itself is not changed by the unrolling."""
        if not self.unroll:
            return d_params, d_stats
        if self._opt_extra:
            d_opt = _with_hyperparam(d_opt, "eps_root", UNROLL_EPS_ROOT)

        def body(carry, k):
            p, s, o = carry
            p, s, o, _, _ = self.d_update(p, s, o, g_params, g_stats, k, hp, step)
            return (p, s, o), None

        keys = jax.random.split(jax.random.fold_in(key, TAG_UNROLL), self.unroll)
        (d_params, d_stats, _), _ = jax.lax.scan(body, (d_params, d_stats, d_opt), keys)
        return d_params, d_stats

    def g_objective(self, g_params, g_stats, d_params, d_stats, d_opt, key, hp: Hparams, step):
        """The generator's loss against D on a fresh batch.

        With ``unroll`` = K > 0 it is the unrolled GAN's surrogate (Metz et al. 2017, eq. 5;
        their notebook minimises the negated unrolled discriminator loss): the game's value
        function at D_K, f(G, D_K) = -L_D(G, D_K), D_K being D after K more optimiser steps
        against G, differentiated through them. The real samples' term depends on G through D_K,
        and it is what makes the surrogate work: the loss's generator term alone at D_K (what
        ganbench minimised before) cancels almost all of the plain gradient."""
        d_params, d_stats = self.unrolled(
            d_params, d_stats, d_opt, g_params, g_stats, key, hp, step
        )
        key_batch, _ = jax.random.split(key)  # the batch d_objective draws from the same key
        real, fake, new_g_stats = self._batch(key_batch, g_params, g_stats, hp)
        real_in, fake_in = self._inputs(real, fake, key, hp, step)
        logits = self.d_pair(d_params, d_stats, real_in, fake_in, key=self._dropout_key(key))
        out = self.loss_fn(logits[: self.batch], logits[self.batch :], **hp.loss)
        loss = -out.d_loss if self.unroll else out.g_loss
        return loss, (real, fake, new_g_stats)

    @property
    def shares_input_gradients(self) -> bool:
        """Whether the generator's step also yields the input-gradient diagnostic.

        The diagnostic is |grad_x D(x)| of the updated discriminator on the generator step's
        clean batch. When the generator's loss sees exactly that D on exactly those inputs (no
        unrolling, no instance noise, no dropout), one backward pass through D with unit
        cotangents gives grad_x D(x) for every input, and the generator's input cotangent is
        that gradient scaled per sample by dL/dD(x): D maps each (packed) input on its own, so
        the chain rule needs nothing else. That saves a forward and a backward pass through D
        per step (a fifth of a plain GAN step) and changes results only by float rounding."""
        return (
            self.share_input_gradients
            and self.updates == "alternating"
            and not (self.unroll or self.noise or self.d_arch.train_flag)
            and not self.d_arch.d_batch_stats
        )

    share_input_gradients: bool = True
    """Switch for :attr:`shares_input_gradients` (tests compare both paths)."""

    def g_step_shared(self, g_params, g_stats, d_params, d_stats, key, hp: Hparams):
        """The generator's loss and gradient, its batch, and the input-gradient norms (2B,) on
        that batch (real first), from one forward and one backward pass through D (see
        :attr:`shares_input_gradients`); equal to :meth:`g_objective`'s value and gradient."""
        key_batch, _ = jax.random.split(key)  # as g_objective
        real, z = self._real_and_z(key_batch, hp)

        def generate(params):
            fake, new_stats = self.g_apply_train(params, g_stats, z)
            return self.pack_samples(fake), (fake, new_stats)

        fake_in, g_vjp, (fake, new_g_stats) = jax.vjp(generate, g_params, has_aux=True)
        x = jnp.concatenate([self.pack_samples(real), fake_in])
        logits, d_vjp = jax.vjp(lambda v: self.d_apply(d_params, d_stats, v), x)
        (grad_x,) = d_vjp(jnp.ones_like(logits))
        lg, dlogits = jax.value_and_grad(
            lambda out: self.loss_fn(out[: self.batch], out[self.batch :], **hp.loss).g_loss
        )(logits)
        scale = jnp.reshape(dlogits[self.batch :], (self.batch,) + (1,) * (x.ndim - 1))
        (g_grads,) = g_vjp(scale * grad_x[self.batch :])
        return lg, g_grads, (real, fake, new_g_stats), per_sample_norm(grad_x)

    # ------------------------------------------------------------------ update rules

    def _alternating(self, state: TrainState, hp: Hparams, key_critic, key_g):
        def critic(carry, k):
            d_params, d_stats, d_opt = carry
            d_params, d_stats, d_opt, grads, aux = self.d_update(
                d_params, d_stats, d_opt, state.g_params, state.g_stats, k, hp, state.step
            )
            norms = (global_norm(grads), self._layer_norms(grads, "d"))
            return (d_params, d_stats, d_opt), (aux._replace(d_stats=None), norms)

        (d_params, d_stats, d_opt), (aux_seq, (gn_seq, layers_seq)) = jax.lax.scan(
            critic,
            (state.d_params, state.d_stats, state.d_opt),
            jax.random.split(key_critic, self.n_critic),
            unroll=self.n_critic == 1,  # no loop of one iteration (its carries cost copies)
        )
        aux = DAux(*_mean_tuple(aux_seq[:-1]), d_stats)
        g_params, g_stats, g_opt = state.g_params, state.g_stats, state.g_opt
        # g_steps generator updates against the updated D, each on a fresh batch; one update
        # uses key_g itself, so suites without g_steps keep their random streams.
        keys = [key_g] if self.g_steps == 1 else list(jax.random.split(key_g, self.g_steps))
        losses, grad_norms, g_layers = [], [], []
        for k in keys:
            if self.shares_input_gradients:
                lg, g_grads, batch, input_norms = self.g_step_shared(
                    g_params, g_stats, d_params, d_stats, k, hp
                )
            else:
                (lg, batch), g_grads = jax.value_and_grad(self.g_objective, has_aux=True)(
                    g_params, g_stats, d_params, d_stats, d_opt, k, hp, state.step
                )
                input_norms = None
            updates, g_opt = self._opt.update(g_grads, g_opt, g_params)
            g_params = optax.apply_updates(g_params, updates)
            g_stats = batch[2]
            losses.append(lg)
            grad_norms.append(global_norm(g_grads))
            g_layers.append(self._layer_norms(g_grads, "g"))
        layers = {k: jnp.mean(v) for k, v in layers_seq.items()}
        # G's statistics averaged over its updates, as D's over its n_critic updates.
        lg, gn_g = jnp.mean(jnp.stack(losses)), jnp.mean(jnp.stack(grad_norms))
        layers.update({k: jnp.mean(jnp.stack([d[k] for d in g_layers])) for k in g_layers[0]})
        norms = (jnp.mean(gn_seq), gn_g, layers)
        return (g_params, d_params), (g_opt, d_opt), aux, lg, norms, (*batch, input_norms)

    def _field(self, state: TrainState, hp: Hparams, key):
        """The game's vector field at (G, D) on one batch: each player's descent gradient."""

        def field(params):
            g_params, d_params = params
            d_grads, aux = jax.grad(self.d_objective, has_aux=True)(
                d_params, state.d_stats, g_params, state.g_stats, key, hp, state.step
            )
            (lg, batch), g_grads = jax.value_and_grad(self.g_objective, has_aux=True)(
                g_params, state.g_stats, d_params, state.d_stats, state.d_opt, key, hp, state.step
            )
            return (g_grads, d_grads), (aux, lg, batch)

        if self.consensus:
            return schemes.with_consensus(field, hp.scheme["consensus_weight"])
        return field

    def _joint(self, state: TrainState, hp: Hparams, key_critic, key_g):
        opts = (self._opt, self._opt)
        params = (state.g_params, state.d_params)
        opt_states = (state.g_opt, state.d_opt)
        project = self._project(hp)
        if self.updates == "simultaneous":
            params, opt_states, grads, (aux, lg, batch) = schemes.simultaneous_step(
                self._field(state, hp, key_critic), opts, opt_states, params, project
            )
        else:
            params, opt_states, grads, (aux, lg, batch) = schemes.extragradient_step(
                self._field(state, hp, key_critic),
                opts,
                opt_states,
                params,
                project,
                field_half=self._field(state, hp, key_g),
            )
        layers = {**self._layer_norms(grads[1], "d"), **self._layer_norms(grads[0], "g")}
        norms = (global_norm(grads[1]), global_norm(grads[0]), layers)
        return params, opt_states, aux, lg, norms, (*batch, None)

    # ------------------------------------------------------------------ one step

    def _with_data(self, data: Any) -> Program:
        """The program reading ``data`` (the dataset's arrays: images) wherever it samples real
        data. Called on traced arrays inside the compiled functions, so the arrays stay an
        argument of the program, shared by its runs, and are never embedded as constants."""
        if data is None:
            return self
        bound = copy.copy(self)
        bound._data = data
        return bound

    def train_step(
        self, state: TrainState, hp: Hparams, data: Any = None
    ) -> tuple[TrainState, StepStats]:
        """One step of the update rule; ``data``: the dataset's arrays (images), else None."""
        if data is not None:
            return self._with_data(data).train_step(state, hp)
        # Four streams; the last is reserved for stochastic diagnostics, so adding one later
        # does not change the training stream of existing suites.
        key, key_critic, key_g, _key_diag = jax.random.split(state.key, 4)
        if self.updates == "alternating":
            step = self._alternating(state, hp, key_critic, key_g)
        else:
            step = self._joint(state, hp, key_critic, key_g)
        (g_params, d_params), (g_opt, d_opt), aux, lg, (gn_d, gn_g, layers), batch = step
        real, fake, g_stats, norms = batch
        d_stats = aux.d_stats

        g_ema = state.g_ema
        if self.ema:
            beta = jnp.where(state.step + 1 > hp.scheme["ema_start"], hp.scheme["ema_decay"], 0.0)
            g_ema = jax.tree.map(lambda e, w: beta * e + (1.0 - beta) * w, g_ema, g_params)

        if norms is None:
            # Diagnostics: the updated D's input gradient on this step's (clean, packed) real and
            # generated batch, where the generator's step did not yield it.
            real_in, fake_in = jax.lax.stop_gradient(
                (self.pack_samples(real), self.pack_samples(fake))
            )
            norms = self.input_grad_norms(d_params, d_stats, real_in, fake_in)
        stats = StepStats(
            loss_d=aux.loss_d,
            loss_d_real=aux.loss_d_real,
            loss_d_fake=aux.loss_d_fake,
            penalty=aux.penalty,
            d_real=aux.d_real,
            d_fake=aux.d_fake,
            loss_g=lg,
            grad_norm_d=gn_d,
            grad_norm_g=gn_g,
            input_grad_real=jnp.mean(norms[: self.batch]),
            input_grad_fake=jnp.mean(norms[self.batch :]),
            update_ratio_g=_relative_change(state.g_params, g_params),
            update_ratio_d=_relative_change(state.d_params, d_params),
            layers=layers,
        )
        new_state = TrainState(
            g_params=g_params,
            d_params=d_params,
            d_stats=d_stats,
            g_stats=g_stats,
            g_opt=g_opt,
            d_opt=d_opt,
            g_ema=g_ema,
            step=state.step + 1,
            key=key,
        )
        return new_state, stats

    # ------------------------------------------------------------------ one chunk

    def sub_chunked(self, steps: int) -> Program:
        """A copy of the program whose :meth:`chunk` is ``steps`` fully unrolled steps
        (``steps`` divides eval_every); the caller runs eval_every / steps of them per
        evaluation and merges their statistics (:func:`merge_chunk_stats`). XLA:CPU runs
        convolution gradients several times slower inside a loop than outside one (measured
        2.5x for the DCGAN at channels 16), so image programs on CPU trade a little dispatch for
        loop-free sub-chunks. The program itself is not changed."""
        if steps < 1 or self.eval_every % steps:
            raise ValueError(f"sub-chunk of {steps} steps does not divide {self.eval_every}")
        new = copy.copy(self)
        new.chunk_steps, new.scan_unroll = steps, True
        return new

    def chunk(
        self, state: TrainState, hp: Hparams, data: Any = None
    ) -> tuple[TrainState, ChunkStats]:
        """:attr:`chunk_steps` steps under ``lax.scan``, their statistics reduced on the device;
        ``data``: the dataset's arrays (images), else None."""
        if data is not None:
            return self._with_data(data).chunk(state, hp)

        def body(s, _):
            s, stats = self.train_step(s, hp)
            return s, (stats, self.flat_params(s) if self.trace else None)

        state, (seq, trajectory) = jax.lax.scan(
            body, state, None, length=self.chunk_steps, unroll=self.scan_unroll
        )
        seq = seq._asdict()
        layers = seq.pop("layers")
        values = [*seq.values(), *layers.values()]
        finite = jnp.all(jnp.stack([jnp.isfinite(v) for v in values]), axis=0)
        first_bad = jnp.where(jnp.all(finite), -1, jnp.argmin(finite)).astype(jnp.int32)
        mean = {k: jnp.mean(seq[k]) for k in MEAN_ONLY}
        mean.update({f"{k}_mean": jnp.mean(seq[k]) for k in WITH_MAX})
        mx = {f"{k}_max": jnp.max(seq[k]) for k in WITH_MAX}
        mean.update({f"{M.LAYER_GRAD_PREFIX}{k}": jnp.mean(v) for k, v in layers.items()})
        return state, ChunkStats(
            mean=mean, max=mx, first_nonfinite=first_bad, trajectory=trajectory
        )

    # ------------------------------------------------------------------ evaluation

    def evaluate(
        self, state: TrainState, seed: jax.Array, data=None, dataset=0
    ) -> dict[str, jax.Array]:
        """``samples`` generated and real samples, keyed by the run's seed and step only
        (``dataset``: the run's :attr:`Hparams.dataset`).

        Returns ``{"fake", "real"}``, plus ``"ema"`` (the EMA generator on the same latents)
        when EMA is on, and ``"d_grid"`` (D's output on :meth:`heatmap_points` of the run's
        dataset, as a (heatmap, heatmap) array indexed [y, x]) when the heat map is on.
        """
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), KEY_EVAL), state.step)
        key_z, key_real = jax.random.split(key)
        z = self._sample_z(key_z, self.samples)
        out = {
            "fake": self.g_apply(state.g_params, state.g_stats, z),
            "real": self.sample_data(key_real, self.samples, data, dataset),
        }
        if self.ema:
            out["ema"] = self.g_apply(state.g_ema, state.g_stats, z)
        if self.heatmap:
            grids = np.stack([self.heatmap_points(d) for d in self.datasets])
            points = jnp.asarray(grids[0] if len(grids) == 1 else grids, jnp.float32)
            if len(grids) > 1:
                points = points[jnp.asarray(dataset, jnp.int32)]
            d = self.d_apply(state.d_params, state.d_stats, points)
            out["d_grid"] = jnp.reshape(d, (self.heatmap, self.heatmap))
        return out

    def heatmap_points(self, dataset=None) -> np.ndarray:
        """The (heatmap**2, 2) grid of the plane, row-major with y outer: point [i * n + j] is
        (xs[j], ys[i]) over the :meth:`plot_extent` of ``dataset`` (default: the program's
        first)."""
        x_lo, x_hi, y_lo, y_hi = (dataset or self.dataset).plot_extent()
        xs = np.linspace(x_lo, x_hi, self.heatmap)
        ys = np.linspace(y_lo, y_hi, self.heatmap)
        gx, gy = np.meshgrid(xs, ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1)


def merge_chunk_stats(parts: list[ChunkStats], steps: int) -> ChunkStats:
    """The statistics of consecutive sub-chunks of ``steps`` steps each (leading run axis) as
    those of one chunk: means of equal-length means, maxima of maxima, the first non-finite
    step counted from the first sub-chunk, trajectories concatenated."""
    if len(parts) == 1:
        return parts[0]
    mean = {k: jnp.mean(jnp.stack([p.mean[k] for p in parts]), axis=0) for k in parts[0].mean}
    mx = {k: jnp.max(jnp.stack([p.max[k] for p in parts]), axis=0) for k in parts[0].max}
    first = jnp.full_like(parts[0].first_nonfinite, -1)
    for i in reversed(range(len(parts))):
        bad = parts[i].first_nonfinite
        first = jnp.where(bad >= 0, bad + i * steps, first)
    trajectory = None
    if parts[0].trajectory is not None:
        trajectory = jnp.concatenate([p.trajectory for p in parts], axis=1)
    return ChunkStats(mean=mean, max=mx, first_nonfinite=first, trajectory=trajectory)


def _relative_change(before, after) -> jax.Array:
    """|after - before| / |before| over all leaves (0 for all-zero parameters)."""
    delta = global_norm(jax.tree.map(jnp.subtract, after, before))
    norm = global_norm(before)
    return jnp.where(norm > 0, delta / jnp.where(norm > 0, norm, 1.0), 0.0)


def _with_hyperparam(opt_state, name: str, value: float):
    """A copy of an ``inject_hyperparams`` state with one hyperparameter replaced."""
    hyper = dict(opt_state.hyperparams)
    hyper[name] = jnp.asarray(value, jnp.asarray(hyper[name]).dtype)
    return opt_state._replace(hyperparams=hyper)
