"""What ``ganbench eval`` compares: sample sets read from what the user names.

A sample set (SAMPLES, or the reference REF) is one of:

- a **folder of images** (:mod:`ganbench.data.imagefiles`: PNG, JPEG, WebP, recursive; grey,
  RGB, RGBA and 16-bit handled as documented there; images of several sizes are kept apart and
  each is resized by the extractor to its input size, which is what a batch of one size would
  get; an extractor that does not resize refuses sizes other than its own);
- an **array file**: ``.npy``, or ``.npz`` (its one array, ``final`` for a ganbench samples.npz,
  or the array named after a colon: ``x.npz:images``). uint8 arrays (N, H, W, C), (N, H, W) or
  (N, C, H, W) with C = 1 or 3 are images (pixel values); float arrays of those shapes are images
  in the range ``value_range`` (default [-1, 1]), quantised to 8-bit pixels as a PNG file would
  hold them (``round``, clipped) unless ``quantize`` is false; (N, D) arrays are points (2-D
  mixtures, or any vectors), compared in their own space. Read in bounded memory, never
  unpickled (:mod:`ganbench.arrayguard`);
- a **dataset** ganbench knows, ``name:split`` for image datasets (``mnist:test``,
  ``stacked_mnist:train``: the split is always named, so the reference is stated) or ``name``
  for 2-D mixtures (``ring8``: ``n`` draws, default :data:`DEFAULT_POINTS`, seeded);
- a **ganbench run folder** (``results/<suite>/runs/<id>``): the generated samples it stored
  (``final``, or ``step_<N>`` snapshots of 2-D runs with ``step``, or the EMA generator's with
  ``ema``);
- for REF only, a **statistics file**: pytorch-fid's ``--save-stats`` ``.npz`` (``mu``,
  ``sigma``) or ganbench's own (the same, with a ``ganbench`` entry recording the extractor,
  its weights and resize);
- from Python, an array, or a **generator**: a callable returning a batch of samples per call
  (or an iterable of batches), called until ``n`` samples are in hand.

``n`` keeps a subset drawn with ``np.random.default_rng(seed)`` (without replacement, in the
source's order); asking for more than a source holds is an error.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganbench.errors import ConfigError, DataError

IMAGES = "images"
VECTORS = "vectors"
STATS = "stats"

DEFAULT_POINTS = 10_000
"""Draws of a 2-D mixture when ``n`` is not given."""
MAX_ARRAY_BYTES = 16 << 30
"""Largest array file read (16 GiB of array data)."""
MAX_STATS_BYTES = 1 << 30
RANGES = {"-1,1": (-1.0, 1.0), "0,1": (0.0, 1.0), "0,255": (0.0, 255.0)}
"""The ranges float images may be given in (``--range``)."""
MAX_GENERATOR_CALLS = 1_000_000


@dataclass
class Samples:
    """A sample set, read: images in groups of one size, points, or statistics."""

    kind: str
    identity: dict[str, Any]
    """What it is, for results: ``{"kind": "folder", "path": ..., "sha256": ...}``,
    ``{"kind": "dataset", "name": "mnist:test"}``, ..."""
    groups: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    """(indices, array) pairs; images: uint8 pixels or float32 in [-1, 1], (n, H, W, C);
    points: one (n, D) float64 array."""
    labels: np.ndarray | None = None
    """Class labels (n, C) of a labelled dataset."""
    stats: tuple[np.ndarray, np.ndarray] | None = None
    stats_meta: dict[str, Any] | None = None
    """What a ganbench statistics file records of its extractor."""
    n_stats: int | None = None
    input: dict[str, Any] = field(default_factory=dict)
    """How the values were read: dtype, range, quantised, channels, sizes."""
    notes: list[str] = field(default_factory=list)
    dataset: Any = None
    """The 2-D mixture behind a dataset reference (its modes give the mode metrics)."""
    fingerprint: str | None = None
    """sha256 of the content (and selection), the key of cached reference features."""

    @property
    def n(self) -> int:
        if self.kind == STATS:
            return int(self.n_stats or 0)
        return sum(len(idx) for idx, _ in self.groups)

    @property
    def channels(self) -> int | None:
        return int(self.groups[0][1].shape[-1]) if self.kind == IMAGES and self.groups else None

    @property
    def sizes(self) -> list[tuple[int, int]]:
        return [tuple(int(s) for s in a.shape[1:3]) for _, a in self.groups]

    def points(self) -> np.ndarray:
        return self.groups[0][1]

    def images(self) -> np.ndarray:
        """All images in one array (they must have one size)."""
        if len(self.groups) != 1:
            raise DataError(f"{self.describe()}: holds images of {len(self.groups)} sizes")
        return self.groups[0][1]

    def describe(self) -> str:
        ident = self.identity
        return str(ident.get("name") or ident.get("path") or ident.get("kind"))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _array_fingerprint(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape};".encode())
        digest.update(a.data)
    return digest.hexdigest()


def _subset(total: int, n: int | None, seed: int, what: str) -> np.ndarray | None:
    """Sorted indices of ``n`` of ``total`` items (None: all)."""
    if n is None or n == total:
        return None
    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    if n > total:
        raise ConfigError(f"--n {n:,} asks for more samples than {what} holds ({total:,})")
    return np.sort(np.random.default_rng(seed).choice(total, size=n, replace=False))


def parse_range(value: str | tuple[float, float] | None) -> tuple[float, float]:
    if value is None:
        return RANGES["-1,1"]
    if isinstance(value, tuple):
        return (float(value[0]), float(value[1]))
    key = value.replace(" ", "")
    if key not in RANGES:
        raise ConfigError(f"unknown --range {value!r}; allowed: {', '.join(RANGES)}")
    return RANGES[key]


@dataclass(frozen=True)
class ReadOptions:
    n: int | None = None
    seed: int = 0
    value_range: tuple[float, float] = (-1.0, 1.0)
    quantize: bool = True
    step: int | None = None
    ema: bool = False
    data_dir: Any = None


# ------------------------------------------------------------------------------- arrays


def _as_samples(array: np.ndarray, identity: dict, options: ReadOptions, what: str) -> Samples:
    """An in-memory array as images or points (module docstring), ``n`` of it kept."""
    array = np.asarray(array)
    if array.dtype.hasobject:
        raise DataError(f"{what}: an object array; give numbers")
    if array.ndim == 2:
        if not np.issubdtype(array.dtype, np.number) or np.issubdtype(
            array.dtype, np.complexfloating
        ):
            raise DataError(f"{what}: points must be real numbers, got {array.dtype}")
        idx = _subset(array.shape[0], options.n, options.seed, what)
        points = np.asarray(array if idx is None else array[idx], np.float64)
        if points.shape[0] < 2:
            raise DataError(f"{what}: needs at least 2 points, got {points.shape[0]}")
        return Samples(
            VECTORS, identity, [(np.arange(points.shape[0]), points)],
            input={"dtype": str(array.dtype), "shape": list(array.shape)},
        )  # fmt: skip
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise DataError(
            f"{what}: an array of shape {array.shape}; expected images (N, H, W, C), (N, H, W), "
            "(N, C, H, W) with C = 1 or 3, or points (N, D)"
        )
    layout = "NHWC"
    if array.shape[-1] not in (1, 3) and array.shape[1] in (1, 3):
        array, layout = np.transpose(array, (0, 2, 3, 1)), "NCHW"
    if array.shape[-1] not in (1, 3):
        raise DataError(f"{what}: images of shape {array.shape} have neither 1 nor 3 channels")
    idx = _subset(array.shape[0], options.n, options.seed, what)
    if idx is not None:
        array = array[idx]
    handling: dict[str, Any] = {"dtype": str(array.dtype), "layout": layout}
    if array.dtype == np.uint8:
        images = np.ascontiguousarray(array)
    elif np.issubdtype(array.dtype, np.floating):
        images, handling = _float_images(array, options, what, handling)
    else:
        raise DataError(
            f"{what}: images of dtype {array.dtype}; give uint8 pixels or floats (--range)"
        )
    handling["channels"] = int(images.shape[-1])
    handling["size"] = [int(images.shape[1]), int(images.shape[2])]
    return Samples(IMAGES, identity, [(np.arange(images.shape[0]), images)], input=handling)


def _float_images(array: np.ndarray, options: ReadOptions, what: str, handling: dict):
    low, high = options.value_range
    x = np.asarray(array, np.float64)
    if not np.all(np.isfinite(x)):
        raise DataError(f"{what}: holds non-finite values (NaN or inf)")
    lo, hi = float(x.min()), float(x.max())
    slack = 1e-3 * (high - low)
    if lo < low - slack or hi > high + slack:
        raise DataError(
            f"{what}: float values span [{lo:.4g}, {hi:.4g}], outside the range [{low:g}, "
            f"{high:g}]; give the range they are in with --range ({', '.join(RANGES)})"
        )
    unit = (x - low) / (high - low)  # [0, 1]
    handling.update({"range": [low, high], "quantized": bool(options.quantize)})
    if options.quantize:  # as a PNG file holds them
        return np.clip(np.round(unit * 255.0), 0, 255).astype(np.uint8), handling
    return (unit * 2.0 - 1.0).astype(np.float32), handling


def _array_file(path: Path, key: str | None, options: ReadOptions, role: str) -> Samples:
    from ganbench.arrayguard import array_names, read_arrays

    names = array_names(path, MAX_ARRAY_BYTES)
    if key is None and {"mu", "sigma"} <= set(names):
        if role != "reference":
            raise ConfigError(f"{path}: a statistics file (mu, sigma) can only be the reference")
        return _stats_file(path)
    if key is None:
        if list(names) == [""] or len(names) == 1:
            key = next(iter(names))
        elif "final" in names:
            key = "final"
        else:
            raise DataError(
                f"{path}: holds {len(names)} arrays ({', '.join(sorted(names))}); name one: "
                f"{path}:NAME"
            )
    array = read_arrays(path, MAX_ARRAY_BYTES, [key])[key]
    identity = {"kind": "array", "path": str(path.absolute()), "sha256": _sha256_file(path)}
    if key:
        identity["array"] = key
    what = f"{path}" + (f":{key}" if key else "")
    samples = _as_samples(array, identity, options, what)
    samples.fingerprint = _selection_key(identity["sha256"], key, samples, options)
    return samples


def _selection_key(content: str, key: str | None, samples: Samples, options: ReadOptions) -> str:
    ident = {"content": content, "array": key, "n": options.n, "seed": options.seed,
             "input": samples.input}  # fmt: skip
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()


STATS_KEYS = ("mu", "sigma")
GANBENCH_STATS_KEY = "ganbench"
"""The entry of a ganbench statistics file recording its provenance (a JSON string)."""


def _stats_file(path: Path) -> Samples:
    from ganbench.arrayguard import array_names, read_arrays

    names = array_names(path, MAX_STATS_BYTES)
    wanted = [*STATS_KEYS, *([GANBENCH_STATS_KEY] if GANBENCH_STATS_KEY in names else [])]
    arrays = read_arrays(path, MAX_STATS_BYTES, wanted)
    mu, sigma = arrays["mu"], arrays["sigma"]
    if mu.ndim != 1 or sigma.shape != (mu.size, mu.size) or mu.size < 1:
        raise DataError(
            f"{path}: mu must be (D,) and sigma (D, D), got mu {mu.shape} and sigma {sigma.shape}"
        )
    for name, a in (("mu", mu), ("sigma", sigma)):
        if not np.issubdtype(a.dtype, np.floating):
            raise DataError(f"{path}: {name} holds {a.dtype}, expected floating point")
        if not np.all(np.isfinite(a)):
            bad = int(a.size - np.count_nonzero(np.isfinite(a)))
            raise DataError(f"{path}: {name} holds {bad:,} non-finite value(s)")
    sigma = np.asarray(sigma, np.float64)
    scale = max(float(np.max(np.abs(sigma))), 1e-300)
    if float(np.max(np.abs(sigma - sigma.T))) > 1e-6 * scale:
        raise DataError(f"{path}: sigma is not symmetric, so not a covariance")
    meta = None
    if GANBENCH_STATS_KEY in arrays:
        try:
            meta = json.loads(str(arrays[GANBENCH_STATS_KEY]))
        except ValueError:
            raise DataError(f"{path}: its {GANBENCH_STATS_KEY!r} entry is not JSON") from None
        if not isinstance(meta, dict):
            raise DataError(f"{path}: its {GANBENCH_STATS_KEY!r} entry is not a JSON object")
    identity = {"kind": "statistics", "path": str(path.absolute()), "sha256": _sha256_file(path)}
    return Samples(
        STATS, identity, stats=(np.asarray(mu, np.float64), sigma), stats_meta=meta,
        n_stats=(meta or {}).get("n"), input={"dtype": "statistics", "dim": int(mu.size)},
    )  # fmt: skip


def save_stats(path: str | os.PathLike[str], mu, sigma, meta: dict[str, Any]) -> Path:
    """Write a statistics file: pytorch-fid's ``mu`` and ``sigma`` (float64), which pytorch-fid
    reads as its own, and ganbench's record of how they were measured."""
    import io

    from ganbench.fileio import atomic_write_bytes

    path = Path(path)
    if path.suffix != ".npz":
        raise ConfigError(f"--save-stats {path}: name an .npz file")
    buf = io.BytesIO()
    np.savez(
        buf, mu=np.asarray(mu, np.float64), sigma=np.asarray(sigma, np.float64),
        **{GANBENCH_STATS_KEY: np.array(json.dumps(meta, sort_keys=True, default=str))},
    )  # fmt: skip
    atomic_write_bytes(path, buf.getvalue())
    return path


