"""Published numbers in suites ([[reference]]): the schema, the verdict statistics against
hand-computed values, and the report (terminal, text formats, HTML) end to end.

Expected numbers are worked out by hand in the comments (closed forms of Student's t
distribution where the degrees of freedom are small integers), never read back from the code.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from budgets import QUICK
from results_folder import write_run
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.config import load_suite
from ganbench.references import Reference, check_metric
from ganbench.report import read_results
from ganbench.report.references import (
    read_references,
    reference_table,
    versus_published,
)
from ganbench.report.references_render import format_published
from ganbench.report.stats import one_sample as one_sample_test
from ganbench.report.stats import welch as welch_test

# --- statistics ---------------------------------------------------------------------------------


def ref(**kw) -> Reference:
    base = {"variant": "gan", "metric": "modes", "value": 6.0, "source": "paper, Table 1"}
    return Reference.model_validate({**base, **kw})


def p_t1(t: float) -> float:
    """Two-sided p of Student's t with 1 degree of freedom (Cauchy): 1 - (2/pi) atan|t|."""
    return 1.0 - 2.0 / math.pi * math.atan(abs(t))


def p_t2(t: float) -> float:
    """Two-sided p of Student's t with 2 degrees of freedom: 1 - |t| / sqrt(2 + t^2)."""
    return 1.0 - abs(t) / math.sqrt(2.0 + t * t)


def test_welch_with_two_degrees_of_freedom_by_hand():
    # a: mean 3, sd 1, n 2; b: mean 1, sd 1, n 2. v_a = v_b = 1/2, t = 2 / sqrt(1) = 2,
    # df = (1/2 + 1/2)^2 / ((1/4)/1 + (1/4)/1) = 2, p = 1 - 2/sqrt(6) = 0.18350.
    result = welch_test(3.0, 1.0, 2, 1.0, 1.0, 2)
    assert result.t == pytest.approx(2.0, rel=1e-12)
    assert result.df == pytest.approx(2.0, rel=1e-12)
    assert result.p == pytest.approx(1.0 - 2.0 / math.sqrt(6.0), rel=1e-9)
    assert result.p == pytest.approx(0.183503419, rel=1e-8)


def test_welch_unequal_sides_matches_the_formula_written_out():
    # Measured 0.5 ± 0.7071 (k = 2) against published 6.3 ± 0.5 (se, n = 10): the published sd is
    # 0.5 sqrt(10), so v_pub = 0.25; v_meas = 0.5 / 2 = 0.25. t = -5.8 / sqrt(0.5) = -8.2024,
    # df = 0.5^2 / (0.25^2 / 1 + 0.25^2 / 9) = 0.25 / (0.0625 * 10/9) = 3.6.
    r = ref(value=6.3, uncertainty=0.5, kind="se", n=10)
    verdict = versus_published(r, 0.5, math.sqrt(0.5), 2)
    assert verdict.test == "welch"
    assert verdict.t == pytest.approx(-5.8 / math.sqrt(0.5), rel=1e-12)
    assert verdict.df == pytest.approx(3.6, rel=1e-12)
    from scipy.stats import t as student_t
    from scipy.stats import ttest_ind_from_stats

    assert verdict.p == pytest.approx(2 * student_t.sf(5.8 / math.sqrt(0.5), 3.6), rel=1e-9)
    # scipy's own Welch test from the same statistics agrees.
    other = ttest_ind_from_stats(0.5, math.sqrt(0.5), 2, 6.3, 0.5 * math.sqrt(10), 10, False)
    assert verdict.p == pytest.approx(float(other.pvalue), rel=1e-9)
    assert verdict.p < 0.05 and verdict.verdict == "lower" and verdict.judged == "worse"
    assert verdict.note == "lower (worse)"


def test_standard_error_and_deviation_are_the_same_statement():
    # se 0.5 over n = 4 runs is sd 1.0 over the same runs: the same test.
    se = ref(uncertainty=0.5, kind="se", n=4)
    sd = ref(uncertainty=1.0, kind="sd", n=4)
    assert se.published_sd == pytest.approx(1.0) and sd.published_sd == 1.0
    a, b = versus_published(se, 7.0, 1.0, 3), versus_published(sd, 7.0, 1.0, 3)
    assert a.p == pytest.approx(b.p, rel=1e-12) and a.df == pytest.approx(b.df, rel=1e-12)


