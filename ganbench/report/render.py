"""Render a summary (from :func:`ganbench.report.summarize`) as a rich table or as text.

Human formats (rich, markdown) show ``mean ± std`` cells rounded for reading, with notes on what
the numbers are. Machine formats (csv, json) keep every summary column, separate mean/std/n
columns and full float precision. A summary compared with a baseline (see
:func:`ganbench.report.versus_baseline`) also shows a delta cell per metric (``+1.25 ↑``: better,
``-0.40 ↓``: worse, ``+0.02 =``: within seed noise) and one line per grid point that names the
variants better and worse than the baseline. Nothing here imports training code.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table
from rich.text import Text

from ganbench.errors import ConfigError
from ganbench.metrics import catalog, names
from ganbench.report.baseline import BASELINE_VERDICT
from ganbench.report.chance import chance_mark, chance_notes
from ganbench.report.formatting import (
    MISSING,
    format_cell,
    format_signed,
    key_text,
    markdown_table,
    metric_header,
    notes_list,
    point_text,
    shown_decimals,
)
from ganbench.report.select import metric_direction
from ganbench.report.stability import STABILITY
from ganbench.report.summary import summary_keys, summary_metrics
from ganbench.text import suggestion

FORMATS = ("markdown", "csv", "json")
"""Text formats :func:`to_text` writes."""

_COUNTS = (("n_runs", "runs"), ("completed", "completed"), ("diverged", "diverged"),
           ("failed", "failed"))  # fmt: skip

MARKS = {"better": "↑", "worse": "↓", "same": "="}
"""The mark after a delta for each verdict (none for ``n/a``)."""

_STYLES = {"better": "bold green", "worse": "bold red", BASELINE_VERDICT: "dim"}


def format_delta(delta: float, verdict: str, decimals: int | None = None) -> str:
    """A signed difference and its verdict's mark, e.g. ``+1.25 ↑``; ``baseline`` on its rows."""
    if verdict == BASELINE_VERDICT:
        return BASELINE_VERDICT
    if delta is None or pd.isna(delta):
        return MISSING
    text = format_signed(delta, decimals)
    mark = MARKS.get(verdict)
    return f"{text} {mark}" if mark else text


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
    references = (
        summary["variant"].map(names.is_baseline_row).to_numpy(bool)
        if "variant" in summary.columns
        else np.zeros(len(summary), bool)
    )
    trained = summary[~references]
    if len(trained):
        seeds = _unique(trained, "seeds")
        if len(seeds) == 1:
            listed = str(seeds[0]).split(",")
            noun = "seed" if len(listed) == 1 else "seeds"
            runs = "run" if len(listed) == 1 else "runs"
            notes.append(f"Each row: {noun} {', '.join(listed)} ({len(listed)} {runs}).")
        else:
            low, high = int(trained["n_runs"].min()), int(trained["n_runs"].max())
            span = f"{low}" if low == high else f"{low} to {high}"
            notes.append(f"Each row: {span} runs, with different seeds (see the seeds column).")
    drawn = summary[references & (summary["n_runs"] > 1).to_numpy(bool)] if len(summary) else []
    if len(drawn):
        low, high = int(drawn["n_runs"].min()), int(drawn["n_runs"].max())
        span = f"{low}" if low == high else f"{low} to {high}"
        notes.append(
            f"Data and chance rows (they train nothing): mean ± sample std over {span} "
            "independent draws, so the mean is their expectation and the std the spread of one "
            "draw, what one seed of a variant is compared with."
        )
    samples = _sample_note(summary, metrics)
    if samples:
        notes.append(samples)
    if any(catalog.is_frechet(m) for m in metrics):
        notes.append(
            "FD is biased upward at small sample counts: compare FD values only at equal "
            "n_real and n_fake."
        )
    compared = _compared(summary)
    if any(metric_direction(m) is not None for m in metrics):
        where = "In headers: " if compared else ""
        notes.append(f"{where}↑ higher is better, ↓ lower is better.")
    if compared:
        notes += _comparison_notes(summary, compared)
    notes += chance_notes(summary)
    return notes


