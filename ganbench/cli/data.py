"""``ganbench data``: datasets kept on disk: MNIST (fetch, import), CIFAR-10 and image folders
(import), status; and the datasets' feature classifiers (``extractor``): MNIST's shipped with
ganbench, CIFAR-10's and labelled folders' trained here.

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

DATASETS = ("mnist", "cifar10", "folder")
"""What ``data import`` imports (``folder`` takes a NAME: ``folder:NAME`` in suites)."""
FETCHED = ("mnist",)
"""What ``data fetch`` downloads."""

data_app = typer.Typer(
    name="data",
    help="Datasets kept on disk (MNIST, CIFAR-10, image folders): fetch MNIST, import files you "
    "have, show their status.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=Group,
)


def _check_dataset(name: str, allowed: tuple[str, ...] = DATASETS) -> str:
    from ganbench.errors import ConfigError
    from ganbench.knobs import did_you_mean

    key = name.strip().lower()
    if key in allowed:
        return key
    if allowed == FETCHED and key in DATASETS:
        raise ConfigError(
            f"ganbench fetches only {', '.join(FETCHED)}; {key} is imported from your copy: "
            f"ganbench data import {key} {'NAME DIR --size S' if key == 'folder' else 'DIR'}"
        )
    raise ConfigError(
        f"unknown dataset {name!r}{did_you_mean(key, list(allowed))} allowed: "
        f"{', '.join(allowed)} (the synthetic datasets, such as ring8, need no files)"
    )


def _log(message: str) -> None:
    err.print(message, highlight=False, markup=False)


@data_app.command("fetch", cls=Command)
@handle_errors
def fetch(
    dataset: Annotated[
        str, typer.Argument(help=f"The dataset: {', '.join(FETCHED)}.", show_default=False)
    ],
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

    _check_dataset(dataset, FETCHED)
    paths = mnist.fetch_mnist(mirrors=mirror or None, log=_log)
    out.print(f"mnist: {len(paths)} files verified in {mnist.mnist_dir()}", markup=False)


@data_app.command("import", cls=Command)
@handle_errors
def import_(
    dataset: Annotated[
        str,
        typer.Argument(
            help="What to import: mnist, cifar10, or folder (then NAME DIR).", show_default=False
        ),
    ],
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="[NAME] DIR",
            help="mnist, cifar10: DIR, the folder holding the files (MNIST: any usual naming, "
            "gzip-compressed or not; CIFAR-10: the binary version's data_batch_1.bin ... "
            "test_batch.bin). folder: NAME (the dataset is then folder:NAME) and DIR, a folder "
            "of images, or of one sub-folder of images per class.",
            show_default=False,
        ),
    ],
    size: Annotated[
        int | None,
        typer.Option(
            "--size",
            metavar="S",
            help="folder: store S x S images (resized once, Pillow's LANCZOS filter). Required.",
            show_default=False,
        ),
    ] = None,
    channels: Annotated[
        int,
        typer.Option("--channels", metavar="1|3", help="folder: 3 (RGB) or 1 (grey)."),
    ] = 3,
    crop: Annotated[
        str,
        typer.Option(
            "--crop",
            metavar="center|resize",
            help="folder: 'center' cuts the largest centred square before resizing; 'resize' "
            "resizes the whole image (changing a non-square image's aspect ratio).",
        ),
    ] = "center",
    max_files: Annotated[
        int | None,
        typer.Option(
            "--max-files",
            metavar="N",
            min=1,
            help="folder: refuse a folder of more images than this (default 1,000,000).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Import DATASET from files you already have (checked before anything is written)."""
    from ganbench.errors import ConfigError

    key = _check_dataset(dataset)
    expected = 2 if key == "folder" else 1
    if len(args) != expected:
        usage = "folder NAME DIR --size S" if key == "folder" else f"{key} DIR"
        raise ConfigError(
            f"data import {key} takes {expected} argument{'s' if expected > 1 else ''}, got "
            f"{len(args)}: ganbench data import {usage}"
        )
    if key != "folder":
        given = [
            flag
            for flag, value, default in (
                ("--size", size, None),
                ("--channels", channels, 3),
                ("--crop", crop, "center"),
                ("--max-files", max_files, None),
            )
            if value != default
        ]
        if given:
            raise ConfigError(f"{', '.join(given)}: options of 'data import folder', not {key}")
    if key == "mnist":
        from ganbench.data import mnist

        paths = mnist.import_mnist(args[0])
        out.print(
            f"mnist: {len(paths)} files verified and stored in {mnist.mnist_dir()}", markup=False
        )
    elif key == "cifar10":
        from ganbench.data import cifar10

        path, counts, official = cifar10.import_cifar10(args[0])
        note = "" if official else " (fewer records than CIFAR-10's 50,000 and 10,000: a stand-in)"
        out.print(
            f"cifar10: {counts['train']:,} training and {counts['test']:,} test images stored in "
            f"{path.parent}{note}",
            markup=False,
        )
    else:
        _import_folder(args[0], args[1], size, channels, crop, max_files)