# ------------------------------------------------------------------------------ folders


def _folder(path: Path, options: ReadOptions) -> Samples:
    from ganbench.data import imagefiles

    listing = imagefiles.list_images(path)
    idx = _subset(len(listing.files), options.n, options.seed, str(path))
    chosen = listing.files if idx is None else [listing.files[i] for i in idx]
    folder = imagefiles.read_folder(listing, chosen)
    identity = {
        "kind": "folder",
        "path": str(path.absolute()),
        "files": len(listing.files),
        "sha256": imagefiles.fingerprint(listing, folder.paths),
    }
    if folder.skipped:
        identity["skipped"] = len(folder.skipped)
    handling = {
        "dtype": "uint8",
        "channels": folder.channels,
        "sizes": sorted({f"{h}x{w}" for h, w in folder.sizes}),
    }
    samples = Samples(IMAGES, identity, folder.groups, input=handling, notes=folder.notes())
    samples.fingerprint = _selection_key(identity["sha256"], None, samples, options)
    return samples


# ----------------------------------------------------------------------------- datasets


def _dataset(spec: str, options: ReadOptions) -> Samples | None:
    """``name`` or ``name:split`` of a registered dataset, or None when ``spec`` is not one."""
    from ganbench.data import DATASETS, get_dataset
    from ganbench.data.base import IMAGE, MIXTURE

    name, _, split = spec.partition(":")
    if name not in DATASETS:
        return None
    dataset = get_dataset(name)
    if dataset.kind == IMAGE:
        splits = tuple(getattr(dataset, "splits", ()))
        if not split:
            raise ConfigError(
                f"name the split of {name!r}: " + " or ".join(f"{name}:{s}" for s in splits)
            )
        images, labels = dataset.eval_images(split, options.n, options.seed, options.data_dir)
        identity = {"kind": "dataset", "name": f"{name}:{split}"}
        handling = {
            "dtype": "uint8",
            "channels": int(images.shape[-1]),
            "size": [int(images.shape[1]), int(images.shape[2])],
        }
        samples = Samples(
            IMAGES, identity, [(np.arange(images.shape[0]), images)],
            labels=None if labels is None else np.asarray(labels), input=handling,
        )  # fmt: skip
        samples.fingerprint = _selection_key(_array_fingerprint(images), None, samples, options)
        return samples
    if dataset.kind == MIXTURE:
        if split:
            raise ConfigError(f"{name!r} is drawn, not split: name it without ':{split}'")
        n = DEFAULT_POINTS if options.n is None else options.n
        points = draw_mixture(dataset, n, options.seed)
        identity = {"kind": "dataset", "name": name, "draws": n, "seed": options.seed}
        return Samples(
            VECTORS, identity, [(np.arange(n), points)], dataset=dataset,
            input={"dtype": "float64", "dim": int(points.shape[1])},
        )  # fmt: skip
    raise ConfigError(f"dataset {name!r} ({dataset.kind}) cannot be evaluated against")


