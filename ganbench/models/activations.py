"""The activation functions a network table names (``activation = "relu"``): one registry,
read by the MLP networks and ``ganbench list activations``."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from ganbench.registry import Registry

ACTIVATIONS: Registry[Callable[[jax.Array], jax.Array]] = Registry("activation")
ACTIVATIONS.add("relu", jax.nn.relu, help="max(x, 0)")
ACTIVATIONS.add("leaky_relu", lambda x: jax.nn.leaky_relu(x, 0.2), help="leaky ReLU, slope 0.2")
ACTIVATIONS.add("tanh", jnp.tanh, help="tanh")
ACTIVATIONS.add("elu", jax.nn.elu, help="ELU")
ACTIVATIONS.add("gelu", jax.nn.gelu, help="GELU")
ACTIVATIONS.add("softplus", jax.nn.softplus, help="log(1 + exp(x))")
ACTIVATIONS.add("swish", jax.nn.swish, help="x * sigmoid(x)")
