"""An evaluation's result as a terminal table, JSON or CSV (``ganbench eval --format``).

JSON is :meth:`~ganbench.evaluation.core.EvalResult.to_dict`: every value with what makes it
comparable. CSV has one row per metric, each carrying the comparability fields as columns, so
rows of several evaluations can be stacked into one table. The table prints the values and,
under it, the protocol and the warnings.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from ganbench.evaluation.core import EvalResult
from ganbench.metrics import catalog

FORMATS = ("table", "json", "csv")

CSV_COLUMNS = (
    "metric", "value", "better", "extractor", "resize", "weights_sha256", "n_samples",
    "n_reference", "samples", "reference", "ganbench",
)  # fmt: skip


def _value(x: float) -> str:
    if not math.isfinite(x):
        return "nan"
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.4e}"
    return f"{x:.4f}"


def _source(identity: dict[str, Any]) -> str:
    kind = identity.get("kind")
    if kind == "dataset":
        return str(identity["name"])
    if kind == "generator":
        return f"generator {identity['name']}"
    where = identity.get("path") or identity.get("name") or "?"
    if identity.get("array"):
        where = f"{where}:{identity['array']}"
    if identity.get("samples"):
        where = f"{where} ({identity['samples']})"
    return str(where)


def _extractor_record(result: EvalResult, name: str | None) -> dict[str, Any]:
    return next((e for e in result.extractors if e.get("name") == name), {})


def rows(result: EvalResult) -> list[dict[str, Any]]:
    """One dict per metric with the :data:`CSV_COLUMNS`."""
    out = []
    for m in result.metrics:
        extractor = _extractor_record(result, m.extractor)
        better = catalog.higher_is_better(m.name)
        out.append(
            {
                "metric": m.name,
                "value": m.value,
                "better": "" if better is None else ("higher" if better else "lower"),
                "extractor": m.extractor or "",
                "resize": extractor.get("resize") or "",
                "weights_sha256": (extractor.get("weights") or {}).get("sha256") or "",
                "n_samples": m.n_samples,
                "n_reference": "" if m.n_reference is None else m.n_reference,
                "samples": _source(result.samples),
                "reference": _source(result.reference),
                "ganbench": result.ganbench,
            }
        )
    return out


def to_json(result: EvalResult) -> str:
    return json.dumps(result.to_dict(), indent=2, sort_keys=False, default=str)


def to_csv(result: EvalResult) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows(result):
        writer.writerow({**row, "value": repr(row["value"])})
    return buf.getvalue()


def to_table(result: EvalResult):
    """A rich renderable: the values, then the protocol and the warnings."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title=None, show_lines=False)
    for column, justify in (("metric", "left"), ("value", "right"), ("extractor", "left"),
                            ("n", "right"), ("n_ref", "right")):  # fmt: skip
        table.add_column(column, justify=justify)
    for row in rows(result):
        arrow = {"higher": " ↑", "lower": " ↓"}.get(row["better"], "")
        table.add_row(
            Text(row["metric"] + arrow), _value(row["value"]), Text(row["extractor"] or "-"),
            f"{row['n_samples']:,}", "-" if row["n_reference"] == "" else f"{row['n_reference']:,}",
        )  # fmt: skip
    lines = [
        f"samples:   {_source(result.samples)} ({result.samples['n']:,})",
        f"reference: {_source(result.reference)} ({result.reference['n']:,})",
    ]
    for e in result.extractors:
        if e.get("name") is None:
            lines.append("space:     the points themselves")
            continue
        sha = (e.get("weights") or {}).get("sha256")
        weights = f", weights sha256 {sha[:12]}" if sha else ""
        state = result.cache.get(e["name"])
        cached = f", reference features {state}" if state else ""
        lines.append(
            f"extractor: {e['name']} (resize {e.get('resize') or 'none'}, {e.get('feature_dim')}-d"
            f"{weights}{cached})"
        )
    lines.append(f"ganbench {result.ganbench}")
    parts: list[Any] = [table, Text("\n".join(lines), style="dim")]
    if result.warnings:
        parts.append(Text("\n".join(f"warning: {w}" for w in result.warnings), style="yellow"))
    return Group(*parts)


__all__ = ["CSV_COLUMNS", "FORMATS", "rows", "to_csv", "to_json", "to_table"]