def draw_mixture(dataset, n: int, seed: int) -> np.ndarray:
    """``n`` float64 draws of a Gaussian mixture (mode by its weights, then its Gaussian)."""
    if n < 2:
        raise ConfigError(f"--n must be at least 2 for a mixture, got {n}")
    rng = np.random.default_rng(seed)
    means, stds = dataset.means_array(), dataset.stds_array()
    modes = rng.choice(means.shape[0], size=n, p=dataset.weights_array())
    return means[modes] + stds[modes] * rng.standard_normal((n, means.shape[1]))


# --------------------------------------------------------------------------- run folders


def _run_folder(path: Path, options: ReadOptions) -> Samples:
    from ganbench.arrayguard import array_names, read_arrays
    from ganbench.results.layout import SAMPLES
    from ganbench.results.read import MAX_SAMPLE_BYTES, read_results

    results = read_results(path)
    if len(results.runs) != 1:
        raise DataError(f"{path}: not one run folder (it holds {len(results.runs)} runs)")
    run = results.runs.iloc[0]
    file = path / SAMPLES
    if not file.is_file() or file.is_symlink():
        raise DataError(f"{path}: holds no {SAMPLES}")
    names = array_names(file, MAX_SAMPLE_BYTES)
    if options.step is not None:
        key = f"step_{options.step}"
        if options.ema:
            raise ConfigError("--ema reads the EMA generator's final samples; drop --step")
    else:
        key = "ema_final" if options.ema else "final"
    if key not in names:
        steps = sorted(int(k[5:]) for k in names if k.startswith("step_") and k[5:].isdigit())
        held = f"snapshots at steps {', '.join(map(str, steps))}" if steps else "no snapshots"
        raise DataError(f"{file}: holds no {key!r} samples ({held}; final samples: "
                        f"{'final' in names})")  # fmt: skip
    array = read_arrays(file, MAX_SAMPLE_BYTES, [key])[key]
    if array.size == 0:
        raise DataError(f"{file}: its {key!r} samples are empty (the run stored none)")
    identity = {
        "kind": "run",
        "path": str(path.absolute()),
        "run_id": str(run["run_id"]),
        "suite": str(run.get("suite", "")),
        "variant": str(run.get("variant", "")),
        "samples": key,
        "sha256": _sha256_file(file),
    }
    # Image runs store uint8 pixels; 2-D runs float points.
    samples = _as_samples(array, identity, options, f"{file}:{key}")
    samples.fingerprint = _selection_key(identity["sha256"], key, samples, options)
    dataset_name = run.get("dataset")
    if dataset_name:
        samples.input["run_dataset"] = str(dataset_name)
    return samples


