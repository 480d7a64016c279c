"""MNIST offline-first: the IDX reader/writer, the data directory, import / fetch / load with tiny
planted files (fetch against a loopback HTTP server), and the real MNIST when
../shared/data/mnist exists."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import re
import threading
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ganbench.data import idx, mnist
from ganbench.data.idx import read_idx, write_idx
from ganbench.data.store import atomic_write_bytes, data_dir, sha256_file
from ganbench.errors import ConfigError, DataError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the data directory and atomic writes ---------------------------------------------------


def test_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANBENCH_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert data_dir() == tmp_path / "home" / ".cache" / "ganbench"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert data_dir() == tmp_path / "home" / ".cache" / "ganbench"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "xdg" / "ganbench"
    monkeypatch.setenv("GANBENCH_DATA", "")
    assert data_dir() == tmp_path / "xdg" / "ganbench"
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path / "mine"))
    assert data_dir() == tmp_path / "mine"


def test_atomic_write_and_sha256_file(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "f.bin"
    atomic_write_bytes(target, b"old")
    assert target.read_bytes() == b"old"
    assert sha256_file(target, chunk_size=2) == _sha(b"old")

    def fail(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("ganbench.data.store.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.bin"]  # no temp file left


# --- IDX ------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_idx_round_trip(tmp_path, dtype, compress):
    array = (np.random.default_rng(0).normal(size=(3, 4, 5)) * 100).astype(dtype)
    path = write_idx(tmp_path / "a.idx", array, gzip=compress)
    assert path.read_bytes().startswith(b"\x1f\x8b") == compress  # by content, not by name
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative and back.flags.writeable
    np.testing.assert_array_equal(back, array)


def test_idx_bytes_are_big_endian_as_specified(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.array([[1, 256, -2]], dtype=np.int16))  # raw, .gz name
    assert path.read_bytes() == bytes.fromhex("00000b02 00000001 00000003 0001 0100 fffe")
    np.testing.assert_array_equal(read_idx(path), [[1, 256, -2]])
    assert write_idx(tmp_path / "s", np.uint8(7)).read_bytes() == bytes.fromhex("0000 0800 07")
    assert read_idx(tmp_path / "s").shape == ()


HEADER_U8_10 = bytes.fromhex("00000801 0000000a")  # uint8, shape (10,)
GOOD = HEADER_U8_10 + bytes(range(10))


def _corrupt_gzip() -> bytes:
    data = bytearray(gzip.compress(bytes(range(256)) * 64))
    data[len(data) // 2] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (bytes.fromhex("01020801") + bytes(14), "wrong magic bytes 01 02 08 01 (expected 00 00"),
        (b"<html>404</html>", "wrong magic bytes 3c 68 74 6d"),
        (bytes.fromhex("00000701 00000001 05"), "unknown IDX type code 0x07"),
        (b"\x00\x00", "truncated IDX header: expected at least 4 bytes, found 2"),
        (bytes.fromhex("00000803 0000"), "truncated IDX header: 3 dimensions need 16 bytes"),
        (HEADER_U8_10 + bytes(4), "truncated IDX data: shape (10,) of uint8 needs 10 data bytes"),
        (HEADER_U8_10 + bytes(13), "3 trailing bytes after the IDX data"),
        (gzip.compress(GOOD)[:-10], "corrupt gzip stream"),
        (_corrupt_gzip(), "corrupt gzip stream"),
        (gzip.compress(bytes.fromhex("00000901 00000003 01")), "needs 3 data bytes after the "),
    ],
    ids=[
        "magic",
        "html",
        "type",
        "short-header",
        "short-dims",
        "truncated",
        "trailing",
        "gzip-truncated",
        "gzip-corrupt",
        "gz-truncated-data",
    ],
)
def test_malformed_idx_names_the_file_and_the_problem(tmp_path, content, expected):
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)
    assert info.value.exit_code == 2


def test_idx_missing_file_and_unsupported_dtype(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path / "nope")
    with pytest.raises(DataError, match="cannot store dtype bool"):
        write_idx(tmp_path / "b", np.zeros(3, dtype=bool))
    assert not (tmp_path / "b").exists()


# --- MNIST with tiny planted files ----------------------------------------------------------


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """Tiny fake MNIST files (3 train, 2 test examples); ``plant()`` makes their hashes (and
    sizes) the expected ones. The data directory is tmp_path/data."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "train-labels": np.array([0, 1, 9], dtype=np.uint8),
        "t10k-images": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        "t10k-labels": np.array([3, 4], dtype=np.uint8),
    }
    raw = {key: idx.encode_idx(a) for key, a in arrays.items()}
    gz = {key: gzip.compress(b, mtime=0) for key, b in raw.items()}
    store = tmp_path / "data"
    monkeypatch.setenv("GANBENCH_DATA", str(store))

    def plant():
        for key, data in raw.items():
            monkeypatch.setitem(mnist.SHA256, key, _sha(data))
        monkeypatch.setitem(mnist.EXAMPLES, "train", 3)
        monkeypatch.setitem(mnist.EXAMPLES, "test", 2)

    def write_src(folder: Path, names: dict[str, str] | None = None) -> Path:
        """The four files in ``folder``, named as in ``names`` (key -> name; .gz compresses)."""
        folder.mkdir(parents=True, exist_ok=True)
        names = names or {k: f"{mnist.NAMES[k]}.gz" for k in mnist.FILES}
        for key, name in names.items():
            (folder / name).write_bytes(gz[key] if name.endswith(".gz") else raw[key])
        return folder

    return SimpleNamespace(
        arrays=arrays,
        raw=raw,
        gz=gz,
        store=store,
        mnist=store / "mnist",
        plant=plant,
        src=write_src,
    )


