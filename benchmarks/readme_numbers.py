"""Re-measure the numbers the README states: times, peak memory, tables.

Each job runs as a fresh process, one after another, and the script prints one markdown table
(job, command, wall time, peak memory, load average when it started) headed by the date, the
machine and the versions, so the README's figures come from a script rather than by hand. Suite
jobs also write their `ganbench report --format markdown` table, and benchmark jobs their
output, to --out (one file per job), from which the README's tables are copied.

Suite jobs train from a cold compilation cache (a fresh $GANBENCH_COMPILE_CACHE each), as a
first run on a new machine does. Image jobs need MNIST: --mnist DIR imports it (from files you
already have) into a fresh data directory, whose classifier is then trained on first use, so
that job's time includes it; without --mnist they are skipped.

Usage: python benchmarks/readme_numbers.py [--only JOB]... [--skip JOB]... [--out DIR]
                                            [--mnist DIR] [--list]

Run it on a quiet machine: it warns when the load average exceeds 0.5 before a job.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GANBENCH = [PY, "-c", "from ganbench.cli import app; app()"]


@dataclass(frozen=True)
class Job:
    name: str
    argv: tuple[str, ...]
    backs: str  # which README statement the job measures
    suite: str | None = None  # the results folder to report, for suite jobs
    images: bool = False  # needs MNIST
    report: tuple[str, ...] = ("--format", "markdown")  # options of the suite's report


def _run_suite(
    name: str,
    backs: str,
    images: bool = False,
    folder: str = "suites",
    *options: str,
    report: tuple[str, ...] = ("--format", "markdown"),
) -> Job:
    return Job(
        name,
        (
            *GANBENCH,
            "run",
            f"{folder}/{name}.toml",
            "--out",
            "{out}/results",
            "--no-report",
            *options,
        ),
        backs,
        suite=name,
        images=images,
        report=report,
    )


SMALL_SCALING = ("--width", "32", "--batch", "64", "--devices", "2", "--runs", "1,8,64")
SMALL_SCALING += ("--modes", "both")

JOBS = [
    _run_suite(
        "mode_collapse",
        "Quick start: the main job's time and memory; its table; its HTML page's size",
        report=("--format", "markdown", "--html", "{out}/mode_collapse.html"),
    ),
    Job(
        "tests",
        (PY, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider"),
        "Quick start: the test run's time (nox -s tests runs the same pytest command)",
    ),
    _run_suite("stabilizers", "Comparing stabilisers: time and table"),
    _run_suite(
        "search_study",
        "Is one objective better at every search budget: time and budget table",
        report=("--format", "markdown", "--budget", "modes"),
    ),
    _run_suite("imbalance", "Rare modes: time and table"),
    _run_suite("dirac", "The Dirac-GAN: time and table", False, "suites/papers"),
    _run_suite("numerics", "The Numerics of GANs: time, memory and table", False, "suites/papers"),
    _run_suite("mnist_dcgan", "Image GANs: time (classifier trained first) and table", True),
    _run_suite("stacked_mnist", "Stacked MNIST: time and table", True),
    Job("speed", (PY, "benchmarks/speed.py"), "Throughput: speed.py's tables"),
    Job("scheme_cost", (PY, "benchmarks/scheme_cost.py"), "What each remedy costs"),
    Job("scaling", (PY, "benchmarks/scaling.py"), "Scaling with runs per group and devices"),
    Job(
        "scaling_small",
        (PY, "benchmarks/scaling.py", *SMALL_SCALING),
        "Scaling: the price of --exact-runs at small networks",
    ),
]


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import jax

    return (
        f"{model}, {len(os.sched_getaffinity(0))} cores, {platform.machine()}, "
        f"Python {platform.python_version()}, jax {jax.__version__} ({jax.default_backend()})"
    )


# Runs a command and writes the peak resident memory of its process tree (KiB) to a file: a
# fresh launcher per job, so each job's peak is its own.
LAUNCHER = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[2:]); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
    "sys.exit(r.returncode)"
)


def run_job(job: Job, out: Path, env: dict[str, str]) -> tuple[float, float | None, float]:
    """Wall seconds, peak resident memory of the job's processes (MiB) and the load average
    before it."""
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: load average {load:.2f} before {job.name}", file=sys.stderr)
    argv = [a.replace("{out}", str(out)) for a in job.argv]
    env = {**env, "GANBENCH_COMPILE_CACHE": str(out / f"xla-{job.name}")}
    peak_file = out / f"{job.name}.peak"
    t0 = time.perf_counter()
    with open(out / f"{job.name}.log", "w") as log:
        res = subprocess.run(
            [PY, "-c", LAUNCHER, str(peak_file), *argv],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    wall = time.perf_counter() - t0
    peak = int(peak_file.read_text()) / 1024 if peak_file.exists() else None
    if res.returncode != 0:
        print(
            f"{job.name} failed (exit {res.returncode}); see {out / job.name}.log", file=sys.stderr
        )
    if job.suite:
        options = [a.replace("{out}", str(out)) for a in job.report]
        report = subprocess.run(
            [*GANBENCH, "report", str(out / "results" / job.suite), *options],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        text = report.stdout
        if "--html" in options:
            page = Path(options[options.index("--html") + 1])
            if page.is_file():
                text += f"\nHTML page: {page.stat().st_size / 1e6:.2f} MB ({page})\n"
        (out / f"{job.suite}.md").write_text(text)
    return wall, peak, load


def _duration(seconds: float) -> str:
    minutes, s = divmod(round(seconds), 60)
    return f"{minutes} min {s} s" if minutes else f"{seconds:.1f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", action="append", default=[], help="run only these jobs")
    ap.add_argument("--skip", action="append", default=[], help="skip these jobs")
    ap.add_argument("--out", default=None, help="folder for logs, results and tables")
    ap.add_argument("--mnist", default=None, help="folder with the four MNIST files")
    ap.add_argument("--list", action="store_true", help="list the jobs and exit")
    args = ap.parse_args()
    if args.list:
        for job in JOBS:
            print(f"{job.name:<14} {job.backs}")
        return
    names = {j.name for j in JOBS}
    unknown = [n for n in args.only + args.skip if n not in names]
    if unknown:
        sys.exit(f"unknown job(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    out = Path(args.out or tempfile.mkdtemp(prefix="ganbench-readme-"))
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("XLA_FLAGS", None)
    if args.mnist:
        data = out / "data"
        shutil.rmtree(data, ignore_errors=True)
        env["GANBENCH_DATA"] = str(data)
        subprocess.run([*GANBENCH, "data", "import", "mnist", args.mnist], env=env, check=True)
    jobs = [
        j
        for j in JOBS
        if (not args.only or j.name in args.only)
        and j.name not in args.skip
        and (args.mnist or not j.images)
    ]
    print(f"Measured {time.strftime('%Y-%m-%d')} on {machine()}; outputs in {out}\n")
    print("| job | command | wall | peak memory | load before | backs |")
    print("|---|---|---:|---:|---:|---|")
    for job in jobs:
        wall, peak, load = run_job(job, out, env)
        command = " ".join(job.argv).replace("{out}", "OUT")
        command = command.replace(" ".join(GANBENCH), "ganbench").replace(PY, "python")
        peak_text = f"{peak / 1024:.1f} GB" if peak else "-"
        print(
            f"| {job.name} | `{command}` | {_duration(wall)} | {peak_text} | {load:.2f} | "
            f"{job.backs} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
