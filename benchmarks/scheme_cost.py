"""What each remedy costs: training throughput of every variant of a suite, relative to one.

For each variant of the suite (one grid point, by default the first dataset), compiles its
program for R runs exactly as `ganbench run` does (ganbench.run.compile.compile_group: vmapped over runs,
sharded over the host devices) and times C chunks of `--steps` steps after a warm-up chunk.
Prints compile seconds, run-steps per second and the cost relative to `--reference` (the
baseline): 2.0x means the remedy halves throughput. Evaluation (sampling and metrics) is
excluded; it is the same for every variant.

Usage: python benchmarks/scheme_cost.py [SUITE] [--runs 4] [--steps 200] [--chunks 2]
                                        [--reference baseline] [--host-devices N]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from ganbench.run.devices import configure_host_devices


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("suite", nargs="?", default="suites/stabilizers.toml")
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--chunks", type=int, default=2)
    ap.add_argument("--reference", default="baseline")
    ap.add_argument("--host-devices", type=int, default=None)
    args = ap.parse_args()
    configure_host_devices(args.host_devices)

    import jax

    from ganbench.cli.run import scheme_label
    from ganbench.config import load_suite
    from ganbench.run.compile import compile_group
    from ganbench.run.plan import Group

    steps = args.steps * (args.chunks + 1)
    suite = load_suite(
        args.suite, seeds=args.runs, steps=steps, overrides=[f"suite.eval_every={args.steps}"]
    )
    devices = jax.local_devices()
    first_point = suite.runs[0].grid_point
    rows = []
    for variant in dict.fromkeys(r.variant for r in suite.runs):
        runs = [r for r in suite.runs if r.variant == variant and r.grid_point == first_point]
        compiled = compile_group(Group(variant, runs), devices=devices)
        state, hp = compiled.state, compiled.hparams
        state, stats = compiled.chunk(state, hp, compiled.data)  # warm-up
        jax.block_until_ready(stats)
        t0 = time.perf_counter()
        for _ in range(args.chunks):
            state, stats = compiled.chunk(state, hp, compiled.data)
        jax.block_until_ready(stats)
        rate = len(runs) * args.steps * args.chunks / (time.perf_counter() - t0)
        rows.append((variant, scheme_label(runs[0].config), compiled.compile_seconds, rate))

    ref = next((rate for v, _, _, rate in rows if v == args.reference), rows[0][3])
    point = ", ".join(f"{k}={v}" for k, v in first_point.items()) or "-"
    print(
        f"# {suite.name} ({point}): {args.runs} runs x {args.steps * args.chunks} timed steps "
        f"per variant on {len(devices)} x {devices[0].platform}; {platform.machine()}, "
        f"{os.cpu_count()} cores, jax {jax.__version__}"
    )
    print(f"{'variant':<18} {'scheme':<26} {'compile s':>9} {'run-steps/s':>11} {'cost':>6}")
    for variant, scheme, comp, rate in rows:
        print(f"{variant:<18} {scheme:<26} {comp:>9.1f} {rate:>11.0f} {ref / rate:>5.2f}x")


if __name__ == "__main__":
    main()