MIXED_NAMES = {
    "train-images": "train-images.idx3-ubyte.gz",
    "train-labels": "train-labels-idx1-ubyte",
    "t10k-images": "t10k-images-idx3-ubyte.gz",
    "t10k-labels": "t10k-labels.idx1-ubyte",
}


def test_import_of_non_mnist_files_fails_the_checksum_and_writes_nothing(tiny, tmp_path):
    src = tiny.src(tmp_path / "src", MIXED_NAMES)
    with pytest.raises(DataError) as info:
        mnist.import_mnist(src)
    msg = str(info.value)
    assert "nothing was written" in msg
    for key, name in MIXED_NAMES.items():
        assert str(src / name) in msg
        assert f"expected {mnist.SHA256[key]}, found {_sha(tiny.raw[key])}" in msg
    assert not tiny.store.exists()


def test_import_any_naming_then_load_and_status(tiny, tmp_path):
    tiny.plant()
    paths = mnist.import_mnist(tiny.src(tmp_path / "src", MIXED_NAMES))
    assert paths == [tiny.mnist / mnist.NAMES[k] for k in mnist.FILES]
    assert all(p.read_bytes() == tiny.raw[k] for p, k in zip(paths, mnist.FILES, strict=True))
    images, labels = mnist.load_mnist("train")
    np.testing.assert_array_equal(images, tiny.arrays["train-images"])
    np.testing.assert_array_equal(labels, tiny.arrays["train-labels"])
    images, labels = mnist.load_mnist("test", data_dir=tiny.store)
    assert images.shape == (2, 28, 28) and images.dtype == np.uint8 and labels.tolist() == [3, 4]
    assert [(s.present, s.verified) for s in mnist.status()] == [(True, True)] * 4


def test_import_with_one_bad_file_writes_nothing(tiny, tmp_path):
    tiny.plant()
    src = tiny.src(tmp_path / "src")
    bad = src / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(tiny.raw["t10k-labels"] + b"\x00"))
    with pytest.raises(DataError, match="SHA-256 mismatch") as info:
        mnist.import_mnist(src)
    assert str(bad) in str(info.value)
    assert str(src / "train-images-idx3-ubyte.gz") not in str(info.value)
    assert not tiny.store.exists()
    with pytest.raises(DataError, match="is not a directory"):
        mnist.import_mnist(tmp_path / "missing")


def test_load_without_data_says_where_it_looked_and_both_ways(tiny):
    with pytest.raises(DataError) as info:
        mnist.load_mnist("train")
    msg = str(info.value)
    assert str(tiny.mnist) in msg
    assert "train-images-idx3-ubyte" in msg and "train-labels-idx1-ubyte" in msg
    assert "ganbench data fetch mnist" in msg
    assert "ganbench data import mnist DIR" in msg
    assert "GANBENCH_DATA" in msg
    with pytest.raises(ConfigError, match="allowed: train, test"):
        mnist.load_mnist("validation")


