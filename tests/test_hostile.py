"""Suite files and results folders are untrusted input.

A suite file (and every ``--set`` override) is text from anyone: the loader must either return a
suite or raise ConfigError (exit code 2) with a message naming file, key and what is allowed;
never another exception, never code execution, never an allocation sized by the file. Names
cannot leave the output folder. A results folder may hold truncated, corrupt or hostile files:
``report`` and ``compare`` warn about each run they skip and go on.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import shutil
import time
import tomllib
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tomli_w
from budgets import QUICK
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from results_folder import write_run as write_fake_run
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.config import load_suite
from ganbench.config.limits import (
    MAX_NESTING,
    MAX_RUNS,
    MAX_SUITE_BYTES,
    NAME_PATTERN,
    SUITE_NAME_PATTERN,
)
from ganbench.config.load import Suite
from ganbench.errors import ConfigError, ResultsError
from ganbench.results import write as results_write
from ganbench.results.layout import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "suites").glob("**/*.toml"))
SMOKE = ROOT / "suites" / "smoke.toml"
MAIN = ROOT / "suites" / "mode_collapse.toml"

# Reproducible property tests: derandomize=True makes Hypothesis draw the same examples on every
# run and machine (its seed is derived from the test itself), and database=None keeps it from
# storing and replaying failures in a local .hypothesis/ folder, so CI and a laptop run exactly
# the same examples. Example counts keep this file well under a minute on a 2-core CPU.
# Generated suites are sometimes large or slow to build by design (huge values, long lists); the
# health checks that would flag that are suppressed, as that is what these tests are for.
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


def fuzz(examples: int) -> settings:
    return settings(FUZZ, max_examples=examples)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One folder for the generated files. Module scope: Hypothesis runs many examples per
    test call and refuses function-scoped fixtures, which would not be reset between them."""
    return tmp_path_factory.mktemp("hostile")


def _event(name: str) -> None:
    """Count outcomes for --hypothesis-show-statistics (outside a Hypothesis test: nothing)."""
    if currently_in_test_context():
        event(name)


def load_or_config_error(path: Path, **kw: Any) -> Suite | None:
    """Load a suite; a refusal must be a ConfigError (exit 2) with a message that names the
    file. Any other exception fails the test."""
    try:
        suite = load_suite(path, **kw)
    except ConfigError as exc:
        assert exc.exit_code == 2
        message = str(exc)
        assert message.strip()
        assert str(path) in message or message.startswith("--set "), message
        _event("refused")
        return None
    _event("accepted")
    assert isinstance(suite, Suite)
    assert re.fullmatch(SUITE_NAME_PATTERN, suite.name)
    assert 1 <= len(suite.runs) <= MAX_RUNS
    out = path.parent / "out"
    for run in suite.runs[:50]:
        assert re.fullmatch(NAME_PATTERN, run.variant) and len(run.variant) <= 100
        target = results_write.run_dir(out, run.suite, run.run_id)
        assert target.resolve().is_relative_to(out.resolve())
    return suite


def short_id(value: Any) -> str:
    """A readable test id for a hostile value (a 1000-character name would be the whole id)."""
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:20]}...({len(text)})"


def write_text(folder: Path, text: str | bytes, name: str = "fuzz.toml") -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


# --------------------------------------------------------------------------- value strategies

HOSTILE_STRINGS = [
    "../x",
    "..",
    ".",
    "/abs",
    "/etc/passwd",
    "a/b",
    "a\\b",
    "a\x00b",
    "a\nb",
    ".hidden",
    "",
    "x" * 1000,
    "ｗgan-gp",  # fullwidth w
    "wgan‐gp",  # U+2010 hyphen
    "мode",  # Cyrillic m
    "[/]",
    "$\\frac{",
    "ring8",
    "hinge",
    "wgan-gp",
]
BOUNDARY_INTS = [
    0,
    -1,
    1,
    2,
    7,
    10**9,
    10**12,
    2**31,
    2**63 - 1,
    -(2**63),
    2**63,
    10**30,
    2**200,
]
KEYS = [
    "suite",
    "defaults",
    "metrics",
    "variants",
    "grid",
    "name",
    "description",
    "seeds",
    "steps",
    "eval_every",
    "dataset",
    "loss",
    "batch_size",
    "z_dim",
    "generator",
    "discriminator",
    "optimizer",
    "penalty",
    "n_critic",
    "width",
    "depth",
    "arch",
    "activation",
    "lr_g",
    "lr_d",
    "b1",
    "b2",
    "weight",
    "samples",
    "weights",
    "ema",
    "pack",
    "unroll",
    "updates",
    "spectrum",
    "n_critc",
    "optimizer.lr_d",
    "generator.width",
    "x/." * 40 + "x",  # a quoted key of many dotted parts
]

scalars = st.one_of(
    st.booleans(),
    st.sampled_from(BOUNDARY_INTS),
    st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HOSTILE_STRINGS),
    st.text(max_size=20),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=12))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


