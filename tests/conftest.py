"""Test set-up: two host devices (so sharding is exercised) and strict rank promotion, both set
before JAX is imported."""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("JAX_NUMPY_RANK_PROMOTION", "raise")

import textwrap
from pathlib import Path

import pytest

TINY_SUITE = """
[suite]
name = "tiny"
seeds = 2
steps = 20
eval_every = 10

[defaults]
dataset = "ring8"
batch_size = 32
z_dim = 2
generator = {{ width = 16, depth = 1 }}
discriminator = {{ width = 16, depth = 1 }}
optimizer = {{ name = "adam", lr_g = 1e-3, lr_d = 1e-3, b1 = 0.5 }}

[metrics]
samples = 200

{variants}
"""

DEFAULT_VARIANTS = """
[[variants]]
name = "ns"
loss = "non_saturating"
"""


@pytest.fixture
def write_suite(tmp_path: Path):
    """Write a tiny suite (optionally with other variants/sections) and return its path."""

    def write(variants: str = DEFAULT_VARIANTS, name: str = "suite.toml", text: str | None = None):
        path = tmp_path / name
        body = text if text is not None else TINY_SUITE.format(variants=textwrap.dedent(variants))
        path.write_text(textwrap.dedent(body))
        return path

    return write


@pytest.fixture
def shared_mnist() -> Path:
    """The real MNIST files (four .gz) at ../shared/data/mnist from the project root, for tests
    only; the test is skipped where that folder is absent."""
    path = Path(__file__).parents[2] / "shared" / "data" / "mnist"
    if not path.is_dir():
        pytest.skip(f"real MNIST not available: {path} does not exist")
    return path
