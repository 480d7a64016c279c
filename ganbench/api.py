"""ganbench as a Python library: the public functions, for notebooks and for training loops of
your own.

Everything exported from :mod:`ganbench` (its ``__all__``) and from the public modules listed
there is the public API: it is typed, documented and changes only with notice. Every other
module is internal to ganbench and may change in any release. ``ganbench run`` is built on
:func:`load_suite`, :func:`run_suite` and :func:`report` (``--dry-run`` prints :func:`plan`).
(The function that trains is ``run_suite``, not ``run``: ``ganbench.run`` is the package that
does the training.)

A suite from a dict (a tiny one, trained in seconds), trained, loaded and summarised
(``run_suite`` trains only what the folder does not hold yet, so running it again costs
nothing):

>>> import tempfile, ganbench
>>> from pathlib import Path
>>> suite = {
...     "suite": {"name": "demo", "seeds": 2, "steps": 20, "eval_every": 10},
...     "defaults": {
...         "dataset": "ring8", "batch_size": 32, "z_dim": 2,
...         "generator": {"width": 16, "depth": 1}, "discriminator": {"width": 16, "depth": 1},
...         "optimizer": {"name": "adam", "lr_g": 1e-3, "lr_d": 1e-3, "b1": 0.5},
...     },
...     "metrics": {"samples": 200},
...     "variants": [{"name": "ns", "loss": "non_saturating"}],
... }
>>> results = ganbench.run_suite(suite, out=tempfile.mkdtemp())
>>> sorted(results.runs.loc[results.runs["variant"] == "ns", "status"])
['completed', 'completed']
>>> sorted(set(results.metrics["step"]))  # tidy: one row per run, step and metric
[10, 20]
>>> table = ganbench.summarize(results, ["modes", "fd"])
>>> int(table.loc[table["variant"] == "ns", "n_runs"].iloc[0])
2

The report ``ganbench report`` prints and writes, from Python (of a folder, or of results
already read):

>>> page = ganbench.report(results, metrics=["modes"])
>>> page.text("csv").startswith("suite,variant,dataset,n_runs,")
True
>>> written = page.write(html=Path(tempfile.mkdtemp()) / "demo.html")
>>> written.html.read_text().startswith("<!DOCTYPE html>")
True

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
    from ganbench.evaluation import EvalResult
    from ganbench.report.document import Report
    from ganbench.results.read import Results
    from ganbench.run.plan import Plan
    from ganbench.run.progress import Progress
    from ganbench.run.schedule import RunSummary

SuiteSource = str | Path | Mapping[str, Any]
"""A suite: the path of a TOML file, or the document as a dict."""


def load_suite(
    suite: SuiteSource,
    *,
    seeds: int | None = None,
    steps: int | None = None,
    overrides: list[str] | None = None,
    profile: str | None = None,
    imports: list[str] | None = None,
) -> Suite:
    """Read, validate and expand a suite into its runs, as ``ganbench run`` and ``ganbench
    validate`` do. ``overrides`` are ``--set`` items (``"defaults.batch_size=512"``);
    ``imports`` are plugin modules imported first besides the suite's ``[suite] imports``
    (``--import``).

    Raises:
        ganbench.errors.ConfigError: the suite is invalid; the message names the key and the
            allowed values.
    """
    from ganbench.config import load_suite as from_file
    from ganbench.config import load_suite_dict

    options = {
        "overrides": overrides or [],
        "seeds": seeds,
        "steps": steps,
        "profile": profile,
        "imports": imports,
    }
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
    suite: SuiteSource | Suite,
    out: str | Path = "results",
    *,
    seeds: int | None = None,
    steps: int | None = None,
    overrides: list[str] | None = None,
    profile: str | None = None,
    imports: list[str] | None = None,
    force: bool = False,
    max_runs: int | None = None,
    exact_runs: bool = False,
    checkpoint_every: float = 60.0,
    process: int = 0,
    processes: int = 1,
    progress: Progress | None = None,
) -> Results:
    """Train every run of ``suite`` not yet finished in ``out`` (resuming checkpoints) and
    return the suite's results as :func:`load` reads them: this suite's runs and their
    baseline rows, not other runs of the folder. ``ganbench run`` is this function behind a
    command line.

    ``suite`` is a file, a dict, or a :class:`Suite` already loaded (then without ``seeds``,
    ``steps``, ``overrides``, ``profile`` or ``imports``). The other options are
    :func:`plan`'s. ``progress`` receives what ``ganbench run`` shows (see
    :class:`ganbench.run.progress.Progress`): the plan before training, each group's steps,
    and the counts after; by default nothing is shown.

    A run whose losses go non-finite is a result (status ``diverged``); a run that fails to
    execute is recorded as ``failed`` with its error (``progress.finished`` receives the
    counts).
    """
    from ganbench.config import Suite
    from ganbench.run.progress import notify

    if isinstance(suite, Suite):
        given = {"seeds": seeds, "steps": steps, "overrides": overrides, "profile": profile,
                 "imports": imports}  # fmt: skip
        if extra := [k for k, v in given.items() if v is not None]:
            raise TypeError(f"run_suite: {', '.join(extra)}: a loaded suite is already expanded")
        spec = suite
    else:
        spec = load_suite(
            suite, seeds=seeds, steps=steps, overrides=overrides, profile=profile, imports=imports
        )
    made = plan(
        spec,
        out,
        force=force,
        max_runs=max_runs,
        exact_runs=exact_runs,
        checkpoint_every=checkpoint_every,
        process=process,
        processes=processes,
    )
    notify(progress, "planned", made)
    summary = run_plan(made, progress=progress)
    notify(progress, "finished", summary)
    if processes > 1:  # every process's runs are written before any reads them
        from ganbench.run.distributed import wait_for_all

        wait_for_all(f"ganbench run {spec.name}")
    return suite_results(load(made.suite_folder), spec)


def run_plan(plan: Plan, *, progress: Progress | None = None) -> RunSummary:
    """Train the groups of ``plan`` (from :func:`plan`) and write their run folders, the suite
    file and the suite's data and chance rows: these also when nothing is left to train (for
    results of a release that did not write them yet). ``ganbench run`` prints the plan, then
    calls this; :func:`run_suite` is :func:`load_suite`, :func:`plan`, this and :func:`load`.
    Returns the counts ``ganbench run`` prints (completed, diverged, failed, skipped runs)."""
    from ganbench.run.schedule import run_plan as train

    return train(plan, progress=progress)


def suite_results(results: Results, suite: Suite) -> Results:
    """The part of ``results`` that belongs to ``suite``: its runs, their data and chance rows,
    and the image floors measured at its settings (a folder may also hold runs of earlier
    settings of the same suite)."""
    from ganbench.diagnostics.chance import baseline_runs
    from ganbench.results.layout import DRAW_SUFFIX

    ids = {r.run_id for r in suite.runs} | {r.run_id for r in baseline_runs(suite.runs)}
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


def report(
    results: str | Path | Results = "results",
    *,
    metrics: list[str] | None = None,
    by: list[str] | None = None,
    step: str | int = "final",
    where: list[str] | None = None,
    ema: str = "rows",
    baseline: str | None = None,
    alpha: float | None = None,
    sort: str | None = None,
    references: str = "auto",
    budget: str | None = None,
) -> Report:
    """The report ``ganbench report`` prints and writes, of a results folder (or of
    :class:`Results` already read), as a :class:`ganbench.report.document.Report`: its
    ``summary`` table, published numbers (``references``), ``budget`` curves and ``warnings``,
    rendered by ``.text(fmt)`` (table, markdown, csv, json) and written by ``.write(html=...,
    plots=..., plot_format=..., animate=...)`` (the HTML page, figure files, animations).
    ``ganbench.report(...)`` is this function (the package :mod:`ganbench.report` is callable).

    The options are the command's: ``metrics`` (names or globs), ``by`` (the columns that make a
    row), ``step`` ("final", "best" or a step number), ``where`` (``"KEY=VALUE"`` conditions),
    ``ema`` ("rows" or "columns"), ``baseline`` (a variant every other is compared with by a
    Welch t-test at level ``alpha``, default 0.05), ``sort``, ``references`` ("auto", "only",
    "off") and ``budget`` (a metric whose budget curves replace the summary in text).

    Raises:
        ganbench.errors.OptionError: a bad option value (the message names the option).
        ganbench.errors.ResultsError: no valid run under ``results``.
    """
    from ganbench.report.build import open_report

    return open_report(
        results,
        metrics=metrics,
        by=by,
        step=step,
        where=where,
        ema=ema,
        baseline=baseline,
        alpha=alpha,
        sort=sort,
        references=references,
        budget=budget,
    )


def mnist_features(images: np.ndarray, *, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Features and digit labels of MNIST-like images from the classifier shipped with ganbench
    (the feature space of ``fid_mnist_cnn``, KID, precision/recall and the class metrics):
    ``(features (N, 128) float32, labels (N,) int)`` for uint8 images (N, 28, 28) or float images
    in [-1, 1] of shape (N, 28, 28, 1). Feed them to :mod:`ganbench.metrics`: for example
    ``frechet_distance(features_real, features_fake)`` or ``class_coverage(labels, 10)``."""
    import numpy as np

    from ganbench.errors import DataError
    from ganbench.extractors import mnist_cnn
    from ganbench.extractors.classifier import shipped_classifier

    params, _, why = shipped_classifier()
    if params is None:
        raise DataError(f"the MNIST classifier shipped with ganbench cannot be used: {why}")
    features, logits = mnist_cnn.embed(params, images, batch=batch)
    return np.asarray(features), np.argmax(np.asarray(logits), axis=1)


