"""Latent distributions: what the generator's input z is drawn from (suite key ``latent``).

Each entry maps ``(key, shape)`` to float32 samples. ``normal`` is the default of most GAN code
and of every ganbench suite before this key existed; ``uniform`` is what the DCGAN reference
implementations draw (carpedm20/DCGAN-tensorflow ``model.py`` and fjxmlzn/PacGAN's Stacked MNIST
code: ``np.random.uniform(-1, 1, [batch_size, z_dim])``, for training and for the evaluation
samples alike).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from ganbench.registry import Registry

Sampler = Callable[[jax.Array, tuple[int, ...]], jax.Array]

LATENTS: Registry[Sampler] = Registry("latent distribution")


@LATENTS.register("normal", help="z ~ N(0, I), the standard normal (the default)")
def normal(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    return jax.random.normal(key, shape, jnp.float32)


@LATENTS.register(
    "uniform",
    help="z ~ U[-1, 1]^z_dim, independent coordinates (carpedm20/DCGAN-tensorflow and PacGAN's "
    "Stacked MNIST code)",
)
def uniform(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    return jax.random.uniform(key, shape, jnp.float32, minval=-1.0, maxval=1.0)
