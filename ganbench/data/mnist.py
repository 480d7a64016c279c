"""MNIST on disk, offline first: import files you have, or fetch them; verify; load.

The data are the four IDX files of LeCun, Cortes and Burges, "The MNIST database of handwritten
digits" (http://yann.lecun.com/exdb/mnist/): ``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (format:
:mod:`ganbench.data.idx`).

Verification. Each file is checked against the SHA-256 of its *uncompressed* content
(:data:`SHA256`, the canonical MNIST hashes), so a file is accepted whatever its compression
(gzip or none, detected by magic bytes) and naming variant: ``train-images-idx3-ubyte`` or
``train-images.idx3-ubyte``, each with or without ``.gz``.

Storage. Files live in ``<data dir>/mnist/`` (see :mod:`ganbench.data.store`: ``$GANBENCH_DATA``,
else ``$XDG_CACHE_HOME/ganbench``, else ``~/.cache/ganbench``) uncompressed, under the canonical
names above (55 MB; loading needs no decompression). Loading also accepts the other naming
variants and gzip there, so copying the distributed ``.gz`` files into that folder works too.

Every load re-hashes the files it reads: SHA-256 of the 47 MB training images takes about 0.05 s
(measured; the read itself costs as much), so no verification stamp is kept that could go stale.

Two ways to get the files:

* ``ganbench data import mnist DIR`` (:func:`import_mnist`): from files you already have; each is
  verified before anything is written.
* ``ganbench data fetch mnist`` (:func:`fetch_mnist`): download the ``.gz`` files from
  :data:`MIRRORS`, the mirrors used by torchvision (``torchvision.datasets.MNIST.mirrors``:
  https://ossci-datasets.s3.amazonaws.com/mnist/) and TensorFlow
  (``tensorflow.contrib.learn.datasets.mnist.DEFAULT_SOURCE_URL``, the CVDF mirror:
  https://storage.googleapis.com/cvdf-datasets/mnist/). Interrupted downloads resume from
  ``<name>.gz.part`` with an HTTP Range request.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganbench.data.idx import decode_idx, gunzip_if_needed, read_uncompressed
from ganbench.data.store import atomic_write_bytes, data_dir_source
from ganbench.data.store import data_dir as default_data_dir
from ganbench.errors import ConfigError, DataError

DATASET = "mnist"
"""The dataset's name and its folder in the data directory."""

FILES: tuple[str, ...] = ("train-images", "train-labels", "t10k-images", "t10k-labels")
"""The four files, by key."""

NAMES: dict[str, str] = {
    "train-images": "train-images-idx3-ubyte",
    "train-labels": "train-labels-idx1-ubyte",
    "t10k-images": "t10k-images-idx3-ubyte",
    "t10k-labels": "t10k-labels-idx1-ubyte",
}
"""Key -> canonical (stored) file name; the mirrors serve ``<name>.gz``."""

