"""A report of a selection of results, rendered in any format.

:func:`ganbench.report.build.build_report` does all the computing (which runs, the summary over
seeds, published numbers, budget curves, the runs and budget panels the figures show, every
warning) into a :class:`Report`, whose methods only render it: :meth:`Report.text` (table,
markdown, csv, json), :meth:`Report.rich` (the tables a terminal shows) and :meth:`Report.write`
(the HTML page, figure files, animations). ``ganbench report`` is the two behind a command
line; from Python, ``ganbench.report(...)`` (:func:`ganbench.api.report`) builds the same
report::

    import ganbench

    report = ganbench.report("results/stabilizers", baseline="baseline")
    print(report.text("markdown"))
    report.write(html="stabilizers.html", plots="figures")
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ganbench.errors import OptionError
from ganbench.report.plots import FORMATS as PLOT_FORMATS
from ganbench.results.read import Results

if TYPE_CHECKING:
    from ganbench.report.budget import BudgetPanels
    from ganbench.report.build import ReportRequest

TEXT_FORMATS = ("table", "markdown", "csv", "json")
"""The formats of :meth:`Report.text`: ``table`` is the rich tables as plain text."""

__all__ = [
    "PLOT_FORMATS",
    "TEXT_FORMATS",
    "Report",
    "Written",
    "check_outputs",
    "check_text_format",
]


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
    """A report of a selection of results (:func:`ganbench.report.build.build_report`); its
    methods render it."""

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
    figure_selection: Callable[[], tuple[Results, list[BudgetPanels]]]
    """The runs the figures and players show (every selected run, or of a search, each
    configuration's best trial) and a search's budget panels, one figure per suite and grid
    point: computed by the builder when first asked, since only figures and pages need them."""

    @property
    def figure_runs(self) -> Results:
        return self.figure_selection()[0]

    @property
    def budget_panels(self) -> list[BudgetPanels]:
        return self.figure_selection()[1]

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
        figs += budget_figures(self.budget_panels)
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


# --- output checks -------------------------------------------------------------------------------


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
