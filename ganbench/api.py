"""ganbench as a Python library: the public functions, for notebooks and for training loops of
your own.

Everything exported from :mod:`ganbench` (its ``__all__``) and from the public modules listed
there is the public API: it is typed, documented and changes only with notice. Every other
module is internal to ganbench and may change in any release. ``ganbench run`` is built on
:func:`load_suite` and :func:`plan`. (The function that trains is ``run_suite``, not ``run``:
``ganbench.run`` is the package that does the training.)

A suite from a dict, trained, loaded and summarised (``run_suite`` trains only what the
folder does not hold yet, so running it again costs nothing):

>>> import tempfile, ganbench
>>> suite = {
...     "suite": {"name": "demo", "seeds": 2, "steps": 200, "eval_every": 100},
...     "defaults": {
...         "dataset": "ring8", "batch_size": 64, "z_dim": 2,
...         "generator": {"width": 32, "depth": 2}, "discriminator": {"width": 32, "depth": 2},
...         "optimizer": {"name": "adam", "lr_g": 1e-3, "lr_d": 1e-3, "b1": 0.5},
...     },
...     "variants": [{"name": "ns", "loss": "non_saturating"}],
... }
>>> results = ganbench.run_suite(suite, out=tempfile.mkdtemp())
>>> sorted(results.runs.loc[results.runs["variant"] == "ns", "status"])
['completed', 'completed']
>>> sorted(set(results.metrics["step"]))  # tidy: one row per run, step and metric
[100, 200]
>>> table = ganbench.summarize(results, ["modes", "fd"])
>>> int(table.loc[table["variant"] == "ns", "n_runs"].iloc[0])
2

The metrics work on arrays from any framework (numpy in, numbers out):

>>> import numpy as np
>>> from ganbench.metrics import frechet_distance
>>> x = np.random.default_rng(0).normal(size=(1000, 2))
>>> round(frechet_distance(x, x + [3.0, 4.0]), 6)  # the fits differ by the mean (3, 4) only
25.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ganbench.config import Suite
    from ganbench.results.read import Results
    from ganbench.run.plan import Plan
    from ganbench.run.progress import Progress

SuiteSource = str | Path | Mapping[str, Any]
"""A suite: the path of a TOML file, or the document as a dict."""


def load_suite(
    suite: SuiteSource,
    *,
    seeds: int | None = None,
    steps: int | None = None,
    overrides: list[str] | None = None,
    profile: str | None = None,
) -> Suite:
    """Read, validate and expand a suite into its runs, as ``ganbench run`` and ``ganbench
    validate`` do. ``overrides`` are ``--set`` items (``"defaults.batch_size=512"``).

    Raises:
        ganbench.errors.ConfigError: the suite is invalid; the message names the key and the
            allowed values.
    """
    from ganbench.config import load_suite as from_file
    from ganbench.config import load_suite_dict

    options = {"overrides": overrides or [], "seeds": seeds, "steps": steps, "profile": profile}
    if isinstance(suite, Mapping):
        return load_suite_dict(dict(suite), **options)
    return from_file(suite, **options)


def plan(
    suite: Suite,
    out: str | Path = "results",
    *,
    force: bool = False,
    max_runs: int | None = None,
    exact_runs: bool = False,
    checkpoint_every: float = 60.0,
    process: int = 0,
    processes: int = 1,
) -> Plan:
    """The runs of ``suite`` still to train in ``out``, grouped into compiled programs sized to
    this machine's devices and memory (``ganbench run --dry-run`` prints it). Turns on the
    compilation cache, and on a CPU host splits it into one device per core when JAX has not
    been imported yet."""
    from ganbench.run.devices import configure_host_devices

    configure_host_devices()
    import jax

    from ganbench.run import compile_cache
    from ganbench.run.memory import device_budget
    from ganbench.run.plan import make_plan

    compile_cache.enable()  # before anything is compiled
    local = jax.local_devices()
    made = make_plan(
        suite,
        Path(out),
        force=force,
        max_runs=max_runs,
        budget=device_budget(local),
        n_devices=len(local),
        process=process,
        processes=processes,
    )
    made.checkpoint_every = checkpoint_every
    made.exact = exact_runs
    return made


def run_suite(
    suite: SuiteSource,
    out: str | Path = "results",
    *,
    seeds: int | None = None,
    steps: int | None = None,
    overrides: list[str] | None = None,
    profile: str | None = None,
    force: bool = False,
    max_runs: int | None = None,
    exact_runs: bool = False,
    progress: Progress | None = None,
) -> Results:
    """Train every run of ``suite`` not yet finished in ``out`` (resuming checkpoints) and
    return the suite's results as :func:`load` reads them: this suite's runs and their
    reference rows, not other runs of the folder. ``progress`` receives what ``ganbench run``
    shows (see :class:`ganbench.run.progress.Progress`); by default nothing is shown.

    A run whose losses go non-finite is a result (status ``diverged``); a run that fails to
    execute is recorded as ``failed`` with its error.
    """
    from ganbench.run.schedule import run_plan

    spec = load_suite(suite, seeds=seeds, steps=steps, overrides=overrides, profile=profile)
    made = plan(spec, out, force=force, max_runs=max_runs, exact_runs=exact_runs)
    if made.groups:
        run_plan(made, progress=progress)
    return suite_results(load(made.suite_folder), spec)


def suite_results(results: Results, suite: Suite) -> Results:
    """The part of ``results`` that belongs to ``suite``: its runs, their data and chance rows,
    and the image floors measured at its settings (a folder may also hold runs of earlier
    settings of the same suite)."""
    from ganbench.diagnostics.chance import reference_runs
    from ganbench.results.layout import DRAW_SUFFIX

    ids = {r.run_id for r in suite.runs} | {r.run_id for r in reference_runs(suite.runs)}
    ids |= _floor_ids(results, suite.runs)
    # A row measured over many draws reads as one run per draw, <run_id>/draw-<d>.
    drawn = {i for i in results.runs["run_id"] if i.split(DRAW_SUFFIX)[0] in ids}
    return results.only(ids | drawn)


def _floor_ids(results: Results, runs: list) -> set[str]:
    """The run ids of the image floors (``floor: ...`` rows) that stand beside ``runs``: same
    dataset, final step, profile and evaluation sample count."""
    from ganbench.config.expand import is_image_dataset
    from ganbench.metrics.names import FLOOR_PREFIX

    wanted = {
        (r.config.dataset, r.steps, r.profile, r.metrics.samples)
        for r in runs
        if is_image_dataset(r.config.dataset)
    }
    table = results.runs
    if not wanted or table.empty:
        return set()
    floors = table[table["variant"].astype(str).str.startswith(FLOOR_PREFIX)]
    n_fake = results.metrics.groupby("run_id")["n_fake"].max()
    found = set()
    for row in floors.to_dict("records"):
        profile = row.get("profile")
        key = (
            row["dataset"],
            row["step"],
            None if profile is None or profile != profile else profile,  # NaN: no profile
            n_fake.get(row["run_id"]),
        )
        if key in wanted:
            found.add(row["run_id"])
    return found


def load(path: str | Path = "results") -> Results:
    """The runs under ``path`` (any folder above run folders) as tidy pandas tables:
    ``.runs`` (one row per run: suite, variant, seed, grid point, status, configuration) and
    ``.metrics`` (one row per run, step and metric, with the sample counts behind each value).
    Folders that are not valid runs are skipped and named in ``.warnings``.

    Raises:
        ganbench.errors.ResultsError: no valid run under ``path``.
    """
    from ganbench.results.read import read_results

    return read_results(Path(path))


def summarize(results: Results, metrics: list[str] | None = None, **options: Any) -> pd.DataFrame:
    """Final values per suite x variant x grid point, mean and standard deviation over seeds
    (the table ``ganbench report`` prints); ``metrics`` default to the report's columns.
    ``options`` are :func:`ganbench.report.summarize`'s."""
    from ganbench.report import summarize as summary

    return summary(results, metrics, **options)


