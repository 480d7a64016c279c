"""Baseline runs written beside a suite's runs: the data floor of image suites (MNIST train vs
test, or two independent draws of a stored image dataset), and the data and chance rows of 2-D
and Stacked MNIST suites."""

from __future__ import annotations

import hashlib
import json
import shutil
import time

import numpy as np

from ganbench.data import get_dataset
from ganbench.data.mnist import load_mnist
from ganbench.diagnostics.chance import baseline_runs
from ganbench.fileio import read_bounded
from ganbench.metrics import names as M
from ganbench.results.claims import Claim, ClaimBook
from ganbench.results.layout import MANIFEST, MAX_MANIFEST_BYTES
from ganbench.results.write import is_finished, run_dir, write_run
from ganbench.run.plan import Group, Plan
from ganbench.run.record import extractor_info, inception_key, manifest, now

FLOOR_VARIANT = M.FLOOR_PREFIX + "MNIST train vs test"
"""The variant name of the baseline rows of image suites (see :func:`write_floor`)."""


def floor_variant(dataset) -> str:
    """The floor row's variant name: MNIST's (:data:`FLOOR_VARIANT`) or, for stored image data,
    ``floor: <dataset> train vs test`` (two splits) or ``floor: <dataset> half vs half``."""
    if getattr(dataset, "extractor", None) == "mnist_cnn":
        return FLOOR_VARIANT
    pair = "train vs test" if len(dataset.splits) > 1 else "half vs half"
    return f"{M.FLOOR_PREFIX}{dataset.name} {pair}"


def write_floor(plan: Plan, group: Group, evaluator, env: dict, book: ClaimBook) -> None:
    """The image metrics between two independent draws of real images of the evaluation's size
    (MNIST train and test; for stored image data, :meth:`floor_pair`: train and test, or two
    disjoint halves of a folder), as a baseline run (variant :func:`floor_variant`) beside the
    suite's runs, once per dataset and sample count: what a generator that reproduces the data
    would score. Nothing is written when no metric measures the data (no classifier of them and
    no Inception weights). Written under a claim on its run id: another process that holds it
    is writing the same rows."""

    spec = group.runs[0]
    dataset = get_dataset(spec.config.dataset)
    if not any(evaluator.applies(m, dataset) for m in evaluator.models):
        return
    n = spec.metrics.samples
    key = f"floor|{dataset.name}|{n}|{spec.steps}" + inception_key(evaluator)
    if (data := dataset.identity_data()) is not None:
        key += f"|data:{data}"
    if spec.profile is not None:  # each profile's rows carry their own floor
        key += f"|profile:{spec.profile}"
    run_id = "floor-" + hashlib.sha256(key.encode()).hexdigest()[:10]
    with book.planning():
        claims, _ = book.claim([run_id])
    if claims is None:
        return
    with claims:
        if not is_finished(run_dir(plan.out, spec.suite, run_id)):
            _write_floor(plan, spec, dataset, n, run_id, evaluator, env)


def _write_floor(plan: Plan, spec, dataset, n: int, run_id: str, evaluator, env: dict) -> None:
    started = now()
    t0 = time.perf_counter()
    if getattr(dataset, "extractor", None) == "mnist_cnn":
        images = {"train": load_mnist("train")[0], "test": load_mnist("test")[0]}
        found = evaluator.floor_rows(images, n, dataset.channels, dataset)
        reference = "MNIST train vs MNIST test"
    else:
        first, second = dataset.floor_pair(n, seed=0)
        real = first.astype(np.float32) / 127.5 - 1.0
        found = evaluator.rows(second.astype(np.float32) / 127.5 - 1.0, real, dataset)
        reference = floor_variant(dataset).removeprefix(M.FLOOR_PREFIX)
    rows = [(spec.steps, m, v, nr, nf) for m, v, nr, nf in found]
    identity = {
        "run_id": run_id,
        "suite": spec.suite,
        "variant": floor_variant(dataset),
        "seed": 0,
        "profile": spec.profile,
        "grid_point": {"dataset": dataset.name} if "dataset" in spec.grid_point else {},
        "config": {"dataset": dataset.name, "reference": reference},
        "protocol": {"samples": n, "steps": spec.steps},
        "dataset": dataset.describe(),
        "extractor": extractor_info(evaluator),
    }
    timing = {"wall_seconds": time.perf_counter() - t0}
    done = manifest(identity, step=spec.steps, timing=timing, started=started, env=env)
    write_run(plan.out, spec.suite, run_id, done, rows, {"final": np.zeros((0, 0))})


def write_chance_rows(plan: Plan, env: dict) -> None:
    """The data and chance rows beside the suite's 2-D and Stacked MNIST runs
    (:mod:`ganbench.diagnostics.chance`): baseline runs that train nothing, each estimated
    from :data:`ganbench.diagnostics.chance.DRAWS` draws at the suite's final step; finished
    ones are kept unless ``plan.force``. Writing a row removes the folders the same row had
    when it was drawn once per seed (earlier releases), which it replaces. One process of a
    multi-process run writes them (the others find them claimed, then finished)."""

    todo = [
        ref
        for ref in baseline_runs(plan.suite.runs)
        if plan.force
        or not is_finished(run_dir(plan.out, ref.suite, ref.run_id))
        or _legacy(plan, ref)
    ]
    claim = Claim(plan.suite_folder, "references")
    if not todo or not claim.acquire():
        return
    with claim:
        for ref in todo:
            if plan.force or not is_finished(run_dir(plan.out, ref.suite, ref.run_id)):
                started, t0 = now(), time.perf_counter()
                rows, samples = ref.rows()
                timing = {"wall_seconds": time.perf_counter() - t0}
                done = manifest(
                    ref.manifest(), step=ref.steps, timing=timing, started=started, env=env
                )
                final = samples if samples is not None else np.zeros((0, 0), np.float32)
                write_run(plan.out, ref.suite, ref.run_id, done, rows, {"final": final})
            for folder in _legacy(plan, ref):
                shutil.rmtree(folder, ignore_errors=True)


def _legacy(plan: Plan, ref) -> list:
    """The folders of ``ref``'s row drawn once per seed (earlier releases) that exist: their
    ids are hashes of the same identity with a seed, and their manifests name the same row."""
    found = []
    for run_id in ref.legacy_ids:
        folder = run_dir(plan.out, ref.suite, run_id)
        try:
            recorded = json.loads(read_bounded(folder / MANIFEST, MAX_MANIFEST_BYTES))
        except (OSError, ValueError, RecursionError):
            continue
        if isinstance(recorded, dict) and recorded.get("variant") == ref.variant:
            found.append(folder)
    return found
