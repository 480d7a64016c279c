"""How many runs of a group fit on a device: an estimate made before anything is allocated.

A run's memory is estimated from shapes alone (``jax.eval_shape``, nothing is allocated):

- its training state (both players' parameters, optimiser states, EMA, spectral-norm vectors),
  counted 4 times: the state going into a chunk, the state coming out, the gradients, and the
  optimiser's temporaries;
- one training step's activations: every layer output of G on a batch plus D on a real and a
  fake batch (``capture_intermediates``), counted 6 times for the backward pass and a gradient
  penalty's second backward pass;
- one evaluation: G's layer outputs on ``metrics.samples`` noise vectors and three sample sets
  (generated, real, EMA).

What a run keeps on the host until it is written is estimated apart (:func:`kept_bytes`):
every evaluation's metric rows, sample snapshots, D's grid, image grid and eigenvalues, and the
Dirac-GAN's trajectory, counted twice (the record, and its copy while a checkpoint or
samples.npz is encoded). A run that would keep more than the host has for runs is refused
before training; a group holds no more runs than the host can keep.

The estimate is deliberately generous; ``ganbench run --max-runs N`` overrides it. A group with
more runs than fit is split into consecutive groups (:func:`ganbench.run.plan.make_plan`); a
run that does not fit on its own is refused with a message before anything is compiled.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ganbench.config.expand import hparams_of, structure_of
from ganbench.diagnostics.images import HEATMAP_SIZE, IMAGE_GRID
from ganbench.train.engine import Program

STATE_COPIES = 4
ACTIVATION_COPIES = 6
CPU_FRACTION = 0.6
"""Share of the host's memory given to runs on a CPU (shared by its host devices)."""
ACCELERATOR_FRACTION = 0.8
"""Share of an accelerator's memory limit given to runs."""


ROW_BYTES = 160
"""Host bytes of one metric row in a run's record (a tuple of five, a float, shared strings)."""
KEPT_COPIES = 2
"""A run's record, and its copy while a checkpoint or samples.npz is encoded."""


@dataclass(frozen=True)
class RunMemory:
    state: int
    activations: int
    evaluation: int
    kept: int = 0
    """Host bytes the run's record holds by its end (see :func:`kept_bytes`)."""

    @property
    def total(self) -> int:
        return STATE_COPIES * self.state + ACTIVATION_COPIES * self.activations + self.evaluation


def _nbytes(tree) -> int:
    import jax

    total = 0
    for leaf in jax.tree.leaves(tree):
        dtype = getattr(leaf, "dtype", None)
        if dtype is None:
            continue
        if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
            total += 8 * math.prod(leaf.shape)
        else:
            total += np.dtype(dtype).itemsize * math.prod(leaf.shape)
    return total


def run_memory(spec) -> RunMemory:
    """The estimated memory of one run of ``spec`` (a :class:`ganbench.config.RunSpec`)."""
    import jax
    import jax.numpy as jnp

    program = Program(
        structure_of(spec.config), eval_every=spec.eval_every, samples=spec.metrics.samples
    )
    state = jax.eval_shape(program.init, jnp.int32(0), hparams_of(spec.config, spec.steps))

    def layer_outputs(module, arch, variables, x):
        kwargs = program._train_kwargs(arch, False)

        def f(v, x):
            return module.apply(
                v, x, capture_intermediates=True, mutable=["intermediates"], **kwargs
            )[1]

        return _nbytes(jax.eval_shape(f, variables, x))

    g_vars = {"params": state.g_params, **state.g_stats}
    d_vars = {"params": state.d_params, **state.d_stats}
    batch = program.batch * program.pack

    def g_out(n: int) -> int:
        z = jax.ShapeDtypeStruct((n, program.z_dim), jnp.float32)
        return layer_outputs(program.generator, program.g_arch, g_vars, z)

    x = jax.ShapeDtypeStruct((program.batch, *program._d_in), jnp.float32)
    d_out = layer_outputs(program.discriminator, program.d_arch, d_vars, x)
    sample = 4 * math.prod(program.shape)
    n = spec.metrics.samples
    return RunMemory(
        state=_nbytes(state),
        activations=g_out(batch) + 2 * d_out,
        evaluation=g_out(n) + 3 * n * sample,
        kept=kept_bytes(spec, program),
    )


def kept_bytes(spec, program) -> int:
    """Host bytes a run's record holds by its end: per evaluation its metric rows, 2-D sample
    snapshot and D's grid (``metrics.snapshots``), image grid and eigenvalues; the Dirac-GAN's
    trajectory; the final samples. Counted :data:`KEPT_COPIES` times."""
    metrics, dataset = spec.metrics, program.dataset
    n_evals = spec.steps // spec.eval_every
    rows = 30 + 2 * getattr(dataset, "n_modes", 1)  # step statistics, sample metrics, mode counts
    if program.ema:
        rows *= 2
    per_eval = ROW_BYTES * rows
    if metrics.snapshots and dataset.dim == 2:
        per_eval += 4 * metrics.samples * 2 + (4 * HEATMAP_SIZE**2 if program.pack == 1 else 0)
    if program.image:
        per_eval += IMAGE_GRID * math.prod(program.shape)  # a PNG, at most the raw pixels
    spectrum = metrics.spectrum
    if program.trace or spectrum == "dense":
        per_eval += 8 * program.n_params  # complex64 eigenvalues
    elif spectrum == "iterative":
        per_eval += 8 * metrics.spectrum_k
    total = n_evals * per_eval
    if program.trace:
        total += 4 * spec.steps * program.n_params  # the parameters after every step
    total += 2 * 4 * metrics.samples * math.prod(program.shape)  # final samples (and EMA's)
    return KEPT_COPIES * total


def host_budget() -> int:
    """Bytes of host memory for what runs keep there (:data:`CPU_FRACTION` of it)."""
    try:
        host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        host = 8 << 30
    return int(CPU_FRACTION * host)


def device_budget(devices: list) -> int:
    """Bytes each device may give to runs: a share of an accelerator's memory limit, or of the
    host's memory divided among its CPU devices."""
    dev = devices[0]
    if dev.platform != "cpu":
        try:
            limit = (dev.memory_stats() or {}).get("bytes_limit")
        except Exception:  # backends without memory statistics
            limit = None
        if limit:
            return int(ACCELERATOR_FRACTION * limit)
    try:
        host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        host = 8 << 30
    cpus = sum(d.platform == "cpu" for d in devices) or 1
    return int(CPU_FRACTION * host / cpus)


def gib(n: float) -> str:
    return f"{n / (1 << 30):.3g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.3g} MiB"
