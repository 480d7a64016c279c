"""Time and peak memory of ganbench on the hostile inputs of issue 28, each in a fresh process.

Every case builds its input in a temporary folder, runs one `ganbench` command on it and prints
one row: the case, the exit code, the wall time, the peak resident memory of the process and the
first line it printed (the refusal or the warning). The done-when criteria of the issue: each
refused with exit 2 or warned about (exit 0) within 10 s and 1 GB, `report --html` on samples at
the 2 GiB cap under 2 GB, and a 1 MiB suite of any one repeated construct handled within 10 s.

Usage: python benchmarks/hostile_inputs.py [--only SUBSTRING]... [--constructs] [--cap]

``--constructs`` adds the 1 MiB suites (30 processes), ``--cap`` the folder of samples at the cap
(two 2 GiB arrays to compress, a minute). Note the load average: times on a shared machine vary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
GANBENCH = [sys.executable, "-c", "from ganbench.cli import app; app()"]
SMOKE = (ROOT / "suites" / "smoke.toml").read_text(encoding="utf-8")
MIB = 1 << 20


def _suite(folder: Path, text: str, name: str = "s.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _results(folder: Path, runs: int = 2) -> Path:
    from results_folder import write_run

    out = folder / "results"
    for seed in range(runs):
        write_run(out, f"r{seed}", seed=seed, rows=[(1000, "modes", 7.0 + seed, None, 2500)])
    return out


def _search(value: str) -> str:
    return SMOKE + f'\n[search]\ntrials = 2\n"optimizer.lr_g" = "{value}"\n'


def _ref(extra: str) -> str:
    return SMOKE + f'[[reference]]\nvariant = "wgan-gp"\nsource = "s"\n{extra}\n'


def case_validate(text: str, *args: str) -> Callable[[Path], list[str]]:
    return lambda d: ["validate", str(_suite(d, text)), *args]


def _report_suite_toml(text: str | None, link: str | None = None):
    def build(d: Path) -> list[str]:
        out = _results(d)
        target = out / "toy" / "suite.toml"
        if link:
            target.symlink_to(link)
        else:
            target.write_text(text or "", encoding="utf-8")
        return ["report", str(out), "--format", "csv"]

    return build


def _linked(name: str):
    def build(d: Path) -> list[str]:
        out = _results(d)
        bad = out / "toy" / "runs" / "r1" / name
        bad.unlink()
        bad.symlink_to("/dev/zero")
        return ["report", str(out), "--format", "csv"]

    return build


def _non_utf8(d: Path) -> list[str]:
    plain = _results(d)
    target = d / os.fsdecode(b"r\xe9sultats")
    plain.rename(target)
    return ["report", str(target), "--format", "csv"]


def _budget_clash(d: Path) -> list[str]:
    from results_folder import write_run

    out = d / "results"
    for trial in range(3):
        for search in (0, 1):
            write_run(out, f"s{search}t{trial}", trial=trial,
                      rows=[(1000, "modes", 3.0 + trial + search, None, 2500)],
                      grid_point={"optimizer.lr_g": 1e-3 * (trial + 1) * (search + 1)})  # fmt: skip
    (out / "toy" / "suite.toml").write_text("[suite]\nname = 'toy'\n[[variants]]\nname = 'gan'\n")
    return ["report", str(out), "--budget", "modes", "--format", "csv"]


def _hidden_suite(d: Path) -> list[str]:
    out = _results(d)
    for run in (out / "toy" / "runs").iterdir():
        manifest = json.loads((run / "manifest.json").read_text())
        (run / "manifest.json").write_text(json.dumps({**manifest, "suite": ".x"}))
    return ["report", str(out), "--plots", str(d / "plots")]


def _cap(d: Path) -> list[str]:
    from results_folder import write_run
    from test_hostile_surfaces import write_big_samples

    from ganbench.results.read import MAX_SAMPLE_BYTES

    out = d / "results"
    for seed in range(2):
        run = write_run(out, f"r{seed}", seed=seed, rows=[(200, "modes", 7.0, None, 100)])
        write_big_samples(run, (MAX_SAMPLE_BYTES - 100_000) // 16)
    return ["report", str(out), "--html", str(d / "page.html")]


CASES: dict[str, Callable[[Path], list[str]]] = {
    "1 search bound, 8,000 digits": case_validate(_search("uniform(0, " + "1" * 8000 + "x)")),
    "1 search bound, 50 KB of digits": case_validate(_search("uniform(0, " + "1" * 50_000 + "x)")),
    "1 search bound, 1 MiB of digits": case_validate(
        _search("uniform(0, " + "1" * (MIB - len(SMOKE) - 200) + "x)")
    ),
    "2 report --html, samples at the 2 GiB cap": _cap,
    "3 metric ema/ x 2000 (validate)": case_validate(
        _ref(f'metric = "{"ema/" * 2000}modes"\nvalue = 1.0')
    ),
    "3 metric ema/ x 2000 (results suite.toml)": _report_suite_toml(
        "[suite]\nname = 'toy'\n[[variants]]\nname = 'gan'\n[[reference]]\nvariant = 'gan'\n"
        f"metric = '{'ema/' * 2000}modes'\nvalue = 1.0\nsource = 's'\n"
    ),
    "4 static knob, trials = 1": case_validate(
        SMOKE + '\n[search]\ntrials = 1\n"generator.width" = "choice([32, 64])"\n'
    ),
    "4 penalty choice ['r1']": case_validate(
        SMOKE + '\n[search]\ntrials = 4\n"penalty" = "choice([\'r1\'])"\n'
    ),
    "5 [suite] profile written by hand": case_validate(
        SMOKE.replace('name = "smoke"\n', 'name = "smoke"\nprofile = "a"\n')
        + "\n[profiles.a]\nsuite = { steps = 100 }\n"
    ),
    "6 reference 1e308 +- 1e308 (se, n = 1e6)": case_validate(
        _ref('metric = "modes"\nvalue = 1e308\nuncertainty = 1e308\nkind = "se"\nn = 1000000')
    ),
    '7 --set search."optimizer.lr_g" (accepted)': case_validate(
        SMOKE + '\n[search]\ntrials = 3\n"optimizer.b1" = "uniform(0, 0.9)"\n',
        "--set",
        'search."optimizer.lr_g"=loguniform(1e-5, 1e-2)',
    ),
    "7 a profile's search (accepted)": case_validate(
        SMOKE
        + '\n[profiles.wide.search]\ntrials = 4\n"optimizer.lr_d" = "loguniform(1e-5, 1e-2)"\n',
        "--profile",
        "wide",
    ),
    "8 bound of 200,000 digits": case_validate(_search("uniform(0, " + "9" * 200_000 + ")")),
    "8 run in a non-UTF-8 folder": _non_utf8,
    "8 manifest linked to /dev/zero": _linked("manifest.json"),
    "8 results suite.toml linked to /dev/zero": _report_suite_toml(None, "/dev/zero"),
    "8 results suite.toml naming unknown variants": _report_suite_toml(
        "[suite]\nname = 'toy'\n[[variants]]\nname = 'other'\n[[reference]]\nvariant = 'gann'\n"
        "metric = 'modes'\nvalue = 1.0\nsource = 's'\n"
    ),
    "8 --budget, two searches in one folder": _budget_clash,
    "8 metric ema/ema/modes": case_validate(_ref('metric = "ema/ema/modes"\nvalue = 1.0')),
    "8 suite named '.x' (figures)": _hidden_suite,
}


def _fill(unit: str, head: str = "", tail: str = "") -> str:
    room = MIB - len(SMOKE.encode()) - len(head) - len(tail) - 1000
    return SMOKE + head + unit * (room // len(unit)) + tail


def _units(units, head: str = "") -> str:
    room, out = MIB - len(SMOKE.encode()) - len(head) - 1000, []
    for unit in units:
        room -= len(unit)
        if room < 0:
            break
        out.append(unit)
    return SMOKE + head + "".join(out)


CONSTRUCTS = {
    "search digits": _fill("1", '\n[search]\ntrials = 2\n"optimizer.lr_g" = "uniform(0, ', 'x)"\n'),
    "choice values": _fill("1,", '\n[search]\ntrials = 2\n"optimizer.lr_g" = "choice([', '1])"\n'),
    "grid values": _fill("1e-3, ", '[grid]\n"optimizer.lr_g" = [', "1e-3]\n"),
    "blank lines": _fill("\n"),
    "same variant": _fill('[[variants]]\nname = "v"\nloss = "hinge"\n'),
    "variants": _units(f'[[variants]]\nname = "v{i}"\nloss = "hinge"\n' for i in range(99_999)),
    "unknown default keys": SMOKE.replace(
        "[defaults]\n",
        "[defaults]\n" + _units(f"k{i} = 1\n" for i in range(10**6))[len(SMOKE) :],
        1,
    ),
    "profile keys": _units((f"k{i} = 1\n" for i in range(10**6)), "[profiles.a.defaults]\n"),
    "search knobs": _units(
        (f'"optimizer.k{i}" = "uniform(0, 1)"\n' for i in range(99_999)), "\n[search]\ntrials = 2\n"
    ),
    "ema prefixes": _fill(
        "ema/",
        '[[reference]]\nvariant = "wgan-gp"\nmetric = "',
        'modes"\nvalue = 1.0\nsource = "s"\n',
    ),
    "references": _fill(
        '[[reference]]\nvariant = "wgan-gp"\nmetric = "modes"\nvalue = 1.0\nsource = "s"\n'
    ),
}


def run_case(name: str, build: Callable[[Path], list[str]]) -> None:
    """One fresh process under GNU time (its peak resident set size)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = build(Path(tmp))
        peak_file = Path(tmp) / "peak"
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(peak_file), *GANBENCH, *args],
                              capture_output=True, text=True, cwd=tmp, errors="replace",
                              env={**os.environ, "COLUMNS": "200"})  # fmt: skip
        wall = time.perf_counter() - start
        peak_kb = int(peak_file.read_text().split()[-1])
    said = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    first = next((x for x in said if x.startswith(("error", "warning"))), said[0] if said else "")
    trace = " TRACEBACK" if "Traceback" in done.stderr else ""
    print(f"| {name} | {done.returncode}{trace} | {wall:.1f} s | {peak_kb / 1024:.0f} MB | "
          f"{first[:110].replace('|', '/')} |", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--constructs", action="store_true")
    parser.add_argument("--cap", action="store_true")
    options = parser.parse_args()
    cases = {k: v for k, v in CASES.items() if options.cap or not k.startswith("2 ")}
    if options.constructs:
        for name, text in CONSTRUCTS.items():
            cases[f"1 MiB: {name}"] = case_validate(text)
    if options.only:
        cases = {k: v for k, v in cases.items() if any(o in k for o in options.only)}
    print(f"{time.strftime('%Y-%m-%d')} on {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at the start\n")  # fmt: skip
    print("| case | exit | wall | peak memory | first line printed |")
    print("|---|---|---:|---:|---|")
    for name, build in cases.items():
        run_case(name, build)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