def test_load_accepts_gz_files_copied_into_the_data_dir_and_checks_them(tiny):
    tiny.plant()
    tiny.src(tiny.mnist)  # the distributed .gz files, copied by hand
    assert mnist.load_mnist("test")[1].tolist() == [3, 4]

    stored = tiny.mnist / "t10k-labels-idx1-ubyte.gz"
    stored.write_bytes(gzip.compress(bytes.fromhex("00000801 00000002 0305")))
    with pytest.raises(DataError) as info:
        mnist.load_mnist("test")
    assert f"{stored}: SHA-256 mismatch" in str(info.value)
    assert "ganbench data import mnist DIR" in str(info.value)
    row = {s.key: s for s in mnist.status()}["t10k-labels"]
    assert row.present and not row.verified and "mismatch" in row.problem


def test_load_checks_the_number_of_examples(tiny, tmp_path, monkeypatch):
    tiny.plant()
    mnist.import_mnist(tiny.src(tmp_path / "src"))
    monkeypatch.setitem(mnist.EXAMPLES, "train", 60000)
    with pytest.raises(DataError, match=r"expected uint8 of shape \(60000, 28, 28\), found uint8"):
        mnist.load_mnist("train")


# --- fetch against a loopback server --------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` (path -> bytes); honours ``Range: bytes=N-`` if ``server.ranges``."""

    def do_GET(self):
        server = self.server
        body = server.files.get(self.path)
        requested = self.headers.get("Range")
        if body is None:
            server.log.append((self.path, requested, 404))
            self.send_error(404)
            return
        start = 0
        if requested and server.ranges:
            start = int(re.fullmatch(r"bytes=(\d+)-", requested).group(1))
            if start >= len(body):
                server.log.append((self.path, requested, 416))
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        server.log.append((self.path, requested, 206 if start else 200))
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])

    def log_message(self, *_args):
        pass


