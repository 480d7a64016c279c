"""Expand a suite into runs: merge variants over [defaults], take the grid's product, give every
run its id (a hash of what it computes), and turn a run's configuration into what the engine
reads: its static :class:`~ganbench.train.structure.Structure`, its traced
:class:`~ganbench.train.state.Hparams` and the key that picks its compiled program.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganbench.config.schema import MetricsSection, RunConfig, SuiteFile
from ganbench.data import IMAGE, MIXTURE, get_dataset
from ganbench.references import Reference
from ganbench.train.state import Hparams
from ganbench.train.structure import Structure


@dataclass(frozen=True)
class RunSpec:
    """One training run: a variant at a grid point with one seed."""

    run_id: str
    suite: str
    variant: str
    seed: int
    grid_point: dict[str, Any]
    config: RunConfig
    steps: int
    eval_every: int
    metrics: MetricsSection
    profile: str | None = None
    """The suite's profile these runs were expanded with (``--profile``), or None."""
    trial: int | None = None
    """The run's trial of the suite's ``[search]`` (0-based), or None without a search; its
    drawn values are in ``grid_point`` beside the grid's."""

    def identity(self) -> dict:
        return run_identity(
            self.config,
            self.seed,
            self.steps,
            self.eval_every,
            self.metrics,
            self.profile,
            trial=self.trial,
        )


@dataclass
class Suite:
    path: Path
    raw: dict[str, Any]
    """The suite document after command-line overrides (written as suite.toml), with
    ``metrics.inception_weights`` made absolute."""
    file: SuiteFile
    runs: list[RunSpec] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    """The suite's ``[[reference]]`` tables (published numbers), in file order."""

    @property
    def name(self) -> str:
        return self.file.suite.name


DEFAULT_TAGS = {"arch": "mlp"}
"""The registry item a table names when it names none (``ModelConfig.arch``'s default)."""


def deep_merge(base: dict, over: dict) -> dict:
    """``over`` merged into ``base``, tables recursively.

    A table that names a different registry item than the one it overrides (an optimizer or
    penalty with another ``name``, a model with another ``arch``) replaces it: the old item's
    knobs mean nothing to the new one. A network table without ``arch`` is an ``mlp`` one (the
    schema's default), so a variant that names another architecture replaces it too.
    """
    out = copy.deepcopy(base)
    for k, v in over.items():
        if (
            isinstance(v, dict)
            and isinstance(out.get(k), dict)
            and any(
                tag in v and v[tag] != out[k].get(tag, DEFAULT_TAGS.get(tag, v[tag]))
                for tag in ("name", "arch")
            )
        ):
            out[k] = copy.deepcopy(v)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def has_path(d: Any, keys: list) -> bool:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return False
        d = d[k]
    return True


def set_path(d: dict, keys: list[str], value: Any) -> None:
    for k in keys[:-1]:
        if not isinstance(d.get(k), dict):
            d[k] = {}
        d = d[k]
    d[keys[-1]] = value


def run_identity(
    config: RunConfig,
    seed: int,
    steps: int,
    eval_every: int,
    metrics,
    profile: str | None = None,
    *,
    trial: int | None = None,
) -> dict:
    identity = {
        "config": config.resolved(),
        "seed": seed,
        "steps": steps,
        "eval_every": eval_every,
        "metrics": metrics.identity(image_data=is_image_dataset(config.dataset)),
    }
    data = get_dataset(config.dataset).identity_data() if is_image_dataset(config.dataset) else None
    if data is not None:
        # Images whose content the dataset's name does not pin (an image folder, a CIFAR-10
        # stand-in): their fingerprint, so that other data are other runs.
        identity["data"] = data
    if profile is not None:
        # Only with a profile: the runs of a suite as written keep their ids, and a profile's
        # runs never share an id (or a results folder entry) with the suite's own.
        identity["profile"] = profile
    if trial is not None:
        # Two trials may draw the same values (a choice over few values): each is its own draw
        # of the search, as the budget estimator assumes, so each is its own run.
        identity["trial"] = trial
    return identity


@functools.cache
def is_image_dataset(dataset: str) -> bool:
    return get_dataset(dataset).kind == IMAGE


def is_mixture(dataset: str) -> bool:
    return get_dataset(dataset).kind == MIXTURE


def make_run_id(identity: dict) -> str:
    """A short, stable hash of a run's resolved configuration and seed."""
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def structure_of(config: RunConfig) -> Structure:
    """The static structure of a run: what its compiled program is built from."""
    return Structure(
        dataset=get_dataset(config.dataset, config.weights),
        generator=config.generator,
        discriminator=config.discriminator,
        loss=config.loss,
        penalty=config.penalty.name,
        optimizer=config.optimizer.name,
        n_critic=config.n_critic,
        g_steps=config.g_steps,
        latent=config.latent,
        batch_size=config.batch_size,
        z_dim=config.z_dim,
        pack=config.pack,
        updates=config.updates,
        unroll=config.unroll,
        clip=config.clip_value() is not None,
        ema=config.ema is not None,
        instance_noise=config.instance_noise is not None,
        consensus=config.consensus is not None,
    )


def static_key(config: RunConfig) -> str:
    """What picks the compiled program: the resolved config without its numeric knobs.

    Mixtures of Gaussians of one dimension share a program whatever their modes and weights:
    which mixture a run samples is a traced index
    (see :meth:`ganbench.train.engine.Program.sample_data`)."""
    d = config.resolved()
    d.pop("name")
    dataset = get_dataset(config.dataset, config.weights)
    if dataset.kind == MIXTURE:
        d["dataset"] = f"mixture of Gaussians in R^{dataset.dim}"
        d.pop("weights", None)
    d["optimizer"] = {"name": d["optimizer"]["name"]}
    d["penalty"] = {"name": d["penalty"]["name"]}
    d.pop("clip", None)
    if isinstance(d["loss"], dict):
        d["loss"] = d["loss"]["name"]  # its knobs are traced
    for key in ("ema", "instance_noise", "consensus"):
        if key in d:
            d[key] = True  # on or off is structure; the knobs are traced
    return json.dumps(d, sort_keys=True)


def hparams_of(config: RunConfig, steps: int) -> Hparams:
    """A run of ``steps`` generator steps: its numeric hyperparameters as float32 scalars
    (``dataset`` 0: the runner sets a run's index among its program's datasets)."""
    f32 = np.float32
    scheme: dict[str, Any] = {}
    if config.ema is not None:
        knobs = config.ema.knobs()
        scheme["ema_decay"] = f32(knobs["decay"])
        scheme["ema_start"] = f32(knobs["start"])
    if config.instance_noise is not None:
        knobs = config.instance_noise.knobs()
        scheme["noise_std"] = f32(knobs["std"])
        scheme["noise_anneal_steps"] = f32(knobs["anneal"] * steps)
    if config.consensus is not None:
        scheme["consensus_weight"] = f32(config.consensus.knobs()["weight"])
    return Hparams(
        lr_g=f32(config.optimizer.lr_g),
        lr_d=f32(config.optimizer.lr_d),
        opt={k: f32(v) for k, v in config.optimizer.knobs().items()},
        loss={k: f32(v) for k, v in config.loss_knob_values().items()},
        penalty={k: f32(v) for k, v in config.penalty.knobs().items()},
        scheme=scheme,
        dataset=np.int32(0),
    )
