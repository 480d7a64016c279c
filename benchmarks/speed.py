"""Where ganbench's time goes, side by side with what a user would write instead.

Sections (all by default; pick with --section, repeatable):

  main   the main job as fresh processes: `ganbench run SUITE` from a cold compilation cache,
         then the same command with --force from the warm cache. Per group: compile, train,
         evaluate, checkpoint and write seconds (the run's progress lines); per process:
         start-up (`ganbench run SUITE --dry-run`: imports, suite, plan, devices), the groups,
         and the rest (writing the suite file, the summary table) up to the process's exit.
  mog    8 non-saturating GANs on ring8 (2x128 ReLU MLPs, z in R^2, batch 512, Adam 1e-4 with
         beta1 0.5, 2000 steps), each way as a fresh process, compared on the whole process
         (start-up, compilation, training, and for ganbench its default diagnostics every 500
         steps) and on training alone:
           ganbench    `ganbench run` on that suite, cold and warm compilation cache
           jax         a minimal JAX program: jit(vmap(lax.scan(step))) over the 8 seeds,
                       sharded over the host devices, no diagnostics
           jax-loop    the same step jitted alone, a Python loop over steps, one run at a time
           torch       a PyTorch eager loop a user would write, one run at a time (when torch
                       is importable; it is not a dependency of ganbench)
  dcgan  benchmarks/dcgan_speed.py: the DCGAN against plain JAX and TensorFlow

Usage: python benchmarks/speed.py [--section main|mog|dcgan]... [--suite suites/mode_collapse.toml]
                                  [--steps N] [--mog-steps 2000] [--mog-runs 8]

Run it on a quiet machine (check `uptime`): every figure is one measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_vs_loop import SUITE as MOG_SUITE  # noqa: E402  (the same workload, evaluated)

CLI = [sys.executable, "-c", "from ganbench.cli import app; app()"]


WIDTH, BATCH = 128, 512


# --------------------------------------------------------------------------- processes


def _env(cache: str | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("XLA_FLAGS", None)
    if cache is not None:
        env["GANBENCH_COMPILE_CACHE"] = cache
    return env


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``cmd`` as a fresh process; its wall seconds from start to exit, and the result."""
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{res.stderr[-3000:]}")
    return wall, res


def child_report(res: subprocess.CompletedProcess) -> dict:
    """The JSON line a child process printed last."""
    return json.loads(res.stdout.strip().splitlines()[-1])


GROUP_LINE = re.compile(r"^  (?P<label>.+?): \d+ \w+.* in (?P<wall>[\d.]+)s \((?P<phases>[^)]*)\)$")


def group_phases(stderr: str) -> list[dict]:
    """Each group's line of `ganbench run`'s progress: label, wall and phase seconds."""
    rows = []
    for line in stderr.splitlines():
        m = GROUP_LINE.match(line)
        if not m:
            continue
        row = {"label": m["label"], "wall": float(m["wall"])}
        for part in m["phases"].split(", "):
            name, _, value = part.rpartition(" ")
            row[name] = float(value.rstrip("s"))
        rows.append(row)
    return rows


def machine() -> str:
    import jax

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, load {load:.2f} at start, "
        f"jax {jax.__version__}, python {platform.python_version()}"
    )


def table(header: list[str], rows: list[list]) -> None:
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for k, row in enumerate(cells):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if k == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(value) -> str:
    if isinstance(value, float):
        return (
            f"{value:,.0f}" if value >= 1000 else f"{value:.2f}" if value < 10 else f"{value:.1f}"
        )
    return "-" if value is None else str(value)


# --------------------------------------------------------------------------- main job


def main_job(args) -> None:
    suite = str(Path(args.suite).resolve())
    extra = ["--steps", str(args.steps)] if args.steps else []
    print(f"## (a) the main job: ganbench run {args.suite} {' '.join(extra)}".rstrip())
    with tempfile.TemporaryDirectory() as tmp:
        cache = str(Path(tmp) / "xla")
        out = str(Path(tmp) / "results")
        startup, _ = timed([*CLI, "run", suite, "--out", out, "--dry-run", *extra], _env(cache))
        results = {}
        for name, flags in (("cold cache", []), ("warm cache, --force", ["--force"])):
            wall, res = timed([*CLI, "run", suite, "--out", out, *flags, *extra], _env(cache))
            results[name] = (wall, group_phases(res.stderr))
    for name, (wall, groups) in results.items():
        print(
            f"\n{name}: whole process {wall:.1f} s (start-up, measured by --dry-run: {startup:.1f} s)"
        )
        rows = []
        for g in groups:
            rows.append(
                [
                    g["label"],
                    g.get("compile"),
                    g.get("train"),
                    g.get("evaluate"),
                    g.get("checkpoint", 0.0),
                    g.get("write"),
                    g["wall"] + g.get("write", 0.0),
                ]
            )
        total = [sum(r[i] or 0.0 for r in rows) for i in range(1, 7)]
        rest = wall - startup - total[-1]
        rows.append(["all groups", *total])
        table(
            ["group", "compile s", "train s", "evaluate s", "checkpoint s", "write s", "wall s"],
            rows,
        )
        print(
            f"start-up {startup:.1f} s + groups {total[-1]:.1f} s + rest {rest:.1f} s = {wall:.1f} s"
        )


