"""Suite profiles: ``[profiles.<name>]`` overrides chosen with ``--profile``.

A profile's values replace the document's, ``--set``/``--seeds``/``--steps`` replace the
profile's, and the suite as written is untouched by the profiles it defines. Run ids of a suite
without a profile are those of the release before profiles (pinned below); a profile's runs have
ids of their own. Bad profiles exit 2 naming the file and ``profiles.<name>.<key>``.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from conftest import DEFAULT_VARIANTS
from results_folder import write_run
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.config import load_suite
from ganbench.config.expand import make_run_id, run_identity
from ganbench.errors import ConfigError
from ganbench.metrics.names import is_baseline_row
from ganbench.report import filter_results, read_results, summarize, versus_baseline

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "suites").glob("**/*.toml"))

SMOKE_IDS = ["d5d88b2c4287", "74f30140754b", "65684c7da9b7", "bc86e5995c33"]
"""Run ids of suites/smoke.toml before profiles existed (``ganbench`` at the parent commit)."""

PROFILES = """
[profiles.cpu]
description = "a smaller budget"
suite = { steps = 10, seeds = 1, eval_every = 5 }
metrics = { samples = 100 }

[profiles.tuned]
defaults = { optimizer = { lr_d = 4e-3 } }
grid = { dataset = ["grid25"] }

[profiles.tuned.variants.wgan]
n_critic = 3

[profiles.same]
suite = { steps = 10, seeds = 1, eval_every = 5 }
metrics = { samples = 100 }
"""

VARIANTS = """
[[variants]]
name = "ns"
loss = "non_saturating"

[[variants]]
name = "wgan"
loss = "wasserstein"
penalty = { name = "gp" }

[grid]
dataset = ["ring8", "grid25"]
"""


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), env={"COLUMNS": "200"})

    return invoke


@pytest.fixture
def profiled(write_suite):
    """The tiny suite (2 seeds, 20 steps, 200 samples) with two variants, a grid and profiles."""
    return write_suite(VARIANTS + PROFILES)


def _plain(path: Path, tmp_path: Path) -> Path:
    """The same suite without its [profiles] tables."""
    text = path.read_text()
    plain = tmp_path / "plain.toml"
    plain.write_text(text[: text.index("[profiles.cpu]")])
    return plain


# --------------------------------------------------------------------------- expansion


def test_the_default_is_the_suite_as_written(profiled, tmp_path):
    with_profiles = load_suite(profiled)
    without = load_suite(_plain(profiled, tmp_path))
    assert [r.run_id for r in with_profiles.runs] == [r.run_id for r in without.runs]
    assert len(with_profiles.runs) == 2 * 2 * 2
    assert {(r.steps, r.eval_every, r.metrics.samples) for r in with_profiles.runs} == {
        (20, 10, 200)
    }
    assert all(r.profile is None for r in with_profiles.runs)
    assert with_profiles.file.suite.profile is None


def test_profile_values_override_the_document(profiled):
    suite = load_suite(profiled, profile="cpu")
    assert len(suite.runs) == 2 * 2 * 1  # variants x datasets x the profile's one seed
    assert {(r.steps, r.eval_every, r.metrics.samples, r.seed) for r in suite.runs} == {
        (10, 5, 100, 0)
    }
    assert {r.profile for r in suite.runs} == {"cpu"}
    # Everything the profile does not name is the document's.
    assert {r.config.batch_size for r in suite.runs} == {32}
    assert suite.file.metrics.hq_threshold == 3.0


def test_defaults_variants_and_grid_merge_as_in_the_document(profiled):
    suite = load_suite(profiled, profile="tuned")
    # grid.dataset replaced: grid25 only; 2 variants x 1 dataset x 2 seeds.
    assert {r.grid_point["dataset"] for r in suite.runs} == {"grid25"} and len(suite.runs) == 4
    for r in suite.runs:
        # defaults.optimizer merged leaf by leaf: lr_d from the profile, the rest kept.
        assert r.config.optimizer.lr_d == 4e-3
        assert r.config.optimizer.lr_g == 1e-3 and r.config.optimizer.knobs()["b1"] == 0.5
    assert {r.variant: r.config.n_critic for r in suite.runs} == {"ns": 1, "wgan": 3}
    # The variant's own keys that the profile does not name stay.
    assert {r.config.penalty.name for r in suite.runs if r.variant == "wgan"} == {"gp"}


def test_command_line_overrides_win_over_the_profile(profiled):
    suite = load_suite(
        profiled,
        profile="cpu",
        overrides=["metrics.samples=150", "suite.eval_every=2"],
        seeds=3,
        steps=4,
    )
    assert {(r.steps, r.eval_every, r.metrics.samples) for r in suite.runs} == {(4, 2, 150)}
    assert sorted({r.seed for r in suite.runs}) == [0, 1, 2]
    assert {r.profile for r in suite.runs} == {"cpu"}


def test_the_expanded_document_records_the_profile_and_keeps_the_table(profiled):
    suite = load_suite(profiled, profile="cpu")
    assert suite.raw["suite"]["profile"] == "cpu"
    assert suite.raw["suite"]["steps"] == 10
    assert set(suite.raw["profiles"]) == {"cpu", "tuned", "same"}


def test_the_written_document_reproduces_the_profiles_run_ids(profiled, tmp_path):
    """suite.toml beside the results is the document as run: loading it again, with or without
    --profile of the same name, gives the same runs; another profile is refused."""
    import tomli_w

    suite = load_suite(profiled, profile="cpu", overrides=["metrics.samples=120"])
    written = tmp_path / "written.toml"
    written.write_text(tomli_w.dumps(suite.raw))
    ids = [r.run_id for r in suite.runs]
    assert [r.run_id for r in load_suite(written).runs] == ids
    assert [r.run_id for r in load_suite(written, profile="cpu").runs] == ids
    with pytest.raises(ConfigError, match=r"expanded with profile 'cpu'.*--profile 'tuned'"):
        load_suite(written, profile="tuned")


# --------------------------------------------------------------------------- run ids


def test_smoke_run_ids_are_those_of_the_release_before_profiles():
    assert [r.run_id for r in load_suite(ROOT / "suites" / "smoke.toml").runs] == SMOKE_IDS


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_no_profile_means_no_profile_in_any_shipped_run_identity(path):
    """Without --profile the identity holds exactly the keys it held before profiles, so the
    hash (the run id) is unchanged; a search's trials add their trial index."""
    for run in load_suite(path).runs:
        identity = run.identity()
        searched = {"trial"} if run.trial is not None else set()
        assert set(identity) == {"config", "seed", "steps", "eval_every", "metrics", *searched}
        assert run.run_id == make_run_id(identity)


