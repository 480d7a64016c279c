"""What a feature extractor is, and the one registry of them.

A feature extractor maps images to feature vectors; the image metrics (Fréchet distance, KID,
precision and recall, density and coverage, and for classifiers the class metrics) are
measured in its feature space. Each extractor is declared once, in its own module, as an
:class:`Extractor` registered in :data:`EXTRACTORS`: what it is (its description and source),
what its network sees (input size, channels, the resize modes it accepts and its default), how
many features it returns, where its weights come from, and the names of the metrics measured in
its features. ``ganbench list extractors``, ``ganbench eval --extractor NAME``, a suite's
``[metrics] extractors = [...]`` and the report all read that declaration.

Images reach every extractor the same way (:func:`to_pixels`):

- ``uint8`` arrays (N, H, W, C) are pixel values 0..255;
- floating arrays (N, H, W, C) are in [-1, 1], the range of a generator's ``tanh`` output, and
  become pixel values ``(x + 1) * 127.5`` (not clipped: a value outside [-1, 1] stays outside);
- C is 1 (grey) or 3 (RGB); an extractor of RGB images repeats a grey channel three times.

From pixel values in [0, 255] (float32), an extractor resizes to its input size with the resize
mode asked for (:mod:`ganbench.extractors.resize`), normalises as its reference implementation
does, and runs its network with a fixed batch size, padding the last batch, so that one image's
features do not depend on how many images are evaluated with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ganbench.metrics.catalog import FEATURE_BY_KEY, FEATURE_METRICS, LABEL_KEYS
from ganbench.registry import Registry

WEIGHTS_SHIPPED = "shipped"
"""The weights come with ganbench (the package data)."""
WEIGHTS_USER = "user"
"""The user converts a published weights file once and names it (``--weights FILE``)."""
WEIGHTS_TRAINED = "trained"
"""ganbench trains the network itself on the user's labelled data and caches it."""
WEIGHT_SOURCES = (WEIGHTS_SHIPPED, WEIGHTS_USER, WEIGHTS_TRAINED)

METRIC_KEYS = tuple(m.key for m in FEATURE_METRICS if m.key not in LABEL_KEYS)
"""The metrics every extractor's features give (:meth:`Extractor.metric_names`; declared in
:data:`ganbench.metrics.catalog.FEATURE_METRICS`): a Fréchet distance and its extrapolation to
infinitely many samples, the kernel distance and its spread over subsets, improved precision
and recall, density and coverage. A classifier adds those of ``LABEL_KEYS`` (``classes`` and
``class_kl``)."""


