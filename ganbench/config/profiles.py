"""Suite profiles: named sets of overrides (``[profiles.<name>]``, ``--profile NAME``), checked
against the document and applied before ``--set``.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ganbench.config.expand import deep_merge
from ganbench.config.limits import MAX_PROFILES
from ganbench.config.problems import (
    Problems,
    error_message,
    find_line,
    profile_line,
    raise_problems,
    unknown_key,
    walk_errors,
)
from ganbench.config.schema import MetricsSection, RunConfig, SuiteSection
from ganbench.config.search import dotted_keys
from ganbench.errors import ConfigError
from ganbench.text import clip, short, suggestion

PROFILE_KEYS = ("description", "suite", "metrics", "defaults", "variants", "grid", "search")
"""What a ``[profiles.<name>]`` table may hold: a description, and overrides of these sections
of the suite document, written as in the document."""


PROFILE_SUITE_KEYS = ("seeds", "steps", "eval_every")
"""The ``[suite]`` keys a profile may set: the budget. The name (the results folder, where the
profiles' runs live side by side) and the description stay the suite's."""


def check_profiles(raw: dict[str, Any], path: Path, text: str) -> None:
    """Check the shape of every ``[profiles.<name>]`` table, chosen or not, so a typo in a
    profile is an error on every run of the suite: only :data:`PROFILE_KEYS`, ``suite`` only
    :data:`PROFILE_SUITE_KEYS`, sections that are tables, ``variants.<name>`` naming a variant of
    the suite. Values are checked by the suite's schema once the profile is applied."""
    profiles = raw.get("profiles")
    recorded = recorded_profile(raw)
    if recorded is not None and not (isinstance(profiles, dict) and recorded in profiles):
        line = find_line(text, "suite", None, ["profile"])
        defined = ", ".join(clip(p, 40) for p in profiles) if isinstance(profiles, dict) else ""
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(
            f"{where}: suite.profile: {short(recorded)} names no profile of this suite "
            f"(it records the profile a suite.toml beside results was expanded with); "
            f"profiles: {defined or 'none'}"
        )
    section = raw.get("suite") if isinstance(raw.get("suite"), dict) else {}
    digest = section.get("profile_sha256")
    if recorded is not None and isinstance(profiles, dict):
        if digest != profile_digest(recorded, profiles[recorded]):
            line = find_line(text, "suite", None, ["profile"])
            where = f"{path}:{line}" if line else str(path)
            why = (
                "a suite does not write it: it would label the runs with profile "
                f"{short(recorded)} without applying it"
                if digest is None
                else f"profile {short(recorded)} has changed since this document was expanded "
                "with it (suite.profile_sha256 differs)"
            )
            raise ConfigError(
                f"{where}: suite.profile: ganbench records the profile a suite.toml beside "
                f"results was expanded with; {why}. Choose a profile with --profile "
                f"{short(recorded)} (and remove suite.profile)"
            )
    elif digest is not None:
        raise ConfigError(
            f"{path}: suite.profile_sha256: written by ganbench with suite.profile only; remove it"
        )
    if not isinstance(profiles, dict):
        return  # absent, or not a table: reported by the schema
    problems = Problems(path, text, set())
    if len(profiles) > MAX_PROFILES:
        raise ConfigError(
            f"{path}: profiles: a suite defines at most {MAX_PROFILES} profiles, "
            f"got {len(profiles):,}"
        )
    variants = raw.get("variants") if isinstance(raw.get("variants"), list) else []
    names = [v["name"] for v in variants if isinstance(v, dict) and isinstance(v.get("name"), str)]

    def add(name: str, keys: list[str], message: str | Callable[[], str]) -> None:
        if problems.full:
            return  # placing and wording more than the listed problems costs time for nothing
        if callable(message):
            message = message()
        shown = [clip(name, 40), *(clip(k, 40) for k in keys)]
        line = profile_line(text, name, keys)
        where = f"{path}:{line}" if line else str(path)
        item = f"{where}: profiles.{'.'.join(shown)}: {message}"
        if not problems.full and item not in problems.items:
            problems.items.append(item)

    for name, profile in profiles.items():
        if problems.full:
            break
        if not isinstance(profile, dict):
            add(name, [], f"must be a table such as [profiles.{clip(name, 40)}]")
            continue
        for key, value in profile.items():
            if problems.full:
                break
            if key not in PROFILE_KEYS:
                add(name, [key], partial(unknown_key, key, PROFILE_KEYS))
            elif key == "description":
                if not isinstance(value, str):
                    add(name, [key], f"must be a string (got {short(value)})")
            elif not isinstance(value, dict):
                add(name, [key], f"must be a table, such as {key} = {{ ... }} (got {short(value)})")
            elif key == "suite":
                for sub in value:
                    if problems.full:
                        break
                    if sub not in PROFILE_SUITE_KEYS:
                        add(name, [key, sub], unknown_key(sub, PROFILE_SUITE_KEYS)
                            + " (a profile changes the budget; the suite's name and "
                            "description stay)")  # fmt: skip
                if set(value) <= set(PROFILE_SUITE_KEYS):
                    _check_section(raw, "suite", value, SuiteSection, name, add)
            elif key == "metrics":
                _check_section(raw, "metrics", value, MetricsSection, name, add)
            elif key == "defaults":
                for sub in value:
                    if problems.full:
                        break
                    if sub not in RUN_KEYS:
                        add(name, [key, sub], partial(unknown_key, sub, RUN_KEYS[1:]))
            elif key == "grid":
                for sub in value:
                    if problems.full:
                        break
                    if sub.split(".")[0] not in RUN_KEYS or sub == "name":
                        add(name, [key, sub], lambda sub=sub: unknown_key(sub, RUN_KEYS[1:])
                            + " (dotted keys reach into tables, as in [grid])")  # fmt: skip
            elif key == "variants":
                for vname, over in value.items():
                    if problems.full:
                        break
                    if vname not in names:
                        add(name, [key, vname], partial(_no_variant, vname, names))
                    elif not isinstance(over, dict):
                        add(name, [key, vname], f"must be a table of the variant's keys "
                            f"(got {short(over)})")  # fmt: skip
                    elif "name" in over:
                        add(name, [key, vname, "name"], "a profile cannot rename a variant")
                    else:
                        for sub in over:
                            if problems.full:
                                break
                            if sub not in RUN_KEYS:
                                add(name, [key, vname, sub],
                                    partial(unknown_key, sub, RUN_KEYS[1:]))  # fmt: skip
    raise_problems(problems)


def _no_variant(vname: str, names: list[str]) -> str:
    hint = suggestion(vname, names)
    listed = ", ".join(clip(n, 40) for n in names[:50])
    return f"no variant {short(vname)}{hint} variants: {listed}" + (
        f" (and {len(names) - 50:,} more)" if len(names) > 50 else ""
    )


RUN_KEYS = tuple(RunConfig.model_fields)
"""The keys of a variant (and of [defaults]); ``name`` first."""


def _check_section(raw: dict[str, Any], section: str, over: dict, model, name: str, add) -> None:
    """Validate ``[section]`` of the document with profile ``name``'s values merged in, and
    report the problems at the keys the profile sets (the others are the document's, reported
    when it is validated). Cheap: one small table, so every profile is checked on every load."""
    base = raw.get(section, {})
    if not isinstance(base, dict):
        return
    try:
        model.model_validate(deep_merge(base, over))
    except ValidationError as exc:
        leaves = set(_leaves(over))
        for loc, err in walk_errors(exc):
            keys = [str(p) for p in loc]
            dotted = ".".join(keys)
            if dotted in leaves or any(dotted.startswith(leaf + ".") for leaf in leaves):
                add(name, [section, *keys], error_message(err, model))


def apply_profile(raw: dict[str, Any], name: str, path: Path) -> set[str]:
    """Apply profile ``name`` of the document ``raw`` to it, in place; returns the document keys
    it set (``suite.steps``, ``variants.<name>.n_critic``, ``grid.dataset``...).

    ``suite``, ``metrics`` and ``defaults`` merge into those sections and
    ``variants.<name>`` into that variant as a variant merges over ``[defaults]`` (tables
    recursively; a table naming another registry item replaces it); ``grid.<key>`` replaces
    that grid key's list. The profile's name is recorded as ``suite.profile``. Raises
    ConfigError for a name the suite does not define, listing those it does."""
    profiles = raw.get("profiles") if isinstance(raw.get("profiles"), dict) else {}
    recorded = recorded_profile(raw)
    if recorded is not None:
        if recorded == name:
            return set()  # a suite.toml written beside results: the profile is applied already
        raise ConfigError(
            f"{path}: --profile {short(name)}: this document is its suite expanded with profile "
            f"{recorded!r} (suite.profile); run the original suite file with --profile "
            f"{short(name)}"
        )
    if name not in profiles:
        defined = list(profiles)
        hint = suggestion(name, defined)
        listed = (
            f"profiles: {', '.join(clip(p, 40) for p in defined)}"
            if defined
            else "the suite defines no profiles ([profiles.<name>] tables)"
        )
        raise ConfigError(f"{path}: --profile {short(name)}: no such profile{hint} {listed}")
    profile = profiles[name]
    touched: set[str] = set()
    for section in ("suite", "metrics", "defaults", "search"):
        over = profile.get(section)
        if over is None:
            continue
        if section == "search":  # knobs are dotted names, however the tables are written
            over = dotted_keys(over)
        base = raw.get(section, {})
        if section == "search" and isinstance(base, dict):
            raw[section] = {**dotted_keys(base), **copy.deepcopy(over)}
            touched |= {f"search.{key}" for key in over}
        elif isinstance(base, dict):  # else the document is wrong, and the schema says so
            raw[section] = deep_merge(base, over)
            touched |= {f"{section}.{leaf}" for leaf in _leaves(over)}
        else:
            touched |= {f"{section}.{leaf}" for leaf in _leaves(over)}
    variants = raw.get("variants") if isinstance(raw.get("variants"), list) else []
    for vname, over in profile.get("variants", {}).items():
        for i, variant in enumerate(variants):
            if isinstance(variant, dict) and variant.get("name") == vname:
                variants[i] = deep_merge(variant, over)
        touched |= {f"variants.{vname}.{leaf}" for leaf in _leaves(over)}
    if profile.get("grid"):
        grid = raw.setdefault("grid", {})
        if isinstance(grid, dict):
            for key, values in profile["grid"].items():
                grid[key] = copy.deepcopy(values)
                touched.add(f"grid.{key}")
    if isinstance(raw.get("suite"), dict):
        raw["suite"]["profile"] = name
        raw["suite"]["profile_sha256"] = profile_digest(name, profile)
    return touched


def profile_digest(name: str, profile: Any) -> str:
    """The SHA-256 (hex) of a profile's name and table, recorded beside ``suite.profile`` when
    the profile is applied, so that a document claims a profile only where ganbench applied
    it (and the profile has not changed since)."""
    blob = json.dumps({"name": name, "profile": profile}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def recorded_profile(raw: dict[str, Any]) -> str | None:
    section = raw.get("suite")
    recorded = section.get("profile") if isinstance(section, dict) else None
    return recorded if isinstance(recorded, str) else None


def _leaves(table: dict[str, Any]) -> list[str]:
    """Dotted paths of the non-table values in ``table`` (iteratively)."""
    out: list[str] = []
    stack: list[tuple[str, Any]] = [(str(k), v) for k, v in table.items()]
    while stack:
        key, value = stack.pop()
        if isinstance(value, dict) and value:
            stack.extend((f"{key}.{k}", v) for k, v in value.items())
        else:
            out.append(key)
    return out
