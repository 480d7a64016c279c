"""Suite schema: strict pydantic models of a suite file and of one resolved run.

Types are strict (a string is not an integer, a bool is not a number), unknown keys are errors,
and every registry name is checked against its registry, so a typo fails validation with a
"did you mean" instead of silently running a different experiment.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ganbench.data import DATASETS
from ganbench.models import ACTIVATIONS, ARCHS
from ganbench.objectives import LOSSES, PENALTIES
from ganbench.registry import Registry
from ganbench.train.optim import LR_KNOBS, OPTIMIZERS

# Upper bounds that refuse absurd values before anything is allocated.
MAX_STEPS = 100_000_000
MAX_WIDTH = 16_384
MAX_DEPTH = 64
MAX_BATCH = 1 << 20
MAX_Z_DIM = 65_536
MAX_SAMPLES = 10_000_000
MAX_SEEDS = 100_000
NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
SUITE_NAME_PATTERN = r"^[a-z0-9_-]+$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _registered(registry: Registry, value: str) -> str:
    if value not in registry:
        raise ValueError(registry.unknown_message(value))
    return value


class ModelConfig(Strict):
    arch: str = "mlp"
    width: int = Field(128, ge=1, le=MAX_WIDTH)
    depth: int = Field(2, ge=0, le=MAX_DEPTH)
    activation: str = "relu"
    spectral_norm: bool = False

    @field_validator("arch")
    @classmethod
    def _arch(cls, v: str) -> str:
        return _registered(ARCHS, v)

    @field_validator("activation")
    @classmethod
    def _activation(cls, v: str) -> str:
        return _registered(ACTIVATIONS, v)


class OptimizerConfig(Strict):
    """``name``, ``lr_g``, ``lr_d`` and the optimiser's own knobs (see ``ganbench list``)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    name: str = "adam"
    lr_g: float
    lr_d: float

    @model_validator(mode="before")
    @classmethod
    def _knobs(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        name = data.get("name", "adam")
        if not isinstance(name, str) or name not in OPTIMIZERS:
            raise ValueError(OPTIMIZERS.unknown_message(name))
        spec = OPTIMIZERS.get(name)
        allowed = ["name", *LR_KNOBS, *spec.knobs]
        out = dict(data)
        problems = []
        for key in data:
            if key not in allowed:
                problems.append(
                    f"unknown key {key!r} for optimizer {name!r}"
                    f"{_did_you_mean(key, allowed)} allowed: {', '.join(allowed)}"
                )
        for key, knob in {**LR_KNOBS, **spec.knobs}.items():
            if key not in data:
                if knob.default is not None:
                    out[key] = knob.default
                continue  # a missing learning rate is reported as a missing field
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"{key} must be a number, got {value!r}")
            elif not math.isfinite(value):
                problems.append(f"{key} must be finite, got {value!r}")
            elif problem := knob.check(float(value)):
                problems.append(f"{key} {problem}")
            else:
                out[key] = float(value)
        if problems:
            raise ValueError("; ".join(problems))
        return out

    def knobs(self) -> dict[str, float]:
        """The optimiser's own knobs (without the learning rates), with defaults filled in."""
        spec = OPTIMIZERS.get(self.name)
        extra = self.model_extra or {}
        return {k: float(extra[k]) for k in spec.knobs}


class PenaltyConfig(Strict):
    name: str = "none"
    weight: float | None = Field(None, ge=0.0, le=1e6)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _registered(PENALTIES, v)

    def resolved_weight(self) -> float:
        if self.weight is not None:
            return float(self.weight)
        return PENALTIES.get(self.name).default_weight


class RunConfig(Strict):
    """One variant after merging over [defaults] and applying a grid point."""

    name: str = Field(pattern=NAME_PATTERN, max_length=100)
    dataset: str
    loss: str
    batch_size: int = Field(ge=1, le=MAX_BATCH)
    z_dim: int = Field(ge=1, le=MAX_Z_DIM)
    generator: ModelConfig = ModelConfig()
    discriminator: ModelConfig = ModelConfig()
    optimizer: OptimizerConfig
    penalty: PenaltyConfig = PenaltyConfig()
    n_critic: int = Field(1, ge=1, le=100)

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, v: str) -> str:
        return _registered(DATASETS, v)

    @field_validator("loss")
    @classmethod
    def _loss(cls, v: str) -> str:
        return _registered(LOSSES, v)

    def resolved(self) -> dict:
        """Fully resolved configuration: every default filled in (the run's identity)."""
        d = self.model_dump()
        d["optimizer"] = {
            "name": self.optimizer.name,
            "lr_g": self.optimizer.lr_g,
            "lr_d": self.optimizer.lr_d,
            **self.optimizer.knobs(),
        }
        d["penalty"] = {"name": self.penalty.name, "weight": self.penalty.resolved_weight()}
        return d


class SuiteSection(Strict):
    name: str = Field(pattern=SUITE_NAME_PATTERN, max_length=100)
    description: str = ""
    seeds: int | list[int] = 3
    steps: int = Field(ge=1, le=MAX_STEPS)
    eval_every: int = Field(ge=1, le=MAX_STEPS)

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: int | list[int]) -> int | list[int]:
        if isinstance(v, int):
            if not 1 <= v <= MAX_SEEDS:
                raise ValueError(f"a seed count must be in [1, {MAX_SEEDS}], got {v}")
            return v
        if not v:
            raise ValueError("an explicit seed list must not be empty")
        if len(set(v)) != len(v):
            raise ValueError(f"seeds must be unique, got {v}")
        if any(not 0 <= s < 2**31 for s in v):
            raise ValueError(f"seeds must be in [0, 2**31), got {v}")
        return v

    @field_validator("eval_every")
    @classmethod
    def _divides(cls, v: int, info: ValidationInfo) -> int:
        steps = info.data.get("steps")
        if isinstance(steps, int) and steps % v:
            raise ValueError(
                f"eval_every ({v}) must divide steps ({steps}); "
                f"for example eval_every = {_a_divisor(steps, v)}"
            )
        return v

    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)


class MetricsSection(Strict):
    samples: int = Field(2500, ge=2, le=MAX_SAMPLES)
    """Generated (and real) samples per evaluation."""
    hq_threshold: float = Field(3.0, gt=0.0, le=1e3)
    """Standardised distance under which a sample is high quality (VEEGAN/PacGAN: 3)."""
    min_count: int = Field(1, ge=1)
    """HQ samples a mode needs to count as covered."""
    snapshots: bool = True
    """Store the generated samples of every evaluation (2-D data) in samples.npz."""


class SuiteFile(Strict):
    """The top level of a suite file (before variants are merged)."""

    suite: SuiteSection
    defaults: dict[str, Any] = {}
    metrics: MetricsSection = MetricsSection()
    variants: list[dict[str, Any]] = Field(min_length=1)
    grid: dict[str, list[Any]] = {}

    @field_validator("grid")
    @classmethod
    def _grid(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in v.items():
            if not values:
                raise ValueError(f"grid.{key} must list at least one value")
            if key == "name" or key.startswith("name."):
                raise ValueError("the variant name cannot be a grid key")
        return v


def _did_you_mean(key: str, allowed: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ";"


def _a_divisor(steps: int, near: int) -> int:
    divisors = [d for d in range(1, min(steps, 10**6) + 1) if steps % d == 0]
    return min(divisors, key=lambda d: (abs(d - near), d))