class FeatureModel(Protocol):
    """An extractor with its weights loaded, ready to embed images."""

    @property
    def extractor(self) -> Extractor: ...

    @property
    def resize(self) -> str:
        """The resize mode in use (one of the extractor's ``resize_modes``)."""
        ...

    @property
    def info(self) -> dict[str, Any]:
        """What makes its features comparable, for results: ``name``, ``resize``,
        ``feature_dim``, ``batch_size``, ``weights`` (``path`` and ``sha256`` of the weights file,
        or ``"shipped"`` with the sha256) and whatever else the extractor records."""
        ...

    def features(self, images: np.ndarray) -> np.ndarray:
        """(N, feature_dim) float32 features of images (N, H, W, C) (module docstring)."""
        ...

    def embed(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Features and, for a classifier, the predicted labels (N, C) (one per channel; a
        network of RGB images gives one column), else None."""
        ...


@dataclass(frozen=True)
class Extractor:
    """The declaration of a feature extractor (module docstring)."""

    name: str
    """Registry name: ``[a-z0-9_]+``; the suffix of its metric names."""
    description: str
    """One line for ``ganbench list extractors``."""
    feature_dim: int
    input_size: int | None
    """Side of the square images the network sees (images are resized to it), or None for a
    network that takes its images as they are (they must then have ``fixed_shape``)."""
    resize_modes: tuple[str, ...]
    """The resize modes it accepts, the default first (empty when ``input_size`` is None)."""
    weights: str
    """Where the weights come from: one of :data:`WEIGHT_SOURCES`."""
    source: str
    """The paper and the reference implementation it reproduces."""
    load: Callable[..., FeatureModel]
    """``load(weights=None | path, resize=None | mode, data_dir=None, log=None, task=None)`` ->
    a :class:`FeatureModel` (``task``: a progress factory for an extractor that trains); raises
    :class:`ganbench.errors.DataError` naming the weights file."""
    fixed_shape: tuple[int, int, int] | None = None
    """(H, W, C) the network takes when ``input_size`` is None (per channel for a classifier of
    grey images, which embeds each channel of a C-channel image on its own)."""
    classes: int | None = None
    """Number of classes of a classifier (its labels give ``classes`` and ``class_kl``)."""
    weights_help: str = ""
    """How a user gets the weights file (for ``WEIGHTS_USER``): quoted in errors and listings."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Metric names that differ from :func:`metric_names`'s rule (kept for results written
    before the rule)."""

    def __post_init__(self) -> None:
        if self.weights not in WEIGHT_SOURCES:
            raise ValueError(f"weights must be one of {WEIGHT_SOURCES}, got {self.weights!r}")
        if (self.input_size is None) != (not self.resize_modes):
            raise ValueError("resize_modes are given exactly when the extractor resizes")
        if self.input_size is None and self.fixed_shape is None:
            raise ValueError("an extractor that does not resize declares its fixed_shape")
        unknown = set(self.names) - set(METRIC_KEYS) - set(LABEL_KEYS)
        if unknown:
            raise ValueError(f"names for unknown metric keys: {sorted(unknown)}")

    @property
    def default_resize(self) -> str | None:
        return self.resize_modes[0] if self.resize_modes else None

    def metric_name(self, key: str) -> str:
        """The stored name of metric ``key`` (:data:`METRIC_KEYS`, ``classes``, ``class_kl``)
        measured in these features: ``<key>_<name>`` (``fd_dinov2_vitl14``, ``precision_inception``;
        the spread of KID is ``kid_<name>_std``, FD-infinity the Fréchet distance's name and
        ``_inf``), unless ``names`` says another."""
        if key in self.names:
            return self.names[key]
        fd = None if key == "fd" else self.metric_name("fd")
        return FEATURE_BY_KEY[key].stored_name(self.name, fd=fd)

    def metric_names(self) -> dict[str, str]:
        """Every metric key this extractor gives, with its stored name."""
        keys = list(METRIC_KEYS)
        if self.classes is not None:
            keys += LABEL_KEYS
        return {k: self.metric_name(k) for k in keys}


EXTRACTORS: Registry[Extractor] = Registry("extractor")
"""Every feature extractor by name (``ganbench list extractors``)."""


def register(extractor: Extractor) -> Extractor:
    """Add ``extractor`` to :data:`EXTRACTORS` (each module registers its own)."""
    EXTRACTORS.add(extractor.name, extractor, help=extractor.description)
    return extractor


@dataclass(frozen=True)
class Family:
    """Extractors that exist as the data do: one per member of a family (one classifier per
    labelled dataset in the data directory, :mod:`ganbench.extractors.labelled`), declared
    when looked up rather than at import."""

    name: str
    """How listings name the family (``<dataset>_cnn``)."""
    description: str
    """One line for ``ganbench list extractors``: what a member is and how one comes to be."""
    members: Callable[[], dict[str, Extractor | str]]
    """The family's extractors now, by name; a name that two members (or a member and a
    registered extractor) would share maps to the message that refuses it."""


FAMILIES: list[Family] = []
"""The extractor families (:func:`register_family`)."""


def register_family(family: Family) -> Family:
    """Add ``family``: :func:`get_extractor` and :func:`extractor_names` then see its members."""
    if any(f.name == family.name for f in FAMILIES):
        raise ValueError(f"extractor family {family.name!r} is registered twice")
    FAMILIES.append(family)
    return family


def _family_members() -> dict[str, Extractor | str]:
    found: dict[str, Extractor | str] = {}
    for family in FAMILIES:
        found.update(family.members())
    return found


def get_extractor(name: str) -> Extractor:
    """The extractor ``name``: a registered one, else a member of a family (a classifier of a
    labelled dataset); raises ``UnknownNameError`` (a KeyError whose message names the known
    extractors and the families) otherwise, and ConfigError for a name two members share."""
    from ganbench.registry import UnknownNameError

    _load_builtin()
    if name in EXTRACTORS:
        return EXTRACTORS.get(name)
    from ganbench.errors import ConfigError

    members = _family_members() if isinstance(name, str) else {}
    found = members.get(name) if isinstance(name, str) else None
    if isinstance(found, str):
        raise ConfigError(found)
    if found is not None:
        return found
    from ganbench.text import short, suggestion

    names = sorted(
        [*EXTRACTORS.names(), *(k for k, v in members.items() if not isinstance(v, str))]
    )
    hint = suggestion(str(name), names) if len(str(name)) <= 100 else ""
    families = "; ".join(f"{f.name}: {f.description}" for f in FAMILIES)
    raise UnknownNameError(
        f"unknown extractor {short(name)}{hint} known: {', '.join(names)}"
        + (f" (and by family, {families})" if families else "")
    )


def extractor_names() -> list[str]:
    """Every extractor now known: the registered ones and the families' members."""
    _load_builtin()
    members = {k for k, v in _family_members().items() if not isinstance(v, str)}
    return sorted({*EXTRACTORS.names(), *members})


