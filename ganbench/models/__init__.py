"""Generator and discriminator networks (Flax Linen, used functionally)."""

from ganbench.models.mlp import ACTIVATIONS, ARCHS, build_discriminator, build_generator

__all__ = ["ACTIVATIONS", "ARCHS", "build_discriminator", "build_generator"]
