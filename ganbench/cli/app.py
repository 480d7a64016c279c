"""The typer application; one module per command."""

from __future__ import annotations

from typing import Annotated

import typer

import ganbench
from ganbench.cli import compare as compare_cmd
from ganbench.cli import env as env_cmd
from ganbench.cli import listing as listing_cmd
from ganbench.cli import report as report_cmd
from ganbench.cli import run as run_cmd
from ganbench.cli import validate as validate_cmd
from ganbench.cli.data import data_app

app = typer.Typer(
    name="ganbench",
    help="GAN stability and diagnostics benchmark: run suites of GANs, report mode collapse and "
    "convergence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ganbench {ganbench.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """GAN stability and diagnostics benchmark."""


app.command("run")(run_cmd.run)
app.command("validate")(validate_cmd.validate)
app.command("report")(report_cmd.report)
app.command("compare")(compare_cmd.compare)
app.command("list")(listing_cmd.list_items)
app.command("env")(env_cmd.env)
app.add_typer(data_app, name="data")


def main() -> None:  # pragma: no cover - console entry point
    app()
