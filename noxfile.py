"""Sessions mirror CI: `nox -s tests` is the default and what .ci/run runs."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True


TEST_ENV = {
    "JAX_NUMPY_RANK_PROMOTION": "raise",
    "JAX_PLATFORMS": "cpu",
    "PYTHONDONTWRITEBYTECODE": "",
}
"""Bytecode is written while testing, whatever the machine sets (an empty value is unset): pytest
then keeps each test module as rewritten for its assertion messages (in tests/__pycache__), and a
second run of a checkout collects in 5.3 s per process instead of 8.6-9.6 s (67 test modules,
2-core CPU). A clean checkout rewrites them in each process either way."""


def install(session: nox.Session, *args: str) -> None:
    """``session.install``; every command of the session then writes bytecode as it imports
    (an empty PYTHONDONTWRITEBYTECODE is unset; this project's CI machines set it).

    Without bytecode, each process that imports jax, scipy, pandas and matplotlib compiles them
    from source: 8.5 s to import the test stack on a 2-core CPU, against 3.5 s with bytecode.
    Written on first import, bytecode covers only the modules that run, and every later process
    (a test's own command, the next session's commands) reads it. Compiling every installed
    module at install time instead (uv's UV_COMPILE_BYTECODE) made the install 12.0 s instead
    of 1.8 s: on a clean clone, `nox -s tests` spent 19 s before pytest started, now 6 s."""
    session.install(*args)
    session.env["PYTHONDONTWRITEBYTECODE"] = ""


@nox.session
def tests(session: nox.Session) -> None:
    """Every tier (unit, engine, e2e; slow and peer tests deselected), in two worker processes
    (pytest-xdist): most of the run is XLA compiling, which is single-threaded. Each test file
    runs on one worker (--dist loadfile), so a module-scoped fixture that trains once for the
    file's tests trains once; files go out in tests/conftest.py's order, unit-tier files last
    (--no-loadscope-reorder; see ``scheduled`` there). Prints the 20 slowest tests, so a test
    that grows slow shows up."""
    install(session, "-e", ".[test]")
    args = ("-n", "2", "--dist", "loadfile", "--no-loadscope-reorder", "--durations=20")
    session.run("pytest", *args, *session.posargs, env=TEST_ENV)


@nox.session
def quick(session: nox.Session) -> None:
    """The unit tier only (pure functions, no training loop compiled, no CLI subprocess), in
    one process: the check to run after changing a pure function."""
    install(session, "-e", ".[test]")
    marks = "unit and not slow and not peers"
    session.run("pytest", "-m", marks, "--durations=10", *session.posargs, env=TEST_ENV)


@nox.session
def slow(session: nox.Session) -> None:
    """Only the tests marked slow."""
    install(session, "-e", ".[test]")
    session.run("pytest", "-m", "slow", *session.posargs, env=TEST_ENV)


PEERS = (
    # PyTorch and torchvision at the releases this project's machines hold as wheels (pip takes
    # them from there; elsewhere it downloads them), and the libraries ganbench is checked
    # against. Never dependencies of ganbench itself.
    "torch==2.14.1",
    "torchvision==0.29.1",
    "pytorch-fid==0.3.0",
    "torch-fidelity==0.4.0",
    "clean-fid==0.1.35",
    "transformers==5.25.0",
    "safetensors>=0.4",
)


@nox.session(venv_backend="venv")
def peers(session: nox.Session) -> None:
    """ganbench's features, statistics, FIDs and resizes against the peer libraries' own code
    on the same images and the same (random) weights (tests marked peers). Installed with pip,
    which finds the PyTorch wheels on this project's machines (uv would download them)."""
    session.install("-e", ".[test]", *PEERS)
    session.run("pytest", "-m", "peers", "tests/peers", *session.posargs, env=TEST_ENV)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "ganbench", "tests", "benchmarks", "scripts")


@nox.session
def suites(session: nox.Session) -> None:
    """Validate every shipped suite, run the smoke suite end to end, and run the CIFAR-10
    suite's cpu profile on a CIFAR-format stand-in written here (six tiny files in exactly the
    binary version's format, imported into a data directory of the session's own)."""
    install(session, "-e", ".")
    tmp = session.create_tmp()
    env = {"GANBENCH_DATA": f"{tmp}/data"}
    session.run("python", "scripts/cifar10_standin.py", f"{tmp}/cifar-10-batches-bin")
    session.run("ganbench", "data", "import", "cifar10", f"{tmp}/cifar-10-batches-bin", env=env)
    for suite in sorted(__import__("glob").glob("suites/**/*.toml", recursive=True)):
        session.run("ganbench", "validate", suite, env=env)
    session.run("ganbench", "run", "suites/smoke.toml", "--out", f"{tmp}/smoke")
    session.run("ganbench", "report", f"{tmp}/smoke", "--format", "markdown")
    cifar = ("suites/papers/cifar10.toml", "--profile", "cpu", "--out", f"{tmp}/cifar10")
    session.run("ganbench", "run", *cifar, "--force", env=env)
    session.run("ganbench", "report", f"{tmp}/cifar10", "--format", "markdown")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with mkdocs in strict mode (any warning fails): the pages,
    the API reference from docstrings, and the Python blocks the pages run (the API tour, the
    Parquet snippets, every command's help). Writes the site to the session's tmp folder, or
    to the folder given after `--`."""
    install(session, "-e", ".[docs]")
    site = session.posargs[0] if session.posargs else f"{session.create_tmp()}/site"
    env = {**TEST_ENV, "NO_MKDOCS_2_WARNING": "1"}
    session.run("mkdocs", "build", "--strict", "--site-dir", site, env=env)


@nox.session
def html(session: nox.Session) -> None:
    """The HTML report of the smoke suite, opened in headless Chromium (needs `chromium` on the
    PATH; on Debian: apt-get install chromium): its images must decode, and its training
    players must decode their frames and step through them when the slider moves or play is
    pressed (driven with the playwright package; no browser download). Writes report.html and
    report.png to the session's tmp folder."""
    install(session, "-e", ".", "playwright")
    tmp = session.create_tmp()
    results = f"{tmp}/results"
    session.run("ganbench", "run", "suites/smoke.toml", "--out", results, "--force")
    page = f"{tmp}/report.html"
    session.run("ganbench", "report", results, "--html", page, "--format", "markdown")
    session.run(
        "python", "scripts/check_html.py", page, "--screenshot", f"{tmp}/report.png", "--player"
    )