def toml_inline(value: Any) -> str:
    """A TOML inline literal of ``value`` (tomli_w writes tables as [headers], not inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        # JSON string escapes (\n, \", \\, \uXXXX) are TOML basic-string escapes too; DEL and
        # lone surrogates make the document invalid TOML, which is a fine outcome as well.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(toml_inline(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_inline(v)}" for k, v in value.items()) + "}"


# --------------------------------------------------------------------------- (a) random input


@fuzz(150)
@given(text=st.text(max_size=400))
def test_random_text_loads_or_config_error(scratch, text):
    load_or_config_error(write_text(scratch, text))


@fuzz(150)
@given(data=st.binary(max_size=400))
def test_random_bytes_load_or_config_error(scratch, data):
    load_or_config_error(write_text(scratch, data))


@fuzz(150)
@given(text=st.text(alphabet="[]{}=\"'.,#\n abcdefnsu0123456789-_+e:", max_size=200))
def test_toml_shaped_text_loads_or_config_error(scratch, text):
    load_or_config_error(write_text(scratch, text))


# --------------------------------------------------------------------------- (b) mutated suites

KEY_LINE = re.compile(r"^(\s*)([A-Za-z0-9_.\"-]+)(\s*=\s*)(.*)$")


@st.composite
def mutated(draw, text: str) -> str:
    """``text`` with one to three random edits: byte flips, deleted, duplicated or swapped
    lines, values replaced by random TOML values, keys renamed."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        op = draw(
            st.sampled_from(["flip", "delete", "duplicate", "swap", "value", "value", "rename"])
        )
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        if op == "flip":
            raw = bytearray("\n".join(lines).encode())
            j = draw(st.integers(0, len(raw) - 1))
            raw[j] = draw(st.integers(0, 255))
            lines = raw.decode("utf-8", errors="replace").splitlines()
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            k = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[k] = lines[k], lines[i]
        else:
            matches = [n for n, line in enumerate(lines) if KEY_LINE.match(line)]
            if not matches:
                continue
            n = draw(st.sampled_from(matches))
            indent, key, eq, value = KEY_LINE.match(lines[n]).groups()
            if op == "value":
                value = toml_inline(draw(values))
            else:
                key = draw(st.sampled_from(KEYS))
            lines[n] = f"{indent}{key}{eq}{value}"
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("shipped", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_suite_mutates_to_a_suite_or_config_error(scratch, shipped):
    text = shipped.read_text(encoding="utf-8")
    # The shipped suite itself loads.
    assert load_or_config_error(write_text(scratch, text, f"{shipped.stem}.toml")) is not None

    @fuzz(40)
    @given(mutant=mutated(text))
    def check(mutant):
        load_or_config_error(write_text(scratch, mutant, f"{shipped.stem}-mutant.toml"))

    check()


# --------------------------------------------------------------------------- (c) random documents


def documents():
    """TOML documents: fully random tables, and the smoke suite with random sections, keys and
    values grafted in (so validation, not only parsing, is exercised)."""
    base = tomllib.loads(SMOKE.read_text(encoding="utf-8"))
    random_doc = st.dictionaries(keys, values, max_size=6)

    @st.composite
    def grafted(draw):
        doc = json.loads(json.dumps(base))  # a deep copy
        for _ in range(draw(st.integers(1, 4))):
            section = draw(st.sampled_from(["suite", "defaults", "metrics", "grid", "variants"]))
            if section == "variants":
                target = draw(st.sampled_from(doc["variants"]))
            else:
                target = doc.setdefault(section, {})
                if not isinstance(target, dict):
                    continue
            key = draw(keys)
            value = draw(values)
            if section == "grid":
                value = value if isinstance(value, list) else [value]
            target[key] = value
        return doc

    return st.one_of(random_doc, grafted())


@fuzz(200)
@given(doc=documents())
def test_random_documents_load_or_config_error(scratch, doc):
    try:
        text = tomli_w.dumps(doc)
    except (TypeError, ValueError):  # e.g. a surrogate character tomli_w cannot write
        return
    load_or_config_error(write_text(scratch, text))


# --------------------------------------------------------------------------- --set overrides

override_keys = st.one_of(
    st.sampled_from(
        [
            "suite.name",
            "suite.steps",
            "suite.seeds",
            "suite.eval_every",
            "suite",
            "defaults.batch_size",
            "defaults.z_dim",
            "defaults.generator.width",
            "defaults.discriminator.depth",
            "defaults.optimizer.lr_d",
            "defaults.weights",
            "defaults",
            "metrics.samples",
            "metrics.min_count",
            "variants.0.name",
            "variants.1.name",
            "variants.0",
            "variants.wgan-gp.n_critic",
            "variants.nope.loss",
            "variants.0.penalty.weight",
            "variants.0.name.x",
            "variants.²",
            "variants",
            "grid.dataset",
            "grid.batch_size",
            "grid.dataset.0",
            "grid.dataset.0.x",
            "grid",
        ]
    ),
    st.lists(keys | st.sampled_from(["0", "1", "-1", "99"]), min_size=1, max_size=4).map(".".join),
)
override_values = st.one_of(values.map(toml_inline), st.text(max_size=30))


@fuzz(200)
@given(
    sets=st.lists(st.tuples(override_keys, override_values), max_size=3),
    seeds=st.none() | st.sampled_from([1, 2, 10**9, 2**70]) | st.integers(-3, 3),
    steps=st.none() | st.sampled_from([1, 200, 10**12, 2**70]) | st.integers(-3, 3),
)
def test_random_overrides_load_or_config_error(scratch, sets, seeds, steps):
    # The main suite: it has a [grid], so overrides can reach into its arrays too.
    path = write_text(scratch, MAIN.read_text(encoding="utf-8"), "main.toml")
    overrides = [f"{k}={v}" for k, v in sets]
    load_or_config_error(path, overrides=overrides, seeds=seeds, steps=steps)


# --------------------------------------------------------------------------- nesting and size


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 100_000 + "]" * 100_000,
        "a = " + "{b = " * 100_000 + "1" + "}" * 100_000,
        "[" + ".".join(["a"] * 100_000) + "]\nb = 1\n",
        "a." * 50_000 + "a = 1\n",
        "a = " + "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1),
    ],
    ids=["arrays", "inline-tables", "table-header", "dotted-key", "just-over-the-limit"],
)
def test_deep_nesting_is_a_config_error(tmp_path, text):
    path = write_text(tmp_path, text)
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="nest") as info:
        load_suite(path)
    assert time.perf_counter() - start < QUICK
    assert str(path) in str(info.value)
    assert f"at most {MAX_NESTING} levels" in str(info.value)


def test_a_key_of_many_parts_is_refused_before_parsing(tmp_path):
    # Python's TOML reader is quadratic in a dotted key's length: a 1 MiB key would take hours.
    for text in ("a." * 500_000 + "a = 1\n", "x = { " + '"a" . ' * 150_000 + '"a" = 1 }\n'):
        path = write_text(tmp_path, text)
        start = time.perf_counter()
        with pytest.raises(ConfigError, match=f"{re.escape(str(path))}:1: a dotted key of more"):
            load_suite(path)
        assert time.perf_counter() - start < QUICK
    # Up to the limit it parses (and nests exactly as deep as allowed).
    ok = write_text(tmp_path, "a." * (MAX_NESTING - 2) + 'a = 1\n[suite]\nname = "x"\n')
    with pytest.raises(ConfigError, match="required key is missing"):
        load_suite(ok)


