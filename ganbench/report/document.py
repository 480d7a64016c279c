"""One report of a selection of results, built in one place and rendered in any format.

:func:`build_report` does all the computing: which runs, the summary over seeds (with
stability, the baseline comparison, chance flags and the order), each suite's published numbers
beside the measured ones, budget curves, the runs the figures show and every warning.
:class:`Report` holds the result; its methods only render it: :meth:`Report.text` (table,
markdown, csv, json), :meth:`Report.rich` (the tables a terminal shows) and :meth:`Report.write`
(the HTML page, figure files, animations). ``ganbench report`` is this module behind a command
line; from Python, ``ganbench.report(...)`` (:func:`ganbench.api.report`) builds the same
report::

    import ganbench

    report = ganbench.report("results/stabilizers", baseline="baseline")
    print(report.text("markdown"))
    report.write(html="stabilizers.html", plots="figures")
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from ganbench.errors import ConfigError, OptionError
from ganbench.report.pipeline import EMA_CHOICES, SummaryRequest, build_summary
from ganbench.report.plots import FORMATS as PLOT_FORMATS
from ganbench.results.read import Results, read_results

REFERENCE_CHOICES = ("auto", "only", "off")
"""What a report does with published numbers (``[[reference]]`` in a suite): ``auto`` shows
them after the summary (table, markdown, HTML), ``only`` shows just them (the way to get them as
csv or json), ``off`` hides them."""

TEXT_FORMATS = ("table", "markdown", "csv", "json")
"""The formats of :meth:`Report.text`: ``table`` is the rich tables as plain text."""

__all__ = [
    "EMA_CHOICES",
    "PLOT_FORMATS",
    "REFERENCE_CHOICES",
    "TEXT_FORMATS",
    "Report",
    "ReportRequest",
    "Written",
    "build_report",
    "check_outputs",
    "check_text_format",
    "open_report",
    "stale_run_warnings",
]


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


@dataclass(frozen=True)
class Written:
    """What :meth:`Report.write` wrote, and the notes of what it had to leave out."""

    figures: list[Path] = field(default_factory=list)
    animations: list[Path] = field(default_factory=list)
    html: Path | None = None
    notes: list[str] = field(default_factory=list)
    """One line per stored array too large to draw whole (cut or left out)."""


@dataclass
class Report:
    """A report of a selection of results (:func:`build_report`); its methods render it."""

    request: ReportRequest
    """What was asked, checked (``step`` parsed)."""
    results: Results
    """The selected runs (``where``; the EMA generators as runs with ``ema="rows"``)."""
    summary: pd.DataFrame
    """One row per configuration, over seeds (:func:`ganbench.report.pipeline.build_summary`)."""
    references: pd.DataFrame | None
    """Published and measured numbers, one row per reference and configuration (None: none
    shown)."""
    budget: pd.DataFrame | None
    """Budget curves of ``request.budget`` (None without it)."""
    warnings: list[str]
    """What a reader should know about the results: unreadable folders, stale runs, references
    that do not validate, options that change nothing."""

    @property
    def figure_metrics(self) -> list[str]:
        """The metrics of the budget figures: the ``budget`` metric, or the summary's."""
        from ganbench.report.summary import summary_metrics

        return [self.request.budget] if self.request.budget else summary_metrics(self.summary)

    @functools.cached_property
    def figure_runs(self) -> Results:
        """The runs the figures and players show: every selected run, or of a search, each
        configuration's best trial by the first of :attr:`figure_metrics` that ranks them."""
        from ganbench.report.budget import best_trials, has_trials, ranking_metric

        if has_trials(self.results):
            metric = ranking_metric(self.results, self.figure_metrics)
            if metric is not None:
                return best_trials(self.results, metric, step=self.request.step)
        return self.results

    # --- rendering -------------------------------------------------------------------------

    def _parts(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """The main table (budget curves or summary; None with ``references="only"``) and the
        published numbers shown after it in table and markdown."""
        if self.budget is not None:
            return self.budget, None
        main = None if self.request.references == "only" else self.summary
        return main, self.references

    def rich(self, *, title: str | None = None) -> list[Any]:
        """The tables a terminal shows, as rich renderables (``title`` names the summary)."""
        from ganbench.report.budget_render import budget_table
        from ganbench.report.references_render import reference_rich
        from ganbench.report.render import summary_table

        main, published = self._parts()
        shown: list[Any] = []
        if main is self.budget and main is not None:
            shown.append(budget_table(main))
        elif main is not None:
            shown.append(summary_table(main, title=title))
        if published is not None:
            shown.append(reference_rich(published))
        return shown

    def text(self, fmt: str = "markdown", *, width: int = 240) -> str:
        """The report as text: ``table`` (the rich tables, plain, ``width`` columns),
        ``markdown``, ``csv`` or ``json``. csv and json hold one table: the summary (or the
        budget curves), or with ``references="only"`` the published numbers."""
        from ganbench.report.budget_render import budget_markdown
        from ganbench.report.references_render import reference_markdown
        from ganbench.report.render import to_text

        check_text_format(fmt)
        if fmt == "table":
            from rich.console import Console

            buffer = io.StringIO()
            console = Console(file=buffer, width=width, color_system=None)
            for part in self.rich():
                console.print(part)
            return buffer.getvalue()
        main, published = self._parts()
        if main is None:  # references only: the one table, in any format
            return to_text(published, fmt) if fmt != "markdown" else reference_markdown(published)
        if main is self.budget:
            return budget_markdown(main) if fmt == "markdown" else to_text(main, fmt)
        text = to_text(main, fmt)
        if published is not None and fmt == "markdown":
            text += "\n" + reference_markdown(published)
        return text

    def write(
        self,
        html: str | Path | None = None,
        plots: str | Path | None = None,
        *,
        plot_format: str = "png",
        animate: bool = False,
    ) -> Written:
        """Write the self-contained HTML page to ``html`` and/or every figure to the folder
        ``plots`` (``plot_format`` png or svg; with ``animate``, one animated GIF per variant of
        training, the frames of the page's players). Neither may lie inside the results folder.
        """
        from ganbench.report.budget import budget_panels
        from ganbench.report.budget_render import budget_figures
        from ganbench.report.html import render_html, write_html
        from ganbench.report.player import players as find_players
        from ganbench.report.plots import close, figures, write_figures

        html = None if html is None else Path(html)
        plots = None if plots is None else Path(plots)
        check_outputs(
            self.results.root, html=html, plots=plots, plot_format=plot_format, animate=animate
        )
        if html is None and plots is None:
            return Written()
        notes: list[str] = []
        shown = self.figure_runs
        figs = figures(shown, notes=notes)
        figs += budget_figures(
            budget_panels(self.results, self.figure_metrics, step=self.request.step)
        )
        players = find_players(shown, notes=notes) if html is not None or animate else []
        written = Written(notes=notes)
        try:
            if plots is not None:
                written = replace(written, figures=write_figures(figs, plots, plot_format))
            if plots is not None and animate:
                from ganbench.report.animate import write_animations

                written = replace(written, animations=write_animations(players, plots))
            if html is not None:
                page = render_html(
                    self.results, self.summary, figs, references=self.references, players=players
                )
                write_html(page, html)
                written = replace(written, html=html)
        finally:
            close(figs)
        return written


# --- building ------------------------------------------------------------------------------------


def check_text_format(fmt: str) -> None:
    """Raise OptionError unless ``fmt`` is one of :data:`TEXT_FORMATS`."""
    if fmt not in TEXT_FORMATS:
        raise OptionError("format", f"{fmt!r}: allowed: {', '.join(TEXT_FORMATS)}")


def check_outputs(
    folder: str | Path | None,
    *,
    html: Path | None = None,
    plots: Path | None = None,
    plot_format: str = "png",
    animate: bool = False,
) -> None:
    """Raise OptionError for outputs that cannot be written: an unknown plot format, animations
    without a plots folder, a page or folder inside the results ``folder`` (the next report
    would read it as results)."""
    if plot_format not in PLOT_FORMATS:
        raise OptionError("plot_format", f"{plot_format!r}: allowed: {', '.join(PLOT_FORMATS)}")
    if animate and plots is None:
        raise OptionError(
            "animate", "writes its animations to the plots folder: give plots (--plots DIR) too"
        )
    for target, name in ((html, "html"), (plots, "plots")):
        if target is not None and folder is not None and _inside(target, Path(folder)):
            raise OptionError(
                name, f"{target}: is inside the results folder {folder}; write it elsewhere"
            )


def _inside(target: Path, folder: Path) -> bool:
    """Whether writing ``target`` would put a file among the results (which report reads)."""
    try:
        return target.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


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
    return Report(request, results, summary, published, curves, warnings)


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
    from ganbench.report.budget import budget_curves
    from ganbench.report.budget_render import conflict_note

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
