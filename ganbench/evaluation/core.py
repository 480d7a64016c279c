"""Evaluate anyone's samples against a reference: :func:`evaluate`, behind ``ganbench eval``.

The metrics are the ones suites record, declared once in :mod:`ganbench.metrics.catalog` and
computed by the same functions on the same features (:mod:`ganbench.extractors`): a Fréchet
distance (and FD-infinity), KID, precision and recall, density and coverage in each
extractor's feature space, the class metrics of a classifier, and for 2-D points the mode
metrics against a mixture. Every result records what makes it comparable (the sample counts,
the reference's identity, the extractor with its weights' checksum and resize mode, how the
input values were read, the metric settings, the ganbench version) and the warnings that qualify
it (a Fréchet distance from fewer samples than ten times the feature dimension, say).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganbench.errors import ConfigError, DataError
from ganbench.evaluation import cache as feature_cache
from ganbench.evaluation.sources import (
    IMAGES,
    STATS,
    VECTORS,
    ReadOptions,
    Samples,
    open_samples,
    parse_range,
    run_dataset,
    save_stats,
)
from ganbench.metrics import catalog
from ganbench.metrics import names as M
from ganbench.metrics.catalog import (
    FEATURE_BY_KEY,
    FEATURE_METRICS,
    Evaluation,
    FeatureEvaluation,
    FeatureSettings,
)
from ganbench.version import __version__

KNN_SAMPLES = 10_000
"""At most this many samples of each set enter the k-NN metrics of ``eval`` (precision,
recall, density, coverage), drawn with the evaluation's seed: their cost grows as N^2 (10,000
is the sample count of Naeem et al. 2020's experiments); the result records it."""

MODE_KEYS = ("modes", "hq_fraction", "reverse_kl")
"""The mode metrics of 2-D points against a mixture (VEEGAN's protocol as PacGAN codes it)."""

METRIC_KEYS = (*(m.key for m in FEATURE_METRICS), *MODE_KEYS)
"""What ``--metrics`` may name."""

DEFAULT_EXCLUDED = ("fd_inf",)
"""Not computed unless asked for: FD-infinity computes 15 Fréchet distances."""

VECTOR_NAMES = {key: f"{key}_data" for key in (m.key for m in FEATURE_METRICS)}
VECTOR_NAMES["fd"] = M.FD
VECTOR_NAMES["fd_inf"] = M.FD + "_inf"
"""Names of the feature metrics of points compared in their own space (``fd`` as suites name
the data-space Fréchet distance; the others ``kid_data``, ``precision_data``, ...)."""


@dataclass
class MetricValue:
    name: str
    value: float
    key: str
    extractor: str | None
    n_samples: int
    n_reference: int | None

    def to_dict(self) -> dict[str, Any]:
        value = None if not math.isfinite(self.value) else self.value
        return {
            "metric": self.name,
            "value": value,
            "key": self.key,
            "extractor": self.extractor,
            "n_samples": self.n_samples,
            "n_reference": self.n_reference,
        }


@dataclass
class EvalResult:
    """What :func:`evaluate` returns: the values and everything that makes them comparable."""

    metrics: list[MetricValue]
    samples: dict[str, Any]
    reference: dict[str, Any]
    extractors: list[dict[str, Any]]
    settings: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    cache: dict[str, str] = field(default_factory=dict)
    """Per extractor: whether the reference's features were ``"computed"``, read from the
    ``"cache"``, or the reference was ``"statistics"``."""
    ganbench: str = __version__
    created: str = ""

    def value(self, name: str) -> float:
        for m in self.metrics:
            if m.name == name:
                return m.value
        raise KeyError(f"no metric {name!r}; this result holds {[m.name for m in self.metrics]}")

    def as_dict(self) -> dict[str, float]:
        return {m.name: m.value for m in self.metrics}

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": [m.to_dict() for m in self.metrics],
            "samples": self.samples,
            "reference": self.reference,
            "extractors": self.extractors,
            "settings": self.settings,
            "warnings": self.warnings,
            "reference_features": self.cache,
            "ganbench": self.ganbench,
            "created": self.created,
        }


