"""Numeric knobs of registered items: default, allowed range, help.

A knob is a float the suite may set (a learning rate, a penalty weight, an EMA decay). Knobs are
traced hyperparameters: changing one does not recompile, so a sweep over it is one program.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ganbench.text import short, suggestion


@dataclass(frozen=True)
class Knob:
    default: float | None  # None: required
    low: float
    high: float
    low_inclusive: bool = True
    high_inclusive: bool = True
    help: str = ""

    def check(self, value: float) -> str | None:
        lo_ok = value >= self.low if self.low_inclusive else value > self.low
        hi_ok = value <= self.high if self.high_inclusive else value < self.high
        if lo_ok and hi_ok:
            return None
        return f"must be in {self.range()}, got {value!r}"

    def range(self) -> str:
        lo = "[" if self.low_inclusive else "("
        hi = "]" if self.high_inclusive else ")"
        return f"{lo}{self.low:g}, {self.high:g}{hi}"

    def describe(self) -> str:
        """One line for listings: range, default, meaning."""
        default = "required" if self.default is None else f"default {self.default:g}"
        return f"{self.range()}, {default}" + (f": {self.help}" if self.help else "")


MAX_UNKNOWN_LISTED = 5
"""Most unknown keys of one table named in its message (each with a "did you mean"); the rest
are counted."""


def did_you_mean(key: str, allowed: list[str]) -> str:
    return suggestion(key, allowed) or ";"


def check_knobs(
    data: Mapping[str, Any], knobs: Mapping[str, Knob], *, owner: str, fixed: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[str]]:
    """Validate a table of knob values against ``knobs``; fill in defaults.

    ``fixed`` keys (such as ``name``) are allowed and passed through untouched. Returns the table
    with every knob as a float (defaults filled in; a missing required knob is left out, so the
    schema reports it as missing) and the list of problems.
    """
    allowed = [*fixed, *knobs]
    out = dict(data)
    problems = []
    unknown = [key for key in data if key not in allowed]
    for key in unknown[:MAX_UNKNOWN_LISTED]:
        problems.append(
            f"unknown key {short(key)} for {owner}{did_you_mean(key, allowed)} "
            f"allowed: {', '.join(allowed)}"
        )
    if len(unknown) > MAX_UNKNOWN_LISTED:
        problems.append(f"and {len(unknown) - MAX_UNKNOWN_LISTED:,} more unknown keys")
    for key, knob in knobs.items():
        if key not in data:
            if knob.default is not None:
                out[key] = knob.default
            else:
                problems.append(f"{key} is required for {owner} ({knob.describe()})")
            continue
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{key} must be a number, got {short(value)}")
        elif isinstance(value, int) and abs(value) > 2**1000:
            # Beyond a float's range (float() would raise OverflowError): out of every range.
            problems.append(
                f"{key} must be in {knob.range()}, got an integer of {value.bit_length()} bits"
            )
        elif not math.isfinite(value):
            problems.append(f"{key} must be finite, got {value!r}")
        elif problem := knob.check(float(value)):
            problems.append(f"{key} {problem}")
        else:
            out[key] = float(value)
    return out, problems
