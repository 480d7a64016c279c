"""Architectures: what a network table's ``arch`` names, the settings each accepts, and the one
registry of them (:data:`ARCHS`).

An :class:`Arch` says how to build a generator and a discriminator (either may be None: the
architecture is for one player only), which keys of a network table it accepts
(:attr:`Arch.settings`: ``{ arch = "dcgan", channels = 16 }``), which sample shapes it can make
or judge (:attr:`Arch.check_shape`), and how the engine calls it (batch statistics, dropout,
packing). The suite schema (:mod:`ganbench.config.tables`), ``ganbench list models`` and the
engine read these declarations; nothing else names an architecture. Each network lives in a
module of its own (``mlp.py``, ``dcgan.py``, ``sngan_cnn.py``, ...); this module only declares
and registers them.

Builders take ``(cfg, shape)``: ``cfg`` the validated network table (``ModelConfig``: its
settings as attributes, a plugin's own through ``cfg.setting(name)``), ``shape`` one sample of
the generator's output (a flat ``(dim,)`` or an image ``(H, W, C)``) or one (packed) input of the
discriminator. They return a Flax Linen module following the network protocol of
``docs/suites.md`` ("Networks of your own"):

* a generator maps latent codes ``z`` (N, z_dim) to samples (N, *shape) (or (N, prod(shape)));
  a discriminator maps inputs (N, *shape) to logits (N, 1);
* with ``train_flag`` both take a keyword ``train`` (batch norm, dropout; the dropout rng stream
  is ``"dropout"``); with ``batch_norm`` the generator keeps running averages in its
  ``batch_stats`` collection, which the engine carries in the training state;
* a discriminator with spectral normalisation (``flax.linen.SpectralNorm``) takes a keyword
  ``update_stats`` and keeps its power-iteration vectors in ``batch_stats``; the engine advances
  them once per discriminator update, as for the built-in networks;
* ``d_batch_stats``: the discriminator normalises with the statistics of the batch it is given,
  so the engine calls it on real and generated batches separately, and gradient penalties
  (which differentiate it sample by sample) are refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ganbench.registry import Registry

ROLES = ("generator", "discriminator")

SETTING_KINDS = (int, float, bool, str)
"""The types a setting of a plugin's own may have."""


@dataclass(frozen=True)
class Setting:
    """A key of a network table that an architecture accepts.

    The settings every suite has known (``width``, ``depth``, ``activation``, ``spectral_norm``,
    ``init``, ``channels``, ``pieces``, ``weight_init``: :data:`COMMON`) keep their types, ranges
    and defaults from the schema, and declare only ``help`` and the players they apply to. An
    architecture may declare settings of its own (a registered plugin's network): these also
    give their ``kind`` (int, float, bool or str), ``default`` and optional bounds or choices,
    and the schema checks a suite's values against them."""

    help: str
    roles: tuple[str, ...] = ROLES
    """The players that take it (a setting of the discriminator alone, such as a DCGAN's
    ``spectral_norm``, is refused in a generator table)."""
    kind: type | None = None
    default: Any = None
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def check(self, name: str, value: Any) -> str | None:
        """A problem with ``value`` for this setting of a plugin's own, or None."""
        kind = self.kind
        if kind is None:
            return None
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            return f"{name} must be {kind.__name__}, got {type(value).__name__} {value!r}"
        if kind in (int, float):
            if not math.isfinite(float(value)):
                return f"{name} must be finite, got {value!r}"
            if self.low is not None and value < self.low:
                return f"{name} must be at least {self.low:g}, got {value!r}"
            if self.high is not None and value > self.high:
                return f"{name} must be at most {self.high:g}, got {value!r}"
        if self.choices and value not in self.choices:
            return f"{name} must be one of {', '.join(map(repr, self.choices))}, got {value!r}"
        return None


COMMON = (
    "width",
    "depth",
    "activation",
    "spectral_norm",
    "init",
    "channels",
    "pieces",
    "weight_init",
)
"""Settings that are fields of the network table's schema (``ModelConfig``), with their own
types, ranges and defaults; their values enter every run's identity as they always have."""