def evaluate(samples: Any, ref: Any = None, **options: Any) -> EvalResult:
    """Evaluate anyone's samples against a reference, as ``ganbench eval`` does: FID/FD, KID,
    precision/recall, density/coverage in feature extractors' spaces (the class metrics of a
    classifier; the mode metrics of 2-D points against a mixture), with everything that makes the
    numbers comparable. ``samples`` and ``ref``: folders of images, ``.npy``/``.npz`` files,
    datasets (``"mnist:test"``, ``"ring8"``), ganbench run folders, arrays, or (samples only) a
    generator; ``ref`` may be a statistics file. Options: ``extractors``, ``weights``,
    ``resize``, ``metrics``, ``n``, ``n_ref``, ``seed``, ``value_range``, ``quantize``, ``step``,
    ``ema``, ``save_stats_to``, ``use_cache``, ``settings``, ``log``
    (:func:`ganbench.evaluation.core.evaluate` documents each).

    >>> import numpy as np, ganbench
    >>> from ganbench.data import get_dataset
    >>> on_the_modes = np.repeat(get_dataset("ring8").means_array(), 10, axis=0)
    >>> result = ganbench.evaluate(on_the_modes, "ring8", metrics=["modes", "hq_fraction"])
    >>> result.as_dict()["modes"], result.as_dict()["hq_fraction"]
    (8.0, 1.0)

    Raises:
        ganbench.errors.ConfigError: an unknown extractor, metric, dataset or option value.
        ganbench.errors.DataError: an input that cannot be read (named in the message).
    """
    from ganbench.evaluation import evaluate as run

    return run(samples, ref, **options)