def test_a_quoted_grid_key_of_many_parts_is_a_config_error(tmp_path):
    # Inside quotes the dots are not TOML's, but the loader splits grid keys at them.
    key = json.dumps("a/." * 5000 + "a")
    path = write_text(tmp_path, SMOKE.read_text(encoding="utf-8") + f"\n[grid]\n{key} = [1]\n")
    with pytest.raises(ConfigError, match=f"grid key of 5001 dotted parts; at most {MAX_NESTING}"):
        load_suite(path)
    with pytest.raises(ConfigError, match="grid key of 5001 dotted parts"):
        load_suite(SMOKE, overrides=[f"grid={{{key} = [1]}}"])


def test_deep_override_value_is_a_config_error(tmp_path):
    path = write_text(tmp_path, SMOKE.read_text(encoding="utf-8"))
    for value in ("[" * 100_000 + "]" * 100_000, "[" * 40 + "]" * 40):
        with pytest.raises(ConfigError, match="nested"):
            load_suite(path, overrides=[f"defaults.weights={value}"])


def test_a_huge_suite_file_is_refused_quickly_without_reading_it(tmp_path):
    path = tmp_path / "huge.toml"
    with open(path, "wb") as fh:
        fh.truncate(50 * 2**20)  # 50 MB (sparse: quick to make)
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert time.perf_counter() - start < QUICK
    message = str(info.value)
    assert str(path) in message and "52,428,800 bytes" in message
    assert f"at most {MAX_SUITE_BYTES:,} bytes (1 MiB)" in message


def test_the_size_limit_is_exactly_one_mebibyte(tmp_path):
    body = '[suite]\nname = "x"\n'
    at_limit = write_text(tmp_path, body + "#" * (MAX_SUITE_BYTES - len(body) - 1) + "\n")
    assert at_limit.stat().st_size == MAX_SUITE_BYTES
    with pytest.raises(ConfigError) as info:
        load_suite(at_limit)  # read and validated: it is an incomplete suite, not a big one
    assert "bytes" not in str(info.value) and "required key is missing" in str(info.value)
    write_text(tmp_path, body + "#" * (MAX_SUITE_BYTES - len(body)) + "\n", "over.toml")
    with pytest.raises(ConfigError, match="at most 1,048,576 bytes"):
        load_suite(tmp_path / "over.toml")


def test_integers_beyond_64_bits_are_refused(tmp_path):
    path = write_text(
        tmp_path,
        SMOKE.read_text(encoding="utf-8").replace("steps = 200", "steps = 0x" + "f" * 5000),
    )
    with pytest.raises(ConfigError, match=r"suite\.steps: integer of 20000 bits is out of range"):
        load_suite(path)
    decimal = write_text(tmp_path, "a = " + "1" * 5000, "decimal.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_suite(decimal)


# --------------------------------------------------------------------------- names

HOSTILE_NAMES = [
    "../x",
    "..",
    ".",
    "/abs",
    "a/b",
    "a\\b",
    "a\x00b",
    "a\nb",
    ".hidden",
    "x" * 1000,
    "ｗgan",  # fullwidth w
    "wgan‐gp",  # U+2010 hyphen
    "мode",  # Cyrillic m
    "ring８",  # fullwidth digit
    "",
    "a b",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=short_id)
def test_hostile_variant_names_are_refused(write_suite, name):
    path = write_suite(f'[[variants]]\nname = {json.dumps(name)}\nloss = "hinge"\n')
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    message = str(info.value)
    assert str(path) in message
    assert ".name: String should match pattern" in message
    assert NAME_PATTERN in message and "not starting with '.'" in message
    assert len(message) < 1000  # a 1000-character name is cut short, not echoed


@pytest.mark.parametrize("name", [*HOSTILE_NAMES, "Tiny", "tiny.v2"], ids=short_id)
def test_hostile_suite_names_are_refused(write_suite, name):
    text = write_suite().read_text().replace('name = "tiny"', f"name = {json.dumps(name)}")
    path = write_suite(text=text, name="named.toml")
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    message = str(info.value)
    assert f"{path}:3: suite.name: String should match pattern '{SUITE_NAME_PATTERN}'" in message
    assert "lower-case letters, digits, '_' and '-'" in message


@pytest.mark.parametrize("name", ["../x", "..", "a/b", ".x", "a\x00b"], ids=short_id)
def test_hostile_names_are_refused_from_the_command_line_too(write_suite, name):
    path = write_suite()
    for key in ("suite.name", "variants.0.name"):
        with pytest.raises(ConfigError, match="String should match pattern") as info:
            load_suite(path, overrides=[f"{key}={json.dumps(name)}"])
        assert str(path) in str(info.value)


def test_names_with_dots_inside_are_still_allowed(write_suite):
    suite = load_suite(write_suite('[[variants]]\nname = "ns.v2-b_1"\nloss = "non_saturating"\n'))
    assert suite.runs[0].variant == "ns.v2-b_1"


def _files_under(folder: Path) -> set[Path]:
    return {Path(d) / f for d, _, files in os.walk(folder) for f in files}


def _manifest(suite: str, run_id: str) -> dict:
    """A manifest the writer accepts (results.layout.Manifest), so that only the path is hostile."""
    return {
        "schema": SCHEMA_VERSION, "run_id": run_id, "suite": suite, "variant": "v", "seed": 0,
        "step": 1, "grid_point": {}, "config": {"dataset": "ring8"}, "status": "completed",
    }  # fmt: skip


def test_the_writer_refuses_a_manifest_the_reader_would_refuse(tmp_path):
    out = tmp_path / "out"
    good = _manifest("ok", "r1")
    for bad, message in [
        ({**good, "seed": True}, "key 'seed' must be a 64-bit integer"),
        ({**good, "status": "done"}, "status 'done' is not one of"),
        ({k: v for k, v in good.items() if k != "config"}, r"lacks key\(s\) config"),
        ({**good, "schema": 0}, "has schema 0"),
    ]:
        with pytest.raises(ResultsError, match=message):
            results_write.write_run(out, "ok", "r1", bad, [], {})
    assert _files_under(tmp_path) == set()
    results_write.write_run(out, "ok", "r1", good, [], {})
    assert _files_under(tmp_path)


@pytest.mark.parametrize(
    ("suite", "run_id"),
    [
        ("../escape", "r1"),
        ("..", "r1"),
        ("/tmp/abs", "r1"),
        ("a/b", "r1"),
        ("a\\b", "r1"),
        ("a\x00b", "r1"),
        (".hidden", "r1"),
        ("", "r1"),
        ("ok", "../../escape"),
        ("ok", ".."),
        ("ok", "."),
        ("ok", "a/b"),
        ("ok", "x\ny"),
        ("ok", "x" * 300),
    ],
    ids=short_id,
)
def test_the_writer_refuses_paths_outside_the_output_folder(tmp_path, suite, run_id):
    sandbox = tmp_path / "sandbox"
    out = sandbox / "out"
    out.mkdir(parents=True)
    with pytest.raises(ResultsError, match="refusing to write"):
        results_write.write_run(out, suite, run_id, {"status": "completed"}, [], {})
    with pytest.raises(ResultsError):
        results_write.run_dir(out, suite, run_id)
    assert _files_under(sandbox) == set()
    assert sorted(p.name for p in sandbox.iterdir()) == ["out"]


@pytest.mark.parametrize("name", ["../x.png", ".x", "a/b", "a\\b", "manifest.json", "a\x00"])
def test_the_writer_refuses_hostile_extra_file_names(tmp_path, name):
    out = tmp_path / "out"
    with pytest.raises(ResultsError, match="refusing to write"):
        results_write.write_run(out, "ok", "r1", _manifest("ok", "r1"), [], {}, files={name: b"x"})
    assert _files_under(tmp_path) == set()  # the temporary run folder is removed


@fuzz(60)
@given(
    suite=st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=12)),
    run_id=st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=12)),
)
def test_every_path_the_writer_creates_is_inside_the_output_folder(scratch, suite, run_id):
    sandbox = scratch / "writer"
    shutil.rmtree(sandbox, ignore_errors=True)
    out = sandbox / "out"
    out.mkdir(parents=True)
    try:
        final = results_write.write_run(
            out, suite, run_id, _manifest(suite or "s", run_id or "r"), [(1, "m", 1.0, 1, 1)],
            {"final": np.zeros((2, 2))}, files={"extra.png": b"x"},
        )  # fmt: skip
    except ResultsError:
        assert _files_under(sandbox) == set()
        return
    base = out.resolve()
    written = _files_under(sandbox)
    assert written and all(p.resolve().is_relative_to(base) for p in written)
    assert final.resolve().is_relative_to(base) and final.resolve() != base


