"""The one place a report is built: every table, figure selection and warning of a selection of
results, computed once into a :class:`ganbench.report.document.Report` that only renders.

:func:`build_report` computes which runs (``where``, EMA rows), the summary over seeds (with
stability, the baseline comparison, chance flags and the order), each suite's published numbers
beside the measured ones, budget curves, the runs and budget panels the figures show, and every
warning. :func:`open_report` is it from a folder with keyword options: ``ganbench.report(...)``
and ``ganbench report`` both call it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ganbench.errors import ConfigError, OptionError
from ganbench.report.document import Report
from ganbench.report.pipeline import EMA_CHOICES, SummaryRequest, build_summary
from ganbench.results.read import Results, read_results

__all__ = [
    "EMA_CHOICES",
    "REFERENCE_CHOICES",
    "ReportRequest",
    "build_report",
    "figure_runs",
    "open_report",
    "stale_run_warnings",
]

REFERENCE_CHOICES = ("auto", "only", "off")
"""What a report does with published numbers (``[[reference]]`` in a suite): ``auto`` shows
them after the summary (table, markdown, HTML), ``only`` shows just them (the way to get them as
csv or json), ``off`` hides them."""


@dataclass(frozen=True)
class ReportRequest(SummaryRequest):
    """What a report shows: the options of ``ganbench report``, each with its default (the
    summary's, then what the report adds)."""

    references: str = "auto"
    """Published numbers: one of :data:`REFERENCE_CHOICES`."""
    budget: str | None = None
    """A metric: budget curves of it replace the summary in text (the page shows both)."""

    def checked(self) -> ReportRequest:
        """The request with ``step`` parsed; raises OptionError for a bad setting."""
        if self.references not in REFERENCE_CHOICES:
            raise OptionError(
                "references", f"{self.references!r}: allowed: {', '.join(REFERENCE_CHOICES)}"
            )
        return super().checked()


def build_report(results: Results, request: ReportRequest | None = None) -> Report:
    """The report of ``results`` that ``request`` asks for: every table and warning, computed
    once, for any renderer.

    Raises:
        ganbench.errors.OptionError: a bad option value (the message names the option).
        ganbench.errors.ConfigError: ``references="only"`` with nothing to show, or with a
            ``budget``.
    """
    request = (request or ReportRequest()).checked()
    warnings = [*results.warnings, *stale_run_warnings(results)]
    results, summary = build_summary(results, request)
    curves = None
    if request.budget is not None:
        curves = _budget(results, request, warnings)
    published = _published(results, request, warnings)
    if request.alpha is not None and request.baseline is None and published is None:
        warnings.append("--alpha has no effect without --baseline or references")
    figures = functools.cache(functools.partial(_figure_selection, results, summary, request))
    return Report(request, results, summary, published, curves, warnings, figures)


def open_report(results: str | Path | Results = "results", **options: Any) -> Report:
    """:func:`build_report` of a results folder (or of :class:`Results` already read), with
    :class:`ReportRequest`'s fields as keyword options (``ganbench.report(...)``)."""
    unknown = sorted(set(options) - set(ReportRequest.__dataclass_fields__))
    if unknown:
        from ganbench.text import suggestion

        fields = list(ReportRequest.__dataclass_fields__)
        raise ConfigError(
            f"report: unknown option {unknown[0]!r}{suggestion(unknown[0], fields)} "
            f"known: {', '.join(fields)}"
        )
    request = ReportRequest(**options)
    request.checked()  # a bad option fails before the folder is read
    if not isinstance(results, Results):
        results = read_results(Path(results))
    return build_report(results, request)


def _budget(results: Results, request: ReportRequest, warnings: list[str]) -> pd.DataFrame:
    from ganbench.report.budget import budget_curves, conflict_note

    if request.references == "only":
        raise ConfigError("--budget: prints budget curves; --references only prints "
                          "published numbers; give one of them")  # fmt: skip
    curves = budget_curves(results, request.budget, step=request.step)
    if clashes := curves.attrs["budget"].get("conflicting"):
        warnings.append(conflict_note(clashes))
    shaping = [f"--{name}" for name in ("metric", "by", "sort", "baseline")
               if getattr(request, "metrics" if name == "metric" else name)]  # fmt: skip
    if shaping:
        verb = "shapes" if len(shaping) == 1 else "shape"
        warnings.append(f"{', '.join(shaping)} {verb} the summary, which --budget replaces "
                        "on stdout (an --html page still shows it)")  # fmt: skip
    return curves


def _published(
    results: Results, request: ReportRequest, warnings: list[str]
) -> pd.DataFrame | None:
    """The published-and-measured table of the results' references (None without any)."""
    if request.references == "off":
        return None
    from ganbench.report.references import read_references, reference_table

    found, problems = read_references(results)
    warnings += problems
    table = reference_table(results, found, step=request.step, alpha=request.level)
    if len(table):
        return table
    if request.references == "only":
        raise ConfigError(
            "--references only: no reference matches these results (a suite lists its "
            "published numbers as [[reference]] tables; see README, 'Published numbers')"
        )
    return None


def stale_run_warnings(results: Results) -> list[str]:
    """Runs that share suite, variant, grid point and seed but not their configuration (for
    example results of an earlier version of the suite): they would be averaged together."""
    keys = ["suite", "variant", "dataset", *results.grid_keys, "seed"]
    keys = list(dict.fromkeys(k for k in keys if k in results.runs.columns))
    counts = results.runs.groupby(keys, dropna=False, sort=False)["run_id"].nunique()
    out = []
    for key, n in counts[counts > 1].items():
        where = ", ".join(f"{k}={v}" for k, v in zip(keys, key, strict=True))
        out.append(
            f"{n} runs with different configurations share {where}; they are aggregated "
            "together (delete stale run folders, or report a narrower folder)"
        )
    return out


def figure_runs(results: Results, metrics: list[str], *, step: str | int = "final") -> Results:
    """The runs the figures and players show: every run of ``results``, or of a search, each
    configuration's best trial by the first of ``metrics`` that ranks them."""
    from ganbench.report.budget import best_trials, has_trials, ranking_metric

    if has_trials(results):
        metric = ranking_metric(results, metrics)
        if metric is not None:
            return best_trials(results, metric, step=step)
    return results


def _figure_selection(
    results: Results, summary: pd.DataFrame, request: ReportRequest
) -> tuple[Results, list]:
    """The runs the figures show and a search's budget panels, by the ``budget`` metric or the
    summary's metrics."""
    from ganbench.report.budget import budget_panels
    from ganbench.report.summary import summary_metrics

    metrics = [request.budget] if request.budget else summary_metrics(summary)
    shown = figure_runs(results, metrics, step=request.step)
    return shown, budget_panels(results, metrics, step=request.step)
