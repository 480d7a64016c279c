"""Published reference numbers: the ``[[reference]]`` tables of a suite file.

A reference states what the literature reports for one variant of a suite (at one grid point, or
at every grid point) on one metric: the published value in ganbench's units, its uncertainty and
what kind of uncertainty it is, the number of runs behind it and where it was published. It
describes the literature, not the runs: references never enter a run's identity.

This module holds the schema of one table and the checks that need only the table itself; the
loader (:mod:`ganbench.config.load`) checks it against the suite (variant names, grid keys and
values, duplicates), and :mod:`ganbench.report.references` compares it with the measured seeds.
It imports neither the training stack nor pandas, so both sides can use it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ganbench.metrics import catalog, names
from ganbench.text import short, suggestion

SECTION = "reference"
"""The suite file's key: ``[[reference]]``."""

KINDS = {
    "se": "standard error of the mean over the n runs",
    "sd": "sample standard deviation of the n runs",
    "none": "no uncertainty published",
    "tolerance": "an analytic value: the measured mean must lie within +- uncertainty of it",
}
"""Kinds of published uncertainty."""

MAX_REFERENCES = 1000
"""Most ``[[reference]]`` tables in one suite (a paper's table has a few dozen cells); bounds
the duplicate check, which compares the references of a variant and metric pairwise."""

MAX_MAGNITUDE = 1e60
"""Largest absolute value and uncertainty of a reference: far beyond any metric ganbench writes,
and small enough that every statistic of its test is a finite float: with a standard error s <=
1e60 and n <= 10^6 runs, the published sd is at most 1e63, its squared standard error s^2 <=
1e120 and the Welch-Satterthwaite degrees of freedom square that (<= 1e240 < 1.8e308)."""

MAX_SOURCE_LENGTH = 500
"""Longest ``source`` text (a citation: paper, table, row)."""


def reference_metrics() -> list[str]:
    """The plain metric names a reference may name: every metric the runner writes
    (:data:`ganbench.metrics.catalog.DESCRIPTIONS`) except the families, which are written as
    ``mode_count/<k>`` and ``ema/<metric>``."""
    return sorted(m for m in catalog.DESCRIPTIONS if "<" not in m)


def check_metric(name: str) -> str | None:
    """``None`` when ``name`` is a metric ganbench records, else a message with a did-you-mean
    and the allowed names (the name shown clipped). No recursion: ``ema/`` prefixes a plain
    metric once (``ema/ema/modes`` is not a name ganbench writes)."""
    if not isinstance(name, str):
        return f"a metric name is a string, got {type(name).__name__}"
    plain = reference_metrics()
    base = name.removeprefix(names.EMA_PREFIX)
    if not base.startswith(names.EMA_PREFIX) and (
        base in plain
        or (
            len(base) <= len(names.MODE_COUNT_PREFIX) + 6
            and re.fullmatch(re.escape(names.MODE_COUNT_PREFIX) + r"(0|[1-9][0-9]{0,5})", base)
        )
    ):
        return None
    hint = suggestion(name, plain) if len(name) <= 100 else ""
    families = f"{names.MODE_COUNT_PREFIX}<k>, {names.EMA_PREFIX}<metric> (once)"
    return f"unknown metric {short(name)}{hint} allowed: {', '.join(plain)}, {families}"