def register_loss(
    name: str, *, help: str, knobs: Mapping[str, Any] | None = None
) -> Callable[[Callable], Callable]:
    """A decorator that adds a GAN objective under ``name`` for suites to use (``loss =
    "name"``): a function ``(d_real, d_fake) -> LossOutput`` of the discriminator's outputs on
    real and generated batches (see :mod:`ganbench.objectives.losses`, whose losses are
    registered the same way); ``knobs`` declare its tunable keyword arguments."""
    from ganbench.objectives.losses import register

    return register(name, help=help, knobs=dict(knobs) if knobs else None)


def register_network(
    name: str,
    *,
    help: str,
    generator: Callable[..., Any] | None = None,
    discriminator: Callable[..., Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    images: bool = False,
    train_flag: bool = False,
    batch_norm: bool = False,
    d_batch_stats: bool = False,
    check_shape: Callable[[tuple[int, ...]], str | None] | None = None,
) -> None:
    """Add an architecture under ``name`` for suites to use (``generator = { arch = "name",
    <settings> }``), as the built-in networks are registered (:mod:`ganbench.models.archs`).

    ``generator`` and ``discriminator`` (either may be omitted: a network for one player) are
    builders ``(cfg, shape) -> flax.linen.Module``: ``cfg`` is the network table (its settings
    as ``cfg.setting("name")``, the common ones also as attributes: ``cfg.channels``),
    ``shape`` one sample's shape (the generator's output; the discriminator's packed input).
    The modules follow the network protocol of the docs ("Networks of your own"): a generator
    maps latent codes (N, z_dim) to (N, *shape); a discriminator maps (N, *shape) to logits
    (N, 1); with ``train_flag`` both take a keyword ``train`` (dropout draws from the
    ``"dropout"`` rng stream); ``batch_norm``: the generator keeps running averages in its
    ``batch_stats`` collection; a discriminator with ``flax.linen.SpectralNorm`` layers takes
    ``update_stats`` and keeps the power-iteration vectors in ``batch_stats``;
    ``d_batch_stats``: the discriminator normalises with the batch it is given (real and
    generated batches then go through it apart, and gradient penalties are refused).

    ``settings`` declares the keys a network table may set besides ``arch``: a mapping from
    name to a :class:`ganbench.models.archs.Setting` or to its fields as a dict (``help``,
    and for a setting of its own ``kind`` (int, float, bool or str), ``default``, optional
    ``low``, ``high``, ``choices``, ``roles``). ``images``: the network makes or judges
    (H, W, C) images; ``check_shape(shape)`` returns why it cannot handle samples of that
    shape, or None.

    Raises:
        ganbench.errors.ConfigError: an invalid name, a name already registered, a builder
            that is not callable, or a malformed setting (exit 2 from the CLI).
    """
    import inspect

    from ganbench.models.archs import register_plugin_arch

    caller = inspect.currentframe()
    module = caller.f_back.f_globals.get("__name__", "") if caller and caller.f_back else ""
    register_plugin_arch(
        name,
        help=help,
        generator=generator,
        discriminator=discriminator,
        settings=settings,
        images=images,
        train_flag=train_flag,
        batch_norm=batch_norm,
        d_batch_stats=d_batch_stats,
        check_shape=check_shape,
        module=str(module),
    )


def register_dataset(name: str, factory: Callable[[], Any], *, help: str) -> None:
    """Add a dataset under ``name`` for suites to use (``dataset = "name"``): ``factory()``
    returns an object with the :class:`ganbench.data.base.Dataset` protocol, for instance a
    :class:`ganbench.data.GaussianMixture` (whose mode metrics then work as for ring8)."""
    from ganbench.data.base import DATASETS

    DATASETS.add(name, factory, help=help)


__all__ = [
    "SuiteSource",
    "evaluate",
    "load",
    "load_suite",
    "mnist_features",
    "plan",
    "register_dataset",
    "register_loss",
    "register_network",
    "report",
    "run_plan",
    "run_suite",
    "suite_results",
    "summarize",
]