def test_zero_variance_on_both_sides():
    # modes 8 ± 0 over 3 seeds against 8 ± 0 (se, n = 10): nothing to test, they agree.
    r = ref(value=8.0, uncertainty=0.0, kind="se", n=10)
    same = versus_published(r, 8.0, 0.0, 3)
    assert (same.p, same.verdict, same.judged) == (1.0, "agrees", None)
    # 7 ± 0 against 8 ± 0: a difference without noise, p = 0; fewer modes is worse.
    low = versus_published(r, 7.0, 0.0, 3)
    assert (low.p, low.verdict, low.judged) == (0.0, "lower", "worse")
    assert low.t == -math.inf
    # reverse_kl is lower-is-better: 0 ± 0 below a published 0.1 ± 0 is better.
    kl = ref(metric="reverse_kl", value=0.1, uncertainty=0.0, kind="sd", n=5)
    assert versus_published(kl, 0.0, 0.0, 4).note == "lower (better)"


def test_zero_variance_on_one_side_is_still_welch():
    # Published 8 ± 0 (n = 10), measured 7 and 9 (mean 8, sd sqrt 2): t = 0, p = 1.
    r = ref(value=8.0, uncertainty=0.0, kind="se", n=10)
    assert versus_published(r, 8.0, math.sqrt(2.0), 2).p == pytest.approx(1.0)
    # Measured mean 6, sd sqrt 2, k = 2, against 8 ± 0: v = 1, t = -2, df = 1^2 / (1^2 / 1) = 1.
    result = versus_published(r, 6.0, math.sqrt(2.0), 2)
    assert result.df == pytest.approx(1.0) and result.p == pytest.approx(p_t1(2.0), rel=1e-9)


def test_no_published_uncertainty_is_a_one_sample_test():
    # Seeds 1 and 3 against 0: mean 2, sd sqrt 2, t = 2 / (sqrt 2 / sqrt 2) = 2, df = 1,
    # p = 1 - (2/pi) atan 2 = 0.29517.
    t = one_sample_test(2.0, math.sqrt(2.0), 2, 0.0)
    assert (t.t, t.df) == (pytest.approx(2.0), 1.0)
    assert t.p == pytest.approx(p_t1(2.0), rel=1e-9) and t.p == pytest.approx(0.2951672, rel=1e-6)
    verdict = versus_published(ref(value=0.0), 2.0, math.sqrt(2.0), 2)
    assert verdict.test == "one-sample" and verdict.verdict == "agrees"
    assert verdict.note == "agrees; no uncertainty published"
    # Seeds 4, 5, 6 against 0: mean 5, sd 1, t = 5 sqrt 3, df = 2.
    far = versus_published(ref(value=0.0), 5.0, 1.0, 3)
    assert far.p == pytest.approx(p_t2(5.0 * math.sqrt(3.0)), rel=1e-9)
    assert far.note == "higher (better); no uncertainty published"
    # Zero variance against a value: equal agrees (p = 1), different differs (p = 0).
    assert versus_published(ref(value=5.0), 5.0, 0.0, 3).p == 1.0
    assert versus_published(ref(value=5.0), 4.0, 0.0, 3).verdict == "lower"


def test_one_published_run_is_tested_like_no_uncertainty():
    r = ref(value=0.0, uncertainty=1.0, kind="sd", n=1)
    verdict = versus_published(r, 2.0, math.sqrt(2.0), 2)
    assert verdict.test == "one-sample" and verdict.p == pytest.approx(p_t1(2.0), rel=1e-9)


def test_one_or_no_measured_run_is_untested():
    r = ref(uncertainty=0.5, kind="se", n=10)
    one = versus_published(r, 7.0, math.nan, 1)
    assert (one.test, one.verdict, one.note) == ("none", "untested", "1 run: untested")
    assert math.isnan(one.p)
    assert versus_published(r, math.nan, math.nan, 0).verdict == "not measured"


def test_metric_without_direction_says_only_higher_or_lower():
    r = ref(metric="loss_d", value=0.0)
    assert versus_published(r, 5.0, 1.0, 3).note == "higher; no uncertainty published"


