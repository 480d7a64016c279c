"""The typer application; one module per command."""

from __future__ import annotations

from typing import Annotated

import typer

from ganbench.cli import compare as compare_cmd
from ganbench.cli import env as env_cmd
from ganbench.cli import eval as eval_cmd
from ganbench.cli import help as help_text
from ganbench.cli import listing as listing_cmd
from ganbench.cli import report as report_cmd
from ganbench.cli import run as run_cmd
from ganbench.cli import validate as validate_cmd
from ganbench.cli.data import data_app
from ganbench.cli.help import Command, Group
from ganbench.version import __version__

app = typer.Typer(
    name="ganbench",
    help="GAN stability and diagnostics benchmark: run suites of GANs, report mode collapse and "
    "convergence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=Group,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ganbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """GAN stability and diagnostics benchmark."""


app.command("run", cls=Command, epilog=help_text.RUN)(run_cmd.run)
app.command("validate", cls=Command, epilog=help_text.VALIDATE)(validate_cmd.validate)
app.command("report", cls=Command, epilog=help_text.REPORT)(report_cmd.report)
app.command("compare", cls=Command, epilog=help_text.COMPARE)(compare_cmd.compare)
app.command("eval", cls=Command, epilog=help_text.EVAL)(eval_cmd.eval_samples)
app.command("list", cls=Command)(listing_cmd.list_items)
app.command("env", cls=Command)(env_cmd.env)
app.add_typer(data_app, name="data")


def main() -> None:  # pragma: no cover - console entry point
    app()
