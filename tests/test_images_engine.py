"""Image GANs through the normal engine, runner and report, on a tiny MNIST-format data set
written by the test (the real files are used only by the slow test at the end)."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from conftest import N_TRAIN
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.data import mnist
from ganbench.metrics import names as M

SUITE = """
[suite]
name = "tiny_images"
seeds = 2
steps = 2
eval_every = 1

[defaults]
dataset = "mnist"
batch_size = 8
z_dim = 16
generator = {{ arch = "dcgan", channels = 4 }}
discriminator = {{ arch = "dcgan", channels = 4 }}
optimizer = {{ name = "adam", lr_g = 1e-4, lr_d = 1e-4, b1 = 0.5, b2 = 0.999 }}

[metrics]
samples = 64

{variants}
"""

VARIANTS = """
[[variants]]
name = "ns"
loss = "non_saturating"

[[variants]]
name = "wgan-gp-sn"
loss = "wasserstein"
penalty = { name = "gp", weight = 10.0 }
discriminator = { arch = "dcgan", channels = 4, spectral_norm = true }

[[variants]]
name = "pac2-mlp-d"
loss = "non_saturating"
pack = 2
discriminator = { arch = "mlp", width = 16, depth = 1 }

[[variants]]
name = "stacked"
loss = "hinge"
dataset = "stacked_mnist"
"""


def _suite(tmp_path: Path, variants: str = VARIANTS) -> Path:
    path = tmp_path / "images.toml"
    path.write_text(textwrap.dedent(SUITE.format(variants=variants)))
    return path


def test_dcgan_program_carries_batch_norm_state_and_dropout(tiny_mnist, tmp_path):
    """The DCGAN group's compiled programs, as ``ganbench run`` compiles them for the suite of
    the end-to-end test below (so the compilation cache serves one test's programs to the
    other): G's batch-norm running averages take one update per generator step, evaluation
    gives images in [-1, 1], and D's dropout draws a mask per key in training mode only."""
    from ganbench.config import load_suite
    from ganbench.run.compile import compile_group
    from ganbench.run.plan import make_plan

    suite = load_suite(_suite(tmp_path, ONE_VARIANT))
    (group,) = make_plan(suite, tmp_path / "out").groups
    compiled = compile_group(group, devices=jax.local_devices())
    state, hparams, data = compiled.state, compiled.hparams, compiled.data
    before = np.asarray(state.g_stats["batch_stats"]["bn_0"]["mean"])
    assert before.shape[0] == 2 and np.all(before == 0)  # running averages start at 0
    state, stats = compiled.chunk(state, hparams, data)  # one step (eval_every = 1)
    after = np.asarray(state.g_stats["batch_stats"]["bn_0"]["mean"])
    # One update of the running mean per generator step: 0.99 * 0 + 0.01 * batch mean.
    assert not np.allclose(after, 0) and np.max(np.abs(after)) < 0.1
    assert np.all(np.asarray(stats.first_nonfinite) == -1)
    assert np.all(np.isfinite(np.asarray(stats.mean["loss_d"])))
    out = compiled.evaluate(state, compiled.seeds, data, hparams.dataset)
    assert out["fake"].shape == (2, 64, 28, 28, 1) and out["real"].shape == (2, 64, 28, 28, 1)
    assert float(jnp.min(out["real"])) >= -1.0 and float(jnp.max(out["real"])) <= 1.0
    # D's dropout: two keys give two outputs in training mode; inference mode is deterministic.
    program = compiled.program
    d_params, d_stats = jax.tree.map(lambda a: a[0], (state.d_params, state.d_stats))
    x = out["real"][0, :8]

    @jax.jit
    def d_outputs(d_params, d_stats, x):  # one program, not the network op by op
        train = [program.d_apply(d_params, d_stats, x, key=jax.random.key(k)) for k in (1, 2)]
        return train, [program.d_apply(d_params, d_stats, x) for _ in range(2)]

    (d1, d2), (i1, i2) = d_outputs(d_params, d_stats, x)
    assert not np.allclose(d1, d2)
    assert np.allclose(i1, i2)


ONE_VARIANT = """
[[variants]]
name = "ns"
loss = "non_saturating"
"""


def _check_image_results(out: Path, data: Path) -> list[dict]:
    import pandas as pd

    suite_dir = out / "tiny_images" / "runs"
    manifests = [json.loads(p.read_text()) for p in suite_dir.glob("*/manifest.json")]
    assert [m["variant"] for m in manifests].count("ns") == 2
    floors = [m for m in manifests if m["variant"].startswith("floor")]
    assert "mnist" in [m["config"]["dataset"] for m in floors]
    run = next(m for m in manifests if m["variant"] == "ns")
    assert len(run["extractor"]["sha256"]) == 64 and 0 < run["extractor"]["test_accuracy"] <= 1
    assert run["extractor"]["source"] == "trained here"  # the stand-in data: not the shipped
    assert "inception" not in run["extractor"]  # only with a weights file
    folder = suite_dir / run["run_id"]
    assert (folder / "samples_step_1.png").read_bytes()[:4] == b"\x89PNG"
    assert (folder / "samples_step_2.png").exists()
    with np.load(folder / "samples.npz") as z:
        assert z["final"].dtype == np.uint8 and z["final"].shape == (64, 28, 28, 1)
    metrics = pd.read_parquet(folder / "metrics.parquet")
    names = set(metrics["metric"])
    for name in (M.FID_MNIST, M.KID_MNIST, M.PRECISION, M.RECALL, M.DENSITY, M.COVERAGE,
                 M.CLASSES, M.CLASS_KL):  # fmt: skip
        assert name in names, name
    fid = metrics[metrics["metric"] == M.FID_MNIST].iloc[-1]
    assert fid["n_real"] == 64 and fid["n_fake"] == 64 and fid["value"] > 0
    info = json.loads((data / "extractors" / "mnist_cnn.json").read_text())
    assert info["test_accuracy"] > 0.9 and info["n_train"] == N_TRAIN
    return manifests


