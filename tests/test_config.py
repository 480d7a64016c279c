"""Suite loading and validation: every error names the file, line, key and what is allowed."""

from __future__ import annotations

import pytest

from ganbench.config import load_suite, parse_override
from ganbench.errors import ConfigError
from ganbench.objectives import LOSSES


def problems(path, **kw) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_suite(path, **kw)
    return info.value.problems


def test_shipped_suites_validate():
    suite = load_suite("suites/mode_collapse.toml")
    assert len(suite.runs) == 4 * 2 * 3
    assert {r.variant for r in suite.runs} == {
        "minimax",
        "non-saturating",
        "wgan-gp",
        "sngan-hinge",
    }
    assert {r.grid_point["dataset"] for r in suite.runs} == {"ring8", "grid25"}
    assert len(load_suite("suites/smoke.toml").runs) >= 2


def test_expansion_and_defaults_merge(write_suite):
    path = write_suite(
        """
        [[variants]]
        name = "ns"
        loss = "non_saturating"

        [[variants]]
        name = "wgan"
        loss = "wasserstein"
        penalty = { name = "gp" }
        optimizer = { lr_d = 5e-4 }
        n_critic = 3

        [grid]
        dataset = ["ring8", "grid25"]
        "optimizer.lr_g" = [1e-3, 2e-3]
        """
    )
    suite = load_suite(path)
    assert len(suite.runs) == 2 * 2 * 2 * 2
    wgan = next(r for r in suite.runs if r.variant == "wgan")
    resolved = wgan.config.resolved()
    # Deep merge: the variant's lr_d over the defaults' optimizer table, b1 kept from defaults.
    assert resolved["optimizer"]["lr_d"] == 5e-4 and resolved["optimizer"]["b1"] == 0.5
    assert resolved["optimizer"]["b2"] == 0.999  # Adam default filled in
    assert resolved["penalty"] == {"name": "gp", "weight": 10.0}
    assert {r.config.optimizer.lr_g for r in suite.runs} == {1e-3, 2e-3}
    assert len({r.run_id for r in suite.runs}) == len(suite.runs)


def test_run_ids_are_stable_and_depend_on_config_and_seed(write_suite):
    a = load_suite(write_suite())
    b = load_suite(write_suite(name="other.toml"))
    assert [r.run_id for r in a.runs] == [r.run_id for r in b.runs]
    assert a.runs[0].run_id != a.runs[1].run_id  # seeds differ
    c = load_suite(write_suite(), overrides=["defaults.batch_size=64"])
    assert a.runs[0].run_id != c.runs[0].run_id


def test_misspelt_key_names_file_line_and_suggestion(write_suite):
    path = write_suite(
        """
        [[variants]]
        name = "ns"
        loss = "non_saturating"
        n_critc = 2
        """
    )
    (msg,) = problems(path)
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "n_critc" in t)
    assert msg.startswith(f"{path}:{line}: variants[0] (ns).n_critc: unknown key 'n_critc'")
    assert "did you mean 'n_critic'?" in msg and "allowed:" in msg


def test_misspelt_loss_lists_known_losses(write_suite):
    (msg,) = problems(write_suite('[[variants]]\nname = "h"\nloss = "hinj"\n'))
    assert "unknown loss 'hinj'; did you mean 'hinge'?" in msg
    assert "known: " + ", ".join(LOSSES.names()) in msg