def test_an_analytic_value_agrees_within_its_tolerance_whatever_the_seed_count():
    r = ref(metric="eq_distance", value=0.0, uncertainty=0.01, kind="tolerance")
    assert r.published_sd is None
    inside = versus_published(r, 0.004, math.nan, 1)  # one deterministic run is enough
    assert (inside.test, inside.verdict, inside.note) == (
        "tolerance",
        "agrees",
        "agrees; within tolerance",
    )
    assert versus_published(r, -0.01, 0.0, 2).verdict == "agrees"  # the bound is inclusive
    outside = versus_published(r, 1.3, 0.2, 3)
    assert (outside.verdict, outside.judged, outside.note) == (
        "higher",
        "worse",  # eq_distance: lower is better
        "higher (worse); beyond tolerance",
    )
    assert math.isnan(outside.p)
    assert format_published(0.0, 0.01, "tolerance", pd.NA) == "0.00 ± 0.010 (tolerance)"
    with pytest.raises(ValueError, match="kind 'tolerance' needs uncertainty"):
        ref(kind="tolerance")


# --- schema -------------------------------------------------------------------------------------

SUITE = """
[suite]
name = "refs"
seeds = 2
steps = 20
eval_every = 10

[defaults]
dataset = "ring8"
batch_size = 32
z_dim = 2
generator = {{ width = 16, depth = 1 }}
discriminator = {{ width = 16, depth = 1 }}
optimizer = {{ name = "adam", lr_g = 1e-3, lr_d = 1e-3, b1 = 0.5 }}

[metrics]
samples = 200

[[variants]]
name = "gan"
loss = "non_saturating"

[[variants]]
name = "pacgan2"
loss = "non_saturating"
pack = 2

[grid]
dataset = ["ring8", "grid25"]
{references}
"""

GOOD = """
[[reference]]
variant = "gan"
grid = { dataset = "ring8" }
metric = "modes"
value = 6.3
uncertainty = 0.5
kind = "se"
n = 10
source = "Lin et al. 2018 (PacGAN), Table 1, row GAN, 2D-ring"

[[reference]]
variant = "pacgan2"
metric = "hq_fraction"
value = 0.956
source = "made up for the test"
"""


def write(tmp_path: Path, references: str, name: str = "suite.toml") -> Path:
    path = tmp_path / name
    path.write_text(SUITE.format(references=textwrap.dedent(references)))
    return path


@pytest.fixture
def cli():
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), env={"COLUMNS": "250"})


def test_good_references_are_accepted_and_keep_run_ids(tmp_path):
    with_refs = load_suite(write(tmp_path, GOOD))
    without = load_suite(write(tmp_path, "", "plain.toml"))
    assert [r.run_id for r in with_refs.runs] == [r.run_id for r in without.runs]
    assert [(r.variant, r.metric, r.kind) for r in with_refs.references] == [
        ("gan", "modes", "se"),
        ("pacgan2", "hq_fraction", "none"),
    ]
    assert with_refs.references[0].grid == {"dataset": "ring8"}
    assert without.references == []


def test_references_survive_overrides(tmp_path):
    path = write(tmp_path, GOOD)
    plain = load_suite(write(tmp_path, "", "plain.toml"), seeds=1, steps=10)
    suite = load_suite(path, seeds=1, steps=10, overrides=["defaults.batch_size=16"])
    assert len(suite.references) == 2 and suite.raw["reference"][0]["value"] == 6.3
    assert [r.run_id for r in suite.runs] == [
        r.run_id
        for r in load_suite(
            write(tmp_path, "", "p2.toml"), seeds=1, steps=10, overrides=["defaults.batch_size=16"]
        ).runs
    ]
    assert len(plain.runs) == len(suite.runs)
    # A narrower grid on the command line leaves a reference to the other dataset valid.
    narrow = load_suite(
        write(tmp_path, GOOD.replace('"ring8" }', '"grid25" }'), "g.toml"),
        overrides=['grid.dataset=["ring8"]'],
    )
    assert len(narrow.references) == 2 and {r.grid_point["dataset"] for r in narrow.runs} == {
        "ring8"
    }


