"""Image datasets stored as arrays in the data directory: CIFAR-10 (:mod:`ganbench.data.cifar10`)
and image folders (:mod:`ganbench.data.folders`) once imported.

Layout. A dataset's folder (``<data dir>/cifar10/``, ``<data dir>/folders/<name>/``) holds, per
split, ``<split>-images.npy`` (uint8, (N, H, W, C)) and, for labelled data, ``<split>-labels.npy``
(uint8 or uint16, (N,)), written with ``numpy.save`` and read back with ``allow_pickle=False``;
and ``manifest.json``, written last: what the data are (source, import settings, class names),
each array's shape, dtype and SHA-256, and the dataset's fingerprint (the SHA-256 of the
arrays' hashes in a fixed order). Every file is written atomically; a reader trusts only the
manifest, so an import interrupted between files leaves either the old dataset or arrays that
fail their hashes ("import it again"), never a mix that loads.

Loading re-hashes the arrays it reads (CIFAR-10's 150 MB of training images in about 0.3 s), as
MNIST's loader does, so no verification stamp can go stale.

:class:`StoredImages` is the dataset object a suite trains on: small and hashable (its shape,
classes and fingerprint pick the compiled program); its pixels are loaded by :meth:`arrays`,
placed on the devices once and passed to the compiled loop, where :meth:`sample` draws a
batch in [-1, 1] (x / 127.5 - 1), as for MNIST.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ganbench.data.base import IMAGE
from ganbench.errors import ConfigError, DataError
from ganbench.fileio import FileTooLarge, atomic_write_bytes, read_bounded

MANIFEST = "manifest.json"
FORMAT = 1
"""Version of the stored layout (``manifest.json``'s ``format``)."""
MAX_MANIFEST_BYTES = 1 << 20
MAX_ARRAY_BYTES = 2**31
"""The most pixels (bytes) a stored image array may hold: 2 GiB, about 14 times CIFAR-10's
training set; the array is resident on every device while a suite trains."""
NPY_HEADER_ROOM = 1 << 16
"""Bytes allowed for an .npy header beyond the array's data."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` in the .npy format (no pickle: plain dtypes only)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def fingerprint_of(hashes: dict[str, str]) -> str:
    """The dataset's fingerprint: SHA-256 over ``name=hash`` lines of its arrays, sorted."""
    text = "".join(f"{k}={hashes[k]}\n" for k in sorted(hashes))
    return sha256(text.encode())


def write_dataset(folder: Path, arrays: dict[str, np.ndarray], manifest: dict[str, Any]) -> Path:
    """Store ``arrays`` (``<split>-images``, ``<split>-labels``) and the manifest in ``folder``:
    arrays first, each atomically, the manifest last. Returns the manifest's path."""
    entries = {}
    for key in sorted(arrays):
        array = arrays[key]
        data = npy_bytes(array)
        atomic_write_bytes(folder / f"{key}.npy", data)
        entries[key] = {
            "shape": list(array.shape),
            "dtype": array.dtype.str,
            "sha256": sha256(data),
        }
    stale = {p.name for p in folder.glob("*.npy")} - {f"{k}.npy" for k in arrays}
    for name in stale:  # arrays of an earlier import the new manifest does not list
        (folder / name).unlink(missing_ok=True)
    full = {
        "format": FORMAT,
        **manifest,
        "arrays": entries,
        "fingerprint": fingerprint_of({k: v["sha256"] for k, v in entries.items()}),
        "imported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    text = json.dumps(full, indent=1, sort_keys=True) + "\n"
    return atomic_write_bytes(folder / MANIFEST, text.encode())


_MANIFESTS: dict[str, tuple[tuple, dict[str, Any]]] = {}
"""Manifests read, by path, with the (mtime, size, inode) they were read at."""


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of the dataset in ``folder``, or None when there is none (not imported).
    Cached while the file keeps its size and modification time.

    Raises:
        DataError: a manifest that is not a regular file, too large, not JSON, or not a
            ganbench manifest (the message names the file).
    """
    path = folder / MANIFEST
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _MANIFESTS.get(str(path))
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        text = read_bounded(path, MAX_MANIFEST_BYTES).decode("utf-8")
        manifest = json.loads(text)
    except FileTooLarge:
        raise DataError(f"{path}: larger than {MAX_MANIFEST_BYTES:,} bytes") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(
            f"{path}: not a readable dataset manifest ({exc}); import it again"
        ) from None
    problem = _manifest_problem(manifest)
    if problem is not None:
        raise DataError(f"{path}: {problem}; import the dataset again")
    if len(_MANIFESTS) >= 64:
        _MANIFESTS.clear()
    _MANIFESTS[str(path)] = (key, manifest)
    return manifest


def _manifest_problem(manifest: Any) -> str | None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return f"not a dataset manifest of format {FORMAT}"
    arrays = manifest.get("arrays")
    if not isinstance(arrays, dict) or not arrays:
        return "no arrays listed"
    for key, entry in arrays.items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("shape"), list)
            and all(isinstance(n, int) and n >= 0 for n in entry["shape"])
            and isinstance(entry.get("sha256"), str)
            and entry.get("dtype") in ("|u1", "<u2")
        ):
            return f"a malformed entry for array {key!r}"
    if not isinstance(manifest.get("fingerprint"), str):
        return "no fingerprint"
    return None


def load_array(folder: Path, key: str, manifest: dict[str, Any]) -> np.ndarray:
    """Array ``key`` of the dataset in ``folder``, checked against the manifest (size, SHA-256,
    dtype, shape); nothing is unpickled.

    Raises:
        DataError: a missing, oversized, corrupt or mismatching file (named), with the way out.
    """
    entry = manifest["arrays"][key]
    path = folder / f"{key}.npy"
    size = int(np.prod(entry["shape"])) * np.dtype(entry["dtype"]).itemsize
    try:
        data = read_bounded(path, size + NPY_HEADER_ROOM)
    except FileNotFoundError:
        raise DataError(
            f"{path}: missing (listed in {folder / MANIFEST}); import it again"
        ) from None
    except FileTooLarge:
        raise DataError(f"{path}: larger than its manifest says; import it again") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if sha256(data) != entry["sha256"]:
        raise DataError(
            f"{path}: SHA-256 {sha256(data)} differs from {entry['sha256']} in its manifest "
            "(the file changed after the import); import the dataset again"
        )
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{path}: not a plain .npy array ({exc})") from None
    if array.dtype.str != entry["dtype"] or list(array.shape) != entry["shape"]:
        raise DataError(
            f"{path}: holds {array.dtype} {array.shape}, the manifest says {entry['dtype']} "
            f"{tuple(entry['shape'])}"
        )
    return array


CLASSIFIER_SUFFIX = "_cnn"


def classifier_name(dataset: str) -> str:
    """The name of the extractor that classifies dataset ``dataset``'s images
    (:mod:`ganbench.extractors.labelled`): the dataset's name lower-cased, every character
    outside ``[a-z0-9_]`` replaced by ``_``, then ``_cnn``.

    >>> classifier_name("cifar10"), classifier_name("folder:My-Cats")
    ('cifar10_cnn', 'folder_my_cats_cnn')
    """
    return re.sub(r"[^a-z0-9_]", "_", dataset.lower()) + CLASSIFIER_SUFFIX


@dataclass(frozen=True)
class StoredImages:
    """An image dataset stored in the data directory (module docstring).

    ``name`` is the suite's name for it (``cifar10``, ``folder:<name>``), ``folder`` its place
    under the data directory, ``fingerprint`` the SHA-256 of its arrays (part of the object, so
    data of another content never share a compiled program or a run identity)."""

    name: str
    folder: str
    shape: tuple[int, int, int]
    splits: tuple[str, ...]
    classes: tuple[str, ...]
    """Class names (empty: unlabelled); labels index them."""
    fingerprint: str
    source: str
    official: bool = True
    """True when the content is the published dataset's (CIFAR-10's record counts); False for
    a stand-in or the user's own images, whose fingerprint then enters the run identity."""
    weights: tuple[float, ...] = ()
    hint: str = field(default="", compare=False)
    """How to import the data (quoted when they are missing)."""

    kind: ClassVar[str] = IMAGE
    stacked: ClassVar[bool] = False

    @property
    def extractor(self) -> str | None:
        """The classifier whose features measure these images by default: for labelled data
        the dataset's own (:func:`classifier_name`: ``cifar10_cnn``,
        ``folder_<name>_cnn``), trained with ``ganbench data extractor --train --dataset
        NAME``; None for unlabelled data (measured in the extractors a suite names)."""
        if not self.classes:
            return None
        return classifier_name(self.name)

    @property
    def channels(self) -> int:
        return self.shape[-1]

    @property
    def dim(self) -> int:
        return int(np.prod(self.shape))

    @property
    def n_classes(self) -> int | None:
        return len(self.classes) or None

    @property
    def n_modes(self) -> int:
        return len(self.classes) or 1

    def identity_data(self) -> str | None:
        """What a run's identity records of the data: the fingerprint, unless the content is
        the published dataset's (then its name says it, as for MNIST)."""
        return None if self.official else self.fingerprint

    def check_available(self, data_dir=None) -> None:
        """Raise DataError (with the way to import) unless the data are imported and are the
        ones this object was made from."""
        self._manifest(data_dir)

    def weights_array(self) -> np.ndarray:
        return np.full(self.n_modes, 1.0 / self.n_modes)

    def path(self, data_dir=None) -> Path:
        from ganbench.data.store import data_dir as default_data_dir

        return Path(data_dir if data_dir is not None else default_data_dir()) / self.folder

    def _manifest(self, data_dir=None) -> tuple[Path, dict[str, Any]]:
        folder = self.path(data_dir)
        manifest = read_manifest(folder)
        if manifest is None:
            raise DataError(
                f"dataset {self.name!r} is not imported: no {folder / MANIFEST}"
                + (f"\n{self.hint}" if self.hint else "")
            )
        if manifest["fingerprint"] != self.fingerprint:
            raise DataError(
                f"dataset {self.name!r} in {folder} was imported again (fingerprint "
                f"{manifest['fingerprint'][:12]}, the suite was loaded with "
                f"{self.fingerprint[:12]}); load the suite again"
            )
        return folder, manifest

    def split_arrays(self, split: str, data_dir=None) -> tuple[np.ndarray, np.ndarray | None]:
        """The whole of ``split``: uint8 images (N, H, W, C) and labels (N,) or None.

        Raises:
            ConfigError: an unknown split. DataError: files missing or failing their hashes.
        """
        if split not in self.splits:
            raise ConfigError(
                f"dataset {self.name!r} has no split {split!r}; allowed: {', '.join(self.splits)}"
            )
        folder, manifest = self._manifest(data_dir)
        images = load_array(folder, f"{split}-images", manifest)
        labels = None
        if f"{split}-labels" in manifest["arrays"]:
            labels = load_array(folder, f"{split}-labels", manifest)
        return images, labels

    def arrays(self, data_dir=None) -> dict[str, np.ndarray]:
        """The training images for the devices (:meth:`sample` draws from them)."""
        images, _ = self.split_arrays(self.splits[0], data_dir)
        return {"images": images}

    def train_data(self, data_dir=None) -> tuple[np.ndarray, np.ndarray | None]:
        """The training images (uint8 (N, H, W, C)) and labels ((N,) or None): what a
        classifier of these data learns from (:attr:`n_classes` classes)."""
        return self.split_arrays(self.splits[0], data_dir)

    def eval_images(
        self, split: str, n: int | None = None, seed: int = 0, data_dir=None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Images of ``split`` as uint8 (N, H, W, C) with their labels (N, 1) (None for
        unlabelled data), for evaluation against a reference: the whole split in stored order
        when ``n`` is None, else ``n`` images drawn without replacement with
        ``np.random.default_rng(seed)`` (sorted, so the draw is a subset in stored order).

        Raises:
            ConfigError: an unknown split; ``n`` larger than the split.
            DataError: the dataset missing or failing its hashes.
        """
        images, labels = self.split_arrays(split, data_dir)
        if n is not None:
            if n > images.shape[0]:
                raise ConfigError(
                    f"{self.name}:{split} holds {images.shape[0]:,} images; asked for {n:,}"
                )
            idx = np.sort(np.random.default_rng(seed).choice(images.shape[0], n, replace=False))
            images = images[idx]
            labels = None if labels is None else labels[idx]
        return images, None if labels is None else labels.astype(np.int64)[:, None]

    def floor_pair(self, n: int, seed: int = 0, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
        """Two independent sets of ``n`` real images (uint8), for the data floor: ``n`` training
        images and ``n`` test images when there is a test split; else two disjoint draws from
        the one split (with replacement within each half when it holds fewer than ``2 n``).
        ``np.random.default_rng(seed)``."""
        rng = np.random.default_rng(seed)
        if len(self.splits) > 1:
            a, _ = self.split_arrays(self.splits[0], data_dir)
            b, _ = self.split_arrays(self.splits[1], data_dir)
            return a[rng.integers(0, len(a), n)], b[rng.integers(0, len(b), n)]
        images, _ = self.split_arrays(self.splits[0], data_dir)
        order = rng.permutation(len(images))
        half = len(images) // 2
        if half == 0:
            raise DataError(f"dataset {self.name!r} holds one image; a floor needs two")
        first, second = order[:half], order[half:]
        if len(first) >= n and len(second) >= n:
            return images[first[:n]], images[second[:n]]
        return images[rng.choice(first, n)], images[rng.choice(second, n)]

    def sample(self, key, n: int, data=None):
        """``n`` uniformly drawn training images (n, H, W, C) in [-1, 1]."""
        import jax
        import jax.numpy as jnp

        if data is None:
            raise ValueError(f"dataset {self.name!r} samples need its arrays (see arrays())")
        images = data["images"]
        idx = jax.random.randint(key, (n,), 0, images.shape[0])
        return images[idx].astype(jnp.float32) / 127.5 - 1.0

    def describe(self) -> dict:
        return {
            "name": self.name,
            "kind": "image",
            "shape": list(self.shape),
            "n_modes": self.n_modes,
            "classes": list(self.classes),
            "fingerprint": self.fingerprint,
            "official": self.official,
            "source": self.source,
        }


def stored_dataset(
    name: str, folder: str, data_dir=None, *, hint: str = "", official: bool | None = None
) -> StoredImages | None:
    """The :class:`StoredImages` described by the manifest in ``<data dir>/<folder>``, or None
    when it is not imported (``official`` overrides the manifest's)."""
    from ganbench.data.store import data_dir as default_data_dir

    root = Path(data_dir if data_dir is not None else default_data_dir())
    manifest = read_manifest(root / folder)
    if manifest is None:
        return None
    info = manifest.get("dataset", {})
    splits = tuple(info.get("splits", ()))
    first = manifest["arrays"].get(f"{splits[0]}-images") if splits else None
    if first is None or len(first["shape"]) != 4:
        raise DataError(f"{root / folder / MANIFEST}: no image array; import the dataset again")
    return StoredImages(
        name=name,
        folder=folder,
        shape=tuple(first["shape"][1:]),
        splits=splits,
        classes=tuple(info.get("classes", ())),
        fingerprint=manifest["fingerprint"],
        source=str(info.get("source", "")),
        official=bool(info.get("official", True)) if official is None else official,
        hint=hint,
    )
