"""The surfaces added since the last hostile round, under hostile input (issue 28).

Each test states a class of input that once hung, exhausted memory, crashed or was silently
misread, and checks the whole class: every pattern applied to suite text is linear, every walk
over user input is bounded, figures read a bounded number of samples, a static search knob is
refused from its declaration, ``profile`` is not a key a suite writes, references' numbers keep
their test statistics finite, ``--set`` and profiles address search knobs, and every message
clips what it echoes. A refusal is exit 2 with a message naming the file and key; a results
folder's bad parts are warned about and skipped, the rest reported.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest
from budgets import QUICK
from conftest import CHILD_PEAK_KIB
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.config import load_suite
from ganbench.config.limits import MAX_SUITE_BYTES
from ganbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SMOKE = (ROOT / "suites" / "smoke.toml").read_text(encoding="utf-8")
MAX_MESSAGE = 40_000
"""Longest error a refusal may print: 100 problems (the most listed) of a few hundred
characters, each quoting input clipped."""


def _cli(*args: str):
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert "Traceback" not in result.output, result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def _refused_quickly(path: Path, *, within: float = QUICK, **kw) -> str:
    """The message of a ConfigError that loading ``path`` must raise within ``within`` s."""
    start = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        load_suite(path, **kw)
    elapsed = time.perf_counter() - start
    assert elapsed < within, f"refused after {elapsed:.1f} s"
    message = str(caught.value)
    assert str(path) in message and len(message) < MAX_MESSAGE, message[:500]
    return message


# --------------------------------------------------------------------------- 1: linear patterns


def _search_suite(value: str) -> str:
    return SMOKE + f'\n[search]\ntrials = 2\n"optimizer.lr_g" = "{value}"\n'


@pytest.mark.parametrize(
    "value",
    [
        "uniform(0, " + "1" * 50_000 + "x)",  # a run of digits: once quadratic (hours at 1 MiB)
        "loguniform(" + "1" * 50_000 + ", 2)",
        "uniform(0," + " " * 50_000 + "x)",
        "uniform" + "(" * 50_000,
        "choice([" + "] " * 25_000 + "x",
    ],
    ids=["digits", "log-digits", "spaces", "parens", "brackets"],
)
def test_a_search_distribution_is_parsed_in_linear_time(tmp_path, value):
    path = tmp_path / "s.toml"
    path.write_text(_search_suite(value), encoding="utf-8")
    message = _refused_quickly(path)
    assert "search.optimizer.lr_g" in message
    assert len(message) < 2_000, "the bound is echoed, not clipped"


def test_a_weight_init_is_parsed_in_linear_time(tmp_path):
    path = tmp_path / "s.toml"
    spec = "normal:" + "1" * 200_000 + "x"
    path.write_text(SMOKE.replace("depth = 2 }", f'depth = 2, weight_init = "{spec}" }}', 1))
    message = _refused_quickly(path)
    assert "weight_init" in message and "(200,008 characters)" in message
    assert len(message) < 2_000


def _budget(units, room: int) -> str:
    out = []
    for unit in units:
        room -= len(unit)
        if room < 0:
            break
        out.append(unit)
    return "".join(out)


def _insert(marker: str, units, head: str = "", tail: str = "") -> str:
    """The smoke suite with ``head``, as many ``units`` as fit in 1 MiB and ``tail`` after
    ``marker`` (its end when ``marker`` is empty)."""
    room = MAX_SUITE_BYTES - len(SMOKE.encode()) - len(head) - len(tail) - 1000
    body = head + _budget(units, room) + tail
    if not marker:
        return SMOKE + body
    at = SMOKE.index(marker) + len(marker)
    return SMOKE[:at] + body + SMOKE[at:]


def _fill(unit: str, head: str = "", tail: str = "") -> str:
    return _insert("", itertools.repeat(unit), head, tail)


def _units(units, head: str = "") -> str:
    return _insert("", units, head)


SEARCH = '\n[search]\ntrials = 2\n"optimizer.lr_g" = "'
REFERENCE = '[[reference]]\nvariant = "wgan-gp"\nmetric = "'
CONSTRUCTS = {
    "search digits": lambda: _fill("1", SEARCH + "uniform(0, ", 'x)"\n'),
    "search spaces": lambda: _fill(" ", SEARCH + "uniform(0,", 'x)"\n'),
    "search parens": lambda: _fill("(", SEARCH + "uniform", '"\n'),
    "choice brackets": lambda: _fill("] ", SEARCH + "choice([", 'x"\n'),
    "choice values": lambda: _fill("1,", SEARCH + "choice([", '1])"\n'),
    "weight_init digits": lambda: _insert(
        "depth = 2", itertools.repeat("1"), ', weight_init = "normal:', 'x"'
    ),
    "grid values": lambda: _fill("1e-3, ", '[grid]\n"optimizer.lr_g" = [', "1e-3]\n"),
    "comment lines": lambda: _fill("# x\n"),
    "blank lines": lambda: _fill("\n"),
    "one line of spaces": lambda: _fill(" ", "", "\n"),
    "a long string": lambda: _fill("x", 'description2 = "', '"\n'),
    "same variant": lambda: _fill('[[variants]]\nname = "v"\nloss = "hinge"\n'),
    "variants": lambda: _units(
        f'[[variants]]\nname = "v{i}"\nloss = "hinge"\n' for i in range(99_999)
    ),
    "variants with unknown keys": lambda: _units(
        f'[[variants]]\nname = "v{i}"\nlossx = "hinge"\nk{i} = 2\n' for i in range(99_999)
    ),
    "unknown top-level keys": lambda: _units(f"k{i} = 1\n" for i in range(999_999)),
    "unknown default keys": lambda: _insert("[defaults]\n", (f"k{i} = 1\n" for i in range(10**6))),
    "unknown optimizer knobs": lambda: _insert(
        "lr_g = 1e-3,", (f" k{i} = 1," for i in range(10**6))
    ),
    "references": lambda: _fill(REFERENCE + 'modes"\nvalue = 1.0\nsource = "s"\n'),
    "reference variants": lambda: _units(
        f'[[reference]]\nvariant = "x{i}"\nmetric = "modes"\nvalue = 1.0\nsource = "s"\n'
        for i in range(99_999)
    ),
    "ema prefixes": lambda: _fill("ema/", REFERENCE, 'modes"\nvalue = 1.0\nsource = "s"\n'),
    "profiles": lambda: _units(
        f"[profiles.p{i}]\nsuite = {{ steps = 100 }}\n" for i in range(99_999)
    ),
    "profile keys": lambda: _units(
        (f"k{i} = 1\n" for i in range(999_999)), "[profiles.a.defaults]\n"
    ),
    "search knobs": lambda: _units(
        (f'"optimizer.k{i}" = "uniform(0, 1)"\n' for i in range(99_999)), "\n[search]\ntrials = 2\n"
    ),
    "search choices": lambda: _units(
        (f'"generator.k{i}" = "choice([1])"\n' for i in range(99_999)), "\n[search]\ntrials = 2\n"
    ),
    "grid keys": lambda: _units((f'"optimizer.k{i}" = [1]\n' for i in range(99_999)), "[grid]\n"),
    "dotted keys": lambda: _fill("a.", "x = 1\n", "b = 1\n"),
    "inline tables": lambda: _fill("{a=", "x = ", "1"),
    "arrays": lambda: _fill("[", "x = ", "1"),
    "floats": lambda: _fill("1.0,", "x = [", "1.0]\n"),
}


@pytest.mark.slow
@pytest.mark.parametrize("construct", list(CONSTRUCTS))
def test_a_mebibyte_of_one_repeated_construct_validates_or_is_refused_quickly(tmp_path, construct):
    """The done-when criterion of issue 28: any 1 MiB suite made of one repeated construct
    validates or is refused in under 10 s, never with another exception."""
    text = CONSTRUCTS[construct]()
    assert MAX_SUITE_BYTES - 4000 < len(text.encode()) <= MAX_SUITE_BYTES, len(text)
    path = tmp_path / "big.toml"
    path.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    try:
        load_suite(path)
    except ConfigError as exc:
        assert str(path) in str(exc) and len(str(exc)) < MAX_MESSAGE, str(exc)[:500]
    elapsed = time.perf_counter() - start
    assert elapsed < QUICK, f"{construct}: {elapsed:.1f} s"


# --------------------------------------------------------------------------- 3: bounded walks

EMA_CHAIN = "ema/" * 2000 + "modes"


def test_a_chain_of_ema_prefixes_is_an_unknown_metric(tmp_path):
    """``ema/`` prefixes a plain metric once: a chain of 2,000 once exhausted the stack of the
    check; now it is an unknown metric, named clipped, and validate exits 2."""
    path = tmp_path / "s.toml"
    path.write_text(
        SMOKE + f'[[reference]]\nvariant = "wgan-gp"\nmetric = "{EMA_CHAIN}"\n'
        'value = 1.0\nsource = "s"\n'
    )
    result = _cli("validate", str(path))
    assert result.exit_code == 2, result.output
    assert "unknown metric 'ema/ema/" in result.output and len(result.output) < 4_000


@pytest.mark.parametrize("metric", ["ema/ema/modes", "ema/ema/mode_count/1", "mode_count/01"])
def test_only_names_ganbench_writes_are_metrics(metric):
    from ganbench.references import check_metric

    assert check_metric(metric) is not None
    assert check_metric(metric.replace("ema/ema/", "ema/")) is None or metric == "mode_count/01"


def test_a_results_suite_toml_with_a_chain_of_ema_prefixes_is_warned_about(tmp_path):
    from results_folder import write_run

    out = tmp_path / "results"
    for seed in range(2):
        write_run(out, f"r{seed}", seed=seed, rows=[(1000, "modes", 7.0 + seed, None, 100)])
    suite_file = out / "toy" / "suite.toml"
    suite_file.write_text(
        "[suite]\nname = 'toy'\n[[variants]]\nname = 'gan'\n[[reference]]\nvariant = 'gan'\n"
        f"metric = '{EMA_CHAIN}'\nvalue = 1.0\nsource = 's'\n"
    )
    result = _cli("report", str(out), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert f"{suite_file}: reference[0] skipped" in result.output
    assert "toy,gan," in result.output


# --------------------------------------------------------------------------- 4: static knobs


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("generator.width", "choice([32, 64])"),  # once accepted with trials = 1
        ("penalty", "choice(['r1'])"),  # once replaced the gp penalty silently
        ("penalty.name", "choice(['r1', 'gp'])"),
        ("loss", "choice(['hinge'])"),
        ("batch_size", "choice([64])"),
        ("n_critic", "choice([1, 2])"),
        ("discriminator.spectral_norm", "choice([true])"),
        ("optimizer", "choice(['sgd'])"),
    ],
)
@pytest.mark.parametrize("trials", [1, 4, 50])
def test_a_static_knob_is_refused_from_its_declaration_whatever_the_draws(
    tmp_path, key, value, trials
):
    path = tmp_path / "s.toml"
    path.write_text(SMOKE + f'\n[search]\ntrials = {trials}\n"{key}" = "{value}"\n')
    message = _refused_quickly(path)
    assert f"search.{key}: '{key}' is not a traced knob" in message, message


@pytest.mark.parametrize("trials", [1, 7, 64])
def test_raising_trials_keeps_a_valid_search_valid(tmp_path, trials):
    path = tmp_path / "s.toml"
    path.write_text(
        SMOKE + f'\n[search]\ntrials = {trials}\n"optimizer.lr_g" = "loguniform(1e-5, 1e-2)"\n'
        '"penalty.weight" = "choice([1.0, 10.0])"\n'
    )
    suite = load_suite(path)
    assert len(suite.runs) == 2 * 2 * trials


def test_traced_knobs_by_name_are_exactly_what_leaves_the_program_alone():
    """The declaration rule (ganbench.config.search.is_traced) agrees with the compiled
    program's key (static_key): changing a traced knob keeps it, changing a static field
    changes it."""
    from ganbench.config.expand import static_key
    from ganbench.config.schema import RunConfig
    from ganbench.config.search import is_traced

    base = {
        "name": "v", "dataset": "ring8", "loss": {"name": "hinge"}, "batch_size": 64, "z_dim": 2,
        "penalty": {"name": "r1", "weight": 1.0}, "ema": {"decay": 0.999},
        "optimizer": {"name": "adam", "lr_g": 1e-3, "lr_d": 1e-3, "b1": 0.5, "b2": 0.999},
    }  # fmt: skip
    key = static_key(RunConfig.model_validate(base))
    for path, value in [
        ("optimizer.lr_g", 2e-3), ("optimizer.b1", 0.1), ("penalty.weight", 5.0),
        ("ema.decay", 0.99), ("weights", "geometric"),
    ]:  # fmt: skip
        assert is_traced(path)
        changed = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
        head, _, leaf = path.rpartition(".")
        (changed[head] if head else changed)[leaf] = value
        assert static_key(RunConfig.model_validate(changed)) == key, path
    for path, value in [
        ("batch_size", 32), ("n_critic", 2), ("z_dim", 3), ("penalty.name", "gp"),
        ("loss.name", "wasserstein"), ("optimizer.name", "sgd"), ("updates", "simultaneous"),
    ]:  # fmt: skip
        assert not is_traced(path)
        changed = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
        head, _, leaf = path.rpartition(".")
        (changed[head] if head else changed)[leaf] = value
        if path == "optimizer.name":
            changed["optimizer"] = {"name": "sgd", "lr_g": 1e-3, "lr_d": 1e-3}
        assert static_key(RunConfig.model_validate(changed)) != key, path


# --------------------------------------------------------------------------- 5: suite.profile

PROFILED = SMOKE.replace("seeds = 2\n", "seeds = 1\n") + (
    "\n[profiles.a]\nsuite = { steps = 100 }\nmetrics = { samples = 200 }\n"
)


def test_a_hand_written_suite_profile_is_refused(tmp_path):
    """``[suite] profile = "a"`` once labelled the runs as profile a without applying it (200
    steps, labelled as a's 100), so they pooled with real ``--profile a`` runs."""
    path = tmp_path / "s.toml"
    path.write_text(PROFILED.replace('name = "smoke"\n', 'name = "smoke"\nprofile = "a"\n'))
    for args in ([], ["--profile", "a"]):
        result = _cli("validate", str(path), *args)
        assert result.exit_code == 2, result.output
        assert "suite.profile: ganbench records the profile" in result.output
        assert "without applying it" in result.output and "--profile 'a'" in result.output


def test_a_recorded_profile_whose_table_changed_is_refused(tmp_path):
    import tomli_w

    suite = load_suite(_write(tmp_path, PROFILED), profile="a")
    assert suite.runs[0].steps == 100 and suite.runs[0].profile == "a"
    written = _write(tmp_path, tomli_w.dumps(suite.raw), "written.toml")
    assert [r.run_id for r in load_suite(written).runs] == [r.run_id for r in suite.runs]
    changed = suite.raw
    changed["profiles"]["a"]["suite"]["steps"] = 50
    with pytest.raises(ConfigError, match="has changed since this document was expanded"):
        load_suite(_write(tmp_path, tomli_w.dumps(changed), "changed.toml"))


def _write(folder: Path, text: str, name: str = "s.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- 7: --set, profiles


@pytest.mark.parametrize(
    "sets",
    [
        ['search."optimizer.lr_g"=loguniform(1e-5, 1e-2)'],  # once split inside the quotes
        ["search.'optimizer.lr_g'=\"loguniform(1e-5, 1e-2)\""],
        ["search.optimizer.lr_g=loguniform(1e-5, 1e-2)"],
    ],
)
def test_set_addresses_a_search_knob(tmp_path, sets):
    path = _write(tmp_path, SMOKE + '\n[search]\ntrials = 3\n"optimizer.b1" = "uniform(0, 0.9)"\n')
    args = [a for s in [*sets, "search.trials=5"] for a in ("--set", s)]
    suite = load_suite(path, overrides=[a for a in args if a != "--set"])
    lrs = {r.config.optimizer.lr_g for r in suite.runs}
    assert len(suite.runs) == 2 * 5 * 2 and len(lrs) == 5 and all(1e-5 <= v <= 1e-2 for v in lrs)
    result = _cli("validate", str(path), *args)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "table",
    [
        '[profiles.wide.search]\ntrials = 4\n"optimizer.lr_d" = "loguniform(1e-5, 1e-2)"\n',
        "[profiles.wide.search]\ntrials = 4\noptimizer.lr_d = 'loguniform(1e-5, 1e-2)'\n",
        '[profiles.wide]\nsearch = { trials = 4, "optimizer.lr_d" = "loguniform(1e-5, 1e-2)" }\n',
    ],
)
def test_a_profile_changes_a_search(tmp_path, table):
    path = _write(tmp_path, SMOKE + '\n[search]\ntrials = 2\n"optimizer.b1" = "uniform(0, 0.9)"\n'
                  + table)  # fmt: skip
    assert len(load_suite(path).runs) == 2 * 2 * 2
    suite = load_suite(path, profile="wide")
    assert len(suite.runs) == 2 * 4 * 2
    assert len({(r.config.optimizer.lr_d, r.config.optimizer.b1) for r in suite.runs}) == 4


def test_a_profile_search_problem_is_placed_at_the_profile(tmp_path):
    path = _write(tmp_path, SMOKE + "\n[profiles.wide.search]\ntrials = 2\n'generator.width' = "
                  "'choice([8])'\n")  # fmt: skip
    with pytest.raises(ConfigError, match=r"profiles\.wide\.search\.generator\.width: .* not a "
                       "traced knob"):  # fmt: skip
        load_suite(path, profile="wide")


# --------------------------------------------------------------------------- 6: finite statistics


def test_a_reference_beyond_finite_statistics_is_refused(tmp_path):
    """1e308 +- 1e308 (se, n = 10^6) was accepted, and its verdict had no p-value (the published
    sd, se * sqrt(n), is infinite)."""
    path = _write(tmp_path, SMOKE + '[[reference]]\nvariant = "wgan-gp"\nmetric = "modes"\n'
                  'value = 1e308\nuncertainty = 1e308\nkind = "se"\nn = 1000000\nsource = "s"\n')  # fmt: skip
    result = _cli("validate", str(path))
    assert result.exit_code == 2, result.output
    assert "reference[0].value: must be at most 1e+60 in absolute value" in result.output
    assert "reference[0].uncertainty: must be at most 1e+60" in result.output


@pytest.mark.parametrize("value", [1e60, -1e60, 0.0, 1e-300])
@pytest.mark.parametrize("uncertainty", [1e60, 1e-300, 1.0])
@pytest.mark.parametrize("kind", ["se", "sd"])
@pytest.mark.parametrize(
    "measured", [(1e60, 1e60, 2), (-1e60, 0.0, 5), (3.0, 1.0, 3), (0.0, 1e-300, 2)]
)
def test_every_accepted_reference_has_a_finite_p_value(value, uncertainty, kind, measured):
    from ganbench.references import Reference
    from ganbench.report.references import versus_published

    ref = Reference(variant="a", metric="modes", value=value, uncertainty=uncertainty,
                    kind=kind, n=1_000_000, source="s")  # fmt: skip
    verdict = versus_published(ref, *measured)
    assert 0.0 <= verdict.p <= 1.0 and verdict.verdict != "untested", verdict


def test_measured_values_near_the_float_range_are_untested_not_a_crash(tmp_path):
    from results_folder import write_run

    out = tmp_path / "results"
    for seed, value in enumerate([1e308, -1e308, 1e308]):
        write_run(out, f"r{seed}", seed=seed, rows=[(1000, "modes", value, None, 100)])
    (out / "toy" / "suite.toml").write_text(
        "[suite]\nname = 'toy'\n[[variants]]\nname = 'gan'\n[[reference]]\nvariant = 'gan'\n"
        "metric = 'modes'\nvalue = 7.0\nuncertainty = 0.5\nkind = 'sd'\nn = 5\nsource = 's'\n"
    )
    result = _cli("report", str(out), "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert "untested: no finite test statistic" in result.output


# --------------------------------------------------------------------------- 2: bounded figures


def write_big_samples(run: Path, rows: int, steps=(100, 200)) -> int:
    """A samples.npz whose step_<N> arrays hold ``rows`` x 2 float32 samples each, streamed
    into a compressed archive (the file stays small: the samples are all at one point), with a
    64 x 64 D grid per step; returns the bytes its arrays hold."""
    import zipfile

    import numpy as np
    from numpy.lib import format as npy_format

    chunk = np.zeros((1 << 20, 2), np.float32).tobytes()
    total = 0
    with zipfile.ZipFile(run / "samples.npz", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for step in steps:
            with z.open(f"step_{step}.npy", "w", force_zip64=True) as fh:
                npy_format.write_array_header_2_0(
                    fh, {"descr": "<f4", "fortran_order": False, "shape": (rows, 2)}
                )
                left = rows * 8
                while left:
                    fh.write(chunk[: min(left, len(chunk))])
                    left -= min(left, len(chunk))
            total += rows * 8
            with z.open(f"d_grid_step_{step}.npy", "w") as fh:
                np.lib.format.write_array(fh, np.ones((64, 64), np.float32))
            total += 64 * 64 * 4
        with z.open("d_grid_extent.npy", "w") as fh:
            np.lib.format.write_array(fh, np.array([-2, 2, -2, 2], np.float32))
    return total


def test_figures_and_players_read_a_bounded_number_of_samples(tmp_path):
    """A samples.npz holding 2 x 1 million samples (16 MB of arrays) once went whole into the
    sample figure as float64 (about 5x the array); now the figures read the first 10,000 of an
    evaluation and the players 500 of at most 200 evaluations, and the report says so."""
    import tracemalloc

    from results_folder import write_run

    out = tmp_path / "results"
    runs = []
    for seed in range(2):
        runs.append(write_run(out, f"r{seed}", seed=seed, rows=[(200, "modes", 7.0, None, 100)]))
        write_big_samples(runs[-1], 1_000_000)
    page = tmp_path / "page.html"
    _cli("report", str(out), "--format", "csv")  # imports done before memory is traced
    import matplotlib.pyplot  # noqa: F401
    import scipy.stats  # noqa: F401

    tracemalloc.start()
    start = time.perf_counter()
    result = _cli("report", str(out), "--html", str(page), "--plots", str(tmp_path / "p"))
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.exit_code == 0, result.output
    said = "".join(result.output.split())
    assert (
        f"warning:{runs[0] / 'samples.npz'}:2evaluation(s)holdupto1,000,000sampleseach;"
        "figuresandplayersdrawatmostthefirst10,000" in said
    ), result.output
    assert peak < 200e6, f"peak {peak / 1e6:.0f} MB"
    assert elapsed < QUICK * 3, f"{elapsed:.1f} s"
    text = page.read_text(encoding="utf-8")
    assert "the first 10,000 of up to 1,000,000 stored" in text


def test_a_hostile_d_grid_or_trajectory_is_bounded(tmp_path):
    import numpy as np
    import pandas as pd
    from results_folder import write_run

    from ganbench.results.samples import MAX_TRAJECTORY_ROWS, Samples

    run = write_run(tmp_path / "results", "r0", rows=[(200, "modes", 7.0, None, 100)])
    np.savez_compressed(
        run / "samples.npz",
        d_grid_step_200=np.zeros((4096, 4096), np.float32),
        trajectory=np.stack([np.arange(1_000_001.0), np.zeros(1_000_001)], axis=1),
        step_200=np.zeros((20_000, 2), np.float32),
    )
    samples = Samples(pd.DataFrame({"path": [str(run)], "variant": ["gan"], "seed": [0]}))
    data = samples.load(str(run))
    assert data.get("d_grid_step_200") is None
    path = data.get("trajectory")
    assert len(path) == MAX_TRAJECTORY_ROWS and path[0, 0] == 0 and path[-1, 0] == 1_000_000
    assert len(data.get("step_200")) == 10_000 and len(data.get("step_200", rows=500)) == 500
    assert any("d_grid_step_200 has 16,777,216 cells; not drawn" in n for n in samples.notes)


@pytest.mark.slow
def test_report_html_on_samples_at_the_cap_stays_under_two_gigabytes(tmp_path):
    """The done-when criterion of issue 28: every run's samples.npz holds arrays at the 2 GiB
    cap (once 10.3 GB peak and a traceback); `report --html` finishes with a warning, its peak
    resident memory under 2 GB (measured on the child process)."""
    import subprocess
    import sys

    from results_folder import write_run

    from ganbench.results.read import MAX_SAMPLE_BYTES

    out = tmp_path / "results"
    for seed in range(2):
        run = write_run(out, f"r{seed}", seed=seed, rows=[(200, "modes", 7.0, None, 100)])
        held = write_big_samples(run, (MAX_SAMPLE_BYTES - 100_000) // 16)
        assert MAX_SAMPLE_BYTES - 200_000 < held <= MAX_SAMPLE_BYTES
    # The child's own peak, printed as it exits.
    code = CHILD_PEAK_KIB + (
        "import atexit, sys\n"
        "atexit.register(lambda: print('peak-kib', peak_kib(), file=sys.stderr))\n"
        "from ganbench.cli import app\n"
        f"sys.argv = ['ganbench', 'report', {str(out)!r}, '--html', {str(tmp_path / 'p.html')!r}]\n"
        "app()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    peak = 1024 * int(result.stderr.split("peak-kib")[-1].split()[0])
    assert "Traceback" not in result.stderr
    assert "hold up to 134,211,478 samples each; figures and players draw at most" in " ".join(
        result.stderr.split()
    )
    assert peak < 2e9, f"peak {peak / 1e9:.2f} GB"


# --------------------------------------------------------------------------- 8: messages


def _rows(modes: float) -> list[tuple]:
    return [(1000, "modes", modes, None, 100), (1000, "hq_fraction", 0.5, None, 100)]


def test_a_huge_bound_is_not_echoed_in_full(tmp_path):
    path = _write(tmp_path, _search_suite("uniform(0, " + "9" * 200_000 + ")"))
    result = _cli("validate", str(path))
    assert result.exit_code == 2 and len(result.output) < 2_000, len(result.output)
    assert "a number of 200,000 characters is not a bound" in " ".join(result.output.split())


def test_a_valid_run_in_a_folder_named_in_other_bytes_than_utf8_is_read(tmp_path):
    import os

    from results_folder import write_run

    from ganbench.results.read import read_results

    write_run(tmp_path / "plain", "a", rows=_rows(7.0))
    out = tmp_path / os.fsdecode(b"r\xe9sultats")  # Latin-1, not UTF-8
    os.rename(tmp_path / "plain", out)
    results = read_results(out)
    assert list(results.runs["run_id"]) == ["a"] and not results.warnings, results.warnings
    assert results.metrics["value"].tolist() == [7.0, 0.5]
    page = tmp_path / "page.html"
    result = _cli("report", str(out), "--format", "csv", "--html", str(page))
    assert result.exit_code == 0 and "warning" not in result.output, result.output
    assert "r\\udce9sultats" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["manifest.json", "metrics.parquet"])
def test_a_file_linked_to_a_device_is_named_for_what_it_is(tmp_path, name):
    from results_folder import write_run

    from ganbench.results.read import read_results

    out = tmp_path / "results"
    write_run(out, "good", rows=_rows(7.0))
    bad = write_run(out, "bad", seed=1, rows=_rows(7.0))
    (bad / name).unlink()
    (bad / name).symlink_to("/dev/zero")
    results = read_results(out)
    assert list(results.runs["run_id"]) == ["good"]
    expected = f"skipped {bad}: {name} is a link to something that is not a regular file"
    assert any(w.startswith(expected) for w in results.warnings), results.warnings


def test_a_results_suite_toml_linked_to_a_device_is_warned_about(tmp_path):
    from results_folder import write_run

    out = tmp_path / "results"
    write_run(out, "good", rows=_rows(7.0))
    suite_file = out / "toy" / "suite.toml"
    suite_file.symlink_to("/dev/zero")
    start = time.perf_counter()
    result = _cli("report", str(out), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - start < QUICK
    said = " ".join(result.output.split())
    assert f"warning: {suite_file}: cannot read (a link to something that is not a regular" in said
    assert said.count(str(suite_file)) == 1


def test_a_results_suite_toml_naming_unknown_variants_is_warned_about(tmp_path):
    from results_folder import write_run

    out = tmp_path / "results"
    for seed in range(2):
        write_run(out, f"g{seed}", variant="gan", seed=seed, rows=_rows(7.0 + seed))
        write_run(out, f"w{seed}", variant="wgan", seed=seed, rows=_rows(6.0 + seed))
    suite_file = out / "toy" / "suite.toml"
    suite_file.write_text(
        "[suite]\nname = 'toy'\n[[variants]]\nname = 'gan'\n"
        "[[reference]]\nvariant = 'gann'\nmetric = 'modes'\nvalue = 7.0\nsource = 's'\n"
        "[[reference]]\nvariant = 'gan'\nmetric = 'modes'\nvalue = 7.0\nsource = 's'\n"
    )
    result = _cli("report", str(out), "--format", "markdown")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"{suite_file}: lists no variant 'wgan' of the runs beside it" in said
    assert f"{suite_file}: reference[0] skipped (variant: unknown variant 'gann'; did you" in said
    assert "| gan | ring8 | modes ↑ | 7.00 (none) |" in result.output  # the valid one stays


def test_budget_does_not_pool_two_runs_of_one_trial_index(tmp_path):
    """Two searches in one folder (other search seeds, so other drawn values) give runs with the
    same trial index and seed: they are not one trial, and are no longer averaged as one."""
    from results_folder import write_run

    out = tmp_path / "results"
    for trial in range(3):
        for search, lr in ((0, 1e-3 * (trial + 1)), (1, 5e-4 * (trial + 1))):
            if search == 1 and trial == 2:
                continue
            write_run(out, f"s{search}t{trial}", trial=trial, rows=_rows(3.0 + trial + search),
                      grid_point={"optimizer.lr_g": lr})  # fmt: skip
    (out / "toy" / "suite.toml").write_text("[suite]\nname = 'toy'\n[[variants]]\nname = 'gan'\n")
    result = _cli("report", str(out), "--budget", "modes", "--format", "csv")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "warning: 2 trial(s) left out: their runs share a trial index but not one trial" in said
    rows = [line for line in result.output.splitlines() if line.startswith("toy,gan,")]
    assert len(rows) == 1 and rows[0].split(",")[-1] == "1", rows  # one trial: trial 2


def test_a_suite_named_like_a_hidden_file_writes_visible_figures(tmp_path):
    from results_folder import write_run

    out = tmp_path / "results"
    for seed in range(2):
        run = write_run(out, f"r{seed}", seed=seed, rows=_rows(7.0 + seed))
        manifest = json.loads((run / "manifest.json").read_text())
        (run / "manifest.json").write_text(json.dumps({**manifest, "suite": ".x"}))
    plots = tmp_path / "plots"
    result = _cli("report", str(out), "--plots", str(plots))
    assert result.exit_code == 0, result.output
    names = [p.name for p in plots.iterdir()]
    assert names and not any(n.startswith(".") for n in names), names


@pytest.mark.parametrize(
    ("key", "value"),
    [("loss", "x" * 900_000), ("optimizer", "{ name = '" + "y" * 900_000 + "' }")],
    ids=["loss", "optimizer"],
)
def test_a_huge_registry_name_is_clipped_and_not_searched_for_a_near_name(tmp_path, key, value):
    value = value if value.startswith("{") else f'"{value}"'
    path = _write(tmp_path, SMOKE.replace('loss = "non_saturating"', f"{key} = {value}", 1)
                  if key == "loss" else SMOKE.replace(
                      'optimizer = { name = "adam", lr_g = 1e-3, lr_d = 1e-3, b1 = 0.5, b2 = 0.999 }',
                      f"optimizer = {value}"))  # fmt: skip
    message = _refused_quickly(path)
    assert "unknown" in message and len(message) < 2_000, message[:300]
