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


def pytest_configure(config):
    """Give each pytest-xdist worker its own cores (below), then turn the compilation cache (the
    folder above) on for in-process training too, as `ganbench run` does: a program that several
    tests compile (the same tiny game, say) is compiled once per process. A cached executable is
    the one the compiler would build (tests/test_compile_cache.py)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if worker.startswith("gw") and count.isdigit():
        pin_worker(int(worker[2:]), int(count))
    from ganbench.run import compile_cache

    compile_cache.enable()


CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
"""The cores this process could use when it started, before :func:`pin_worker`."""


def pin_worker(index: int, workers: int) -> set[int] | None:
    """Keep this process (and the threads and processes it starts from now on) on its share of
    the cores it may use: every ``workers``-th core from the ``index``-th. None, and nothing
    changed, where there are fewer cores than workers or no affinity to set.

    Each of `nox -s tests`'s two workers compiles XLA programs, and XLA sizes its compiler's
    thread pools to the cores it sees: on a 2-core CPU, four compiling threads shared two cores.
    With a core each (XLA then sees one), a run of the default session took 344.8 s of pytest
    and 680 s of CPU against 352.3 s and 689 s unpinned, back to back (2-core AMD EPYC). The
    host-device count stays two (``XLA_FLAGS`` above): sharding is exercised as before."""
    try:
        cores = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return None
    if len(cores) < workers:
        return None
    share = set(cores[index::workers])
    os.sched_setaffinity(0, share)
    return share


CHILD_PEAK_KIB = (
    "def peak_kib():\n"
    "    with open('/proc/self/status') as status:\n"
    "        return next(int(x.split()[1]) for x in status if x.startswith('VmHWM:'))\n"
)
"""Source of ``peak_kib()``, for the code a test runs in a child process: that process's own peak
resident memory (VmHWM, in KiB). getrusage's ru_maxrss would carry the parent's peak across exec
(Linux keeps the larger of the two): 1.6 GB from a pytest process was seen."""


TIERS = ("unit", "engine", "e2e")
"""Every test carries one tier marker (`nox -s quick` runs the unit tier):

- ``unit``: pure functions and small programs; no training loop compiled, no CLI subprocess, each
  test well under a second;
- ``engine``: compiles or trains the engine, a network or an extractor in-process;
- ``e2e``: the CLI or the public API end to end (a suite trained, results reported).

