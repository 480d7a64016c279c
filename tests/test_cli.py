"""The CLI through the real typer app: exit codes, messages, files written (or not)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from ganbench.cli import app


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), env={"COLUMNS": "200"})

    return invoke


def test_version_and_help(cli):
    assert cli("--version").output.startswith("ganbench ")
    out = cli("--help").output
    for command in ("run", "validate", "report"):
        assert command in out


def test_env_shows_the_backend_devices_and_versions(cli):
    import jax

    res = cli("env", "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["backend"] == jax.default_backend()
    assert len(report["devices"]) == len(jax.local_devices())
    assert {d["platform"] for d in report["devices"]} == {d.platform for d in jax.local_devices()}
    assert report["jax"] == jax.__version__
    res = cli("env")
    assert res.exit_code == 0 and "backend:" in res.stdout
    assert f"{len(jax.local_devices())} x {jax.local_devices()[0].platform}" in res.stdout


def test_validate_ok(cli):
    res = cli("validate", "suites/mode_collapse.toml")
    assert res.exit_code == 0, res.output
    assert "24 runs" in res.output


def test_bad_suite_exits_2_names_the_key_and_writes_nothing(cli, write_suite, tmp_path):
    path = write_suite('[[variants]]\nname = "h"\nloss = "hinj"\nn_critc = 2\n')
    out = tmp_path / "out"
    for command in (("validate", str(path)), ("run", str(path), "--out", str(out))):
        res = cli(*command)
        assert res.exit_code == 2, res.output
        assert "unknown loss 'hinj'; did you mean 'hinge'?" in res.output
        assert "unknown key 'n_critc'; did you mean 'n_critic'?" in res.output
        assert "Traceback" not in res.output
    assert not out.exists()


def test_bad_override_exits_2(cli, write_suite, tmp_path):
    res = cli("run", str(write_suite()), "--out", str(tmp_path / "o"), "--set", "defaults.z_dim=0")
    assert res.exit_code == 2 and "z_dim" in res.output
    assert not (tmp_path / "o").exists()


def test_dry_run_prints_the_plan_and_writes_nothing(cli, write_suite, tmp_path):
    res = cli("run", str(write_suite()), "--out", str(tmp_path / "o"), "--dry-run")
    assert res.exit_code == 0, res.output
    assert "2 runs: 2 to train in 1 compiled groups" in res.output
    assert "devices:" in res.output
    assert not (tmp_path / "o").exists()


def test_run_writes_the_results_layout_skips_then_forces(cli, write_suite, tmp_path):
    path = write_suite(
        """
        [[variants]]
        name = "ns"
        loss = "non_saturating"

        [[variants]]
        name = "ns-fast"
        loss = "non_saturating"
        optimizer = { name = "adam", lr_g = 3e-3, lr_d = 3e-3, b1 = 0.5 }
        """
    )
    # One seed: the two variants train as one group of two runs, the program of the tiny
    # suite's two seeds (which the compilation cache serves once any test has compiled it).
    out, seeds = tmp_path / "out", ("--seeds", "1")
    res = cli("run", str(path), "--out", str(out), "--no-report", *seeds)
    assert res.exit_code == 0, res.output
    suite_dir = out / "tiny"
    assert (suite_dir / "suite.toml").exists()
    every = sorted((suite_dir / "runs").iterdir())
    assert not any(p.name.startswith(".") for p in every)
    # Beside the 2 runs: the data and chance rows of ring8 at this protocol (3, each of
    # many draws in one folder).
    runs = [p for p in every if not p.name.startswith(("data-", "chance-"))]
    assert len(runs) == 2 and len(every) == 2 + 3
    manifest = json.loads((runs[0] / "manifest.json").read_text())
    for key in (
        "run_id",
        "variant",
        "seed",
        "grid_point",
        "config",
        "status",
        "step",
        "timing",
        "environment",
        "dataset",
    ):
        assert key in manifest
    assert manifest["status"] == "completed" and manifest["step"] == 20
    assert manifest["environment"]["jax"] and manifest["timing"]["compile_seconds"] > 0
    assert manifest["dataset"]["stds"][0] == [0.01, 0.01]
    metrics = pd.read_parquet(runs[0] / "metrics.parquet")
    assert list(metrics.columns[:3]) == ["step", "metric", "value"]
    import numpy as np

    with np.load(runs[0] / "samples.npz", allow_pickle=False) as z:
        assert z["final"].shape == (200, 2) and "step_10" in z.files

    mtimes = {p.name: (p / "manifest.json").stat().st_mtime_ns for p in runs}
    res = cli("run", str(path), "--out", str(out), "--no-report", *seeds)
    assert res.exit_code == 0 and "nothing to do" in res.output
    assert {p.name: (p / "manifest.json").stat().st_mtime_ns for p in runs} == mtimes

    # The same seed again, so that the retrain reuses the program compiled above.
    res = cli("run", str(path), "--out", str(out), "--no-report", "--force", *seeds)
    assert res.exit_code == 0, res.output
    assert len(list((suite_dir / "runs").iterdir())) == 2 + 3
    forced = {p.name: (p / "manifest.json").stat().st_mtime_ns for p in runs}
    assert all(forced[name] != mtimes[name] for name in mtimes)  # every run written again

    res = cli("report", str(out), "--format", "csv", "--metric", "modes,fd")
    assert res.exit_code == 0, res.output
    table = pd.read_csv(__import__("io").StringIO(res.stdout))
    assert set(table["variant"]) == {
        "ns",
        "ns-fast",
        "data: real samples",
        "chance: uniform box",
        "chance: data Gaussian",
    }
    assert {"modes_mean", "modes_std", "fd_mean"} <= set(table.columns)

    res = cli("report", str(out))
    assert res.exit_code == 0 and "ns-fast" in res.output and "modes" in res.output

    # A changed suite (other steps: other run ids) in the same folder: report warns about it.
    res = cli("run", str(path), "--out", str(out), "--steps", "10", *seeds)
    assert res.exit_code == 0, res.output
    assert "Each row: seed 0 (1 run)." in res.stdout  # only this suite's runs, not stale ones
    res = cli("report", str(out))
    assert res.exit_code == 0 and "different configurations share" in res.output

    res = cli("report", str(out), "--metric", "mdoes")
    assert res.exit_code == 2 and "did you mean 'modes'" in res.output


def test_report_on_missing_folder_exits_2(cli, tmp_path):
    res = cli("report", str(tmp_path / "none"))
    assert res.exit_code == 2 and "none" in res.output


def test_run_summary_compares_with_a_variant_named_baseline(cli, write_suite, tmp_path):
    path = write_suite(
        """
        [[variants]]
        name = "baseline"
        loss = "non_saturating"

        [[variants]]
        name = "with-ema"
        loss = "non_saturating"
        ema = { decay = 0.9 }
        """
    )
    res = cli("run", str(path), "--out", str(tmp_path / "o"), "--steps", "10")
    assert res.exit_code == 0, res.output
    assert "Δ modes" in res.stdout and "vs 'baseline'" in res.stdout
    assert "with-ema (EMA G)" in res.stdout  # the averaged generator is a row of its own
    res = cli("report", str(tmp_path / "o"), "--ema", "columns", "-m", "ema/modes", "-f", "csv")
    assert res.exit_code == 0, res.output
    assert "ema/modes_mean" in res.stdout
    res = cli("report", str(tmp_path / "o"), "--ema", "colums")
    assert res.exit_code == 2 and "allowed: rows, columns" in res.output


def test_exit_codes_are_distinct_per_outcome():
    from ganbench import errors

    codes = [errors.EXIT_OK, errors.EXIT_RUN_FAILED, errors.EXIT_BAD_INPUT]
    codes += [errors.EXIT_REGRESSION, errors.EXIT_INTERRUPTED]
    assert len(set(codes)) == len(codes) and codes == [0, 1, 2, 3, 130]


def test_ctrl_c_exits_130_with_a_message(cli, write_suite, tmp_path, monkeypatch):
    """Ctrl-C during training: exit 130 (128 + SIGINT), a one-line message, no traceback."""
    from ganbench.run import schedule

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(schedule, "run_plan", interrupted)
    res = cli("run", str(write_suite()), "--out", str(tmp_path / "out"))
    assert res.exit_code == 130, res.output
    assert "interrupted; finished runs are kept" in res.output and "Traceback" not in res.output


def _all_commands():
    import typer.main

    root = typer.main.get_command(app)
    todo = [((), root)]
    while todo:
        path, command = todo.pop()
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            todo.append(((*path, name), sub))


def test_help_names_values_and_shows_flags_as_flags():
    """No command's help shows a Python type where a value's name belongs (`--force <bool>`,
    `--seeds <int range>`, `--set <list[str]>`), and square brackets in help are text."""
    runner = CliRunner()
    paths = list(_all_commands())
    assert ("run",) in paths and ("data", "extractor") in paths
    for path in paths:
        res = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
        assert res.exit_code == 0, (path, res.output)
        for typed in ("<bool>", "<int", "<float", "<list", "<str>", "<path>"):
            assert typed not in res.output, (path, typed, res.output)
    res = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "80"})
    assert "[profiles.NAME]" in res.output and "--set" in res.output and "KEY=VALUE" in res.output
    assert "Examples:" in res.output
    assert "ganbench run SUITE --set defaults.batch_size=512" in res.output


def test_report_open_shows_the_page_it_wrote(tmp_path, monkeypatch):
    import webbrowser

    from results_folder import write_run

    out = tmp_path / "results"
    write_run(out, "a", rows=[(1000, "modes", 8.0, 100, 100)])
    page = tmp_path / "page.html"
    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda uri: opened.append(uri) or True)
    runner = CliRunner()
    res = runner.invoke(app, ["report", str(out), "--open"], env={"COLUMNS": "200"})
    assert res.exit_code == 2 and "--open" in res.output and "--html" in res.output
    assert opened == []
    res = runner.invoke(app, ["report", str(out), "--html", str(page), "--open"])
    assert res.exit_code == 0, res.output
    assert opened == [page.resolve().as_uri()]
    assert page.resolve().as_uri() in res.output  # the path as a clickable file URI
