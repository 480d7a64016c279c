"""CIFAR-10 from the user's copy of its binary version: parse, check, store; the dataset
``cifar10`` that suites train on and ``eval`` reads (``cifar10:train``, ``cifar10:test``).

The data are Krizhevsky's "Learning Multiple Layers of Features from Tiny Images" (2009), as
distributed at https://www.cs.toronto.edu/~kriz/cifar.html. That page offers three versions;
ganbench reads the "binary version (suitable for C programs)", ``cifar-10-binary.tar.gz``,
whose folder ``cifar-10-batches-bin`` holds ``data_batch_1.bin`` ... ``data_batch_5.bin`` (the
50,000 training images) and ``test_batch.bin`` (the 10,000 test images). The page specifies the
format: each file is 10,000 records of 3,073 bytes, "the first byte is the label of the first
image, which is a number in the range 0-9. The next 3072 bytes are the values of the pixels of
the image. The first 1024 bytes are the red channel values, the next 1024 the green, and the
final 1024 the blue. The values are stored in row-major order". Class names, in label order,
are those of the version's ``batches.meta.txt``: airplane, automobile, bird, cat, deer, dog,
frog, horse, ship, truck.

The "python version" (``cifar-10-python.tar.gz``, folder ``cifar-10-batches-py``: ``data_batch_1``
... without extension, and ``batches.meta``) is a set of pickles; ganbench never unpickles
anything, so it refuses those files and names the binary version.

Checks: every file must be a regular file, a whole number of 3,073-byte records (a short last
record is refused with its offset), at most 10,000 records (nothing larger is read), with
labels in 0..9. Files with fewer records are accepted as a *stand-in* (a subset, or the tiny
files tests and CI write in exactly this format): the dataset then records
``official = false`` and its fingerprint enters the run identity of every run that trains on it
(see :func:`ganbench.config.expand.run_identity`), so its results never pass for CIFAR-10's.
Nothing is written until every file has passed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ganbench.data.base import DATASETS
from ganbench.data.store import data_dir as default_data_dir
from ganbench.data.store import data_dir_source
from ganbench.data.stored import StoredImages, read_manifest, stored_dataset, write_dataset
from ganbench.errors import DataError
from ganbench.fileio import FileTooLarge, read_bounded

DATASET = "cifar10"
"""The dataset's name and its folder in the data directory."""

TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILES = ("test_batch.bin",)
SPLITS = {"train": TRAIN_FILES, "test": TEST_FILES}
RECORD = 1 + 32 * 32 * 3
"""Bytes per record: the label byte and 3,072 pixel bytes."""
RECORDS = 10_000
"""Records per file in the official binary version (the most a file may hold)."""
CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
"""Label 0..9 -> class name (``batches.meta.txt`` of the binary version)."""
BINARY_FOLDER = "cifar-10-batches-bin"
PYTHON_FILES = ("data_batch_1", "data_batch_5", "test_batch", "batches.meta")
PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
SOURCE = (
    "CIFAR-10 (Krizhevsky 2009), binary version: https://www.cs.toronto.edu/~kriz/cifar.html; "
    "pixels scaled to [-1, 1]"
)

HOW_TO_GET = (
    "ganbench reads CIFAR-10's binary version: download cifar-10-binary.tar.gz ('CIFAR-10 "
    "binary version (suitable for C programs)') from https://www.cs.toronto.edu/~kriz/"
    "cifar.html, extract it, and run: ganbench data import cifar10 <the folder "
    f"{BINARY_FOLDER}>"
)


def cifar10_dir(data_dir=None) -> Path:
    """``<data dir>/cifar10``."""
    return Path(data_dir if data_dir is not None else default_data_dir()) / DATASET


def _python_version_message(path: Path) -> str:
    return (
        f"{path}: this is CIFAR-10's Python version (pickled batches); ganbench never unpickles "
        f"files. {HOW_TO_GET}"
    )


def _source_folder(src: Path) -> Path:
    """``src``, or its ``cifar-10-batches-bin`` subfolder when the files are there."""
    if not (src / TRAIN_FILES[0]).exists() and (src / BINARY_FOLDER).is_dir():
        return src / BINARY_FOLDER
    return src


