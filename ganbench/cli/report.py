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
    from ganbench.errors import ConfigError
    from ganbench.report import DEFAULT_ALPHA, FORMATS, read_results, summary_table, to_text
    from ganbench.report.pipeline import SummaryRequest, build_summary
    from ganbench.report.plots import FORMATS as PLOT_FORMATS

    if fmt != "table" and fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: allowed: table, {', '.join(FORMATS)}")
    if references not in REFERENCE_CHOICES:
        raise ConfigError(f"--references {references!r}: allowed: {', '.join(REFERENCE_CHOICES)}")
    if plot_format not in PLOT_FORMATS:
        raise ConfigError(f"--plot-format {plot_format!r}: allowed: {', '.join(PLOT_FORMATS)}")
    request = SummaryRequest(
        metrics=split_list(metric),
        by=[k.strip() for k in by.split(",") if k.strip()] if by is not None else None,
        step=step,
        where=where or None,
        ema=ema,
        baseline=baseline,
        alpha=DEFAULT_ALPHA if alpha is None else alpha,
        sort=sort,
    ).checked()
    if open_page and html is None:
        raise ConfigError("--open: opens the page --html writes; give --html FILE as well")
    if animate and plots is None:
        raise ConfigError("--animate: writes animations to the --plots folder; give --plots DIR")
    for target, name in ((html, "--html"), (plots, "--plots")):
        if target is not None and _inside(target, path):
            raise ConfigError(
                f"{name} {target}: is inside the results folder {path}; write it elsewhere"
            )
    results = read_results(path)
    for warning in [*results.warnings, *stale_run_warnings(results)]:
        err.print(f"warning: {warning}", highlight=False, markup=False)
    results, summary = build_summary(results, request)
    step_choice = request.step
    curves = None
    if budget is not None:
        from ganbench.report.budget import budget_curves

        if references == "only":
            raise ConfigError("--budget: prints budget curves; --references only prints "
                              "published numbers; give one of them")  # fmt: skip
        curves = budget_curves(results, budget, step=step_choice)
        if clashes := curves.attrs["budget"].get("conflicting"):
            from ganbench.report.budget_render import conflict_note

            err.print(f"warning: {conflict_note(clashes)}", highlight=False, markup=False)
        shaping = [f for f, v in (("--metric", metric), ("--by", by), ("--sort", sort),
                                  ("--baseline", baseline)) if v]  # fmt: skip
        if shaping:
            verb = "shapes" if len(shaping) == 1 else "shape"
            err.print(f"warning: {', '.join(shaping)} {verb} the summary, which --budget replaces "
                      "on stdout (an --html page still shows it)", highlight=False)  # fmt: skip
    published = _references(results, references, step_choice, alpha)
    if alpha is not None and baseline is None and published is None:
        err.print(
            "warning: --alpha has no effect without --baseline or references", highlight=False
        )
    if curves is not None:
        _print_budget(curves, fmt)
    elif references != "only":
        if fmt == "table":
            out.print(summary_table(summary))
        else:
            typer.echo(to_text(summary, fmt), nl=False)
    with_refs = curves is None and (references == "only" or fmt in ("table", "markdown"))
    if published is not None and with_refs:
        _print_references(published, fmt, gap=references != "only")
    if html is not None or plots is not None:
        _pictures(results, summary, html=html, plots=plots, plot_format=plot_format, refs=published,
                  budget=budget, step=step_choice, animate=animate)  # fmt: skip
    if open_page and html is not None:
        import webbrowser

        if not webbrowser.open(html.resolve().as_uri()):
            err.print("warning: no web browser found to open the page", highlight=False)


REFERENCE_CHOICES = ("auto", "only", "off")
"""Values of ``report --references``."""


