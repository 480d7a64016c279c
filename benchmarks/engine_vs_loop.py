"""Throughput of the compiled engine against a per-step Python loop.

Trains the same runs (non-saturating GAN on ring8, seeds 0..R-1) three ways and prints run-steps
per second (compile time excluded; it is printed separately), at two sizes: "small" (2x32 MLPs,
batch 64, the smoke suite's networks) and "suite" (2x128 MLPs, batch 256, the mode_collapse
suite's networks):

  loop        one run at a time, a Python loop over a jitted training step
  engine-1    the engine (jit of vmap over runs of lax.scan over steps) on one device
  engine      the engine sharded over all host devices (the default of `ganbench run`)

Usage: python benchmarks/engine_vs_loop.py [--runs 8] [--steps 1000] [--host-devices N]
                                           [--size small|suite|both]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from ganbench.run.devices import configure_host_devices

SUITE = """
[suite]
name = "bench"
seeds = {runs}
steps = {steps}
eval_every = {eval_every}

[defaults]
dataset = "ring8"
batch_size = {batch}
z_dim = 2
generator = {{ width = {width}, depth = 2 }}
discriminator = {{ width = {width}, depth = 2 }}
optimizer = {{ name = "adam", lr_g = 1e-4, lr_d = 1e-4, b1 = 0.5 }}

[[variants]]
name = "ns"
loss = "non_saturating"
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--host-devices", type=int, default=None)
    ap.add_argument("--size", choices=["small", "suite", "both"], default="both")
    args = ap.parse_args()
    configure_host_devices(args.host_devices)
    sizes = {"small": (32, 64), "suite": (128, 256)}
    for size in ("small", "suite") if args.size == "both" else (args.size,):
        bench(args, size, *sizes[size])


def bench(args, size: str, width: int, batch: int) -> None:

    import tomllib
    from pathlib import Path

    import jax
    import numpy as np

    from ganbench.config.expand import hparams_of, structure_of
    from ganbench.config.load import validate_document
    from ganbench.train.engine import Program

    text = SUITE.format(
        runs=args.runs, steps=args.steps, eval_every=args.steps, width=width, batch=batch
    )
    suite = validate_document(tomllib.loads(text), path=Path("<bench>"), text=text)
    specs = suite.runs
    program = Program(structure_of(specs[0].config), eval_every=args.steps, samples=2)
    hp1 = hparams_of(specs[0].config, specs[0].steps)
    rows = []

    # (a) one run at a time, Python loop over a jitted step.
    init = jax.jit(program.init)
    step = jax.jit(program.train_step)
    t0 = time.perf_counter()
    state = init(np.int32(0), hp1)
    state, _ = step(state, hp1)
    jax.block_until_ready(state)
    compile_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    for spec in specs:
        state = init(np.int32(spec.seed), hp1)
        for _ in range(args.steps):
            state, stats = step(state, hp1)
        jax.block_until_ready(stats)
    rows.append(("loop", 1, compile_loop, time.perf_counter() - t0))

    # (b, c) the engine, on one device and sharded over all host devices, compiled as
    # `ganbench run` compiles a group (compile time includes the evaluation program).
    from ganbench.run.compile import compile_group
    from ganbench.run.plan import Group

    devices = jax.local_devices()
    for name, n_dev in (("engine-1", 1), ("engine", len(devices))):
        if name == "engine" and n_dev == 1:
            continue
        compiled = compile_group(Group("bench", specs), devices=devices[:n_dev])
        t0 = time.perf_counter()
        state, stats = compiled.chunk(compiled.state, compiled.hparams, compiled.data)
        jax.block_until_ready(stats)
        rows.append((name, n_dev, compiled.compile_seconds, time.perf_counter() - t0))

    work = args.runs * args.steps
    base = work / rows[0][3]
    print(
        f"# {size}: 2x{width} MLPs, batch {batch}; {args.runs} runs x {args.steps} steps; "
        f"{platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__} "
        f"({jax.default_backend()})"
    )
    print(
        f"{'mode':<10} {'devices':>7} {'compile s':>10} {'train s':>9} {'run-steps/s':>12} "
        f"{'speed-up':>9}"
    )
    for name, n_dev, comp, train in rows:
        rate = work / train
        print(
            f"{name:<10} {n_dev:>7} {comp:>10.2f} {train:>9.2f} {rate:>12.0f} {rate / base:>8.2f}x"
        )


if __name__ == "__main__":
    main()