def test_image_suite_end_to_end(tiny_mnist, tmp_path):
    from ganbench.diagnostics.image_eval import load_extractor

    out = tmp_path / "results"
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(_suite(tmp_path, ONE_VARIANT)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    _check_image_results(out, tiny_mnist)
    # Training the classifier shows its progress (2 epochs of 8 steps of 50 images here).
    assert "MNIST classifier steps 8/16 (epoch 1/2, loss " in result.output
    assert "MNIST classifier steps 16/16 (epoch 2/2, loss " in result.output
    assert "MNIST classifier trained in " in result.output
    # run's own summary shows the floor beside the runs, as report does.
    assert "│ floor: MNIST" in result.output  # (the table wraps the name)
    # The classifier is cached with its accuracy and reused, not retrained.
    sidecar = tiny_mnist / "extractors" / "mnist_cnn.json"
    stamp = sidecar.stat().st_mtime_ns
    assert load_extractor().info["retrained"] is False
    assert sidecar.stat().st_mtime_ns == stamp
    report = runner.invoke(app, ["report", str(out), "-f", "csv", "-m", "fid_mnist_cnn,classes"])
    assert report.exit_code == 0, report.output
    assert "floor: MNIST train vs test" in report.stdout
    table = pd.read_csv(io.StringIO(report.stdout))
    floor = table[table["variant"].str.startswith("floor: ")]
    assert list(floor["stability"]) == ["-"]  # nothing trained: no verdict
    from ganbench.report import read_results
    from ganbench.report.plots import close, figures

    figs = figures(read_results(out))
    try:
        kinds = [f.kind for f in figs]
        assert "images" in kinds and "curves" in kinds
        grid = next(f for f in figs if f.kind == "images").figure.axes[0]
        assert grid.images[0].get_array().shape[:2] == (8 * 29 + 1, 8 * 29 + 1)
    finally:
        close(figs)


def test_floor_and_stacked_metrics(tiny_mnist):
    """Train-vs-test draws of the data score near the ideal (density near its expectation 1,
    every class present); Stacked MNIST counts digit triples."""
    from ganbench.diagnostics.image_eval import load_extractor

    evaluator = load_extractor()
    images = {"train": mnist.load_mnist("train")[0], "test": mnist.load_mnist("test")[0]}
    rows = {m: v for m, v, *_ in evaluator.floor_rows(images, 200, 1)}
    assert rows[M.CLASSES] == 10 and rows[M.CLASS_KL] < 0.1
    # k = 3 balls around 200 points do not cover a second sample of the same distribution
    # entirely; these bounds hold for it, and fail for a collapsed generator.
    assert rows[M.PRECISION] > 0.6 and rows[M.RECALL] > 0.6
    assert 0.7 < rows[M.DENSITY] < 1.3
    # One digit image in all three channels: triples (c, c, c), at most 10 of the 1000 modes.
    x = images["test"][:100].astype(np.float32) / 127.5 - 1.0
    stacked = np.repeat(x[..., None], 3, axis=-1)
    rows = {m: v for m, v, *_ in evaluator.rows(stacked, stacked)}
    assert 1 <= rows[M.CLASSES] <= 10
    # Identical sets: FD 0 up to the round-off of a rank-deficient (100 samples, 384-d)
    # covariance's square root.
    assert rows[M.FID_MNIST] == pytest.approx(0.0, abs=0.05)


@pytest.mark.slow
def test_every_image_variant_trains(tiny_mnist, tmp_path):
    """Spectral norm, a gradient penalty on images, PacGAN with an MLP discriminator on flat
    pixels, and Stacked MNIST: each trains and is measured."""
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", str(_suite(tmp_path)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifests = _check_image_results(out, tiny_mnist)
    assert {m["status"] for m in manifests} == {"completed"}
    assert sorted(m["config"]["dataset"] for m in manifests if m["variant"] == "stacked") == [
        "stacked_mnist",
        "stacked_mnist",
    ]


def test_missing_mnist_is_bad_input_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path / "empty"))
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", str(_suite(tmp_path)), "--out", str(out)])
    assert result.exit_code == 2
    assert "ganbench data fetch mnist" in result.output
    assert "ganbench data import mnist" in result.output
    assert not out.exists() or not any(out.rglob("manifest.json"))


def test_image_archs_need_image_data(tmp_path):
    bad = VARIANTS.replace('dataset = "stacked_mnist"', 'dataset = "ring8"')
    result = CliRunner().invoke(app, ["validate", str(_suite(tmp_path, bad))])
    assert result.exit_code == 2
    assert "image network" in result.output


def test_image_suites_need_six_samples_for_the_nearest_neighbour_metrics(tmp_path):
    from ganbench.config import load_suite
    from ganbench.errors import ConfigError

    path = _suite(tmp_path, ONE_VARIANT)
    with pytest.raises(ConfigError, match=r"metrics\.samples.*at least 6 samples.*got 5"):
        load_suite(path, overrides=["metrics.samples=5"])
    assert load_suite(path, overrides=["metrics.samples=6"]).runs