def _select_keys(metrics: list[str] | None) -> list[str] | None:
    if metrics is None:
        return None
    unknown = [m for m in metrics if m not in METRIC_KEYS]
    if unknown:
        from ganbench.text import suggestion

        raise ConfigError(
            f"unknown metric {unknown[0]!r}{suggestion(unknown[0], METRIC_KEYS)} allowed: "
            f"{', '.join(METRIC_KEYS)}"
        )
    return list(dict.fromkeys(metrics))


def _describe(samples: Samples, role: str) -> dict[str, Any]:
    return {**samples.identity, "n": samples.n, "input": samples.input, "role": role}


def evaluate(
    samples: Any,
    ref: Any = None,
    *,
    extractors: list[str] | None = None,
    weights: dict[str, str] | str | None = None,
    resize: dict[str, str] | str | None = None,
    metrics: list[str] | None = None,
    n: int | None = None,
    n_ref: int | None = None,
    seed: int = 0,
    value_range: str | tuple[float, float] | None = None,
    quantize: bool = True,
    step: int | None = None,
    ema: bool = False,
    save_stats_to: str | Path | None = None,
    use_cache: bool = True,
    data_dir: Any = None,
    settings: FeatureSettings | None = None,
    log: Callable[[str], None] | None = None,
) -> EvalResult:
    """Evaluate ``samples`` against ``ref`` (``ganbench eval SAMPLES --ref REF``).

    Args:
      samples: what to evaluate: a folder of images, an ``.npy``/``.npz`` file (``x.npz:key``),
        a dataset (``mnist:test``, ``ring8``), a ganbench run folder, an array, or a generator
        (a callable returning a batch per call, or an iterable of batches; ``n`` needed)
        (:mod:`ganbench.evaluation.sources`).
      ref: the reference, of the same kinds or a statistics file (``mu``, ``sigma``: pytorch-fid's
        ``--save-stats`` or ganbench's own). Default, for a run folder: the dataset it trained on
        (the training split of an image dataset).
      extractors: feature extractors of images (``ganbench list extractors``). Default:
        ``mnist_cnn`` for 28 x 28 images, else ``inception`` (which needs ``weights``).
      weights: weights files by extractor name, or one file for the one extractor that needs
        them.
      resize: resize modes by extractor name, or one mode for every extractor.
      metrics: metric keys (:data:`METRIC_KEYS`); default: every one the inputs allow, but
        FD-infinity.
      n, n_ref: keep ``n`` samples and ``n_ref`` reference samples (seeded subsets).
      seed: the seed of subsets, KID's subsets, the k-NN subsets and FD-infinity's shuffles.
      value_range: the range of float images (``"-1,1"``, ``"0,1"``, ``"0,255"``).
      quantize: round float images to 8-bit pixels as a PNG file would hold them.
      step, ema: which samples of a run folder (a 2-D run's snapshot at ``step``; the EMA
        generator's).
      save_stats_to: write the samples' mean and covariance (one extractor) to this ``.npz``.
      use_cache: read and write the reference's features in the data directory's cache.
      settings: metric settings (KID subsets, k, ...); default: the papers' and
        :data:`KNN_SAMPLES`.
      log: called with progress messages.

    Raises:
        ConfigError: an unknown extractor, metric, resize or range; inputs that cannot be
            compared.
        DataError: an input that cannot be read (named in the message).
    """
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    keys = _select_keys(metrics)
    value_range = parse_range(value_range)
    settings = settings or FeatureSettings(knn_samples=KNN_SAMPLES, seed=seed)
    options = dict(seed=seed, value_range=value_range, quantize=quantize, data_dir=data_dir)
    fake = open_samples(samples, role="samples", options=ReadOptions(
        n=n, step=step, ema=ema, **options))  # fmt: skip
    if ref is None:
        ref = _default_reference(samples, fake)
    real = open_samples(ref, role="reference", options=ReadOptions(n=n_ref, **options))
    warnings = [*(f"samples: {w}" for w in fake.notes), *(f"reference: {w}" for w in real.notes)]
    result = EvalResult(
        [], _describe(fake, "samples"), _describe(real, "reference"), [],
        settings={**settings.__dict__, "seed": seed}, warnings=warnings, created=started,
    )  # fmt: skip
    if fake.kind == VECTORS or real.kind == VECTORS:
        if save_stats_to is not None:
            raise ConfigError("--save-stats writes statistics of image features; these are points")
        _vectors(fake, real, keys, settings, result)
    else:
        _images(fake, real, keys, settings, result, extractors, weights, resize, use_cache,
                data_dir, save_stats_to, log)  # fmt: skip
    return result


