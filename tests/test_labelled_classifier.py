"""Classifiers of labelled data (ganbench.extractors.labelled): a folder of coloured discs, one
colour per class, imported, its classifier trained briefly and checked on its held-out images;
class metrics of the real data against closed forms; the name rule, collisions and refusals;
the network against mnist_cnn's and its parameter count by hand; a suite on the folder whose
runs and floor record the classifier's metrics and its checksum and accuracy."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.data import folders
from ganbench.errors import ConfigError, DataError
from ganbench.extractors import labelled

COLOURS = {"blue": (40, 60, 230), "green": (30, 200, 40), "red": (220, 30, 30)}
QUICK = {"epochs": 1, "min_steps": 40}
"""A brief training: 40 steps separate three colours."""


def _discs(root, n=20, seed=0, size=16, labelled_=True):
    """``n`` coloured discs of random radius and centre per colour on black; one sub-folder per
    colour when ``labelled_``."""
    rng = np.random.default_rng(seed)
    for name, colour in COLOURS.items():
        folder = root / name if labelled_ else root
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            r = rng.uniform(0.2, 0.4) * size
            cx, cy = rng.uniform(r, size - r, 2)
            im = Image.new("RGB", (size, size), (0, 0, 0))
            ImageDraw.Draw(im).ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
            im.save(folder / f"{name}_{i:02d}.png")
    return root


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = tmp_path / "data"
    monkeypatch.setenv("GANBENCH_DATA", str(path))
    return path


def cli(store, *args):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250", "GANBENCH_DATA": str(store)})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A data directory with folder:discs (3 x 20 discs, 16 x 16) and its classifier trained
    for 40 steps; the sidecar's content."""
    root = tmp_path_factory.mktemp("labelled")
    store = root / "data"
    mp = pytest.MonkeyPatch()
    mp.setenv("GANBENCH_DATA", str(store))
    folders.import_folder("discs", _discs(root / "src"), 16)
    meta = labelled.train(labelled.labelled_dataset("folder:discs"), settings=QUICK)
    yield store, meta
    mp.undo()


def test_name_rule():
    assert labelled.extractor_name("cifar10") == "cifar10_cnn"
    assert labelled.extractor_name("folder:My-Cats") == "folder_my_cats_cnn"
    assert labelled.extractor_name("folder:a.b c") == "folder_a_b_c_cnn"
    assert labelled.extractor_name("folder:x_9") == "folder_x_9_cnn"


def test_holdout_is_a_tenth_of_each_class_seeded():
    y = np.array([0] * 30 + [1] * 10 + [2] * 4 + [3])
    train, test = labelled.holdout_split(y)
    # round(0.1 n): 3 of 30, 1 of 10, max(1, round(0.4)) = 1 of 4, none of a class of one
    assert np.bincount(y[test], minlength=4).tolist() == [3, 1, 1, 0]
    assert sorted([*train, *test]) == list(range(y.size)) and not set(train) & set(test)
    again = labelled.holdout_split(y)
    assert np.array_equal(again[1], test)


def test_network_at_28x28x1_is_mnist_cnn():
    """Same parameters, same logits: the family's network generalises mnist_cnn's."""
    from ganbench.extractors import mnist_cnn

    params = mnist_cnn.init_params(3)
    net = labelled.LabelledCNN(side=28, channels=1, classes=10)
    assert labelled.param_shapes(net) == {
        f"{layer}/{leaf}": tuple(np.shape(params[layer][leaf]))
        for layer in params
        for leaf in params[layer]
    }
    x = np.random.default_rng(0).integers(0, 256, (7, 28, 28, 1)).astype(np.uint8)
    want = mnist_cnn.logits(params, x[..., 0])
    got = labelled.embed(net, params, x)[1]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_parameter_count_at_32x32x3_by_hand():
    import jax

    net = labelled.LabelledCNN(side=32, channels=3, classes=10)
    n = sum(x.size for x in jax.tree.leaves(labelled.init_params(net)))
    # conv 3->32, 32->64, 64->64 (3x3 kernels and biases); 32-2-2 = 28, /2 = 14, -2 = 12, /2 = 6:
    # dense 6*6*64 -> 128 -> 10
    by_hand = (27 * 32 + 32) + (9 * 32 * 64 + 64) + (9 * 64 * 64 + 64)
    by_hand += (6 * 6 * 64 * 128 + 128) + (128 * 10 + 10)
    assert n == by_hand == 352_650
    assert labelled.sides(64) == [62, 60, 30, 28, 14, 12, 6]  # one more conv and pool stage
    with pytest.raises(ConfigError, match="at least 12 x 12"):
        labelled.sides(11)


