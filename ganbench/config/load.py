"""Load a suite file, apply command-line overrides, validate, expand into runs.

All problems are collected and raised together as one :class:`ConfigError`, each line naming the
file, the line where possible, the key and what is allowed. Nothing is written before a suite has
validated completely.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ganbench.config.schema import (
    MAX_EXPANDED_VALUES,
    MAX_NESTING,
    MAX_PROFILES,
    MAX_RUNS,
    MAX_SEEDS,
    MAX_SUITE_BYTES,
    MetricsSection,
    RunConfig,
    SuiteFile,
    SuiteSection,
)
from ganbench.errors import ConfigError
from ganbench.references import MAX_REFERENCES, Reference, check_against_suite
from ganbench.references import SECTION as REFERENCE_SECTION
from ganbench.text import clip, short, suggestion


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

    def identity(self) -> dict:
        return _identity(
            self.config, self.seed, self.steps, self.eval_every, self.metrics, self.profile
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


# --------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a", "b", "c"], value); the value is read as TOML when it can be."""
    if "=" not in text:
        raise ConfigError(f"--set {short(text)}: expected KEY=VALUE, e.g. defaults.batch_size=512")
    key, _, value_text = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {short(text)}: empty key; expected KEY=VALUE")
    if key.count(".") >= MAX_NESTING:
        raise ConfigError(
            f"--set {short(text)}: key of more than {MAX_NESTING} parts; a suite nests at most "
            f"{MAX_NESTING} levels"
        )
    _check_key_chains(value_text, f"--set {short(text)}")
    try:
        value = tomllib.loads(f"v = {value_text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text.strip()  # a bare word, e.g. --set defaults.loss=hinge
    except ValueError as exc:  # e.g. an integer of more than 4300 decimal digits
        raise ConfigError(f"--set {short(text)}: not a valid value: {exc}") from None
    except RecursionError:
        raise ConfigError(
            f"--set {short(text)}: value nested too deeply; at most {MAX_NESTING} levels of "
            "arrays and tables"
        ) from None
    return key.split("."), value


def apply_override(raw: dict[str, Any], path: list[str], value: Any, source: str) -> None:
    """Set ``path`` in the suite document. ``variants.<name or index>.key`` addresses a variant."""
    node: Any = raw
    for i, part in enumerate(path[:-1]):
        if isinstance(node, list):
            if path[:i] != ["variants"]:
                raise ConfigError(
                    f"{source}: {'.'.join(path[:i])} is an array; only variants.<name or "
                    "index> addresses an array element (set the whole array instead)"
                )
            node = _variant(node, part, source)
            continue
        if part not in node:
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict | list):
            raise ConfigError(f"{source}: {'.'.join(path[: i + 1])} is not a table")
    last = path[-1]
    if isinstance(node, list):
        raise ConfigError(f"{source}: cannot replace a whole variant; set one of its keys")
    node[last] = value


def _variant(variants: list, part: str, source: str) -> dict:
    if part.isascii() and part.isdigit() and int(part) < len(variants):
        if not isinstance(variants[int(part)], dict):
            raise ConfigError(f"{source}: variants[{part}] is not a table")
        return variants[int(part)]
    for v in variants:
        if isinstance(v, dict) and v.get("name") == part:
            return v
    names = [clip(str(v.get("name"))) for v in variants if isinstance(v, dict)][:50]
    hint = suggestion(part, names)
    raise ConfigError(f"{source}: no variant {short(part)}{hint} variants: {', '.join(names)}")


# --------------------------------------------------------------------------- locations


def _header_regex(parts: list[str]) -> re.Pattern:
    body = r"\s*\.\s*".join(re.escape(p) for p in parts)
    return re.compile(rf"^\s*\[\[?\s*{body}\s*\]\]?\s*(#.*)?$")


def find_line(text: str, section: str, index: int | None, keys: list[str]) -> int | None:
    """1-based line of ``keys`` inside ``[section]`` (the ``index``-th ``[[section]]``)."""
    lines = text.splitlines()
    header = re.compile(r"^\s*\[")
    start, count = None, -1
    for n, line in enumerate(lines):
        if _header_regex([section]).match(line):
            count += 1
            if index is None or count == index:
                start = n
                break
    if start is None:
        return None
    end = next(
        (
            m
            for m in range(start + 1, len(lines))
            if header.match(lines[m])
            and not any(
                _header_regex([section, *keys[:j]]).match(lines[m]) for j in range(1, len(keys) + 1)
            )
        ),
        len(lines),
    )
    best = start + 1
    for depth in range(len(keys), 0, -1):
        sub = keys[:depth]
        # A sub-table header [section.a.b] or a key line a = / a.b = inside the region.
        for m in range(start, end):
            if _header_regex([section, *sub]).match(lines[m]):
                return m + 1
        dotted = r"\s*\.\s*".join(re.escape(p) for p in sub)
        quoted = re.escape(sub[-1])
        key_re = re.compile(rf"^\s*{dotted}\s*=|^\s*\"{quoted}\"\s*=")
        for m in range(start + 1, end):
            if key_re.match(lines[m]):
                return m + 1
    return best