def _default_reference(source: Any, fake: Samples) -> str:
    if fake.identity.get("kind") != "run":
        raise ConfigError("name the reference to evaluate against (--ref REF)")
    dataset = run_dataset(Path(fake.identity["path"]))
    if dataset is None:
        raise ConfigError(f"{source}: its dataset is unknown; name the reference (--ref REF)")
    from ganbench.data import get_dataset
    from ganbench.data.base import IMAGE

    return f"{dataset}:train" if get_dataset(dataset).kind == IMAGE else dataset


# ------------------------------------------------------------------------------- points


def _vectors(fake: Samples, real: Samples, keys, settings, result: EvalResult) -> None:
    if fake.kind != VECTORS or real.kind != VECTORS:
        other = real if fake.kind == VECTORS else fake
        raise ConfigError(
            f"cannot compare points with {other.kind}: {fake.describe()} holds {fake.kind}, "
            f"{real.describe()} holds {real.kind}"
        )
    x, r = fake.points(), real.points()
    if x.shape[1] != r.shape[1]:
        raise ConfigError(
            f"the samples are {x.shape[1]}-d points and the reference {r.shape[1]}-d points"
        )
    result.extractors.append({"name": None, "space": "data"})
    ev = FeatureEvaluation(x, r, settings=settings)
    skip = (*DEFAULT_EXCLUDED, "classes", "class_kl")
    wanted = keys or [k for k in FEATURE_BY_KEY if k not in skip]
    for key in wanted:
        if key in MODE_KEYS or key in ("classes", "class_kl"):
            continue
        metric = FEATURE_BY_KEY[key]
        n_ref, n_fake = metric.counts(ev)
        value = float(metric.compute(ev))
        result.metrics.append(MetricValue(VECTOR_NAMES[key], value, key, None, n_fake, n_ref))
    mode_keys = [k for k in (keys or MODE_KEYS) if k in MODE_KEYS]
    if mode_keys:
        if real.dataset is None:
            if keys is not None:
                raise ConfigError(
                    "mode metrics need a mixture as the reference (ring8, grid25, ...), not "
                    f"{real.describe()}"
                )
            return
        _modes(x, r, real.dataset, mode_keys, result)


def _modes(x: np.ndarray, r: np.ndarray, dataset, keys, result: EvalResult) -> None:
    from types import SimpleNamespace

    protocol = SimpleNamespace(hq_threshold=3.0, min_count=1)
    ev = Evaluation(x, r, dataset, protocol)
    for entry in catalog.computed_from_samples(dataset.kind):
        if entry.name not in keys and not entry.name.startswith(M.MODE_COUNT_PREFIX):
            continue
        for name, value, n_real, n_fake in entry.rows(ev):
            if name == M.FD:
                continue  # the data-space Frechet distance is already there
            key = name if name in MODE_KEYS else "mode_count"
            result.metrics.append(MetricValue(name, value, key, None, n_fake, n_real))
    result.settings["mode_protocol"] = {"hq_threshold": 3.0, "min_count": 1}


# ------------------------------------------------------------------------------- images


