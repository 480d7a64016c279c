"""Plugins: a package outside ganbench (tests/plugins/gb_plugin_demo) registers a generator, a
discriminator and a loss through the public API; a suite that imports it trains, spectral
normalisation and the gradient penalty see its networks as they see the built-in ones, and the
report reads the results without importing it. Bad plugins exit 2 naming the module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.config import load_suite
from ganbench.errors import ConfigError

PLUGINS = Path(__file__).resolve().parent / "plugins"
ROOT = Path(__file__).resolve().parents[1]

SUITE = """
[suite]
name = "plug"
seeds = 2
steps = 20
eval_every = 10
imports = ["gb_plugin_demo"]

[defaults]
dataset = "ring8"
batch_size = 32
z_dim = 2
loss = "demo_softplus"
generator = {{ arch = "demo_tiny", hidden = 8 }}
discriminator = {{ arch = "demo_tiny", sn = true }}
optimizer = {{ name = "adam", lr_g = 1e-3, lr_d = 1e-3 }}

[metrics]
samples = 200
{extra}
[[variants]]
name = "ns"
"""


@pytest.fixture
def plugin_path(monkeypatch, restore_registries):
    monkeypatch.syspath_prepend(str(PLUGINS))
    return PLUGINS


def _write(tmp_path, extra: str = "", name: str = "suite.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(SUITE.format(extra=extra)))
    return path


def test_a_plugin_suite_trains_two_seeds_and_the_report_never_imports_the_plugin(
    plugin_path, tmp_path
):
    import ganbench

    results = ganbench.run_suite(_write(tmp_path), out=tmp_path / "out")
    runs = results.runs[results.runs["variant"] == "ns"]
    assert sorted(runs["seed"]) == [0, 1] and set(runs["status"]) == {"completed"}
    manifest = json.loads(
        next((tmp_path / "out" / "plug" / "runs").glob("*/manifest.json")).read_text()
    )
    if manifest["variant"] != "ns":
        manifest = next(
            m
            for m in (
                json.loads(p.read_text())
                for p in (tmp_path / "out" / "plug" / "runs").glob("*/manifest.json")
            )
            if m["variant"] == "ns"
        )
    assert manifest["config"]["generator"] == {
        "activation": "relu", "arch": "demo_tiny", "channels": None, "depth": 2,
        "hidden": 8, "spectral_norm": False, "width": 128,
    }  # fmt: skip
    assert manifest["config"]["discriminator"]["sn"] is True
    assert manifest["config"]["discriminator"]["hidden"] == 16  # the declared default
    assert "gb_plugin_demo" in (tmp_path / "out" / "plug" / "suite.toml").read_text()
    # The report, in a fresh process where the plugin is not importable: it reads everything
    # and imports nothing the results name.
    code = (
        "import sys\n"
        "from ganbench.cli import app\n"
        "try:\n"
        f"    app([ 'report', {str(tmp_path / 'out')!r}, '--format', 'csv'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "assert 'gb_plugin_demo' not in sys.modules\n"
        "print('NOT IMPORTED')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["JAX_PLATFORMS"] = "cpu"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "NOT IMPORTED" in done.stdout and "ns,ring8" in done.stdout


def test_spectral_norm_and_the_gradient_penalty_see_a_plugin_network(plugin_path, tmp_path):
    from ganbench.config.expand import hparams_of, structure_of
    from ganbench.train.engine import Program

    suite = load_suite(
        _write(tmp_path),
        overrides=['defaults.penalty={ name = "gp", weight = 1.0 }', 'defaults.loss="wasserstein"'],
    )
    config = suite.runs[0].config
    program = Program(structure_of(config), eval_every=2, samples=8)
    hp = hparams_of(config, 2)

    def vectors(stats):  # the power-iteration vectors u of every normalised layer
        flat = jax.tree_util.tree_flatten_with_path(stats)[0]
        return [leaf for path, leaf in flat if str(path[-1].key).endswith("/u")]

    state = jax.jit(program.init)(np.int32(0), hp)
    u0 = vectors(state.d_stats)
    assert len(u0) == 2  # both layers of the plugin's critic
    state, stats = jax.jit(program.train_step)(state, hp)
    moved = [not np.allclose(a, b) for a, b in zip(u0, vectors(state.d_stats), strict=True)]
    assert all(moved), "the engine advances the plugin's power iterations, as the built-ins'"
    assert float(stats.penalty) > 0.0  # the penalty differentiated the plugin's D
    assert np.isfinite(float(stats.input_grad_real))


def test_cli_validate_imports_with_the_option_and_names_a_missing_module(plugin_path, tmp_path):
    path = _write(tmp_path)
    text = path.read_text().replace('imports = ["gb_plugin_demo"]\n', "")
    bare = tmp_path / "bare.toml"
    bare.write_text(text)
    runner = CliRunner()
    res = runner.invoke(app, ["validate", str(bare)])
    assert res.exit_code == 2 and "unknown architecture 'demo_tiny'" in res.output
    res = runner.invoke(app, ["validate", str(bare), "--import", "gb_plugin_demo"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["validate", str(bare), "--import", "gb_plugin_nowhere"])
    assert res.exit_code == 2, res.output
    assert "cannot import plugin module 'gb_plugin_nowhere'" in res.output
    assert "--import" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["validate", str(bare), "--import", "not a module"])
    assert res.exit_code == 2 and "'not a module' is not a module name" in res.output


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("raise RuntimeError('broken on purpose')", "failed while it was imported: RuntimeError"),
        (
            "import ganbench\n"
            "ganbench.register_network('mlp', generator=lambda c, s: None, help='x')",
            "architecture 'mlp' is already registered (by module 'ganbench.models.mlp')",
        ),
        (
            "import ganbench\nganbench.register_network('Bad-Name', generator=len, help='x')",
            "'Bad-Name' is not an architecture name",
        ),
        (
            "import ganbench\n"
            "ganbench.register_network('gb_x', generator=len, help='x',\n"
            "    settings={'hidden': {'help': 'h', 'kind': int, 'default': 0, 'low': 1}})",
            "its default does not pass its own check: hidden must be at least 1",
        ),
        (
            "import ganbench\nganbench.register_network('gb_x', generator=3, help='x')",
            "generator must be a builder (cfg, shape) -> flax.linen.Module, got int",
        ),
    ],
    ids=["raises", "duplicate", "name", "setting", "builder"],
)
def test_a_bad_plugin_exits_2_naming_the_module(
    restore_registries, tmp_path, monkeypatch, source, expected
):
    module = tmp_path / "mods" / "gb_plugin_bad.py"
    module.parent.mkdir()
    module.write_text(source + "\n")
    monkeypatch.syspath_prepend(str(module.parent))
    path = _write(tmp_path).read_text().replace("gb_plugin_demo", "gb_plugin_bad")
    (tmp_path / "bad.toml").write_text(path)
    res = CliRunner().invoke(app, ["validate", str(tmp_path / "bad.toml")])
    assert res.exit_code == 2, res.output
    assert "plugin module 'gb_plugin_bad'" in res.output
    assert expected in res.output and "Traceback" not in res.output


def test_a_plugin_network_of_the_wrong_shape_is_refused_at_validation(
    restore_registries, tmp_path, monkeypatch
):
    module = tmp_path / "mods" / "gb_plugin_shapes.py"
    module.parent.mkdir()
    module.write_text(
        textwrap.dedent(
            """
            import flax.linen as nn
            import ganbench

            class Three(nn.Module):
                @nn.compact
                def __call__(self, x):
                    return nn.Dense(3)(x)

            ganbench.register_network(
                "gb_three", generator=lambda cfg, shape: Three(),
                discriminator=lambda cfg, shape: Three(), help="outputs 3 numbers",
            )
            """
        )
    )
    monkeypatch.syspath_prepend(str(module.parent))
    text = _write(tmp_path).read_text().replace("gb_plugin_demo", "gb_plugin_shapes")
    text = text.replace('arch = "demo_tiny", hidden = 8', 'arch = "gb_three"')
    text = text.replace('arch = "demo_tiny", sn = true', 'arch = "gb_three"')
    text = text.replace('loss = "demo_softplus"', 'loss = "non_saturating"')
    (tmp_path / "three.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_suite(tmp_path / "three.toml")
    message = str(info.value)
    assert (
        "generator.arch 'gb_three' (registered by module 'gb_plugin_shapes') makes samples"
        in message
    )
    assert "of shape (3,)" in message and "have shape (2,)" in message
    assert "discriminator.arch 'gb_three'" in message and "returns shape (2, 3)" in message


def test_suite_imports_are_checked_before_anything_is_imported(tmp_path):
    for value, expected in (
        ('"gb_plugin_demo"', "imports must be a list of module names"),
        ('["os; rm"]', "'os; rm' is not a module name"),
    ):
        text = _write(tmp_path).read_text().replace('["gb_plugin_demo"]', value)
        (tmp_path / "x.toml").write_text(text)
        with pytest.raises(ConfigError, match=expected):
            load_suite(tmp_path / "x.toml")


def test_a_plugin_setting_is_checked_against_its_declaration(plugin_path, tmp_path):
    for table, expected in (
        ("hidden = 0", "hidden must be at least 1"),
        ('hidden = "8"', "hidden must be int, got str"),
        ("width = 3", "width is a setting of archs"),
    ):
        text = _write(tmp_path).read_text().replace("hidden = 8", table)
        (tmp_path / "s.toml").write_text(text)
        with pytest.raises(ConfigError, match=expected):
            load_suite(tmp_path / "s.toml")
    text = _write(tmp_path).read_text().replace("hidden = 8", "hidden = 8, sn = true")
    (tmp_path / "s.toml").write_text(text)
    with pytest.raises(
        ConfigError,
        match=r"generator\.sn: arch 'demo_tiny' takes sn in its discriminator table only",
    ):
        load_suite(tmp_path / "s.toml")
