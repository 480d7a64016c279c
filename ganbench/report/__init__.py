"""Reports: aggregate results over seeds (pandas) and render them (rich, markdown, csv, json).

Typical use::

    from ganbench.report import read_results, summarize, summary_table, to_text

    results = read_results("results/mode_collapse")
    summary = summarize(results, ["modes", "fd"])
    print(to_text(summary, "csv"))

    # Each variant against the variant "baseline" at the same dataset/grid point (Welch t-test).
    compared = versus_baseline(summary, "baseline")
    print(to_text(compared, "csv"))  # adds modes_delta, modes_p, modes_verdict, ...

The whole report (summary, published numbers, budget curves, the HTML page and figures) is
built in one place, :mod:`ganbench.report.build`, into a :mod:`ganbench.report.document`
that renders it; calling the package is :func:`ganbench.api.report`::

    import ganbench

    ganbench.report("results/mode_collapse", metrics=["modes", "fd"]).write(html="page.html")

Nothing here imports training code (no JAX).
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ganbench.report.baseline import DEFAULT_ALPHA, VERDICTS, versus_baseline, welch_p_value
from ganbench.report.formatting import format_cell, format_number
from ganbench.report.render import (
    FORMATS,
    format_delta,
    summary_notes,
    summary_table,
    to_text,
    verdict_lines,
)
from ganbench.report.select import (
    filter_results,
    final_values,
    group_columns,
    metric_direction,
    parse_step,
    resolve_metrics,
)
from ganbench.report.stability import with_stability
from ganbench.report.summary import (
    DEFAULT_METRICS,
    curves,
    sort_summary,
    summarize,
    summary_keys,
    summary_metrics,
)
from ganbench.results.read import Results, read_results

if TYPE_CHECKING:
    from ganbench.report.document import Report

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_METRICS",
    "FORMATS",
    "VERDICTS",
    "Results",
    "curves",
    "filter_results",
    "final_values",
    "format_cell",
    "format_delta",
    "format_number",
    "group_columns",
    "metric_direction",
    "parse_step",
    "read_results",
    "resolve_metrics",
    "sort_summary",
    "summarize",
    "summary_keys",
    "summary_metrics",
    "summary_notes",
    "summary_table",
    "to_text",
    "verdict_lines",
    "versus_baseline",
    "welch_p_value",
    "with_stability",
]


class _ReportPackage(ModuleType):
    """``ganbench.report`` is this package, and called, the public :func:`ganbench.api.report`:
    the package root cannot hold both under one name, so the package itself is callable."""

    def __call__(self, results: str | Path | Results = "results", **options: Any) -> Report:
        from ganbench.report.build import open_report

        return open_report(results, **options)


sys.modules[__name__].__class__ = _ReportPackage