class Reference(BaseModel):
    """One ``[[reference]]`` table (strict types, unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    variant: str = Field(min_length=1, max_length=100)
    """A variant of the suite (its ``name``)."""
    grid: dict[str, Any] | None = None
    """The grid point: some or all grid keys with one of their grid values each. Omitted: every
    grid point (or the suite has no grid)."""
    metric: str
    """A metric ganbench records, in ganbench's units (see ``ganbench list metrics``)."""
    value: float
    """The published value, converted to ganbench's units (a percentage 98.2 of high-quality
    samples is hq_fraction 0.982)."""
    uncertainty: float | None = Field(None, ge=0.0)
    """The published uncertainty (same units as ``value``), of kind ``kind``."""
    kind: str = "none"
    """``se``, ``sd``, ``none`` or ``tolerance`` (see :data:`KINDS`)."""
    n: int | None = Field(None, ge=1, le=1_000_000)
    """Runs behind the published number (required for ``se`` and ``sd``)."""
    source: str = Field(min_length=1, max_length=MAX_SOURCE_LENGTH)
    """Where the number was published: paper, table, row."""

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if (problem := check_metric(v)) is not None:
            raise ValueError(problem)
        return v

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in KINDS:
            hint = suggestion(v, list(KINDS), cutoff=0.5)
            allowed = "; ".join(f"{k!r} ({text})" for k, text in KINDS.items())
            raise ValueError(f"unknown kind {short(v)}{hint} allowed: {allowed}")
        return v

    @field_validator("value", "uncertainty")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError(f"must be a finite number, got {v!r}")
        if v is not None and abs(v) > MAX_MAGNITUDE:
            raise ValueError(
                f"must be at most {MAX_MAGNITUDE:g} in absolute value (so that the tests' "
                f"statistics stay finite), got {v!r}"
            )
        return v

    @field_validator("grid")
    @classmethod
    def _grid(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None and not v:
            raise ValueError("an empty grid point; omit grid to mean every grid point")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Reference:
        if self.kind == "none" and self.uncertainty is not None:
            raise ValueError(
                "uncertainty is given but kind is 'none'; set kind = 'se' (standard error of "
                "the mean) or 'sd' (standard deviation of the runs)"
            )
        if self.kind == "tolerance":
            if self.uncertainty is None:
                raise ValueError(
                    "kind 'tolerance' needs uncertainty (the largest distance from the value "
                    "that still agrees)"
                )
        elif self.kind != "none":
            what = {
                "uncertainty": f"uncertainty (the published {KINDS[self.kind]})",
                "n": "n (the number of runs behind it)",
            }
            missing = [text for k, text in what.items() if getattr(self, k) is None]
            if missing:
                raise ValueError(
                    f"kind {self.kind!r} needs {' and '.join(missing)}; without a published "
                    "uncertainty use kind = 'none'"
                )
        return self

    @property
    def published_sd(self) -> float | None:
        """The spread of the published runs: ``uncertainty * sqrt(n)`` for a standard error,
        ``uncertainty`` for a standard deviation, ``None`` without one."""
        if self.kind == "se" and self.uncertainty is not None and self.n is not None:
            return self.uncertainty * math.sqrt(self.n)
        if self.kind == "sd":
            return self.uncertainty
        return None


def grid_value_key(value: Any) -> tuple[str, Any]:
    """A comparable form of a grid value: numbers compare as numbers (``1 == 1.0``, never equal
    to a bool), tables and arrays by their JSON text (as the results reader stores them)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    if isinstance(value, dict | list):
        return ("text", json.dumps(value, sort_keys=True))
    return ("text", str(value))


def grid_matches(spec: dict[str, Any] | None, point: dict[str, Any]) -> bool:
    """Whether a reference's grid spec matches a grid point (every key it names has that
    value; a key the point does not have never matches)."""
    if not spec:
        return True
    return all(
        k in point and grid_value_key(point[k]) == grid_value_key(v) for k, v in spec.items()
    )


Problem = tuple[int, list[str], str]
"""A problem of one reference: its index in ``[[reference]]``, the key path, the message."""


def check_against_suite(
    references: dict[int, Reference],
    variants: list[str],
    grid: dict[str, list[Any]],
    *,
    overridden: frozenset[str] = frozenset(),
    complete: set[int] | None = None,
) -> list[Problem]:
    """Problems of valid reference tables (by index) against their suite: a variant that is
    not the suite's, a grid key that is not one of its grid keys, a grid value not among that
    key's values, and two references for the same variant, grid point and metric.

    ``overridden``: grid keys whose values came from ``--set``; a reference's value for them is
    not checked (a narrower grid on the command line leaves the suite's references valid; they
    then match no run). ``complete``: the indices of tables that validated in full (default:
    all); only those are checked for duplicates, the others for variant and grid only.
    """
    problems: list[Problem] = []
    valid: dict[int, Reference] = {}
    for i, ref in references.items():
        ok = True
        if isinstance(ref.variant, str) and ref.variant not in variants:
            hint = suggestion(ref.variant, variants)
            problems.append(
                (
                    i,
                    ["variant"],
                    f"unknown variant {ref.variant!r}{hint} variants of this suite: "
                    f"{', '.join(variants) or 'none'}",
                )
            )
            ok = False
        for key, value in (ref.grid if isinstance(ref.grid, dict) else {}).items():
            if key not in grid:
                hint = suggestion(key, list(grid))
                known = f"grid keys: {', '.join(grid)}" if grid else "this suite has no [grid]"
                problems.append((i, ["grid", key], f"{short(key)} is not a grid key{hint} {known}"))
                ok = False
            elif key not in overridden and not any(
                grid_value_key(value) == grid_value_key(v) for v in grid[key]
            ):
                allowed = ", ".join(_show(v) for v in grid[key])
                problems.append(
                    (
                        i,
                        ["grid", key],
                        f"{_show(value)} is not a value of grid.{key}; allowed: {allowed}",
                    )
                )
                ok = False
        if ok and (complete is None or i in complete):
            valid[i] = ref
    # Two references overlap when every grid key both name has the same value in both: the keys
    # only one names are free, so some grid point has both.
    by_target: dict[tuple[str, str], list[int]] = {}
    for i, ref in valid.items():
        by_target.setdefault((ref.variant, ref.metric), []).append(i)
    for (variant, metric), members in by_target.items():
        for pos, i in enumerate(members):
            for j in members[:pos]:
                a, b = valid[j].grid or {}, valid[i].grid or {}
                shared = set(a) & set(b)
                if all(grid_value_key(a[k]) == grid_value_key(b[k]) for k in shared):
                    point = {**a, **b}
                    where = (
                        "at " + ", ".join(f"{k} = {_show(v)}" for k, v in point.items())
                        if point
                        else "at every grid point"
                    )
                    problems.append(
                        (
                            i,
                            [],
                            f"duplicate of reference[{j}]: both give variant {variant!r}, "
                            f"metric {metric!r} {where}; keep one (one reference per variant, grid "
                            "point and metric)",
                        )
                    )
                    break
    return problems


def _show(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, str | dict | list) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = [
    "KINDS",
    "MAX_REFERENCES",
    "SECTION",
    "Problem",
    "Reference",
    "check_against_suite",
    "check_metric",
    "grid_matches",
    "grid_value_key",
    "reference_metrics",
]