def _import_folder(
    name: str, src: str, size: int | None, channels: int, crop: str, max_files: int | None
) -> None:
    from ganbench.cli.console import is_tty
    from ganbench.cli.progress import PlainProgress, RichProgress
    from ganbench.data import folders
    from ganbench.errors import ConfigError

    if size is None:
        raise ConfigError(
            "data import folder needs --size S: the side of the stored square images (for "
            "example 32 or 64)"
        )
    bars: list = []
    bar = RichProgress(0) if is_tty() else PlainProgress(0)

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(bar.task(f"folder:{name} images", total))
        if done == total or done % 256 == 0:
            bars[0].update(done, "")

    with bar:
        path, scan = folders.import_folder(
            name,
            src,
            size,
            channels=channels,
            crop=crop,
            max_files=max_files or folders.MAX_FILES,
            progress=progress,
        )
        if bars:
            bars[0].close(f"folder:{name}: {len(scan.files):,} images read")
    labels = (
        f"{len(scan.classes)} classes ({', '.join(scan.classes[:5])}"
        f"{', ...' if len(scan.classes) > 5 else ''})"
        if scan.classes
        else "unlabelled"
    )
    out.print(
        f"folder:{name}: {len(scan.files):,} images, {size} x {size} x {channels}, {labels}, "
        f"stored in {path.parent}",
        markup=False,
    )
    for reason, count in sorted(scan.counts.items()):
        shown = ", ".join(scan.skipped[reason])
        _log(
            f"skipped {count:,} {reason}: {shown}{', ...' if count > len(scan.skipped[reason]) else ''}"
        )


@data_app.command("status", cls=Command)
@handle_errors
def status(
    dataset: Annotated[
        str | None,
        typer.Argument(
            help="Only this dataset (mnist, cifar10 or folder; default: all).", show_default=False
        ),
    ] = None,
) -> None:
    """The data directory; for MNIST each file (present, verified: checksum, path), for CIFAR-10
    and image folders what is imported."""
    from rich.table import Table
    from rich.text import Text

    from ganbench.data import mnist
    from ganbench.data.store import data_dir, data_dir_source

    key = _check_dataset(dataset) if dataset is not None else None
    out.print(Text(f"data directory: {data_dir()} ({data_dir_source()})"))
    if key in (None, "mnist"):
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
    if key in (None, "cifar10", "folder"):
        _stored_status(key)


