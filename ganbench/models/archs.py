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
import re
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
    ``init``, ``channels``, ``pieces``, ``weight_init``, ``input_scale``: :data:`COMMON`) keep their types, ranges
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
    "input_scale",
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


PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SETTING_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SETTING_FIELDS = ("help", "roles", "kind", "default", "low", "high", "choices")


def _plugin_setting(arch: str, name: Any, spec: Any) -> Setting:
    """A plugin's declared setting as a :class:`Setting`, checked (ConfigError otherwise)."""
    from ganbench.errors import ConfigError

    where = f"register_network({arch!r}): setting {name!r}"
    if not isinstance(name, str) or not SETTING_NAME.match(name) or name == "arch":
        raise ConfigError(
            f"register_network({arch!r}): {name!r} is not a setting name (lower-case letters, "
            "digits and '_', starting with a letter; not 'arch')"
        )
    if isinstance(spec, Mapping):
        unknown = set(spec) - set(SETTING_FIELDS)
        if unknown:
            raise ConfigError(
                f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}; allowed: "
                f"{', '.join(SETTING_FIELDS)}"
            )
        try:
            spec = Setting(
                **{k: tuple(v) if k in ("roles", "choices") else v for k, v in spec.items()}
            )
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if not isinstance(spec, Setting):
        raise ConfigError(f"{where}: declare it as a Setting or a dict of its fields, got {spec!r}")
    if not isinstance(spec.help, str) or not spec.help.strip():
        raise ConfigError(f"{where}: needs a help text")
    if not spec.roles or any(r not in ROLES for r in spec.roles):
        raise ConfigError(f"{where}: roles must be among {', '.join(ROLES)}, got {spec.roles!r}")
    if name in COMMON:
        if spec.kind is not None or spec.default is not None:
            raise ConfigError(
                f"{where}: {name!r} is a common setting with its own type and default; declare "
                "only its help (and roles)"
            )
        return spec
    if spec.kind not in SETTING_KINDS:
        raise ConfigError(f"{where}: kind must be one of int, float, bool, str; got {spec.kind!r}")
    if (problem := spec.check(name, spec.default)) is not None:
        raise ConfigError(f"{where}: its default does not pass its own check: {problem}")
    return spec


def register_plugin_arch(
    name: str,
    *,
    help: str,
    generator: Callable[..., Any] | None,
    discriminator: Callable[..., Any] | None,
    settings: Mapping[str, Any] | None,
    images: bool,
    train_flag: bool,
    batch_norm: bool,
    d_batch_stats: bool,
    check_shape: Callable[[tuple[int, ...]], str | None] | None,
    module: str,
) -> Arch:
    """Check and register a network of a plugin (``ganbench.register_network``).

    Raises:
        ConfigError: with what is wrong and what is allowed.
    """
    from ganbench.errors import ConfigError

    if not isinstance(name, str) or not PLUGIN_NAME.match(name):
        raise ConfigError(
            f"register_network: {name!r} is not an architecture name (1-64 lower-case letters, "
            "digits and '_', starting with a letter)"
        )
    if name in ARCHS:
        other = ARCHS.get(name).module
        raise ConfigError(
            f"register_network: architecture {name!r} is already registered (by module "
            f"{other!r}); choose another name"
        )
    if not isinstance(help, str) or not help.strip():
        raise ConfigError(f"register_network({name!r}): needs a help text (one line)")
    for role, builder in (("generator", generator), ("discriminator", discriminator)):
        if builder is not None and not callable(builder):
            raise ConfigError(
                f"register_network({name!r}): {role} must be a builder (cfg, shape) -> "
                f"flax.linen.Module, got {type(builder).__name__}"
            )
    if generator is None and discriminator is None:
        raise ConfigError(f"register_network({name!r}): give a generator, a discriminator or both")
    if check_shape is not None and not callable(check_shape):
        raise ConfigError(f"register_network({name!r}): check_shape must be callable")
    flags = {"images": images, "train_flag": train_flag, "batch_norm": batch_norm,
             "d_batch_stats": d_batch_stats}  # fmt: skip
    for flag, value in flags.items():
        if not isinstance(value, bool):
            raise ConfigError(f"register_network({name!r}): {flag} must be True or False")
    if batch_norm and not train_flag:
        raise ConfigError(
            f"register_network({name!r}): batch_norm needs train_flag (the generator is called "
            "with train=True in training and train=False when sampling)"
        )
    if settings is not None and not isinstance(settings, Mapping):
        raise ConfigError(f"register_network({name!r}): settings must be a mapping")
    declared = {k: _plugin_setting(name, k, v) for k, v in (settings or {}).items()}
    arch = Arch(
        generator,
        discriminator,
        settings=declared,
        **flags,
        check_shape=check_shape,
        module=module if not module.startswith("ganbench.") else f"plugin {module}",
    )
    return register_arch(name, arch, help=help)
