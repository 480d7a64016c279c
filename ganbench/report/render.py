"""Render a summary (from :func:`ganbench.report.summarize`) as a rich table or as text.

Human formats (rich, markdown) show ``mean ± std`` cells rounded for reading, with notes on what
the numbers are. Machine formats (csv, json) keep every summary column, separate mean/std/n
columns and full float precision. Nothing here imports training code.
"""

from __future__ import annotations

import difflib
import json
import math
from typing import Any

import pandas as pd
from rich.table import Table

from ganbench.errors import ConfigError
from ganbench.metrics import names
from ganbench.report.aggregate import summary_keys, summary_metrics

FORMATS = ("markdown", "csv", "json")
"""Text formats :func:`to_text` writes."""

MISSING = "—"
"""Shown where a metric has no value (no completed run recorded it)."""

_COUNTS = (("n_runs", "runs"), ("completed", "completed"), ("diverged", "diverged"),
           ("failed", "failed"))  # fmt: skip


def format_number(value: float, decimals: int | None = None) -> str:
    """A float for reading: 2 decimals from 1 to 100, fewer above, more below, e-notation tiny."""
    if value is None or pd.isna(value):
        return MISSING
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if decimals is None:
        decimals = _decimals(value)
    if decimals < 0:
        return f"{value:.2e}"
    return f"{value:.{decimals}f}"


def format_cell(mean: float, std: float, n: int, completed: int | None = None) -> str:
    """``mean ± std`` (std with the mean's decimals); ``(n=k)`` when fewer values than runs."""
    if n == 0 or pd.isna(mean):
        return MISSING
    decimals = _decimals(mean)
    text = format_number(mean, decimals)
    if not pd.isna(std):
        spread = format_number(std, decimals)
        if std != 0 and decimals >= 0 and round(std, decimals) == 0:
            spread = f"{std:.1e}"
        text = f"{text} ± {spread}"
    if completed is not None and n < completed:
        text += f" (n={n})"
    return text


def summary_notes(summary: pd.DataFrame) -> list[str]:
    """Sentences that say what the summary's numbers are (used as caption and markdown notes)."""
    metrics = summary_metrics(summary)
    notes = []
    if metrics:
        notes.append(
            "Cells: mean ± sample std (ddof=1) of each run's final value over completed runs; "
            "diverged and failed runs are counted, not averaged; (n=k): only k values."
        )
    suites = _unique(summary, "suite")
    if len(suites) == 1:
        notes.append(f"Suite: {suites[0]}.")
    if len(summary):
        seeds = _unique(summary, "seeds")
        if len(seeds) == 1:
            listed = str(seeds[0]).split(",")
            noun = "seed" if len(listed) == 1 else "seeds"
            runs = "run" if len(listed) == 1 else "runs"
            notes.append(f"Each row: {noun} {', '.join(listed)} ({len(listed)} {runs}).")
        else:
            low, high = int(summary["n_runs"].min()), int(summary["n_runs"].max())
            span = f"{low}" if low == high else f"{low} to {high}"
            notes.append(f"Each row: {span} runs, with different seeds (see the seeds column).")
    samples = _sample_note(summary, metrics)
    if samples:
        notes.append(samples)
    if any(_is_frechet(m) for m in metrics):
        notes.append(
            "FD is biased upward at small sample counts: compare FD values only at equal "
            "n_real and n_fake."
        )
    if any(m in names.HIGHER_IS_BETTER for m in metrics):
        notes.append("↑ higher is better, ↓ lower is better.")
    return notes


def summary_table(summary: pd.DataFrame, *, title: str | None = None) -> Table:
    """The summary as a rich Table, one row per configuration, notes in the caption."""
    headers, rows, numeric = _display(summary)
    if title is None:
        suites = _unique(summary, "suite")
        title = f"ganbench: {suites[0]}" if len(suites) == 1 else "ganbench summary"
    table = Table(title=title, caption="\n".join(summary_notes(summary)), caption_justify="left")
    for header, is_numeric in zip(headers, numeric, strict=True):
        table.add_column(header, justify="right" if is_numeric else "left")
    for row in rows:
        table.add_row(*row)
    return table