# --------------------------------------------------------------------------- validation


MAX_PROBLEMS = 100
"""Most problems listed in one error (a hostile file could have millions)."""


class _Problems:
    def __init__(self, path: Path, text: str, overrides: set[str]) -> None:
        self.path, self.text, self.overrides = path, text, overrides
        self.items: list[str] = []
        self.profile: str | None = None
        """The chosen profile: problems at keys it set are reported at profiles.<name>.<key>."""
        self.profile_keys: set[str] = set()
        self.variant_names: list[Any] = []

    @property
    def full(self) -> bool:
        return len(self.items) >= MAX_PROBLEMS

    def add(
        self, message: str, section: str | None, index: int | None, keys: list[str], label: str
    ) -> None:
        if self.full:
            return
        keys = [clip(k, 40) for k in keys]
        dotted = ".".join([label, *keys]) if keys else label
        line = None
        full = ".".join([section or "", *keys]) if section else ""
        if full in self.overrides or any(full.startswith(o + ".") for o in self.overrides):
            where = f"{self.path} (--set {full})"
        elif (profile_key := self._profile_key(section, index, keys)) is not None:
            dotted = f"profiles.{self.profile}.{profile_key}"
            line = _profile_line(self.text, str(self.profile), profile_key.split("."))
            where = f"{self.path}:{line}" if line else str(self.path)
        else:
            if section is not None:
                line = find_line(self.text, section, index, keys)
            where = f"{self.path}:{line}" if line else str(self.path)
        item = f"{where}: {dotted}: {message}"
        if item not in self.items:
            self.items.append(item)

    def _profile_key(self, section: str | None, index: int | None, keys: list[str]) -> str | None:
        """The key of the chosen profile that set the document key of a problem, if any (a
        profile's keys mirror the document's: ``metrics.samples``, ``variants.<name>.<key>``)."""
        if self.profile is None or not self.profile_keys or section is None:
            return None
        if section == "variants":
            if index is None or index >= len(self.variant_names):
                return None
            name = self.variant_names[index]
            if not isinstance(name, str):
                return None
            key = ".".join(["variants", name, *keys])
        else:
            key = ".".join([section, *keys])
        for touched in sorted(self.profile_keys):
            if key == touched or key.startswith(touched + "."):
                return key
            if touched.startswith(key + "."):
                return touched
        return None


def _message(err: dict, model: type[BaseModel] | None) -> str:
    kind = err["type"]
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1])
        key = str(err["loc"][-1])
        hint = suggestion(key, allowed)
        return f"unknown key {key!r}{hint} allowed: {', '.join(allowed)}"
    if kind == "missing":
        return "required key is missing"
    if kind in _BOUND_ERRORS and (allowed := _allowed_range(model, err["loc"])):
        return f"{msg} (allowed: {allowed}; got {short(err.get('input'))})"
    if (
        "input" in err
        and kind not in ("value_error", "assertion_error")
        and not isinstance(err["input"], dict)
    ):
        msg = f"{msg} (got {short(err['input'])})"
    return clip(msg, 2000)


