"""CIFAR-10 from files in its binary format: the parsed arrays against the bytes written by the
test, malformed files refused with the file named (exit 2, nothing written), the Python version
refused without unpickling, and the dataset a suite and ``eval`` read."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from conftest import write_cifar10_batches
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.config import load_suite
from ganbench.data import cifar10, get_dataset
from ganbench.errors import ConfigError, DataError


@pytest.fixture
def cli(tmp_path, monkeypatch):
    store = tmp_path / "data"
    monkeypatch.setenv("GANBENCH_DATA", str(store))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), env={"COLUMNS": "200", "GANBENCH_DATA": str(store)})

    return invoke


def test_records_are_parsed_as_the_format_specifies(tmp_path):
    """One record written by hand: label 7, red plane all 10 except pixel (row 0, col 1) = 200,
    green plane the row index, blue plane the column index (row-major)."""
    red = np.full((32, 32), 10, np.uint8)
    red[0, 1] = 200
    green = np.repeat(np.arange(32, dtype=np.uint8)[:, None], 32, axis=1)
    blue = np.repeat(np.arange(32, dtype=np.uint8)[None, :], 32, axis=0)
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(bytes([7]) + red.tobytes() + green.tobytes() + blue.tobytes())
    images, labels = cifar10.parse_batch(path)
    assert labels.tolist() == [7] and images.shape == (1, 32, 32, 3) and images.dtype == np.uint8
    assert images[0, 0, 1].tolist() == [200, 0, 1]
    assert images[0, 5, 9].tolist() == [10, 5, 9]
    np.testing.assert_array_equal(images[0, :, :, 1], green)
    np.testing.assert_array_equal(images[0, :, :, 2], blue)


def test_import_gives_the_arrays_and_labels_written(cli, tmp_path):
    src = tmp_path / "cifar-10-batches-bin"
    written = write_cifar10_batches(src, records=7)
    res = cli("data", "import", "cifar10", str(tmp_path))  # the parent of the folder works too
    assert res.exit_code == 0, res.output
    assert "35 training and 7 test images" in res.output and "stand-in" in res.output
    dataset = get_dataset("cifar10")
    for split, (images, labels) in written.items():
        got, got_labels = dataset.split_arrays(split)
        np.testing.assert_array_equal(got, images)
        np.testing.assert_array_equal(got_labels, labels)
        evaluated, eval_labels = dataset.eval_images(split)
        np.testing.assert_array_equal(evaluated, images)
        assert eval_labels.shape == (len(labels), 1)
        np.testing.assert_array_equal(eval_labels[:, 0], labels)
    assert dataset.shape == (32, 32, 3) and dataset.classes == cifar10.CLASSES
    assert not dataset.official and dataset.identity_data() == dataset.fingerprint
    images, labels = dataset.train_data()
    np.testing.assert_array_equal(images, written["train"][0])
    res = cli("data", "status", "cifar10")
    assert res.exit_code == 0, res.output
    assert "cifar10 (stand-in)" in res.output and "train 35, test 7" in res.output


def test_eval_images_draws_a_sorted_subset_and_checks_its_arguments(tiny_cifar10):
    dataset = get_dataset("cifar10")
    all_images, all_labels = dataset.eval_images("test")
    images, labels = dataset.eval_images("test", n=5, seed=3)
    idx = np.sort(np.random.default_rng(3).choice(20, 5, replace=False))
    np.testing.assert_array_equal(images, all_images[idx])
    np.testing.assert_array_equal(labels, all_labels[idx])
    with pytest.raises(ConfigError, match="holds 20 images; asked for 21"):
        dataset.eval_images("test", n=21)
    with pytest.raises(ConfigError, match="no split 'valid'; allowed: train, test"):
        dataset.eval_images("valid")


def test_floor_pair_draws_train_against_test(tiny_cifar10):
    dataset = get_dataset("cifar10")
    first, second = dataset.floor_pair(8, seed=0)
    train, _ = dataset.split_arrays("train")
    test, _ = dataset.split_arrays("test")
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(first, train[rng.integers(0, 100, 8)])
    np.testing.assert_array_equal(second, test[rng.integers(0, 20, 8)])


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("short", "the record at offset 58,387 is short by 1,000 bytes"),
        ("label", "record 3 (offset 9,219) has label 10; CIFAR-10 labels are 0-9"),
        ("empty", "empty (no records)"),
        ("missing", "data_batch_3.bin: missing"),
        ("pickle", "this is CIFAR-10's Python version (pickled batches)"),
        ("large", "larger than 61,460 bytes (20 records"),
    ],
)
def test_malformed_files_exit_2_naming_the_file_and_write_nothing(
    cli, tmp_path, monkeypatch, damage, expected
):
    src = tmp_path / "cifar-10-batches-bin"
    write_cifar10_batches(src, records=20)
    target = src / "data_batch_3.bin"
    data = target.read_bytes()
    if damage == "short":
        target.write_bytes(data[:-1000])
    elif damage == "label":
        target.write_bytes(data[: 3 * 3073] + bytes([10]) + data[3 * 3073 + 1 :])
    elif damage == "empty":
        target.write_bytes(b"")
    elif damage == "missing":
        target.unlink()
    elif damage == "pickle":
        target.write_bytes(pickle.dumps({"data": [1, 2, 3]}, protocol=2))
    elif damage == "large":
        monkeypatch.setattr(cifar10, "RECORDS", 20)
        target.write_bytes(data + data[:3073])
    res = cli("data", "import", "cifar10", str(src))
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert f"{target}" in res.output and expected in res.output
    if damage == "pickle":
        assert "cifar-10-binary.tar.gz" in res.output and "never unpickles" in res.output
    assert not (tmp_path / "data").exists()


def test_the_python_version_is_refused_by_its_file_names_without_reading_them(cli, tmp_path):
    src = tmp_path / "cifar-10-batches-py"
    src.mkdir()
    # A pickle that would run code if it were unpickled: it must never be.
    (src / "data_batch_1").write_bytes(b"cos\nsystem\n(S'touch /tmp/pwned'\ntR.")
    (src / "batches.meta").write_bytes(b"\x80\x02}q\x00.")
    res = cli("data", "import", "cifar10", str(tmp_path))
    assert res.exit_code == 2, res.output
    assert "Python version" in res.output and "binary version" in res.output
    res = cli("data", "import", "cifar10", str(src))
    assert res.exit_code == 2 and "data_batch_1" in res.output


def test_official_counts_are_cifar10_itself_and_a_stand_in_gets_its_own_run_ids(
    tmp_path, monkeypatch, write_suite
):
    store = tmp_path / "data"
    monkeypatch.setenv("GANBENCH_DATA", str(store))
    suite = write_suite(
        text="""
        [suite]
        name = "c"
        seeds = 1
        steps = 2
        eval_every = 1

        [defaults]
        dataset = "cifar10"
        batch_size = 4
        z_dim = 4
        loss = "non_saturating"
        generator = { arch = "mlp", width = 4, depth = 1 }
        discriminator = { arch = "mlp", width = 4, depth = 1 }
        optimizer = { name = "adam", lr_g = 1e-3, lr_d = 1e-3 }

        [metrics]
        samples = 8

        [[variants]]
        name = "a"
        """
    )
    # Not imported: the suite validates, with the identity of runs on CIFAR-10 itself.
    plain = load_suite(suite).runs[0]
    assert "data" not in plain.identity()
    # The official record counts (planted small here): the same runs.
    monkeypatch.setattr(cifar10, "RECORDS", 3)
    write_cifar10_batches(tmp_path / "official", records=3)
    _, counts, official = cifar10.import_cifar10(tmp_path / "official")
    assert official and counts == {"train": 15, "test": 3}
    assert load_suite(suite).runs[0].run_id == plain.run_id
    # A stand-in: its fingerprint enters the identity.
    write_cifar10_batches(tmp_path / "standin", records=2)
    _, _, official = cifar10.import_cifar10(tmp_path / "standin")
    assert not official
    run = load_suite(suite).runs[0]
    assert run.identity()["data"] == get_dataset("cifar10").fingerprint
    assert run.run_id != plain.run_id


def test_training_without_the_files_exits_2_and_writes_nothing(tmp_path, monkeypatch, write_suite):
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path / "data"))
    suite = write_suite(
        text="""
        [suite]
        name = "c"
        seeds = 1
        steps = 2
        eval_every = 1

        [defaults]
        dataset = "cifar10"
        batch_size = 4
        z_dim = 4
        loss = "non_saturating"
        optimizer = { name = "adam", lr_g = 1e-3, lr_d = 1e-3 }

        [metrics]
        samples = 8

        [[variants]]
        name = "a"
        """
    )
    res = CliRunner().invoke(app, ["run", str(suite), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "dataset 'cifar10' is not imported" in res.output
    assert "cifar-10-binary.tar.gz" in res.output
    assert not (tmp_path / "out").exists()


def test_a_changed_array_fails_its_hash(tiny_cifar10):
    dataset = get_dataset("cifar10")
    path = tiny_cifar10 / "cifar10" / "test-images.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"differs from \w+ in its manifest"):
        dataset.split_arrays("test")