# --------------------------------------------------------------------------- huge values


def _load_measured(path: Path, **kw: Any) -> tuple[str, float, int]:
    """The ConfigError message of loading ``path``, the seconds and peak bytes it took."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ConfigError) as info:
            load_suite(path, **kw)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return str(info.value), seconds, peak


HUGE = [
    ("suite.steps", 10**12, "[1, 100,000,000]"),
    ("suite.eval_every", 10**9, "[1, 100,000,000]"),
    ("suite.seeds", 10**9, "[1, 100,000]"),
    ("defaults.generator.width", 10**9, "[1, 16,384]"),
    ("defaults.discriminator.depth", 10**9, "[0, 64]"),
    ("defaults.batch_size", 10**9, "[1, 1,048,576]"),
    ("defaults.z_dim", 10**9, "[1, 65,536]"),
    ("metrics.samples", 10**9, "[2, 10,000,000]"),
    ("metrics.min_count", 10**12, "[1, 10,000,000]"),
    ("defaults.n_critic", 10**9, "[1, 100]"),
]


@pytest.mark.parametrize(("key", "value", "allowed"), HUGE, ids=[k for k, _, _ in HUGE])
def test_huge_values_are_refused_at_load_time(write_suite, key, value, allowed):
    doc = tomllib.loads(write_suite().read_text())
    *parents, last = key.split(".")
    node = doc
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    path = write_suite(text=tomli_w.dumps(doc), name="huge.toml")
    message, seconds, peak = _load_measured(path)
    assert f"{key}: " in message and str(path) in message, message
    assert allowed in message, message
    assert seconds < QUICK and peak < 50 * 2**20
    # The same value from the command line: the message names the override.
    message, seconds, peak = _load_measured(write_suite(), overrides=[f"{key}={value}"])
    assert f"(--set {key}): {key}: " in message and allowed in message, message
    assert seconds < QUICK and peak < 50 * 2**20


def test_huge_seeds_and_steps_options(write_suite):
    message, _, _ = _load_measured(write_suite(), seeds=10**9, steps=10**12)
    assert "(--set suite.seeds): suite.seeds: a seed count must be in [1, 100,000]" in message
    assert "suite.steps: Input should be less than or equal to 100000000" in message


GRID_6x20 = "\n".join(
    f"{json.dumps(key)} = [{', '.join(str(v) for v in range(1, 21))}]"
    for key in ("batch_size", "z_dim", "n_critic", "generator.width", "generator.depth",
                "discriminator.width")
)  # fmt: skip


def test_an_exploding_grid_is_refused_before_it_is_expanded(write_suite):
    path = write_suite(text=write_suite().read_text() + "\n[grid]\n" + GRID_6x20 + "\n")
    message, seconds, peak = _load_measured(path)
    assert "grid: the suite expands to 128,000,000 runs" in message, message
    assert "(1 variants x 64,000,000 grid points x 2 seeds)" in message
    assert f"at most {MAX_RUNS:,} runs per suite" in message
    assert seconds < QUICK and peak < 50 * 2**20
    many = "[" + ", ".join(str(i) for i in range(1, 1001)) + "]"
    message, seconds, peak = _load_measured(
        write_suite(), overrides=[f"grid.batch_size={many}", f"grid.z_dim={many}"]
    )
    assert "the suite expands to 2,000,000 runs" in message
    assert seconds < QUICK and peak < 50 * 2**20


def test_the_run_limit_counts_variants_grid_points_and_seeds(write_suite, monkeypatch):
    import ganbench.config.guards as guards_module

    monkeypatch.setattr(guards_module, "MAX_RUNS", 8)
    grid = "\n[grid]\nbatch_size = [16, 32]\n"
    two = '[[variants]]\nname = "a"\nloss = "hinge"\n[[variants]]\nname = "b"\nloss = "minimax"\n'
    assert len(load_suite(write_suite(two + grid)).runs) == 8  # 2 x 2 x 2 seeds: at the limit
    with pytest.raises(ConfigError, match=r"16 runs \(2 variants x 4 grid points x 2 seeds\)"):
        load_suite(write_suite(two + grid), overrides=["grid.z_dim=[2, 3]"])
    with pytest.raises(ConfigError, match=r"12 runs .*at most 8 runs per suite"):
        load_suite(write_suite(two + grid), overrides=["suite.seeds=[0, 1, 2]"])


def test_long_lists_repeated_over_a_grid_are_refused(write_suite):
    weights = "[" + ", ".join(["1.0"] * 100_000) + "]"
    grid = "\n[grid]\nbatch_size = [" + ", ".join(str(i) for i in range(1, 201)) + "]\n"
    text = write_suite().read_text().replace("z_dim = 2\n", f"z_dim = 2\nweights = {weights}\n")
    message, seconds, peak = _load_measured(write_suite(text=text + grid, name="long.toml"))
    assert "run configurations of up to" in message and "10,000,000 values" in message
    # Refused before expanding: one parse of the list (~10 MB under tracemalloc), not the 200
    # copies (~2 GB) the grid would make. The time bound only catches a runaway; it is loose
    # because tracemalloc slows parsing several-fold on a loaded 2-core machine.
    assert peak < 100 * 2**20, peak
    assert seconds < 30.0


def test_the_cli_refuses_hostile_suites_with_exit_code_2(tmp_path):
    runner = CliRunner()
    deep = write_text(tmp_path, "a = " + "[" * 100_000 + "]" * 100_000, "deep.toml")
    out = tmp_path / "out"
    for args in (
        ["validate", str(deep)],
        ["run", str(deep), "--out", str(out)],
        ["validate", str(SMOKE), "--set", "defaults.generator.width=1000000000"],
        ["validate", str(SMOKE), "--set", 'suite.name="../evil"'],
        ["validate", str(SMOKE), "--set", 'variants.0.name="[/]"'],
        ["run", str(SMOKE), "--out", str(out), "--steps", "1000000000000"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "error:" in result.output and "Traceback" not in result.output
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        )
    assert not out.exists()


# --------------------------------------------------------------------------- no pickle, no eval

PICKLE_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "dill",
    "cloudpickle",
    "joblib",
    "shelve",
    "marshal",
}


FORBIDDEN_CALLS = {
    "eval",
    "exec",
    "compile",
    "__import__",
    "yaml.load",
    "yaml.unsafe_load",
    "torch.load",
}


def _call_name(node: ast.Call) -> str:
    parts = []
    func = node.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    parts.append(func.id if isinstance(func, ast.Name) else "<expr>")  # f().compile(): not builtin
    return ".".join(reversed(parts))


def _offences(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            found += [f"imports {n}" for n in names if n.split(".")[0] in PICKLE_MODULES]
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name in FORBIDDEN_CALLS or name.endswith("read_pickle"):
                found.append(f"calls {name}()")
            elif name in ("np.load", "numpy.load"):
                safe = any(
                    k.arg == "allow_pickle"
                    and isinstance(k.value, ast.Constant)
                    and k.value.value is False
                    for k in node.keywords
                )
                if not safe:
                    found.append(f"calls {name}() without allow_pickle=False")
            for k in node.keywords:
                if k.arg == "allow_pickle" and not (
                    isinstance(k.value, ast.Constant) and k.value.value is False
                ):
                    found.append(f"passes allow_pickle other than False to {name}()")
    return found


def test_the_scanner_finds_what_it_looks_for():
    bad = (
        "import pickle\nfrom joblib import load\nimport numpy as np\nnp.load('x')\n"
        "np.load('x', allow_pickle=True)\neval('1')\nexec('x')\nyaml.load(s)\ntorch.load(f)\n"
        "pd.read_pickle(p)\n"
    )
    assert len(_offences(bad)) == 10
    fine = "import numpy as np\nnp.load('x', allow_pickle=False)\njax.jit(f).lower(x).compile()\n"
    assert _offences(fine + "re.compile('x')  # pickle, eval(\n") == []


def test_the_package_never_unpickles_or_evaluates_text():
    offenders = {}
    for path in sorted((ROOT / "ganbench").rglob("*.py")):
        found = _offences(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


# --------------------------------------------------------------------------- corrupt results


class Evil:
    """Unpickling this creates a marker file: proof that nothing was unpickled if it is absent."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (self.marker.touch, ())


