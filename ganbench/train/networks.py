"""The players' networks as a program applies them: generator and discriminator built from a
run's structure, in inference or training mode (batch statistics, dropout), on packed inputs
(PacGAN), and D's input gradients."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ganbench.kinds import IMAGE
from ganbench.models import ARCHS, build_discriminator, build_generator
from ganbench.objectives.penalties import input_gradients, per_sample_norm
from ganbench.train.structure import Structure


class Players:
    """A run's generator and discriminator and how they are called."""

    def __init__(self, structure: Structure) -> None:
        s = structure
        self.dataset = s.dataset
        self.image = self.dataset.kind == IMAGE
        self.shape = tuple(self.dataset.shape)  # one sample's shape
        self.g_arch = ARCHS.get(s.generator.arch)
        self.d_arch = ARCHS.get(s.discriminator.arch)
        self.pack = s.pack
        self.batch = s.batch_size
        self.generator = build_generator(s.generator, self.shape)
        if self.g_arch.pack_groups:
            # PacGAN runs its generator once per packing slot, so batch norm's statistics are
            # per slot: consecutive samples fill a packed input, slot j is every pack-th sample.
            self.generator = self.generator.clone(groups=s.pack)
        self._d_in = self._d_input_shape()
        self.discriminator = build_discriminator(s.discriminator, self._d_in)

    def _d_input_shape(self) -> tuple[int, ...]:
        """One discriminator input: packed images stack along channels for image networks;
        everything else sees flat vectors of pack * dim numbers."""
        if self.image and self.d_arch.images:
            h, w, c = self.shape
            return (h, w, self.pack * c)
        return (self.pack * self.dataset.dim,)

    def _train_kwargs(self, arch, train: bool) -> dict[str, bool]:
        return {"train": train} if arch.train_flag else {}

    def g_apply(self, params, stats, z):
        """Generated samples (n, *shape) in inference mode (batch norm: running averages)."""
        out = self.generator.apply(
            {"params": params, **stats}, z, **self._train_kwargs(self.g_arch, False)
        )
        return jnp.reshape(out, (z.shape[0], *self.shape))

    def g_apply_train(self, params, stats, z):
        """Generated samples in training mode, and G's state after the call: batch norm
        normalises with the batch's statistics and updates its running averages (the
        ``batch_stats`` collection); other generators return their state unchanged."""
        if not self.g_arch.batch_norm:
            return self.g_apply(params, stats, z), stats
        if self.pack > 1 and self.g_arch.g_per_pack_slot:
            return self._g_apply_train_per_slot(params, stats, z)
        out, new = self.generator.apply(
            {"params": params, **stats}, z, train=True, mutable=["batch_stats"]
        )
        return jnp.reshape(out, (z.shape[0], *self.shape)), {**stats, **dict(new)}

    def _g_apply_train_per_slot(self, params, stats, z):
        """:meth:`g_apply_train` one packed slot at a time, as PacGAN's code generates (one
        generator call per slot, ``DCGAN.build_model``'s ``G_sep``): slot j's samples are
        ``z[j::pack]`` (:meth:`pack_samples` puts sample ``i * pack + j`` in slot j of input
        i), normalised with their own batch statistics; the running averages move once per
        slot, in slot order."""
        b = z.shape[0] // self.pack
        slots = jnp.reshape(z, (b, self.pack, z.shape[1]))
        outs = []
        for j in range(self.pack):
            out, new = self.generator.apply(
                {"params": params, **stats}, slots[:, j], train=True, mutable=["batch_stats"]
            )
            stats = {**stats, **dict(new)}
            outs.append(jnp.reshape(out, (b, *self.shape)))
        return jnp.reshape(jnp.stack(outs, axis=1), (z.shape[0], *self.shape)), stats

    def d_apply(self, params, stats, x, *, update_stats: bool = False, key=None):
        """D outputs (B,) on packed inputs; with ``update_stats`` also the new spectral-norm
        state. ``key`` switches on D's training-mode randomness (dropout) where it has any."""
        variables = {"params": params, **stats}
        x = jnp.reshape(x, (x.shape[0], *self._d_in))
        kwargs: dict[str, Any] = self._train_kwargs(self.d_arch, key is not None)
        if key is not None and self.d_arch.train_flag:
            kwargs["rngs"] = {"dropout": key}
        if update_stats and stats:
            out, new_stats = self.discriminator.apply(
                variables, x, update_stats=True, mutable=list(stats), **kwargs
            )
            return out[:, 0], dict(new_stats)
        out = self.discriminator.apply(variables, x, **kwargs)
        return (out[:, 0], stats) if update_stats else out[:, 0]

    def d_pair(self, params, stats, real_in, fake_in, *, update_stats: bool = False, key=None):
        """D's outputs (2B,) on a real and a generated batch of packed inputs, real first (and
        with ``update_stats`` D's new state, as :meth:`d_apply`).

        One call on both batches together, unless D normalises with batch statistics
        (``Arch.d_batch_stats``): then each batch goes through D on its own, with its own
        statistics, as DCGAN implementations call D (carpedm20/DCGAN-tensorflow
        ``build_model``: ``discriminator(inputs)``, then ``discriminator(G, reuse=True)``)."""
        if not self.d_arch.d_batch_stats:
            return self.d_apply(
                params, stats, jnp.concatenate([real_in, fake_in]), update_stats=update_stats,
                key=key,
            )  # fmt: skip
        k_real, k_fake = (None, None) if key is None else jax.random.split(key)
        if update_stats:
            r, stats = self.d_apply(params, stats, real_in, update_stats=True, key=k_real)
            f, stats = self.d_apply(params, stats, fake_in, update_stats=True, key=k_fake)
            return jnp.concatenate([r, f]), stats
        r = self.d_apply(params, stats, real_in, key=k_real)
        f = self.d_apply(params, stats, fake_in, key=k_fake)
        return jnp.concatenate([r, f])

    def input_grad_norms(self, params, stats, real_in, fake_in) -> jax.Array:
        """|grad_x D(x)| (2B,) on packed real and generated inputs, real first.

        For a D with batch statistics (``Arch.d_batch_stats``) each batch goes through D on its
        own (:meth:`d_pair`) and the gradient is that of the sum of the batch's outputs, which
        includes every sample's effect on the batch's statistics (terms of order 1 / B)."""
        if not self.d_arch.d_batch_stats:
            x = jnp.concatenate([real_in, fake_in])
            return per_sample_norm(input_gradients(lambda v: self.d_apply(params, stats, v), x))
        return jnp.concatenate(
            [
                per_sample_norm(input_gradients(lambda v: self.d_apply(params, stats, v), x))
                for x in (real_in, fake_in)
            ]
        )

    def pack_samples(self, x: jax.Array) -> jax.Array:
        """(pack * B, *shape) samples -> (B, *D input) discriminator inputs; consecutive samples
        share an input (PacGAN): flat vectors are concatenated, images stacked along channels.
        The identity when pack = 1."""
        if self.pack == 1:
            return x
        b = x.shape[0] // self.pack
        if len(self._d_in) == 3:
            h, w, c = self.shape
            x = jnp.reshape(x, (b, self.pack, h, w, c))
            return jnp.reshape(jnp.transpose(x, (0, 2, 3, 1, 4)), (b, h, w, self.pack * c))
        return jnp.reshape(x, (b, -1))
