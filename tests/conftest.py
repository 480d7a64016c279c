"""Test set-up: two host devices (so sharding is exercised) and strict rank promotion, both set
before JAX is imported."""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("JAX_NUMPY_RANK_PROMOTION", "raise")

# `ganbench run` (in-process or in a subprocess) keeps compiled programs in a cache folder: one
# per test process, removed at exit, never the user's ~/.cache.
if "GANBENCH_COMPILE_CACHE" not in os.environ:
    import atexit
    import shutil
    import tempfile

    _cache = tempfile.mkdtemp(prefix="ganbench-test-xla-")
    os.environ["GANBENCH_COMPILE_CACHE"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)

import hashlib
import textwrap
from pathlib import Path

import numpy as np
import pytest

collect_ignore = ["plugins"]
"""Plugin packages for tests/test_plugins.py: imported only by the suites that name them (a
doctest collection would register their networks in every test process)."""

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


N_TRAIN, N_TEST = 400, 200


def _digits(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Class c: a bright 6 x 6 square at one of ten positions, on noise."""
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, c in enumerate(labels):
        r, q = divmod(int(c), 5)
        images[i, 4 + 12 * r : 10 + 12 * r, 2 + 5 * q : 8 + 5 * q] = 250
    return images, labels


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch) -> Path:
    """A data directory holding a tiny MNIST (hashes and sizes planted) and a quick classifier."""
    from ganbench.data import idx, mnist
    from ganbench.extractors import classifier

    rng = np.random.default_rng(0)
    arrays = {}
    arrays["train-images"], arrays["train-labels"] = _digits(rng, N_TRAIN)
    arrays["t10k-images"], arrays["t10k-labels"] = _digits(rng, N_TEST)
    store = tmp_path / "data"
    (store / "mnist").mkdir(parents=True)
    for key, array in arrays.items():
        raw = idx.encode_idx(array)
        (store / "mnist" / mnist.NAMES[key]).write_bytes(raw)
        monkeypatch.setitem(mnist.SHA256, key, hashlib.sha256(raw).hexdigest())
    monkeypatch.setitem(mnist.EXAMPLES, "train", N_TRAIN)
    monkeypatch.setitem(mnist.EXAMPLES, "test", N_TEST)
    monkeypatch.setattr(
        classifier, "CLASSIFIER_SETTINGS", {"seed": 0, "epochs": 2, "batch_size": 50, "lr": 3e-3}
    )
    monkeypatch.setenv("GANBENCH_DATA", str(store))
    return store


def write_cifar10_batches(folder: Path, records: int = 20, seed: int = 0) -> dict:
    """The six files of CIFAR-10's binary version with ``records`` records each, in exactly
    that format (1 label byte, then the red, green and blue 32 x 32 planes row by row), with
    random pixels and labels; returns the arrays they hold: ``{"train": (images, labels),
    "test": (...)}``, images (N, 32, 32, 3), built independently of ganbench's parser."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[list, list]] = {"train": ([], []), "test": ([], [])}
    names = [(f"data_batch_{i}.bin", "train") for i in range(1, 6)] + [("test_batch.bin", "test")]
    for name, split in names:
        labels = rng.integers(0, 10, records).astype(np.uint8)
        planes = rng.integers(0, 256, (records, 3, 32, 32)).astype(np.uint8)  # (N, C, H, W)
        blob = b"".join(
            bytes([labels[i]]) + planes[i, 0].tobytes() + planes[i, 1].tobytes()
            + planes[i, 2].tobytes()
            for i in range(records)
        )  # fmt: skip
        (folder / name).write_bytes(blob)
        out[split][0].append(np.transpose(planes, (0, 2, 3, 1)))
        out[split][1].append(labels)
    return {k: (np.concatenate(v[0]), np.concatenate(v[1])) for k, v in out.items()}


@pytest.fixture
def tiny_cifar10(tmp_path, monkeypatch) -> Path:
    """A data directory holding a CIFAR-10 stand-in (20 records per file: 100 training and 20
    test images), imported through ganbench's importer from files in the binary format."""
    from ganbench.data.cifar10 import import_cifar10

    store = tmp_path / "data"
    write_cifar10_batches(tmp_path / "cifar-10-batches-bin")
    monkeypatch.setenv("GANBENCH_DATA", str(store))
    import_cifar10(tmp_path / "cifar-10-batches-bin", store)
    return store


@pytest.fixture
def restore_registries():
    """Undo what a test registers (a plugin's networks, losses, datasets) and the modules it
    imports, so that registries stay as ganbench ships them for the other tests."""
    import sys

    from ganbench.config import plugins
    from ganbench.data.base import DATASETS
    from ganbench.models.archs import ARCHS
    from ganbench.objectives.losses import LOSS_KNOBS, LOSSES

    saved = [(r, dict(r._entries)) for r in (ARCHS, LOSSES, DATASETS)]
    knobs = dict(LOSS_KNOBS)
    modules = set(sys.modules)
    plugins._CHECKED.clear()
    yield
    for registry, entries in saved:
        registry._entries.clear()
        registry._entries.update(entries)
    LOSS_KNOBS.clear()
    LOSS_KNOBS.update(knobs)
    for name in set(sys.modules) - modules:
        if name.startswith("gb_plugin"):  # the test plugins: imported afresh by the next test
            del sys.modules[name]
    plugins._CHECKED.clear()