def test_trained_classifier_separates_the_held_out_discs(trained):
    store, meta = trained
    assert meta["test_accuracy"] == 1.0
    assert meta["n_test"] == 6 and meta["n_train"] == 54  # 2 of each class of 20 held out
    assert meta["test_split"] == "10% of each class held out (seed 0, 6 images)"
    from ganbench.data.store import sha256_file

    path = store / "folders" / "discs" / "classifier.npz"
    assert meta["sha256"] == sha256_file(path)
    side = json.loads((path.parent / "classifier.json").read_text())
    assert side["settings"]["recipe"] == labelled.RECIPE and side["settings"]["min_steps"] == 40


def test_class_metrics_of_real_data_match_closed_forms(trained, monkeypatch):
    store, meta = trained
    monkeypatch.setenv("GANBENCH_DATA", str(store))
    from ganbench.data import get_dataset
    from ganbench.diagnostics.image_eval import load_extractor

    dataset = get_dataset("folder:discs")
    assert dataset.extractor == "folder_discs_cnn"
    ev = load_extractor(extractors=["folder_discs_cnn"])
    model = ev.models[0]
    assert model.info["weights"]["sha256"] == meta["sha256"]
    assert model.info["weights"]["test_accuracy"] == 1.0
    images, labels = dataset.split_arrays("train")
    assert np.array_equal(model.embed(images)[1][:, 0], labels)  # every training disc right
    real = images.astype(np.float32) / 127.5 - 1.0
    rows = {m: v for m, v, *_ in ev.rows(real, real, dataset)}
    # the data against themselves: all K = 3 classes, balanced, so KL to uniform is 0
    assert rows["classes_folder_discs_cnn"] == 3
    assert rows["class_kl_folder_discs_cnn"] == pytest.approx(0.0, abs=1e-12)
    # 0 up to rounding in the square root of a rank-deficient covariance (60 samples, 128-d)
    trace = np.trace(np.cov(model.features(images), rowvar=False))
    assert abs(rows["fd_folder_discs_cnn"]) <= 1e-5 * trace
    assert rows["coverage_folder_discs_cnn"] == 1.0 and rows["precision_folder_discs_cnn"] == 1.0
    # one class only: 1 class of 3, KL(one-hot || uniform) = log 3
    red = real[labels == 2]
    rows = {m: v for m, v, *_ in ev.rows(red, real, dataset)}
    assert rows["classes_folder_discs_cnn"] == 1
    assert rows["class_kl_folder_discs_cnn"] == pytest.approx(math.log(3), abs=1e-12)


def test_cli_shows_and_verifies_the_trained_classifier(trained):
    store, meta = trained
    res = cli(store, "data", "extractor", "--dataset", "folder:discs", "--verify")
    assert res.exit_code == 0, res.output
    assert f"sha256:   {meta['sha256']} (matches classifier.json)" in res.stdout
    assert "accuracy: 100.00% on 10% of each class held out (seed 0, 6 images) (recorded)" in (
        res.stdout
    )
    assert "measured: 100.00% on 6 test images here" in res.stdout
    res = cli(store, "list", "extractors")
    assert res.exit_code == 0 and "folder_discs_cnn" in res.stdout and "cifar10_cnn" in res.stdout


def test_refusals_name_the_problem_and_the_way_out(store, tmp_path):
    folders.import_folder("plain", _discs(tmp_path / "plain", n=2, labelled_=False), 16)
    res = cli(store, "data", "extractor", "--train", "--dataset", "folder:plain")
    assert res.exit_code == 2 and "has no labels" in res.output
    folders.import_folder("untrained", _discs(tmp_path / "u", n=2), 16)
    res = cli(store, "data", "extractor", "--dataset", "folder:untrained")
    assert res.exit_code == 2
    assert "ganbench data extractor --train --dataset folder:untrained" in " ".join(
        res.output.split()
    )
    from ganbench.diagnostics.image_eval import load_extractor

    with pytest.raises(labelled.ClassifierMissing, match="--train --dataset folder:untrained"):
        load_extractor(extractors=["folder_untrained_cnn"])
    # named by nobody, it is simply left out, with why
    ev = load_extractor(extractors=["folder_untrained_cnn"], optional={"folder_untrained_cnn"})
    assert ev.models == [] and "--train" in ev.skipped["folder_untrained_cnn"]
    res = cli(store, "data", "extractor", "--dataset", "ring8")
    assert res.exit_code == 2 and "folder:NAME" in res.output
    res = cli(store, "data", "extractor", "--dataset", "folder:untrained", "--out", "x")
    assert res.exit_code == 2 and "--out is for the MNIST classifier" in res.output
    res = cli(store, "data", "extractor", "--dataset", "cifar10")
    assert res.exit_code == 2 and "data import cifar10" in res.output


