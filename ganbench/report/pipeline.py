"""The report pipeline, assembled once: which runs, how EMA generators show, the summary over
seeds, stability profiles, the comparison with a baseline, chance flags and the row order.

:func:`ganbench.report.build.build_report` calls :func:`build_summary` for ``ganbench report``,
``ganbench run``'s closing table and ``ganbench.report(...)``; a notebook can too::

    from ganbench.report.pipeline import SummaryRequest, build_summary
    from ganbench.report import read_results

    results, table = build_summary(read_results("results/stabilizers"), SummaryRequest(
        baseline="baseline", metrics=["modes", "fd"]))
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from ganbench.errors import OptionError
from ganbench.report.baseline import DEFAULT_ALPHA, versus_baseline
from ganbench.report.chance import with_chance_flags
from ganbench.report.select import filter_results, parse_step
from ganbench.report.stability import with_stability
from ganbench.report.summary import sort_summary, summarize
from ganbench.results.read import Results

BASELINE = "baseline"
"""A suite's variant of this name is what the suite's own summary, at the end of ``ganbench
run``, compares the others with."""

EMA_CHOICES = ("rows", "columns")
"""How runs with a generator EMA show the averaged generator: a row ``<variant> (EMA G)``
beside the raw generator's, or ``ema/<metric>`` columns."""


@dataclass(frozen=True)
class SummaryRequest:
    """What a summary shows; every field has the CLI's default."""

    metrics: list[str] | None = None
    """Metric names or glob patterns (default: the catalog's table metrics the results hold)."""
    by: list[str] | None = None
    """The columns that make a row (default: suite, variant, dataset and the grid keys)."""
    step: Any = "final"
    """Which value of each run: "final", "best" or a step number."""
    where: list[str] | None = None
    """KEY=VALUE conditions on the runs ('|' separates alternatives)."""
    ema: str = "rows"
    baseline: str | None = None
    """Compare every variant with this one at the same dataset / grid point."""
    alpha: float | None = None
    """Significance level of the comparison and of the near-chance flags (None: 0.05)."""
    sort: str | None = None
    """Sort rows by a metric (best first) or a column (ascending)."""

    def checked(self) -> SummaryRequest:
        """The request with ``step`` parsed; raises OptionError for a bad setting."""
        if self.ema not in EMA_CHOICES:
            raise OptionError("ema", f"{self.ema!r}: allowed: {', '.join(EMA_CHOICES)}")
        if self.alpha is not None and not 0 < self.alpha < 1:
            raise OptionError(
                "alpha", f"{self.alpha:g}: must be between 0 and 1 (exclusive), e.g. 0.05"
            )
        if self.baseline is not None and self.by is not None and "variant" not in self.by:
            raise OptionError(
                "baseline", f"needs 'variant' among the by columns (got {','.join(self.by)!r})"
            )
        return replace(self, step=parse_step(self.step))

    @property
    def level(self) -> float:
        """The significance level: ``alpha``, or :data:`DEFAULT_ALPHA`."""
        return DEFAULT_ALPHA if self.alpha is None else self.alpha


def select(results: Results, request: SummaryRequest) -> Results:
    """The runs a summary covers: those matching ``where``, with EMA generators as rows when
    asked."""
    if request.where:
        results = filter_results(results, request.where)
    if request.ema == "rows":
        results = results.with_ema_rows()
    return results


def build_summary(results: Results, request: SummaryRequest) -> tuple[Results, pd.DataFrame]:
    """The selected results and their summary table: over seeds, with stability profiles, the
    comparison with the baseline, chance flags and the requested order."""
    request = request.checked()
    results = select(results, request)
    summary = summarize(results, request.metrics, by=request.by, step=request.step)
    summary = with_stability(summary, results, by=request.by)
    if request.baseline is not None:
        summary = versus_baseline(summary, request.baseline, alpha=request.level)
    summary = with_chance_flags(summary, alpha=request.level)
    if request.sort is not None:
        summary = sort_summary(summary, request.sort)
    return results, summary
