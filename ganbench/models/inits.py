"""Weight initialisation as a setting (``ModelConfig.weight_init``).

A setting is a string ``"<kind>:<value>"``:

* ``"normal:<std>"``: every weight matrix drawn from N(0, std^2), every bias 0. PacGAN's 2-D
  networks use ``normal:0.02`` (fjxmlzn/PacGAN, ``synthetic_data_experiments/2DRing_GAN&PacGAN/
  config.py`` lines 21-22: ``"weights_init_std": 0.02, "biases_init": Constant(0.0)``, used as
  ``IsotropicGaussian(0.02)`` in ``pacgan_task.py`` lines 67-92; Blocks' ``IsotropicGaussian``
  draws ``rng.normal(mean=0, std)``, mila-iqia/blocks ``blocks/initialization.py`` lines 78-100).
* ``"orthogonal:<gain>"``: every weight matrix a random orthogonal matrix times ``gain`` (for a
  kernel of shape (in, out): orthonormal columns, W^T W = gain^2 I, when in >= out; orthonormal
  rows, W W^T = gain^2 I, when in < out), every bias 0. The unrolled GAN's public notebook uses
  gain 1.4 (poolio/unrolled_gan, ``Unrolled GAN demo.ipynb``, the cell that builds the networks:
  ``slim.arg_scope([slim.fully_connected], weights_initializer=tf.orthogonal_initializer(
  gain=1.4))``; slim's biases default to zeros). Flax's ``orthogonal`` initializer is
  TensorFlow's: QR of a Gaussian matrix, signs fixed by R's diagonal, transposed for wide
  kernels.

``None`` (the default) keeps each architecture's own initialisation, so existing suites do not
change: Flax's defaults for ``mlp`` (LeCun-normal kernels, zero biases), PacGAN's N(0, 0.02)
for ``bn_mlp`` and ``maxout``. Batch-norm scales and shifts are not weights: they start at 1 and
0 whatever the setting (as in Blocks, whose BatchNormalization does not take pushed
initialisation config: ``blocks/bricks/bn.py`` lines 107-112).

Settings are canonicalised (``"normal:2e-2"`` becomes ``"normal:0.02"``) so that one
initialisation has one run identity.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import flax.linen as nn

WEIGHT_INIT_KINDS = ("normal", "orthogonal")
WEIGHT_INIT_FORMS = '"normal:<std>" or "orthogonal:<gain>" (a positive number, at most 1000)'
MAX_WEIGHT_INIT_VALUE = 1e3

MAX_WEIGHT_INIT_CHARS = 64
"""Longest setting matched (``"orthogonal:"`` and a float fit in 40 characters)."""
_PATTERN = re.compile(r"(normal|orthogonal):((?:\d++(?:\.\d*+)?+|\.\d++)(?:[eE][-+]?+\d++)?+)")
"""Possessive quantifiers: no backtracking into a run of digits, so a match is linear in the
text (which is also at most :data:`MAX_WEIGHT_INIT_CHARS` long when matched)."""

Initializer = Callable[..., object]


def parse_weight_init(spec: str) -> tuple[str, float]:
    """``(kind, value)`` of a setting; a ValueError naming the allowed forms otherwise."""
    bounded = isinstance(spec, str) and len(spec) <= MAX_WEIGHT_INIT_CHARS
    match = _PATTERN.fullmatch(spec) if bounded else None
    value = float(match.group(2)) if match else math.nan
    if not match or not (0.0 < value <= MAX_WEIGHT_INIT_VALUE) or not math.isfinite(value):
        long = isinstance(spec, str) and len(spec) > 40
        shown = repr(spec[:40]) + f"... ({len(spec):,} characters)" if long else repr(spec)
        raise ValueError(f"weight_init must be {WEIGHT_INIT_FORMS}, got {shown}")
    return match.group(1), value


def canonical_weight_init(spec: str) -> str:
    """The setting in its one spelling (``kind:repr(float(value))``)."""
    kind, value = parse_weight_init(spec)
    return f"{kind}:{value!r}"


def kernel_initializer(spec: str | None, default: Initializer) -> Initializer:
    """The kernel initializer of a setting, or ``default`` when the setting is None."""
    if spec is None:
        return default
    kind, value = parse_weight_init(spec)
    if kind == "normal":
        return nn.initializers.normal(stddev=value)
    return nn.initializers.orthogonal(scale=value)