def test_a_profile_changes_the_run_ids(profiled):
    plain = load_suite(
        profiled,
        overrides=["suite.eval_every=5", "metrics.samples=100"],
        seeds=1,
        steps=10,
    )
    cpu = load_suite(profiled, profile="cpu")
    same = load_suite(profiled, profile="same")
    # Identical settings (same resolved configs, seeds, steps, metrics) ...
    assert [r.identity()["config"] for r in plain.runs] == [
        r.identity()["config"] for r in cpu.runs
    ]
    assert [(r.steps, r.seed, r.metrics) for r in plain.runs] == [
        (r.steps, r.seed, r.metrics) for r in cpu.runs
    ]
    # ... but distinct runs: with a profile, and between two profiles.
    plain_ids, cpu_ids, same_ids = (
        [r.run_id for r in s.runs] for s in (plain, cpu, same)
    )  # fmt: skip
    assert not set(plain_ids) & set(cpu_ids)
    assert not set(cpu_ids) & set(same_ids)
    # The id is the hash of the identity with the profile's name added, and nothing else.
    for p, c in zip(plain.runs, cpu.runs, strict=True):
        expected = {**p.identity(), "profile": "cpu"}
        blob = json.dumps(expected, sort_keys=True, separators=(",", ":"), default=str)
        assert c.run_id == hashlib.sha256(blob.encode()).hexdigest()[:12]
        assert c.identity() == run_identity(
            c.config, c.seed, c.steps, c.eval_every, c.metrics, "cpu"
        )


# --------------------------------------------------------------------------- bad input


def _problems(path, **kw) -> str:
    with pytest.raises(ConfigError) as info:
        load_suite(path, **kw)
    return str(info.value)


def test_unknown_profile_names_the_file_and_lists_the_profiles(profiled, cli, tmp_path):
    out = tmp_path / "out"
    for command in ("run", "validate"):
        args = [command, str(profiled), "--profile", "cpus"]
        res = cli(*args, *(["--out", str(out)] if command == "run" else []))
        assert res.exit_code == 2, res.output
        text = " ".join(res.output.split())
        assert str(profiled.name) in text
        assert "--profile 'cpus': no such profile; did you mean 'cpu'?" in text
        assert "profiles: cpu, tuned, same" in text
        assert "Traceback" not in res.output
    assert not out.exists()


def test_a_suite_without_profiles_says_so(write_suite):
    text = _problems(write_suite(), profile="cpu")
    assert "no such profile" in text and "defines no profiles" in text


