"""Load a suite file, apply command-line overrides, validate, expand into runs.

All problems are collected and raised together as one :class:`ConfigError`, each line naming the
file, the line where possible, the key and what is allowed. Nothing is written before a suite has
validated completely.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ganbench.config.schema import MetricsSection, RunConfig, SuiteFile, SuiteSection
from ganbench.errors import ConfigError


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

    def identity(self) -> dict:
        return _identity(self.config, self.seed, self.steps, self.eval_every, self.metrics)


@dataclass
class Suite:
    path: Path
    raw: dict[str, Any]
    """The suite document after command-line overrides (written as suite.toml)."""
    file: SuiteFile
    runs: list[RunSpec] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.file.suite.name


# --------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a", "b", "c"], value); the value is read as TOML when it can be."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. defaults.batch_size=512")
    key, _, value_text = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {text!r}: empty key; expected KEY=VALUE")
    try:
        value = tomllib.loads(f"v = {value_text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text.strip()  # a bare word, e.g. --set defaults.loss=hinge
    return key.split("."), value


def apply_override(raw: dict[str, Any], path: list[str], value: Any, source: str) -> None:
    """Set ``path`` in the suite document. ``variants.<name or index>.key`` addresses a variant."""
    node: Any = raw
    for i, part in enumerate(path[:-1]):
        if isinstance(node, list):
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
    if part.isdigit() and int(part) < len(variants):
        return variants[int(part)]
    for v in variants:
        if isinstance(v, dict) and v.get("name") == part:
            return v
    names = [str(v.get("name")) for v in variants if isinstance(v, dict)]
    close = difflib.get_close_matches(part, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"{source}: no variant {part!r}{hint} variants: {', '.join(names)}")


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


class _Problems:
    def __init__(self, path: Path, text: str, overrides: set[str]) -> None:
        self.path, self.text, self.overrides = path, text, overrides
        self.items: list[str] = []

    def add(
        self, message: str, section: str | None, index: int | None, keys: list[str], label: str
    ) -> None:
        dotted = ".".join([label, *keys]) if keys else label
        line = None
        full = ".".join([section or "", *keys]) if section else ""
        if full in self.overrides or any(full.startswith(o + ".") for o in self.overrides):
            where = f"{self.path} (--set {full})"
        else:
            if section is not None:
                line = find_line(self.text, section, index, keys)
            where = f"{self.path}:{line}" if line else str(self.path)
        item = f"{where}: {dotted}: {message}"
        if item not in self.items:
            self.items.append(item)


def _message(err: dict, model: type[BaseModel] | None) -> str:
    kind = err["type"]
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1])
        key = str(err["loc"][-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {key!r}{hint} allowed: {', '.join(allowed)}"
    if kind == "missing":
        return "required key is missing"
    if (
        "input" in err
        and kind not in ("value_error", "assertion_error")
        and not isinstance(err["input"], dict)
    ):
        msg = f"{msg} (got {err['input']!r})"
    return msg


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


def _identity(config: RunConfig, seed: int, steps: int, eval_every: int, metrics) -> dict:
    return {
        "config": config.resolved(),
        "seed": seed,
        "steps": steps,
        "eval_every": eval_every,
        "metrics": metrics.identity(),
    }


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
        label = f"variants[{i}]" + (f" ({vname})" if isinstance(vname, str) else "")
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
        merged = _deep_merge(defaults, variant)
        seen: set[tuple] = set()
        for point in grid_points:
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
    raw: dict[str, Any], *, path: Path, text: str, overrides: set[str] | None = None
) -> Suite:
    """Validate a parsed suite document and expand it into runs (raises ConfigError)."""
    problems = _Problems(path, text, overrides or set())
    suite_file: SuiteFile | None = None
    try:
        suite_file = SuiteFile.model_validate(raw)
    except ValidationError as exc:
        for loc, err in _walk_errors(exc):
            section = str(loc[0]) if loc else None
            index = (
                loc[1]
                if section == "variants" and len(loc) > 1 and isinstance(loc[1], int)
                else None
            )
            keys = [str(p) for p in loc[2 if index is not None else 1 :]]
            label = f"variants[{index}]" if index is not None else (section or "suite file")
            problems.add(_message(err, SuiteFile), section, index, keys, label)

    # Validate every variant at every grid point even when another section is wrong, so one
    # pass reports every problem.
    defaults = raw.get("defaults") if isinstance(raw.get("defaults"), dict) else {}
    variants = raw.get("variants") if isinstance(raw.get("variants"), list) else []
    grid = raw.get("grid") if isinstance(raw.get("grid"), dict) else {}
    if any(not isinstance(v, list) or not v for v in grid.values()):
        grid = {}
    configs = _validate_variants(defaults, variants, grid, problems)
    _raise(problems)
    assert suite_file is not None
    runs: list[RunSpec] = []
    section = suite_file.suite
    for config, point in configs:
        for seed in section.seed_list():
            identity = _identity(
                config, seed, section.steps, section.eval_every, suite_file.metrics
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
    return Suite(path=path, raw=raw, file=suite_file, runs=runs)


def _raise(problems: _Problems) -> None:
    if problems.items:
        n = len(problems.items)
        head = f"{problems.path}: {n} problem{'s' if n > 1 else ''} in suite"
        raise ConfigError(head + "\n  " + "\n  ".join(problems.items), problems=problems.items)


def load_suite(
    path: str | Path,
    *,
    overrides: list[str] | None = None,
    seeds: int | None = None,
    steps: int | None = None,
) -> Suite:
    """Read, override, validate and expand a suite file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such suite file")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; expected a .toml suite file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read suite file: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    touched: set[str] = set()
    for item in overrides or []:
        keys, value = parse_override(item)
        apply_override(raw, keys, value, f"--set {item}")
        touched.add(".".join(keys))
    if seeds is not None:
        raw.setdefault("suite", {})["seeds"] = seeds
        touched.add("suite.seeds")
    if steps is not None:
        raw.setdefault("suite", {})["steps"] = steps
        touched.add("suite.steps")
    return validate_document(raw, path=path, text=text, overrides=touched)


__all__ = ["RunSpec", "Suite", "SuiteSection", "load_suite", "make_run_id", "parse_override"]
