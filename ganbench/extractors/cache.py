"""A checksummed on-disk cache for weights that ganbench trains itself.

``load_or_train`` keeps two files in ``cache_dir``: ``<name>.npz``, the parameter tree flattened
to one array per leaf under its "/"-joined path (``conv_0/kernel``), and ``<name>.json``, a
sidecar with the sha256 of the .npz file, the caller's data fingerprint, the training settings,
whatever the training function reports (say, the test accuracy) and the ganbench version that
wrote them. Weights are reused only if the sidecar parses, the .npz matches its checksum and the
fingerprint and settings equal the caller's; otherwise they are retrained, with a
:class:`CacheMismatchWarning` unless the files were simply absent. Each file is written to a
temporary file in ``cache_dir`` and moved into place with ``os.replace``, weights first, so a
crash leaves either the old pair or new weights that fail the old sidecar's checksum, never a
partial file under the final name. Concurrent writers may both train; the last one wins.

The module knows nothing of any data set: the caller computes the fingerprint (for instance from
the training files' checksums, or :func:`array_fingerprint`) and passes a training callable.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from ganbench.fileio import fsync_dir
from ganbench.version import __version__

SEP = "/"


class CacheMismatchWarning(UserWarning):
    """Cached weights exist but cannot be used (checksum, fingerprint or settings differ)."""


def array_fingerprint(*arrays: np.ndarray) -> str:
    """sha256 over the dtype, shape and bytes of each array, in order."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def flatten_params(tree: Mapping[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """A nested dict of arrays to ``{"a/b/c": array}``."""
    flat: dict[str, np.ndarray] = {}
    for key, value in tree.items():
        if not isinstance(key, str) or not key or SEP in key:
            raise ValueError(f"parameter key {key!r} at {prefix or '<root>'} is not a plain name")
        path = f"{prefix}{SEP}{key}" if prefix else key
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, path))
        else:
            flat[path] = np.asarray(value)
    return flat


def flat_shapes(tree: Mapping[str, Any], prefix: str = "") -> dict[str, tuple[int, ...]]:
    """``{"a/b/c": shape}`` of a nested dict whose leaves have a ``shape``: arrays, or the
    ``jax.ShapeDtypeStruct`` leaves of ``jax.eval_shape`` (which ``np.asarray`` would turn into
    0-d object arrays, so :func:`flatten_params` cannot be used for them)."""
    out: dict[str, tuple[int, ...]] = {}
    for key, value in tree.items():
        path = f"{prefix}{SEP}{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flat_shapes(value, path))
        else:
            out[path] = tuple(value.shape)
    return out


def unflatten_params(flat: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Inverse of :func:`flatten_params`; leaves become jax arrays."""
    tree: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, leaf = path.split(SEP)
        node = tree
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = jnp.asarray(value)
    return tree


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_atomic(path: Path, write: Callable[[Any], None]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _jsonable(obj: Any) -> Any:
    """Settings as JSON would return them (tuples become lists), for comparison."""
    return json.loads(json.dumps(obj, sort_keys=True))


def try_load(
    weights: Path, sidecar: Path, data_fingerprint: str, settings: Any
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """(params, meta, None) if the cache is usable, else (None, None, why); why is None when
    the files are absent."""
    if not weights.exists() and not sidecar.exists():
        return None, None, None
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, ValueError) as e:
        return None, None, f"unreadable sidecar {sidecar} ({e})"
    if not isinstance(meta, dict):
        return None, None, f"unreadable sidecar {sidecar} (not a JSON object)"
    if not weights.exists():
        return None, None, f"weights file {weights} is missing"
    digest = _sha256(weights)
    if digest != meta.get("sha256"):
        return None, None, f"checksum mismatch for {weights}: {digest} != {meta.get('sha256')}"
    if meta.get("data_fingerprint") != data_fingerprint:
        cached = meta.get("data_fingerprint")
        return None, None, f"data fingerprint changed: cached {cached}, now {data_fingerprint}"
    if meta.get("settings") != settings:
        return None, None, f"settings changed: cached {meta.get('settings')}, now {settings}"
    try:
        with np.load(weights, allow_pickle=False) as npz:
            flat = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as e:
        return None, None, f"unreadable weights {weights} ({e})"
    return unflatten_params(flat), meta, None


def load_or_train(
    data_fingerprint: str,
    train_fn: Callable[[], tuple[Mapping[str, Any], Mapping[str, Any]]],
    cache_dir: Path,
    *,
    name: str = "weights",
    settings: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Cached weights for ``data_fingerprint`` and ``settings``, or ``train_fn()``'s, saved.

    ``train_fn() -> (params, report)``: ``params`` a nested dict of arrays with plain string keys,
    ``report`` a JSON-serialisable dict stored in the sidecar (for instance ``{"test_accuracy":
    0.991}``). ``settings`` (JSON-serialisable) describe the training; a change invalidates the
    cache like a new fingerprint. Returns ``(params, info)``: ``info`` is the sidecar's content
    (``sha256``, ``data_fingerprint``, ``settings``, ``ganbench_version``, ``created`` and the
    report's keys) plus ``retrained`` (bool), ``reason`` (why it retrained; None if it did not, or
    if there was no cache) and ``path`` (the weights file).
    """
    cache_dir = Path(cache_dir)
    weights, sidecar = cache_dir / f"{name}.npz", cache_dir / f"{name}.json"
    settings = _jsonable(dict(settings or {}))
    params, meta, why = try_load(weights, sidecar, data_fingerprint, settings)
    if params is not None and meta is not None:
        return params, {**meta, "retrained": False, "reason": None, "path": str(weights)}
    if why is not None:
        warnings.warn(f"retraining {name}: {why}", CacheMismatchWarning, stacklevel=2)

    trained, report = train_fn()
    params, meta = save_weights(trained, report, cache_dir, name, data_fingerprint, settings)
    return params, {**meta, "retrained": True, "reason": why, "path": str(weights)}


def save_weights(
    params: Mapping[str, Any],
    report: Mapping[str, Any],
    folder: Path,
    name: str,
    data_fingerprint: str,
    settings: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write ``<folder>/<name>.npz`` and its sidecar (weights first, each atomically) and return
    the parameters as :func:`load_or_train` would load them, and the sidecar's content."""
    folder = Path(folder)
    weights, sidecar = folder / f"{name}.npz", folder / f"{name}.json"
    flat = flatten_params(params)
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(weights, lambda f: np.savez(f, **flat))
    meta = {
        **_jsonable(dict(report)),
        "sha256": _sha256(weights),
        "data_fingerprint": data_fingerprint,
        "settings": _jsonable(dict(settings)),
        "ganbench_version": __version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    _write_atomic(sidecar, lambda f: f.write(text.encode()))
    return unflatten_params(flat), meta
