"""The public API, used as a researcher would: only names exported from ``ganbench`` and its
public modules (see ``ganbench.api``)."""

from __future__ import annotations

import importlib
import inspect
import sys

import numpy as np
import pytest

import ganbench
from ganbench.data import get_dataset
from ganbench.metrics import frechet_distance, mode_coverage

SUITE = {
    "suite": {"name": "api", "seeds": 2, "steps": 20, "eval_every": 10},
    "defaults": {
        "dataset": "ring8",
        "batch_size": 32,
        "z_dim": 2,
        "generator": {"width": 16, "depth": 1},
        "discriminator": {"width": 16, "depth": 1},
        "optimizer": {"name": "adam", "lr_g": 1e-3, "lr_d": 1e-3, "b1": 0.5},
    },
    "metrics": {"samples": 200},
    "variants": [{"name": "ns", "loss": "non_saturating"}],
}

PUBLIC_MODULES = (
    "ganbench",
    "ganbench.api",
    "ganbench.metrics",
    "ganbench.metrics.spectrum",
    "ganbench.report",
    "ganbench.report.verdicts",
    "ganbench.objectives",
    "ganbench.data",
)


def test_train_a_suite_from_a_dict_load_it_and_measure_arrays(tmp_path):
    results = ganbench.run_suite(SUITE, out=tmp_path)
    trained = results.runs[results.runs["variant"] == "ns"]
    assert len(trained) == 2 and set(trained["status"]) == {"completed"}
    assert set(trained["seed"]) == {0, 1}
    again = ganbench.load(tmp_path)
    assert set(again.runs["run_id"]) == set(results.runs["run_id"])
    modes = again.metrics[(again.metrics["metric"] == "modes") & (again.metrics["step"] == 20)]
    assert len(modes[modes["run_id"].isin(trained["run_id"])]) == 2
    summary = ganbench.summarize(again, ["modes"])
    assert list(summary.loc[summary["variant"] == "ns", "n_runs"]) == [2]
    # Run again: nothing left to train, the same results; the data and chance rows (which
    # ``ganbench run`` writes too when nothing is left to train) come back when missing.
    import shutil

    rows = results.runs[results.runs["variant"].str.match(r"(chance|data): ")]
    assert len(rows) >= 2
    for folder in set(rows["path"]):
        shutil.rmtree(folder)
    assert not ganbench.load(tmp_path).runs["variant"].str.match(r"(chance|data): ").any()
    # A suite already loaded, with a progress object told the plan and the counts (what
    # `ganbench run` prints).
    seen = _Seen()
    suite = ganbench.load_suite(SUITE)
    again = ganbench.run_suite(suite, out=tmp_path, progress=seen)
    assert again.runs["run_id"].tolist() == results.runs["run_id"].tolist()
    assert seen.plan.groups == [] and len(seen.plan.skipped) == 2
    assert (seen.summary.completed, seen.summary.skipped) == (0, 2)
    with pytest.raises(TypeError, match="seeds: a loaded suite"):
        ganbench.run_suite(suite, out=tmp_path, seeds=3)

    # Metrics on arrays. The ring's 8 centres themselves: every mode covered, KL to uniform 0.
    ring = get_dataset("ring8")
    coverage = mode_coverage(np.repeat(ring.means, 5, axis=0), ring.means, ring.stds)
    assert coverage.modes == 8 and coverage.hq_fraction == 1.0
    assert coverage.reverse_kl == pytest.approx(0.0, abs=1e-12)
    # Two samples whose Gaussian fits differ only in the mean, by (3, 4): distance 25 exactly.
    x = np.random.default_rng(0).normal(size=(500, 2))
    assert frechet_distance(x, x + np.array([3.0, 4.0])) == pytest.approx(25.0, rel=1e-9)


class _Seen:
    """A progress object that keeps the plan and the counts it is given (the group events of
    :class:`ganbench.run.progress.Progress` are optional here: nothing is left to train)."""

    plan = summary = None

    def planned(self, plan):
        self.plan = plan

    def finished(self, summary):
        self.summary = summary

    def log(self, message):
        pass


def test_a_suite_dict_is_checked_like_a_file():
    from ganbench.errors import ConfigError

    bad = {**SUITE, "defaults": {**SUITE["defaults"], "batch_size": 0}}
    with pytest.raises(ConfigError, match="batch_size"):
        ganbench.load_suite(bad)
    assert len(ganbench.load_suite(SUITE, seeds=3).runs) == 3


def test_a_loss_registered_from_outside_is_used_by_a_suite(tmp_path, monkeypatch):
    from ganbench.objectives import LOSSES, LossOutput

    # The registry is the process's: give it back as it was after the test.
    monkeypatch.setattr(LOSSES, "_entries", dict(LOSSES._entries))

    @ganbench.register_loss("api_test_softplus", help="the non-saturating loss, written here")
    def softplus_loss(real, fake):
        import jax

        d_real = jax.nn.softplus(-real).mean()
        d_fake = jax.nn.softplus(fake).mean()
        return LossOutput(d_real + d_fake, d_real, d_fake, jax.nn.softplus(-fake).mean())

    suite = {**SUITE, "variants": [{"name": "mine", "loss": "api_test_softplus"}]}
    plan = ganbench.plan(ganbench.load_suite(suite, seeds=1), tmp_path)
    assert [r.config.loss for g in plan.groups for r in g.runs] == ["api_test_softplus"]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_name_is_documented(name):
    module = importlib.import_module(name)
    assert module.__doc__, name
    for attr in module.__all__:
        value = getattr(module, attr)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert inspect.getdoc(value), f"{name}.{attr} has no docstring"


