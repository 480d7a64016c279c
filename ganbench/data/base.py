"""What every dataset is, and the one registry of them.

A dataset is a frozen, hashable object (so it can pick a compiled program) with a ``kind``
(:mod:`ganbench.kinds`) that says how its samples are measured: ``"mixture"`` (mixtures of
Gaussians: mode coverage), ``"point mass"`` (the Dirac-GAN: distance to equilibrium) or
``"image"`` (feature-space metrics). A module that defines datasets registers each under its name in :data:`DATASETS`;
:func:`get_dataset` builds one with its mode weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from ganbench.kinds import IMAGE, KINDS, MIXTURE, POINT_MASS
from ganbench.registry import Registry

__all__ = [
    "DATASETS",
    "FAMILIES",
    "IMAGE",
    "KINDS",
    "MIXTURE",
    "POINT_MASS",
    "Dataset",
    "dataset_problem",
    "get_dataset",
    "mode_weights",
]


class Dataset(Protocol):
    """What the engine, the diagnostics and the report read from a dataset."""

    name: str
    kind: str
    weights: tuple[float, ...]

    @property
    def dim(self) -> int: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def n_modes(self) -> int: ...
    def sample(self, key: Any, n: int, data: Any = None) -> Any:
        """``n`` samples inside a traced computation (float32)."""
        ...

    def describe(self) -> dict:
        """What the dataset is, stored in every manifest."""
        ...


DATASETS: Registry = Registry("dataset")
"""Dataset factories by name (``ganbench list datasets``)."""

FAMILIES: Registry = Registry("dataset family")
"""Families of datasets named ``<family>:<name>`` (``folder:cats``): factories taking the part
after the colon, which raise :class:`ganbench.errors.GanbenchError` for a name that does not
exist (with the way to make it)."""


def _factory(name: str) -> Any:
    prefix, sep, rest = str(name).partition(":")
    if sep and prefix in FAMILIES:
        family = FAMILIES.get(prefix)
        return lambda: family(rest)
    return DATASETS.get(name)


def get_dataset(name: str, weights: str | Sequence[float] = "uniform") -> Any:
    """The dataset ``name`` (registered, or of a family: ``folder:<name>``) with the mode
    weights of a ``weights`` setting."""
    dataset = _factory(name)()
    if isinstance(weights, str) and weights == "uniform":
        return dataset
    return replace(dataset, weights=mode_weights(weights, dataset.n_modes))


def dataset_problem(name: Any) -> str | None:
    """Why ``name`` is not a dataset a suite can use (unknown, or a family member that is not
    there), or None."""
    from ganbench.errors import GanbenchError

    if not isinstance(name, str):
        return f"a dataset is a name, got {type(name).__name__}"
    if name in DATASETS:
        return None
    prefix, sep, rest = name.partition(":")
    if sep and prefix in FAMILIES:
        try:
            FAMILIES.get(prefix)(rest)
        except GanbenchError as exc:
            return str(exc)
        return None
    families = ", ".join(f"{f}:<name>" for f in FAMILIES.names())
    return DATASETS.unknown_message(name) + (f", {families}" if families else "")


WEIGHTS_HELP = (
    '"uniform" (default), "geometric" (w_k proportional to 0.5^k), "geometric:<r>" with r in '
    '(0, 1], "longtail:<f>" (geometric with the first mode f >= 1 times as likely as the last), '
    "or a list of one positive number per mode (normalised to sum to 1)"
)


def mode_weights(spec: str | Sequence[float], k: int) -> tuple[float, ...]:
    """Mode weights of a ``weights`` setting for a mixture of ``k`` modes.

    ``"geometric:r"`` gives w_k proportional to r^k (k = 0..K-1): mode 0 is the most likely and
    the last mode the rarest, at r^(K-1) of the first. ``"longtail:f"`` is the same profile
    with r = f^(-1/(K-1)), so the first mode is f times as likely as the last whatever K is: the
    exponential long-tail profile with imbalance factor f of Cui et al. 2019 (section 5.1).

    >>> [round(w, 4) for w in mode_weights("geometric", 3)]
    [0.5714, 0.2857, 0.1429]
    >>> [round(w, 4) for w in mode_weights("longtail:4", 3)]
    [0.5714, 0.2857, 0.1429]

    Raises:
      ValueError: with a message naming the allowed values.
    """
    if isinstance(spec, str):
        if spec == "uniform":
            raw = [1.0] * k
        elif spec == "geometric" or spec.startswith("geometric:"):
            text = spec.partition(":")[2] or "0.5"
            try:
                r = float(text)
            except ValueError:
                raise ValueError(
                    f"bad ratio {text!r} in weights {spec!r}; {WEIGHTS_HELP}"
                ) from None
            if not (math.isfinite(r) and 0.0 < r <= 1.0):
                raise ValueError(f"the geometric ratio must be in (0, 1], got {r!r}")
            raw = [r**i for i in range(k)]
        elif spec.startswith("longtail:"):
            text = spec.partition(":")[2]
            try:
                f = float(text)
            except ValueError:
                raise ValueError(
                    f"bad factor {text!r} in weights {spec!r}; {WEIGHTS_HELP}"
                ) from None
            if not (math.isfinite(f) and 1.0 <= f <= 1e6):
                raise ValueError(f"the long-tail factor must be in [1, 1e6], got {f!r}")
            raw = [f ** (-i / (k - 1)) if k > 1 else 1.0 for i in range(k)]
        else:
            raise ValueError(f"unknown weights {spec!r}; allowed: {WEIGHTS_HELP}")
    else:
        raw = list(spec)
        if len(raw) != k:
            raise ValueError(f"weights lists {len(raw)} numbers but the dataset has {k} modes")
        if any(isinstance(w, bool) or not isinstance(w, int | float) for w in raw):
            raise ValueError(f"weights must be numbers, got {list(spec)!r}")
        if any(not (math.isfinite(w) and w > 0) for w in raw):
            raise ValueError(f"weights must be positive and finite, got {list(spec)!r}")
    total = math.fsum(raw)
    return tuple(float(w) / total for w in raw)