def test_names_two_folders_share_are_refused(store, tmp_path):
    from ganbench.extractors.base import extractor_names, get_extractor

    folders.import_folder("a-b", _discs(tmp_path / "x", n=2), 16)
    assert get_extractor("folder_a_b_cnn").classes == 3
    folders.import_folder("a_b", _discs(tmp_path / "y", n=2), 16)
    with pytest.raises(ConfigError, match="'folder:a-b' and 'folder:a_b'"):
        get_extractor("folder_a_b_cnn")
    assert "folder_a_b_cnn" not in extractor_names()
    res = cli(store, "data", "extractor", "--train", "--dataset", "folder:a_b")
    assert res.exit_code == 2 and "ambiguous" in res.output


def test_weights_of_another_import_are_refused(trained, tmp_path, monkeypatch):
    store, _ = trained
    other = tmp_path / "data"
    monkeypatch.setenv("GANBENCH_DATA", str(other))
    folders.import_folder("discs", _discs(tmp_path / "src", n=4, seed=1), 16)
    dest = other / "folders" / "discs"
    for name in ("classifier.npz", "classifier.json"):
        (dest / name).write_bytes((store / "folders" / "discs" / name).read_bytes())
    with pytest.raises(DataError, match="trained on another import of folder:discs"):
        labelled.read_trained(labelled.labelled_dataset("folder:discs"))


def test_a_cifar_format_standin_trains_on_train_and_measures_on_test(tiny_cifar10):
    # One epoch of one step is enough to say which split trained and which measured (the
    # ``trained`` fixture trains to a useful accuracy, min_steps included).
    meta = labelled.train(
        labelled.labelled_dataset("cifar10"), settings={"epochs": 1, "min_steps": 0}
    )
    assert meta["test_split"] == "the test split" and meta["n_train"] == 100
    assert meta["n_test"] == 20 and 0.0 <= meta["test_accuracy"] <= 1.0
    res = cli(tiny_cifar10, "data", "extractor", "--dataset", "cifar10", "--verify")
    assert res.exit_code == 0, res.output
    assert "extractor: cifar10_cnn (classifier of cifar10, 10 classes)" in res.stdout


def _suite(samples: int = 12) -> dict:
    return {
        "suite": {"name": "discs", "seeds": 2, "steps": 4, "eval_every": 2},
        "defaults": {
            "dataset": "folder:discs32",
            "batch_size": 8,
            "z_dim": 8,
            "loss": "non_saturating",
            "generator": {"arch": "dcgan_radford", "channels": 2},
            "discriminator": {"arch": "dcgan_radford", "channels": 2},
            "optimizer": {"name": "adam", "lr_g": 2e-4, "lr_d": 2e-4, "b1": 0.5},
        },
        "metrics": {"samples": samples},
        "variants": [{"name": "dcgan"}],
    }


def _manifests(out):
    return {
        m["variant"]: m
        for m in (json.loads(p.read_text()) for p in out.rglob("manifest.json"))
        if "variant" in m
    }