@dataclass(frozen=True)
class Arch:
    """How to build an architecture's generator and discriminator (None: not for that player),
    the settings it accepts, and how the engine calls it (module docstring)."""

    generator: Callable[..., Any] | None
    discriminator: Callable[..., Any] | None
    settings: Mapping[str, Setting] = field(default_factory=dict)
    images: bool = False  # takes or makes (H, W, C) images rather than flat vectors
    train_flag: bool = False  # its __call__ takes ``train`` (batch norm, dropout)
    batch_norm: bool = False  # its generator keeps batch-norm running averages (batch_stats)
    pack_groups: bool = False  # its generator's batch norm takes statistics per packing slot
    # (PacGAN): the engine sets the module's ``groups`` to the suite's pack
    d_batch_stats: bool = False  # its discriminator normalises with the statistics of the batch
    # it is given: the engine passes real and generated batches in separate calls
    g_per_pack_slot: bool = False  # with pack > 1 its generator makes each packed slot's batch
    # in a call of its own (own batch statistics, running averages updated slot by slot)
    check_shape: Callable[[tuple[int, ...]], str | None] | None = None
    """A problem with one sample's shape (``(H, W, C)`` for image networks), or None when the
    network can make and judge samples of that shape; None: any shape."""
    module: str = ""
    """The Python module that registered it (named in errors about a plugin's network)."""

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(
            role
            for role, build in (
                ("generator", self.generator),
                ("discriminator", self.discriminator),
            )
            if build is not None
        )

    @property
    def uses_init(self) -> bool:
        """Reads ``init`` (the initial parameter value: the Dirac-GAN's players)."""
        return "init" in self.settings

    @property
    def builtin(self) -> bool:
        return self.module.startswith("ganbench.")

    def takes(self, setting: str, role: str | None = None) -> bool:
        """Whether the network table of ``role`` (either role when None) accepts ``setting``."""
        spec = self.settings.get(setting)
        return spec is not None and (role is None or role in spec.roles)

    def own_settings(self) -> dict[str, Setting]:
        """Its settings that are not schema fields (a plugin's own)."""
        return {k: v for k, v in self.settings.items() if k not in COMMON}


ARCHS: Registry[Arch] = Registry("architecture")
"""Every architecture by name (``ganbench list models``)."""


def register_arch(name: str, arch: Arch, *, help: str) -> Arch:
    """Add ``arch`` under ``name``; ``help`` is one line for ``ganbench list models``."""
    ARCHS.add(name, arch, help=help, knobs={k: s.help for k, s in arch.settings.items()})
    return arch


def archs_taking(setting: str, role: str | None = None) -> list[str]:
    """The architectures (sorted) whose tables accept ``setting`` (for ``role``, if given)."""
    return [n for n in ARCHS.names() if ARCHS.get(n).takes(setting, role)]


def build_generator(cfg, shape: tuple[int, ...]):
    """G for samples of ``shape`` (a flat ``(dim,)`` or an image ``(H, W, C)``)."""
    return ARCHS.get(cfg.arch).generator(cfg, tuple(shape))


def build_discriminator(cfg, shape: tuple[int, ...]):
    """D for inputs of ``shape`` (after packing)."""
    return ARCHS.get(cfg.arch).discriminator(cfg, tuple(shape))


def square_image(sizes: Callable[[int], bool], allowed: str) -> Callable[[tuple], str | None]:
    """A :attr:`Arch.check_shape` for square images whose side passes ``sizes``; ``allowed``
    says which sides in messages."""

    def check(shape: tuple[int, ...]) -> str | None:
        if len(shape) != 3:
            return f"takes images (H, W, C), not samples of shape {tuple(shape)}"
        h, w, _ = shape
        if h != w or not sizes(h):
            return f"makes and judges {allowed} images, not {h} x {w}"
        return None

    return check
