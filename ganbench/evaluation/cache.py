"""Reference features, cached so a second evaluation against the same reference computes none.

An entry is keyed by what determines the features exactly: the reference's content fingerprint
(file bytes, or the array's bytes, with the subset drawn), the extractor, the checksum of its
weights, its resize mode and batch size, and the ganbench version (a release may change how
features are computed). It is two files in ``<data dir>/eval-cache/``: ``<key>.npz`` (the
features, float32, and the labels of a classifier) and ``<key>.json`` (the sha256 of the .npz
and what the key was made of). An entry is used only when the .npz matches its recorded
checksum; every file is written to a temporary name and renamed into place, the .npz first.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ganbench.fileio import atomic_write_bytes
from ganbench.version import __version__

FOLDER = "eval-cache"


def cache_folder(data_dir=None) -> Path:
    from ganbench.data.store import data_dir as default_data_dir

    return Path(default_data_dir() if data_dir is None else data_dir) / FOLDER


def entry_key(fingerprint: str, info: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The cache key of a reference's features in an extractor (``info``: the loaded
    extractor's record), and what it was made of."""
    made_of = {
        "reference": fingerprint,
        "extractor": info.get("name"),
        "weights_sha256": (info.get("weights") or {}).get("sha256"),
        "resize": info.get("resize"),
        "batch_size": info.get("batch_size"),
        "ganbench": __version__,
    }
    text = json.dumps(made_of, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32], made_of


def load(folder: Path, key: str) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Cached ``(features, labels)`` or None (absent, or failing its checksum)."""
    weights, sidecar = folder / f"{key}.npz", folder / f"{key}.json"
    try:
        meta = json.loads(sidecar.read_text())
        data = weights.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        return None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            features = np.asarray(npz["features"])
            labels = np.asarray(npz["labels"]) if "labels" in npz.files else None
    except (OSError, ValueError, KeyError):
        return None
    return features, labels


def save(folder: Path, key: str, made_of: dict[str, Any], features: np.ndarray, labels) -> None:
    buf = io.BytesIO()
    arrays = {"features": np.asarray(features, np.float32)}
    if labels is not None:
        arrays["labels"] = np.asarray(labels)
    np.savez(buf, **arrays)
    data = buf.getvalue()
    atomic_write_bytes(folder / f"{key}.npz", data)
    meta = {**made_of, "sha256": hashlib.sha256(data).hexdigest(), "n": int(features.shape[0])}
    atomic_write_bytes(folder / f"{key}.json", (json.dumps(meta, indent=2) + "\n").encode())


__all__ = ["FOLDER", "cache_folder", "entry_key", "load", "save"]
