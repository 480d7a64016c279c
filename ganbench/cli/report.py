"""``ganbench report``: summary tables of any folder of results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganbench.cli.console import err, handle_errors, out
from ganbench.cli.options import Format, Step, Where, split_list


@handle_errors
def report(
    path: Annotated[
        Path, typer.Argument(help="A results folder (any folder above run folders).")
    ] = Path("results"),
    fmt: Format = "table",
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            help="Metric column(s) to show; repeatable or comma-separated; globs allowed "
            "(e.g. 'mode_count/*'). Default: modes, hq_fraction, reverse_kl, fd, gradient norms.",
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            "-b",
            metavar="VARIANT",
            help="Compare every variant with this one at the same dataset/grid point: a delta "
            "per metric, marked better/worse when a Welch t-test over the seeds gives p < alpha "
            "(csv/json: <metric>_delta, <metric>_p, <metric>_verdict columns).",
        ),
    ] = None,
    ema: Annotated[
        str,
        typer.Option(
            "--ema",
            help="How runs with a generator EMA show the averaged generator: 'rows' (a row "
            "'<variant> (EMA G)' beside the raw generator's) or 'columns' (ema/<metric> "
            "metrics, to select with --metric).",
        ),
    ] = "rows",
    alpha: Annotated[
        float | None,
        typer.Option(
            "--alpha",
            help="Significance level of the --baseline comparison and of the near-chance "
            "flags, between 0 and 1. Default: 0.05.",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Comma-separated columns that make a row (default: suite, variant, dataset and "
            "the grid keys), e.g. 'variant' pools every dataset of a variant.",
        ),
    ] = None,
    where: Where = None,
    step: Step = "final",
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            metavar="COLUMN",
            help="Sort rows by a metric (best first) or a column (ascending).",
        ),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Also write one self-contained HTML report (tables, stability profiles, "
            "figures embedded) to FILE.",
        ),
    ] = None,
    open_page: Annotated[
        bool,
        typer.Option(
            "--open", help="Open the --html page in the default web browser once written."
        ),
    ] = False,
    plots: Annotated[
        Path | None,
        typer.Option(
            "--plots",
            metavar="DIR",
            help="Also write every figure to DIR as files (see --plot-format).",
        ),
    ] = None,
    plot_format: Annotated[
        str, typer.Option("--plot-format", help="File format of --plots: png or svg.")
    ] = "png",
    animate: Annotated[
        bool,
        typer.Option(
            "--animate",
            help="With --plots: also write one animated GIF per variant of training, evaluation "
            "by evaluation (2-D samples over D's output, image grids, Dirac-GAN trajectories), "
            "the frames of the HTML page's players.",
        ),
    ] = False,
    references: Annotated[
        str,
        typer.Option(
            "--references",
            help="Published numbers ([[reference]] in the suite): 'auto' shows them after the "
            "summary (table, markdown, HTML) with a verdict per cell; 'only' prints just them "
            "(the way to get them as csv or json); 'off' hides them.",
        ),
    ] = "auto",
    budget: Annotated[
        str | None,
        typer.Option(
            "--budget",
            metavar="METRIC",
            help="Print budget curves instead of the summary: per configuration, the expected "
            "best METRIC among k hyperparameter trials with a bootstrap band, and which variant "
            "is better at every k (needs the runs of a suite with a [search] section).",
        ),
    ] = None,
) -> None:
    """Final metrics per suite x variant x grid point, aggregated over seeds; optionally an HTML
    page and figure files."""
    from ganbench.api import report as build
    from ganbench.errors import ConfigError
    from ganbench.report.document import check_outputs, check_text_format

    check_text_format(fmt)
    if open_page and html is None:
        raise ConfigError("--open: opens the page --html writes; give --html FILE as well")
    check_outputs(path, html=html, plots=plots, plot_format=plot_format, animate=animate)
    columns = [k.strip() for k in by.split(",") if k.strip()] if by is not None else None
    shown = build(path, metrics=split_list(metric), by=columns, step=step, where=where or None,
                  ema=ema, baseline=baseline, alpha=alpha, sort=sort, references=references,
                  budget=budget)  # fmt: skip
    for warning in shown.warnings:
        err.print(f"warning: {warning}", highlight=False, markup=False)
    if fmt == "table":
        for table in shown.rich():
            out.print(table)
    else:
        typer.echo(shown.text(fmt), nl=False)
    if html is not None or plots is not None:
        _write(shown, html=html, plots=plots, plot_format=plot_format, animate=animate)
    if open_page and html is not None:
        import webbrowser

        if not webbrowser.open(html.resolve().as_uri()):
            err.print("warning: no web browser found to open the page", highlight=False)


def _write(shown, *, html: Path | None, plots: Path | None, plot_format: str, animate: bool):
    """Write the page and figure files, saying what was written and what was left out."""
    from rich.text import Text

    with err.status("drawing figures"):
        written = shown.write(html=html, plots=plots, plot_format=plot_format, animate=animate)
    for note in written.notes:  # arrays too large to draw whole: each is cut or left out
        err.print(f"warning: {note}", highlight=False, markup=False)
    if plots is not None:
        err.print(f"wrote {len(written.figures)} figure(s) to {plots}", highlight=False,
                  markup=False)  # fmt: skip
    if plots is not None and animate:
        err.print(f"wrote {len(written.animations)} animation(s) to {plots}", highlight=False,
                  markup=False)  # fmt: skip
    if html is not None:
        uri = html.resolve().as_uri()  # a link terminals let you click
        page = Text(f"wrote {html} ({html.stat().st_size / 1e6:.1f} MB): ")
        page.append(uri, style=f"link {uri}")
        err.print(page, highlight=False)
