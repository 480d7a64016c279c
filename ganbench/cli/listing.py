"""``ganbench list``: every registered item (loss, penalty, optimiser, ...) with its help and knobs.

Everything shown is read from the registries and from :mod:`ganbench.metrics.names`, so the
listing cannot drift from what a suite accepts and what a run writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from ganbench.cli.console import handle_errors, out
from ganbench.knobs import did_you_mean

FORMATS = ("table", "markdown", "json")

Item = dict[str, Any]
"""One listed item: ``{"name": str, "help": str, "knobs": {knob: one line}}``."""


@dataclass(frozen=True)
class Section:
    kind: str
    """Plural name: the KIND argument and the JSON key."""
    aliases: tuple[str, ...]
    """Other accepted spellings of KIND (the singular suite key, ...)."""
    title: Callable[[], str]
    items: Callable[[], list[Item]]


def _registry_items(registry) -> list[Item]:
    return [{"name": e.name, "help": e.help, "knobs": dict(e.knobs)} for e in registry.entries()]


def _losses() -> list[Item]:
    from ganbench.objectives import LOSSES

    return _registry_items(LOSSES)


def _penalties() -> list[Item]:
    from ganbench.objectives import PENALTIES

    return _registry_items(PENALTIES)


def _optimizers() -> list[Item]:
    from ganbench.train.optim import OPTIMIZERS

    return _registry_items(OPTIMIZERS)


def _updates() -> list[Item]:
    from ganbench.train.schemes import UPDATES

    return _registry_items(UPDATES)


def _latents() -> list[Item]:
    from ganbench.models.latent import LATENTS

    return _registry_items(LATENTS)


def _schemes() -> list[Item]:
    from ganbench.train.schemes import SCHEMES

    return _registry_items(SCHEMES)


def _datasets() -> list[Item]:
    from ganbench.data import DATASETS, FAMILIES

    families = [
        {"name": f"{e.name}:<name>", "help": e.help, "knobs": {}} for e in FAMILIES.entries()
    ]
    return sorted(_registry_items(DATASETS) + families, key=lambda item: item["name"])


def _models() -> list[Item]:
    from ganbench.models import ARCHS

    return _registry_items(ARCHS)


def _activations() -> list[Item]:
    from ganbench.models import ACTIVATIONS

    return _registry_items(ACTIVATIONS)


def _metrics() -> list[Item]:
    from ganbench.metrics.catalog import CATALOG

    items = []
    for entry in CATALOG:
        description = entry.description
        if entry.better is not None:
            description = f"{description} ({entry.better} is better)"
        items.append({"name": entry.name, "help": description, "knobs": {}})
    return items


def _one_line(text: str) -> str:
    """Text of several lines (a code snippet) on one, its lines joined by '; ' as Python
    statements can be."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "; ".join(line.rstrip(":") if i == 0 else line for i, line in enumerate(lines))


def _extractors() -> list[Item]:
    from ganbench.extractors.base import FAMILIES, extractor_names, get_extractor

    items = []
    for name in extractor_names():
        e = get_extractor(name)
        shape = (
            f"{e.input_size} x {e.input_size}, resized: {', '.join(e.resize_modes)} (default "
            f"{e.default_resize})"
            if e.input_size is not None
            else "{} x {} as they are".format(*e.fixed_shape[:2])
        )
        knobs = {
            "input": shape,
            "features": f"{e.feature_dim}-d" + (f"; {e.classes} classes" if e.classes else ""),
            "weights": e.weights + (f": {_one_line(e.weights_help)}" if e.weights_help else ""),
            "metrics": ", ".join(e.metric_names().values()),
            "source": e.source,
        }
        items.append({"name": name, "help": e.description, "knobs": knobs})
    for family in FAMILIES:  # members appear as their data do
        items.append({"name": family.name, "help": family.description, "knobs": {}})
    return items


def _datasets_title() -> str:
    from ganbench.data.base import WEIGHTS_HELP

    return f"datasets (suite key: dataset; every dataset also takes weights = {WEIGHTS_HELP})"


def _fixed(title: str) -> Callable[[], str]:
    return lambda: title