def _rows(modes: float) -> list[tuple]:
    return [
        (500, "modes", modes - 1, None, 100),
        (1000, "modes", modes, None, 100),
        (1000, "fd", 0.5, 100, 100),
        (1000, "mode_count/0", 3.0, None, 100),
        (1000, "loss_d", 1.0, None, None),
    ]


def _edit_manifest(run: Path, **changes: Any) -> None:
    manifest = json.loads((run / "manifest.json").read_text())
    for key, value in changes.items():
        if value is KeyError:
            del manifest[key]
        else:
            manifest[key] = value
    (run / "manifest.json").write_text(json.dumps(manifest))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corruptions(marker: Path) -> dict[str, Any]:
    """Ways to damage a run folder: name -> function(run folder)."""

    def replace_with_dir(name):
        def damage(run):
            if (run / name).exists():
                (run / name).unlink()
            (run / name).mkdir()

        return damage

    def loop(name):
        def damage(run):
            (run / name).unlink()
            os.symlink(name, run / name)

        return damage

    def fifo(name):
        def damage(run):
            (run / name).unlink()
            os.mkfifo(run / name)  # reading it would block forever

        return damage

    return {
        "truncated-metrics": lambda run: _truncate(run / "metrics.parquet"),
        "garbage-metrics": lambda run: (run / "metrics.parquet").write_bytes(os.urandom(512)),
        "truncated-manifest": lambda run: _truncate(run / "manifest.json"),
        "invalid-manifest": lambda run: (run / "manifest.json").write_text("{not json"),
        "empty-manifest": lambda run: (run / "manifest.json").write_bytes(b""),
        "deep-manifest": lambda run: (run / "manifest.json").write_text("[" * 10**5 + "]" * 10**5),
        "status-7": lambda run: _edit_manifest(run, status=7),
        "seed-x": lambda run: _edit_manifest(run, seed="x"),
        "seed-huge": lambda run: _edit_manifest(run, seed=10**30),
        "missing-keys": lambda run: _edit_manifest(run, run_id=KeyError, config=KeyError),
        "truncated-samples": lambda run: _truncate(run / "samples.npz"),
        "pickled-samples": lambda run: np.savez(
            run / "samples.npz", final=np.array([Evil(marker), None], dtype=object)
        ),
        "manifest-loop": loop("manifest.json"),
        "metrics-loop": loop("metrics.parquet"),
        "manifest-is-a-dir": replace_with_dir("manifest.json"),
        "metrics-is-a-dir": replace_with_dir("metrics.parquet"),
        "samples-is-a-dir": replace_with_dir("samples.npz"),
        "manifest-is-a-fifo": fifo("manifest.json"),
    }


