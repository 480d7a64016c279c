"""A comparison of two sets of runs (:func:`ganbench.report.compare.compare`), drawn: a rich
table, markdown, csv (every column, full precision) or json, with notes on what was compared."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table
from rich.text import Text

from ganbench.errors import OptionError
from ganbench.report.baseline import DEFAULT_ALPHA
from ganbench.report.formatting import format_cell, format_number, key_text
from ganbench.report.select import metric_direction

_MARKS = {"better": "↑ better", "worse": "↓ worse", "same": "= same", "n/a": "n/a"}


def comparison_lines(table: pd.DataFrame) -> list[str]:
    """Notes under a comparison: what was compared, the test, and the counts of verdicts."""
    attrs = table.attrs
    lines = []
    if attrs.get("base_label"):
        lines.append(f"new = {attrs['new_label']}, base = {attrs['base_label']}.")
    counts = table["verdict"].value_counts()
    lines.append(
        f"{counts.get('better', 0)} better, {counts.get('worse', 0)} worse, "
        f"{counts.get('same', 0)} same, {counts.get('n/a', 0)} without a test, of {len(table)} "
        f"comparisons; verdicts by the {attrs.get('test', 'welch')} test at alpha = "
        f"{attrs.get('alpha', DEFAULT_ALPHA):g}."
    )
    tested = int((table["verdict"] != "n/a").sum())
    if tested:
        lines.append(
            f"By chance alone about {tested * attrs.get('alpha', DEFAULT_ALPHA):.1f} of "
            f"{tested} tested comparisons would be marked."
        )
    lines.append(
        f"Δ = mean(new) - mean(base) with its {100 * attrs.get('level', 0.95):g}% Welch "
        "confidence interval; cells: mean ± sample std (n = completed seeds)."
    )
    small = table[(table["base_n"] < 4) | (table["new_n"] < 4)]
    if len(small):
        lines.append(
            "Mann-Whitney U cannot reach p < 0.05 with 3 or fewer seeds on a side (3 vs 3: "
            "p >= 0.1); use more seeds or the Welch test."
        )
    for side, key in attrs.get("unmatched", [])[:5]:
        where = ", ".join(f"{k}={v}" for k, v in key.items() if v is not None)
        lines.append(f"only in {side}: {where}")
    extra = len(attrs.get("unmatched", [])) - 5
    if extra > 0:
        lines.append(f"... and {extra} more configurations on one side only")
    return lines


def comparison_cells(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells of a comparison, for the human formats."""
    keys = [k for k in table.attrs.get("keys", []) if k in table.columns]
    keys = [k for k in keys if not (k == "suite" and table[k].nunique() <= 1)]
    headers = [*keys, "metric", "base", "new", "Δ [CI]", "p Welch", "p MWU", "verdict"]
    rows = []
    for rec in table.to_dict("records"):
        direction = metric_direction(rec["metric"])
        arrow = "" if direction is None else (" ↑" if direction else " ↓")
        delta = format_number(rec["delta"])
        if not math.isnan(rec["ci_low"]):
            delta += f" [{format_number(rec['ci_low'])}, {format_number(rec['ci_high'])}]"
        rows.append(
            [
                *(key_text(rec[k]) for k in keys),  # a run without a profile: empty
                rec["metric"] + arrow,
                format_cell(rec["base_mean"], rec["base_std"], rec["base_n"])
                + f" (n={rec['base_n']})",
                format_cell(rec["new_mean"], rec["new_std"], rec["new_n"]) + f" (n={rec['new_n']})",
                delta,
                _p(rec["p_welch"]),
                _p(rec["p_mannwhitney"]),
                _MARKS[rec["verdict"]],
            ]
        )
    return headers, rows


def comparison_table(table: pd.DataFrame):
    """A rich Table of a comparison; worse in red, better in green."""
    headers, rows = comparison_cells(table)
    caption = Text("\n".join(comparison_lines(table)), style="table.caption")
    out = Table(title="ganbench compare", caption=caption, caption_justify="left")
    for h in headers:
        out.add_column(h, justify="right" if h.startswith(("p ", "Δ")) else "left")
    styles = {"↑ better": "bold green", "↓ worse": "bold red"}
    for row in rows:
        # Text cells: variant names and grid values come from results folders; never markup.
        out.add_row(*(Text(c) for c in row[:-1]), Text(row[-1], style=styles.get(row[-1], "")))
    return out


def comparison_text(table: pd.DataFrame, fmt: str) -> str:
    """``markdown``, ``csv`` (every column, full precision) or ``json`` text."""
    if fmt == "csv":
        return table.to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        records = [
            {k: _finite_or_none(v) for k, v in rec.items()} for rec in table.to_dict("records")
        ]
        return json.dumps(records, indent=2, default=_json_default) + "\n"
    if fmt == "markdown":
        headers, rows = comparison_cells(table)
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines) + "\n\n" + "\n".join(comparison_lines(table)) + "\n"
    raise OptionError("format", f"{fmt!r}: allowed: table, markdown, csv, json")


def _finite_or_none(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not np.isfinite(value) else float(value)
    return str(value)


def _p(value: float) -> str:
    if value is None or math.isnan(value):
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"
