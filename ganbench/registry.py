"""One registry per kind of named item (losses, penalties, models, datasets, ...).

A registry is the single source of valid names: suite validation, "did you mean" answers and the
CLI's listings all read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ganbench.text import short, suggestion

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    value: T
    help: str
    knobs: dict[str, str] = field(default_factory=dict)
    """Knob name -> one line of help (range, default, meaning)."""


class UnknownNameError(KeyError):
    """A name that is not in a registry; ``str()`` is a full, actionable message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Registry(Generic[T]):
    """Named items of one kind, with help text and "did you mean" lookups."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(
        self, name: str, *, help: str, knobs: dict[str, Any] | None = None
    ) -> Callable[[T], T]:
        def decorator(value: T) -> T:
            self.add(name, value, help=help, knobs=knobs)
            return value

        return decorator

    def add(self, name: str, value: T, *, help: str, knobs: dict[str, Any] | None = None) -> None:
        """Register ``value``; ``knobs`` maps knob names to help strings or to objects with a
        ``describe()`` method (such as :class:`ganbench.knobs.Knob`)."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        lines = {k: v if isinstance(v, str) else v.describe() for k, v in (knobs or {}).items()}
        self._entries[name] = Entry(name, value, help, lines)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        return [self._entries[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def unknown_message(self, name: Any) -> str:
        known = ", ".join(self.names())
        # A name from a suite can be any length: suggest only for names of a sensible length.
        hint = suggestion(str(name), self.names()) if len(str(name)) <= 100 else ""
        return f"unknown {self.kind} {short(name)}{hint} known: {known}"

    def entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def get(self, name: str) -> T:
        return self.entry(name).value
