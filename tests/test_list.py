"""``ganbench list``: every registered item with its help and knobs, read from the registries."""

from __future__ import annotations

import json
import re
import typing

import numpy as np
import pytest
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.config import MetricsSection
from ganbench.data import DATASETS, FAMILIES, get_dataset
from ganbench.metrics import catalog
from ganbench.metrics import names as M
from ganbench.models import ACTIVATIONS, ARCHS
from ganbench.models.latent import LATENTS
from ganbench.objectives import LOSSES, PENALTIES
from ganbench.train.optim import OPTIMIZERS
from ganbench.train.schemes import SCHEMES, UPDATES

REGISTRIES = {
    "losses": LOSSES,
    "penalties": PENALTIES,
    "optimizers": OPTIMIZERS,
    "updates": UPDATES,
    "latents": LATENTS,
    "schemes": SCHEMES,
    "datasets": DATASETS,
    "models": ARCHS,
    "activations": ACTIVATIONS,
}
KINDS = [*REGISTRIES, "extractors", "metrics"]


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["list", *args], env={"COLUMNS": "200"})

    return invoke


def _json(cli, *args: str) -> dict:
    res = cli(*args, "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_json_lists_every_registered_item_exactly(cli):
    data = _json(cli)
    assert list(data) == KINDS
    for kind, registry in REGISTRIES.items():
        listed = data[kind]
        if kind == "datasets":  # the families (folder:<name>) are listed among the datasets
            families = [f"{e.name}:<name>" for e in FAMILIES.entries()]
            assert sorted(item["name"] for item in listed) == sorted(registry.names() + families)
            listed = [item for item in listed if item["name"] not in families]
        assert [item["name"] for item in listed] == registry.names(), kind
        for item, entry in zip(listed, registry.entries(), strict=True):
            assert item == {"name": entry.name, "help": entry.help, "knobs": entry.knobs}, kind
            assert list(item["knobs"]) == list(entry.knobs), "knobs keep their order"


def test_extractors_are_listed_with_their_declarations(cli):
    from ganbench.extractors.base import FAMILIES, extractor_names, get_extractor

    listed = _json(cli, "extractor")["extractors"]
    families = [f.name for f in FAMILIES]  # each family once, after the extractors known now
    assert families == ["<dataset>_cnn"]
    assert [item["name"] for item in listed] == extractor_names() + families
    assert "cifar10_cnn" in extractor_names()  # a member before CIFAR-10 is imported
    for item in listed[: -len(families)]:
        declared = get_extractor(item["name"])
        assert item["help"] == declared.description
        assert item["knobs"]["metrics"] == ", ".join(declared.metric_names().values())
        assert item["knobs"]["weights"].startswith(declared.weights)
    mnist = next(item for item in listed if item["name"] == "mnist_cnn")
    assert mnist["knobs"]["input"] == "28 x 28 as they are"
    assert "fid_mnist_cnn" in mnist["knobs"]["metrics"]


def test_table_shows_every_section_in_order_with_every_name_and_knob(cli):
    res = cli()
    assert res.exit_code == 0, res.output
    text = "\n" + res.stdout
    starts = [text.index(f"\n{kind} (") for kind in KINDS]
    assert starts == sorted(starts)
    assert "(suite key: loss)" in text and "(suite key: updates)" in text
    assert "every dataset also takes weights" in text
    for kind, registry in REGISTRIES.items():
        section = text[text.index(f"\n{kind} (") :]
        for entry in registry.entries():
            assert entry.name in section, (kind, entry.name)
            for knob in entry.knobs:
                assert f"{knob}: " in section, (kind, entry.name, knob)
    assert "…" not in text, "nothing is cut off"


@pytest.mark.parametrize(
    ("kind", "section"),
    [
        ("loss", "losses"),
        ("penalty", "penalties"),
        ("optimizer", "optimizers"),
        ("updates", "updates"),
        ("scheme", "schemes"),
        ("dataset", "datasets"),
        ("arch", "models"),
        ("model", "models"),
        ("activation", "activations"),
        ("metric", "metrics"),
        ("Penalties", "penalties"),
    ],
)
def test_one_kind_by_section_name_or_suite_key(cli, kind, section):
    assert _json(cli, kind) == {section: _json(cli)[section]}
    assert _json(cli, section) == _json(cli, kind)


def test_one_kind_table(cli):
    res = cli("penalty")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("penalties (penalty = {")
    for name in ("r1", "dragan", "gp_one_sided", "scale: "):
        assert name in res.stdout
    for other in ("hinge", "adam", "ring8", "losses (", "metrics ("):
        assert other not in res.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("lossez",), "unknown kind 'lossez'; did you mean 'losses'? known: losses, penalties"),
        (("optimzer",), "did you mean 'optimizer'?"),
        (("zzz",), "unknown kind 'zzz'; known: losses"),
        (("--format", "jsn"), "unknown --format 'jsn'; did you mean 'json'?"),
    ],
)
def test_unknown_kind_or_format_exits_2(cli, args, message):
    res = cli(*args)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output
    assert res.stdout == ""