def _per_extractor(value, names: list[str], what: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ConfigError(f"{what} for {unknown[0]!r}, which is not an extractor of this "
                              f"evaluation ({', '.join(names)})")  # fmt: skip
        return dict(value)
    return {name: value for name in names}


def _default_extractors(fake: Samples, real: Samples) -> list[str]:
    sizes = set(fake.sizes) | (set(real.sizes) if real.kind == IMAGES else set())
    return ["mnist_cnn"] if sizes == {(28, 28)} else ["inception"]


def _images(fake, real, keys, settings, result, extractors, weights, resize, use_cache,
            data_dir, save_stats_to, log) -> None:  # fmt: skip
    from ganbench.extractors.base import WEIGHTS_USER, get_extractor

    if fake.kind == STATS:
        raise ConfigError("the samples must be samples; only the reference may be statistics")
    from ganbench.registry import UnknownNameError

    names = list(dict.fromkeys(extractors)) if extractors else _default_extractors(fake, real)
    try:
        declared = [get_extractor(name) for name in names]
    except UnknownNameError as exc:
        raise ConfigError(f"--extractor: {exc}") from None
    if isinstance(weights, str | Path):
        needy = [e.name for e in declared if e.weights == WEIGHTS_USER] or names
        if len(needy) != 1:
            raise ConfigError(f"--weights FILE names one file, and {len(needy)} extractors "
                              f"take one ({', '.join(needy)}); write NAME=FILE")  # fmt: skip
        weights = {needy[0]: str(weights)}
    weights = _per_extractor(weights, names, "--weights")
    resizing = [e.name for e in declared if e.resize_modes]
    if resize is not None and not resizing:
        raise ConfigError(f"--resize: {', '.join(names)} take(s) images as they are (no resize)")
    resizes = _per_extractor(resize, resizing, "--resize")
    if save_stats_to is not None and len(declared) != 1:
        raise ConfigError("--save-stats writes one extractor's statistics; name one --extractor")
    for extractor in declared:
        mode = resizes.get(extractor.name)
        if mode is not None and mode not in extractor.resize_modes:
            raise ConfigError(f"--resize {mode!r} for {extractor.name}: allowed "
                              f"{', '.join(extractor.resize_modes)}")  # fmt: skip
        if extractor.weights == WEIGHTS_USER and extractor.name not in weights:
            raise ConfigError(
                f"extractor {extractor.name!r} needs its weights file (--weights FILE): "
                f"{extractor.weights_help or 'ganbench list extractors says how to make it'}"
            )
        _check_shapes(extractor, fake, real)
    for extractor in declared:
        model = extractor.load(
            weights=weights.get(extractor.name), resize=resizes.get(extractor.name),
            data_dir=data_dir, log=log,
        )  # fmt: skip
        _one_extractor(model, fake, real, keys, settings, result, use_cache, data_dir,
                       save_stats_to, log)  # fmt: skip


def _check_shapes(extractor, fake: Samples, real: Samples) -> None:
    if extractor.input_size is not None:
        return
    want = extractor.fixed_shape[:2]
    for samples in (fake, real):
        if samples.kind == IMAGES and any(size != want for size in samples.sizes):
            sizes = ", ".join(f"{h}x{w}" for h, w in samples.sizes)
            raise ConfigError(
                f"{extractor.name} takes {want[0]}x{want[1]} images as they are (it does not "
                f"resize), and {samples.describe()} holds {sizes}; choose an extractor that "
                "resizes (ganbench list extractors)"
            )


def _embed(model, samples: Samples) -> tuple[np.ndarray, np.ndarray | None]:
    feats: np.ndarray | None = None
    labels: np.ndarray | None = None
    for idx, images in samples.groups:
        f, lab = model.embed(images)
        if feats is None:
            feats = np.empty((samples.n, f.shape[1]), np.float32)
        feats[idx] = f
        if lab is not None:
            if labels is None:
                labels = np.empty((samples.n, lab.shape[1]), lab.dtype)
            labels[idx] = lab
    assert feats is not None
    return feats, labels


def _reference_features(model, real: Samples, use_cache, data_dir, result, log):
    info = model.info
    if use_cache and real.fingerprint is not None:
        folder = feature_cache.cache_folder(data_dir)
        key, made_of = feature_cache.entry_key(real.fingerprint, info)
        hit = feature_cache.load(folder, key)
        if hit is not None and hit[0].shape[0] == real.n:
            result.cache[info["name"]] = "cache"
            if log is not None:
                log(f"{info['name']}: reference features read from the cache ({key})")
            return hit
        feats, labels = _embed(model, real)
        try:
            feature_cache.save(folder, key, made_of, feats, labels)
        except OSError as exc:
            result.warnings.append(f"the reference's features could not be cached: {exc}")
        result.cache[info["name"]] = "computed"
        return feats, labels
    result.cache[info["name"]] = "computed"
    return _embed(model, real)


def _check_stats(model, real: Samples, result: EvalResult) -> None:
    info, extractor = model.info, model.extractor
    mu, _ = real.stats
    if mu.size != extractor.feature_dim:
        raise ConfigError(
            f"{real.describe()}: statistics of {mu.size}-d features, and {extractor.name}'s "
            f"features are {extractor.feature_dim}-d"
        )
    meta = real.stats_meta
    if meta is None:
        result.warnings.append(
            f"reference: {real.describe()} records no extractor; its statistics are taken to be "
            f"{extractor.name}'s with the same weights and resize ({model.resize}); pytorch-fid's "
            "--save-stats resizes as resize mode pytorch_fid"
        )
        return
    mine = {
        "extractor": info["name"],
        "weights_sha256": (info.get("weights") or {}).get("sha256"),
        "resize": info.get("resize"),
    }
    for field_name, value in mine.items():
        if meta.get(field_name) != value:
            raise ConfigError(
                f"{real.describe()}: its statistics were measured with {field_name} "
                f"{meta.get(field_name)!r}, this evaluation uses {value!r}; they are not "
                "comparable"
            )


def _one_extractor(model, fake, real, keys, settings, result, use_cache, data_dir,
                   save_stats_to, log) -> None:  # fmt: skip
    from ganbench.metrics import fd_sample_warning
    from ganbench.metrics.frechet import gaussian_stats

    extractor = model.extractor
    info = model.info
    result.extractors.append(info)
    if log is not None:
        log(f"{extractor.name}: features of {fake.n:,} samples")
    f_fake, labels = _embed(model, fake)
    if not np.all(np.isfinite(f_fake)):
        raise DataError(f"{fake.describe()}: the {extractor.name} features of the samples are "
                        "not finite")  # fmt: skip
    if real.kind == STATS:
        _check_stats(model, real, result)
        ev = FeatureEvaluation(
            f_fake, real_stats=real.stats, n_real=real.n_stats, labels=labels,
            classes=extractor.classes, settings=settings,
        )  # fmt: skip
    else:
        f_real, _ = _reference_features(model, real, use_cache, data_dir, result, log)
        ev = FeatureEvaluation(
            f_fake, f_real, labels=labels, classes=extractor.classes, settings=settings
        )
    names = extractor.metric_names()
    available = [
        m.key
        for m in FEATURE_METRICS
        if m.key in names
        and (m.needs != "features" or ev.has_real_features)
        and (m.needs != "labels" or (labels is not None and extractor.classes is not None))
    ]
    if keys is None:
        wanted = [k for k in available if k not in DEFAULT_EXCLUDED]
    else:
        missing = [k for k in keys if k not in available and k not in MODE_KEYS]
        if missing:
            why = (
                "the reference is statistics only (its features are needed)"
                if real.kind == STATS
                else f"{extractor.name} is not a classifier"
            )
            raise ConfigError(f"{missing[0]} cannot be computed here: {why}")
        wanted = [k for k in keys if k in available]
    dim = f_fake.shape[1]
    for n, who in ((ev.n_fake, "samples"), (ev.n_real, "reference")):
        warning = fd_sample_warning(int(n), dim) if n is not None else None
        if warning and "fd" in wanted:
            hint = "" if "fd_inf" in wanted else "; FD-infinity (--metrics fd_inf) extrapolates"
            result.warnings.append(f"{extractor.name}, {who}: {warning}{hint}")
    for key in wanted:
        metric = FEATURE_BY_KEY[key]
        n_ref, n_fake = metric.counts(ev)
        value = float(metric.compute(ev))
        result.metrics.append(MetricValue(names[key], value, key, extractor.name, n_fake, n_ref))
    if save_stats_to is not None:
        mu, sigma = gaussian_stats(f_fake)
        meta = {
            "extractor": info["name"],
            "weights_sha256": (info.get("weights") or {}).get("sha256"),
            "resize": info.get("resize"),
            "n": int(f_fake.shape[0]),
            "samples": result.samples,
            "ganbench": __version__,
        }
        save_stats(save_stats_to, mu, sigma, meta)
        result.settings["saved_stats"] = str(Path(save_stats_to).absolute())


__all__ = [
    "DEFAULT_EXCLUDED",
    "KNN_SAMPLES",
    "METRIC_KEYS",
    "EvalResult",
    "MetricValue",
    "evaluate",
]
