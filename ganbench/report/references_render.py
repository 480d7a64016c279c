"""Published numbers beside measured ones, drawn: the table of
:func:`ganbench.report.references.reference_table` as rich, markdown and HTML.

Each row shows the published value with its uncertainty, the measured mean ± sample std over k
runs, Δ = measured - published, the test's p-value and the verdict (better in green, worse in red);
the sources are numbered under the table with notes that say how the verdicts were computed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.table import Table
from rich.text import Text

from ganbench.report.baseline import DEFAULT_ALPHA
from ganbench.report.formatting import (
    MISSING,
    format_cell,
    format_number,
    format_signed,
    format_spread,
    html_text,
    markdown_table,
    metric_header,
    notes_list,
    shown_decimals,
)
from ganbench.report.references import PROFILE
from ganbench.report.select import is_missing


def format_published(value: float, uncertainty: float, kind: str, n: Any) -> str:
    """``6.30 ± 0.50 (se, n=10)``; ``0.982 (none, n=5)`` without an uncertainty."""
    decimals = shown_decimals(value)
    text = format_number(value, decimals)
    count = "" if n is None or n is pd.NA or pd.isna(n) else f", n={int(n)}"
    if kind == "tolerance" and not pd.isna(uncertainty):
        spread = format_number(uncertainty, max(decimals, shown_decimals(uncertainty)))
        return f"{text} ± {spread} (tolerance)"
    if kind != "none" and not pd.isna(uncertainty):
        text = format_spread(text, uncertainty, decimals)
    return f"{text} ({kind}{count})"


def format_p(p: float) -> str:
    """A p-value: three decimals, e-notation below 0.001, ``0`` exactly."""
    if pd.isna(p):
        return MISSING
    if p == 0:
        return "0"
    return f"{p:.3f}" if p >= 1e-3 else f"{p:.1e}"


def _reference_cells(
    table: pd.DataFrame,
) -> tuple[list[str], list[list[str]], list[bool], list[str]]:
    """Headers, cells, right-justification and the numbered sources of the human formats."""
    keys = [c for c in table.columns[: list(table.columns).index("metric")]]
    shown = [
        k
        for k in keys
        if not (k == "suite" and table["suite"].nunique() <= 1)
        and not (k == PROFILE and table[PROFILE].isna().all())
        and not (k not in ("variant", "dataset") and table[k].isna().all())
    ]
    sources: list[str] = list(dict.fromkeys(table["source"].tolist()))
    headers = [*shown, "metric", "published", "measured", "Δ", "p", "verdict", "source"]
    numeric = [False] * (len(shown) + 1) + [True] * 4 + [False, True]
    rows = []
    for _, rec in table.iterrows():
        cells = [_key_cell(k, rec[k]) for k in shown]
        cells.append(metric_header(str(rec["metric"])))
        cells.append(format_published(rec["published"], rec["uncertainty"], rec["kind"], rec["n"]))
        measured = format_cell(rec["measured_mean"], rec["measured_sd"], int(rec["k"]))
        cells.append(f"{measured} (k={int(rec['k'])})" if rec["k"] else MISSING)
        cells.append(_signed(rec["difference"], rec["published"]))
        cells.append(format_p(rec["p"]))
        cells.append(str(rec["note"]))
        cells.append(f"[{sources.index(rec['source']) + 1}]")
        rows.append(cells)
    return headers, rows, numeric, sources


def _key_cell(key: str, value: Any) -> str:
    if is_missing(value):
        return "as written" if key == PROFILE else ""
    return str(value)


def _signed(delta: float, like: float) -> str:
    """Δ with the published value's decimals (its own when the published value is 0)."""
    if pd.isna(delta):
        return MISSING
    return format_signed(delta, shown_decimals(like if like else delta))


def reference_notes(table: pd.DataFrame) -> list[str]:
    """How the verdicts were computed, in sentences (caption and markdown notes)."""
    alpha = table.attrs.get("alpha", DEFAULT_ALPHA)
    notes = [
        "Published: value ± uncertainty (se: standard error, sd: standard deviation, none: no "
        "uncertainty published; n: runs behind it). Measured: mean ± sample std over the k "
        "completed runs at the report's step. Δ = measured - published.",
        f"Verdict: agrees when p >= {alpha:g}; else higher/lower (measured relative to "
        "published), better/worse by the metric's direction. p: Welch's two-sided t-test "
        "between the published mean, sd (= se x sqrt(n)) and n and the measured seeds; with no "
        "published uncertainty (or n = 1), a one-sample t-test of the seeds against the "
        "published value; zero variance on both sides: p = 1 for equal means, else 0.",
    ]
    if "kind" in table.columns and (table["kind"] == "tolerance").any():
        notes.append(
            "tolerance: an analytic value; agrees when the measured mean lies within ± the "
            "tolerance of it (no test statistic)."
        )
    unmatched = int(table.attrs.get("unmatched", 0))
    if unmatched:
        notes.append(
            f"{unmatched} reference{'s have' if unmatched > 1 else ' has'} no runs in these "
            "results (not shown)."
        )
    return notes


def source_lines(sources: list[str]) -> list[str]:
    return [f"[{i}] {s}" for i, s in enumerate(sources, 1)]


def reference_rich(table: pd.DataFrame, *, title: str = "published and measured") -> Table:
    """The reference table as a rich Table; sources and notes in the caption."""
    headers, rows, numeric, sources = _reference_cells(table)
    lines = [*source_lines(sources), *reference_notes(table)]
    caption = Text("\n".join(lines), style="table.caption")
    out = Table(title=Text(title), caption=caption, caption_justify="left")
    for header, is_numeric in zip(headers, numeric, strict=True):
        out.add_column(header, justify="right" if is_numeric else "left")
    for row in rows:
        out.add_row(*(_judged_cell(c) for c in row))
    return out


_STYLES = {"better": "bold green", "worse": "bold red"}


def _judged_cell(cell: str) -> Text:
    for word, style in _STYLES.items():
        if f"({word})" in cell:
            head, _, tail = cell.partition(f"({word})")
            return Text.assemble(head, (f"({word})", style), tail)
    return Text(cell)


def reference_markdown(table: pd.DataFrame) -> str:
    """The reference table as markdown, then the sources and notes as a list."""
    headers, rows, numeric, sources = _reference_cells(table)

    out = [*markdown_table(headers, rows, numeric), ""]
    out += notes_list([*source_lines(sources), *reference_notes(table)])
    return "\n".join(out) + "\n"


def reference_html(table: pd.DataFrame) -> str:
    """The reference table as an HTML table plus its sources and notes (escaped)."""
    headers, rows, numeric, sources = _reference_cells(table)
    judged = table["judged"].tolist()
    head = "".join(f"<th>{html_text(h)}</th>" for h in headers)
    body = []
    for row, mark in zip(rows, judged, strict=True):
        cells = []
        for pos, (cell, is_num) in enumerate(zip(row, numeric, strict=True)):
            classes = ["num"] if is_num else []
            if pos == len(row) - 2 and isinstance(mark, str):
                classes.append(mark)
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{html_text(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    notes = [*source_lines(sources), *reference_notes(table)]
    return (
        f'<table class="references"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
        '</tbody></table><ul class="notes">'
        + "".join(f"<li>{html_text(x)}</li>" for x in notes)
        + "</ul>"
    )


__all__ = [
    "format_p",
    "format_published",
    "reference_html",
    "reference_markdown",
    "reference_notes",
    "reference_rich",
]
