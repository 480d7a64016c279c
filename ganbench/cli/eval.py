"""``ganbench eval``: evaluate anyone's samples against a reference (:func:`ganbench.evaluate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganbench.cli.console import err, handle_errors, out
from ganbench.errors import ConfigError


def _pairs(values: list[str] | None, flag: str) -> dict[str, str] | str | None:
    """``NAME=VALUE`` items as a dict, or one bare ``VALUE`` (for every extractor)."""
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        return values[0]
    out_: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ConfigError(f"{flag} {item!r}: write NAME=VALUE (or one VALUE for one extractor)")
        if name in out_:
            raise ConfigError(f"{flag} names {name!r} twice")
        out_[name] = value
    return out_


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


@handle_errors
def eval_samples(
    samples: Annotated[
        str | None,
        typer.Argument(
            help="What to evaluate: a folder of images, an .npy/.npz file (x.npz:KEY), a dataset "
            "(mnist:test, ring8) or a ganbench run folder. Leave it out with --generator.",
            show_default=False,
        ),
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option(
            "--ref",
            metavar="REF",
            help="The reference: the same kinds, or a statistics file (pytorch-fid's "
            "--save-stats .npz, or ganbench's). Default for a run folder: its training data.",
            show_default=False,
        ),
    ] = None,
    extractor: Annotated[
        list[str] | None,
        typer.Option(
            "--extractor",
            "-x",
            metavar="NAME",
            help="Feature extractor of images (repeat, or comma-separate; ganbench list "
            "extractors). Default: mnist_cnn for 28x28 images, else inception.",
            show_default=False,
        ),
    ] = None,
    weights: Annotated[
        list[str] | None,
        typer.Option(
            "--weights",
            metavar="FILE|NAME=FILE",
            help="Weights file of an extractor whose weights you convert: FILE, or NAME=FILE.",
            show_default=False,
        ),
    ] = None,
    resize: Annotated[
        list[str] | None,
        typer.Option(
            "--resize",
            metavar="MODE|NAME=MODE",
            help="Resize mode: pytorch_fid, legacy_tensorflow or clean (MODE, or NAME=MODE); "
            "default: each extractor's own.",
            show_default=False,
        ),
    ] = None,
    metrics: Annotated[
        list[str] | None,
        typer.Option(
            "--metrics",
            "-m",
            metavar="NAMES",
            help="Metrics (comma-separated): fd, fd_inf, kid, kid_std, precision, recall, "
            "density, coverage, classes, class_kl, modes, hq_fraction, reverse_kl. Default: all "
            "that apply but fd_inf.",
            show_default=False,
        ),
    ] = None,
    n: Annotated[
        int | None,
        typer.Option(
            "--n",
            metavar="N",
            help="Use N samples (a seeded subset; with --generator: draw N).",
            show_default=False,
        ),
    ] = None,
    n_ref: Annotated[
        int | None,
        typer.Option(
            "--n-ref",
            metavar="N",
            help="Use N reference samples (a seeded subset).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Seed of every subset and draw.")
    ] = 0,
    value_range: Annotated[
        str | None,
        typer.Option(
            "--range",
            metavar="RANGE",
            help="Range of float images: -1,1 (default), 0,1 or 0,255.",
            show_default=False,
        ),
    ] = None,
    no_quantize: Annotated[
        bool,
        typer.Option(
            "--no-quantize",
            help="Keep float images as they are (default: rounded to "
            "8-bit pixels, as PNG files hold them).",
        ),
    ] = False,
    step: Annotated[
        int | None,
        typer.Option(
            "--step",
            metavar="N",
            help="A 2-D run folder's samples at this step (its snapshot).",
            show_default=False,
        ),
    ] = None,
    ema: Annotated[
        bool, typer.Option("--ema", help="A run folder's EMA generator's final samples.")
    ] = False,
    generator: Annotated[
        str | None,
        typer.Option(
            "--generator",
            metavar="MODULE:FUNCTION",
            help="module:function returning a batch of samples per call (your code: it is "
            "imported); with --n.",
            show_default=False,
        ),
    ] = None,
    save_stats: Annotated[
        Path | None,
        typer.Option(
            "--save-stats",
            metavar="FILE",
            help="Write the samples' mu and sigma (float64, "
            "pytorch-fid's .npz format) for one extractor.",
            show_default=False,
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Compute the reference's features even when cached."),
    ] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
) -> None:
    """Evaluate SAMPLES against a reference: FID/FD, KID, precision/recall, density/coverage in
    an extractor's features (class metrics for a classifier; mode metrics for 2-D points), with
    what makes the numbers comparable (sample counts, reference, extractor, weights, resize)."""
    from ganbench.evaluation import evaluate
    from ganbench.evaluation.render import FORMATS, to_csv, to_json, to_table
    from ganbench.evaluation.sources import load_generator
    from ganbench.text import suggestion

    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}{suggestion(fmt, FORMATS)} allowed: "
                          f"{', '.join(FORMATS)}")  # fmt: skip
    if (samples is None) == (generator is None):
        raise ConfigError("give SAMPLES or --generator module:function (one of them)")
    source = load_generator(generator) if generator is not None else samples
    result = evaluate(
        source,
        ref,
        extractors=_split(extractor),
        weights=_pairs(weights, "--weights"),
        resize=_pairs(resize, "--resize"),
        metrics=_split(metrics),
        n=n,
        n_ref=n_ref,
        seed=seed,
        value_range=value_range,
        quantize=not no_quantize,
        step=step,
        ema=ema,
        save_stats_to=save_stats,
        use_cache=not no_cache,
        log=lambda message: err.print(message, highlight=False, markup=False),
    )
    if fmt == "json":
        typer.echo(to_json(result))
    elif fmt == "csv":
        typer.echo(to_csv(result), nl=False)
    else:
        out.print(to_table(result))
    if fmt != "table":
        for warning in result.warnings:
            err.print(f"warning: {warning}", highlight=False, markup=False)