def _good_samples(run: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(
        run / "samples.npz",
        final=rng.normal(size=(50, 2)),
        step_1000=rng.normal(size=(50, 2)),
        d_grid_step_1000=rng.normal(size=(8, 8)),
        d_grid_extent=np.array([-2.0, 2.0, -2.0, 2.0]),
    )


@pytest.fixture
def corrupt_folder(tmp_path) -> tuple[Path, dict[str, Path], Path]:
    """Two good runs (variant 'good') and one damaged run per corruption, each with its own
    variant name, so a damaged run that slipped into a table would show."""
    out = tmp_path / "results"
    marker = tmp_path / "UNPICKLED"
    for seed in range(2):
        _good_samples(
            write_fake_run(out, f"good{seed}", variant="good", seed=seed, rows=_rows(7 + seed))
        )
    damaged = {}
    for i, (kind, damage) in enumerate(_corruptions(marker).items()):
        run = write_fake_run(out, kind, variant=f"bad-{kind}", seed=10 + i, rows=_rows(3))
        _good_samples(run)
        damage(run)
        damaged[kind] = run
    # A link loop among the run folders, and a stray file where a run folder belongs.
    os.symlink(out / "toy" / "runs", out / "toy" / "runs" / "link-loop")
    (out / "toy" / "runs" / "stray-file").write_text("not a run")
    return out, damaged, marker


def _cli(*args: str):
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert "Traceback" not in result.output, result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def test_report_skips_each_corrupt_run_with_a_warning(corrupt_folder):
    out, damaged, marker = corrupt_folder
    result = _cli("report", str(out), "--format", "csv")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    for kind, run in damaged.items():
        mine = [w for w in warnings if f"{run}:" in w or f"{run} " in w]
        assert mine, (kind, warnings)
    reasons = "\n".join(warnings)
    for reason in (
        "corrupt metrics.parquet",
        "corrupt manifest.json",
        "manifest.json is empty",
        "status 7 is not one of completed, diverged, failed",
        "key 'seed' must be a 64-bit integer, got 'x'",
        "lacks key(s) run_id, config",
        "corrupt samples.npz",
        "holds Python objects (a pickle); refused, never unpickled",
        "manifest.json is a broken or looping link",
        "manifest.json is not a regular file",
        "metrics.parquet is a broken or looping link",
        "manifest.json is a folder, not a file",
        "metrics.parquet is not a file",
        "samples.npz is not a readable file",
    ):
        assert reason in reasons, reason
    table = result.output[result.output.index("suite,variant") :]
    assert "bad-" not in table
    header, *rows = [line for line in table.splitlines() if line.strip()]
    assert len(rows) == 1 and rows[0].startswith("toy,good,")
    assert dict(zip(header.split(","), rows[0].split(","), strict=False))["n_runs"] == "2"
    assert not marker.exists()


def test_report_html_plots_and_compare_survive_a_corrupt_folder(corrupt_folder, tmp_path):
    out, _, marker = corrupt_folder
    html = tmp_path / "report.html"
    result = _cli("report", str(out), "--html", str(html), "--plots", str(tmp_path / "plots"))
    assert result.exit_code == 0, result.output
    assert html.stat().st_size > 1000 and "bad-" not in html.read_text(encoding="utf-8")
    assert list((tmp_path / "plots").glob("*.png"))
    result = _cli("compare", str(out), str(out))
    assert result.exit_code == 0, result.output
    assert "warning: skipped" in result.output
    result = _cli("compare", "good", "good", "--in", str(out))
    assert result.exit_code == 0, result.output
    assert not marker.exists()


def test_report_with_no_good_run_left_is_a_clear_error(corrupt_folder):
    out, _, _ = corrupt_folder
    for run in (out / "toy" / "runs").glob("good*"):
        shutil.rmtree(run)
    result = _cli("report", str(out))
    assert result.exit_code == 2, result.output
    assert "error: no valid run under" in result.output
    assert "none readable" in result.output
    result = _cli("compare", str(out), str(out))
    assert result.exit_code == 2, result.output


MANIFEST_KEYS = ["schema", "run_id", "suite", "variant", "seed", "grid_point", "config", "status",
                 "step", "diverged_at", "timing", "error", "dataset"]  # fmt: skip
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from([*HOSTILE_STRINGS, "completed", "diverged", "failed"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(MANIFEST_KEYS) | st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@fuzz(60)
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(MANIFEST_KEYS), json_values | st.just(KeyError)),
        min_size=1,
        max_size=4,
    )
)
def test_every_run_folder_is_read_or_named_in_a_warning(scratch, edits):
    from ganbench.report import read_results, summarize, to_text, with_stability

    out = scratch / "results"
    shutil.rmtree(out, ignore_errors=True)
    good = write_fake_run(out, "good", rows=_rows(5))
    bad = write_fake_run(out, "bad", seed=1, variant="bad", rows=_rows(3))
    manifest = json.loads((bad / "manifest.json").read_text())
    for key, value in edits:
        if value is KeyError:
            manifest.pop(key, None)
        else:
            manifest[key] = value
    (bad / "manifest.json").write_text(json.dumps(manifest))
    results = read_results(out)  # a good run remains: never raises
    paths = set(results.runs["path"])
    assert str(good) in paths
    assert str(bad) in paths or any(w.startswith(f"skipped {bad}: ") for w in results.warnings)
    _event("read" if str(bad) in paths else "skipped")
    summary = with_stability(summarize(results), results)
    for fmt in ("csv", "json", "markdown"):
        assert to_text(summary, fmt)


