"""TOML from files that may be hostile: every TOML file ganbench reads (a suite, or a results
folder's copy of one) goes through these guards.

Python's TOML reader has no limits of its own: it reads any size, takes time quadratic in the
length of a dotted key (a key of 200,000 parts takes tens of minutes), nests as deep as the
input does and accepts integers of any size. The guards bound each of these before or right
after parsing, in time linear in the file.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from ganbench.fileio import FileTooLarge, read_bounded
from ganbench.text import clip, short

MAX_NESTING = 16
"""Deepest nesting of tables and arrays, and most parts of a dotted key (the shipped suites use
5 levels)."""

INT64 = (-(2**63), 2**63 - 1)
"""TOML's integer range."""

_KEY_PART = r"""(?>[A-Za-z0-9_-]++|"[^"\n]*+"|'[^'\n]*+')"""
_KEY_CHAIN = re.compile(
    rf"(?<![A-Za-z0-9_-]){_KEY_PART}(?:[ \t]*+\.[ \t]*+{_KEY_PART}){{{MAX_NESTING}}}"
)
"""A dotted key of more than MAX_NESTING parts (possessive and atomic: linear time)."""


class UnsafeToml(ValueError):
    """A TOML file refused by a guard; ``line`` is where, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class TooLarge(UnsafeToml):
    """A file over the size it may have."""


def check_key_chains(text: str) -> None:
    """Refuse dotted keys of more than :data:`MAX_NESTING` parts before parsing. A chain of
    that many dotted words inside a string is refused too; no suite has one."""
    match = _KEY_CHAIN.search(text)
    if match:
        raise UnsafeToml(
            f"a dotted key of more than {MAX_NESTING} parts ({short(match.group(), 40)}); "
            f"a suite nests tables at most {MAX_NESTING} levels",
            line=text.count("\n", 0, match.start()) + 1,
        )


def check_document(value: Any, *, depth: int = 0, key: str = "") -> None:
    """Refuse arrays and tables nested deeper than :data:`MAX_NESTING`, and integers outside
    TOML's 64-bit range. Iterative: a deep document must not exhaust the stack of the code that
    walks it. ``depth`` and ``key``: where ``value`` sits in a larger document. The message starts
    with the dotted key where the problem is."""
    stack: list[tuple[Any, int, str]] = [(value, depth, key)]
    while stack:
        node, level, key = stack.pop()
        if (
            isinstance(node, int)
            and not isinstance(node, bool)
            and not INT64[0] <= node <= INT64[1]
        ):
            raise UnsafeToml(
                f"{clip(key, 80)}: integer of {node.bit_length()} bits is out of range; TOML "
                "integers are 64-bit, in [-2**63, 2**63 - 1]"
            )
        if not isinstance(node, dict | list):
            continue
        if level >= MAX_NESTING:
            raise UnsafeToml(
                f"{clip(key, 80) or 'document'}: arrays and tables nested more than "
                f"{MAX_NESTING} levels deep; a suite nests at most {MAX_NESTING} levels"
            )
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in items:
            if isinstance(v, dict | list | int):
                stack.append((v, level + 1, f"{key}.{k}" if key else str(k)))


def read_text(path: Path, max_bytes: int) -> str:
    """At most ``max_bytes`` bytes of UTF-8 (a pipe or device is bounded too: its size is not
    known in advance). Raises OSError, or UnsafeToml for a larger or non-UTF-8 file."""
    try:
        data = read_bounded(path, max_bytes)
    except FileTooLarge as exc:
        raise TooLarge(str(exc)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeToml(f"not UTF-8 text ({exc})") from None


def loads(text: str) -> dict[str, Any]:
    """Parse TOML text behind the guards. Raises UnsafeToml for a refused or malformed
    document (a TOML syntax error included)."""
    check_key_chains(text)
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise UnsafeToml(f"not valid TOML ({clip(str(exc), 300)})") from None
    check_document(data)
    return data


def load(path: Path, max_bytes: int) -> dict[str, Any]:
    """A TOML file of at most ``max_bytes`` bytes behind the guards. Raises OSError or
    UnsafeToml."""
    return loads(read_text(path, max_bytes))
