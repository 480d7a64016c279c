"""Guards that run before and while a suite is parsed: size, nesting and integer limits, and the
bound on what a suite may expand to, so a hostile file is refused quickly with a clear message.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ganbench import tomlguard
from ganbench.config.limits import (
    MAX_EXPANDED_VALUES,
    MAX_NESTING,
    MAX_RUNS,
    MAX_SEEDS,
    MAX_SUITE_BYTES,
)
from ganbench.config.problems import Problems, raise_problems
from ganbench.errors import ConfigError
from ganbench.text import short


def check_size(
    raw: dict[str, Any],
    defaults: dict,
    variants: list,
    grid: dict,
    problems: Problems,
    *,
    trials: int = 1,
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
            raise_problems(problems)
    tables = [v for v in variants if isinstance(v, dict)]
    points = math.prod(len(v) for v in grid.values()) * trials
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
    if trials > 1:
        shape = (
            f"{len(tables)} variants x {points // trials:,} grid points x {trials:,} search "
            f"trials x {n_seeds:,} seeds"
        )
    if runs > MAX_RUNS:
        section_name, keys = (
            ("search", ["trials"])
            if trials > 1
            else ("grid", [])
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
        raise_problems(problems)
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
        raise_problems(problems)


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


def read_suite_text(path: Path) -> str:
    """The text of a suite file: at most :data:`MAX_SUITE_BYTES` bytes of UTF-8."""
    if not path.exists():
        raise ConfigError(f"{path}: no such suite file")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; expected a .toml suite file")
    limit = f"a suite file is at most {MAX_SUITE_BYTES:,} bytes ({MAX_SUITE_BYTES >> 20} MiB)"
    try:
        size = path.stat().st_size
        if size > MAX_SUITE_BYTES:  # refused without reading it
            raise ConfigError(f"{path}: file is {size:,} bytes; {limit}")
        return tomlguard.read_text(path, MAX_SUITE_BYTES)  # also bounds pipes and devices
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read suite file: {exc}") from None
    except tomlguard.TooLarge as exc:
        raise ConfigError(f"{path}: file is {exc}; {limit}") from None
    except tomlguard.UnsafeToml as exc:
        raise ConfigError(f"{path}: cannot read suite file: {exc}") from None


def check_key_chains(text: str, where: str) -> None:
    """Refuse dotted keys of more than :data:`MAX_NESTING` parts before parsing
    (:func:`ganbench.tomlguard.check_key_chains`)."""
    try:
        tomlguard.check_key_chains(text)
    except tomlguard.UnsafeToml as exc:
        raise ConfigError(f"{where}:{exc.line}: {exc}") from None


def check_document(value: Any, path: Path, where: str, *, depth: int = 0, key: str = "") -> None:
    """Refuse arrays and tables nested deeper than :data:`MAX_NESTING`, and integers outside
    TOML's 64-bit range (:func:`ganbench.tomlguard.check_document`)."""
    try:
        tomlguard.check_document(value, depth=depth, key=key)
    except tomlguard.UnsafeToml as exc:
        raise ConfigError(f"{path}: {where}{exc}") from None


def display_name(name: str) -> str:
    """A variant name as shown in messages: as is when short and printable, else its repr."""
    return name if name.isprintable() and len(name) <= 40 else short(name, 40)
