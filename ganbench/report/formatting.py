"""Numbers and cells as the human formats show them: the one set of helpers every renderer uses.

The summary (:mod:`ganbench.report.render`), the published-number table
(:mod:`ganbench.report.references_render`), the comparison (:mod:`ganbench.report.compare_render`),
the budget curves (:mod:`ganbench.report.budget_render`) and the HTML page round, mark and lay out
their cells here, so one number reads the same in every table. Plain strings only: nothing here
computes a statistic or imports a renderer.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from ganbench.report.select import is_missing, metric_direction

MISSING = "—"
"""Shown where a metric has no value (no completed run recorded it)."""


def shown_decimals(value: float) -> int:
    """Decimals to show for ``value``; -1 means e-notation.

    >>> [shown_decimals(v) for v in (0.0, 2e-4, 0.5, 6.3, 250.0, 3e6)]
    [2, -1, 3, 2, 1, -1]
    """
    size = abs(value)
    if size == 0 or math.isinf(size):
        return 2
    if size >= 1e6 or size < 1e-3:
        return -1
    if size >= 100:
        return 1
    if size >= 1:
        return 2
    return 3


def format_number(value: float, decimals: int | None = None) -> str:
    """A float for reading: 2 decimals from 1 to 100, fewer above, more below, e-notation tiny."""
    if value is None or pd.isna(value):
        return MISSING
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if decimals is None:
        decimals = shown_decimals(value)
    if decimals < 0:
        return f"{value:.2e}"
    return f"{value:.{decimals}f}"


def format_spread(mean_text: str, spread: float, places: int) -> str:
    """``mean ± spread`` with the mean's decimals; e-notation for a spread they would round to 0."""
    text = format_number(spread, places)
    if spread != 0 and places >= 0 and round(spread, places) == 0:
        text = f"{spread:.1e}"
    return f"{mean_text} ± {text}"


def format_cell(mean: float, std: float, n: int, completed: int | None = None) -> str:
    """``mean ± std`` (std with the mean's decimals); ``(n=k)`` when fewer values than runs."""
    if n == 0 or pd.isna(mean):
        return MISSING
    places = shown_decimals(mean)
    text = format_number(mean, places)
    if not pd.isna(std):
        text = format_spread(text, std, places)
    if completed is not None and n < completed:
        text += f" (n={n})"
    return text


def format_signed(delta: float, places: int | None = None) -> str:
    """A signed difference, ``+1.25``: ``places`` decimals (default: the difference's own),
    e-notation where they would round it to 0; never ``-0``."""
    if math.isinf(delta):
        return "+inf" if delta > 0 else "-inf"
    delta = delta + 0.0  # no "-0"
    if places is None:
        places = shown_decimals(delta)
    if places < 0 or (delta != 0 and round(delta, places) == 0):
        return f"{delta:+.1e}"
    return f"{delta:+.{places}f}"


def key_text(value: Any) -> str:
    """A configuration cell as text: empty when missing (a run without a profile or grid key)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def point_text(key: str, value: Any) -> str:
    """A grid-point coordinate for a line of text: dataset, suite and variant bare, grid keys as
    ``k=v``; empty when missing."""
    text = "" if is_missing(value) else str(value)
    return text if key in ("dataset", "suite", "variant") or not text else f"{key}={text}"


def metric_header(metric: str) -> str:
    """A metric's column header: its name and its direction, ``modes ↑``, ``fd ↓``."""
    better = metric_direction(metric)
    if better is None:
        return metric
    return f"{metric} {'↑' if better else '↓'}"


def markdown_table(headers: list[str], rows: list[list[str]], numeric: list[bool]) -> list[str]:
    """A markdown table's lines; numeric columns right-aligned, ``|`` in a cell escaped.

    >>> markdown_table(["a", "n"], [["x|y", "1"]], [False, True])
    ['| a | n |', '| --- | ---: |', '| x\\\\|y | 1 |']
    """

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    rule = "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"
    return [line(headers), rule, *(line(r) for r in rows)]


def notes_list(lines: list[str]) -> list[str]:
    """Notes under a markdown table, one list item each."""
    return [f"- {x}" for x in lines]


def html_text(text: Any) -> str:
    """Text for an HTML page, attribute values included: ``&``, ``<``, ``>`` and quotes escaped
    (names and values come from results folders)."""
    return html.escape(str(text), quote=True)