@pytest.mark.slow
def test_a_labelled_folder_trains_a_dcgan_and_reports_class_metrics_beside_its_floor(
    store, tmp_path
):
    """Untrained, the classifier is left out with the way to train it in every manifest; once
    trained, the runs and the data floor record its metrics, checksum and accuracy."""
    import ganbench

    folders.import_folder("discs32", _discs(tmp_path / "src", n=8, size=32), 32)
    out = tmp_path / "out"
    results = ganbench.run_suite(_suite(), out=out)
    assert set(results.runs["status"]) == {"completed"}
    assert not any(m.startswith("class") for m in results.metrics["metric"])
    (dcgan,) = {v: m for v, m in _manifests(out).items() if v == "dcgan"}.values()
    skipped = dcgan["extractor"]["skipped"]["folder_discs32_cnn"]
    assert "ganbench data extractor --train --dataset folder:discs32" in skipped

    res = cli(store, "data", "extractor", "--train", "--dataset", "folder:discs32",
              "--epochs", "1", "--min-steps", "30")  # fmt: skip
    assert res.exit_code == 0, res.output
    meta = json.loads((store / "folders" / "discs32" / "classifier.json").read_text())
    results = ganbench.run_suite(_suite(), out=out, force=True)
    runs = results.runs
    assert sorted(runs["variant"]) == ["dcgan", "dcgan", "floor: folder:discs32 half vs half"]
    final = results.metrics[results.metrics["step"] == 4]
    names = set(
        labelled.declare(labelled.labelled_dataset("folder:discs32")).metric_names().values()
    )
    assert {"fd_folder_discs32_cnn", "classes_folder_discs32_cnn",
            "class_kl_folder_discs32_cnn"} <= names  # fmt: skip
    for variant in ("dcgan", "floor: folder:discs32 half vs half"):
        got = set(final[final["run_id"].isin(runs[runs["variant"] == variant]["run_id"])]["metric"])
        assert names - {"fd_folder_discs32_cnn_inf"} <= got, variant
    for m in _manifests(out).values():
        assert m["extractor"]["sha256"] == meta["sha256"]
        assert m["extractor"]["test_accuracy"] == meta["test_accuracy"]
        assert "skipped" not in m["extractor"]
    floor = final[final["run_id"].isin(runs[runs["variant"].str.startswith("floor")]["run_id"])]
    classes = floor[floor["metric"] == "classes_folder_discs32_cnn"]["value"]
    assert classes.tolist() == [3.0]  # every class of the data in a draw of the data
    res = cli(store, "report", str(out), "--format", "markdown")
    assert res.exit_code == 0, res.output
    rows = [line for line in res.stdout.splitlines() if line.startswith("| ")]
    assert any(r.startswith("| floor: folder:discs32 half vs half |") for r in rows)
    assert "classes_folder_discs32_cnn" in res.stdout


def test_grey_images_reach_an_rgb_classifier_as_three_equal_channels(trained, monkeypatch):
    store, _ = trained
    monkeypatch.setenv("GANBENCH_DATA", str(store))
    from ganbench.diagnostics.image_eval import load_extractor

    model = load_extractor(extractors=["folder_discs_cnn"]).models[0]
    grey = np.random.default_rng(1).integers(0, 256, (5, 16, 16, 1)).astype(np.uint8)
    got = model.features(grey)
    np.testing.assert_array_equal(got, model.features(np.repeat(grey, 3, axis=-1)))
    with pytest.raises(ConfigError, match="takes images of 3 channel"):
        model.embed(np.zeros((2, 16, 16, 2), np.uint8))


def test_weights_files_load_for_every_trained_or_shipped_classifier(trained, monkeypatch):
    """A weights file named by the user loads (its arrays checked against the network's shapes,
    which jax.eval_shape gives as shape-and-dtype leaves) for the MNIST classifier and for a
    labelled dataset's, with the same features as the weights loaded the usual way."""
    from ganbench.extractors import mnist_cnn, shipped

    store, meta = trained
    monkeypatch.setenv("GANBENCH_DATA", str(store))
    path = store / "folders" / "discs" / "classifier.npz"
    named = labelled.load("folder:discs", weights=path)
    usual = labelled.load("folder:discs")
    assert named.info["weights"]["sha256"] == meta["sha256"]
    x = np.random.default_rng(2).integers(0, 256, (4, 16, 16, 3)).astype(np.uint8)
    np.testing.assert_array_equal(named.features(x), usual.features(x))
    weights = shipped.paths()[0]
    model = mnist_cnn.load(weights=weights)
    assert model.info["weights"]["sha256"] == json.loads(shipped.paths()[1].read_text())["sha256"]
    digits = np.random.default_rng(3).integers(0, 256, (4, 28, 28, 1)).astype(np.uint8)
    np.testing.assert_array_equal(model.features(digits), mnist_cnn.load().features(digits))
    bad = store / "bad.npz"
    np.savez(bad, **{"conv_0/kernel": np.zeros((3, 3, 3, 32), np.float32)})
    with pytest.raises(DataError, match="missing array"):
        labelled.load("folder:discs", weights=bad)