def _stored_status(key: str | None) -> None:
    """One row per imported CIFAR-10 or image folder: its shape, splits, classes, fingerprint."""
    from rich.table import Table
    from rich.text import Text

    from ganbench.data import cifar10, folders
    from ganbench.data.store import data_dir
    from ganbench.data.stored import read_manifest
    from ganbench.errors import DataError

    found: list[tuple[str, Path]] = []
    if key in (None, "cifar10"):
        found.append(("cifar10", cifar10.cifar10_dir()))
    if key in (None, "folder"):
        root = data_dir() / folders.SUBDIR
        if root.is_dir():
            for entry in sorted(root.iterdir()):
                if entry.is_dir() and not entry.is_symlink():
                    found.append((f"folder:{entry.name}", entry))
    table = Table()
    for column in ("dataset", "images", "classes", "fingerprint"):
        table.add_column(column, no_wrap=True)
    table.add_column("path", overflow="fold")
    for name, folder in found:
        try:
            manifest = read_manifest(folder)
        except DataError as exc:
            table.add_row(Text(name), "unreadable", "-", "-", Text(str(folder)))
            _log(str(exc))
            continue
        if manifest is None:
            table.add_row(Text(name), "not imported", "-", "-", Text(str(folder)))
            continue
        info = manifest.get("dataset", {})
        shapes = [
            f"{split} {manifest['arrays'][f'{split}-images']['shape'][0]:,}"
            for split in info.get("splits", [])
            if f"{split}-images" in manifest["arrays"]
        ]
        first = next(iter(manifest["arrays"].values()))["shape"]
        dims = " x ".join(str(n) for n in first[1:]) if len(first) == 4 else "?"
        note = "" if info.get("official", True) or name.startswith("folder:") else " (stand-in)"
        table.add_row(
            Text(name + note),
            Text(f"{', '.join(shapes)} ({dims})"),
            str(len(info.get("classes", []))) or "-",
            Text(str(manifest.get("fingerprint", ""))[:12]),
            Text(str(folder)),
        )
    out.print(table)
    if key == "cifar10" and found and read_manifest(found[0][1]) is None:
        _log(cifar10.HOW_TO_GET)


ACCURACY_TOLERANCE = 5e-4
"""How far ``--verify``'s measured test accuracy may lie from the recorded one (5 of the 10,000
test images): the same weights on another platform or library version may round a few
borderline logits differently."""