def verdict_lines(summary: pd.DataFrame, metric: str | None = None) -> list[str]:
    """One line per grid point of a compared summary, for one metric: which variants are better
    or worse than the baseline, and how many are not distinguishable from it.

    For example ``ring8: modes better with r1, unrolled-5; worse with wgan-clip; same for 11
    others`` (up to three variants are named rather than counted). ``metric`` defaults to the first compared metric with a direction. Empty for a
    summary without comparisons (or without such a metric).
    """
    compared = _compared(summary)
    if metric is None:
        metric = next((m for m in compared if metric_direction(m) is not None), None)
    if metric is None or metric not in compared:
        return []
    verdict = summary[f"{metric}_verdict"]
    shown = [
        k
        for k in summary_keys(summary)
        if k != "variant"
        and not (k == "suite" and len(_unique(summary, "suite")) <= 1)
        and not (k != "dataset" and summary[k].isna().all())
    ]
    labels = [
        tuple(point_text(k, v) for k, v in zip(shown, values, strict=True))
        for values in summary[shown].itertuples(index=False, name=None)
    ]
    with_base = {label for label, v in zip(labels, verdict, strict=True) if v == BASELINE_VERDICT}
    groups: dict[tuple[str, ...], dict[str, list[str]]] = {}
    for label, variant, v in zip(labels, summary["variant"], verdict, strict=True):
        if v != BASELINE_VERDICT and not names.is_baseline_row(variant):  # no training to rank
            groups.setdefault(label, {}).setdefault(str(v), []).append(key_text(variant))
    lines = []
    for label, by in groups.items():
        point = ", ".join(p for p in label if p) or "all runs"
        if label not in with_base:
            lines.append(f"{point}: no {_baseline_name(summary)} runs to compare with")
            continue
        parts = [
            f"{word} with {', '.join(by[name])}"
            for name, word in (("better", "better"), ("worse", "worse"))
            if by.get(name)
        ]
        same = by.get("same", [])
        if len(same) <= 3:
            parts += [f"same for {', '.join(same)}"] if same else []
        else:
            parts.append(f"same for {len(same)} others" if parts else f"same for all {len(same)}")
        if by.get("n/a"):
            parts.append(f"no test for {', '.join(by['n/a'])} (fewer than 2 values)")
        lines.append(f"{point}: {metric} {'; '.join(parts)}")
    return lines


def _baseline_name(summary: pd.DataFrame) -> str:
    """The baseline variant, quoted, of a compared summary ('the baseline' when unknown)."""
    base = summary.attrs.get("baseline")
    if base is None:
        compared = _compared(summary)
        verdict = summary[f"{compared[0]}_verdict"] if compared else pd.Series(dtype=object)
        found = _unique(summary[verdict == BASELINE_VERDICT], "variant") if compared else []
        if len(found) != 1:
            return "the baseline"
        base = found[0]
    return repr(str(base))


def summary_table(summary: pd.DataFrame, *, title: str | None = None) -> Table:
    """The summary as a rich Table, one row per configuration, notes in the caption.

    A compared summary's caption starts with :func:`verdict_lines`; delta marks are green for
    better, red for worse.
    """
    headers, rows, numeric, verdicts = summary_cells(summary)
    if title is None:
        suites = _unique(summary, "suite")
        title = f"ganbench: {suites[0]}" if len(suites) == 1 else "ganbench summary"
    lines = [*verdict_lines(summary), *summary_notes(summary)]
    caption = Text("\n".join(lines), style="table.caption")
    # A Text title: suite names come from results folders and are never read as markup.
    table = Table(title=Text(title), caption=caption, caption_justify="left")
    for header, is_numeric in zip(headers, numeric, strict=True):
        table.add_column(header, justify="right" if is_numeric else "left")
    for row, marks in zip(rows, verdicts, strict=True):
        table.add_row(*(_delta_cell(c, v) for c, v in zip(row, marks, strict=True)))
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
    hint = suggestion(fmt, FORMATS)
    raise ConfigError(f"unknown report format {fmt!r}{hint} known: {', '.join(FORMATS)}")


# --- helpers -----------------------------------------------------------------------------------