_BOUND_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _allowed_range(model: type[BaseModel] | None, loc: tuple) -> str | None:
    """The allowed interval of the numeric field at ``loc``, e.g. ``[1, 16384]``."""
    current: Any = model
    info = None
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(str(part))
        if info is None:
            return None
        current = info.annotation
    if info is None:
        return None
    low, high = "(-inf", "inf)"
    for item in info.metadata:
        if (bound := getattr(item, "ge", None)) is not None:
            low = f"[{_number(bound)}"
        if (bound := getattr(item, "gt", None)) is not None:
            low = f"({_number(bound)}"
        if (bound := getattr(item, "le", None)) is not None:
            high = f"{_number(bound)}]"
        if (bound := getattr(item, "lt", None)) is not None:
            high = f"{_number(bound)})"
    return f"{low}, {high}"


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _allowed_keys(model: type[BaseModel] | None, loc: tuple) -> list[str]:
    current: Any = model
    for part in loc:
        if current is None or not isinstance(current, type) or not issubclass(current, BaseModel):
            return []
        info = current.model_fields.get(str(part))
        if info is None:
            return []
        current = info.annotation
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _walk_errors(exc: ValidationError):
    for err in exc.errors():
        yield (
            [p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-")],
            err,
        )


def _deep_merge(base: dict, over: dict) -> dict:
    """``over`` merged into ``base``, tables recursively.

    A table that names a different registry item than the one it overrides (an optimizer or
    penalty with another ``name``, a model with another ``arch``) replaces it: the old item's
    knobs mean nothing to the new one.
    """
    out = copy.deepcopy(base)
    for k, v in over.items():
        if (
            isinstance(v, dict)
            and isinstance(out.get(k), dict)
            and any(tag in v and v[tag] != out[k].get(tag, v[tag]) for tag in ("name", "arch"))
        ):
            out[k] = copy.deepcopy(v)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _has_path(d: Any, keys: list) -> bool:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return False
        d = d[k]
    return True


def _set_path(d: dict, keys: list[str], value: Any) -> None:
    for k in keys[:-1]:
        if not isinstance(d.get(k), dict):
            d[k] = {}
        d = d[k]
    d[keys[-1]] = value


def _identity(
    config: RunConfig, seed: int, steps: int, eval_every: int, metrics, profile: str | None = None
) -> dict:
    identity = {
        "config": config.resolved(),
        "seed": seed,
        "steps": steps,
        "eval_every": eval_every,
        "metrics": metrics.identity(image_data=_is_image(config.dataset)),
    }
    if profile is not None:
        # Only with a profile: the runs of a suite as written keep their ids, and a profile's
        # runs never share an id (or a results folder entry) with the suite's own.
        identity["profile"] = profile
    return identity


@functools.cache
def _is_image(dataset: str) -> bool:
    from ganbench.data import get_dataset

    return bool(getattr(get_dataset(dataset), "is_image", False))


MIN_IMAGE_SAMPLES = 6
"""Smallest metrics.samples for image datasets: density/coverage (Naeem et al. 2020, k = 5)
need k + 1 real samples."""

INCEPTION_KEY = "metrics.inception_weights"


def _resolve_inception(suite_file: SuiteFile, path: Path, overrides: set[str]) -> SuiteFile:
    """``[metrics] inception_weights`` made absolute: ``~`` expanded, a relative path taken
    relative to the suite file's folder, or to the working directory when it came from
    ``--set``. The file itself is checked when it is loaded (``load_extractor``)."""
    weights = suite_file.metrics.inception_weights
    if weights is None:
        return suite_file
    target = Path(weights).expanduser()
    if not target.is_absolute():
        from_cli = INCEPTION_KEY in overrides or "metrics" in overrides
        target = (Path.cwd() if from_cli else path.parent) / target
    metrics = suite_file.metrics.model_copy(update={"inception_weights": os.path.abspath(target)})
    return suite_file.model_copy(update={"metrics": metrics})


def make_run_id(identity: dict) -> str:
    """A short, stable hash of a run's resolved configuration and seed."""
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def _validate_variants(
    defaults: dict, variants: list, grid: dict, problems: _Problems
) -> list[tuple[RunConfig, dict[str, Any]]]:
    grid_points = _grid_points(grid)
    out: list[tuple[RunConfig, dict[str, Any]]] = []
    names: dict[str, int] = {}
    for i, variant in enumerate(variants):
        if not isinstance(variant, dict):
            continue  # reported by the top-level validation
        vname = variant.get("name")
        label = f"variants[{i}]" + (f" ({_display(vname)})" if isinstance(vname, str) else "")
        if isinstance(vname, str):
            if vname in names:
                problems.add(
                    f"duplicate variant name {vname!r} (also variants[{names[vname]}])",
                    "variants",
                    i,
                    ["name"],
                    label,
                )
            names.setdefault(vname, i)
        if problems.full:
            break  # the error lists MAX_PROBLEMS already; stop spending time on a bad suite
        merged = _deep_merge(defaults, variant)
        seen: set[tuple] = set()
        for point in grid_points:
            if problems.full:
                break
            resolved = copy.deepcopy(merged)
            for key, value in point.items():
                _set_path(resolved, key.split("."), value)
            try:
                out.append((RunConfig.model_validate(resolved), point))
            except ValidationError as exc:
                for loc, err in _walk_errors(exc):
                    keys = [str(p) for p in loc]
                    sig = (tuple(keys), err["type"], str(err.get("input")))
                    if sig in seen:
                        continue
                    seen.add(sig)
                    dotted = ".".join(keys)
                    message = _message(err, RunConfig)
                    grid_key = next(
                        (g for g in point if dotted == g or dotted.startswith(g + ".")), None
                    )
                    if grid_key is not None:
                        problems.add(message, "grid", None, [grid_key], "grid")
                    elif _has_path(variant, keys[:1]) or not _has_path(defaults, keys[:1]):
                        problems.add(message, "variants", i, keys, label)
                    else:
                        problems.add(message, "defaults", None, keys, "defaults")
    return out


def validate_document(
    raw: dict[str, Any],
    *,
    path: Path,
    text: str,
    overrides: set[str] | None = None,
    profile: str | None = None,
    profile_keys: set[str] | None = None,
) -> Suite:
    """Validate a parsed suite document and expand it into runs (raises ConfigError).

    ``profile``, ``profile_keys``: the profile applied to ``raw`` and the document keys it set
    (:func:`apply_profile`), so that a problem at one of them names ``profiles.<name>.<key>``.
    """
    problems = _Problems(path, text, overrides or set())
    problems.profile, problems.profile_keys = profile, set(profile_keys or ())
    if isinstance(raw.get("variants"), list):
        problems.variant_names = [v.get("name") if isinstance(v, dict) else None
                                  for v in raw["variants"]]  # fmt: skip
    suite_file: SuiteFile | None = None
    try:
        suite_file = SuiteFile.model_validate(raw)
    except ValidationError as exc:
        for loc, err in _walk_errors(exc):
            section = str(loc[0]) if loc else None
            index = (
                loc[1]
                if section in ("variants", REFERENCE_SECTION)
                and len(loc) > 1
                and isinstance(loc[1], int)
                else None
            )
            keys = [str(p) for p in loc[2 if index is not None else 1 :]]
            label = f"{section}[{index}]" if index is not None else (section or "suite file")
            problems.add(_message(err, SuiteFile), section, index, keys, label)

    # Validate every variant at every grid point even when another section is wrong, so one
    # pass reports every problem.
    defaults = raw.get("defaults") if isinstance(raw.get("defaults"), dict) else {}
    variants = raw.get("variants") if isinstance(raw.get("variants"), list) else []
    grid = raw.get("grid") if isinstance(raw.get("grid"), dict) else {}
    if any(not isinstance(v, list) or not v for v in grid.values()):
        grid = {}
    _check_size(raw, defaults, variants, grid, problems)
    configs = _validate_variants(defaults, variants, grid, problems)
    references = _validate_references(raw, variants, grid, problems)
    if (
        suite_file is not None
        and suite_file.metrics.inception_weights is not None
        and configs
        and not any(_is_image(config.dataset) for config, _ in configs)
    ):
        problems.add(
            "Inception features measure images, and no run of this suite trains on an image "
            "dataset (mnist, stacked_mnist); remove inception_weights",
            "metrics",
            None,
            ["inception_weights"],
            "metrics",
        )
    if (
        suite_file is not None
        and suite_file.metrics.samples < MIN_IMAGE_SAMPLES
        and any(_is_image(config.dataset) for config, _ in configs)
    ):
        problems.add(
            f"image metrics need at least {MIN_IMAGE_SAMPLES} samples per evaluation "
            f"(density and coverage use k = 5 nearest neighbours among the real samples); "
            f"got {suite_file.metrics.samples}",
            "metrics",
            None,
            ["samples"],
            "metrics",
        )
    _raise(problems)
    assert suite_file is not None
    suite_file = _resolve_inception(suite_file, path, overrides or set())
    if suite_file.metrics.inception_weights is not None and isinstance(raw.get("metrics"), dict):
        # suite.toml beside the results names the file that was used, from any folder.
        raw["metrics"]["inception_weights"] = suite_file.metrics.inception_weights
    runs: list[RunSpec] = []
    section = suite_file.suite
    for config, point in configs:
        for seed in section.seed_list():
            identity = _identity(
                config, seed, section.steps, section.eval_every, suite_file.metrics, section.profile
            )
            runs.append(
                RunSpec(
                    run_id=make_run_id(identity),
                    suite=section.name,
                    variant=config.name,
                    seed=seed,
                    grid_point=dict(point),
                    config=config,
                    steps=section.steps,
                    eval_every=section.eval_every,
                    metrics=suite_file.metrics,
                    profile=section.profile,
                )
            )
    _raise(problems)
    ids: dict[str, RunSpec] = {}
    for r in runs:
        if r.run_id in ids:
            other = ids[r.run_id]
            problems.items.append(
                f"{path}: variants {other.variant!r} and {r.variant!r} resolve to the same run "
                f"(seed {r.seed}, grid point {r.grid_point}); make them differ or remove one"
            )
        ids[r.run_id] = r
    _raise(problems)
    return Suite(path=path, raw=raw, file=suite_file, runs=runs, references=references)


def _validate_references(
    raw: dict[str, Any], variants: list, grid: dict, problems: _Problems
) -> list[Reference]:
    """The ``[[reference]]`` tables, each validated alone and then against the suite (variant
    names, grid keys and values, duplicates); problems are added to ``problems``. A grid key
    set with ``--set`` accepts any value (its references then match no run)."""
    tables = raw.get(REFERENCE_SECTION)
    if not isinstance(tables, list):
        return []  # absent; any other type is reported by the schema
    if len(tables) > MAX_REFERENCES:
        problems.add(
            f"{len(tables):,} references; a suite holds at most {MAX_REFERENCES:,}",
            REFERENCE_SECTION,
            None,
            [],
            REFERENCE_SECTION,
        )
        return []
    parsed: dict[int, Reference] = {}
    partial: dict[int, Reference] = {}
    for i, table in enumerate(tables):
        if not isinstance(table, dict):
            continue  # reported by the schema
        try:
            parsed[i] = partial[i] = Reference.model_validate(table)
        except ValidationError as exc:
            for loc, err in _walk_errors(exc):
                keys = [str(p) for p in loc]
                problems.add(
                    _message(err, Reference), REFERENCE_SECTION, i, keys, f"reference[{i}]"
                )
            # Still check its variant and grid point against the suite: one pass, every problem.
            partial[i] = Reference.model_construct(
                variant=table.get("variant"), grid=table.get("grid")
            )
    names = [str(v["name"]) for v in variants if isinstance(v, dict) and "name" in v]
    overridden = frozenset(k for k in grid if {"grid", f"grid.{k}"} & problems.overrides)
    found = check_against_suite(partial, names, grid, overridden=overridden, complete=set(parsed))
    for i, keys, message in found:
        problems.add(message, REFERENCE_SECTION, i, keys, f"reference[{i}]")
    return [parsed[i] for i in sorted(parsed)]


def _check_size(
    raw: dict[str, Any], defaults: dict, variants: list, grid: dict, problems: _Problems
) -> None:
    """Refuse a suite that expands to more than :data:`MAX_RUNS` runs, or whose expansion would
    copy more than :data:`MAX_EXPANDED_VALUES` values, from the sizes alone (before the grid is
    expanded). Raises with every problem found so far."""
    for key in grid:  # a grid key's dotted parts nest tables (a quoted key escapes the parser)
        if key.count(".") >= MAX_NESTING:
            problems.add(
                f"a grid key of {key.count('.') + 1} dotted parts; at most {MAX_NESTING} parts",
                "grid",
                None,
                [key],
                "grid",
            )
            _raise(problems)
    tables = [v for v in variants if isinstance(v, dict)]
    points = math.prod(len(v) for v in grid.values())
    section = raw.get("suite") if isinstance(raw.get("suite"), dict) else {}
    seeds = section.get("seeds", 3)
    if isinstance(seeds, list):
        n_seeds = len(seeds)
    elif isinstance(seeds, int) and not isinstance(seeds, bool) and 1 <= seeds <= MAX_SEEDS:
        n_seeds = seeds
    else:
        n_seeds = 1  # a bad seed count is reported by the schema
    runs = len(tables) * points * n_seeds
    shape = f"{len(tables)} variants x {points:,} grid points x {n_seeds:,} seeds"
    if runs > MAX_RUNS:
        section_name, keys = (
            ("grid", [])
            if points > 1
            else ("suite", ["seeds"])
            if n_seeds > 1
            else ("variants", [])
        )
        problems.add(
            f"the suite expands to {runs:,} runs ({shape}); at most {MAX_RUNS:,} runs per suite "
            "are allowed (split it into several suites, or use fewer grid values or seeds)",
            section_name,
            None,
            keys,
            section_name,
        )
        _raise(problems)
    size = _count_values(defaults) + max((_count_values(v) for v in tables), default=0)
    size += sum(max(_count_values(x) for x in values) for values in grid.values())
    if len(tables) * points * size > MAX_EXPANDED_VALUES:
        problems.add(
            f"the suite expands to {len(tables) * points:,} run configurations of up to "
            f"{size:,} values each; at most {MAX_EXPANDED_VALUES:,} values in all are allowed "
            "(shorten long lists such as weights, or use fewer grid values)",
            "grid" if points > 1 else "defaults",
            None,
            [],
            "grid" if points > 1 else "defaults",
        )
        _raise(problems)


def _count_values(value: Any) -> int:
    """Tables, arrays and scalars in ``value`` (iteratively)."""
    count, stack = 0, [value]
    while stack:
        node = stack.pop()
        count += 1
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return count


def _raise(problems: _Problems) -> None:
    if problems.items:
        n = len(problems.items)
        suite = "suite" if problems.profile is None else f"suite with profile {problems.profile!r}"
        head = f"{problems.path}: {n} problem{'s' if n > 1 else ''} in {suite}"
        if problems.full:
            head = f"{problems.path}: {n} or more problems in {suite} (the first {n} are listed)"
        raise ConfigError(head + "\n  " + "\n  ".join(problems.items), problems=problems.items)


def load_suite(
    path: str | Path,
    *,
    overrides: list[str] | None = None,
    seeds: int | None = None,
    steps: int | None = None,
    profile: str | None = None,
) -> Suite:
    """Read, override, validate and expand a suite file.

    ``profile`` names one of the suite's ``[profiles.<name>]``: its values are applied to the
    document first (:func:`apply_profile`), then ``overrides``, ``seeds`` and ``steps``.

    The file is untrusted text: it is parsed as TOML only (nothing in it is executed), and every
    problem, including a file over :data:`MAX_SUITE_BYTES`, nesting deeper than
    :data:`MAX_NESTING` or a suite of more than :data:`MAX_RUNS` runs, raises
    :class:`ConfigError` before anything is allocated for the runs or written.
    """
    path = Path(path)
    text = read_suite_text(path)
    _check_key_chains(text, f"{path}")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(
            f"{path}: arrays or tables nested too deeply to parse; a suite nests at most "
            f"{MAX_NESTING} levels"
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 decimal digits
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    _check_document(raw, path, "")
    check_profiles(raw, path, text)
    profile_keys: set[str] = set()
    if profile is not None:
        profile_keys = apply_profile(raw, profile, path)
    chosen = profile if profile is not None else _recorded_profile(raw)
    touched: set[str] = set()
    for item in overrides or []:
        keys, value = parse_override(item)
        if keys[0] == "profiles" or keys[:2] == ["suite", "profile"]:
            raise ConfigError(
                f"--set {clip(item)}: profiles are chosen with --profile NAME, not set "
                "(a profile's own values are overridden by --set on the document's keys, e.g. "
                "--set suite.steps=1000)"
            )
        _check_document(value, path, "--set ", depth=len(keys), key=clip(".".join(keys)))
        apply_override(raw, keys, value, f"--set {clip(item)}")
        touched.add(".".join(keys))
    for key, value in (("seeds", seeds), ("steps", steps)):
        if value is None:
            continue
        section = raw.setdefault("suite", {})
        if not isinstance(section, dict):
            raise ConfigError(
                f"{path}: suite: must be a table, such as [suite] (cannot set --{key})"
            )
        _check_document(value, path, f"--{key}")
        section[key] = value
        touched.add(f"suite.{key}")
    return validate_document(
        raw, path=path, text=text, overrides=touched, profile=chosen, profile_keys=profile_keys
    )


# --------------------------------------------------------------------------- profiles


PROFILE_KEYS = ("description", "suite", "metrics", "defaults", "variants", "grid")
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
    recorded = _recorded_profile(raw)
    if recorded is not None and not (isinstance(profiles, dict) and recorded in profiles):
        line = find_line(text, "suite", None, ["profile"])
        defined = ", ".join(clip(p, 40) for p in profiles) if isinstance(profiles, dict) else ""
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(
            f"{where}: suite.profile: {short(recorded)} names no profile of this suite "
            f"(it records the profile a suite.toml beside results was expanded with); "
            f"profiles: {defined or 'none'}"
        )
    if not isinstance(profiles, dict):
        return  # absent, or not a table: reported by the schema
    problems = _Problems(path, text, set())
    if len(profiles) > MAX_PROFILES:
        raise ConfigError(
            f"{path}: profiles: a suite defines at most {MAX_PROFILES} profiles, "
            f"got {len(profiles):,}"
        )
    variants = raw.get("variants") if isinstance(raw.get("variants"), list) else []
    names = [v["name"] for v in variants if isinstance(v, dict) and isinstance(v.get("name"), str)]

    def add(name: str, keys: list[str], message: str) -> None:
        shown = [clip(name, 40), *(clip(k, 40) for k in keys)]
        line = _profile_line(text, name, keys)
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
            if key not in PROFILE_KEYS:
                add(name, [key], _unknown(key, PROFILE_KEYS))
            elif key == "description":
                if not isinstance(value, str):
                    add(name, [key], f"must be a string (got {short(value)})")
            elif not isinstance(value, dict):
                add(name, [key], f"must be a table, such as {key} = {{ ... }} (got {short(value)})")
            elif key == "suite":
                for sub in value:
                    if sub not in PROFILE_SUITE_KEYS:
                        add(name, [key, sub], _unknown(sub, PROFILE_SUITE_KEYS)
                            + " (a profile changes the budget; the suite's name and "
                            "description stay)")  # fmt: skip
                if set(value) <= set(PROFILE_SUITE_KEYS):
                    _check_section(raw, "suite", value, SuiteSection, name, add)
            elif key == "metrics":
                _check_section(raw, "metrics", value, MetricsSection, name, add)
            elif key == "defaults":
                for sub in value:
                    if sub not in RUN_KEYS:
                        add(name, [key, sub], _unknown(sub, RUN_KEYS[1:]))
            elif key == "grid":
                for sub in value:
                    if sub.split(".")[0] not in RUN_KEYS or sub == "name":
                        add(name, [key, sub], _unknown(sub, RUN_KEYS[1:]) + " (dotted keys "
                            "reach into tables, as in [grid])")  # fmt: skip
            elif key == "variants":
                for vname, over in value.items():
                    if vname not in names:
                        hint = suggestion(vname, names)
                        listed = ", ".join(clip(n, 40) for n in names[:50])
                        add(name, [key, vname], f"no variant {short(vname)}{hint} variants: "
                            f"{listed}")  # fmt: skip
                    elif not isinstance(over, dict):
                        add(name, [key, vname], f"must be a table of the variant's keys "
                            f"(got {short(over)})")  # fmt: skip
                    elif "name" in over:
                        add(name, [key, vname, "name"], "a profile cannot rename a variant")
                    else:
                        for sub in over:
                            if sub not in RUN_KEYS:
                                add(name, [key, vname, sub], _unknown(sub, RUN_KEYS[1:]))
    _raise(problems)


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
        model.model_validate(_deep_merge(base, over))
    except ValidationError as exc:
        leaves = set(_leaves(over))
        for loc, err in _walk_errors(exc):
            keys = [str(p) for p in loc]
            dotted = ".".join(keys)
            if dotted in leaves or any(dotted.startswith(leaf + ".") for leaf in leaves):
                add(name, [section, *keys], _message(err, model))


def apply_profile(raw: dict[str, Any], name: str, path: Path) -> set[str]:
    """Apply profile ``name`` of the document ``raw`` to it, in place; returns the document keys
    it set (``suite.steps``, ``variants.<name>.n_critic``, ``grid.dataset``...).

    ``suite``, ``metrics`` and ``defaults`` merge into those sections and
    ``variants.<name>`` into that variant as a variant merges over ``[defaults]`` (tables
    recursively; a table naming another registry item replaces it); ``grid.<key>`` replaces
    that grid key's list. The profile's name is recorded as ``suite.profile``. Raises
    ConfigError for a name the suite does not define, listing those it does."""
    profiles = raw.get("profiles") if isinstance(raw.get("profiles"), dict) else {}
    recorded = _recorded_profile(raw)
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
    for section in ("suite", "metrics", "defaults"):
        over = profile.get(section)
        if over is None:
            continue
        base = raw.get(section, {})
        if isinstance(base, dict):  # else the document is wrong, and the schema says so
            raw[section] = _deep_merge(base, over)
        touched |= {f"{section}.{leaf}" for leaf in _leaves(over)}
    variants = raw.get("variants") if isinstance(raw.get("variants"), list) else []
    for vname, over in profile.get("variants", {}).items():
        for i, variant in enumerate(variants):
            if isinstance(variant, dict) and variant.get("name") == vname:
                variants[i] = _deep_merge(variant, over)
        touched |= {f"variants.{vname}.{leaf}" for leaf in _leaves(over)}
    if profile.get("grid"):
        grid = raw.setdefault("grid", {})
        if isinstance(grid, dict):
            for key, values in profile["grid"].items():
                grid[key] = copy.deepcopy(values)
                touched.add(f"grid.{key}")
    if isinstance(raw.get("suite"), dict):
        raw["suite"]["profile"] = name
    return touched


def _recorded_profile(raw: dict[str, Any]) -> str | None:
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


def _profile_line(text: str, name: str, keys: list[str]) -> int | None:
    """1-based line of ``keys`` of profile ``name``: under ``[profiles.<name>]`` or, for a
    profile written inline, under ``[profiles]``."""
    line = find_line(text, f"profiles.{name}", None, keys)
    if line is not None:
        return line
    for depth in range(len(keys), 0, -1):  # [profiles.<name>.variants.<variant>] alone
        section = ".".join(["profiles", name, *keys[:depth]])
        if (line := find_line(text, section, None, keys[depth:])) is not None:
            return line
    return find_line(text, "profiles", None, [name, *keys])


def _unknown(key: str, allowed: tuple[str, ...]) -> str:
    hint = suggestion(key, allowed)
    return f"unknown key {short(key)}{hint} allowed: {', '.join(allowed)}"


def read_suite_text(path: Path) -> str:
    """The text of a suite file: at most :data:`MAX_SUITE_BYTES` bytes of UTF-8."""
    if not path.exists():
        raise ConfigError(f"{path}: no such suite file")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; expected a .toml suite file")
    limit = f"a suite file is at most {MAX_SUITE_BYTES:,} bytes ({MAX_SUITE_BYTES >> 20} MiB)"
    try:
        size = path.stat().st_size
        if size > MAX_SUITE_BYTES:
            raise ConfigError(f"{path}: file is {size:,} bytes; {limit}")
        with open(path, "rb") as fh:  # also bounds pipes and devices, whose size is unknown
            data = fh.read(MAX_SUITE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read suite file: {exc}") from None
    if len(data) > MAX_SUITE_BYTES:
        raise ConfigError(f"{path}: file is larger than {MAX_SUITE_BYTES:,} bytes; {limit}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read suite file: not UTF-8 text ({exc})") from None


_KEY_PART = r"""(?>[A-Za-z0-9_-]++|"[^"\n]*+"|'[^'\n]*+')"""
_KEY_CHAIN = re.compile(
    rf"(?<![A-Za-z0-9_-]){_KEY_PART}(?:[ \t]*+\.[ \t]*+{_KEY_PART}){{{MAX_NESTING}}}"
)
"""A dotted key of more than MAX_NESTING parts (possessive and atomic: linear time)."""


def _check_key_chains(text: str, where: str) -> None:
    """Refuse dotted keys of more than :data:`MAX_NESTING` parts before parsing: Python's TOML
    reader takes time quadratic in a key's length (a 200 KB key takes minutes). A chain of that
    many dotted words inside a string is refused too; no suite has one."""
    match = _KEY_CHAIN.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise ConfigError(
            f"{where}:{line}: a dotted key of more than {MAX_NESTING} parts "
            f"({short(match.group(), 40)}); a suite nests tables at most {MAX_NESTING} levels"
        )


def _check_document(value: Any, path: Path, where: str, *, depth: int = 0, key: str = "") -> None:
    """Refuse arrays and tables nested deeper than :data:`MAX_NESTING`, and integers outside
    TOML's 64-bit range (Python's TOML reader accepts any size). Iterative: a deep document must
    not exhaust the stack of the code that walks it."""
    stack: list[tuple[Any, int, str]] = [(value, depth, key)]
    while stack:
        node, level, key = stack.pop()
        if (
            isinstance(node, int)
            and not isinstance(node, bool)
            and not INT64[0] <= node <= INT64[1]
        ):
            raise ConfigError(
                f"{path}: {where}{clip(key, 80)}: integer of {node.bit_length()} bits "
                "is out of range; TOML integers are 64-bit, in [-2**63, 2**63 - 1]"
            )
        if not isinstance(node, dict | list):
            continue
        if level >= MAX_NESTING:
            raise ConfigError(
                f"{path}: {where}{clip(key, 80) or 'document'}: arrays and tables nested more than "
                f"{MAX_NESTING} levels deep; a suite nests at most {MAX_NESTING} levels"
            )
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in items:
            if isinstance(v, dict | list | int):
                stack.append((v, level + 1, f"{key}.{k}" if key else str(k)))


INT64 = (-(2**63), 2**63 - 1)


def _display(name: str) -> str:
    """A variant name as shown in messages: as is when short and printable, else its repr."""
    return name if name.isprintable() and len(name) <= 40 else short(name, 40)


__all__ = [
    "RunSpec",
    "Suite",
    "SuiteSection",
    "apply_profile",
    "check_profiles",
    "load_suite",
    "make_run_id",
    "parse_override",
]