@pytest.mark.parametrize(
    ("body", "key", "allowed"),
    [
        ("suite = { stepz = 10 }", "profiles.cpu.suite.stepz", "allowed: seeds, steps, eval_every"),
        ("suite = { name = 'x' }", "profiles.cpu.suite.name", "allowed: seeds, steps, eval_every"),
        (
            "metrics = { sample = 10 }",
            "profiles.cpu.metrics.sample",
            "did you mean 'samples'? allowed: samples, hq_threshold",
        ),
        ("budget = 3", "profiles.cpu.budget", "allowed: description, suite, metrics, defaults"),
        ("defaults = { batch_sise = 3 }", "profiles.cpu.defaults.batch_sise", "did you mean"),
        (
            "variants = { wgn = { n_critic = 2 } }",
            "profiles.cpu.variants.wgn",
            "variants: ns, wgan",
        ),
        ("metrics = 3", "profiles.cpu.metrics", "must be a table"),
    ],
)
def test_unknown_keys_exit_2_naming_the_profile_key(write_suite, cli, tmp_path, body, key, allowed):
    path = write_suite(VARIANTS + f"\n[profiles.cpu]\n{body}\n")
    out = tmp_path / "out"
    # Refused with and without --profile: a profile's keys are part of the suite format.
    for extra in ([], ["--profile", "cpu"]):
        res = cli("run", str(path), "--out", str(out), *extra)
        assert res.exit_code == 2, res.output
        text = " ".join(res.output.split())
        assert f"{path.name}:" in text and f"{key}:" in text and allowed in text, text
    assert not out.exists()


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ("suite = { steps = 0 }", "profiles.cpu.suite.steps", "allowed: [1, 100,000,000]; got 0"),
        ("metrics = { samples = 'many' }", "profiles.cpu.metrics.samples", "valid integer"),
        ("defaults = { z_dim = -1 }", "profiles.cpu.defaults.z_dim", "greater than or equal"),
        (
            "variants = { wgan = { n_critic = 0 } }",
            "profiles.cpu.variants.wgan.n_critic",
            "allowed: [1, 100]; got 0",
        ),
        ("grid = { dataset = ['ring9'] }", "grid.dataset", "unknown dataset 'ring9'"),
    ],
)
def test_bad_values_exit_2_naming_the_profile_key(write_suite, cli, tmp_path, body, key, message):
    path = write_suite(VARIANTS + f"\n[profiles.cpu]\n{body}\n")
    if body.startswith(("suite", "metrics")):
        # Small tables: every profile's are checked on every load, chosen or not.
        assert key in _problems(path)
    else:
        # Checked when the profile is expanded: the suite as written runs.
        assert load_suite(path).runs
    out = tmp_path / "out"
    res = cli("run", str(path), "--out", str(out), "--profile", "cpu")
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "problem" in text
    assert f"{path.name}:" in text and f"{key}:" in text and message in text, text
    assert not out.exists()
    # validate checks every profile of a suite, chosen or not.
    res = cli("validate", str(path))
    assert res.exit_code == 2 and key in " ".join(res.output.split())


def test_the_profile_key_is_located_on_its_line(write_suite):
    path = write_suite(
        VARIANTS + "\n[profiles.cpu]\nsuite = { steps = 10 }\nmetrics = { sample = 1 }\n"
    )
    line = next(
        n for n, text in enumerate(path.read_text().splitlines(), 1) if "sample = 1" in text
    )
    assert f"{path}:{line}: profiles.cpu.metrics.sample:" in _problems(path)
    # A key of [defaults], checked once the profile is expanded, is located too.
    path = write_suite(VARIANTS + "\n[profiles.cpu]\n\ndefaults = { z_dim = 0 }\n", name="b.toml")
    assert f"{path}:{line}: profiles.cpu.defaults.z_dim:" in _problems(path, profile="cpu")


def test_a_profile_that_breaks_another_key_says_which_profile(write_suite):
    # eval_every (10, the document's) must divide the profile's steps: the problem is at the
    # document's key, and the message says which profile made it one.
    path = write_suite(VARIANTS + "\n[profiles.odd]\nsuite = { steps = 15 }\n")
    text = _problems(path, profile="odd")
    assert "with profile 'odd'" in text and "eval_every (10) must divide steps (15)" in text


def test_profiles_are_not_set_from_the_command_line(profiled):
    for item in ("profiles.cpu.suite.steps=3", "suite.profile=cpu"):
        assert "chosen with --profile" in _problems(profiled, overrides=[item])