def mnist_features(images: np.ndarray, *, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Features and digit labels of MNIST-like images from the classifier shipped with ganbench
    (the feature space of ``fid_mnist_cnn``, KID, precision/recall and the class metrics):
    ``(features (N, 128) float32, labels (N,) int)`` for uint8 images (N, 28, 28) or float images
    in [-1, 1] of shape (N, 28, 28, 1). Feed them to :mod:`ganbench.metrics`: for example
    ``frechet_distance(features_real, features_fake)`` or ``class_coverage(labels, 10)``."""
    import numpy as np

    from ganbench.diagnostics.image_eval import shipped_classifier
    from ganbench.errors import DataError
    from ganbench.extractors import mnist_cnn

    params, _, why = shipped_classifier()
    if params is None:
        raise DataError(f"the MNIST classifier shipped with ganbench cannot be used: {why}")
    features, logits = mnist_cnn.embed(params, images, batch=batch)
    return np.asarray(features), np.argmax(np.asarray(logits), axis=1)


def register_loss(
    name: str, *, help: str, knobs: Mapping[str, Any] | None = None
) -> Callable[[Callable], Callable]:
    """A decorator that adds a GAN objective under ``name`` for suites to use (``loss =
    "name"``): a function ``(d_real, d_fake) -> LossOutput`` of the discriminator's outputs on
    real and generated batches (see :mod:`ganbench.objectives.losses`, whose losses are
    registered the same way); ``knobs`` declare its tunable keyword arguments."""
    from ganbench.objectives.losses import register

    return register(name, help=help, knobs=dict(knobs) if knobs else None)


def register_dataset(name: str, factory: Callable[[], Any], *, help: str) -> None:
    """Add a dataset under ``name`` for suites to use (``dataset = "name"``): ``factory()``
    returns an object with the :class:`ganbench.data.base.Dataset` protocol, for instance a
    :class:`ganbench.data.GaussianMixture` (whose mode metrics then work as for ring8)."""
    from ganbench.data.base import DATASETS

    DATASETS.add(name, factory, help=help)


__all__ = [
    "SuiteSource",
    "load",
    "load_suite",
    "mnist_features",
    "plan",
    "register_dataset",
    "register_loss",
    "run_suite",
    "suite_results",
    "summarize",
]
