"""Compile a group: build its program, stack its runs' hyperparameters, shard them over the
devices, and compile init, chunk, evaluate and the spectrum functions."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ganbench.config.expand import hparams_of, structure_of
from ganbench.config.schema import MAX_DENSE_SPECTRUM
from ganbench.diagnostics.images import HEATMAP_SIZE
from ganbench.errors import GanbenchError
from ganbench.run.plan import Group, dataset_of
from ganbench.train import threefry
from ganbench.train.engine import Program, merge_chunk_stats
from ganbench.train.state import hparams_axes


@dataclass
class CompiledGroup:
    """A group's program compiled for its runs, with the runs' initial state on the devices."""

    program: Any
    n_devices: int
    seeds: Any  # (R_padded,) int32, sharded over the run axis
    hparams: Any  # Hparams with (R_padded,) leaves, sharded
    state: Any  # TrainState with (R_padded, ...) leaves, sharded
    chunk: Any  # compiled: (state, hparams, data) -> (state, ChunkStats); donates state
    evaluate: Any  # compiled: (state, seeds, data, datasets) -> {"fake", "real"[, "ema"]}
    compile_seconds: float
    jacobian: Any = None  # compiled: (state, hparams, seeds, data) -> (R, P, P) (dense)
    jvp: Any = None  # compiled: (state, hparams, seeds, (R, P), data) -> (R, P) (iterative)
    data: Any = None  # the dataset's arrays on the devices (images), or None
    exact: bool = False  # runs looped over per device (map_runs), not vectorised


CPU_IMAGE_SUBCHUNK = 10
"""Steps per loop-free sub-chunk of image programs on CPU (see ``Program.sub_chunked``)."""


def _stack(trees: list):
    import jax

    return jax.tree.map(lambda *xs: np.stack(xs), *trees)


def _device_count(n_runs: int, devices: list) -> int:
    return max(1, min(len(devices), n_runs))


def _sub_chunks(chunk, n: int, steps: int):
    """A chunk function that runs ``n`` compiled sub-chunks and merges their statistics."""

    def run(state, hparams, data):
        parts = []
        for _ in range(n):
            state, stats = chunk(state, hparams, data)
            parts.append(stats)
        return state, merge_chunk_stats(parts, steps)

    return run


class _Mark:
    """Where an argument's subtree goes in :func:`map_runs`: mapped (index into the mapped
    list) or shared (index into the shared list)."""

    def __init__(self, mapped: bool, index: int) -> None:
        self.mapped, self.index = mapped, index


def map_runs(fn, in_axes):
    """Like ``jax.vmap(fn, in_axes)`` with in_axes 0 or None, but a ``lax.map``: one run at a
    time, so each run is computed by the same compiled body whatever the number of runs beside
    it (a vmapped program's float rounding can depend on the batch of runs)."""
    import jax

    def run(*args):
        mapped, shared = [], []

        def split(ax, sub):
            target = shared if ax is None else mapped
            target.append(sub)
            return _Mark(ax is not None, len(target) - 1)

        marks = jax.tree.map(split, tuple(in_axes), tuple(args), is_leaf=lambda x: x is None)

        def body(ms):
            def join(mark):
                return ms[mark.index] if mark.mapped else shared[mark.index]

            return fn(*jax.tree.map(join, marks, is_leaf=lambda x: isinstance(x, _Mark)))

        return jax.lax.map(body, mapped)

    return run


def compile_group(group: Group, *, devices: list, exact: bool = False) -> CompiledGroup:
    """Compile a group's init, chunk and evaluate for its runs and initialise them.

    The run axis is padded to a multiple of the device count (the last run repeated) and
    sharded over ``devices``; padded runs are trained and ignored. With ``exact``, each device
    loops over its runs (:func:`map_runs`) instead of vectorising them, so that a run's numbers
    do not depend on its group or the device count.
    """
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    if devices[0].platform == "cpu":
        threefry.unroll_on_cpu()  # the same random bits; compiles and runs faster on CPU
    spec0 = group.runs[0]
    program = Program(
        structure_of(spec0.config),
        eval_every=spec0.eval_every,
        samples=spec0.metrics.samples,
        layer_grads=spec0.metrics.layer_grads,
        heatmap=HEATMAP_SIZE if spec0.metrics.snapshots else 0,
        datasets=group.datasets,
    )
    if spec0.metrics.spectrum == "dense" and program.n_params > MAX_DENSE_SPECTRUM:
        raise GanbenchError(
            f"metrics.spectrum = 'dense' builds the {program.n_params} x {program.n_params} "
            f"Jacobian of this group's game; at most {MAX_DENSE_SPECTRUM} parameters are allowed "
            "(use smaller networks, or spectrum = 'off')"
        )
    n_dev = _device_count(len(group.runs), devices)
    n_pad = math.ceil(len(group.runs) / n_dev) * n_dev
    padded = group.runs + [group.runs[-1]] * (n_pad - len(group.runs))
    mesh = Mesh(np.array(devices[:n_dev]), ("runs",))
    shard = NamedSharding(mesh, PartitionSpec("runs"))

    seeds = jax.device_put(np.array([r.seed for r in padded], np.int32), shard)
    hparams = _stack(
        [
            hparams_of(r.config, r.steps)._replace(
                dataset=np.int32(program.dataset_index(dataset_of(r)))
            )
            for r in padded
        ]
    )
    hparams = jax.device_put(hparams, shard)
    data = None
    n_sub = 1
    if program.image and devices[0].platform == "cpu":
        sub = math.gcd(spec0.eval_every, CPU_IMAGE_SUBCHUNK)
        program = program.sub_chunked(sub)
        n_sub = spec0.eval_every // sub
    if program.image:
        # The images, once per device, shared by every run (not stacked, not embedded).
        replicated = NamedSharding(mesh, PartitionSpec())
        data = jax.device_put(program.dataset.arrays(), replicated)
    axes = hparams_axes()
    runs, same = PartitionSpec("runs"), PartitionSpec()
    hp_specs = jax.tree.map(lambda _: runs, hparams)
    data_spec = None if data is None else same

    def per_device(fn, in_specs):
        """Image programs and exact runs: each device maps its own runs (shard_map), so nothing
        crosses devices. Exact runs need it (a lax.map over a sharded axis cannot be split).
        For images, under plain sharding XLA gathers around the batched image lookups
        (measured: 1260 all-gathers in a 10-step DCGAN chunk), which both slows the loop and
        can exceed XLA:CPU's rendezvous timeout on a loaded machine."""
        if data is None and not exact:
            return fn
        return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=runs)

    batched = map_runs if exact else (lambda fn, in_axes: jax.vmap(fn, in_axes=in_axes))

    t0 = time.perf_counter()
    # Each device initialises its own runs (shard_map), whatever the program: initialisation
    # needs nothing from other runs, and left to the SPMD partitioner a batched decomposition
    # (the QR of weight_init = "orthogonal:...") is gathered across devices, which deadlocked
    # XLA:CPU's host devices (3 runs on 2 devices hung at 0% CPU). Values are the same: every
    # run draws from its own key.
    init_fn = batched(program.init, (0, axes))
    if n_dev > 1:
        init_fn = jax.shard_map(init_fn, mesh=mesh, in_specs=(runs, hp_specs), out_specs=runs)
    init = jax.jit(init_fn, out_shardings=shard).lower(seeds, hparams).compile()
    state = init(seeds, hparams)
    chunk = (
        jax.jit(
            per_device(batched(program.chunk, (0, axes, None)), (runs, hp_specs, data_spec)),
            donate_argnums=0,
            out_shardings=shard,
        )
        .lower(state, hparams, data)
        .compile()
    )
    if n_sub > 1:
        chunk = _sub_chunks(chunk, n_sub, program.chunk_steps)
    evaluate = (
        jax.jit(
            per_device(
                batched(program.evaluate, (0, 0, None, 0)),
                (runs, runs, data_spec, runs),
            )
        )
        .lower(state, seeds, data, hparams.dataset)
        .compile()
    )
    jacobian = jvp = None
    if program.trace or spec0.metrics.spectrum == "dense":
        jacobian = (
            jax.jit(
                per_device(
                    batched(program.jacobian, (0, axes, 0, None)), (runs, hp_specs, runs, data_spec)
                )
                if exact
                else jax.vmap(program.jacobian, in_axes=(0, axes, 0, None))
            )
            .lower(state, hparams, seeds, data)
            .compile()
        )
    elif spec0.metrics.spectrum == "iterative":
        tangents = np.zeros((len(padded), program.n_params), np.float32)
        jvp = (
            jax.jit(
                per_device(
                    batched(program.jvp, (0, axes, 0, 0, None)),
                    (runs, hp_specs, runs, runs, data_spec),
                )
                if exact
                else jax.vmap(program.jvp, in_axes=(0, axes, 0, 0, None))
            )
            .lower(state, hparams, seeds, tangents, data)
            .compile()
        )
    return CompiledGroup(
        exact=exact,
        data=data,
        jacobian=jacobian,
        jvp=jvp,
        program=program,
        n_devices=n_dev,
        seeds=seeds,
        hparams=hparams,
        state=state,
        chunk=chunk,
        evaluate=evaluate,
        compile_seconds=time.perf_counter() - t0,
    )
