"""The static structure of a training program: what picks the compiled code.

Runs whose structures are equal share one compiled :class:`ganbench.train.engine.Program`; what
differs between them (learning rates, optimiser, penalty and scheme knobs, the mixture a run
samples) is traced, in :class:`ganbench.train.state.Hparams`. The suite loader builds a
structure from a run's configuration (:func:`ganbench.config.expand.structure_of`); the engine
never sees the configuration itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Structure:
    """The static fields of one run, as the engine reads them."""

    dataset: Any
    """The run's dataset object (``ganbench.data``), with its mode weights."""
    generator: Any
    """The generator's network settings (arch, width, depth, ...: ``ganbench.models``)."""
    discriminator: Any
    """The discriminator's network settings."""
    loss: str
    penalty: str
    optimizer: str
    n_critic: int = 1
    g_steps: int = 1
    latent: str = "normal"
    batch_size: int = 64
    z_dim: int = 2
    pack: int = 1
    updates: str = "alternating"
    unroll: int = 0
    clip: bool = False
    """Whether D's weights are clipped after every update (the bound itself is traced)."""
    ema: bool = False
    instance_noise: bool = False
    consensus: bool = False