def to_text(summary: pd.DataFrame, fmt: str) -> str:
    """The summary as ``markdown``, ``csv`` or ``json`` text (ends with a newline).

    csv: every summary column, floats at full precision, missing values empty.
    json: a list of objects, one per row, keyed by column; missing and non-finite values are
    ``null``; ``seeds`` is a list of integers.

    Raises:
        ConfigError: for an unknown format.
    """
    if fmt == "markdown":
        return _markdown(summary)
    if fmt == "csv":
        return summary.to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        return json.dumps(_records(summary), indent=2, allow_nan=False) + "\n"
    close = difflib.get_close_matches(fmt, FORMATS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"unknown report format {fmt!r}{hint} known: {', '.join(FORMATS)}")


# --- helpers -----------------------------------------------------------------------------------


def _decimals(value: float) -> int:
    """Decimals to show for ``value``; -1 means e-notation."""
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


def _display(summary: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    """Headers, formatted cells and right-justification for the human formats."""
    keys = [
        k
        for k in summary_keys(summary)
        if not (k == "suite" and len(_unique(summary, "suite")) <= 1)
        and not (k not in ("variant", "dataset") and summary[k].isna().all())
    ]
    metrics = summary_metrics(summary)
    counts = [(c, h) for c, h in _COUNTS if c in summary.columns]
    headers = [*keys, *(h for _, h in counts), *(_metric_header(m) for m in metrics)]
    numeric = [False] * len(keys) + [True] * (len(counts) + len(metrics))
    rows: list[list[str]] = []
    for _, rec in summary.iterrows():
        cells = [_key_text(rec[k]) for k in keys]
        cells += [str(int(rec[c])) for c, _ in counts]
        completed = int(rec["completed"]) if "completed" in summary.columns else None
        for m in metrics:
            cells.append(
                format_cell(rec[f"{m}_mean"], rec[f"{m}_std"], int(rec[f"{m}_n"]), completed)
            )
        rows.append(cells)
    return headers, rows, numeric


def _metric_header(metric: str) -> str:
    better = names.HIGHER_IS_BETTER.get(metric)
    if better is None:
        return metric
    return f"{metric} {'↑' if better else '↓'}"


def _key_text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def _markdown(summary: pd.DataFrame) -> str:
    headers, rows, numeric = _display(summary)

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    rule = "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"
    out = [line(headers), rule, *(line(r) for r in rows), ""]
    out += [f"- {note}" for note in summary_notes(summary)]
    return "\n".join(out) + "\n"


def _records(summary: pd.DataFrame) -> list[dict[str, Any]]:
    records = []
    for rec in summary.to_dict(orient="records"):
        out = {str(k): _json_value(v) for k, v in rec.items()}
        if isinstance(out.get("seeds"), str):
            out["seeds"] = [int(s) for s in out["seeds"].split(",") if s]
        records.append(out)
    return records


def _json_value(value: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, missing and non-finite to None."""
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    return None if pd.isna(value) else str(value)


def _unique(summary: pd.DataFrame, column: str) -> list[Any]:
    if column not in summary.columns:
        return []
    return list(dict.fromkeys(summary[column].tolist()))


def _is_frechet(metric: str) -> bool:
    return metric == names.FD or metric.startswith("fid")


def _sample_note(summary: pd.DataFrame, metrics: list[str]) -> str:
    """Which sample counts the values rest on, e.g. 'n_fake=2500 (fd: n_real=2500)'."""
    per_metric: dict[str, tuple[str, ...]] = {}
    for m in metrics:
        parts = []
        for col in ("n_real", "n_fake"):
            name = f"{m}_{col}"
            if name in summary.columns:
                values = sorted({int(v) for v in summary[name] if not pd.isna(v)})
                if values:
                    parts.append(f"{col}={'/'.join(str(v) for v in values)}")
        if parts:
            per_metric[m] = tuple(parts)
    if not per_metric:
        return ""
    distinct = set(per_metric.values())
    if len(distinct) == 1:
        (parts,) = distinct
        which = ", ".join(per_metric)
        return f"Samples per value ({which}): {', '.join(parts)}."
    pieces = [f"{m}: {', '.join(p)}" for m, p in per_metric.items()]
    return f"Samples per value: {'; '.join(pieces)}."