def test_importing_ganbench_imports_nothing_heavy():
    import subprocess
    import sys

    code = "import sys, ganbench; print(sorted({'jax', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_mnist_features_use_the_shipped_classifier(shared_mnist, tmp_path):
    """Features and labels for images from any framework, in the space of fid_mnist_cnn: on the
    first 1,000 MNIST test images the labels are the digits (the classifier's 99% accuracy)."""
    from ganbench.data import mnist

    mnist.import_mnist(shared_mnist, data_dir=tmp_path)
    images, labels = mnist.load_mnist("test", tmp_path)
    features, predicted = ganbench.mnist_features(images[:1000])
    assert features.shape == (1000, 128) and features.dtype == np.float32
    assert np.mean(predicted == labels[:1000]) > 0.98
    as_floats = images[:10].astype(np.float32)[..., None] / 127.5 - 1.0  # a generator's range
    again, _ = ganbench.mnist_features(as_floats)
    np.testing.assert_allclose(again, features[:10], rtol=1e-5, atol=1e-5)


def test_the_package_exports_what_the_api_defines():
    from ganbench import api

    assert set(ganbench.__all__) - {"__version__"} == set(api.__all__) - {"SuiteSource"}
    for name in set(api.__all__) - {"SuiteSource", "report"}:
        assert getattr(ganbench, name) is getattr(api, name)
    # ganbench.report is the package ganbench.report, which calls as api.report does.
    importlib.import_module("ganbench.report.plots")
    assert ganbench.report is sys.modules["ganbench.report"] and callable(ganbench.report)
    assert ganbench.report.plots is sys.modules["ganbench.report.plots"]


def test_suite_results_keep_the_floors_of_the_suites_settings_only(tmp_path):
    """A folder with the suite's run beside two MNIST floor rows, one measured at the suite's
    evaluation size (200 samples) and one at another (500): only the first belongs to it."""
    from results_folder import write_run

    suite = ganbench.load_suite(
        {**SUITE, "defaults": {**SUITE["defaults"], "dataset": "mnist"}}, seeds=1
    )
    (run,) = suite.runs
    write_run(tmp_path, run.run_id, suite="api", variant="ns", dataset="mnist", step=20,
              rows=[(20, "classes", 9.0, 200, 200)])  # fmt: skip
    for run_id, n in (("floor-mine", 200), ("floor-other", 500)):
        write_run(tmp_path, run_id, suite="api", variant="floor: MNIST train vs test",
                  dataset="mnist", step=20, rows=[(20, "classes", 10.0, n, n)])  # fmt: skip
    kept = ganbench.suite_results(ganbench.load(tmp_path), suite)
    assert sorted(kept.runs["run_id"]) == sorted([run.run_id, "floor-mine"])


def test_report_from_python_writes_what_the_cli_writes(tmp_path):
    """``ganbench.report(...)`` and ``ganbench report`` build one report: the same HTML page
    (but for the minute it was written) and the same markdown, csv and json, published numbers
    included."""
    import re

    from typer.testing import CliRunner

    from ganbench.cli.app import app

    reference = {"variant": "ns", "metric": "modes", "value": 6.0, "source": "made up"}
    suite = {**SUITE, "suite": {**SUITE["suite"], "name": "page"}, "reference": [reference]}
    ganbench.run_suite(suite, out=tmp_path / "out")
    folder = str(tmp_path / "out" / "page")
    runner = CliRunner()

    def cli(*args: str) -> str:
        res = runner.invoke(app, ["report", folder, *args], env={"COLUMNS": "250"})
        assert res.exit_code == 0, res.output
        return res.stdout

    cli("--html", str(tmp_path / "cli.html"), "-f", "csv")
    made = ganbench.report(folder)
    written = made.write(html=tmp_path / "api.html")
    minute = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    cli_page = minute.sub("", (tmp_path / "cli.html").read_text(encoding="utf-8"))
    api_page = minute.sub("", written.html.read_text(encoding="utf-8"))
    assert api_page == cli_page and "<h3>Published and measured</h3>" in api_page
    for fmt in ("markdown", "csv", "json"):
        assert made.text(fmt) == cli("-f", fmt), fmt
    assert "[1] made up" in made.text("markdown")  # the published numbers follow the summary
    table = made.text("table")  # the terminal's tables, as plain text
    assert table.index("ganbench: page") < table.index("│ ns ") < table.index("published and")
    # Options are the command's, by name; a bad value names the option.
    compared = ganbench.report(folder, metrics=["modes"], references="only")
    assert compared.text("csv") == cli("-m", "modes", "--references", "only", "-f", "csv")
    from ganbench.errors import OptionError

    with pytest.raises(OptionError, match="ema 'sideways': allowed: rows, columns"):
        ganbench.report(folder, ema="sideways")
    with pytest.raises(OptionError, match=r"html .* is inside the results folder"):
        made.write(html=f"{folder}/page.html")