def test_suite_profile_must_name_a_profile(write_suite):
    path = write_suite(
        text=textwrap.dedent(
            """
            [suite]
            name = "tiny"
            steps = 10
            eval_every = 5
            profile = "cpu"

            [defaults]
            dataset = "ring8"
            batch_size = 8
            z_dim = 2
            optimizer = { name = "adam", lr_g = 1e-3, lr_d = 1e-3 }

            [[variants]]
            name = "ns"
            loss = "non_saturating"
            """
        )
    )
    text = _problems(path)
    assert "suite.profile: 'cpu' names no profile of this suite" in text


@pytest.mark.parametrize("name", ["a.b", "has space", "x" * 101, "é"])
def test_hostile_profile_names_are_refused(write_suite, name):
    key = json.dumps(name)
    path = write_suite(VARIANTS + f"\n[profiles.{key}]\nsuite = {{ steps = 10 }}\n")
    assert "profile names are" in _problems(path)


def test_profile_count_is_bounded(write_suite):
    tables = "".join(f"\n[profiles.p{i}]\nsuite = {{ steps = 10 }}\n" for i in range(65))
    assert "at most 64 profiles, got 65" in _problems(write_suite(VARIANTS + tables))


def test_the_run_limit_applies_to_the_expanded_suite(write_suite):
    # 2 variants x 2 datasets x 30,000 seeds = 120,000 runs > MAX_RUNS, from the profile alone;
    # refused before the grid is expanded.
    path = write_suite(VARIANTS + "\n[profiles.huge]\nsuite = { seeds = 30000 }\n")
    assert len(load_suite(path).runs) == 8
    text = _problems(path, profile="huge")
    assert "expands to 120,000 runs" in text and "at most 100,000 runs" in text


# --------------------------------------------------------------------------- CLI


def test_run_help_lists_profile(cli):
    res = cli("run", "--help")
    assert res.exit_code == 0 and "--profile" in res.output