A test's own marker wins, else its entry in TEST_TIERS, else its file's in FILE_TIERS; docstring
examples of the package are unit. A test file missing from FILE_TIERS counts as e2e, and
tests/test_tiers.py fails until it is listed, so each new file chooses its tier."""

FILE_TIERS: dict[str, str] = {
    # unit
    "test_architecture.py": "unit",
    "test_budget.py": "unit",
    "test_chance.py": "unit",
    "test_cifar10.py": "unit",
    "test_cli_data.py": "unit",
    "test_compare.py": "unit",
    "test_config.py": "unit",
    "test_docs.py": "unit",
    "test_games.py": "unit",
    "test_hostile.py": "unit",
    "test_hostile_surfaces.py": "unit",
    "test_image_metrics.py": "unit",
    "test_list.py": "unit",
    "test_losses.py": "unit",
    "test_metrics.py": "unit",
    "test_mnist_data.py": "unit",
    "test_optim.py": "unit",
    "test_penalties.py": "unit",
    "test_profiles.py": "unit",
    "test_progress.py": "unit",
    "test_references.py": "unit",
    "test_report.py": "unit",
    "test_report_formatting.py": "unit",
    "test_report_baseline.py": "unit",
    "test_report_plots.py": "unit",
    "test_resize.py": "unit",
    "test_schemes_config.py": "unit",
    "test_spectrum.py": "unit",
    "test_stats.py": "unit",
    "test_structure.py": "unit",
    "test_text.py": "unit",
    "test_tiers.py": "unit",
    "test_verdicts.py": "unit",
    # engine
    "test_archs.py": "engine",
    "test_budgets.py": "engine",
    "test_compile_cache.py": "engine",
    "test_conv.py": "engine",
    "test_dcgan.py": "engine",
    "test_dinov2.py": "engine",
    "test_dirac.py": "engine",
    "test_engine.py": "engine",
    "test_extractor.py": "engine",
    "test_inception.py": "engine",
    "test_latent_gsteps.py": "engine",
    "test_labelled_classifier.py": "engine",
    "test_learning.py": "engine",
    "test_loss_knobs.py": "engine",
    "test_models_dcgan_veegan.py": "engine",
    "test_models_pacgan.py": "engine",
    "test_schemes_engine.py": "engine",
    "test_stabilizers.py": "engine",
    "test_threefry.py": "engine",
    "test_unrolled_fig1.py": "engine",
    "peers/test_dinov2_peers.py": "engine",
    "peers/test_inception_peers.py": "engine",
    "peers/test_resize_peers.py": "engine",
    # e2e
    "test_api.py": "e2e",
    "test_cli.py": "e2e",
    "test_eval.py": "e2e",
    "test_folders.py": "e2e",
    "test_images_engine.py": "e2e",
    "test_player.py": "e2e",
    "test_plugins.py": "e2e",
    "test_resume.py": "e2e",
    "test_search.py": "e2e",
}
"""The tier of each test file (its path under tests/)."""

TEST_TIERS: dict[str, str] = {
    # Runs a suite, trains an extractor, or renders a report through the CLI: seconds each.
    "test_budget.py::test_the_html_report_and_plots_hold_the_budget_figure": "e2e",
    "test_chance.py::test_run_writes_skips_and_forces_reference_rows": "e2e",
    "test_chance.py::test_a_run_replaces_the_rows_drawn_once_per_seed": "e2e",
    "test_cli_data.py::test_extractor_train_writes_weights_and_sidecar_with_the_recipe": "engine",
    "test_cli_data.py::test_extractor_verify_on_real_mnist": "engine",
    "test_hostile.py::test_long_lists_repeated_over_a_grid_are_refused": "e2e",
    "test_hostile.py::test_hostile_names_in_a_results_folder_are_shown_not_interpreted": "e2e",
    "test_hostile.py::test_report_html_plots_and_compare_survive_a_corrupt_folder": "e2e",
    "test_hostile_surfaces.py::test_figures_and_players_read_a_bounded_number_of_samples": "e2e",
    "test_list.py::test_metrics_section_covers_every_metric_written_and_nothing_else": "e2e",
    "test_profiles.py::test_a_profiled_run_records_its_profile": "e2e",
    "test_report_plots.py::test_report_cli_writes_html_and_plots": "e2e",
    "test_report_plots.py::test_html_is_self_contained": "e2e",
    # The public API's tour trains a suite.
    "ganbench/api.py::ganbench.api": "e2e",
}
"""Tests whose tier differs from their file's, as ``"file.py::test_name"`` (no parameters; a
docstring example by its node id)."""

TESTS = Path(__file__).resolve().parent


def tier_of(own: list[str], test: str, file: str | None) -> str:
    """The tier of one test: its own tier marker, else ``TEST_TIERS[test]``, else
    ``FILE_TIERS[file]``, else e2e. ``file`` is None for the package's docstring examples
    (unit). A test with two tier markers of its own is an error."""
    if len(own) > 1:
        raise pytest.UsageError(f"{test}: one tier marker at most, got {', '.join(own)}")
    if own:
        return own[0]
    if test in TEST_TIERS:
        return TEST_TIERS[test]
    if file is None:
        return "unit"
    return FILE_TIERS.get(file, "e2e")


def pytest_collection_modifyitems(config, items):
    unit_files = set()
    for item in items:
        own = [m.name for m in item.iter_markers() if m.name in TIERS]
        file = file_of(item)
        name = getattr(item, "originalname", None) or item.name
        test = f"{file}::{name}" if file is not None else item.nodeid
        tier = tier_of(own, test, file)
        if not own:
            item.add_marker(getattr(pytest.mark, tier))
        if unit_file(file):
            unit_files.add(item.path)
    items[:] = scheduled(items, unit_files)


def file_of(item) -> str | None:
    """The item's file as a path under tests/, or None for a docstring example of the package."""
    path = Path(str(item.path)).resolve()
    return path.relative_to(TESTS).as_posix() if path.is_relative_to(TESTS) else None


def unit_file(file: str | None) -> bool:
    """Whether a file (:func:`file_of`) is of the unit tier: `nox -s tests` runs it last."""
    return file is None or FILE_TIERS.get(file) == "unit"


def scheduled(items: list, light: set) -> list:
    """``items`` with each file's tests together and in their order: files not in ``light``
    first, then those in ``light``, files with more tests first within each (a stable sort).

    `nox -s tests` hands whole files to two workers in this order (``--dist loadfile
    --no-loadscope-reorder``); a worker takes the next file as it finishes one. pytest-xdist's
    own order, by number of tests alone, left files of a few long tests (an image engine, a
    suite trained for the module) to the end, and the worker that drew one ran on alone: 9 s
    of a 6-minute run on a 2-core CPU. With the unit-tier files last, the run ends on short
    tests; replaying that run's measured test times through the scheduler, the workers finish
    2.7 s apart instead of 7.8 s."""
    count, first = {}, {}
    for index, item in enumerate(items):
        count[item.path] = count.get(item.path, 0) + 1
        first.setdefault(item.path, index)
    return sorted(items, key=lambda it: (it.path in light, -count[it.path], first[it.path]))


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
    """A data directory holding a tiny MNIST (hashes and sizes planted) and a quick classifier
    (trained when first needed: 2 epochs of 8 steps)."""
    return _write_tiny_mnist(tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def _tiny_mnist_extractors(tmp_path_factory) -> Path:
    """The extractors folder of a tiny MNIST data directory whose classifier was trained, by
    ganbench's own loader, once per test process."""
    from ganbench.extractors.classifier import load_mnist_classifier

    with pytest.MonkeyPatch.context() as mp:
        store = _write_tiny_mnist(tmp_path_factory.mktemp("tiny-mnist"), mp)
        load_mnist_classifier(store)
    return store / "extractors"


@pytest.fixture
def tiny_mnist_classified(tiny_mnist, _tiny_mnist_extractors) -> Path:
    """``tiny_mnist`` with its classifier already trained and cached, as a second run finds it
    (the same data, so the same weights): for tests of what is measured, not of training."""
    import shutil

    shutil.copytree(_tiny_mnist_extractors, tiny_mnist / "extractors")
    return tiny_mnist


def _write_tiny_mnist(tmp_path: Path, monkeypatch) -> Path:
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
