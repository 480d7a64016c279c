"""``ganbench report``: summary tables of any folder of results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganbench.cli.console import err, handle_errors, out


@handle_errors
def report(
    path: Annotated[
        Path, typer.Argument(help="A results folder (any folder above run folders).")
    ] = Path("results"),
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="table (rich), markdown, csv or json.")
    ] = "table",
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
            help="Significance level of the --baseline comparison, between 0 and 1. Default: 0.05.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Final metrics per suite x variant x grid point, aggregated over seeds."""
    from ganbench.errors import ConfigError
    from ganbench.report import (
        DEFAULT_ALPHA,
        FORMATS,
        read_results,
        summarize,
        summary_table,
        to_text,
        versus_baseline,
        with_stability,
    )

    if fmt != "table" and fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: allowed: table, {', '.join(FORMATS)}")
    if ema not in ("rows", "columns"):
        raise ConfigError(f"--ema {ema!r}: allowed: rows, columns")
    if alpha is not None and not 0 < alpha < 1:
        raise ConfigError(f"--alpha {alpha:g}: must be between 0 and 1 (exclusive), e.g. 0.05")
    if alpha is not None and baseline is None:
        err.print("warning: --alpha has no effect without --baseline", highlight=False)
    results = read_results(path)
    for warning in [*results.warnings, *stale_run_warnings(results)]:
        err.print(f"warning: {warning}", highlight=False)
    if ema == "rows":
        results = results.with_ema_rows()
    metrics = [m for item in metric for m in item.split(",") if m] if metric else None
    summary = with_stability(summarize(results, metrics), results)
    if baseline is not None:
        summary = versus_baseline(
            summary, baseline, alpha=DEFAULT_ALPHA if alpha is None else alpha
        )
    if fmt == "table":
        out.print(summary_table(summary))
    else:
        typer.echo(to_text(summary, fmt), nl=False)


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