BAD = [
    (
        'variant = "gan"',
        'variant = "gn"',
        "reference[0].variant: unknown variant 'gn'; did you "
        "mean 'gan'? variants of this suite: gan, pacgan2",
    ),
    (
        'metric = "modes"',
        'metric = "mdoes"',
        "reference[0].metric: unknown metric 'mdoes'; did you mean 'modes'? allowed: ",
    ),
    (
        "{ dataset = ",
        "{ datset = ",
        "reference[0].grid.datset: 'datset' is not a grid key; did "
        "you mean 'dataset'? grid keys: dataset",
    ),
    (
        '"ring8" }',
        '"ring9" }',
        'reference[0].grid.dataset: "ring9" is not a value of '
        'grid.dataset; allowed: "ring8", "grid25"',
    ),
    (
        'kind = "se"',
        'kind = "sem"',
        "reference[0].kind: unknown kind 'sem'; did you mean 'se'? allowed: 'se'",
    ),
    (
        "uncertainty = 0.5",
        "uncertainty = -0.5",
        "reference[0].uncertainty: Input should be greater than or equal to 0",
    ),
    ("uncertainty = 0.5", "uncertainty = inf", "reference[0].uncertainty: must be a finite number"),
    ("n = 10\n", "", "reference[0]: kind 'se' needs n (the number of runs behind it)"),
    ('kind = "se"\n', "", "kind is 'none'; set kind = 'se'"),
    ("value = 6.3", 'value = "6.3"', "reference[0].value: Input should be a valid number"),
    ("n = 10", "n = 0", "reference[0].n: Input should be greater than or equal to 1"),
    (
        "n = 10",
        "n = 10\nsorce = 1",
        "reference[0].sorce: unknown key 'sorce'; did you mean "
        "'source'? allowed: variant, grid, metric, value, uncertainty, kind, n, source",
    ),
    ('source = "Lin', 'sauce = "Lin', "reference[0].source: required key is missing"),
]


@pytest.mark.parametrize(
    ("old", "new", "expect"), BAD, ids=[b[2].split(":")[0] + f"-{i}" for i, b in enumerate(BAD)]
)
def test_bad_reference_exits_2_naming_file_and_key(cli, tmp_path, old, new, expect):
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    path = write(tmp_path, text)
    out = tmp_path / "out"
    for command in (("validate", str(path)), ("run", str(path), "--out", str(out))):
        res = cli(*command)
        assert res.exit_code == 2, res.output
        flat = " ".join(res.output.split())
        assert f"{path}:" in flat and expect in flat, flat
        assert "Traceback" not in res.output
    assert not out.exists()


def test_reference_line_numbers_point_at_the_key(tmp_path):
    text = GOOD.replace('metric = "modes"', 'metric = "mdoes"')
    path = write(tmp_path, text)
    with pytest.raises(Exception) as info:
        load_suite(path)
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "mdoes" in t)
    assert f"{path}:{line}: reference[0].metric" in str(info.value)


def test_duplicate_reference_names_both(cli, tmp_path):
    # The second covers every grid point of gan, so it overlaps the first at ring8.
    dup = GOOD + textwrap.dedent(
        """
        [[reference]]
        variant = "gan"
        metric = "modes"
        value = 7.0
        source = "another paper"
        """
    )
    res = cli("validate", str(write(tmp_path, dup)))
    flat = " ".join(res.output.split())
    assert res.exit_code == 2
    assert (
        "reference[2]: duplicate of reference[0]: both give variant 'gan', metric 'modes' at "
        'dataset = "ring8"' in flat
    )
    # Different grid points, or different metrics, are not duplicates.
    other = GOOD + textwrap.dedent(
        """
        [[reference]]
        variant = "gan"
        grid = { dataset = "grid25" }
        metric = "modes"
        value = 17.3
        source = "another row"
        """
    )
    assert cli("validate", str(write(tmp_path, other, "o.toml"))).exit_code == 0


def test_too_many_references_are_refused_quickly(tmp_path):
    import time

    one = '[[reference]]\nvariant = "gan"\nmetric = "modes"\nvalue = 1.0\nsource = "s"\n'
    path = write(tmp_path, one * 1001)
    start = time.perf_counter()
    with pytest.raises(Exception) as info:
        load_suite(path)
    assert "1,001 references; a suite holds at most 1,000" in str(info.value)
    # At the limit, 1000 references of one variant and metric: every pair is a duplicate, and
    # the check still takes well under a second or two.
    path = write(tmp_path, one * 1000, "limit.toml")
    with pytest.raises(Exception) as info:
        load_suite(path)
    assert "reference[1]: duplicate of reference[0]" in str(info.value)
    assert time.perf_counter() - start < QUICK


