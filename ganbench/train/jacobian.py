"""The game's Jacobian: the vector field of both players' descent gradients on one flat
parameter vector, its (P, P) Jacobian (dense, in blocks of columns) and Jacobian-vector
products (for iterative spectra), Mescheder et al. 2017."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ganbench.train.keys import KEY_EVAL
from ganbench.train.state import Hparams, TrainState


class GameJacobian:
    """The Jacobian methods of a program; they read its ``_field`` (the game's vector field),
    its networks and ``_with_data``."""

    def _flat_field(self, state: TrainState, hp: Hparams, seed: jax.Array):
        """The game's gradient vector field v = -(grad_G L_G, grad_D L_D) (Mescheder et al.
        2017) on the flat parameter vector (generator first), and the state's point x0.
        Consensus, when on, is part of the field; the batch is keyed by the seed and step, like
        ``evaluate``."""
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), KEY_EVAL), state.step)
        field = self._field(state, hp, key)
        x0, unravel = ravel_pytree((state.g_params, state.d_params))
        return (lambda x: -ravel_pytree(field(unravel(x))[0])[0]), x0

    jac_block = 64
    """Columns of the Jacobian computed together (one batched Jacobian-vector product each):
    peak memory grows with the block, not with the number of parameters."""

    def jacobian(
        self, state: TrainState, hp: Hparams, seed: jax.Array, data: Any = None
    ) -> jax.Array:
        """The (P, P) Jacobian of the game's gradient vector field at the state.

        Forward mode, ``jac_block`` columns at a time under ``lax.map`` (J e_j for a block of
        unit vectors e_j), so a game of a few thousand parameters does not hold thousands of
        tangent copies of its activations at once; small games take one block (``jacfwd``).
        """
        v_flat, x0 = self._with_data(data)._flat_field(state, hp, seed)
        n, block = x0.shape[0], self.jac_block
        if n <= block:
            return jax.jacfwd(v_flat)(x0)

        def columns(start: jax.Array) -> jax.Array:
            # Unit vectors e_start .. e_{start+block-1}; indices past n give zero rows.
            tangents = jax.nn.one_hot(start + jnp.arange(block), n, dtype=x0.dtype)
            return jax.vmap(lambda t: jax.jvp(v_flat, (x0,), (t,))[1])(tangents)

        starts = jnp.arange(0, n, block)
        blocks = jax.lax.map(columns, starts)  # (n_blocks, block, n): rows are columns of J
        return jnp.reshape(blocks, (-1, n))[:n].T

    def jvp(
        self, state: TrainState, hp: Hparams, seed: jax.Array, tangent: jax.Array, data: Any = None
    ):
        """J @ tangent for the Jacobian of :meth:`jacobian`, without building J."""
        v_flat, x0 = self._with_data(data)._flat_field(state, hp, seed)
        return jax.jvp(v_flat, (x0,), (tangent.astype(x0.dtype),))[1]

    @functools.cached_property
    def n_player_params(self) -> tuple[int, int]:
        """Numbers of generator and discriminator parameters (:meth:`flat_params` order)."""
        key = jax.random.key(0)
        z = jax.ShapeDtypeStruct((1, self.z_dim), jnp.float32)
        x = jax.ShapeDtypeStruct((1, *self._d_in), jnp.float32)
        g_kw, d_kw = self._train_kwargs(self.g_arch, False), self._train_kwargs(self.d_arch, False)
        g = jax.eval_shape(lambda z: self.generator.init({"params": key}, z, **g_kw)["params"], z)
        d = jax.eval_shape(
            lambda x: self.discriminator.init({"params": key}, x, **d_kw)["params"], x
        )
        return _count(g), _count(d)

    @property
    def n_generator_params(self) -> int:
        return self.n_player_params[0]

    @property
    def n_params(self) -> int:
        return sum(self.n_player_params)

    def flat_params(self, state: TrainState) -> jax.Array:
        """Both players' parameters as one vector (generator first)."""
        return ravel_pytree((state.g_params, state.d_params))[0]


def _count(tree) -> int:
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))
