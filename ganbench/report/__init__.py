"""Reports: aggregate results over seeds (pandas) and render them (rich, markdown, csv, json).

Typical use::

    from ganbench.report import read_results, summarize, summary_table, to_text

    results = read_results("results/mode_collapse")
    summary = summarize(results, ["modes", "fd"])
    print(to_text(summary, "csv"))

Nothing here imports training code (no JAX).
"""

from ganbench.report.aggregate import (
    DEFAULT_METRICS,
    final_values,
    group_columns,
    resolve_metrics,
    summarize,
    summary_keys,
    summary_metrics,
)
from ganbench.report.render import (
    FORMATS,
    format_cell,
    format_number,
    summary_notes,
    summary_table,
    to_text,
)
from ganbench.results.read import Results, read_results

__all__ = [
    "DEFAULT_METRICS",
    "FORMATS",
    "Results",
    "final_values",
    "format_cell",
    "format_number",
    "group_columns",
    "read_results",
    "resolve_metrics",
    "summarize",
    "summary_keys",
    "summary_metrics",
    "summary_notes",
    "summary_table",
    "to_text",
]