def test_dry_run_and_validate_name_the_profile(profiled, cli, tmp_path):
    res = cli("run", str(profiled), "--profile", "cpu", "--dry-run", "--out", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert ", profile cpu" in text and "4 runs: 4 to train" in text
    assert not (tmp_path / "o").exists()
    res = cli("validate", str(profiled))
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "= 8 runs" in text
    assert "profile 'cpu': 4 runs of 10 steps (1 seeds, evaluated every 5, 100 samples)" in text
    assert "profile 'tuned': 4 runs of 20 steps" in text


def test_a_profiled_run_records_its_profile(write_suite, cli, tmp_path):
    """A real (tiny) run: the manifest records the profile, suite.toml keeps the profiles and
    names the one used, and runs of the suite as written land beside them."""
    path = write_suite(
        DEFAULT_VARIANTS + "\n[profiles.short]\nsuite = { steps = 4, eval_every = 2, seeds = 1 }\n"
        "metrics = { samples = 50 }\n"
    )
    out = tmp_path / "out"
    common = ["--out", str(out), "--no-report", "--host-devices", "1"]
    res = cli("run", str(path), "--profile", "short", *common)
    assert res.exit_code == 0, res.output
    res = cli("run", str(path), "--seeds", "1", "--steps", "4", "--set", "suite.eval_every=2",
              "--set", "metrics.samples=50", *common)  # fmt: skip
    assert res.exit_code == 0, res.output
    everything = [
        json.loads(p.read_text()) for p in (out / "tiny" / "runs").glob("*/manifest.json")
    ]
    manifests = [m for m in everything if not is_baseline_row(m["variant"])]
    assert sorted((m["profile"] or "-", m["step"]) for m in manifests) == [("-", 4), ("short", 4)]
    # The data and chance rows beside each profile's runs carry that profile too.
    references = [m for m in everything if is_baseline_row(m["variant"])]
    assert {m["profile"] for m in references} == {None, "short"}
    profiled_id = next(m["run_id"] for m in manifests if m["profile"] == "short")
    assert profiled_id == load_suite(path, profile="short").runs[0].run_id
    written = tomllib.loads((out / "tiny" / "suite.toml").read_text())
    assert written["profiles"] == {
        "short": {"suite": {"steps": 4, "eval_every": 2, "seeds": 1}, "metrics": {"samples": 50}}
    }
    # The second run was the suite as written: the file beside the results says so.
    assert "profile" not in written["suite"]
    results = read_results(out)
    assert results.grid_keys == ["profile"]
    trained = results.runs[~results.runs["variant"].map(is_baseline_row)]
    assert trained["profile"].fillna("-").tolist() == ["-", "short"]


# --------------------------------------------------------------------------- report


def _folder(tmp_path: Path, profiles: bool = True) -> Path:
    """gan and pac, seeds 0 and 1, without a profile and (``profiles``) with profile cpu; the
    modes values are chosen so that every mean below is exact."""
    out = tmp_path / "results"
    values = {
        (None, "gan"): (4.0, 6.0),
        (None, "pac"): (7.0, 9.0),
        ("cpu", "gan"): (2.0, 3.0),
        ("cpu", "pac"): (1.0, 2.0),
    }
    for (profile, variant), modes in values.items():
        if profile is not None and not profiles:
            continue
        for seed, value in enumerate(modes):
            write_run(
                out,
                f"{profile or 'x'}-{variant}-{seed}",
                variant=variant,
                seed=seed,
                profile=profile,
                rows=[(1000, "modes", value, None, 2500)],
            )
    return out


def test_no_profile_column_without_profiles(tmp_path):
    results = read_results(_folder(tmp_path, profiles=False))
    assert "profile" not in results.runs.columns and results.grid_keys == []
    assert list(summarize(results)["variant"]) == ["gan", "pac"]


def test_rows_are_keyed_by_profile(tmp_path):
    results = read_results(_folder(tmp_path))
    summary = summarize(results, "modes")
    assert list(summary.columns[:4]) == ["suite", "variant", "dataset", "profile"]
    profiles = summary["profile"].fillna("-")  # no profile: a missing value, like a grid key
    keys = zip(summary["variant"], profiles, strict=True)
    got = dict(zip(keys, summary["modes_mean"], strict=True))
    assert got == {("gan", "-"): 5.0, ("gan", "cpu"): 2.5, ("pac", "-"): 8.0, ("pac", "cpu"): 1.5}
    # The suite as written first, then the profiles.
    assert list(profiles) == ["-", "cpu", "-", "cpu"]


def test_where_profile_filters(tmp_path):
    results = filter_results(read_results(_folder(tmp_path)), ["profile=cpu"])
    assert set(results.runs["profile"]) == {"cpu"} and len(results.runs) == 4
    summary = summarize(results, "modes")
    assert dict(zip(summary["variant"], summary["modes_mean"], strict=True)) == {
        "gan": 2.5,
        "pac": 1.5,
    }


def test_baseline_compares_within_a_profile(tmp_path):
    summary = versus_baseline(summarize(read_results(_folder(tmp_path)), "modes"), "gan")
    pac = summary[summary["variant"] == "pac"]
    # pac - gan at the same profile: 8 - 5 = 3 as written, 1.5 - 2.5 = -1 under cpu.
    got = dict(zip(pac["profile"].fillna("-"), pac["modes_delta"], strict=True))
    assert got == {"-": 3.0, "cpu": -1.0}


def test_report_cli_shows_and_filters_the_profile_column(tmp_path, cli):
    folder = _folder(tmp_path)
    res = cli("report", str(folder), "--format", "csv", "--metric", "modes")
    assert res.exit_code == 0, res.output
    from io import StringIO

    table = pd.read_csv(StringIO(res.output))
    assert table["profile"].fillna("-").tolist() == ["-", "cpu", "-", "cpu"]
    res = cli("report", str(folder), "-f", "csv", "-m", "modes", "--where", "profile=cpu")
    table = pd.read_csv(StringIO(res.output))
    assert table["profile"].tolist() == ["cpu", "cpu"]
    assert table["modes_mean"].tolist() == [2.5, 1.5]
    res = cli("report", str(folder), "--metric", "modes")
    assert res.exit_code == 0 and "profile" in res.output


def test_compare_matches_on_profile(tmp_path, cli):
    folder = _folder(tmp_path)
    res = cli("compare", "gan", "pac", "--in", str(folder), "-m", "modes", "-f", "csv")
    assert res.exit_code == 0, res.output
    from io import StringIO

    table = pd.read_csv(StringIO(res.output))
    got = dict(zip(table["profile"].fillna("-"), table["delta"], strict=True))
    assert got == {"-": 3.0, "cpu": -1.0}


def test_a_hostile_profile_in_a_manifest_skips_the_run(tmp_path):
    out = _folder(tmp_path, profiles=False)
    write_run(out, "bad", variant="gan", seed=5, profile=None, rows=[(1000, "modes", 1.0, None, 1)])
    manifest = out / "toy" / "runs" / "bad" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["profile"] = {"nested": 1}
    manifest.write_text(json.dumps(data))
    results = read_results(out)
    assert "bad" not in set(results.runs["run_id"])
    assert any("key 'profile' must be a non-empty string or null" in w for w in results.warnings)