def parse_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One binary batch file: uint8 images (N, 32, 32, 3) and labels (N,), checked.

    Raises:
        DataError: the file is missing, not regular, a pickle, larger than 10,000 records, not
            a whole number of records, empty, or holds a label outside 0..9 (message names it).
    """
    try:
        data = read_bounded(path, RECORDS * RECORD)
    except FileNotFoundError:
        raise DataError(f"{path}: missing") from None
    except FileTooLarge:
        raise DataError(
            f"{path}: larger than {RECORDS * RECORD:,} bytes ({RECORDS:,} records of {RECORD:,} "
            "bytes): not a CIFAR-10 binary batch"
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if data[:2] in PICKLE_MAGIC:
        raise DataError(_python_version_message(path))
    n, rest = divmod(len(data), RECORD)
    if rest:
        raise DataError(
            f"{path}: {len(data):,} bytes is not a whole number of {RECORD:,}-byte records (1 "
            f"label byte + 3,072 pixel bytes): the record at offset {n * RECORD:,} is short by "
            f"{RECORD - rest:,} bytes"
        )
    if n == 0:
        raise DataError(f"{path}: empty (no records)")
    records = np.frombuffer(data, np.uint8).reshape(n, RECORD)
    labels = records[:, 0].copy()
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise DataError(
            f"{path}: record {int(bad[0])} (offset {int(bad[0]) * RECORD:,}) has label "
            f"{int(labels[bad[0]])}; CIFAR-10 labels are 0-9"
        )
    images = records[:, 1:].reshape(n, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def read_cifar10(src: str | os.PathLike[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Both splits from the binary files in ``src`` (or its ``cifar-10-batches-bin``):
    ``{"train": (images, labels), "test": (images, labels)}``, files in order.

    Raises:
        DataError: ``src`` not a folder, the Python version, or any file missing or malformed;
            every problem is listed.
    """
    root = Path(src)
    if not root.is_dir():
        raise DataError(f"cannot import CIFAR-10: {root} is not a directory\n{HOW_TO_GET}")
    folder = _source_folder(root)
    for name in PYTHON_FILES:
        if (folder / name).is_file() or (root / "cifar-10-batches-py" / name).is_file():
            where = folder / name if (folder / name).is_file() else root / "cifar-10-batches-py"
            raise DataError(_python_version_message(where))
    problems, out = [], {}
    for split, names in SPLITS.items():
        parts = []
        for name in names:
            try:
                parts.append(parse_batch(folder / name))
            except DataError as exc:
                problems.append(str(exc))
        if len(parts) == len(names):
            out[split] = (
                np.concatenate([p[0] for p in parts]),
                np.concatenate([p[1] for p in parts]),
            )
    if problems:
        raise DataError(
            f"cannot import CIFAR-10 from {folder}; nothing was written:\n  "
            + "\n  ".join(problems)
            + f"\n{HOW_TO_GET}"
        )
    return out


def import_cifar10(
    src: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None
) -> tuple[Path, dict[str, int], bool]:
    """Parse the binary files in ``src`` and store both splits in ``<data dir>/cifar10``:
    ``(manifest path, {split: images}, official)``; ``official`` is False for files holding
    fewer than 10,000 records each (a stand-in)."""
    splits = read_cifar10(src)
    counts = {split: int(images.shape[0]) for split, (images, _) in splits.items()}
    official = counts == {"train": len(TRAIN_FILES) * RECORDS, "test": len(TEST_FILES) * RECORDS}
    arrays = {}
    for split, (images, labels) in splits.items():
        arrays[f"{split}-images"] = images
        arrays[f"{split}-labels"] = labels
    manifest = {
        "dataset": {
            "name": DATASET,
            "splits": list(SPLITS),
            "classes": list(CLASSES),
            "official": official,
            "source": SOURCE if official else SOURCE + " (a stand-in: fewer records than CIFAR-10)",
            "files": {split: list(names) for split, names in SPLITS.items()},
            "imported_from": str(Path(src).absolute()),
        }
    }
    path = write_dataset(cifar10_dir(data_dir), arrays, manifest)
    return path, counts, official


def not_imported_message(data_dir=None) -> str:
    folder = cifar10_dir(data_dir)
    return (
        f"CIFAR-10 is not imported: no {folder / 'manifest.json'} (data directory: "
        f"{folder.parent}, {data_dir_source()}). {HOW_TO_GET}"
    )


def cifar10() -> StoredImages:
    """The imported CIFAR-10 (the data directory's). Before it is imported, a placeholder with
    CIFAR-10's shape and classes, so that suites validate (their runs then have the identity of
    runs on CIFAR-10 itself); training it says how to import the files."""
    found = stored_dataset(DATASET, DATASET, hint=HOW_TO_GET)
    if found is not None:
        return found
    return StoredImages(
        name=DATASET,
        folder=DATASET,
        shape=(32, 32, 3),
        splits=tuple(SPLITS),
        classes=CLASSES,
        fingerprint="",
        source=SOURCE,
        official=True,
        hint=HOW_TO_GET,
    )


def imported(data_dir=None) -> dict | None:
    """The manifest of the imported CIFAR-10, or None."""
    return read_manifest(cifar10_dir(data_dir))


DATASETS.add(
    DATASET,
    cifar10,
    help="CIFAR-10 training images, 32 x 32 x 3 in [-1, 1], 10 classes; splits train and test "
    "(needs your copy of the binary version: ganbench data import cifar10 DIR)",
)
