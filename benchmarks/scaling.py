"""Throughput and memory as a group grows (runs per compiled program) and as devices grow.

Each (devices, runs) cell runs in a fresh process, so that the device count can be set before
JAX starts and peak memory belongs to that cell alone. The workload is the mode_collapse
suite's network (2x128 MLPs, batch 256, non-saturating loss on ring8; --width and --batch
change it), trained for --steps steps
after one compiled warm-up chunk of the same length. Columns:

  mode        vmap: the default engine (runs vectorised); exact: --exact-runs (each device loops
              over its runs, so a run's numbers do not depend on its group)
  host devices  XLA devices the host is split into (CPU; --host-devices)
  devices used  devices the group is sharded over: min(runs, host devices)
  runs        runs in the group (vmapped, sharded over the devices; padded to a multiple)
  compile s   compiling init, chunk and evaluation
  run-steps/s runs x steps / seconds of training (compile and evaluation excluded)
  speed-up    run-steps/s relative to 1 run on 1 device
  peak MiB    CPU: the process's peak resident memory (includes JAX itself, ~250 MiB);
              GPU/TPU: the device's peak bytes in use
  est. MiB    ganbench's own estimate for the group (ganbench.run.memory), which decides how
              many runs a group may hold

Usage: python benchmarks/scaling.py [--devices 1,2,4] [--runs 1,2,4,8,16,32,64] [--steps 500]
                                   [--modes vmap|exact|both]
       (on a GPU machine: --devices 1, the runs column still applies)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from engine_vs_loop import SUITE as ENGINE_SUITE

# The workload of engine_vs_loop.py (same networks, loss and data), evaluated as the
# mode_collapse suite is, without stored snapshots.
SUITE = (
    ENGINE_SUITE
    + """
[metrics]
samples = 2500
snapshots = false
"""
)


def cell(
    devices: int, runs: int, steps: int, platform_name: str, exact: bool, width: int, batch: int
) -> dict:
    """One measurement, in this process (called in a fresh child)."""
    if platform_name == "cpu":
        from ganbench.run.devices import configure_host_devices

        configure_host_devices(devices)
    import tempfile

    import jax

    from ganbench.config import load_suite
    from ganbench.run.compile import compile_group
    from ganbench.run.memory import run_memory
    from ganbench.run.plan import Group

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "suite.toml")
        with open(path, "w") as f:
            f.write(
                SUITE.format(runs=runs, steps=steps, eval_every=steps, width=width, batch=batch)
            )
        suite = load_suite(path)
    local = jax.local_devices()[:devices]
    compiled = compile_group(Group("scaling", suite.runs), devices=local, exact=exact)
    state, hparams = compiled.state, compiled.hparams
    compiled.state = None
    state, _ = compiled.chunk(
        state, hparams, compiled.data
    )  # warm-up: the first call pays for set-up
    jax.block_until_ready(state)
    t0 = time.perf_counter()
    state, stats = compiled.chunk(state, hparams, compiled.data)
    jax.block_until_ready((state, stats))
    seconds = time.perf_counter() - t0
    if local[0].platform == "cpu":
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    else:
        peak = max((d.memory_stats() or {}).get("peak_bytes_in_use", 0) for d in local)
    need = run_memory(suite.runs[0]).total
    per_device = -(-runs // compiled.n_devices)
    return {
        "host_devices": devices,
        "devices": compiled.n_devices,
        "runs": runs,
        "compile": compiled.compile_seconds,
        "rate": runs * steps / seconds,
        "peak": peak,
        "estimate": need * per_device,
        "kind": local[0].device_kind,
        "mode": "exact" if exact else "vmap",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--devices", default="1,2,4")
    ap.add_argument("--runs", default="1,2,4,8,16,32,64")
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--platform", default=None, help="cpu, gpu, tpu (default: JAX's default)")
    ap.add_argument(
        "--modes", default="vmap", help="vmap (default engine), exact (--exact-runs), or both"
    )
    ap.add_argument("--width", type=int, default=128, help="MLP width (default: mode_collapse's)")
    ap.add_argument("--batch", type=int, default=256, help="batch size (default: mode_collapse's)")
    ap.add_argument("--cell", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cell:
        devices, runs, exact = (int(x) for x in args.cell.split(","))
        result = cell(
            devices, runs, args.steps, args.platform or "cpu", bool(exact), args.width, args.batch
        )
        print(json.dumps(result))
        return
    if args.platform is None:
        import jax

        args.platform = jax.default_backend()
    rows = []
    modes = ["vmap", "exact"] if args.modes == "both" else args.modes.split(",")
    cells = [
        (mode, devices, runs)
        for mode in modes
        for devices in (int(x) for x in args.devices.split(","))
        for runs in (int(x) for x in args.runs.split(","))
    ]
    for mode, devices, runs in cells:
        env = dict(os.environ)
        if args.platform == "cpu":
            env["JAX_PLATFORMS"] = "cpu"
            env.pop("XLA_FLAGS", None)
        cmd = [sys.executable, __file__, "--cell", f"{devices},{runs},{int(mode == 'exact')}"]
        cmd += ["--steps", str(args.steps), "--platform", args.platform]
        cmd += ["--width", str(args.width), "--batch", str(args.batch)]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"devices {devices}, runs {runs}: failed\n{out.stderr[-2000:]}")
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"  measured {mode} devices={r['devices']} runs={runs}", file=sys.stderr)
    if not rows:
        return
    base = next(
        (
            r["rate"]
            for r in rows
            if r["runs"] == 1 and r["host_devices"] == 1 and r["mode"] == "vmap"
        ),
        rows[0]["rate"],
    )
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"device kind {rows[0]['kind']}, {args.steps} steps per measurement, "
        f"2x{args.width} MLPs, batch {args.batch}"
    )
    print(
        "| mode | host devices | devices used | runs | compile s | run-steps/s | speed-up "
        "| peak MiB | est. MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['mode']} | {r['host_devices']} | {r['devices']} | {r['runs']} | {r['compile']:.1f} | {r['rate']:,.0f} | "
            f"{r['rate'] / base:.2f} | {r['peak'] / 2**20:,.0f} | {r['estimate'] / 2**20:,.1f} |"
        )


if __name__ == "__main__":
    main()