@pytest.fixture
def server(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.log, httpd.ranges = {}, [], True
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


# Loopback requests must not go through a proxy configured on the host.
OPEN = urllib.request.build_opener(urllib.request.ProxyHandler({})).open


def _serve(server, tiny, folder: str = "good") -> str:
    for key in mnist.FILES:
        server.files[f"/{folder}/{mnist.NAMES[key]}.gz"] = tiny.gz[key]
    return f"{server.url}/{folder}/"


def test_fetch_tries_the_next_mirror_after_a_404(tiny, server):
    tiny.plant()
    good = _serve(server, tiny)
    messages: list[str] = []
    paths = mnist.fetch_mnist([f"{server.url}/missing", good], opener=OPEN, log=messages.append)
    assert paths == [tiny.mnist / mnist.NAMES[k] for k in mnist.FILES]
    assert [status for _, _, status in server.log] == [404, 200] * 4
    assert mnist.load_mnist("train")[1].tolist() == [0, 1, 9]
    assert sorted(p.name for p in tiny.mnist.iterdir()) == sorted(mnist.NAMES.values())
    assert "train-images-idx3-ubyte: verified" in messages

    server.log.clear()  # everything verified: nothing is downloaded again
    assert mnist.fetch_mnist([good], opener=OPEN) == paths
    assert server.log == []


def test_fetch_resumes_a_partial_download(tiny, server):
    tiny.plant()
    good = _serve(server, tiny)
    gz = tiny.gz["train-images"]
    tiny.mnist.mkdir(parents=True)
    (tiny.mnist / "train-images-idx3-ubyte.gz.part").write_bytes(gz[:100])
    mnist.fetch_mnist([good], opener=OPEN)
    assert ("/good/train-images-idx3-ubyte.gz", "bytes=100-", 206) in server.log
    assert len([e for e in server.log if e[0].startswith("/good/train-images")]) == 1
    assert (tiny.mnist / "train-images-idx3-ubyte").read_bytes() == tiny.raw["train-images"]
    assert not list(tiny.mnist.glob("*.part"))


@pytest.mark.parametrize(
    ("ranges", "part", "statuses"),
    [
        (False, b"garbage", [200]),  # no range support: a 200 restarts from scratch
        (True, b"\x1f\x8b garbage", [206, 200]),  # resumed file fails: retried from scratch
        (True, None, [416, 200]),  # the part is complete but the server says 416: restart
    ],
    ids=["no-range-support", "bad-part", "416"],
)
def test_fetch_restarts_from_scratch(tiny, server, ranges, part, statuses):
    tiny.plant()
    server.ranges = ranges
    good = _serve(server, tiny)
    tiny.mnist.mkdir(parents=True)
    gz = tiny.gz["t10k-labels"]
    planted = part if part is not None else gz
    (tiny.mnist / "t10k-labels-idx1-ubyte.gz.part").write_bytes(planted)
    mnist.fetch_mnist([good], opener=OPEN)
    log = [e for e in server.log if e[0] == "/good/t10k-labels-idx1-ubyte.gz"]
    assert [status for _, _, status in log] == statuses
    assert log[0][1] == f"bytes={len(planted)}-"
    assert mnist.load_mnist("test")[1].tolist() == [3, 4]


def test_fetch_of_wrong_content_lists_each_mirror_and_writes_nothing(tiny, server):
    # Not planted: the tiny files are not the canonical MNIST.
    mirrors = [_serve(server, tiny, "a"), f"{server.url}/missing/", _serve(server, tiny, "b")]
    with pytest.raises(DataError) as info:
        mnist.fetch_mnist(mirrors, opener=OPEN)
    msg = str(info.value)
    assert msg.startswith("cannot download MNIST train-images-idx3-ubyte.gz from any mirror")
    found = _sha(tiny.raw["train-images"])
    for mirror in mirrors[0], mirrors[2]:
        assert f"  {mirror}train-images-idx3-ubyte.gz: SHA-256 mismatch" in msg
    assert f"expected {mnist.SHA256['train-images']}, found {found}" in msg
    assert f"  {mirrors[1]}train-images-idx3-ubyte.gz: HTTP 404" in msg
    assert "ganbench data import mnist DIR" in msg
    assert list(tiny.mnist.iterdir()) == []  # no file, no .part


def test_fetch_offline_explains_both_ways(tiny):
    def offline(request, timeout):
        raise urllib.error.URLError(OSError(101, "Network is unreachable"))

    with pytest.raises(DataError) as info:
        mnist.fetch_mnist(opener=offline)
    msg = str(info.value)
    assert "no mirror could be reached (is this machine offline?)" in msg
    for mirror in mnist.MIRRORS:
        assert f"{mirror}train-images-idx3-ubyte.gz: cannot reach the server (Network is" in msg
    assert "ganbench data fetch mnist" in msg and "ganbench data import mnist DIR" in msg
    assert not (tiny.mnist / "train-images-idx3-ubyte").exists()


# --- the real MNIST -------------------------------------------------------------------------


def test_real_mnist_import_and_load(shared_mnist, tmp_path):
    store = tmp_path / "data"
    mnist.import_mnist(shared_mnist, data_dir=store)
    images, labels = mnist.load_mnist("train", data_dir=store)
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and labels.dtype == np.uint8
    expected = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(labels, minlength=10).tolist() == expected
    images, labels = mnist.load_mnist("test", data_dir=store)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    assert labels.max() == 9 and images.max() == 255
    assert all(s.verified for s in mnist.status(store))


def test_fetch_stops_a_download_larger_than_the_file_can_be(tiny, server, monkeypatch):
    """A mirror that sends more than the canonical file's size is cut off and its partial file
    removed; the next mirror is tried."""
    tiny.plant()
    monkeypatch.setitem(mnist.MAX_BYTES, "t10k-labels", 1000)
    server.files["/huge/t10k-labels-idx1-ubyte.gz"] = b"\x1f\x8b" + bytes(5000)
    good = _serve(server, tiny)
    for key in mnist.FILES:
        if key != "t10k-labels":
            server.files[f"/huge/{mnist.NAMES[key]}.gz"] = tiny.gz[key]
    messages: list[str] = []
    mnist.fetch_mnist([f"{server.url}/huge/", good], opener=OPEN, log=messages.append)
    assert any("passed 1,000 bytes" in m for m in messages), messages
    assert mnist.load_mnist("test")[1].tolist() == [3, 4]
    assert not list(tiny.mnist.glob("*.part"))