# --------------------------------------------------------------------------- MoG throughput


def mog(args) -> None:
    runs, steps = args.mog_runs, args.mog_steps
    work = runs * steps
    print(
        f"\n## (b) {runs} non-saturating GANs, 2x{WIDTH} MLPs, batch {BATCH}, {steps} steps "
        f"({work:,} run-steps)"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mog.toml"
        path.write_text(
            MOG_SUITE.format(
                runs=runs, steps=steps, eval_every=min(500, steps), batch=BATCH, width=WIDTH
            )
        )
        cache = str(Path(tmp) / "xla")
        for name, flags in (("ganbench, cold cache", []), ("ganbench, warm cache", ["--force"])):
            wall, res = timed(
                [*CLI, "run", str(path), "--out", str(Path(tmp) / "out"), *flags], _env(cache)
            )
            groups = group_phases(res.stderr)
            train = sum(g.get("train", 0.0) for g in groups)
            compile_s = sum(g.get("compile", 0.0) for g in groups)
            rows.append([name, wall, compile_s, train or None])
        env = _env()
        for name in ("jax", "jax-loop", "torch"):
            cmd = [sys.executable, __file__, "--child", name, "--mog-runs", str(runs)]
            cmd += ["--mog-steps", str(steps)]
            t0 = time.perf_counter()
            res = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
            wall = time.perf_counter() - t0
            if res.returncode != 0:
                if "ModuleNotFoundError" in res.stderr:
                    rows.append([f"{name} (not importable)", None, None, None])
                    continue
                sys.exit(f"child {name} failed:\n{res.stderr[-3000:]}")
            rep = child_report(res)
            rows.append([name, wall, rep.get("compile"), rep["train"]])
    cold, warm = rows[0][1], rows[1][1]
    out = []
    for name, wall, compile_s, train in rows:
        out.append(
            [
                name,
                wall,
                work / wall if wall else None,
                f"{wall / cold:.2f}x / {wall / warm:.2f}x" if wall else None,
                compile_s,
                train,
                work / train if train else None,
            ]
        )
    table(
        [
            "program",
            "process s",
            "run-steps/s",
            "ganbench cold / warm",
            "compile s",
            "train s",
            "train run-steps/s",
        ],
        out,
    )
    print(
        "ganbench cold / warm: that program's process seconds over ganbench's, with a cold and "
        "a warm compilation cache (above 1: ganbench is faster). ganbench's train s is its "
        "chunk calls, without the evaluations."
    )


def _mog_child(name: str, runs: int, steps: int) -> None:
    if name == "torch":
        return _torch_child(runs, steps)
    n_dev = len(os.sched_getaffinity(0)) if name == "jax" else 1
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={n_dev}"
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    def init_mlp(key, sizes):
        keys = jax.random.split(key, len(sizes) - 1)
        return [
            (jax.random.normal(k, (m, n)) / jnp.sqrt(m), jnp.zeros(n))
            for k, m, n in zip(keys, sizes[:-1], sizes[1:], strict=True)
        ]

    def mlp(params, x):
        for w, b in params[:-1]:
            x = jax.nn.relu(x @ w + b)
        w, b = params[-1]
        return x @ w + b

    def ring8(key, n):
        k_mode, k_noise = jax.random.split(key)
        angle = 2 * jnp.pi * jax.random.randint(k_mode, (n,), 0, 8) / 8
        centres = jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
        return centres + 0.01 * jax.random.normal(k_noise, (n, 2))

    opt = optax.adam(1e-4, b1=0.5, b2=0.999)

    def init(seed):
        k_g, k_d, key = jax.random.split(jax.random.key(seed), 3)
        g, d = init_mlp(k_g, [2, WIDTH, WIDTH, 2]), init_mlp(k_d, [2, WIDTH, WIDTH, 1])
        return (g, d, opt.init(g), opt.init(d)), key

    def step(carry, key):
        g, d, og, od = carry
        k_real, k_z, k_z2 = jax.random.split(key, 3)
        real, fake = ring8(k_real, BATCH), mlp(g, jax.random.normal(k_z, (BATCH, 2)))

        def d_loss(d):
            return jax.nn.softplus(-mlp(d, real)).mean() + jax.nn.softplus(mlp(d, fake)).mean()

        loss_d, grads = jax.value_and_grad(d_loss)(d)
        updates, od = opt.update(grads, od, d)
        d = optax.apply_updates(d, updates)
        z = jax.random.normal(k_z2, (BATCH, 2))
        loss_g, grads = jax.value_and_grad(lambda g: jax.nn.softplus(-mlp(d, mlp(g, z))).mean())(g)
        updates, og = opt.update(grads, og, g)
        return (optax.apply_updates(g, updates), d, og, od), (loss_d, loss_g)

    if name == "jax":

        def train(seed):
            carry, key = init(seed)
            carry, losses = jax.lax.scan(step, carry, jax.random.split(key, steps))
            return carry[0], losses

        mesh = Mesh(np.array(jax.devices()), ("runs",))
        seeds = jax.device_put(
            np.arange(runs, dtype=np.int32), NamedSharding(mesh, PartitionSpec("runs"))
        )
        t0 = time.perf_counter()
        compiled = jax.jit(jax.vmap(train)).lower(seeds).compile()
        t1 = time.perf_counter()
        jax.block_until_ready(compiled(seeds))
        t2 = time.perf_counter()
    else:
        init_j, step_j = jax.jit(init), jax.jit(step)
        t0 = time.perf_counter()
        carry, key = init_j(0)
        jax.block_until_ready(step_j(carry, key))
        t1 = time.perf_counter()
        for seed in range(runs):
            carry, key = init_j(seed)
            for k in jax.random.split(key, steps):
                carry, losses = step_j(carry, k)
            jax.block_until_ready(losses)
        t2 = time.perf_counter()
    print(json.dumps({"compile": t1 - t0, "train": t2 - t1}))


def _torch_child(runs: int, steps: int) -> None:
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.set_num_threads(len(os.sched_getaffinity(0)))

    def mlp(out: int) -> nn.Module:
        return nn.Sequential(
            nn.Linear(2, WIDTH),
            nn.ReLU(),
            nn.Linear(WIDTH, WIDTH),
            nn.ReLU(),
            nn.Linear(WIDTH, out),
        )

    angles = 2 * torch.pi * torch.arange(8) / 8
    centres = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    t0 = time.perf_counter()
    for seed in range(runs):
        torch.manual_seed(seed)
        g, d = mlp(2), mlp(1)
        opt_g = torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.5, 0.999))
        for _ in range(steps):
            real = centres[torch.randint(0, 8, (BATCH,))] + 0.01 * torch.randn(BATCH, 2)
            fake = g(torch.randn(BATCH, 2)).detach()
            loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            loss_g = F.softplus(-d(g(torch.randn(BATCH, 2)))).mean()
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
    print(json.dumps({"compile": None, "train": time.perf_counter() - t0}))


# --------------------------------------------------------------------------- DCGAN


def dcgan(args) -> None:
    print("\n## (c) the DCGAN")
    path = Path(__file__).with_name("dcgan_speed.py")
    if not path.exists():
        print(f"{path.name} is missing")
        return
    res = subprocess.run([sys.executable, str(path)], env=_env(), text=True, cwd=ROOT)
    if res.returncode != 0:
        sys.exit(f"{path.name} failed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--section", action="append", choices=["main", "mog", "dcgan"])
    ap.add_argument("--suite", default="suites/mode_collapse.toml")
    ap.add_argument("--steps", type=int, default=None, help="override the main suite's steps")
    ap.add_argument("--mog-runs", type=int, default=8)
    ap.add_argument("--mog-steps", type=int, default=2000)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _mog_child(args.child, args.mog_runs, args.mog_steps)
    sections = args.section or ["main", "mog", "dcgan"]
    print(f"# benchmarks/speed.py on {machine()}; {time.strftime('%Y-%m-%d %H:%M')}")
    for name in sections:
        {"main": main_job, "mog": mog, "dcgan": dcgan}[name](args)


if __name__ == "__main__":
    main()
