"""Validation problems of a suite, each with the place that caused it: ``file:line: key: message``
(or ``--set key`` for a command-line override, or the profile key that set it).
"""

from __future__ import annotations

import bisect
import functools
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ganbench.errors import ConfigError
from ganbench.text import clip, short, suggestion

_HEADER = re.compile(r"\s*+\[\[?+([^\]]*+)\]\]?+\s*+(?:#.*+)?+")
"""A table header line, ``[a.b]`` or ``[[a]]`` with an optional comment (possessive: linear)."""


def _dotted(text: str) -> str:
    """A key chain as written, ``a . b``, in its one spelling ``a.b``."""
    return ".".join(part.strip() for part in text.split("."))


class _Lines:
    """Where the headers and key lines of a suite's text are, read once (linear in the text), so
    that placing each of many problems is a lookup, not a scan of the text."""

    def __init__(self, text: str) -> None:
        self.brackets: list[int] = []  # lines starting with '[' (headers, arrays' rows)
        self.names: dict[int, str] = {}  # header line -> its name, dotted
        self.headers: dict[str, list[int]] = {}
        self.keys: dict[str, list[int]] = {}  # "a.b" -> lines of "a.b = ..."
        self.quoted: dict[str, list[int]] = {}  # "a.b" -> lines of '"a.b" = ...'
        for n, line in enumerate(text.splitlines()):
            stripped = line.lstrip()
            if stripped.startswith("["):
                self.brackets.append(n)
                if m := _HEADER.fullmatch(line):
                    self.names[n] = name = _dotted(m[1])
                    self.headers.setdefault(name, []).append(n)
                continue
            lhs, eq, _ = line.partition("=")
            if not eq:
                continue
            lhs = lhs.strip()
            if len(lhs) >= 2 and lhs[0] == lhs[-1] == '"':
                self.quoted.setdefault(lhs[1:-1], []).append(n)
            self.keys.setdefault(_dotted(lhs), []).append(n)


@functools.lru_cache(maxsize=4)
def _lines(text: str) -> _Lines:
    return _Lines(text)


def _first(lines: list[int], low: int, high: int) -> int | None:
    """The first of the sorted ``lines`` in [low, high), or None."""
    at = bisect.bisect_left(lines, low)
    return lines[at] if at < len(lines) and lines[at] < high else None


def find_line(text: str, section: str, index: int | None, keys: list[str]) -> int | None:
    """1-based line of ``keys`` inside ``[section]`` (the ``index``-th ``[[section]]``)."""
    where = _lines(text)
    starts = where.headers.get(_dotted(section), [])
    at = 0 if index is None else index
    if at >= len(starts):
        return None
    start = starts[at]
    inside = {_dotted(".".join([section, *keys[:j]])) for j in range(1, len(keys) + 1)}
    end = len(text)  # past the last line
    for m in where.brackets[bisect.bisect_right(where.brackets, start) :]:
        if where.names.get(m) not in inside:
            end = m
            break
    for depth in range(len(keys), 0, -1):
        sub = keys[:depth]
        # A sub-table header [section.a.b] or a key line a = / a.b = inside the region.
        header = _first(where.headers.get(_dotted(".".join([section, *sub])), []), start, end)
        if header is not None:
            return header + 1
        found = [
            line
            for line in (
                _first(where.keys.get(_dotted(".".join(sub)), []), start + 1, end),
                _first(where.quoted.get(sub[-1], []), start + 1, end),
            )
            if line is not None
        ]
        if found:
            return min(found) + 1
    return start + 1


MAX_PROBLEMS = 100
"""Most problems listed in one error (a hostile file could have millions)."""


class Problems:
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
            line = profile_line(self.text, str(self.profile), profile_key.split("."))
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


def error_message(err: dict, model: type[BaseModel] | None) -> str:
    kind = err["type"]
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1])
        key = str(err["loc"][-1])
        hint = suggestion(key, allowed)
        return f"unknown key {short(key)}{hint} allowed: {', '.join(allowed)}"
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


def walk_errors(exc: ValidationError):
    for err in exc.errors():
        yield (
            [p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-")],
            err,
        )


def raise_problems(problems: Problems) -> None:
    if problems.items:
        n = len(problems.items)
        suite = "suite" if problems.profile is None else f"suite with profile {problems.profile!r}"
        head = f"{problems.path}: {n} problem{'s' if n > 1 else ''} in {suite}"
        if problems.full:
            head = f"{problems.path}: {n} or more problems in {suite} (the first {n} are listed)"
        raise ConfigError(head + "\n  " + "\n  ".join(problems.items), problems=problems.items)


def unknown_key(key: str, allowed: tuple[str, ...]) -> str:
    hint = suggestion(key, allowed)
    return f"unknown key {short(key)}{hint} allowed: {', '.join(allowed)}"


def profile_line(text: str, name: str, keys: list[str]) -> int | None:
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
