"""``ganbench data``: status, import, fetch through the real typer app (no network: the fetch
test points the mirrors at a closed loopback port)."""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import time
import zlib

import numpy as np
import pytest
from typer.testing import CliRunner

from ganbench.cli import app
from ganbench.data import idx, mnist


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = tmp_path / "data"
    monkeypatch.setenv("GANBENCH_DATA", str(path))
    return path


@pytest.fixture
def cli(store):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), env={"COLUMNS": "200", "GANBENCH_DATA": str(store)})

    return invoke


def _tiny_src(folder, plant=None):
    """Tiny fake MNIST .gz files in ``folder``; with ``plant`` (monkeypatch) their hashes become
    the expected ones."""
    folder.mkdir()
    for key in mnist.FILES:
        n = 3 if key.startswith("train") else 2
        shape = (n, 28, 28) if key.endswith("images") else (n,)
        raw = idx.encode_idx(np.zeros(shape, dtype=np.uint8))
        (folder / f"{mnist.NAMES[key]}.gz").write_bytes(gzip.compress(raw))
        if plant is not None:
            plant.setitem(mnist.SHA256, key, hashlib.sha256(raw).hexdigest())
    return folder


def test_help_lists_the_data_commands(cli):
    assert "data" in cli("--help").output
    out = cli("data", "--help").output
    for command in ("fetch", "import", "status"):
        assert command in out


def test_status_of_an_empty_data_dir(cli, store):
    res = cli("data", "status")
    assert res.exit_code == 0, res.output
    assert f"data directory: {store} ($GANBENCH_DATA)" in res.output
    for name in mnist.NAMES.values():
        assert name in res.output
    assert "│ no " in res.output and "yes" not in res.output
    assert "ganbench data fetch mnist" in res.output
    assert not store.exists()  # status creates nothing


def test_import_from_a_bad_dir_exits_2_and_writes_nothing(cli, store, tmp_path):
    res = cli("data", "import", "mnist", str(tmp_path / "nowhere"))
    assert res.exit_code == 2, res.output
    assert "is not a directory" in res.output and "Traceback" not in res.output

    src = _tiny_src(tmp_path / "src")  # real MNIST hashes: these files fail them
    res = cli("data", "import", "mnist", str(src))
    assert res.exit_code == 2, res.output
    assert "nothing was written" in res.output
    assert f"{src / 'train-images-idx3-ubyte.gz'}: SHA-256 mismatch" in res.output
    assert mnist.SHA256["train-images"] in res.output
    assert not store.exists()


def test_import_then_status_verified(cli, store, tmp_path, monkeypatch):
    src = _tiny_src(tmp_path / "src", plant=monkeypatch)
    res = cli("data", "import", "mnist", str(src))
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (store / "mnist").iterdir()) == sorted(mnist.NAMES.values())
    res = cli("data", "status", "mnist")
    assert res.exit_code == 0, res.output
    assert res.output.count("│ yes     │ yes ") == 4


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (("fetch", "svhn"), "allowed: mnist"),
        (("import", "mnits", "."), "allowed: mnist, cifar10, folder"),
        (("status", "ring8"), "allowed: mnist, cifar10, folder"),
    ],
    ids=["fetch", "import", "status"],
)
def test_unknown_dataset_exits_2_with_the_allowed_names(cli, args, allowed):
    res = cli("data", *args)
    assert res.exit_code == 2, res.output
    assert f"unknown dataset {args[1]!r}" in res.output
    assert allowed in res.output
    if args[1] == "mnits":
        assert "did you mean 'mnist'?" in res.output


def test_fetch_of_an_imported_dataset_says_how_to_import_it(cli):
    res = cli("data", "fetch", "cifar10")
    assert res.exit_code == 2, res.output
    assert "ganbench fetches only mnist; cifar10 is imported from your copy" in res.output
    assert "ganbench data import cifar10 DIR" in res.output


def test_fetch_without_network_exits_2_with_both_ways(cli, store, monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as s:  # a port nobody listens on: connections are refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mirror = f"http://127.0.0.1:{port}/mnist/"
    monkeypatch.setattr(mnist, "MIRRORS", (mirror,))
    res = cli("data", "fetch", "mnist")
    assert res.exit_code == 2, res.output
    assert "no mirror could be reached (is this machine offline?)" in res.output
    assert f"{mirror}train-images-idx3-ubyte.gz: cannot reach the server" in res.output
    assert "ganbench data fetch mnist" in res.output
    assert "ganbench data import mnist DIR" in res.output
    assert "Traceback" not in res.output
    assert not (store / "mnist" / "train-images-idx3-ubyte").exists()

    res = cli("data", "fetch", "mnist", "--mirror", f"http://127.0.0.1:{port}/other")
    assert res.exit_code == 2, res.output
    assert f"http://127.0.0.1:{port}/other/train-images-idx3-ubyte.gz" in res.output
    assert mirror not in res.output


def test_a_gzip_bomb_is_refused_at_the_size_mnist_can_be(cli, store, tmp_path):
    """A .gz that decompresses past the canonical file's size (here 200 MiB of zeros in 200 KB)
    is refused while decompressing, with exit 2 and nothing written."""
    src = _tiny_src(tmp_path / "src")
    bomb = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    data = b"".join(bomb.compress(bytes(1 << 24)) for _ in range(12)) + bomb.flush()
    target = src / "t10k-images-idx3-ubyte.gz"
    target.write_bytes(data)
    start = time.perf_counter()
    res = cli("data", "import", "mnist", str(src))
    assert res.exit_code == 2, res.output
    assert f"{target}: decompresses to more than {mnist.MAX_BYTES['t10k-images']:,} bytes" in (
        " ".join(res.output.split())
    )
    assert time.perf_counter() - start < 20
    assert not store.exists()


def test_extractor_shows_the_shipped_classifier(cli, store):
    from ganbench.extractors import shipped

    res = cli("data", "extractor")
    assert res.exit_code == 0, res.output
    sha = json.loads(shipped.paths()[1].read_text())["sha256"]
    assert f"sha256:   {sha} (matches mnist_cnn.json)" in res.stdout
    assert "99.07% on MNIST test (recorded)" in res.stdout
    res = cli("data", "extractor", "--verify")  # no MNIST here: bad input, says how to get it
    assert res.exit_code == 2 and "ganbench data fetch mnist" in res.output


def test_extractor_verify_on_real_mnist(cli, store, shared_mnist):
    assert cli("data", "import", "mnist", str(shared_mnist)).exit_code == 0
    res = cli("data", "extractor", "--verify")
    assert res.exit_code == 0, res.output
    assert "measured: 99.07% on 10,000 test images here" in res.stdout


def test_extractor_train_writes_weights_and_sidecar_with_the_recipe(tiny_mnist, tmp_path):
    from ganbench.extractors.cache import try_load
    from ganbench.extractors.classifier import classifier_settings, mnist_fingerprint

    folder = tmp_path / "weights"
    res = CliRunner().invoke(app, ["data", "extractor", "--train", "--out", str(folder)])
    assert res.exit_code == 0, res.output
    meta = json.loads((folder / "mnist_cnn.json").read_text())
    assert meta["settings"] == classifier_settings() and meta["n_train"] == 400
    assert f"sha256 {meta['sha256']}" in res.stdout
    params, _, why = try_load(
        folder / "mnist_cnn.npz", folder / "mnist_cnn.json", mnist_fingerprint(), meta["settings"]
    )
    assert why is None and params is not None