BUILTIN = ("mnist_cnn", "inception", "dinov2", "labelled")
"""The modules of ganbench's own extractors, imported (and so registered) on first use."""


def _load_builtin() -> None:
    import importlib

    for module in BUILTIN:
        name = f"ganbench.extractors.{module}"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # A built-in module this installation does not have is simply not registered; a
            # module that exists but fails to import (a missing dependency of it) is an error.
            if exc.name != name:
                raise


def to_pixels(images: Any) -> np.ndarray:
    """Images (module docstring) as float32 pixel values (N, H, W, C), C = 1 or 3.

    >>> to_pixels(np.array([[[[0], [255]]]], np.uint8))[0, 0, :, 0]
    array([  0., 255.], dtype=float32)
    >>> to_pixels(np.array([[[[-1.0], [1.0]]]]))[0, 0, :, 0]
    array([  0., 255.], dtype=float32)
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"expected images (N, H, W, 1 or 3), got shape {images.shape}")
    if images.dtype == np.uint8:
        return images.astype(np.float32)
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"expected uint8 or float images, got {images.dtype}")
    return ((images.astype(np.float32) + np.float32(1.0)) * np.float32(127.5)).astype(np.float32)


def batches(n: int, size: int):
    """``(start, stop)`` of consecutive batches of ``size`` covering ``range(n)``."""
    for start in range(0, n, size):
        yield start, min(start + size, n)


def run_batched(fn: Callable[[np.ndarray], Any], x: np.ndarray, size: int) -> list[Any]:
    """``fn`` on consecutive batches of exactly ``size`` rows of ``x``, the last one padded with
    zeros (one compiled shape for every batch; padding rows are dropped from the results).
    Returns the per-batch outputs as numpy arrays (or tuples of them), trimmed."""
    out = []
    for start, stop in batches(x.shape[0], size):
        chunk = x[start:stop]
        m = chunk.shape[0]
        if m < size:
            pad = np.zeros((size - m, *chunk.shape[1:]), chunk.dtype)
            chunk = np.concatenate([chunk, pad])
        result = fn(chunk)
        if isinstance(result, tuple):
            out.append(tuple(np.asarray(r)[:m] for r in result))
        else:
            out.append(np.asarray(result)[:m])
    return out


def weights_info(path: str | Path) -> dict[str, str]:
    """``{"path": absolute path, "sha256": of its bytes}`` of a weights file."""
    from ganbench.data.store import sha256_file

    path = Path(path).expanduser().absolute()
    return {"path": str(path), "sha256": sha256_file(path)}


__all__ = [
    "BUILTIN",
    "EXTRACTORS",
    "FAMILIES",
    "METRIC_KEYS",
    "WEIGHTS_SHIPPED",
    "WEIGHTS_TRAINED",
    "WEIGHTS_USER",
    "WEIGHT_SOURCES",
    "Extractor",
    "Family",
    "FeatureModel",
    "batches",
    "extractor_names",
    "get_extractor",
    "register",
    "register_family",
    "run_batched",
    "to_pixels",
    "weights_info",
]
