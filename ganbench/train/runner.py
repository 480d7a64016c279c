"""Run a suite: group runs by static structure, train each group as one compiled program,
evaluate between chunks, and write every run folder.

Python touches the device only between chunks: one call trains ``eval_every`` steps of every run
of a group, sharded over the local devices along the run axis.
"""

from __future__ import annotations

import functools
import hashlib
import math
import platform
import subprocess
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ganbench.config import RunSpec, Suite
from ganbench.config.schema import MAX_DENSE_SPECTRUM
from ganbench.diagnostics.samples import equilibrium_rows, evaluate_samples
from ganbench.errors import GanbenchError
from ganbench.metrics import names as M
from ganbench.results.claims import Claim
from ganbench.results.layout import COMPLETED, DIVERGED, FAILED, SCHEMA_VERSION, STATUSES
from ganbench.results.write import is_finished, run_dir, suite_dir, write_run, write_suite_file

# --------------------------------------------------------------------------- plan


@dataclass
class Group:
    """Runs trained together as one compiled program (same static structure)."""

    key: str
    runs: list[RunSpec]
    keep: set[str] = field(default_factory=set)
    """Run ids of the group that are already finished: trained again only so that the group's
    composition (and so its numbers) stays that of its checkpoint, and never rewritten."""

    @property
    def label(self) -> str:
        c = self.runs[0].config
        variants = sorted({r.variant for r in self.runs})
        extra = f" +{len(variants) - 1}" if len(variants) > 1 else ""
        return f"{variants[0]}{extra} · {self.dataset_names} · {c.loss} · {len(self.runs)} runs"

    @property
    def dataset_names(self) -> str:
        """The group's datasets, in order of first appearance, joined by "+"."""
        return "+".join(dict.fromkeys(r.config.dataset for r in self.runs))

    @property
    def datasets(self) -> tuple:
        """The distinct datasets (with their mode weights) of the group's runs, in order of
        first appearance: one compiled program samples each run's own (``Hparams.dataset``)."""
        return _datasets(self.runs)

    @property
    def key_hash(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()[:8]

    @property
    def id(self) -> str:
        """Names the group's checkpoint and claim: its structure and its runs, in order."""
        text = self.key + "|" + ",".join(r.run_id for r in self.runs)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def cost(self) -> int:
        """Relative work: runs x steps x (critic updates + generator updates)."""
        c = self.runs[0].config
        return len(self.runs) * self.runs[0].steps * (c.n_critic + c.g_steps)

    @property
    def to_write(self) -> list[RunSpec]:
        return [r for r in self.runs if r.run_id not in self.keep]


@dataclass
class Plan:
    suite: Suite
    out: Path
    groups: list[Group]
    skipped: list[RunSpec]
    elsewhere: list[Group] = field(default_factory=list)
    """Groups that other processes of a multi-process run train (see :func:`split_groups`)."""
    resumed: int = 0
    """Groups that continue from a checkpoint."""
    force: bool = False
    """Retrain finished runs and ignore checkpoints."""
    checkpoint_every: float = 60.0
    """Seconds between checkpoints of a group's training (0: at every chunk boundary)."""
    exact: bool = False
    """Loop over each device's runs instead of vectorising them (see :func:`map_runs`)."""

    @property
    def todo(self) -> int:
        return sum(len(g.to_write) for g in self.groups)

    @property
    def suite_folder(self) -> Path:
        return suite_dir(self.out, self.suite.name)


def make_plan(
    suite: Suite,
    out: Path,
    *,
    force: bool = False,
    max_runs: int | None = None,
    budget: int | None = None,
    n_devices: int = 1,
    process: int = 0,
    processes: int = 1,
) -> Plan:
    """Group the runs still to do by their static structure (one compiled program per group).

    Groups hold at most ``max_runs`` runs (consecutive runs in suite order) and, given a
    per-device memory ``budget`` in bytes, at most as many as fit on ``n_devices`` devices by
    :func:`ganbench.train.memory.run_memory`; a run that cannot fit alone is a ConfigError,
    raised before anything is compiled or allocated. A group that has a
    checkpoint keeps the checkpoint's composition, so it resumes exactly. With ``processes > 1``
    the groups are shared out deterministically (:func:`split_groups`) and ``groups`` holds this
    ``process``'s share.
    """
    from ganbench.train.checkpoint import CHECKPOINTS_DIR, read_header
    from ganbench.train.engine import static_key

    out = Path(out)
    by_id = {spec.run_id: spec for spec in suite.runs}
    finished = {
        spec.run_id
        for spec in suite.runs
        if not force and is_finished(run_dir(out, spec.suite, spec.run_id))
    }
    groups: list[Group] = []
    taken: set[str] = set()
    folder = suite_dir(out, suite.name) / CHECKPOINTS_DIR
    resumed = 0
    for path in sorted(folder.glob("*.npz")) if folder.is_dir() and not force else []:
        try:
            ids = read_header(path)["run_ids"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: the group it belonged to starts over (and overwrites it)
        runs = [by_id.get(i) for i in ids]
        if (
            not runs
            or any(r is None for r in runs)
            or taken & set(ids)
            or set(ids) <= finished
            or len({static_key(r.config) for r in runs}) != 1
        ):
            continue
        groups.append(Group(static_key(runs[0].config), runs, keep=set(ids) & finished))
        taken |= set(ids)
        resumed += 1
    pending: dict[str, list[RunSpec]] = {}
    skipped: list[RunSpec] = []
    for spec in suite.runs:
        if spec.run_id in taken:
            continue
        if spec.run_id in finished:
            skipped.append(spec)
            continue
        pending.setdefault(static_key(spec.config), []).append(spec)
    for key, same in pending.items():
        for runs in _by_datasets(same):
            size = min(max_runs or len(runs), len(runs))
            if budget is not None:
                size = min(size, _runs_that_fit(runs[0], budget, n_devices, suite.path))
            groups += [Group(key, runs[i : i + size]) for i in range(0, len(runs), size)]
    skipped += [by_id[i] for g in groups for i in sorted(g.keep)]
    mine, elsewhere = split_groups(groups, process, processes)
    return Plan(suite, out, mine, skipped, elsewhere=elsewhere, resumed=resumed, force=force)


MAX_DATASETS = 4
"""Most datasets (mixtures with their weights) that one compiled program samples: every step
draws a batch of each and keeps the run's own (see ``Program.sample_data``)."""


def _dataset(spec: RunSpec):
    """A run's dataset with its mode weights (datasets are frozen, comparable dataclasses)."""
    from ganbench.data import get_dataset

    return get_dataset(spec.config.dataset, spec.config.weights)


def _datasets(runs: list[RunSpec]) -> tuple:
    return tuple(dict.fromkeys(_dataset(r) for r in runs))


def _by_datasets(runs: list[RunSpec]) -> list[list[RunSpec]]:
    """Runs of one static structure in groups of at most :data:`MAX_DATASETS` datasets (in
    order of first appearance), each in suite order."""
    datasets = [_dataset(r) for r in runs]
    part = {d: i // MAX_DATASETS for i, d in enumerate(dict.fromkeys(datasets))}
    parts: dict[int, list[RunSpec]] = {}
    for r, d in zip(runs, datasets, strict=True):
        parts.setdefault(part[d], []).append(r)
    return list(parts.values())


def _runs_that_fit(spec: RunSpec, budget: int, n_devices: int, path) -> int:
    from ganbench.errors import ConfigError
    from ganbench.train.memory import gib, run_memory

    need = run_memory(spec)
    if need.total > budget:
        raise ConfigError(
            f"{path}: variant {spec.variant!r} does not fit in memory: one run needs about "
            f"{gib(need.total)} (training state {gib(need.state)}, activations of a step "
            f"{gib(need.activations)}), and a device has {gib(budget)} for runs; use smaller "
            "networks, batch_size or metrics.samples"
        )
    return max(1, budget // need.total) * n_devices


def split_groups(
    groups: list[Group], process: int, processes: int
) -> tuple[list[Group], list[Group]]:
    """Share groups out among ``processes``: largest cost first, each to the process with the
    least work so far (ties to the lowest index). Every process computes the same split from the
    same plan. Returns (this process's groups in plan order, the others' groups)."""
    if processes <= 1:
        return groups, []
    load = [0] * processes
    owner: dict[int, int] = {}
    order = sorted(range(len(groups)), key=lambda i: (-groups[i].cost, groups[i].id))
    for i in order:
        p = min(range(processes), key=lambda q: (load[q], q))
        owner[i] = p
        load[p] += groups[i].cost
    mine = [g for i, g in enumerate(groups) if owner[i] == process]
    return mine, [g for i, g in enumerate(groups) if owner[i] != process]


# --------------------------------------------------------------------------- progress


class Progress(Protocol):
    def start_group(self, index: int, total: int, label: str, steps: int) -> None: ...
    def advance(self, steps: int, info: str) -> None: ...
    def end_group(self, message: str) -> None: ...
    def log(self, message: str) -> None: ...
    def task(self, label: str, total: int) -> TaskProgress: ...


class TaskProgress(Protocol):
    """A bar for work outside the groups (training the MNIST feature classifier)."""

    def update(self, done: int, info: str) -> None: ...
    def close(self, message: str) -> None: ...


class _NullTask:
    def update(self, done: int, info: str) -> None:
        pass

    def close(self, message: str) -> None:
        pass


class NullProgress:
    def task(self, label: str, total: int) -> TaskProgress:
        return _NullTask()

    def start_group(self, index: int, total: int, label: str, steps: int) -> None:
        pass

    def advance(self, steps: int, info: str) -> None:
        pass

    def end_group(self, message: str) -> None:
        pass

    def log(self, message: str) -> None:
        pass


# --------------------------------------------------------------------------- provenance


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment(devices: list) -> dict[str, Any]:
    import flax
    import jax
    import optax

    import ganbench

    return {
        "ganbench": ganbench.__version__,
        "jax": jax.__version__,
        "flax": flax.__version__,
        "optax": optax.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": jax.default_backend(),
        "device_kind": devices[0].device_kind if devices else None,
        "device_count": len(devices),
        "host": platform.node(),
        "os": platform.platform(),
        "git_revision": _git_revision(),
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- per-run record


@dataclass
class RunRecord:
    spec: RunSpec
    status: str = COMPLETED
    step: int = 0
    diverged_at: int | None = None
    error: str | None = None
    rows: list[tuple] = field(default_factory=list)
    snapshots: dict[str, np.ndarray] = field(default_factory=dict)
    final: np.ndarray | None = None
    final_ema: np.ndarray | None = None
    trajectory: list[np.ndarray] = field(default_factory=list)  # (steps, P) pieces, traced models
    files: dict[str, bytes] = field(default_factory=dict)  # extra files (image sample grids)

    @property
    def alive(self) -> bool:
        return self.status == COMPLETED

    def diverge(self, step: int) -> None:
        self.status = DIVERGED
        self.diverged_at = step
        self.step = step


def spectrum_rows(jacobian: np.ndarray, config, program) -> list[tuple[str, float]]:
    """Eigenvalue diagnostics of the game's Jacobian J; see :func:`jacobian_spectrum`."""
    return jacobian_spectrum(jacobian, config, program)[1]


def jacobian_spectrum(
    jacobian: np.ndarray, config, program
) -> tuple[np.ndarray, list[tuple[str, float]]]:
    """The eigenvalues of the game's Jacobian J and their diagnostics (Mescheder et al. 2017,
    section 3): max Re(lambda), max |Im|/|Re|, and the spectral radius of the plain
    gradient-step update map I + diag(h) J with h = lr_g on generator and lr_d on discriminator
    parameters (for adaptive optimisers this is the map of plain steps at those rates, not of
    the optimiser)."""
    # A fresh array: LAPACK's results can depend on the memory alignment of its input, and a
    # slice of the group's stacked Jacobians is aligned differently for different group sizes.
    jac = np.array(jacobian, np.float64, copy=True, order="C")
    if not np.all(np.isfinite(jac)):
        nan = np.full(1, np.nan, np.complex128)
        return nan, eigenvalue_rows(nan, nan)
    h = step_sizes(config, program)
    eigs = np.linalg.eigvals(jac)
    return eigs, eigenvalue_rows(eigs, np.linalg.eigvals(h[:, None] * jac))


def step_sizes(config, program) -> np.ndarray:
    """Per-parameter step sizes (P,): lr_g on the generator's, lr_d on the discriminator's."""
    n_g, n_d = program.n_player_params
    lr_g, lr_d = config.optimizer.lr_g, config.optimizer.lr_d
    return np.concatenate([np.full(n_g, lr_g), np.full(n_d, lr_d)])


def eigenvalue_rows(eigs: np.ndarray, update_eigs: np.ndarray) -> list[tuple[str, float]]:
    """Rows from eigenvalues (or Ritz values) of J and of diag(h) J: the update map
    I + diag(h) J has the eigenvalues 1 + mu."""
    from ganbench.metrics.spectrum import summarize_spectrum

    eigs = np.asarray(eigs, np.complex128)
    if not np.all(np.isfinite(eigs)):
        return [(M.JAC_MAX_REAL, math.nan), (M.JAC_IMAG_RATIO, math.nan), (M.JAC_RADIUS, math.nan)]
    summary = summarize_spectrum(eigs, 0.0)
    radius = float(np.max(np.abs(1.0 + np.asarray(update_eigs, np.complex128))))
    return [
        (M.JAC_MAX_REAL, summary["max_real"]),
        (M.JAC_IMAG_RATIO, summary["max_imag_ratio"]),
        (M.JAC_RADIUS, radius),
    ]


def iterative_spectra(
    compiled, state, specs, k: int
) -> list[tuple[np.ndarray, list[tuple[str, float]]]]:
    """Ritz values and spectrum rows of every run of a group from k Arnoldi steps on J and on
    diag(h) J (Jacobian-vector products only; all runs share each device call)."""
    import jax.numpy as jnp

    from ganbench.metrics.spectrum import batched_arnoldi_ritz

    n = compiled.program.n_params
    r = int(compiled.seeds.shape[0])
    padded = specs + [specs[-1]] * (r - len(specs))
    h = np.stack([step_sizes(spec.config, compiled.program) for spec in padded])
    starts = np.random.default_rng(0).standard_normal((r, n))  # fixed: the same for every run

    def matvec(tangents: np.ndarray) -> np.ndarray:
        out = compiled.jvp(
            state, compiled.hparams, compiled.seeds, jnp.asarray(tangents, "float32")
        )
        return np.asarray(out, np.float64)

    ritz = batched_arnoldi_ritz(matvec, starts, k)
    ritz_update = batched_arnoldi_ritz(lambda t: h * matvec(t), starts, k)
    return [(a, eigenvalue_rows(a, b)) for a, b in zip(ritz, ritz_update, strict=True)][
        : len(specs)
    ]


# --------------------------------------------------------------------------- training


@dataclass
class RunSummary:
    completed: int = 0
    diverged: int = 0
    failed: int = 0
    skipped: int = 0
    claimed_elsewhere: int = 0
    """Runs skipped because another process was training them."""
    wall_seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def _stack(trees: list):
    import jax

    return jax.tree.map(lambda *xs: np.stack(xs), *trees)


def _device_count(n_runs: int, devices: list) -> int:
    return max(1, min(len(devices), n_runs))


@dataclass
class CompiledGroup:
    """A group's program compiled for its runs, with the runs' initial state on the devices."""

    program: Any
    n_devices: int
    seeds: Any  # (R_padded,) int32, sharded over the run axis
    hparams: Any  # Hparams with (R_padded,) leaves, sharded
    state: Any  # TrainState with (R_padded, ...) leaves, sharded
    chunk: Any  # compiled: (state, hparams) -> (state, ChunkStats); donates state
    evaluate: Any  # compiled: (state, seeds, data, datasets) -> {"fake", "real"[, "ema"]}
    compile_seconds: float
    jacobian: Any = None  # compiled: (state, hparams, seeds) -> (R, P, P) (dense spectrum)
    jvp: Any = None  # compiled: (state, hparams, seeds, (R, P)) -> (R, P) (iterative spectrum)
    data: Any = None  # the dataset's arrays on the devices (images), or None
    exact: bool = False  # runs looped over per device (map_runs), not vectorised


CPU_IMAGE_SUBCHUNK = 10
"""Steps per loop-free sub-chunk of image programs on CPU (see ``Program.split_chunks``)."""


def _sub_chunks(chunk, n: int, steps: int):
    """A chunk function that runs ``n`` compiled sub-chunks and merges their statistics."""
    from ganbench.train.engine import merge_chunk_stats

    def run(state, hparams):
        parts = []
        for _ in range(n):
            state, stats = chunk(state, hparams)
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

    from ganbench.train import threefry
    from ganbench.train.engine import Program, hparams_axes, hparams_of

    if devices[0].platform == "cpu":
        threefry.unroll_on_cpu()  # the same random bits; compiles and runs faster on CPU
    spec0 = group.runs[0]
    program = Program(
        spec0.config,
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
                dataset=np.int32(program.dataset_index(r.config))
            )
            for r in padded
        ]
    )
    hparams = jax.device_put(hparams, shard)
    data = None
    n_sub = 1
    if getattr(program.dataset, "is_image", False) and devices[0].platform == "cpu":
        sub = math.gcd(spec0.eval_every, CPU_IMAGE_SUBCHUNK)
        program.split_chunks(sub)
        n_sub = spec0.eval_every // sub
    if getattr(program.dataset, "is_image", False):
        # The images, once per device, shared by every run (not stacked, not embedded).
        replicated = NamedSharding(mesh, PartitionSpec())
        data = jax.device_put(program.dataset.arrays(), replicated)
    hparams = hparams._replace(data=data)
    axes = hparams_axes()
    runs, same = PartitionSpec("runs"), PartitionSpec()
    hp_specs = jax.tree.map(lambda _: runs, hparams._replace(data=None))._replace(
        data=None if data is None else same
    )

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
            per_device(batched(program.chunk, (0, axes)), (runs, hp_specs)),
            donate_argnums=0,
            out_shardings=shard,
        )
        .lower(state, hparams)
        .compile()
    )
    if n_sub > 1:
        chunk = _sub_chunks(chunk, n_sub, program.chunk_steps)
    evaluate = (
        jax.jit(
            per_device(
                batched(program.evaluate, (0, 0, None, 0)),
                (runs, runs, None if data is None else same, runs),
            )
        )
        .lower(state, seeds, data, hparams.dataset)
        .compile()
    )
    jacobian = jvp = None
    if program.trace or spec0.metrics.spectrum == "dense":
        jacobian = (
            jax.jit(
                per_device(batched(program.jacobian, (0, axes, 0)), (runs, hp_specs, runs))
                if exact
                else jax.vmap(program.jacobian, in_axes=(0, axes, 0))
            )
            .lower(state, hparams, seeds)
            .compile()
        )
    elif spec0.metrics.spectrum == "iterative":
        tangents = np.zeros((len(padded), program.n_params), np.float32)
        jvp = (
            jax.jit(
                per_device(batched(program.jvp, (0, axes, 0, 0)), (runs, hp_specs, runs, runs))
                if exact
                else jax.vmap(program.jvp, in_axes=(0, axes, 0, 0))
            )
            .lower(state, hparams, seeds, tangents)
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


HEATMAP_SIZE = 64
"""Points per axis of the grid on which D's output is stored at every evaluation of 2-D data
(with ``metrics.snapshots``), for the report's heat maps."""


def checkpoint_header(group: Group, compiled: CompiledGroup, chunk: int) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the group, and the settings under which the
    compiled programs give the same numbers (versions, platform, devices, padding)."""
    import jax

    import ganbench

    spec0 = group.runs[0]
    return {
        "group": group.id,
        "run_ids": [r.run_id for r in group.runs],
        "chunk": chunk,
        "steps": spec0.steps,
        "eval_every": spec0.eval_every,
        "ganbench": ganbench.__version__,
        "jax": jax.__version__,
        "platform": jax.default_backend(),
        "devices": compiled.n_devices,
        "padded_runs": int(compiled.seeds.shape[0]),
        "exact_runs": compiled.exact,
    }


@dataclass
class Checkpointing:
    """Where and how often a group's training is checkpointed (None path: never)."""

    path: Path | None = None
    every_seconds: float = 60.0
    resume: bool = True


def _restore_records(records: list[RunRecord], saved: list[dict]) -> None:
    if [d["run_id"] for d in saved] != [r.spec.run_id for r in records]:
        raise ValueError("its runs are not this group's")
    for rec, data in zip(records, saved, strict=True):
        rec.status, rec.step = data["status"], data["step"]
        rec.diverged_at, rec.error = data["diverged_at"], data["error"]
        rec.rows = list(data["rows"])
        rec.snapshots = dict(data["snapshots"])
        rec.files = dict(data["files"])
        rec.final, rec.final_ema = data["final"], data["final_ema"]
        rec.trajectory = [] if data["trajectory"] is None else [data["trajectory"]]


def _resume(group, compiled, state, records, ckpt: Checkpointing, progress) -> tuple[Any, int]:
    """The state and first chunk to train: from the group's checkpoint when there is a matching
    one, else the initial state and chunk 0."""
    from ganbench.train import checkpoint as cp

    if ckpt.path is None or not ckpt.resume or not ckpt.path.exists():
        return state, 0
    try:
        saved = cp.read(ckpt.path)
        expect = checkpoint_header(group, compiled, saved.chunk)
        diff = [k for k, v in expect.items() if saved.header.get(k) != v]
        if diff:
            raise ValueError("it was written under other settings: " + ", ".join(diff))
        restored = cp.restore_state(state, saved)
        _restore_records(records, saved.records)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        progress.log(f"ignoring checkpoint {ckpt.path}: {exc}; training {group.label} afresh")
        return state, 0
    progress.log(
        f"resuming {group.label} from its checkpoint at step {saved.chunk * group.runs[0].eval_every}"
    )
    return restored, saved.chunk


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

    from ganbench.train import checkpoint as cp

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
    state, first = _resume(group, compiled, state, records, ckpt, progress)
    if first:
        progress.advance(first * spec0.eval_every, "resumed")
    last_save = time.monotonic()
    datasets = [program.datasets[program.dataset_index(r.spec.config)] for r in records]
    metrics = spec0.metrics
    snapshots = metrics.snapshots and program.dataset.dim == 2
    image = getattr(program.dataset, "is_image", False)
    if image:
        warning = evaluator.sample_warning(metrics.samples, program.dataset.channels)
        if warning:
            progress.log(f"note: {warning}")
    n_chunks = spec0.steps // spec0.eval_every
    phase = {"train": 0.0, "evaluate": 0.0, "checkpoint": 0.0}
    for c in range(first, n_chunks):
        start = c * spec0.eval_every
        end = start + spec0.eval_every
        t_chunk = time.perf_counter()
        state, stats = compiled.chunk(state, hparams)
        jax.block_until_ready(stats)  # so the phases are timed apart
        t_eval = time.perf_counter()
        phase["train"] += t_eval - t_chunk
        samples = jax.device_get(compiled.evaluate(state, seeds, compiled.data, hparams.dataset))
        jacobians = (
            None
            if compiled.jacobian is None
            else np.asarray(compiled.jacobian(state, hparams, seeds))
        )
        ritz_rows = None
        if compiled.jvp is not None:
            ritz_rows = iterative_spectra(compiled, state, group.runs, spec0.metrics.spectrum_k)
        stats = jax.device_get(stats)
        fake, real, ema = samples["fake"], samples["real"], samples.get("ema")
        for i, rec in enumerate(records):
            if not rec.alive:
                continue
            dataset = datasets[i]
            for name, value in {**stats.mean, **stats.max}.items():
                rec.rows.append((end, name, float(value[i]), None, None))
            bad = int(stats.first_nonfinite[i])
            if stats.trajectory is not None:
                rec.trajectory.append(stats.trajectory[i][: bad if bad >= 0 else None])
            if bad >= 0:
                rec.diverge(start + bad + 1)
                continue
            if not np.all(np.isfinite(fake[i])):
                rec.diverge(end)
                continue
            rec.step = end
            rec.rows += [
                (end, m, v, nr, nf)
                for m, v, nr, nf in evaluate_samples(fake[i], real[i], dataset, metrics, evaluator)
            ]
            rec.final = fake[i]
            if image:
                rec.files[f"samples_step_{end}.png"] = image_grid_png(fake[i][:IMAGE_GRID])
            if stats.trajectory is not None:
                rec.rows += [(end, m, v, nr, nf) for m, v, nr, nf in equilibrium_rows(
                    stats.trajectory[i][-1], dataset
                )]  # fmt: skip
            spectrum = None
            if ritz_rows is not None:
                spectrum = ritz_rows[i]
            elif jacobians is not None:
                spectrum = jacobian_spectrum(jacobians[i], rec.spec.config, program)
            if spectrum is not None:
                rec.rows += [(end, m, v, None, None) for m, v in spectrum[1]]
                rec.snapshots[f"eigenvalues_step_{end}"] = spectrum[0].astype(np.complex64)
            if ema is not None:
                rec.rows += [
                    (end, M.EMA_PREFIX + m, v, nr, nf)
                    for m, v, nr, nf in evaluate_samples(
                        ema[i], real[i], dataset, metrics, evaluator
                    )
                ]
                rec.final_ema = ema[i]
            if snapshots:
                rec.snapshots[f"step_{end}"] = fake[i].astype(np.float32)
            if "d_grid" in samples:
                rec.snapshots[f"d_grid_step_{end}"] = samples["d_grid"][i].astype(np.float32)
                rec.snapshots["d_grid_extent"] = np.asarray(dataset.plot_extent(), np.float32)
        phase["evaluate"] += time.perf_counter() - t_eval
        progress.advance(spec0.eval_every, _chunk_info(records))
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


IMAGE_GRID = 64
"""Generated images in the sample grid written at every evaluation of an image run (8 x 8)."""

FLOOR_VARIANT = M.FLOOR_PREFIX + "MNIST train vs test"
"""The variant name of the reference rows of image suites (see :func:`_write_floor`)."""


def _is_image(dataset_name: str) -> bool:
    from ganbench.data import get_dataset

    return getattr(get_dataset(dataset_name), "is_image", False)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Images in [-1, 1] as uint8 pixels (round((x + 1) * 127.5), clipped)."""
    x = np.nan_to_num(np.asarray(images, np.float32), nan=-1.0)
    return np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid_png(images: np.ndarray, cols: int = 8) -> bytes:
    """A PNG of up to ``cols`` images per row ((N, H, W, C) in [-1, 1]; 1 or 3 channels), with a
    one-pixel border between them. Pillow encodes it."""
    import io

    from PIL import Image

    x = to_uint8(images)
    n, h, w, c = x.shape
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1, c), 128, np.uint8)
    for k in range(n):
        r, q = divmod(k, cols)
        grid[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + q * (w + 1) : 1 + q * (w + 1) + w] = x[k]
    buf = io.BytesIO()
    Image.fromarray(grid[:, :, 0] if c == 1 else grid).save(buf, format="PNG")
    return buf.getvalue()


def _write_floor(plan: Plan, group: Group, evaluator, env: dict) -> None:
    """The image metrics between MNIST train and test draws of the evaluation's size, as a
    reference run (variant :data:`FLOOR_VARIANT`) beside the suite's runs, once per dataset and
    sample count: what a generator that reproduces the data would score."""
    from ganbench.data import get_dataset
    from ganbench.data.mnist import load_mnist

    spec = group.runs[0]
    dataset = get_dataset(spec.config.dataset)
    n = spec.metrics.samples
    key = f"floor|{dataset.name}|{n}|{spec.steps}" + _inception_key(evaluator)
    if spec.profile is not None:  # each profile's rows carry their own floor
        key += f"|profile:{spec.profile}"
    run_id = "floor-" + hashlib.sha256(key.encode()).hexdigest()[:10]
    if is_finished(run_dir(plan.out, spec.suite, run_id)):
        return
    started = _now()
    t0 = time.perf_counter()
    images = {"train": load_mnist("train")[0], "test": load_mnist("test")[0]}
    rows = [(spec.steps, m, v, nr, nf) for m, v, nr, nf in evaluator.floor_rows(
        images, n, dataset.channels
    )]  # fmt: skip
    manifest = {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "suite": spec.suite,
        "variant": FLOOR_VARIANT,
        "seed": 0,
        "profile": spec.profile,
        "grid_point": {"dataset": dataset.name} if "dataset" in spec.grid_point else {},
        "config": {"dataset": dataset.name, "reference": "MNIST train vs MNIST test"},
        "protocol": {"samples": n, "steps": spec.steps},
        "dataset": dataset.describe(),
        "status": COMPLETED,
        "step": spec.steps,
        "diverged_at": None,
        "error": None,
        "timing": {
            "wall_seconds": time.perf_counter() - t0,
            "started": started,
            "finished": _now(),
        },
        "environment": env,
        "extractor": extractor_info(evaluator),
    }
    write_run(plan.out, spec.suite, run_id, manifest, rows, {"final": np.zeros((0, 0))})


def write_chance_rows(plan: Plan, env: dict) -> None:
    """The data and chance rows beside the suite's 2-D and Stacked MNIST runs
    (:mod:`ganbench.diagnostics.chance`): reference runs that train nothing, at the suite's final
    step and seeds; finished ones are kept unless ``plan.force``. One process of a
    multi-process run writes them (the others find them claimed, then finished)."""
    from ganbench.diagnostics.chance import reference_runs

    todo = [
        ref
        for ref in reference_runs(plan.suite.runs)
        if plan.force or not is_finished(run_dir(plan.out, ref.suite, ref.run_id))
    ]
    claim = Claim(plan.suite_folder, "references")
    if not todo or not claim.acquire():
        return
    with claim:
        for ref in todo:
            if not plan.force and is_finished(run_dir(plan.out, ref.suite, ref.run_id)):
                continue
            started, t0 = _now(), time.perf_counter()
            rows, samples = ref.rows()
            manifest = {
                "schema": SCHEMA_VERSION,
                **ref.manifest(),
                "status": COMPLETED,
                "step": ref.steps,
                "diverged_at": None,
                "error": None,
                "timing": {
                    "wall_seconds": time.perf_counter() - t0,
                    "started": started,
                    "finished": _now(),
                },
                "environment": env,
            }
            final = samples if samples is not None else np.zeros((0, 0), np.float32)
            write_run(plan.out, ref.suite, ref.run_id, manifest, rows, {"final": final})


def _inception_key(evaluator) -> str:
    info = getattr(evaluator, "inception_info", None) or {}
    return f"|inception:{info['sha256']}" if info.get("sha256") else ""


def extractor_info(evaluator) -> dict[str, Any]:
    """What an image run's metrics were measured with: the MNIST classifier's checksum and test
    accuracy, and the Inception weights' checksum when they were given."""
    info = {k: evaluator.info.get(k) for k in ("sha256", "test_accuracy")}
    inception = getattr(evaluator, "inception_info", None) or {}
    if inception:
        info["inception"] = {k: inception.get(k) for k in ("path", "sha256")}
    return info


def _chunk_info(records: list[RunRecord]) -> str:
    """A short progress note: mean modes of the live runs and the diverged count."""
    alive = [r for r in records if r.alive]
    vals = []
    for r in alive:
        last = next((v for (_, m, v, *_rest) in reversed(r.rows) if m == M.MODES), None)
        if last is not None:
            vals.append(last)
    div = len(records) - len(alive)
    parts = []
    if vals:
        parts.append(f"modes {np.mean(vals):.1f}")
    if div:
        parts.append(f"{div} diverged")
    return ", ".join(parts)


def _manifest(
    rec: RunRecord,
    suite: Suite,
    timing: dict,
    env: dict,
    group: Group,
    started: str,
    evaluator=None,
) -> dict[str, Any]:

    spec = rec.spec
    dataset = _dataset(spec)
    return {
        "schema": SCHEMA_VERSION,
        "run_id": spec.run_id,
        "suite": spec.suite,
        "variant": spec.variant,
        "seed": spec.seed,
        "profile": spec.profile,
        "grid_point": spec.grid_point,
        "config": spec.config.resolved(),
        "protocol": {
            "steps": spec.steps,
            "eval_every": spec.eval_every,
            "metrics": spec.metrics.model_dump(),
        },
        "dataset": dataset.describe(),
        "status": rec.status,
        "step": rec.step,
        "diverged_at": rec.diverged_at,
        "error": rec.error,
        "timing": {**timing, "started": started, "finished": _now()},
        "environment": env,
        "group": {"key": group.key_hash, "runs": len(group.runs)},
        "suite_file": str(suite.path),
        **(
            {"extractor": extractor_info(evaluator)}
            if evaluator is not None and getattr(dataset, "is_image", False)
            else {}
        ),
    }


def run_plan(
    plan: Plan,
    *,
    devices: list | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Train every group of the plan and write its run folders."""
    import jax

    progress = progress or NullProgress()
    devices = list(devices if devices is not None else jax.local_devices())
    env = environment(devices)
    summary = RunSummary(skipped=len(plan.skipped))
    t_start = time.perf_counter()
    evaluator = None
    image_groups = [g for g in plan.groups if _is_image(g.runs[0].config.dataset)]
    if image_groups:
        from ganbench.train.image_eval import load_extractor

        # Before anything is written: missing MNIST is bad input (exit 2), not a failed run.
        evaluator = load_extractor(
            log=progress.log,
            task=progress.task,
            inception_weights=image_groups[0].runs[0].metrics.inception_weights,
        )
        acc = evaluator.info.get("test_accuracy")
        if acc is not None:
            progress.log(f"MNIST feature classifier: test accuracy {100 * acc:.2f}%")
    write_suite_file(plan.out, plan.suite.name, plan.suite.raw)
    for group in image_groups:
        _write_floor(plan, group, evaluator, env)
    write_chance_rows(plan, env)
    run = functools.partial(
        _claim_and_train, _Context(plan, progress, evaluator, env, summary, threading.Lock())
    )
    needs = [min(len(g.runs), len(devices)) for g in plan.groups]
    if all(n == len(devices) for n in needs):
        for gi in range(len(plan.groups)):
            run(gi, devices)
    else:
        _run_side_by_side(run, needs, devices)
    summary.wall_seconds = time.perf_counter() - t_start
    return summary


def _run_side_by_side(run, needs: list[int], devices: list) -> None:
    """Run groups that need fewer devices than there are side by side, each on its own devices
    (a group of R runs takes min(R, devices) of them, so its numbers do not depend on the
    schedule): the first group in plan order that fits in the free devices starts next."""
    cond = threading.Condition()
    free = list(devices)
    pending = list(range(len(needs)))
    errors: list[BaseException] = []

    def worker(gi: int, mine: list) -> None:
        try:
            run(gi, mine)
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)
        finally:
            with cond:
                free.extend(mine)
                free.sort(key=lambda d: d.id)
                cond.notify_all()

    with cond:
        while pending and not errors:
            gi = next((i for i in pending if needs[i] <= len(free)), None)
            if gi is None:
                cond.wait()
                continue
            pending.remove(gi)
            mine, free[:] = free[: needs[gi]], free[needs[gi] :]
            threading.Thread(target=worker, args=(gi, mine), daemon=True).start()
        while len(free) < len(devices):
            cond.wait()
    if errors:
        raise errors[0]


@dataclass
class _Context:
    """What every group of a plan is trained and written with (shared by the threads of groups
    that run side by side; ``lock`` guards ``summary``)."""

    plan: Plan
    progress: Progress
    evaluator: Any
    env: dict
    summary: RunSummary
    lock: threading.Lock


def _claim_and_train(ctx: _Context, gi: int, devices: list) -> None:
    plan, progress, summary, lock = ctx.plan, ctx.progress, ctx.summary, ctx.lock
    group = plan.groups[gi]
    claim = Claim(plan.suite_folder, group.id)
    if not claim.acquire():
        with lock:
            summary.claimed_elsewhere += len(group.to_write)
        progress.log(f"skipped {group.label}: being trained by {claim.holder}")
        return
    with claim:
        # Finished meanwhile (by a process that claimed, trained and released it)?
        todo = {r.run_id for r in group.to_write}
        done = {r.run_id for r in group.to_write if is_finished(_run_path(plan, r))}
        if not plan.force and done == todo:
            with lock:
                summary.skipped += len(todo)
            progress.log(f"skipped {group.label}: finished by another process")
            return
        _train_and_write(ctx, group, gi, devices)


def _run_path(plan: Plan, spec: RunSpec) -> Path:
    return run_dir(plan.out, spec.suite, spec.run_id)


def _train_and_write(ctx: _Context, group: Group, gi: int, devices: list) -> None:
    """Train one claimed group (resuming its checkpoint), write its runs, drop the checkpoint."""
    plan, progress, evaluator, env = ctx.plan, ctx.progress, ctx.evaluator, ctx.env
    summary, lock = ctx.summary, ctx.lock
    from ganbench.train.checkpoint import checkpoint_path

    ckpt = Checkpointing(
        checkpoint_path(plan.suite_folder, group.id),
        every_seconds=plan.checkpoint_every,
        resume=not plan.force,
    )
    started = _now()
    spec0 = group.runs[0]
    progress.start_group(gi, len(plan.groups), group.label, spec0.steps)
    try:
        records, timing = train_group(
            group,
            devices=devices,
            progress=progress,
            evaluator=evaluator,
            checkpointing=ckpt,
            exact=plan.exact,
        )
    except Exception as exc:  # a failed group is recorded; the suite goes on
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        records = [RunRecord(s, status=FAILED, error=detail) for s in group.runs]
        timing = {
            "compile_seconds": None,
            "wall_seconds": None,
            "group_runs": len(group.runs),
            "group_devices": None,
            "exact_runs": plan.exact,
        }
        with lock:
            summary.failures.append(f"{group.label}: {detail}")
        progress.log(f"group failed: {group.label}: {detail}")
    t_write = time.perf_counter()
    _remove_partial_folders(plan, group)
    keep = set() if plan.force else group.keep
    records = [rec for rec in records if rec.spec.run_id not in keep]
    for rec in records:
        samples: dict[str, np.ndarray] = dict(rec.snapshots)
        samples["final"] = (
            rec.final.astype(np.float32) if rec.final is not None else np.zeros((0, 0), np.float32)
        )
        if rec.final_ema is not None:
            samples["ema_final"] = rec.final_ema.astype(np.float32)
        if rec.final is not None and rec.final.ndim == 4:  # images: as 8-bit pixels
            samples["final"] = to_uint8(rec.final)
            if rec.final_ema is not None:
                samples["ema_final"] = to_uint8(rec.final_ema)
        if rec.trajectory:
            samples["trajectory"] = np.concatenate(rec.trajectory).astype(np.float32)
        write_run(
            plan.out,
            rec.spec.suite,
            rec.spec.run_id,
            _manifest(rec, plan.suite, timing, env, group, started, evaluator),
            rec.rows,
            samples,
            files=rec.files,
        )
        with lock:
            if rec.status == COMPLETED:
                summary.completed += 1
            elif rec.status == DIVERGED:
                summary.diverged += 1
            else:
                summary.failed += 1
    if ckpt.path is not None:
        ckpt.path.unlink(missing_ok=True)  # every run is written: nothing left to resume
    counts = {s: sum(r.status == s for r in records) for s in STATUSES}
    wall = timing["wall_seconds"]
    phases = ", ".join(
        f"{name} {timing[f'{name}_seconds']:.1f}s"
        for name in ("compile", "train", "evaluate", "checkpoint")
        if timing.get(f"{name}_seconds")
    )
    phases += f", write {time.perf_counter() - t_write:.1f}s"
    progress.end_group(
        f"{group.label}: "
        + ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        + (f" in {wall:.1f}s ({phases})" if wall else "")
    )


def _remove_partial_folders(plan: Plan, group: Group) -> None:
    """Remove what a killed writer of this group left behind (``runs/.tmp-<run id>-*``,
    ``runs/.old-<run id>-*``, temporary checkpoint files); safe while the group is claimed. Readers never take these
    hidden folders for results."""
    import shutil

    from ganbench.train.checkpoint import CHECKPOINTS_DIR

    for path in (plan.suite_folder / CHECKPOINTS_DIR).glob(f".{group.id}.npz.*.tmp"):
        path.unlink(missing_ok=True)
    for spec in group.runs:
        runs = _run_path(plan, spec).parent
        if runs.is_dir():
            for pattern in (f".tmp-{spec.run_id}-*", f".old-{spec.run_id}-*"):
                for path in runs.glob(pattern):
                    shutil.rmtree(path, ignore_errors=True)