@data_app.command("extractor", cls=Command)
@handle_errors
def extractor(
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset",
            metavar="NAME",
            help="Whose classifier: mnist (shipped with ganbench), cifar10, or folder:NAME (a "
            "folder imported with one sub-folder per class).",
        ),
    ] = "mnist",
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Also classify the test images with the weights and compare the accuracy with "
            "the recorded one (exit 1 when it differs or the checksum fails).",
        ),
    ] = False,
    train: Annotated[
        bool,
        typer.Option(
            "--train",
            help="Train the classifier with ganbench's recipe: for cifar10 and folders, on the "
            "dataset's training images, written next to the dataset in the data directory; for "
            "mnist on your MNIST files, written to --out DIR (how the shipped weights were "
            "made).",
        ),
    ] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="mnist --train: the folder to write the weights and sidecar to.",
            show_default=False,
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs",
            metavar="N",
            min=1,
            max=10_000,
            help="cifar10, folders --train: passes over the training images (default 10).",
            show_default=False,
        ),
    ] = None,
    min_steps: Annotated[
        int | None,
        typer.Option(
            "--min-steps",
            metavar="N",
            min=0,
            max=10_000_000,
            help="cifar10, folders --train: train at least this many steps of 64 images "
            "(default 2000; more epochs for a small folder).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """A dataset's feature classifier (the feature space of its Frechet distance, KID,
    precision/recall and the class metrics): its file, checksum and recorded test accuracy;
    --train trains it, --verify measures it again. MNIST's ships with ganbench; CIFAR-10's and
    a labelled folder's are trained here (never downloaded)."""
    from ganbench.errors import ConfigError

    key = dataset.strip()
    if key.lower() == "mnist":
        given = [f for f, v in (("--epochs", epochs), ("--min-steps", min_steps)) if v is not None]
        if given:
            raise ConfigError(f"{', '.join(given)}: options of a cifar10 or folder classifier; "
                              "the MNIST classifier's recipe is fixed (it ships)")  # fmt: skip
        _mnist_extractor(verify, train, out_dir)
        return
    if out_dir is not None:
        raise ConfigError(
            "--out is for the MNIST classifier; the classifier of "
            f"{key} is written next to the dataset in the data directory"
        )
    _labelled_extractor(key, verify, train, epochs, min_steps)


def _progress_bar():
    from ganbench.cli.console import is_tty
    from ganbench.cli.progress import PlainProgress, RichProgress

    return RichProgress(0) if is_tty() else PlainProgress(0)  # no groups: one task


def _labelled_extractor(
    name: str, verify: bool, train: bool, epochs: int | None, min_steps: int | None
) -> None:
    from rich.text import Text

    from ganbench.errors import ConfigError, RunFailedError
    from ganbench.extractors import labelled
    from ganbench.extractors.base import get_extractor

    ds = labelled.labelled_dataset(name)
    extractor_name = labelled.extractor_name(ds.name)
    get_extractor(extractor_name)  # a name two datasets would share is refused here
    if train:
        settings = {
            k: v for k, v in (("epochs", epochs), ("min_steps", min_steps)) if v is not None
        }
        recipe = {**labelled.SETTINGS, **settings}
        _log(
            f"training {extractor_name}: Adam, batch {recipe['batch_size']}, step size "
            f"{recipe['lr']:g} decaying to 0 on a cosine, {recipe['epochs']} epochs and at least "
            f"{recipe['min_steps']:,} steps, seed {recipe['seed']} (ganbench.extractors.labelled)"
        )
        bar = _progress_bar()
        with bar:
            meta = labelled.train(ds, settings=settings, task=bar.task)
        out.print(
            Text(
                f"wrote {meta['path']} (sha256 {meta['sha256']}, test accuracy "
                f"{100 * meta['test_accuracy']:.2f}% on {meta['test_split']}) and its sidecar"
            )
        )
        if not verify:
            return
    elif epochs is not None or min_steps is not None:
        raise ConfigError("--epochs and --min-steps set how --train trains")
    params, meta = labelled.read_trained(ds)
    out.print(Text(f"extractor: {extractor_name} (classifier of {ds.name}, "
                   f"{len(ds.classes)} classes)"))  # fmt: skip
    out.print(Text(f"weights:  {meta['path']}"))
    out.print(Text(f"sha256:   {meta['sha256']} (matches {labelled.WEIGHTS_NAME}.json)"))
    out.print(Text(f"accuracy: {100 * meta['test_accuracy']:.2f}% on {meta['test_split']} "
                   "(recorded)"))  # fmt: skip
    out.print(Text(f"recipe:   {meta['settings']}"))
    out.print(Text(f"made:     {meta['created']} by ganbench {meta['ganbench_version']}"))
    if verify:
        _, _, tx, ty, _ = labelled.split_for_training(ds, settings=meta["settings"])
        measured = labelled.accuracy(labelled.network(ds), params, tx, ty)
        out.print(Text(f"measured: {100 * measured:.2f}% on {len(ty):,} test images here"))
        allowed = max(1, round(ACCURACY_TOLERANCE * len(ty)))
        if abs(measured - meta["test_accuracy"]) * len(ty) > allowed + 1e-9:
            raise RunFailedError(
                f"the classifier's test accuracy here is {100 * measured:.2f}%, "
                f"{100 * meta['test_accuracy']:.2f}% recorded: more than {allowed} test "
                "image(s) apart"
            )


def _mnist_extractor(verify: bool, train: bool, out_dir: Path | None) -> None:
    from rich.text import Text

    from ganbench.data.store import data_dir
    from ganbench.errors import ConfigError, RunFailedError
    from ganbench.extractors import mnist_cnn, shipped
    from ganbench.extractors.cache import save_weights
    from ganbench.extractors.classifier import (
        classifier_settings,
        mnist_fingerprint,
        shipped_classifier,
        train_mnist_classifier,
    )

    if train != (out_dir is not None):
        raise ConfigError(
            "the MNIST classifier is trained with --train --out DIR (the folder to write it to)"
            if train
            else "--out DIR is where --train writes the MNIST classifier"
        )
    if train:
        assert out_dir is not None
        bar = _progress_bar()
        with bar:
            params, report = train_mnist_classifier(data_dir(), task=bar.task)
        _, meta = save_weights(
            params, report, out_dir, shipped.NAME, mnist_fingerprint(), classifier_settings()
        )
        out.print(
            Text(
                f"wrote {out_dir / (shipped.NAME + '.npz')} (sha256 {meta['sha256']}, test "
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
