"""Options that several commands share, defined once (typer's Annotated form), and the parsing
of their repeatable, comma-separated values."""

from __future__ import annotations

from typing import Annotated

import typer

Where = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        "-w",
        metavar="KEY=VALUE",
        help="Keep runs whose column KEY equals VALUE ('|' separates alternatives); "
        "repeatable, e.g. --where dataset=grid25 --where 'variant=wgan-gp|hinge'.",
    ),
]
Step = Annotated[
    str,
    typer.Option(
        "--step",
        help="Which value of each run: 'final' (last recorded), 'best' (best over the "
        "evaluations, by the metric's direction) or a step number.",
    ),
]
Format = Annotated[str, typer.Option("--format", "-f", help="table (rich), markdown, csv or json.")]


def split_list(values: list[str] | None) -> list[str] | None:
    """Values of a repeatable, comma-separated option ('-m a,b -m c' -> [a, b, c]); None when
    the option was not given."""
    return [v for item in values for v in item.split(",") if v] if values else None
