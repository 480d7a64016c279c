"""The tables a run's configuration is made of: networks (``generator``, ``discriminator``),
knob tables (``ema``, ``instance_noise``, ``consensus``) and named knob tables (``optimizer``,
``penalty``), each strict and checked against its registry.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ganbench.config.limits import MAX_DEPTH, MAX_WIDTH
from ganbench.knobs import Knob, check_knobs
from ganbench.models import ACTIVATIONS, ARCHS
from ganbench.models.archs import COMMON, archs_taking
from ganbench.models.inits import canonical_weight_init
from ganbench.objectives import PENALTIES
from ganbench.registry import Registry
from ganbench.text import clip, suggestion
from ganbench.train.optim import LR_KNOBS, OPTIMIZERS
from ganbench.train.schemes import SCHEME_KNOBS


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def registered(registry: Registry, value: str) -> str:
    if value not in registry:
        raise ValueError(registry.unknown_message(value))
    return value


class ModelConfig(Strict):
    """A network table (``generator = { arch = "...", <settings> }``): the architecture and the
    settings it accepts. Which settings an architecture accepts is its own declaration
    (:attr:`ganbench.models.archs.Arch.settings`); the fields below are the settings every
    suite has known, with their types, ranges and defaults, and a plugin's network may declare
    settings of its own (checked against their declarations, defaults filled in)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    arch: str = "mlp"
    width: int = Field(128, ge=1, le=MAX_WIDTH)
    depth: int = Field(2, ge=0, le=MAX_DEPTH)
    activation: str = "relu"
    spectral_norm: bool = False
    init: float | None = Field(None, ge=-1e3, le=1e3)
    """Initial parameter value of the Dirac-GAN architectures."""
    channels: int | None = Field(None, ge=1, le=4096)
    """Base channel count of the convolutional architectures (default: each one's own)."""
    pieces: int | None = Field(None, ge=2, le=64)
    """Linear pieces per unit of arch 'maxout' (default 5, PacGAN's)."""
    weight_init: str | None = None
    """"normal:<std>" or "orthogonal:<gain>" (see ganbench.models.inits); None: the arch's own."""
    input_scale: float | None = Field(None, gt=0.0, le=1e3)
    """Arch 'mlp': the input multiplied by it before the first layer; None: as it is."""

    OPTIONAL_SETTINGS: ClassVar[tuple[str, ...]] = ("pieces", "weight_init", "input_scale")
    """Settings left out of a run's identity while None, so that adding them changed no run id."""

    @model_validator(mode="before")
    @classmethod
    def _arch_settings(cls, data: Any) -> Any:
        """Refuse a key the architecture does not accept (naming the architectures that do),
        and check and fill in the settings of a plugin's own."""
        if not isinstance(data, dict):
            return data
        name = data.get("arch", "mlp")
        if not isinstance(name, str) or name not in ARCHS:
            return data  # the arch field reports it
        arch = ARCHS.get(name)
        problems = []
        for key in data:
            if key == "arch" or arch.takes(key):
                continue
            if key not in COMMON and not archs_taking(key):
                known = sorted({"arch", *arch.settings})
                hint = suggestion(str(key), known)
                problems.append(
                    f"unknown key {clip(str(key), 60)!r}{hint} allowed for arch {name!r}: "
                    f"{', '.join(known)}"
                )
            else:
                allowed = archs_taking(key)
                problems.append(
                    f"{key} is a setting of arch{'s' if len(allowed) > 1 else ''} "
                    f"{', '.join(repr(n) for n in allowed)}, not {name!r}"
                )
        for key, spec in arch.own_settings().items():
            if key in data and (problem := spec.check(key, data[key])) is not None:
                problems.append(f"{problem} (a setting of arch {name!r})")
        if problems:
            raise ValueError("; ".join(problems))
        return data

    def setting(self, name: str) -> Any:
        """The value of setting ``name``: a schema field, or an architecture's own setting
        (its declared default when the table does not set it)."""
        if name in type(self).model_fields:
            return getattr(self, name)
        extra = self.model_extra or {}
        if name in extra:
            return extra[name]
        own = ARCHS.get(self.arch).own_settings()
        if name in own:
            return own[name].default
        raise KeyError(f"arch {self.arch!r} has no setting {name!r}")

    def given(self) -> set[str]:
        """The keys the table sets (besides ``arch``)."""
        return (set(self.model_fields_set) | set(self.model_extra or {})) - {"arch"}

    def own_settings(self, role: str) -> dict[str, Any]:
        """The architecture's own settings for ``role`` with their values, defaults filled in
        (what a run's identity records of them)."""
        own = ARCHS.get(self.arch).own_settings()
        return {k: self.setting(k) for k, spec in sorted(own.items()) if role in spec.roles}

    @field_validator("weight_init")
    @classmethod
    def _weight_init(cls, v: str | None) -> str | None:
        return None if v is None else canonical_weight_init(v)

    @field_validator("arch")
    @classmethod
    def _arch(cls, v: str) -> str:
        return registered(ARCHS, v)

    @field_validator("activation")
    @classmethod
    def _activation(cls, v: str) -> str:
        return registered(ACTIVATIONS, v)