def _references(results, choice: str, step, alpha: float | None):
    """The published-and-measured table of the results' references (None without any)."""
    if choice == "off":
        return None
    from ganbench.errors import ConfigError
    from ganbench.report import DEFAULT_ALPHA
    from ganbench.report.references import read_references, reference_table

    found, warnings = read_references(results)
    for warning in warnings:
        err.print(f"warning: {warning}", highlight=False, markup=False)
    table = reference_table(
        results, found, step=step, alpha=DEFAULT_ALPHA if alpha is None else alpha
    )
    if len(table):
        return table
    if choice == "only":
        raise ConfigError(
            "--references only: no reference matches these results (a suite lists its "
            "published numbers as [[reference]] tables; see README, 'Published numbers')"
        )
    return None


def show_references(results) -> None:
    """Print the published-and-measured table of ``results`` (final values) when its suites
    list references; nothing otherwise (``ganbench run``'s closing report)."""
    table = _references(results, "auto", "final", None)
    if table is not None:
        _print_references(table, "table", gap=True)


def _print_budget(curves, fmt: str) -> None:
    from ganbench.report import to_text
    from ganbench.report.budget_render import budget_markdown, budget_table

    if fmt == "table":
        out.print(budget_table(curves))
    elif fmt == "markdown":
        typer.echo(budget_markdown(curves), nl=False)
    else:
        typer.echo(to_text(curves, fmt), nl=False)


def _print_references(table, fmt: str, *, gap: bool) -> None:
    from ganbench.report import to_text
    from ganbench.report.references import reference_markdown, reference_rich

    if fmt == "table":
        out.print(reference_rich(table))
    elif fmt == "markdown":
        typer.echo(("\n" if gap else "") + reference_markdown(table), nl=False)
    else:
        typer.echo(to_text(table, fmt), nl=False)


def _inside(target: Path, folder: Path) -> bool:
    """Whether writing ``target`` would put a file among the results (which report reads)."""
    try:
        return target.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def _pictures(
    results,
    summary,
    *,
    html: Path | None,
    plots: Path | None,
    plot_format: str,
    refs=None,
    budget: str | None = None,
    step="final",
    animate: bool = False,
):
    from rich.text import Text

    from ganbench.report.budget import best_trials, has_trials, ranking_metric
    from ganbench.report.budget_render import budget_figures
    from ganbench.report.html import render_html, write_html
    from ganbench.report.player import players as find_players
    from ganbench.report.plots import close, figures, write_figures
    from ganbench.report.summary import summary_metrics

    with err.status("drawing figures"):
        # Budget curves of the --budget metric, or of the summary's metrics with a direction;
        # the other figures and the players show each search configuration's best trial.
        ranked = [budget] if budget else summary_metrics(summary)
        shown = results
        if has_trials(results) and (metric := ranking_metric(results, ranked)) is not None:
            shown = best_trials(results, metric, step=step)
        notes: list[str] = []
        figs = figures(shown, notes=notes)
        figs += budget_figures(results, ranked, step=step)
        players = find_players(shown, notes=notes) if html is not None or animate else []
    for note in notes:  # arrays too large to draw whole: each is cut or left out, and said so
        err.print(f"warning: {note}", highlight=False, markup=False)
    try:
        if plots is not None:
            paths = write_figures(figs, plots, plot_format)
            err.print(f"wrote {len(paths)} figure(s) to {plots}", highlight=False, markup=False)
        if plots is not None and animate:
            from ganbench.report.animate import write_animations

            with err.status("drawing animations"):
                paths = write_animations(players, plots)
            err.print(f"wrote {len(paths)} animation(s) to {plots}", highlight=False, markup=False)
        if html is not None:
            text = render_html(results, summary, figs, references=refs, players=players)
            write_html(text, html)
            uri = html.resolve().as_uri()  # a link terminals let you click
            page = Text(f"wrote {html} ({html.stat().st_size / 1e6:.1f} MB): ")
            page.append(uri, style=f"link {uri}")
            err.print(page, highlight=False)
    finally:
        close(figs)


def stale_run_warnings(results) -> list[str]:
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