def test_hostile_names_in_a_results_folder_are_shown_not_interpreted(tmp_path):
    out = tmp_path / "results"
    rows = _rows(5)
    write_fake_run(out, "a", suite="[bold]", variant="[/]", rows=rows)
    write_fake_run(out, "b", variant="$\\frac{", grid_point={"x": "$^$"}, rows=rows)
    write_fake_run(out, "c", variant="x" * 500, rows=rows)
    result = _cli(
        "report", str(out), "--html", str(tmp_path / "r.html"), "--plots", str(tmp_path / "p")
    )
    assert result.exit_code == 0, result.output
    assert "[/]" in result.output and "[bold]" in result.output
    assert all(len(p.name) < 200 for p in (tmp_path / "p").iterdir())
    result = _cli("compare", str(out), str(out))
    assert result.exit_code == 0, result.output
    assert "[/]" in result.output


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("dotted key", "x = 1\n" + ".".join(["k"] * 200_000) + " = 1\n"),
        ("deep arrays", "x = " + "[" * 5_000 + "]" * 5_000 + "\n"),
        ("big integer", "x = " + "9" * 4_000 + "\n"),
        ("not toml", "[[variants]\nname = 'a'\n"),
        ("large", "# " + "x" * (17 << 20) + "\n"),
    ],
)
def test_a_hostile_suite_toml_in_a_results_folder_is_skipped_with_a_warning(tmp_path, kind, text):
    """Every TOML file ganbench reads goes through the guards (ganbench.tomlguard): a results
    folder's suite.toml that Python's TOML reader would spin on for minutes (a dotted key of
    200,000 parts), nest past any stack, or that is not TOML, is named in a warning and the
    report goes on (rows in name order), quickly."""
    out = tmp_path / "results"
    for seed in range(2):
        write_fake_run(out, f"r{seed}", variant="gan", seed=seed, rows=_rows(6))
    suite_file = out / "toy" / "suite.toml"
    suite_file.write_text(text)
    html = tmp_path / "page.html"
    start = time.perf_counter()
    result = _cli("report", str(out), "--format", "csv", "--html", str(html))
    elapsed = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    assert f"{suite_file}: cannot read" in result.output
    assert "gan" in result.stdout and html.is_file()
    assert elapsed < 30, f"{kind}: report took {elapsed:.1f} s"


def test_a_samples_npz_declaring_a_huge_array_is_refused_by_its_header(tmp_path):
    """A samples.npz whose array header says (2**30, 2) float32 (8 GiB, in a file of a few
    hundred bytes) is refused from the header, before anything is read: the run is skipped
    with a warning naming the file, and the report goes on with the others."""
    import io
    import zipfile

    from numpy.lib import format as npy_format

    out = tmp_path / "results"
    write_fake_run(out, "good", variant="gan", seed=0, rows=_rows(6))
    bad = write_fake_run(out, "huge", variant="gan", seed=1, rows=_rows(6))
    header = io.BytesIO()
    npy_format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (2**30, 2)}
    )
    with zipfile.ZipFile(bad / "samples.npz", "w") as archive:
        archive.writestr("final.npy", header.getvalue() + bytes(64))
    start = time.perf_counter()
    result = _cli("report", str(out), "--format", "csv", "--plots", str(tmp_path / "plots"))
    assert result.exit_code == 0, result.output
    assert "samples.npz holds more than 2,147,483,648 bytes of arrays" in result.output
    assert "(1073741824, 2)" in result.output and str(bad) in result.output
    assert time.perf_counter() - start < 30


def test_a_metrics_parquet_past_the_row_limit_is_refused_by_its_footer(tmp_path, monkeypatch):
    from ganbench.results import read as results_read

    monkeypatch.setattr(results_read, "MAX_METRIC_ROWS", 3)
    out = tmp_path / "results"
    write_fake_run(out, "few", variant="gan", seed=0, rows=_rows(6)[:2])
    many = write_fake_run(out, "many", variant="gan", seed=1, rows=_rows(6))
    results = results_read.read_results(out)
    assert list(results.runs["run_id"]) == ["few"]
    assert any(str(many) in w and "rows (at most 3)" in w for w in results.warnings)