def test_markdown_has_one_table_per_section(cli):
    res = cli("--format", "markdown")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    headings = [line[3:].split(" ")[0] for line in lines if line.startswith("## ")]
    assert headings == KINDS
    assert lines.count("| name | help | knobs |") == len(KINDS)
    assert lines.count("| --- | --- | --- |") == len(KINDS)
    rows = [line for line in lines if line.startswith("| `")]
    from ganbench.extractors.base import extractor_names

    n_items = (
        sum(len(r.names()) for r in REGISTRIES.values())
        + len(extractor_names())
        + len(catalog.DESCRIPTIONS)
    )
    n_items += len(FAMILIES.names())  # folder:<name> among the datasets
    from ganbench.extractors.base import FAMILIES as EXTRACTOR_FAMILIES

    n_items += len(EXTRACTOR_FAMILIES)  # <dataset>_cnn among the extractors
    assert len(rows) == n_items
    for row in rows:  # pipes inside help text (|grad D(x)|) are escaped: three cells per row
        assert len(re.findall(r"(?<!\\)\|", row)) == 4, row
    assert "`dragan`" in res.stdout and "\\|grad D(x_p)\\|" in res.stdout


def _written_metric_names() -> set[str]:
    """Every metric name a run with EMA writes: the runner's diagnostics of one evaluation (also
    as ema/...) and the engine's per-chunk step statistics."""
    from ganbench.diagnostics.samples import evaluate_samples
    from ganbench.train.engine import MEAN_ONLY, WITH_MAX
    from ganbench.train.state import StepStats

    assert set(StepStats._fields) == set(MEAN_ONLY) | set(WITH_MAX) | {"layers"}
    dataset = get_dataset("ring8")
    real = dataset.sample_numpy(np.random.default_rng(0), 400)
    fake = dataset.sample_numpy(np.random.default_rng(1), 400)
    diagnostics = [row[0] for row in evaluate_samples(fake, real, dataset, MetricsSection())]
    assert f"{M.MODE_COUNT_PREFIX}7" in diagnostics
    step_stats = [*MEAN_ONLY, *(f"{k}_{s}" for k in WITH_MAX for s in ("mean", "max"))]
    # The Dirac-GAN's evaluations: the point's distance, the equilibrium and the spectrum rows.
    from ganbench.config import load_suite
    from ganbench.config.expand import structure_of
    from ganbench.diagnostics.samples import equilibrium_rows
    from ganbench.diagnostics.spectra import spectrum_rows
    from ganbench.train.engine import Program

    dirac = get_dataset("dirac")
    point = dirac.sample_numpy(np.random.default_rng(0), 4)
    spec = load_suite("suites/papers/dirac.toml").runs[0]
    program = Program(structure_of(spec.config), eval_every=spec.eval_every, samples=2)
    dirac_rows = [
        *(r[0] for r in evaluate_samples(point, point, dirac, MetricsSection())),
        *(r[0] for r in equilibrium_rows(np.ones(2), dirac)),
        *(r[0] for r in spectrum_rows(np.eye(2), spec.config, program)),
    ]
    # Image runs: the evaluator's rows for MNIST and Stacked MNIST (an untrained classifier
    # names the same metrics as a trained one).
    from ganbench.diagnostics.image_eval import ImageEvaluator
    from ganbench.extractors import mnist_cnn
    from ganbench.metrics.catalog import FeatureSettings

    untrained = mnist_cnn.MnistFeatureModel(mnist_cnn.init_params(0), {})
    evaluator = ImageEvaluator([untrained], FeatureSettings(kid_subsets=2))
    rng = np.random.default_rng(0)
    image_rows = [
        row[0]
        for c in (1, 3)
        for row in evaluator.rows(
            rng.uniform(-1, 1, (40, 28, 28, c)), rng.uniform(-1, 1, (40, 28, 28, c))
        )
    ]
    # With another extractor (the FID Inception-v3's declaration; its network replaced by a
    # stand-in of the same signature: tests/test_inception.py runs the real one).
    from ganbench.extractors.base import get_extractor

    class StandIn:
        extractor = get_extractor("inception")
        resize = extractor.default_resize
        info: typing.ClassVar = {"name": "inception", "weights": {}}

        def embed(self, images):
            return rng.standard_normal((len(images), 8)), None

    with_inception = ImageEvaluator([untrained, StandIn()], FeatureSettings(kid_subsets=2))
    x = rng.uniform(-1, 1, (40, 28, 28, 1))
    image_rows += [row[0] for row in with_inception.rows(x, x)]
    layer = f"{M.LAYER_GRAD_PREFIX}g/dense_0"  # with [metrics] layer_grads = true
    return {
        *diagnostics,
        *(M.EMA_PREFIX + m for m in diagnostics),
        *step_stats,
        *dirac_rows,
        *image_rows,
        layer,
    }


def _pattern(listed: str) -> re.Pattern:
    """A listed metric name as a pattern: ``<k>`` is a mode index, ``<metric>`` any metric."""
    pattern = re.escape(listed).replace("<k>", r"\d+")
    return re.compile(re.sub(r"<[a-z]+>", ".+", pattern))


def test_metrics_section_covers_every_metric_written_and_nothing_else(cli):
    listed = _json(cli, "metrics")["metrics"]
    names = [item["name"] for item in listed]
    patterns = [_pattern(n) for n in names]
    written = _written_metric_names()
    for name in written:
        assert any(p.fullmatch(name) for p in patterns), f"{name} is written but not listed"
    for name, pattern in zip(names, patterns, strict=True):
        assert any(pattern.fullmatch(w) for w in written), f"{name} is listed but never written"
    for item in listed:
        assert item["help"].startswith(catalog.DESCRIPTIONS[item["name"]])
        assert item["knobs"] == {}
    helps = {item["name"]: item["help"] for item in listed}
    assert helps[M.MODES].endswith("(higher is better)")
    assert helps[M.FD].endswith("(lower is better)")