def run_dataset(path: Path) -> str | None:
    """The dataset a run folder trained on (its manifest), or None."""
    from ganbench.results.read import read_results

    try:
        runs = read_results(path).runs
    except Exception:
        return None
    if len(runs) != 1:
        return None
    value = runs.iloc[0].get("dataset")
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


# ---------------------------------------------------------------------------- generators


def _generated(fn: Any, options: ReadOptions) -> Samples:
    if options.n is None:
        raise ConfigError("a generator needs the number of samples to draw (n / --n)")
    batches: list[np.ndarray] = []
    got = 0
    source: Iterable = fn if not callable(fn) else _calls(fn)
    for calls, batch in enumerate(source, start=1):
        batch = np.asarray(batch)
        if batch.ndim < 2 or batch.shape[0] < 1:
            raise DataError(f"the generator returned an array of shape {batch.shape}; expected "
                            "a batch of samples (B, ...)")  # fmt: skip
        if batches and batch.shape[1:] != batches[0].shape[1:]:
            raise DataError(f"the generator's batches changed shape: {batches[0].shape[1:]} "
                            f"then {batch.shape[1:]}")  # fmt: skip
        batches.append(batch)
        got += batch.shape[0]
        if got >= options.n or calls >= MAX_GENERATOR_CALLS:
            break
    if got < options.n:
        raise DataError(f"the generator gave {got:,} samples, fewer than n = {options.n:,}")
    array = np.concatenate(batches)[: options.n]
    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    identity = {"kind": "generator", "name": f"{getattr(fn, '__module__', '?')}:{name}"}
    samples = _as_samples(
        array, identity, ReadOptions(**{**options.__dict__, "n": None}), "the generator"
    )
    samples.fingerprint = _selection_key(_array_fingerprint(array), None, samples, options)
    return samples