class KnobTable(Strict):
    """A table of numeric knobs (traced hyperparameters) checked against a :class:`Knob` spec."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    OWNER: ClassVar[str] = ""
    KNOBS: ClassVar[dict[str, Knob]] = {}

    @model_validator(mode="before")
    @classmethod
    def _knobs(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(f"{cls.OWNER} must be a table such as {cls.example()}")
        out, problems = check_knobs(data, cls.KNOBS, owner=cls.OWNER)
        if problems:
            raise ValueError("; ".join(problems))
        return out

    @classmethod
    def example(cls) -> str:
        return "{ " + ", ".join(f"{k} = {v.default:g}" for k, v in cls.KNOBS.items()) + " }"

    def knobs(self) -> dict[str, float]:
        extra = self.model_extra or {}
        return {k: float(extra[k]) for k in self.KNOBS}


class NamedKnobTable(Strict):
    """``name`` of a registry item plus that item's own knobs."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    REGISTRY: ClassVar[Registry]
    DEFAULT: ClassVar[str]
    FIXED: ClassVar[tuple[str, ...]] = ("name",)

    name: str

    @classmethod
    def knob_spec(cls, name: str) -> dict[str, Knob]:
        raise NotImplementedError

    @model_validator(mode="before")
    @classmethod
    def _knobs(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {"name": data}
        if not isinstance(data, dict):
            return data
        name = data.get("name", cls.DEFAULT)
        if not isinstance(name, str) or name not in cls.REGISTRY:
            raise ValueError(cls.REGISTRY.unknown_message(name))
        out, problems = check_knobs(
            data, cls.knob_spec(name), owner=f"{cls.REGISTRY.kind} {name!r}", fixed=cls.FIXED
        )
        if problems:
            raise ValueError("; ".join(problems))
        return {"name": name, **out}

    def knobs(self) -> dict[str, float]:
        """The item's knobs (defaults filled in), without the fixed keys."""
        extra = self.model_extra or {}
        return {k: float(extra[k]) for k in self.knob_spec(self.name)}


class OptimizerConfig(NamedKnobTable):
    """``name``, ``lr_g``, ``lr_d`` and the optimiser's own knobs (see ``ganbench list``)."""

    REGISTRY: ClassVar[Registry] = OPTIMIZERS
    DEFAULT: ClassVar[str] = "adam"
    FIXED: ClassVar[tuple[str, ...]] = ("name",)

    name: str = "adam"

    @classmethod
    def knob_spec(cls, name: str) -> dict[str, Knob]:
        return {**LR_KNOBS, **OPTIMIZERS.get(name).knobs}

    @property
    def lr_g(self) -> float:
        return float((self.model_extra or {})["lr_g"])

    @property
    def lr_d(self) -> float:
        return float((self.model_extra or {})["lr_d"])

    def knobs(self) -> dict[str, float]:
        """The optimiser's own knobs (without the learning rates), with defaults filled in."""
        extra = self.model_extra or {}
        return {k: float(extra[k]) for k in OPTIMIZERS.get(self.name).knobs}


class PenaltyConfig(NamedKnobTable):
    """``name`` of a penalty and its knobs (``weight``, ...)."""

    REGISTRY: ClassVar[Registry] = PENALTIES
    DEFAULT: ClassVar[str] = "none"

    name: str = "none"

    @classmethod
    def knob_spec(cls, name: str) -> dict[str, Knob]:
        return PENALTIES.get(name).knobs


class EmaConfig(KnobTable):
    OWNER: ClassVar[str] = "ema"
    KNOBS: ClassVar[dict[str, Knob]] = SCHEME_KNOBS["ema"]


class InstanceNoiseConfig(KnobTable):
    OWNER: ClassVar[str] = "instance_noise"
    KNOBS: ClassVar[dict[str, Knob]] = SCHEME_KNOBS["instance_noise"]


class ConsensusConfig(KnobTable):
    OWNER: ClassVar[str] = "consensus"
    KNOBS: ClassVar[dict[str, Knob]] = SCHEME_KNOBS["consensus"]
