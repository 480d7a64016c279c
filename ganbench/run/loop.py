"""Train a group chunk by chunk: between chunks, check divergence, evaluate every live run's
samples, record spectra and snapshots, and checkpoint.

Python touches the device only between chunks: one call trains ``eval_every`` steps of every run
of a group, sharded over the local devices along the run axis."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ganbench.data import IMAGE
from ganbench.diagnostics.images import IMAGE_GRID, image_grid_png
from ganbench.diagnostics.samples import equilibrium_rows, evaluate_samples
from ganbench.diagnostics.spectra import iterative_spectra, jacobian_spectrum
from ganbench.metrics import names as M
from ganbench.run import checkpoint as cp
from ganbench.run.checkpoint import Checkpointing, checkpoint_header, resume
from ganbench.run.compile import compile_group
from ganbench.run.plan import Group, dataset_of
from ganbench.run.progress import Progress
from ganbench.run.record import RunRecord, chunk_info


def train_group(
    group: Group,
    *,
    devices: list,
    progress: Progress,
    evaluator=None,
    checkpointing: Checkpointing | None = None,
    exact: bool = False,
) -> tuple[list[RunRecord], dict[str, Any]]:
    """Train every run of a group; returns per-run records and group timing.

    With ``checkpointing``, the state and the records are saved at chunk boundaries (at most
    every ``every_seconds``) and a matching checkpoint is resumed from.
    """
    import jax

    ckpt = checkpointing or Checkpointing()
    spec0 = group.runs[0]
    t0 = time.perf_counter()
    compiled = compile_group(group, devices=devices, exact=exact)
    program, state, hparams, seeds = (
        compiled.program,
        compiled.state,
        compiled.hparams,
        compiled.seeds,
    )
    compiled.state = None  # donated to the first chunk: only the local name may hold it

    records = [RunRecord(spec) for spec in group.runs]
    if program.trace:
        initial = np.asarray(jax.device_get(jax.vmap(program.flat_params)(state)))
        for i, rec in enumerate(records):
            rec.trajectory.append(initial[i : i + 1])
    state, first = resume(group, compiled, state, records, ckpt, progress)
    if first:
        progress.advance(first * spec0.eval_every, "resumed")
    last_save = time.monotonic()
    datasets = [dataset_of(r.spec) for r in records]
    metrics = spec0.metrics
    snapshots = metrics.snapshots and program.dataset.dim == 2
    if program.image:
        warning = evaluator.sample_warning(
            metrics.samples, program.dataset.channels, program.dataset
        )
        if warning:
            progress.log(f"note: {warning}")
    n_chunks = spec0.steps // spec0.eval_every
    phase = {"train": 0.0, "evaluate": 0.0, "checkpoint": 0.0}
    for c in range(first, n_chunks):
        start = c * spec0.eval_every
        end = start + spec0.eval_every
        t_chunk = time.perf_counter()
        state, stats = compiled.chunk(state, hparams, compiled.data)
        jax.block_until_ready(stats)  # so the phases are timed apart
        t_eval = time.perf_counter()
        phase["train"] += t_eval - t_chunk
        samples = jax.device_get(compiled.evaluate(state, seeds, compiled.data, hparams.dataset))
        jacobians = (
            None
            if compiled.jacobian is None
            else np.asarray(compiled.jacobian(state, hparams, seeds, compiled.data))
        )
        ritz_rows = None
        if compiled.jvp is not None:
            ritz_rows = iterative_spectra(compiled, state, group.runs, spec0.metrics.spectrum_k)
        stats = jax.device_get(stats)
        for i, rec in enumerate(records):
            if rec.alive:
                record_evaluation(
                    rec, i, start, end, stats, samples, datasets[i], evaluator, snapshots,
                    ritz=None if ritz_rows is None else ritz_rows[i],
                    jacobian=None if jacobians is None else jacobians[i],
                    program=program,
                )  # fmt: skip
        phase["evaluate"] += time.perf_counter() - t_eval
        progress.advance(spec0.eval_every, chunk_info(records))
        if not any(r.alive for r in records):
            progress.log(f"every run of the group diverged by step {end}; stopping the group")
            break
        if (
            ckpt.path is not None
            and c + 1 < n_chunks
            and time.monotonic() - last_save >= ckpt.every_seconds
        ):
            t_save = time.perf_counter()
            cp.save(ckpt.path, checkpoint_header(group, compiled, c + 1), state, records)
            phase["checkpoint"] += time.perf_counter() - t_save
            last_save = time.monotonic()
    timing = {
        "compile_seconds": compiled.compile_seconds,
        "train_seconds": phase["train"],
        "evaluate_seconds": phase["evaluate"],
        "checkpoint_seconds": phase["checkpoint"],
        "wall_seconds": time.perf_counter() - t0,
        "group_runs": len(group.runs),
        "group_devices": compiled.n_devices,
        "exact_runs": exact,
    }
    return records, timing


def record_evaluation(
    rec: RunRecord,
    i: int,
    start: int,
    end: int,
    stats: Any,
    samples: dict[str, np.ndarray],
    dataset: Any,
    evaluator: Any,
    snapshots: bool,
    *,
    ritz: tuple[np.ndarray, list] | None = None,
    jacobian: np.ndarray | None = None,
    program: Any = None,
) -> None:
    """Record run ``i``'s chunk (steps ``start``..``end``) in ``rec``: its step statistics, then
    divergence (a non-finite step statistic or sample ends the run there), else the metric rows
    of its samples (and of its EMA generator's), the image grid, the Dirac-GAN's equilibrium
    rows, the spectrum (Ritz values ``ritz``, or the eigenvalues of the dense ``jacobian``,
    computed only for a run that is still going) and the snapshots."""
    for name, value in {**stats.mean, **stats.max}.items():
        rec.rows.append((end, name, float(value[i]), None, None))
    bad = int(stats.first_nonfinite[i])
    if stats.trajectory is not None:
        rec.trajectory.append(stats.trajectory[i][: bad if bad >= 0 else None])
    if bad >= 0:
        rec.diverge(start + bad + 1)
        return
    fake, real, ema = samples["fake"][i], samples["real"][i], samples.get("ema")
    if not np.all(np.isfinite(fake)):
        rec.diverge(end)
        return
    rec.step = end
    metrics = rec.spec.metrics
    rec.rows += [
        (end, m, v, nr, nf)
        for m, v, nr, nf in evaluate_samples(fake, real, dataset, metrics, evaluator)
    ]
    rec.final = fake
    if dataset.kind == IMAGE:
        rec.files[f"samples_step_{end}.png"] = image_grid_png(fake[:IMAGE_GRID])
    if stats.trajectory is not None:
        rec.rows += [(end, m, v, nr, nf) for m, v, nr, nf in equilibrium_rows(
            stats.trajectory[i][-1], dataset
        )]  # fmt: skip
    spectrum = ritz
    if spectrum is None and jacobian is not None:
        spectrum = jacobian_spectrum(jacobian, rec.spec.config, program)
    if spectrum is not None:
        rec.rows += [(end, m, v, None, None) for m, v in spectrum[1]]
        rec.snapshots[f"eigenvalues_step_{end}"] = spectrum[0].astype(np.complex64)
    if ema is not None:
        rec.rows += [
            (end, M.EMA_PREFIX + m, v, nr, nf)
            for m, v, nr, nf in evaluate_samples(ema[i], real, dataset, metrics, evaluator)
        ]
        rec.final_ema = ema[i]
    if snapshots:
        rec.snapshots[f"step_{end}"] = fake.astype(np.float32)
    if "d_grid" in samples:
        rec.snapshots[f"d_grid_step_{end}"] = samples["d_grid"][i].astype(np.float32)
        rec.snapshots["d_grid_extent"] = np.asarray(dataset.plot_extent(), np.float32)