SECTIONS: tuple[Section, ...] = (
    Section("losses", ("loss",), _fixed("losses (suite key: loss)"), _losses),
    Section(
        "penalties",
        ("penalty",),
        _fixed('penalties (penalty = { name = "...", <knobs> }, or penalty = "name")'),
        _penalties,
    ),
    Section(
        "optimizers",
        ("optimizer", "optimiser", "optimisers"),
        _fixed('optimizers (optimizer = { name = "...", lr_g = ..., lr_d = ..., <knobs> })'),
        _optimizers,
    ),
    Section("updates", ("update",), _fixed("updates (suite key: updates)"), _updates),
    Section("latents", ("latent",), _fixed("latents (suite key: latent)"), _latents),
    Section(
        "schemes",
        ("scheme",),
        _fixed("schemes (each scheme's suite key is its name, except ttur: see the help)"),
        _schemes,
    ),
    Section("datasets", ("dataset",), _datasets_title, _datasets),
    Section(
        "models",
        ("model", "arch", "archs"),
        _fixed('models (generator / discriminator = { arch = "...", <knobs> })'),
        _models,
    ),
    Section(
        "activations",
        ("activation",),
        _fixed('activations (generator / discriminator = { activation = "..." })'),
        _activations,
    ),
    Section(
        "extractors",
        ("extractor",),
        _fixed("extractors (ganbench eval --extractor NAME; a suite's [metrics] extractors)"),
        _extractors,
    ),
    Section(
        "metrics",
        ("metric",),
        _fixed("metrics (the metric column of metrics.parquet; ganbench report --metric NAME)"),
        _metrics,
    ),
)


def find_section(kind: str) -> Section:
    """The section named ``kind`` (plural or singular, any case).

    Raises:
        ConfigError: for an unknown kind, with the closest known spelling.
    """
    from ganbench.errors import ConfigError

    spellings = {s.kind: s for s in SECTIONS}
    spellings.update({a: s for s in SECTIONS for a in s.aliases})
    key = kind.strip().lower()
    if key in spellings:
        return spellings[key]
    known = ", ".join(s.kind for s in SECTIONS)
    raise ConfigError(
        f"unknown kind {kind!r}{did_you_mean(key, list(spellings))} known: {known} (or the "
        "singular suite key, such as loss or arch)"
    )


def _knob_lines(knobs: dict[str, str]) -> list[str]:
    return [f"{k}: {v}" for k, v in knobs.items()]


def _table(items: list[Item]):
    from rich.table import Table
    from rich.text import Text

    knobs = any(item["knobs"] for item in items)  # no empty column for kinds without knobs
    table = Table(show_lines=True)
    table.add_column("name", style="cyan", no_wrap=True)
    table.add_column("help", overflow="fold")
    if knobs:
        table.add_column("knobs", overflow="fold")
    for item in items:
        # Text cells: help strings hold brackets such as [-clip, clip], which are not markup.
        cells = [Text(item["name"]), Text(item["help"])]
        if knobs:
            cells.append(Text("\n".join(_knob_lines(item["knobs"]))))
        table.add_row(*cells)
    return table


def _markdown(title: str, items: list[Item]) -> str:
    def text(s: str) -> str:
        # Pipes would end the cell; <knobs>, <k> would be read as HTML tags.
        return s.replace("|", "\\|").replace("<", "\\<")

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    rows = [
        line(
            [
                f"`{i['name']}`",
                text(i["help"]),
                "<br>".join(text(k) for k in _knob_lines(i["knobs"])),
            ]
        )
        for i in items
    ]
    header = [line(["name", "help", "knobs"]), line(["---", "---", "---"])]
    return "\n".join([f"## {text(title)}", "", *header, *rows])


@handle_errors
def list_items(
    kind: Annotated[
        str | None,
        typer.Argument(
            help="Only this kind: losses, penalties, optimizers, updates, latents, schemes, datasets, "
            "models, activations, extractors or metrics (the singular suite key, such as loss, "
            "works too).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="table (rich), markdown or json.")
    ] = "table",
) -> None:
    """Every loss, penalty, optimiser, scheme, dataset, model and metric, with help and knobs."""
    from rich.text import Text

    from ganbench.errors import ConfigError

    if fmt not in FORMATS:
        hint = did_you_mean(fmt, list(FORMATS))
        raise ConfigError(f"unknown --format {fmt!r}{hint} allowed: {', '.join(FORMATS)}")
    sections = [find_section(kind)] if kind is not None else list(SECTIONS)
    listed = [(s, s.title(), s.items()) for s in sections]
    if fmt == "json":
        typer.echo(json.dumps({s.kind: items for s, _, items in listed}, indent=2))
    elif fmt == "markdown":
        typer.echo("\n\n".join(_markdown(title, items) for _, title, items in listed))
    else:
        for i, (_, title, items) in enumerate(listed):
            if i:
                out.print()
            # The title on its own line (a table title would be padded to the console width).
            out.print(Text(title, style="bold"))
            out.print(_table(items))