def test_metric_names():
    assert check_metric("modes") is None and check_metric("mode_count/3") is None
    assert check_metric("ema/hq_fraction") is None
    assert "did you mean 'hq_fraction'" in check_metric("hq_fracton")
    assert check_metric("ema/nope") is not None and check_metric("mode_count/x") is not None


# --- report -------------------------------------------------------------------------------------


def synthetic(tmp_path: Path, references: str = GOOD) -> Path:
    """Suite 'refs': gan on ring8 with modes 6, 7, 8 (mean 7, sd 1) and a failed seed; pacgan2
    on ring8 and grid25 with hq_fraction 0.95 and 0.97 (mean 0.96, sd sqrt 2 / 100)."""
    out = tmp_path / "results"
    for seed, modes in enumerate((6.0, 7.0, 8.0)):
        write_run(
            out,
            f"g{seed}",
            suite="refs",
            variant="gan",
            seed=seed,
            grid_point={"dataset": "ring8"},
            rows=[(1000, "modes", modes, None, 2500), (500, "modes", 1.0, None, 2500)],
        )
    write_run(
        out,
        "g3",
        suite="refs",
        variant="gan",
        seed=3,
        status="failed",
        grid_point={"dataset": "ring8"},
        rows=[(1000, "modes", 0.0, None, 2500)],
    )
    for dataset in ("ring8", "grid25"):
        for seed, hq in enumerate((0.95, 0.97)):
            write_run(
                out,
                f"p{dataset}{seed}",
                suite="refs",
                variant="pacgan2",
                seed=seed,
                dataset=dataset,
                grid_point={"dataset": dataset},
                rows=[(1000, "hq_fraction", hq, None, 2500)],
            )
    (out / "refs" / "suite.toml").write_text(SUITE.format(references=textwrap.dedent(references)))
    return out


def test_reference_table_from_a_results_folder(tmp_path):
    results = read_results(synthetic(tmp_path))
    found, warnings = read_references(results)
    assert warnings == [] and [r.metric for r in found["refs"]] == ["modes", "hq_fraction"]
    table = reference_table(results, found)
    assert table[["variant", "dataset", "metric"]].values.tolist() == [
        ["gan", "ring8", "modes"],
        ["pacgan2", "ring8", "hq_fraction"],
        ["pacgan2", "grid25", "hq_fraction"],
    ]
    gan = table.iloc[0]
    # Failed seed left out: 6, 7, 8 -> mean 7, sd 1, k 3. Published sd 0.5 sqrt 10.
    assert (gan["measured_mean"], gan["measured_sd"], gan["k"]) == (7.0, 1.0, 3)
    v_meas, v_pub = 1.0 / 3.0, 0.25
    assert gan["t"] == pytest.approx(0.7 / math.sqrt(v_meas + v_pub), rel=1e-12)
    assert gan["df"] == pytest.approx((v_meas + v_pub) ** 2 / (v_meas**2 / 2 + v_pub**2 / 9))
    assert gan["verdict"] == "agrees" and gan["difference"] == pytest.approx(0.7)
    # hq_fraction 0.95, 0.97 against 0.956 without uncertainty: t = 0.004 / (0.01414 / sqrt 2)
    # = 0.4, df = 1.
    hq = table.iloc[1]
    assert hq["test"] == "one-sample" and hq["p"] == pytest.approx(p_t1(0.4), rel=1e-6)
    # --step 500: gan's modes are 1, 1, 1 there (sd 0): Welch against 6.3 ± 1.58 over n = 10.
    early = reference_table(results, found, step=500).iloc[0]
    assert early["measured_mean"] == 1.0 and early["verdict"] == "lower"
    assert early["df"] == pytest.approx(9.0)


