"""The persistent compilation cache of `ganbench run`: where it lives, and that a second run of
a suite compiles nothing new and gives the same numbers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ganbench.run import compile_cache

SUITE = """
[suite]
name = "cached"
seeds = 2
steps = 20
eval_every = 10

[defaults]
dataset = "ring8"
batch_size = 16
z_dim = 2
generator = { width = 8, depth = 1 }
discriminator = { width = 8, depth = 1 }
optimizer = { name = "adam", lr_g = 1e-3, lr_d = 1e-3 }

[metrics]
samples = 100

[[variants]]
name = "ns"
loss = "non_saturating"
"""


def test_cache_folder_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv(compile_cache.ENV_VAR, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert compile_cache.cache_dir() == tmp_path / "home" / ".cache" / "ganbench" / "xla"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert compile_cache.cache_dir() == tmp_path / "home" / ".cache" / "ganbench" / "xla"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compile_cache.cache_dir() == tmp_path / "xdg" / "ganbench" / "xla"
    monkeypatch.setenv(compile_cache.ENV_VAR, "~/elsewhere")
    assert compile_cache.cache_dir() == tmp_path / "home" / "elsewhere"
    for off in ("off", "OFF", "0", "false", "no"):
        monkeypatch.setenv(compile_cache.ENV_VAR, off)
        assert compile_cache.cache_dir() is None


def _run(tmp_path: Path, cache: str, out: str) -> subprocess.CompletedProcess:
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    env = {**os.environ, "JAX_PLATFORMS": "cpu", compile_cache.ENV_VAR: cache}
    env["HOME"] = str(tmp_path / "home")  # where the default folder would be
    env.pop("XDG_CACHE_HOME", None)
    env.pop("XLA_FLAGS", None)
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    cmd = [sys.executable, "-c", "from ganbench.cli import app; app()", "run", str(suite)]
    cmd += ["--out", str(tmp_path / out), "--no-report", "--force", "--host-devices", "2"]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return res


def _metrics(folder: Path, runs: int = 2) -> dict[str, pd.DataFrame]:
    """The training runs' metrics in a suite's folder, by run id (the data and chance rows
    beside them train nothing)."""
    found = sorted(p for p in (folder / "runs").iterdir() if "-" not in p.name)
    assert len(found) == runs
    return {p.name: pd.read_parquet(p / "metrics.parquet") for p in found}


def test_a_suite_trained_again_in_this_process_reads_every_program_from_the_cache(write_suite):
    """What a second ``ganbench run`` does, in this process (whose cache tests/conftest.py
    turned on, as ``ganbench run`` does): the tiny suite trained again with ``force`` compiles
    nothing new. Its group's programs (init, chunk, evaluate) are read from the cache (JAX's
    cache-hit events), none is written (a write is JAX's miss event), and every run's metrics
    are the same. The slow run checks the same through the command, in fresh processes with a
    cache folder of their own."""
    import jax.monitoring

    import ganbench

    path = write_suite()
    out = path.parent / "out"
    ganbench.run_suite(path, out=out)
    first = _metrics(out / "tiny")
    events: list[str] = []
    listen = lambda name, **_: events.append(name)  # noqa: E731
    jax.monitoring.register_event_listener(listen)
    try:
        ganbench.run_suite(path, out=out, force=True)
    finally:
        jax.monitoring.unregister_event_listener(listen)
    assert events.count("/jax/compilation_cache/cache_hits") >= 3, events
    assert "/jax/compilation_cache/cache_misses" not in events
    second = _metrics(out / "tiny")
    assert first.keys() == second.keys()
    for run_id, frame in first.items():
        pd.testing.assert_frame_equal(frame, second[run_id])


@pytest.mark.slow  # the default run checks the same in its own process (above)
def test_a_second_run_compiles_nothing_new_and_gives_the_same_numbers(tmp_path):
    cache = tmp_path / "xla"
    _run(tmp_path, str(cache), "first")
    entries = sorted(p.name for p in cache.iterdir())
    assert entries, "the first run wrote no compiled program"
    _run(tmp_path, str(cache), "second")
    assert sorted(p.name for p in cache.iterdir()) == entries  # every program was a hit
    first, second = (
        _metrics(tmp_path / "first" / "cached"),
        _metrics(tmp_path / "second" / "cached"),
    )
    assert first.keys() == second.keys()
    for run_id, frame in first.items():
        pd.testing.assert_frame_equal(frame, second[run_id])


def test_off_leaves_jax_without_a_cache_folder(monkeypatch, tmp_path):
    """``enable`` (what ``ganbench run`` calls before compiling) with the cache turned off:
    nothing configured, no folder made. The slow run checks the same through the command."""
    import jax

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    saved = jax.config.jax_compilation_cache_dir  # the test process's own cache
    jax.config.update("jax_compilation_cache_dir", None)
    try:
        for off in ("off", "0"):
            monkeypatch.setenv(compile_cache.ENV_VAR, off)
            assert compile_cache.enable() is None
            assert not jax.config.jax_compilation_cache_dir
        monkeypatch.setenv(compile_cache.ENV_VAR, str(tmp_path / "on"))
        assert compile_cache.enable() == tmp_path / "on"
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "on")
        assert compile_cache.enable(tmp_path / "other") == tmp_path / "on"  # a folder set wins
    finally:
        jax.config.update("jax_compilation_cache_dir", saved)
    assert not (tmp_path / "home").exists()


@pytest.mark.slow
def test_the_cache_can_be_turned_off(tmp_path):
    _run(tmp_path, "off", "out")
    assert not (tmp_path / "home" / ".cache").exists()
    assert len(_metrics(tmp_path / "out" / "cached")) == 2