def _finishes(fn, seconds: float = 20.0):
    """``fn()``'s result, failing (not hanging) when it blocks longer than ``seconds``."""
    import threading

    box: dict[str, object] = {}
    thread = threading.Thread(target=lambda: box.setdefault("value", fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"blocked for more than {seconds} s"
    return box.get("value")


def test_fifos_named_like_results_do_not_block_planning(tmp_path):
    """A FIFO where a manifest.json or a checkpoint should be is not a file: planning a suite
    over them neither blocks nor fails; the run is trained and the checkpoint ignored."""
    from ganbench.results.write import read_status, run_dir
    from ganbench.run.checkpoint import CHECKPOINTS_DIR
    from ganbench.run.plan import make_plan

    suite = load_suite(SMOKE)
    out = tmp_path / "out"
    first = suite.runs[0]
    folder = run_dir(out, first.suite, first.run_id)
    folder.mkdir(parents=True)
    os.mkfifo(folder / "manifest.json")
    checkpoints = out / suite.name / CHECKPOINTS_DIR
    checkpoints.mkdir(parents=True)
    os.mkfifo(checkpoints / "0123456789abcdef.npz")
    assert _finishes(lambda: read_status(folder)) is None
    plan = _finishes(lambda: make_plan(suite, out))
    assert plan.todo == len(suite.runs) and plan.resumed == 0


HOSTILE_TEXT = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;"\''


def test_html_report_escapes_planted_text(tmp_path):
    """A results folder is untrusted: variant names, grid values and the suite's description
    with '<', '&' and quotes appear in the page as text, never as markup. The page is parsed:
    its only elements are those ganbench writes (one script, figures as data: images)."""
    from html.parser import HTMLParser

    out = tmp_path / "results"
    for seed in range(2):
        write_fake_run(
            out, f"r{seed}", variant=HOSTILE_TEXT, seed=seed, rows=_rows(6),
            grid_point={"lr": HOSTILE_TEXT}, config={"dataset": "ring8", "lr": HOSTILE_TEXT},
        )  # fmt: skip
    description = json.dumps("described: " + HOSTILE_TEXT)  # a TOML basic string too
    (out / "toy" / "suite.toml").write_text(f"[suite]\nname = 'toy'\ndescription = {description}\n")
    page = tmp_path / "page.html"
    result = _cli("report", str(out), "--html", str(page))
    assert result.exit_code == 0, result.output

    class Collect(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[tuple[str, dict]] = []
            self.text: list[str] = []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

        def handle_data(self, data):
            self.text.append(data)

    parser = Collect()
    parser.feed(page.read_text(encoding="utf-8"))
    assert sum(tag == "script" for tag, _ in parser.tags) == 1
    assert all(
        attrs.get("src", "").startswith("data:image/") and "onerror" not in attrs
        for tag, attrs in parser.tags
        if tag == "img"
    )
    text = "".join(parser.text)
    assert HOSTILE_TEXT in text  # shown as text (the parser unescapes it once)
    assert "described: " + HOSTILE_TEXT in text


def test_figures_whose_names_sanitise_alike_do_not_overwrite_each_other(tmp_path):
    """'a/b' and 'a?b' (suite names from an untrusted results folder) both sanitise to 'a_b':
    each figure keeps a file of its own, written atomically (no temporary file left)."""
    from matplotlib.figure import Figure as MplFigure

    from ganbench.report.plots import Figure, write_figures

    figs = []
    for suite, colour in (("a/b", "red"), ("a?b", "blue"), ("a*b", "green")):
        fig = MplFigure(figsize=(1, 1))
        fig.add_subplot().set_facecolor(colour)
        figs.append(Figure("curves", suite, {}, suite, "", fig))
    folder = tmp_path / "plots"
    paths = write_figures(figs, folder, "png")
    assert [p.name for p in paths] == ["a_b__curves.png", "a_b__curves-2.png", "a_b__curves-3.png"]
    assert len({p.read_bytes() for p in paths}) == 3
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths)


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="needs O_NOFOLLOW")
def test_a_link_where_a_claim_lock_belongs_is_refused(tmp_path):
    """A symlink planted at a claim's lock file is not followed (the target stays untouched)."""
    from ganbench.results.claims import Claim

    target = tmp_path / "precious.txt"
    target.write_text("keep")
    folder = tmp_path / "suite"
    (folder / ".claims").mkdir(parents=True)
    (folder / ".claims" / "g1.lock").symlink_to(target)
    with pytest.raises(ResultsError, match="cannot open the claim file"):
        Claim(folder, "g1").acquire()
    assert target.read_text() == "keep"


def test_a_linked_run_folder_is_reported_not_dropped(tmp_path):
    out = tmp_path / "results"
    write_fake_run(out, "real", variant="gan", seed=0, rows=_rows(6))
    elsewhere = tmp_path / "elsewhere"
    write_fake_run(elsewhere, "linked", variant="gan", seed=1, rows=_rows(6))
    link = out / "toy" / "runs" / "linked"
    link.symlink_to(elsewhere / "toy" / "runs" / "linked", target_is_directory=True)
    from ganbench.results.read import read_results

    results = read_results(out)
    assert list(results.runs["run_id"]) == ["real"]
    assert any(f"skipped {link}: a link to a folder" in w for w in results.warnings)


def test_a_run_that_would_keep_too_much_in_memory_is_refused_before_training(tmp_path):
    """steps = 1,000,000 with eval_every = 1 validates, but a run would keep a million
    evaluations of samples and rows in memory: 'run' refuses it with exit 2 before training,
    naming the variant and what to change, and writes nothing."""
    out = tmp_path / "out"
    overrides = ["--set", "suite.steps=1000000", "--set", "suite.eval_every=1"]
    start = time.perf_counter()
    result = _cli("run", str(SMOKE), "--out", str(out), *overrides)
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "keeps too much in memory: 1,000,000 evaluations" in message
    assert "raise suite.eval_every, set metrics.snapshots = false" in message
    assert not out.exists()
    assert time.perf_counter() - start < QUICK * 3  # planning, no training


def test_report_on_one_good_run_beside_every_hostile_artefact(tmp_path, monkeypatch):
    """One folder with a good run and each hostile artefact of a results folder: a suite.toml
    with a 200,000-part dotted key, a samples.npz declaring 8 GiB, a metrics.parquet past the
    row limit (lowered here to 3 rows, the check is on the footer's count), a FIFO for a
    manifest, a linked run folder, a link loop and a corrupt manifest. `report` (table, HTML and
    figures) finishes quickly, with exactly one warning per bad item, and reports the good run."""
    import io
    import zipfile

    from numpy.lib import format as npy_format

    from ganbench.results import read as results_read

    monkeypatch.setattr(results_read, "MAX_METRIC_ROWS", 3)
    out = tmp_path / "results"
    runs = out / "toy" / "runs"
    write_fake_run(out, "good", variant="good", seed=0, rows=_rows(6)[:3])
    (out / "toy" / "suite.toml").write_text(".".join(["k"] * 200_000) + " = 1\n")
    bad = {}
    bad["npz"] = write_fake_run(out, "huge-npz", variant="bad-npz", seed=1, rows=_rows(6)[:3])
    header = io.BytesIO()
    npy_format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (2**30, 2)}
    )
    with zipfile.ZipFile(bad["npz"] / "samples.npz", "w") as archive:
        archive.writestr("final.npy", header.getvalue() + bytes(64))
    bad["rows"] = write_fake_run(out, "many-rows", variant="bad-rows", seed=2, rows=_rows(6))
    bad["fifo"] = write_fake_run(out, "fifo", variant="bad-fifo", seed=3, rows=_rows(6)[:3])
    (bad["fifo"] / "manifest.json").unlink()
    os.mkfifo(bad["fifo"] / "manifest.json")
    bad["corrupt"] = write_fake_run(out, "corrupt", variant="bad-json", seed=4, rows=_rows(6)[:3])
    (bad["corrupt"] / "manifest.json").write_text("{not json")
    elsewhere = tmp_path / "elsewhere"
    write_fake_run(elsewhere, "linked", variant="bad-link", seed=5, rows=_rows(6)[:3])
    bad["link"] = runs / "linked"
    bad["link"].symlink_to(elsewhere / "toy" / "runs" / "linked", target_is_directory=True)
    bad["loop"] = runs / "loop"
    bad["loop"].symlink_to(runs / "loop")
    items = [*bad.values(), out / "toy" / "suite.toml"]

    start = time.perf_counter()
    args = ["report", str(out), "--format", "csv", "--html", str(tmp_path / "r.html")]
    args += ["--plots", str(tmp_path / "plots")]
    result = _finishes(lambda: _cli(*args), seconds=60)
    elapsed = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    for item in items:
        mine = [w for w in warnings if f"{item}:" in w or f"{item} " in w]
        assert len(mine) == 1, (item, "\n".join(warnings))
    assert len(warnings) == len(items), "\n".join(warnings)
    table = result.output[result.output.index("suite,variant") :]
    assert "bad-" not in table and "toy,good," in table
    assert elapsed < QUICK, f"report took {elapsed:.1f} s"