def _calls(fn: Callable[[], Any]):
    while True:
        yield fn()


def load_generator(spec: str) -> Callable[[], Any]:
    """``module:function`` imported (the user's own code, named on the command line)."""
    import importlib

    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ConfigError(f"--generator {spec!r}: expected module:function")
    try:
        mod = importlib.import_module(module)
    except Exception as exc:
        raise ConfigError(f"--generator {spec!r}: cannot import {module!r} ({type(exc).__name__}: "
                          f"{str(exc)[:200]})") from None  # fmt: skip
    fn = mod
    for part in attr.split("."):
        fn = getattr(fn, part, None)
        if fn is None:
            raise ConfigError(f"--generator {spec!r}: {module!r} has no {attr!r}")
    if not callable(fn):
        raise ConfigError(f"--generator {spec!r}: {attr!r} is not callable")
    return fn


# ---------------------------------------------------------------------------------- entry


def open_samples(source: Any, *, role: str, options: ReadOptions) -> Samples:
    """A sample set from what the user names (module docstring). ``role``: "samples" or
    "reference" (only a reference may be a statistics file).

    Raises:
        DataError: a file or folder that cannot be read as samples (named in the message).
        ConfigError: a name that is neither an existing path nor a dataset ganbench knows.
    """
    if isinstance(source, Samples):
        return source
    if isinstance(source, np.ndarray):
        samples = _as_samples(source, {"kind": "array", "name": "<array>"}, options, "the array")
        samples.fingerprint = _selection_key(_array_fingerprint(source), None, samples, options)
        return samples
    if not isinstance(source, str | os.PathLike):
        if callable(source) or isinstance(source, Iterable):
            return _generated(source, options)
        raise ConfigError(f"cannot evaluate a {type(source).__name__}; give a path, a dataset "
                          "name, an array or a generator")  # fmt: skip
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.is_symlink():
        raise DataError(f"{path}: a symbolic link; name the file or folder itself")
    if path.is_dir():
        from ganbench.results.layout import MANIFEST

        if (path / MANIFEST).is_file():
            return _run_folder(path, options)
        return _folder(path, options)
    if path.is_file():
        if path.suffix.lower() in (".npz", ".npy"):
            return _array_file(path, None, options, role)
        raise DataError(f"{path}: not an .npy or .npz array file (a folder of images, an "
                        "array file, a dataset or a run folder)")  # fmt: skip
    if path.exists():
        raise DataError(f"{path}: not a regular file or folder")
    head, sep, key = text.rpartition(":")
    if sep and Path(head).expanduser().is_file() and head.lower().endswith(".npz"):
        return _array_file(Path(head).expanduser(), key, options, role)
    dataset = _dataset(text, options)
    if dataset is not None:
        return dataset
    from ganbench.data import DATASETS
    from ganbench.text import suggestion

    name = text.partition(":")[0]
    raise ConfigError(
        f"{text!r} is neither an existing file or folder nor a dataset ganbench knows"
        f"{suggestion(name, DATASETS.names())} datasets: {', '.join(DATASETS.names())}"
    )


__all__ = [
    "DEFAULT_POINTS",
    "IMAGES",
    "RANGES",
    "STATS",
    "VECTORS",
    "ReadOptions",
    "Samples",
    "draw_mixture",
    "load_generator",
    "open_samples",
    "parse_range",
    "run_dataset",
    "save_stats",
]