def test_errors_in_defaults_are_blamed_on_defaults_once(write_suite):
    text = (
        write_suite()
        .read_text()
        .replace('dataset = "ring8"', 'dataset = "ring9"')
        .replace("[[variants]]", '[[variants]]\nname = "b"\nloss = "hinge"\n\n[[variants]]', 1)
    )
    path = write_suite(text=text, name="x.toml")
    msgs = problems(path)
    assert len(msgs) == 1
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "ring9" in t)
    assert f":{line}: defaults.dataset: unknown dataset 'ring9'; did you mean 'ring8'?" in msgs[0]


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ("steps = 20", "steps = -20", "suite.steps: Input should be greater than or equal to 1"),
        ("eval_every = 10", "eval_every = 7", "eval_every (7) must divide steps (20)"),
        ("batch_size = 32", 'batch_size = "32"', "batch_size: Input should be a valid integer"),
        ("b1 = 0.5", "b1 = 1.0", "b1 must be in [0, 1), got 1.0"),
        ("lr_d = 1e-3", "lr_d = 0", "lr_d must be in (0, 10], got 0"),
        (
            "width = 16, depth = 1 }\ndis",
            "width = 1_000_000_000, depth = 1 }\ndis",
            "generator.width: Input should be less than or equal to 16384",
        ),
        ("seeds = 2", "seeds = [1, 1]", "seeds must be unique"),
        ('name = "tiny"', 'name = "../evil"', "suite.name: String should match pattern"),
        (
            "samples = 200",
            "samples = 1",
            "metrics.samples: Input should be greater than or equal to 2",
        ),
    ],
    ids=[
        "negative-steps",
        "eval-divides",
        "type",
        "beta",
        "lr",
        "huge-width",
        "seeds",
        "suite-name",
        "samples",
    ],
)
def test_impossible_values(write_suite, old, new, expect):
    text = write_suite().read_text()
    assert old in text
    msgs = problems(write_suite(text=text.replace(old, new), name="x.toml"))
    assert any(expect in m for m in msgs), msgs


def test_unknown_section_and_missing_variants(write_suite):
    text = write_suite().read_text() + "\n[metircs]\nsamples = 3\n"
    msgs = problems(write_suite(text=text, name="x.toml"))
    assert any("unknown key 'metircs'; did you mean 'metrics'?" in m for m in msgs)
    no_variants = write_suite().read_text().split("[[variants]]")[0]
    msgs = problems(write_suite(text=no_variants, name="y.toml"))
    assert any("variants: required key is missing" in m for m in msgs)


def test_duplicate_variant_names(write_suite):
    msgs = problems(write_suite('[[variants]]\nname = "a"\nloss = "hinge"\n' * 2))
    assert any("duplicate variant name 'a'" in m for m in msgs)


def test_optimizer_knobs_are_checked_per_optimizer(write_suite):
    path = write_suite(
        '[[variants]]\nname = "s"\nloss = "hinge"\noptimizer = { name = "sgd", lr_g = 0.1, '
        "lr_d = 0.1, b1 = 0.5 }\n"
    )
    msgs = problems(path)  # b1 is an Adam knob, not an SGD one
    assert any("unknown key 'b1' for optimizer 'sgd'" in m and "momentum" in m for m in msgs)
    msgs = problems(
        write_suite(
            '[[variants]]\nname = "s"\nloss = "hinge"\noptimizer = { name = "adamw" }\n',
            name="z.toml",
        )
    )
    assert any("unknown optimizer 'adamw'; did you mean 'adam'?" in m for m in msgs)


def test_overrides(write_suite):
    path = write_suite()
    suite = load_suite(
        path, overrides=["defaults.batch_size=64", "variants.ns.loss=hinge"], seeds=3, steps=40
    )
    assert {r.config.batch_size for r in suite.runs} == {64}
    assert {r.config.loss for r in suite.runs} == {"hinge"}
    assert len(suite.runs) == 3 and {r.steps for r in suite.runs} == {40}
    assert suite.raw["defaults"]["batch_size"] == 64
    msgs = problems(path, overrides=["defaults.batch_size=0"])
    assert any("(--set defaults.batch_size)" in m for m in msgs)
    with pytest.raises(ConfigError, match="no variant 'nss'; did you mean 'ns'"):
        load_suite(path, overrides=["variants.nss.loss=hinge"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_suite(path, overrides=["defaults.batch_size"])


def test_parse_override_reads_toml_values():
    assert parse_override("a.b=1e-4") == (["a", "b"], 1e-4)
    assert parse_override("a=[1, 2]") == (["a"], [1, 2])
    assert parse_override("a=hinge") == (["a"], "hinge")
    assert parse_override('a="x y"') == (["a"], "x y")


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="no such suite file"):
        load_suite(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[suite\nname = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_suite(bad)