def summary_cells(
    summary: pd.DataFrame,
) -> tuple[list[str], list[list[str]], list[bool], list[list[str | None]]]:
    """Headers, formatted cells, right-justification and, per cell, the verdict of a delta cell
    (``None`` elsewhere) for the human formats."""
    keys = [
        k
        for k in summary_keys(summary)
        if not (k == "suite" and len(_unique(summary, "suite")) <= 1)
        and not (k not in ("variant", "dataset") and summary[k].isna().all())
    ]
    metrics = summary_metrics(summary)
    compared = set(_compared(summary))
    counts = [(c, h) for c, h in _COUNTS if c in summary.columns]
    stability = STABILITY in summary.columns
    headers = [*keys, *(h for _, h in counts), *([STABILITY] if stability else [])]
    for m in metrics:
        headers += [metric_header(m), *([f"Δ {m}"] if m in compared else [])]
    numeric = [False] * len(keys) + [True] * len(counts) + [False] * stability
    numeric += [True] * (len(headers) - len(numeric))
    rows: list[list[str]] = []
    verdicts: list[list[str | None]] = []
    for _, rec in summary.iterrows():
        cells = [key_text(rec[k]) for k in keys]
        cells += [str(int(rec[c])) for c, _ in counts]
        if stability:
            cells.append(str(rec[STABILITY]))
        marks: list[str | None] = [None] * len(cells)
        completed = int(rec["completed"]) if "completed" in summary.columns else None
        for m in metrics:
            mean = rec[f"{m}_mean"]
            cell = format_cell(mean, rec[f"{m}_std"], int(rec[f"{m}_n"]), completed)
            cells.append(cell + chance_mark(rec, m))
            marks.append(None)
            if m in compared:
                verdict = str(rec[f"{m}_verdict"])
                decimals = None if pd.isna(mean) else shown_decimals(mean)
                cells.append(format_delta(rec[f"{m}_delta"], verdict, decimals))
                marks.append(verdict)
        rows.append(cells)
        verdicts.append(marks)
    return headers, rows, numeric, verdicts


def _delta_cell(cell: str, verdict: str | None) -> str | Text:
    """A rich cell: delta marks coloured by verdict; plain text elsewhere (no markup parsed)."""
    style = _STYLES.get(verdict or "")
    if style is None:
        return Text(cell)
    if verdict == BASELINE_VERDICT:
        return Text(cell, style=style)
    text, _, mark = cell.rpartition(" ")
    return Text.assemble(text + " ", (mark, style))


def _compared(summary: pd.DataFrame) -> list[str]:
    """The metrics of a summary that carry a comparison with the baseline."""
    columns = set(summary.columns)
    return [
        m
        for m in summary_metrics(summary)
        if f"{m}_delta" in columns and f"{m}_p" in columns and f"{m}_verdict" in columns
    ]


def _comparison_notes(summary: pd.DataFrame, compared: list[str]) -> list[str]:
    label = _baseline_name(summary)
    alpha = summary.attrs.get("alpha")
    level = f"p < {alpha:g}" if alpha is not None else "p < alpha"
    counts = sorted(
        {int(n) for m in compared for n in summary[f"{m}_n"] if not pd.isna(n) and int(n) > 0}
    )
    if not counts:
        seeds = "the seeds"
    elif len(counts) == 1:
        seeds = f"{counts[0]} seed{'s' if counts[0] != 1 else ''}"
    else:
        seeds = f"{counts[0]} to {counts[-1]} seeds"
    notes = [
        f"Δ vs {label} at the same dataset/grid point; ↑ better, ↓ worse: Welch t-test "
        f"{level} over {seeds}; = not distinguishable from seed noise."
    ]
    unmarked = missing = False
    for m in compared:
        rows = summary[summary[f"{m}_verdict"] != BASELINE_VERDICT]
        delta = rows[f"{m}_delta"]
        unmarked |= bool(((rows[f"{m}_verdict"] == "n/a") & delta.notna()).any())
        missing |= bool((delta.isna() & rows[f"{m}_mean"].notna()).any())
    tested = int(summary[f"{compared[0]}_p"].notna().sum())
    if alpha is not None and tested * alpha >= 0.5:
        notes.append(
            f"Each Δ is tested on its own (no multiple-comparison correction): of {tested} "
            f"{compared[0]} comparisons, about {tested * alpha:.1f} are expected to be marked "
            "↑ or ↓ by chance even if no variant made a difference."
        )
    if unmarked:
        notes.append(
            "Δ without a mark: fewer than 2 values on a side, or a metric without a direction."
        )
    if missing:
        notes.append(f"Δ {MISSING}: no {label} value at that grid point.")
    return notes


def _markdown(summary: pd.DataFrame) -> str:
    headers, rows, numeric, _ = summary_cells(summary)
    out = [*markdown_table(headers, rows, numeric), ""]
    out += notes_list([*verdict_lines(summary), *summary_notes(summary)])
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
