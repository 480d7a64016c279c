"""The wording helpers every message shares: "did you mean" suggestions and clipping of quoted
input (suite files, results folders and command lines can hold anything, of any length)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


def suggestion(name: str, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` to ``name`` (with ``n`` > 1,
    ``"; did you mean 'x' or 'y'?"``), or ``""`` when none is close (``difflib`` ratio below
    ``cutoff``)."""
    close = difflib.get_close_matches(str(name), list(choices), n=n, cutoff=cutoff)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters, ending in "..." when cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (an integer too long for ``repr`` is named,
    not printed)."""
    try:
        return clip(repr(value), limit)
    except ValueError:  # an integer of more than sys.get_int_max_str_digits() digits
        return "an integer of more than 4300 digits"
