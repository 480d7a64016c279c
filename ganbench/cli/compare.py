"""``ganbench compare``: is the new set of runs better than the base, beyond seed noise?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganbench.cli.console import err, handle_errors, out
from ganbench.cli.options import Format, Step, Where, split_list
from ganbench.errors import EXIT_REGRESSION


@handle_errors
def compare(
    base: Annotated[
        str,
        typer.Argument(help="Base: a results folder, or a variant name with --in."),
    ],
    new: Annotated[
        str,
        typer.Argument(help="New: a results folder, or a variant name with --in."),
    ],
    inside: Annotated[
        Path | None,
        typer.Option(
            "--in",
            metavar="FOLDER",
            help="Compare two variants of this results folder (BASE and NEW are variant names).",
        ),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            help="Metric(s) to compare; repeatable or comma-separated. Default: modes, "
            "hq_fraction, reverse_kl, fd, eq_distance where recorded on both sides.",
        ),
    ] = None,
    where: Where = None,
    step: Step = "final",
    test: Annotated[
        str,
        typer.Option(
            "--test", help="Test that decides the verdict: welch (t-test) or mannwhitney (U)."
        ),
    ] = "welch",
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    level: Annotated[
        float, typer.Option("--level", help="Confidence level of the interval of Δ.")
    ] = 0.95,
    fmt: Format = "table",
    fail_on_regression: Annotated[
        bool,
        typer.Option(
            "--fail-on-regression",
            help="Exit with status 3 when any metric is significantly worse in NEW (for CI; "
            "1 means a run failed, 2 bad input).",
        ),
    ] = False,
) -> None:
    """Compare NEW with BASE per metric and matching variant x grid point: difference of means
    with a confidence interval, Welch and Mann-Whitney p-values, and better/worse by the
    metric's direction."""
    from ganbench.errors import ConfigError
    from ganbench.report import filter_results, read_results
    from ganbench.report.compare import compare as compare_runs
    from ganbench.report.compare import regressions
    from ganbench.report.compare_render import comparison_table, comparison_text

    if fmt not in ("table", "markdown", "csv", "json"):
        raise ConfigError(f"--format {fmt!r}: allowed: table, markdown, csv, json")
    if inside is not None:
        base_results = new_results = read_results(inside)
        base_variant, new_variant = base, new
    else:
        for label, value in (("BASE", base), ("NEW", new)):
            if not Path(value).exists():
                raise ConfigError(
                    f"{label} {value!r} is not a results folder; to compare two variants of "
                    "one folder, pass --in FOLDER"
                )
        base_results, new_results = read_results(Path(base)), read_results(Path(new))
        base_variant = new_variant = None
    for results in {id(base_results): base_results, id(new_results): new_results}.values():
        for warning in results.warnings:
            err.print(f"warning: {warning}", highlight=False, markup=False)
    if where:
        base_results = filter_results(base_results, where)
        new_results = filter_results(new_results, where)
    metrics = split_list(metric)
    table = compare_runs(
        base_results,
        new_results,
        metrics=metrics,
        base_variant=base_variant,
        new_variant=new_variant,
        alpha=alpha,
        level=level,
        test=test,
        step=step,
    )
    if fmt == "table":
        out.print(comparison_table(table))
    else:
        typer.echo(comparison_text(table, fmt), nl=False)
    worse = regressions(table)
    if fail_on_regression and len(worse):
        items = ", ".join(
            f"{r['metric']} ({', '.join(str(r[k]) for k in table.attrs['keys'] if k in r)})"
            for r in worse.to_dict("records")
        )
        err.print(
            f"regression: {len(worse)} significantly worse: {items}", highlight=False, markup=False
        )
        raise typer.Exit(EXIT_REGRESSION)
