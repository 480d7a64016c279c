"""Generator and discriminator networks (Flax Linen, used functionally), one module each, and
the registry of architectures (:mod:`ganbench.models.archs`). Importing the package registers
every built-in network."""

from ganbench.models import (  # noqa: F401  (each registers its architectures)
    dcgan,
    dcgan_radford,
    dcgan_veegan,
    dirac,
    mlp,
    pacgan,
    resnet,
    sngan_cnn,
)
from ganbench.models.activations import ACTIVATIONS
from ganbench.models.archs import ARCHS, Arch, Setting, build_discriminator, build_generator

__all__ = ["ACTIVATIONS", "ARCHS", "Arch", "Setting", "build_discriminator", "build_generator"]
