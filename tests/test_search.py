"""The [search] section: distributions, draws reproducible from the search seed, trials as
ordinary runs grouped like a grid, and errors that name the key."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from ganbench.config import load_suite
from ganbench.config.search import SIGNIFICANT_DIGITS, parse_distribution, parse_search
from ganbench.errors import ConfigError

VARIANTS = """
[[variants]]
name = "ns"
loss = "non_saturating"

[[variants]]
name = "wgan-gp"
loss = "wasserstein"
penalty = { name = "gp", weight = 10.0 }
"""

SEARCH = """
[search]
trials = {trials}
seed = {seed}
"optimizer.lr_g" = "loguniform(1e-5, 1e-2)"
"optimizer.b1" = "uniform(0.0, 0.9)"
"penalty.weight" = "choice([0.1, 1.0, 10.0])"
"""


def search_suite(write_suite, trials=4, seed=0, extra="", name="suite.toml"):
    return write_suite(VARIANTS + extra + SEARCH.format(trials=trials, seed=seed), name=name)


def problems(path, **kw) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_suite(path, **kw)
    return info.value.problems


def rounded(x: float) -> float:
    return float(f"{x:.{SIGNIFICANT_DIGITS}g}")


def uniform_draw(seed: int, trial: int, key: str) -> float:
    """The u in [0, 1) of one trial and knob: one SeedSequence per (search seed, trial, key)."""
    ss = np.random.SeedSequence([seed, trial, zlib.crc32(key.encode())])
    return float(np.random.default_rng(ss).random())


# ------------------------------------------------------------------ distributions


def test_distribution_forms():
    assert parse_distribution("loguniform(1e-5, 1e-2)").kind == "loguniform"
    d = parse_distribution(" uniform( -1 , 2.5 ) ")
    assert (d.kind, d.low, d.high) == ("uniform", -1.0, 2.5)
    c = parse_distribution('choice([0.1, 1, "x", true])')
    assert c.values == (0.1, 1, "x", True)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("logunif(1e-5, 1e-2)", "unknown distribution.*allowed: loguniform"),
        ("loguniform(0, 1)", "0 < low"),
        ("uniform(2, 1)", "low < high"),
        ("choice([])", "at least one value"),
        ("choice([[1], 2])", "not tables or lists"),
        ("choice([1, ])x", "unknown distribution"),
        (0.5, "written as a string"),
        ("choice(" + "[" * 100_000 + "]" * 100_000 + ")", "the choices are a TOML list"),
    ],
)
def test_bad_distributions_say_what_is_allowed(text, match):
    with pytest.raises(ValueError, match=match):
        parse_distribution(text)


def test_draws_are_the_formula_of_the_seed_trial_and_key():
    search, errs = parse_search(
        {"trials": 3, "seed": 7, "a.lr": "loguniform(1e-5, 1e-2)", "a.b": "uniform(-1, 3)"}
    )
    assert not errs
    for trial in range(3):
        got = search.draws(trial)
        u = uniform_draw(7, trial, "a.lr")
        assert got["a.lr"] == rounded(
            math.exp(math.log(1e-5) + u * (math.log(1e-2) - math.log(1e-5)))
        )
        assert got["a.b"] == rounded(-1 + uniform_draw(7, trial, "a.b") * 4)


def test_choice_draws_every_value_about_equally_often():
    search, _ = parse_search({"trials": 3000, "k.v": "choice([1, 2, 3])"})
    counts = np.bincount([search.draws(t)["k.v"] for t in range(3000)], minlength=4)[1:]
    assert counts.sum() == 3000 and counts.min() > 900  # each ~1000; 3 sigma is ~77


def test_loguniform_is_uniform_in_the_logarithm():
    search, _ = parse_search({"trials": 4000, "k.v": "loguniform(1e-4, 1e0)"})
    logs = np.log10([search.draws(t)["k.v"] for t in range(4000)])
    assert logs.min() >= -4 and logs.max() <= 0
    # Each decade holds a quarter of the draws (binomial sd ~27 of 1000).
    counts = np.histogram(logs, bins=[-4, -3, -2, -1, 0])[0]
    assert np.all(np.abs(counts - 1000) < 120), counts


def test_a_search_key_nested_beyond_the_limit_is_refused(write_suite):
    deep = ".".join(["optimizer"] * 5000)
    path = write_suite(VARIANTS + f'\n[search]\ntrials = 2\n"{deep}" = "uniform(0, 1)"\n')
    (msg,) = problems(path)  # the suite file's guard sees it first
    assert "dotted key of more than 16 parts" in msg
    _, errs = parse_search({"trials": 2, deep: "uniform(0, 1)"})  # from --set or the API
    assert "dotted parts" in errs[0][1]


def test_section_problems_name_their_keys():
    _, errs = parse_search({"seed": -1, "x.y": "nope"})
    keys = {tuple(k) for k, _ in errs}
    assert keys == {("trials",), ("seed",), ("x.y",)}
    _, errs = parse_search({"trials": 2})
    assert "at least one knob" in errs[0][1]


# ------------------------------------------------------------------ expansion


def test_trials_are_runs_with_drawn_values_paired_across_variants(write_suite):
    suite = load_suite(search_suite(write_suite, trials=4, seed=3), seeds=2)
    assert len(suite.runs) == 2 * 4 * 2
    assert len({r.run_id for r in suite.runs}) == len(suite.runs)
    ns = {(r.trial, r.seed): r for r in suite.runs if r.variant == "ns"}
    gp = {(r.trial, r.seed): r for r in suite.runs if r.variant == "wgan-gp"}
    for key, run in ns.items():
        # The penalty knob applies only where a penalty table is set.
        assert set(run.grid_point) == {"optimizer.lr_g", "optimizer.b1"}
        assert set(gp[key].grid_point) == {"optimizer.lr_g", "optimizer.b1", "penalty.weight"}
        # Trial t draws the same values in every variant: a paired comparison.
        assert gp[key].grid_point["optimizer.lr_g"] == run.grid_point["optimizer.lr_g"]
        # The drawn values are the run's configuration.
        assert run.config.optimizer.lr_g == run.grid_point["optimizer.lr_g"]
        assert run.config.optimizer.knobs()["b1"] == run.grid_point["optimizer.b1"]
        assert gp[key].config.penalty.knobs()["weight"] == gp[key].grid_point["penalty.weight"]
        assert gp[key].config.penalty.name == "gp"
    assert {r.trial for r in suite.runs} == {0, 1, 2, 3}


def test_a_search_reproduces_from_its_seed_and_extends(write_suite):
    a = load_suite(search_suite(write_suite, trials=4, seed=1, name="a.toml"))
    b = load_suite(search_suite(write_suite, trials=4, seed=1, name="b.toml"))
    assert [r.run_id for r in a.runs] == [r.run_id for r in b.runs]
    # More trials keep the first ones (and their run ids): a study can be extended.
    more = load_suite(search_suite(write_suite, trials=6, seed=1, name="c.toml"))
    assert {r.run_id for r in a.runs} < {r.run_id for r in more.runs}
    other = load_suite(search_suite(write_suite, trials=4, seed=2, name="d.toml"))
    assert not {r.run_id for r in a.runs} & {r.run_id for r in other.runs}
    assert {r.grid_point["optimizer.lr_g"] for r in a.runs}.isdisjoint(
        {r.grid_point["optimizer.lr_g"] for r in other.runs}
    )


def test_the_search_is_set_from_the_command_line(write_suite):
    path = search_suite(write_suite, trials=4)
    suite = load_suite(path, overrides=["search.trials=2"])
    assert {r.trial for r in suite.runs} == {0, 1}


def test_search_and_grid_combine(write_suite):
    path = search_suite(write_suite, trials=3, extra='\n[grid]\ndataset = ["ring8", "grid25"]\n')
    suite = load_suite(path, seeds=1)
    assert len(suite.runs) == 2 * 2 * 3
    for trial in range(3):
        runs = [r for r in suite.runs if r.trial == trial and r.variant == "ns"]
        assert {r.config.dataset for r in runs} == {"ring8", "grid25"}
        assert len({r.config.optimizer.lr_g for r in runs}) == 1


def test_a_search_plans_as_few_groups_as_a_grid_of_its_size(write_suite):
    from ganbench.run.plan import make_plan

    searched = load_suite(search_suite(write_suite, trials=8, name="search.toml"), seeds=1)
    grid = write_suite(
        VARIANTS
        + '\n[grid]\n"optimizer.lr_g" = [1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3]\n',
        name="grid.toml",
    )
    gridded = load_suite(grid, seeds=1)
    assert len(searched.runs) == len(gridded.runs) == 16
    plan_s = make_plan(searched, grid.parent / "out_s")
    plan_g = make_plan(gridded, grid.parent / "out_g")
    assert len(plan_s.groups) == len(plan_g.groups) == 2  # one program per objective
    assert sorted(len(g.runs) for g in plan_s.groups) == sorted(len(g.runs) for g in plan_g.groups)


# ------------------------------------------------------------------ errors


def test_a_static_knob_is_refused_with_its_key(write_suite):
    path = write_suite(VARIANTS + '\n[search]\ntrials = 4\n"batch_size" = "choice([16, 32, 64])"\n')
    (msg,) = [p for p in problems(path) if "search.batch_size" in p]
    assert "picks the compiled program" in msg and "grid key" in msg


def test_a_knob_that_applies_nowhere_is_an_error(write_suite):
    path = write_suite(VARIANTS + '\n[search]\ntrials = 2\n"ema.decay" = "uniform(0.9, 0.99)"\n')
    (msg,) = problems(path)
    assert "search.ema.decay" in msg and "applies to no variant" in msg


def test_a_drawn_value_out_of_range_names_the_key_trial_and_value(write_suite):
    path = write_suite(
        VARIANTS + '\n[search]\ntrials = 3\n"optimizer.lr_g" = "uniform(-1.0, -0.5)"\n'
    )
    msgs = problems(path)
    assert any("search.optimizer.lr_g" in m and "trial 0" in m for m in msgs), msgs


def test_a_bad_distribution_names_the_file_line_and_key(write_suite):
    path = write_suite(VARIANTS + '\n[search]\ntrials = 3\n"optimizer.lr_g" = "normal(0, 1)"\n')
    (msg,) = problems(path)
    assert str(path) in msg and "search.optimizer.lr_g" in msg and "loguniform(low, high)" in msg


def test_validate_counts_trials(write_suite, capsys):
    from typer.testing import CliRunner

    from ganbench.cli.app import app

    path = search_suite(write_suite, trials=4)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 variants x 1 grid points x 4 search trials x 2 seeds = 16 runs" in result.output
    bad = write_suite(VARIANTS + '\n[search]\ntrials = 0\n"optimizer.lr_g" = "uniform(0, 1)"\n',
                      name="bad.toml")  # fmt: skip
    result = CliRunner().invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2 and "search.trials" in result.output


# ------------------------------------------------------------------ training


def test_trials_train_bit_for_bit_again_and_record_their_trial(write_suite, tmp_path):
    from typer.testing import CliRunner

    import ganbench
    from ganbench.cli.app import app

    path = search_suite(write_suite, trials=2)
    cli = CliRunner().invoke(
        app, ["run", str(path), "--out", str(tmp_path / "one"), "--seeds", "1"]
    )
    assert cli.exit_code == 0, cli.output
    # The run ends with the budget curves, not a row per trial.
    assert "expected best modes" in cli.output and "ganbench report" in cli.output
    first = ganbench.load(tmp_path / "one")
    second = ganbench.run_suite(path, out=tmp_path / "two", seeds=1)
    runs = first.runs[first.runs["trial"].notna()]
    assert sorted(runs["trial"]) == [0, 0, 1, 1]
    assert "optimizer.lr_g" in runs.columns
    cols = ["run_id", "step", "metric", "value"]
    a = first.metrics[cols].sort_values(cols[:3]).reset_index(drop=True)
    b = second.metrics[cols].sort_values(cols[:3]).reset_index(drop=True)
    assert len(a) > 0
    np.testing.assert_array_equal(a["value"].to_numpy(), b["value"].to_numpy())
    assert list(a["run_id"]) == list(b["run_id"])