SHA256: dict[str, str] = {
    "train-images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
"""Key -> SHA-256 of the uncompressed file (the canonical MNIST files). Module-level so tests can
plant the hashes of tiny files."""

SPLITS: dict[str, tuple[str, str]] = {
    "train": ("train-images", "train-labels"),
    "test": ("t10k-images", "t10k-labels"),
}
"""Split -> (images key, labels key)."""

EXAMPLES: dict[str, int] = {"train": 60000, "test": 10000}
"""Split -> number of examples (checked on load)."""

MAX_BYTES: dict[str, int] = {
    "train-images": 16 + 60000 * 28 * 28,
    "train-labels": 8 + 60000,
    "t10k-images": 16 + 10000 * 28 * 28,
    "t10k-labels": 8 + 10000,
}
"""Key -> size of the canonical uncompressed file (IDX header + data): the most a file of that
key is read, decompressed or downloaded, so a gzip bomb or an endless download is refused at
that size."""

IMAGE_SHAPE = (28, 28)

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
"""Download mirrors, tried in order (see the module docstring for their provenance)."""

Opener = Callable[..., Any]
"""``opener(request, timeout=seconds)`` -> a response, as :func:`urllib.request.urlopen`."""


@dataclass(frozen=True)
class FileStatus:
    """One MNIST file in the data directory, as reported by :func:`status`."""

    dataset: str
    key: str
    name: str
    """The canonical file name."""
    path: Path
    """The file found (any naming variant), or where the canonical file would be."""
    present: bool
    verified: bool
    """Present and its uncompressed SHA-256 is the canonical one."""
    problem: str | None = None
    """Why a present file is not verified."""


def mnist_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<data dir>/mnist``, with the default data directory when ``data_dir`` is None."""
    return Path(data_dir if data_dir is not None else default_data_dir()) / DATASET


def candidates(folder: Path, key: str) -> list[Path]:
    """Every accepted name of ``key`` in ``folder``, in order of preference."""
    name = NAMES[key]
    dotted = name.replace("-idx", ".idx")
    return [folder / n for n in (name, dotted, f"{name}.gz", f"{dotted}.gz")]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mismatch(source: str, key: str, found: str) -> str:
    return (
        f"{source}: SHA-256 mismatch for MNIST {NAMES[key]}: expected {SHA256[key]}, "
        f"found {found} (of the uncompressed content)"
    )


def _read_verified(folder: Path, key: str) -> tuple[Path | None, bytes | None, list[str]]:
    """The first candidate of ``key`` in ``folder`` whose content verifies: (path, bytes, [])."""
    problems: list[str] = []
    for path in candidates(folder, key):
        if not path.is_file():
            continue
        try:
            data = read_uncompressed(path, MAX_BYTES[key])
        except DataError as exc:
            problems.append(str(exc))
            continue
        found = _sha256(data)
        if found == SHA256[key]:
            return path, data, []
        problems.append(_mismatch(str(path), key, found))
    return None, None, problems


def how_to_get(folder: Path) -> str:
    """Both ways to get MNIST, and where it is looked for."""
    return (
        "Get MNIST either way:\n"
        f"  online:  ganbench data fetch {DATASET}   (add --mirror URL to use another mirror)\n"
        f"  offline: ganbench data import {DATASET} DIR   (DIR holds the four MNIST files you "
        "already have, .gz or not)\n"
        f"The data directory is {folder.parent} ({data_dir_source()}); set GANBENCH_DATA "
        "to use another."
    )


def status(data_dir: str | os.PathLike[str] | None = None) -> list[FileStatus]:
    """Each of the four files: present, verified (hashes what is present), path."""
    folder = mnist_dir(data_dir)
    rows = []
    for key in FILES:
        path, _, problems = _read_verified(folder, key)
        if path is not None:
            rows.append(FileStatus(DATASET, key, NAMES[key], path, True, True))
            continue
        present = [p for p in candidates(folder, key) if p.is_file()]
        rows.append(
            FileStatus(
                DATASET,
                key,
                NAMES[key],
                present[0] if present else folder / NAMES[key],
                bool(present),
                False,
                "; ".join(problems) or None,
            )
        )
    return rows


def load_mnist(
    split: str, data_dir: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST ``split`` ("train" or "test"): images uint8 (N, 28, 28) and labels uint8 (N,).

    Both files are verified against :data:`SHA256` and their shapes checked
    (N = :data:`EXAMPLES`).

    Raises:
        ConfigError: an unknown split.
        DataError: files missing (the message says where it looked and how to get them), corrupt
            or failing their checksum.
    """
    if split not in SPLITS:
        raise ConfigError(f"unknown MNIST split {split!r}; allowed: {', '.join(SPLITS)}")
    folder = mnist_dir(data_dir)
    found: dict[str, tuple[Path, bytes]] = {}
    missing, problems = [], []
    for key in SPLITS[split]:
        path, data, bad = _read_verified(folder, key)
        if path is not None and data is not None:
            found[key] = (path, data)
        elif bad:
            problems.extend(bad)
        else:
            missing.append(NAMES[key])
    if missing or problems:
        lines = []
        if missing:
            lines.append(
                f"MNIST {split} data not found: no {', '.join(missing)} (nor its .gz or dotted "
                f"variant) in {folder}"
            )
        lines.extend(problems)
        raise DataError("\n".join([*lines, how_to_get(folder)]))

    images_key, labels_key = SPLITS[split]
    images = decode_idx(found[images_key][1], str(found[images_key][0]))
    labels = decode_idx(found[labels_key][1], str(found[labels_key][0]))
    n = EXAMPLES[split]
    for key, array, shape in (
        (images_key, images, (n, *IMAGE_SHAPE)),
        (labels_key, labels, (n,)),
    ):
        if array.dtype != np.uint8 or array.shape != shape:
            raise DataError(
                f"{found[key][0]}: expected uint8 of shape {shape}, found {array.dtype} of "
                f"shape {array.shape}"
            )
    return images, labels


def import_mnist(
    src_dir: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None
) -> list[Path]:
    """Copy the four MNIST files from ``src_dir`` into the data directory; return their paths.

    Each file may use any naming variant and be gzip-compressed or not. All four are verified
    before anything is written; they are then stored uncompressed under the canonical names,
    atomically.

    Raises:
        DataError: ``src_dir`` is not a folder, or a file is missing, unreadable or fails its
            checksum (the message names the file, the expected and the found hash); nothing is
            written.
    """
    src = Path(src_dir)
    folder = mnist_dir(data_dir)
    if not src.is_dir():
        raise DataError(f"cannot import MNIST: {src} is not a directory\n{how_to_get(folder)}")
    verified: dict[str, bytes] = {}
    problems = []
    for key in FILES:
        path, data, bad = _read_verified(src, key)
        if path is not None and data is not None:
            verified[key] = data
        elif bad:
            problems.extend(bad)
        else:
            names = ", ".join(p.name for p in candidates(src, key))
            problems.append(f"{src}: no MNIST {NAMES[key]} (looked for {names})")
    if problems:
        raise DataError(
            f"cannot import MNIST from {src}; nothing was written:\n  "
            + "\n  ".join(problems)
            + f"\n{how_to_get(folder)}"
        )
    return [atomic_write_bytes(folder / NAMES[key], verified[key]) for key in FILES]


class _MirrorFailed(Exception):
    """One mirror failed for one file; the message is the reason."""


def _reason(url: str, exc: BaseException) -> str:
    """One line for a mirror's failure (no ``[Errno n]`` prefixes)."""
    if isinstance(exc, _MirrorFailed):
        return str(exc)
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return "cannot reach the server (timed out)"
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        return f"cannot reach the server ({text})" if url.startswith("http") else str(text)
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-\d+/(?:\d+|\*)")


def _download(url: str, part: Path, opener: Opener, timeout: float, max_bytes: int) -> bool:
    """Download ``url`` into ``part``, resuming what is there; True if it resumed. A download
    that passes ``max_bytes`` is stopped and its file removed.

    A partial file is kept on network errors, for the next attempt to resume.
    """
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": "ganbench (MNIST fetch)"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = opener(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:  # the range is past the end: start over
            part.unlink(missing_ok=True)
            return _download(url, part, opener, timeout, max_bytes)
        raise
    with response:
        code = getattr(response, "status", None) or 200  # file:// responses have no status
        if code == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if match is None or int(match.group(1)) != offset:
                part.unlink(missing_ok=True)
                raise _MirrorFailed(
                    f"asked for bytes from {offset}, got Content-Range "
                    f"{response.headers.get('Content-Range')!r}; the partial file was removed"
                )
            mode, resumed = "ab", True
        elif code == 200:  # no range support (or no partial file): from scratch
            mode, resumed = "wb", False
        else:
            raise _MirrorFailed(f"unexpected HTTP status {code}")
        size = offset if resumed else 0
        with open(part, mode) as f:
            while chunk := response.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    f.close()
                    part.unlink(missing_ok=True)
                    raise _MirrorFailed(
                        f"the download passed {max_bytes:,} bytes, more than the file can be; "
                        "stopped and removed"
                    )
                f.write(chunk)
    return resumed


def _fetch_from(url: str, part: Path, key: str, opener: Opener, timeout: float) -> bytes:
    """The verified, uncompressed content of ``key`` from ``url``, via ``part``."""
    for _ in range(2):
        resumed = _download(url, part, opener, timeout, MAX_BYTES[key])
        try:
            data = gunzip_if_needed(part.read_bytes(), url, MAX_BYTES[key])
        except DataError as exc:
            problem = str(exc)
        else:
            found = _sha256(data)
            if found == SHA256[key]:
                return data
            problem = _mismatch(url, key, found)
        part.unlink(missing_ok=True)
        if not resumed:  # a resumed file may have had a bad start: retry once from scratch
            break
    raise _MirrorFailed(problem.removeprefix(f"{url}: "))


def fetch_mnist(
    mirrors: Sequence[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    opener: Opener = urllib.request.urlopen,
    *,
    timeout: float = 60.0,
    log: Callable[[str], None] | None = None,
) -> list[Path]:
    """Download the four files (``<mirror><name>.gz``), verify them, store them; return paths.

    Files already present and verified are kept. Each download goes to
    ``<data dir>/mnist/<name>.gz.part``; an existing part is resumed with an HTTP Range request
    (appended to on 206 Partial Content, restarted on 200). The decompressed content must match
    :data:`SHA256`; it is then written atomically and the part removed. On any failure the next
    mirror is tried.

    Raises:
        DataError: every mirror failed for a file; the message lists each mirror's failure and
            how to import files instead.
    """
    mirror_list = list(MIRRORS if mirrors is None else mirrors)
    folder = mnist_dir(data_dir)
    if not mirror_list:
        raise ConfigError(f"no mirror to fetch MNIST from\n{how_to_get(folder)}")
    say = log or (lambda _msg: None)
    paths = []
    for key in FILES:
        path, _, _ = _read_verified(folder, key)
        if path is not None:
            say(f"{NAMES[key]}: already present and verified")
            paths.append(path)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        remote = f"{NAMES[key]}.gz"
        part = folder / f"{remote}.part"
        failures: list[tuple[str, BaseException]] = []
        for mirror in mirror_list:
            url = mirror if mirror.endswith("/") else mirror + "/"
            url += remote
            say(f"{remote}: downloading {url}")
            try:
                data = _fetch_from(url, part, key, opener, timeout)
            except (_MirrorFailed, OSError, http.client.HTTPException, ValueError) as exc:
                # URLError and HTTPError are OSErrors; ValueError: a malformed URL.
                failures.append((url, exc))
                say(f"{remote}: {url}: {_reason(url, exc)}")
                continue
            paths.append(atomic_write_bytes(folder / NAMES[key], data))
            part.unlink(missing_ok=True)
            say(f"{NAMES[key]}: verified")
            break
        else:
            raise DataError(_fetch_failed(remote, failures, folder))
    return paths


def _fetch_failed(remote: str, failures: Iterable[tuple[str, BaseException]], folder: Path) -> str:
    failures = list(failures)
    offline = all(
        isinstance(exc, urllib.error.URLError)
        and not isinstance(exc, urllib.error.HTTPError)
        and url.startswith(("http:", "https:"))
        for url, exc in failures
    )
    head = (
        f"cannot download MNIST {remote}: no mirror could be reached (is this machine offline?)"
        if offline
        else f"cannot download MNIST {remote} from any mirror"
    )
    lines = [head, *(f"  {url}: {_reason(url, exc)}" for url, exc in failures)]
    return "\n".join([*lines, how_to_get(folder)])
