"""Command-line overrides of a suite (``--set key=value``, the value read as TOML)."""

from __future__ import annotations

import tomllib
from typing import Any

from ganbench.config.guards import check_key_chains
from ganbench.config.limits import MAX_NESTING
from ganbench.errors import ConfigError
from ganbench.text import clip, short, suggestion


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a", "b", "c"], value); the value is read as TOML when it can be."""
    if "=" not in text:
        raise ConfigError(f"--set {short(text)}: expected KEY=VALUE, e.g. defaults.batch_size=512")
    key, value_text = _split_key(text)
    parts = _key_parts(key, text)
    if len(parts) > MAX_NESTING:
        raise ConfigError(
            f"--set {short(text)}: key of more than {MAX_NESTING} parts; a suite nests at most "
            f"{MAX_NESTING} levels"
        )
    check_key_chains(value_text, f"--set {short(text)}")
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
    if len(parts) > 2 and parts[0] == "search":
        # A search knob is one key holding a dotted name ("optimizer.lr_g"), written quoted
        # in the suite; unquoted on the command line it names the same knob.
        parts = [parts[0], ".".join(parts[1:])]
    return parts, value


def _split_key(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` split at the first ``=`` outside quotes (a quoted key part may hold one)."""
    quote = None
    for i, ch in enumerate(text):
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            return text[:i].strip(), text[i + 1 :]
    raise ConfigError(f"--set {short(text)}: expected KEY=VALUE, e.g. defaults.batch_size=512")


def _key_parts(key: str, text: str) -> list[str]:
    """The parts of a TOML dotted key: ``search."optimizer.lr_g"`` is two parts, the second
    holding a dot. Bare parts are split at dots, quoted ones read as TOML strings."""
    parts: list[str] = []
    rest = key
    while True:
        rest = rest.lstrip()
        if rest[:1] in ("'", '"'):
            end = rest.find(rest[0], 1)
            if end < 0:
                raise ConfigError(f"--set {short(text)}: unterminated quoted key")
            quoted, rest = rest[: end + 1], rest[end + 1 :].lstrip()
            try:
                part = tomllib.loads(f"v = {quoted}")["v"]
            except tomllib.TOMLDecodeError:
                raise ConfigError(
                    f"--set {short(text)}: not a quoted key: {short(quoted)}"
                ) from None
        else:
            part, dot, after = rest.partition(".")
            part = part.strip()
            rest = dot + after
        if not part:
            raise ConfigError(f"--set {short(text)}: empty key; expected KEY=VALUE")
        parts.append(part)
        if len(parts) > MAX_NESTING:
            return parts
        if not rest:
            return parts
        if not rest.startswith("."):
            raise ConfigError(
                f"--set {short(text)}: a key is dotted parts, bare or quoted, e.g. "
                'search."optimizer.lr_g"'
            )
        rest = rest[1:]


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
