"""Chance and data rows: what generators that learned nothing about the modes score.

A 2-D mixture benchmark reads as a result only when it beats a generator that knows nothing of
the modes. Beside every 2-D suite's runs, ``ganbench run`` writes baseline rows that train
nothing, measured with the runs' own evaluation (:func:`ganbench.diagnostics.samples.evaluate_samples`,
so the definitions cannot drift) at the evaluation's sample count:

- ``data: real samples``: a second draw of the real data, the ceiling at this sample count (not
  a chance row: it is never the bar a variant must clear);
- ``chance: uniform box``: uniform over the data's bounding box (:func:`uniform_box`);
- ``chance: data Gaussian``: a Gaussian with the mixture's exact mean and covariance
  (:func:`gaussian_moments`).

Stacked MNIST gets ``data: uniform digit triples``: N triples drawn uniformly from the 1000, the
class metrics of the data itself (its three channels are independent uniform digits; Metz et al.
2017, section 3.3.2, and VEEGAN, Table 2, count modes over these 1000), so also of a perfect
generator: the ceiling at this sample count, like ``data: real samples``, never the bar a variant
must clear (a generator's triples can only be as uniform as the data's).

Each row is estimated from :data:`DRAWS` independent draws, whatever the suite's seeds: it trains
nothing, so the draws cost seconds, and its mean is then the row's expectation to within a
twentieth of one draw's spread (the standard error sd / sqrt(400)), negligible beside a
variant's seed noise. Drawn with the suite's few seeds instead (3 or 4), a row's mean carried
their noise: on grid25 the uniform box read 21.0 ± 2.4 modes at 4 seeds where its expectation
at 2,500 samples is 23.1 (25 modes each hit with probability 1 - (1 - p)^2500, p the area of a
disc of radius 3 std over the box's), and every 4-seed suite shared that offset, since each row
reused its draws across datasets. The report shows a row's mean over the draws and the spread
of a single draw (the sample standard deviation over the draws), which is what one seed of a
variant is compared with; the near-chance test (:mod:`ganbench.report.chance`) then compares a
variant's seeds with an expectation known to a small fraction of its own noise.

Draw ``d`` of a row draws from ``numpy.random.default_rng([tag, d])`` (a fixed tag per row)
and is measured against its own real set, ``default_rng([0, d])``, so draws are independent
evaluations and each value is reproducible (draws 0-3 are the four seeds of earlier releases).
One run folder holds all draws of a row (metrics.parquet's ``draw`` column; the reader reads
one run per draw, :data:`ganbench.results.layout.DRAW`).

A row's draws are a pure function of what it measures (the row, the dataset, the sample count,
the ``[metrics]`` settings and the metric definitions), so a process remembers the last few it
drew (:func:`drawn`): a notebook or a test session that runs several suites on one dataset
draws each row once (its 400 evaluations took 0.2 s at 200 samples on ring8, 0.8 s on ring8
and 2 s on grid25 at 2,500, on a 2-core CPU).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from ganbench.data import IMAGE, MIXTURE, get_dataset
from ganbench.diagnostics.samples import evaluate_samples
from ganbench.metrics import names as M
from ganbench.metrics.catalog import computed_from_samples

DATA_REAL = M.DATA_PREFIX + "real samples"
UNIFORM_BOX = M.CHANCE_PREFIX + "uniform box"
DATA_GAUSSIAN = M.CHANCE_PREFIX + "data Gaussian"
DATA_TRIPLES = M.DATA_PREFIX + "uniform digit triples"

MIXTURE_ROWS = (DATA_REAL, UNIFORM_BOX, DATA_GAUSSIAN)
"""The reference variants written beside a suite on a mixture of Gaussians, in report order."""

BOX_STDS = 3.0
"""The uniform box spans the modes' means widened by this many standard deviations: the
smallest axis-aligned box that holds every mode's high-quality region at the protocol's
threshold (3 std; VEEGAN section 5.1, PacGAN's code). A fixed property of the dataset, not of
a suite's ``hq_threshold``, so every suite of a dataset shares one box."""

DRAWS = 400
"""Independent draws behind every data and chance row."""

_TAGS = {DATA_REAL: 1, UNIFORM_BOX: 2, DATA_GAUSSIAN: 3, DATA_TRIPLES: 4}
"""The first word of each row's random key (seed is the second): rows draw independently."""


def rng(variant: str, seed: int) -> np.random.Generator:
    """The generator a baseline row's seed ``seed`` draws with."""
    return np.random.default_rng([_TAGS[variant], int(seed)])


def uniform_box(dataset) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` per axis: the means' minimum and maximum widened by :data:`BOX_STDS`
    times the largest standard deviation along that axis (grid25: [-4.15, 4.15]^2; ring8:
    [-1.03, 1.03]^2). Independent of the mode weights."""
    means, stds = dataset.means_array(), dataset.stds_array()
    widen = BOX_STDS * stds.max(axis=0)
    return means.min(axis=0) - widen, means.max(axis=0) + widen


def gaussian_moments(dataset) -> tuple[np.ndarray, np.ndarray]:
    """The mixture's exact mean and covariance: mean = sum_k w_k mu_k and
    cov = sum_k w_k (diag(sigma_k^2) + mu_k mu_k^T) - mean mean^T (law of total covariance)."""
    w = dataset.weights_array() / dataset.weights_array().sum()
    mu, sd = dataset.means_array(), dataset.stds_array()
    mean = w @ mu
    second = np.einsum("k,ki,kj->ij", w, mu, mu) + np.diag(w @ (sd * sd))
    return mean, second - np.outer(mean, mean)


def mixture_samples(variant: str, dataset, n: int, seed: int) -> np.ndarray:
    """``n`` samples (float32, as a generator's) of one baseline row of a mixture."""
    gen = rng(variant, seed)
    if variant == DATA_REAL:
        x = dataset.sample_numpy(gen, n)
    elif variant == UNIFORM_BOX:
        low, high = uniform_box(dataset)
        x = gen.uniform(low, high, size=(n, dataset.dim))
    elif variant == DATA_GAUSSIAN:
        mean, cov = gaussian_moments(dataset)
        x = gen.multivariate_normal(mean, cov, size=n, method="eigh")
    else:
        raise ValueError(f"unknown mixture baseline row {variant!r}; known: {MIXTURE_ROWS}")
    return np.asarray(x, np.float32)


def real_samples(dataset, n: int, seed: int) -> np.ndarray:
    """The real set every baseline row of seed ``seed`` is measured against (FD needs one),
    drawn apart from the row's own samples."""
    return np.asarray(dataset.sample_numpy(np.random.default_rng([0, int(seed)]), n), np.float32)


def mixture_rows(dataset, metrics, n: int, seed: int) -> dict[str, list[tuple]]:
    """The (metric, value, n_real, n_fake) rows of every mixture baseline row at one seed,
    by variant name, measured as a run's samples are (:func:`evaluate_samples`)."""
    real = real_samples(dataset, n, seed)
    return {
        v: evaluate_samples(mixture_samples(v, dataset, n, seed), real, dataset, metrics)
        for v in MIXTURE_ROWS
    }


def uniform_triples(n: int, seed: int, channels: int = 3) -> np.ndarray:
    """``n`` digit tuples (n, channels), each digit uniform on 0..9: every one of the
    10**channels modes equally likely."""
    return rng(DATA_TRIPLES, seed).integers(0, 10, size=(n, channels))


def triple_rows(n: int, seed: int, channels: int = 3) -> list[tuple]:
    """``classes`` and ``class_kl`` of :func:`uniform_triples`, computed as the image
    evaluator computes them from the classifier's digits (:func:`ganbench.metrics.stacked_modes`);
    the feature-space metrics (FID, KID) have no meaning here and are left out."""
    from ganbench.metrics import stacked_modes

    modes = stacked_modes(uniform_triples(n, seed, channels), n_digits=channels)
    return [(M.CLASSES, float(modes["modes"]), None, n), (M.CLASS_KL, float(modes["kl"]), None, n)]


def expected_classes(n: int, k: int = 1000) -> float:
    """Expected number of distinct modes among ``n`` uniform draws from ``k``:
    k (1 - (1 - 1/k)^n)."""
    return k * (1.0 - (1.0 - 1.0 / k) ** n)


# --------------------------------------------------------------------------- one suite's rows

IMAGE_ROWS = (DATA_TRIPLES,)
"""The reference variants written beside a suite on stacked digits (Stacked MNIST)."""

DATA_GRID_KEYS = ("dataset", "weights")
"""Grid keys that change the data: a baseline row carries those of its suite's grid point, so
the report puts it beside the runs of the same data (other grid keys are left empty)."""


@dataclass(frozen=True)
class BaselineRun:
    """One baseline row of one data set (:data:`DRAWS` draws): what it measures and where it
    is written."""

    run_id: str
    suite: str
    variant: str
    grid_point: dict[str, Any]
    dataset: Any
    weights: Any
    steps: int
    metrics: Any
    """The suite's ``[metrics]`` section (samples, hq_threshold, min_count)."""
    profile: str | None = None
    """The suite profile of the runs beside which the row stands (None: the suite as written);
    each profile's runs get their own rows, as they get their own MNIST floor."""
    draws: int = DRAWS
    legacy_ids: tuple[str, ...] = ()
    """Run ids this row had when it was drawn once per seed of the suite (releases before
    :data:`DRAWS`): the writer removes those folders, which the draws replace."""

    def rows(self) -> tuple[list[tuple], np.ndarray | None]:
        """``(rows, samples)``: the (step, metric, value, n_real, n_fake, draw) rows of every
        draw at the suite's final step, and the first draw's samples (mixtures, read-only;
        None for digit triples)."""
        found, first = drawn(self.variant, self.dataset, self.metrics, self.draws)
        return [(self.steps, *row) for row in found], first

    def manifest(self) -> dict[str, Any]:
        """The manifest fields that say what this row is (the runner adds status and timing)."""
        if self.variant == UNIFORM_BOX:
            described = (
                f"uniform over {_box_text(self.dataset)} (the means widened by {BOX_STDS:g} std)"
            )
        else:
            described = {
                DATA_REAL: "a second draw of the real data",
                DATA_GAUSSIAN: "a Gaussian with the data's exact mean and covariance",
                DATA_TRIPLES: "digit triples drawn uniformly from the 1000 (the data's own)",
            }[self.variant]
        protocol = {"samples": self.metrics.samples, "steps": self.steps, "draws": self.draws}
        if self.variant not in IMAGE_ROWS:
            protocol.update(
                hq_threshold=self.metrics.hq_threshold, min_count=self.metrics.min_count
            )
        return {
            "run_id": self.run_id,
            "suite": self.suite,
            "variant": self.variant,
            "seed": 0,
            "grid_point": dict(self.grid_point),
            "profile": self.profile,
            "config": {
                "dataset": self.dataset.name,
                "weights": self.weights,
                "reference": f"{described}; {self.draws} independent draws",
            },
            "protocol": protocol,
            "dataset": self.dataset.describe(),
        }


REMEMBERED = 16
"""How many rows' draws :func:`drawn` keeps (each a few hundred kB at most)."""

_drawn_rows: OrderedDict[tuple, tuple[tuple[tuple, ...], np.ndarray | None]] = OrderedDict()


def drawn(
    variant: str, dataset, metrics, draws: int = DRAWS
) -> tuple[tuple[tuple, ...], np.ndarray | None]:
    """The (metric, value, n_real, n_fake, draw) rows of ``draws`` draws of one baseline row,
    and the first draw's samples (mixtures; None for digit triples), each draw measured as a
    run's samples are (:func:`evaluate_samples`).

    Remembered for the last :data:`REMEMBERED` rows, keyed by everything the values depend on:
    the row, the dataset (its value: means, deviations, weights), the ``[metrics]`` settings
    and the metric entries that compute them. A dataset or settings that cannot be keyed are
    drawn again each time."""
    n = metrics.samples
    if variant in IMAGE_ROWS:
        key: tuple | None = (variant, dataset.channels, n, draws)
    else:
        dump = getattr(metrics, "model_dump_json", None)
        key = None if dump is None else (
            variant, type(dataset), dataset, dump(), draws, computed_from_samples(dataset.kind)
        )  # fmt: skip
    try:
        hash(key)
    except TypeError:  # a dataset that is not a frozen value
        key = None
    if key is not None and key in _drawn_rows:
        _drawn_rows.move_to_end(key)
        return _drawn_rows[key]
    rows: list[tuple] = []
    first = None
    for draw in range(draws):
        if variant in IMAGE_ROWS:
            found = triple_rows(n, draw, dataset.channels)
        else:
            fake = mixture_samples(variant, dataset, n, draw)
            found = evaluate_samples(fake, real_samples(dataset, n, draw), dataset, metrics)
            if first is None:
                first = fake
                first.setflags(write=False)
        rows += [(*row, draw) for row in found]
    result = (tuple(rows), first)
    if key is not None:
        _drawn_rows[key] = result
        while len(_drawn_rows) > REMEMBERED:
            _drawn_rows.popitem(last=False)
    return result


def _box_text(dataset) -> str:
    low, high = uniform_box(dataset)
    return " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in zip(low, high, strict=True))


def baseline_runs(runs) -> list[BaselineRun]:
    """The baseline rows beside a suite's runs (:class:`ganbench.config.RunSpec` list): one per
    row and set (dataset with its weights, data grid keys, sample count, steps, mode
    thresholds) of the suite, each of :data:`DRAWS` draws. Mixtures of Gaussians get
    :data:`MIXTURE_ROWS`, stacked digits :data:`IMAGE_ROWS`; other datasets none.

    When variants of one grid point set different ``weights`` (outside the grid), each set
    carries its weights as a ``weights`` grid value, so the report keeps them apart.

    Run ids hash what the row measures (variant, dataset, protocol, draws) behind the prefix
    ``data-`` or ``chance-``: stable across runs of the suite, and never a training run's id
    (12 hexadecimal digits)."""
    # Variants that set different weights on one dataset (not through the grid) would put
    # different data under one report row: their rows then carry the weights as a grid value.
    settings: dict[tuple, set[str]] = {}
    for spec in runs:
        if "weights" not in spec.grid_point:
            where = (spec.config.dataset, json.dumps(spec.grid_point, sort_keys=True, default=str))
            settings.setdefault(where, set()).add(json.dumps(spec.config.weights))
    sets: dict[str, dict[str, Any]] = {}
    for spec in runs:
        dataset = get_dataset(spec.config.dataset, spec.config.weights)
        if dataset.kind == MIXTURE:
            variants = MIXTURE_ROWS
            thresholds = (spec.metrics.hq_threshold, spec.metrics.min_count)
        elif dataset.kind == IMAGE and getattr(dataset, "stacked", False):
            variants, thresholds = IMAGE_ROWS, ()
        else:
            continue
        point = {k: spec.grid_point[k] for k in DATA_GRID_KEYS if k in spec.grid_point}
        where = (spec.config.dataset, json.dumps(spec.grid_point, sort_keys=True, default=str))
        if len(settings.get(where, ())) > 1:
            point["weights"] = spec.config.weights
        identity = {
            "dataset": dataset.describe(),
            "samples": spec.metrics.samples,
            "steps": spec.steps,
            "thresholds": list(thresholds),
            "grid_point": point,
        }
        if spec.profile is not None:  # left out without a profile, so those ids stay
            identity["profile"] = spec.profile
        key = json.dumps(identity, sort_keys=True, default=str)
        entry = sets.setdefault(
            key,
            {
                "spec": spec,
                "dataset": dataset,
                "identity": identity,
                "point": point,
                "variants": variants,
                "seeds": set(),
            },
        )
        entry["seeds"].add(spec.seed)
    out = []
    for entry in sets.values():
        spec = entry["spec"]
        for variant in entry["variants"]:
            prefix = "data-" if variant.startswith(M.DATA_PREFIX) else "chance-"
            out.append(
                BaselineRun(
                    run_id=prefix
                    + _digest({**entry["identity"], "variant": variant, "draws": DRAWS}),
                    suite=spec.suite,
                    variant=variant,
                    grid_point=entry["point"],
                    dataset=entry["dataset"],
                    weights=spec.config.weights,
                    steps=spec.steps,
                    metrics=spec.metrics,
                    profile=spec.profile,
                    legacy_ids=tuple(
                        prefix + _digest({**entry["identity"], "variant": variant, "seed": seed})
                        for seed in sorted(entry["seeds"])
                    ),
                )
            )
    return out


def _digest(identity: dict[str, Any]) -> str:
    blob = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]