def test_profile_column_gives_one_row_per_profile(tmp_path):
    results = read_results(synthetic(tmp_path))
    # A profile column as the runner may record it: seeds 0-1 under "cpu", the rest as written.
    results.runs["profile"] = ["cpu" if s < 2 else None for s in results.runs["seed"]]
    found, _ = read_references(results)
    table = reference_table(results, found)
    gan = table[table["variant"] == "gan"]
    assert [None if pd.isna(p) else p for p in gan["profile"]] == ["cpu", None]
    assert gan["k"].tolist() == [2, 1]  # seeds 0 and 1 under cpu; seed 2 (seed 3 failed)


def test_report_shows_published_and_measured(cli, tmp_path):
    out = synthetic(tmp_path)
    res = cli("report", str(out))
    assert res.exit_code == 0, res.output
    text = res.output
    assert "published and measured" in text
    assert "6.30 ± 0.50 (se, n=10)" in text and "7.00 ± 1.00 (k=3)" in text
    assert "0.956 (none)" in text and "agrees; no uncertainty published" in text
    assert "[1] Lin et al. 2018 (PacGAN), Table 1, row GAN, 2D-ring" in text
    # The summary is still there, and unchanged formats stay one document.
    assert "ganbench: refs" in text
    rows = json.loads(cli("report", str(out), "-f", "json").output)
    assert "published" not in rows[0]
    csv = cli("report", str(out), "-f", "csv", "--references", "only").output
    frame = pd.read_csv(pd.io.common.StringIO(csv))
    assert frame["measured_mean"].tolist()[0] == 7.0 and frame["k"].tolist()[0] == 3
    records = json.loads(cli("report", str(out), "-f", "json", "--references", "only").output)
    assert records[1]["n"] is None and records[0]["source"].startswith("Lin et al.")
    md = cli("report", str(out), "-f", "markdown").output
    assert "| gan | ring8 | modes ↑ | 6.30 ± 0.50 (se, n=10) | 7.00 ± 1.00 (k=3) | +0.70 |" in md
    assert "published and measured" not in cli("report", str(out), "--references", "off").output


def test_report_html_shows_published_and_measured(cli, tmp_path):
    out = synthetic(tmp_path)
    page = tmp_path / "report.html"
    res = cli("report", str(out), "--html", str(page))
    assert res.exit_code == 0, res.output
    html = page.read_text(encoding="utf-8")
    assert "<h3>Published and measured</h3>" in html
    assert "6.30 ± 0.50 (se, n=10)" in html and "7.00 ± 1.00 (k=3)" in html
    assert "[1] Lin et al. 2018 (PacGAN), Table 1, row GAN, 2D-ring" in html


def test_references_only_without_references_exits_2(cli, tmp_path):
    out = synthetic(tmp_path, references="")
    res = cli("report", str(out), "--references", "only")
    assert res.exit_code == 2 and "no reference matches these results" in res.output
    assert "published and measured" not in cli("report", str(out)).output


def test_report_skips_a_broken_reference_with_a_warning(cli, tmp_path):
    out = synthetic(tmp_path)
    path = out / "refs" / "suite.toml"
    path.write_text(path.read_text().replace('kind = "se"', 'kind = "bogus"'))
    res = cli("report", str(out))
    assert res.exit_code == 0, res.output
    assert "reference[0] skipped" in res.output and "0.956 (none)" in res.output


def test_baseline_and_compare_unchanged(cli, tmp_path):
    out = synthetic(tmp_path)
    res = cli("report", str(out), "--baseline", "gan", "-f", "csv")
    assert res.exit_code == 0 and "modes_verdict" in res.output.splitlines()[0]
    res = cli("compare", "gan", "pacgan2", "--in", str(out))
    assert res.exit_code in (0, 2), res.output  # no metric in common is a clear error, not a crash
    assert "Traceback" not in res.output


@pytest.mark.slow
def test_tiny_run_carries_its_references_to_the_report(cli, tmp_path):
    path = write(tmp_path, GOOD)
    out = tmp_path / "out"
    res = cli("run", str(path), "--out", str(out))
    assert res.exit_code == 0, res.output
    assert "published and measured" in res.output  # the run's closing report shows them too
    assert "[[reference]]" in (out / "refs" / "suite.toml").read_text()
    res = cli("report", str(out))
    assert res.exit_code == 0, res.output
    assert "6.30 ± 0.50 (se, n=10)" in res.output and "(k=2)" in res.output
