"""``ganbench data``: datasets kept on disk (MNIST): fetch, import, status; and the MNIST
feature classifier shipped with ganbench (``extractor``).

The data directory is ``$GANBENCH_DATA``, else ``$XDG_CACHE_HOME/ganbench``, else
``~/.cache/ganbench`` (:mod:`ganbench.data.store`). The synthetic datasets (ring8, grid25, ...)
are generated during training and need no files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganbench.cli.console import err, handle_errors, out
from ganbench.cli.help import Command, Group

DATASETS = ("mnist",)
"""Datasets with files on disk."""

data_app = typer.Typer(
    name="data",
    help="Datasets kept on disk (MNIST): fetch them, import files you have, show their status.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=Group,
)

DatasetArg = Annotated[
    str, typer.Argument(help=f"The dataset: {', '.join(DATASETS)}.", show_default=False)
]


def _check_dataset(name: str) -> str:
    from ganbench.errors import ConfigError
    from ganbench.knobs import did_you_mean

    key = name.strip().lower()
    if key in DATASETS:
        return key
    raise ConfigError(
        f"unknown dataset {name!r}{did_you_mean(key, list(DATASETS))} allowed: "
        f"{', '.join(DATASETS)} (the synthetic datasets, such as ring8, need no files)"
    )


def _log(message: str) -> None:
    err.print(message, highlight=False, markup=False)


@data_app.command("fetch", cls=Command)
@handle_errors
def fetch(
    dataset: DatasetArg,
    mirror: Annotated[
        list[str] | None,
        typer.Option(
            "--mirror",
            help="Download from this base URL instead of the default mirrors (repeatable; tried "
            "in order; file:// works).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Download DATASET from public mirrors, verify its checksums, store it in the data dir."""
    from ganbench.data import mnist

    _check_dataset(dataset)
    paths = mnist.fetch_mnist(mirrors=mirror or None, log=_log)
    out.print(f"mnist: {len(paths)} files verified in {mnist.mnist_dir()}", markup=False)


@data_app.command("import", cls=Command)
@handle_errors
def import_(
    dataset: DatasetArg,
    src: Annotated[
        str,
        typer.Argument(
            metavar="DIR",
            help="A folder holding the files (any usual naming, gzip-compressed or not).",
            show_default=False,
        ),
    ],
) -> None:
    """Import DATASET from files you already have in DIR (verified before anything is written)."""
    from ganbench.data import mnist

    _check_dataset(dataset)
    paths = mnist.import_mnist(src)
    out.print(f"mnist: {len(paths)} files verified and stored in {mnist.mnist_dir()}", markup=False)


@data_app.command("status", cls=Command)
@handle_errors
def status(
    dataset: Annotated[
        str | None,
        typer.Argument(help="Only this dataset (default: all).", show_default=False),
    ] = None,
) -> None:
    """The data directory, and for each file: present, verified (checksum), path."""
    from rich.table import Table
    from rich.text import Text

    from ganbench.data import mnist
    from ganbench.data.store import data_dir, data_dir_source

    if dataset is not None:
        _check_dataset(dataset)
    out.print(Text(f"data directory: {data_dir()} ({data_dir_source()})"))
    rows = mnist.status()
    table = Table()
    for column in ("dataset", "file", "present", "verified"):
        table.add_column(column, no_wrap=True)
    table.add_column("path", overflow="fold")
    for row in rows:
        verified = "yes" if row.verified else ("NO" if row.present else "-")
        table.add_row(
            Text(row.dataset),
            Text(row.name),
            "yes" if row.present else "no",
            verified,
            Text(str(row.path)),
        )
    out.print(table)
    for row in rows:
        if row.problem:
            _log(f"{row.name}: {row.problem}")
    if not all(r.verified for r in rows):
        _log(mnist.how_to_get(mnist.mnist_dir()))


ACCURACY_TOLERANCE = 5e-4
"""How far ``--verify``'s measured test accuracy may lie from the recorded one (5 of the 10,000
test images): the same weights on another platform or library version may round a few
borderline logits differently."""


@data_app.command("extractor", cls=Command)
@handle_errors
def extractor(
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Also classify your MNIST test files with the shipped weights and compare the "
            "accuracy with the recorded one (exit 1 when it differs or the checksum fails).",
        ),
    ] = False,
    train: Annotated[
        Path | None,
        typer.Option(
            "--train",
            metavar="DIR",
            help="Train a classifier with ganbench's recipe on your MNIST files and write it "
            "(weights and sidecar) to DIR: how the shipped weights were made.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """The MNIST feature classifier shipped with ganbench (the feature space of fid_mnist_cnn,
    KID, precision/recall and the class metrics): its file, checksum and recorded accuracy."""
    from rich.text import Text

    from ganbench.data.store import data_dir
    from ganbench.errors import RunFailedError
    from ganbench.extractors import mnist_cnn, shipped
    from ganbench.extractors.cache import save_weights
    from ganbench.extractors.classifier import (
        classifier_settings,
        mnist_fingerprint,
        shipped_classifier,
        train_mnist_classifier,
    )

    if train is not None:
        from ganbench.cli.console import is_tty
        from ganbench.cli.progress import PlainProgress, RichProgress

        bar = RichProgress(0) if is_tty() else PlainProgress(0)  # no groups: one task
        with bar:
            params, report = train_mnist_classifier(data_dir(), task=bar.task)
        _, meta = save_weights(
            params, report, train, shipped.NAME, mnist_fingerprint(), classifier_settings()
        )
        out.print(
            Text(
                f"wrote {train / (shipped.NAME + '.npz')} (sha256 {meta['sha256']}, test "
                f"accuracy {100 * meta['test_accuracy']:.2f}%) and its sidecar"
            )
        )
        return
    weights, sidecar = shipped.paths()
    params, info, why = shipped_classifier()
    out.print(Text(f"weights:  {weights}"))
    if params is None:
        raise RunFailedError(f"the shipped MNIST classifier cannot be used: {why or 'absent'}")
    out.print(Text(f"sha256:   {info['sha256']} (matches {sidecar.name})"))
    out.print(Text(f"accuracy: {100 * info['test_accuracy']:.2f}% on MNIST test (recorded)"))
    out.print(Text(f"recipe:   {info['settings']}"))
    out.print(Text(f"made:     {info['created']} by ganbench {info['ganbench_version']}"))
    if verify:
        from ganbench.data.mnist import load_mnist

        images, labels = load_mnist("test")
        measured = mnist_cnn.accuracy(params, images, labels)
        off = abs(measured - info["test_accuracy"])
        out.print(Text(f"measured: {100 * measured:.2f}% on {images.shape[0]:,} test images here"))
        if off > ACCURACY_TOLERANCE:
            raise RunFailedError(
                f"the shipped classifier's test accuracy here is {100 * measured:.2f}%, "
                f"{100 * info['test_accuracy']:.2f}% recorded: off by more than "
                f"{100 * ACCURACY_TOLERANCE:.2f} points"
            )
