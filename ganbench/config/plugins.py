"""Plugins: Python modules that a suite imports before it is validated, so that they can
register networks, losses, penalties and datasets through the public API
(``ganbench.register_network``, ``register_loss``, ``register_dataset``).

A suite lists them in ``[suite] imports = ["mypackage.gans"]``; ``ganbench run --import MODULE``
and ``ganbench validate --import MODULE`` add more (they are recorded in the suite.toml written
beside the results, so running that file again imports them too). Modules are imported by name
from the environment that runs ganbench (installed, or on ``PYTHONPATH``); nothing is added to
the import path, so a suite names code that is already there and cannot bring its own. Importing
a module runs its code: a suite that lists imports is a program, not only a description. Only
``validate`` and ``run`` (and the API's ``load_suite``, ``run_suite``) import; ``report``,
``compare`` and ``eval`` read results without importing anything they name.

A module that cannot be imported, raises while it is imported, or registers something invalid
gives a :class:`ConfigError` (exit 2) that names the module. The networks a plugin registers
are built and traced once (shapes only) when a suite using them is validated, so a generator
whose output does not have the data's shape, or a discriminator that does not return one logit
per input, is refused with the module's name before anything is trained.
"""

from __future__ import annotations

import importlib
import json
import math
import re
from typing import Any

from ganbench.errors import ConfigError, GanbenchError
from ganbench.text import clip

MODULE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
MODULE_HELP = "a dotted Python module name such as 'mypackage.gans'"
MAX_IMPORTS = 32
MAX_MODULE_LENGTH = 200


def check_modules(value: Any, where: str) -> list[str]:
    """``value`` as a list of module names, or ConfigError saying what is wrong at ``where``."""
    if not isinstance(value, list):
        raise ConfigError(f"{where}: imports must be a list of module names ({MODULE_HELP})")
    if len(value) > MAX_IMPORTS:
        raise ConfigError(f"{where}: at most {MAX_IMPORTS} imports, got {len(value):,}")
    names = []
    for item in value:
        if (
            not isinstance(item, str)
            or len(item) > MAX_MODULE_LENGTH
            or not MODULE_PATTERN.match(item)
        ):
            shown = clip(repr(item), 80)
            raise ConfigError(f"{where}: {shown} is not a module name; imports are {MODULE_HELP}")
        if item not in names:
            names.append(item)
    return names


def import_modules(modules: list[str], where: str) -> None:
    """Import each module in order (a module already imported is not run again).

    Raises:
        ConfigError: a module that cannot be imported or raises while it runs (its registration
            of something invalid included), naming the module and ``where`` it was listed.
    """
    for name in modules:
        try:
            importlib.import_module(name)
        except GanbenchError as exc:
            raise ConfigError(f"plugin module {name!r} ({where}): {exc}") from None
        except ModuleNotFoundError as exc:
            missing = exc.name or name
            raise ConfigError(
                f"cannot import plugin module {name!r} ({where}): no module named {missing!r} "
                "(a plugin must be importable where ganbench runs: installed, or on PYTHONPATH)"
            ) from None
        except (Exception, SystemExit) as exc:
            text = clip(str(exc), 500)
            raise ConfigError(
                f"plugin module {name!r} ({where}) failed while it was imported: "
                f"{type(exc).__name__}{': ' + text if text else ''}"
            ) from None


_CHECKED: dict[str, str | None] = {}


def network_problem(config, role: str) -> str | None:
    """Why ``role``'s network of a run (a plugin's architecture) cannot be built, initialised
    and applied to a batch of the run's shapes, or None. Traced with shapes only (no compute),
    once per distinct configuration."""
    from ganbench.models import ARCHS

    table = getattr(config, role)
    arch = ARCHS.get(table.arch)
    if arch.builtin:
        return None
    key = json.dumps([role, config.resolved(), config.pack], sort_keys=True, default=str)
    if key not in _CHECKED:
        _CHECKED[key] = _trace(config, role, arch)
    return _CHECKED[key]


def _trace(config, role: str, arch) -> str | None:
    import jax
    import jax.numpy as jnp

    from ganbench.config.expand import hparams_of, structure_of
    from ganbench.train.engine import Program

    who = f"{role}.arch {getattr(config, role).arch!r} (registered by module {arch.module!r})"
    try:
        program = Program(structure_of(config), eval_every=1, samples=2)
        state = jax.eval_shape(program.init, jnp.zeros((), jnp.int32), hparams_of(config, 1))
        z = jax.ShapeDtypeStruct((2, config.z_dim), jnp.float32)
        if role == "generator":
            out = jax.eval_shape(
                lambda p, s, z: program.generator.apply(
                    {"params": p, **s}, z, **program._train_kwargs(program.g_arch, False)
                ),
                state.g_params,
                state.g_stats,
                z,
            )
            size = math.prod(program.shape)
            if out.shape not in ((2, *program.shape), (2, size)):
                return (
                    f"{who} makes samples of shape {tuple(out.shape[1:])} from a batch of latent "
                    f"codes; the dataset's samples have shape {program.shape}"
                )
        else:
            x = jax.ShapeDtypeStruct((2, *program._d_in), jnp.float32)
            out = jax.eval_shape(
                lambda p, s, x: program.discriminator.apply(
                    {"params": p, **s}, x, **program._train_kwargs(program.d_arch, False)
                ),
                state.d_params,
                state.d_stats,
                x,
            )
            if tuple(out.shape) != (2, 1):
                return (
                    f"{who} returns shape {tuple(out.shape)} for a batch of 2 inputs; a "
                    "discriminator returns one logit per input, shape (N, 1)"
                )
    except GanbenchError:
        raise
    except Exception as exc:
        text = clip(str(exc).splitlines()[0] if str(exc) else "", 300)
        return (
            f"{who} cannot be built or applied: {type(exc).__name__}{': ' + text if text else ''}"
        )
    return None
