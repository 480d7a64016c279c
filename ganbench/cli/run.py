"""``ganbench run``: train every run of a suite."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganbench.cli.console import err, handle_errors, is_tty, out

SuiteArg = Annotated[
    Path,
    typer.Argument(help="Suite file (TOML).", exists=True, dir_okay=False, readable=True),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a suite key with a TOML value; repeatable (examples below).",
    ),
]
SeedsOpt = Annotated[int | None, typer.Option("--seeds", help="Run seeds 0..N-1.", min=1)]
StepsOpt = Annotated[int | None, typer.Option("--steps", help="Generator steps per run.", min=1)]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME",
        help="Apply the suite's [profiles.NAME] overrides (e.g. a smaller budget) before --set, "
        "--seeds and --steps; its runs get their own run ids. Default: the suite as written.",
    ),
]


ImportOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--import",
        metavar="MODULE",
        help="Import this Python module before the suite is validated (a plugin that registers "
        "networks, losses or datasets through ganbench's API); repeatable; added to the "
        "suite's [suite] imports. The module runs: name only code you trust.",
    ),
]


def load(
    suite: Path,
    set_: list[str] | None,
    seeds: int | None,
    steps: int | None,
    profile: str | None = None,
    imports: list[str] | None = None,
):
    from ganbench.api import load_suite

    return load_suite(
        suite, overrides=set_ or [], seeds=seeds, steps=steps, profile=profile, imports=imports
    )


@handle_errors
def run(
    suite: SuiteArg,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Output folder (one sub-folder per suite).")
    ] = Path("results"),
    seeds: SeedsOpt = None,
    steps: StepsOpt = None,
    set_: SetOpt = None,
    profile: ProfileOpt = None,
    import_: ImportOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Retrain runs that already finished.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the plan (runs, groups, devices); train nothing."),
    ] = False,
    devices: Annotated[
        int | None,
        typer.Option(
            "--host-devices",
            min=1,
            help="CPU only: split the host into N XLA devices to shard runs over cores "
            "(default: one per core, or $GANBENCH_HOST_DEVICES).",
        ),
    ] = None,
    report: Annotated[
        bool,
        typer.Option("--report/--no-report", help="Print the suite's summary table at the end."),
    ] = True,
    checkpoint_every: Annotated[
        float,
        typer.Option(
            "--checkpoint-every",
            min=0.0,
            help="Seconds between checkpoints of a group's training, taken at evaluation "
            "boundaries (0: at every one). A killed run resumes from its last checkpoint.",
        ),
    ] = 60.0,
    max_runs: Annotated[
        int | None,
        typer.Option(
            "--max-runs",
            min=1,
            help="Most runs per compiled group (default: as many as fit in device memory).",
        ),
    ] = None,
    exact_runs: Annotated[
        bool,
        typer.Option(
            "--exact-runs",
            help="Loop over each device's runs instead of vectorising them: a run's numbers "
            "are then bit-identical whatever its group or the device count (slower for "
            "small networks).",
        ),
    ] = False,
    coordinator: Annotated[
        str | None,
        typer.Option(
            "--coordinator",
            help="Multi-host: HOST:PORT of process 0 (or $JAX_COORDINATOR_ADDRESS).",
            rich_help_panel="Several hosts",
        ),
    ] = None,
    num_processes: Annotated[
        int | None,
        typer.Option(
            "--num-processes",
            min=1,
            help="Multi-host: number of processes (or $JAX_NUM_PROCESSES).",
            rich_help_panel="Several hosts",
        ),
    ] = None,
    process_id: Annotated[
        int | None,
        typer.Option(
            "--process-id",
            min=0,
            help="Multi-host: this process's index (or $JAX_PROCESS_ID).",
            rich_help_panel="Several hosts",
        ),
    ] = None,
    distributed: Annotated[
        bool,
        typer.Option(
            "--distributed",
            help="Multi-host: let jax.distributed detect the cluster (SLURM, Open MPI, TPU pod).",
            rich_help_panel="Several hosts",
        ),
    ] = False,
) -> None:
    """Train every run of SUITE (variants x grid x seeds) and write its results."""
    from ganbench.run.devices import configure_host_devices

    configure_host_devices(devices)
    spec = load(suite, set_, seeds, steps, profile, import_)  # validates before anything is written

    from ganbench import api
    from ganbench.cli.progress import RunProgress
    from ganbench.errors import RunFailedError
    from ganbench.run import distributed as dist

    procs = dist.initialize(coordinator, num_processes, process_id, auto=distributed)
    options = {
        "force": force,
        "max_runs": max_runs,
        "exact_runs": exact_runs,
        "checkpoint_every": checkpoint_every,
        "process": procs.index,
        "processes": procs.count,
    }
    if dry_run:
        print_plan(api.plan(spec, out_dir, **options), procs)
        return
    with RunProgress(out_dir, procs.index, procs.count, rich=is_tty()) as progress:
        results = api.run_suite(spec, out_dir, progress=progress, **options)
    failed = progress.summary.failed
    if failed:
        raise RunFailedError(
            f"{failed} run(s) failed:\n  " + "\n  ".join(progress.summary.failures)
        )
    if report and procs.index == 0:
        _closing_report(spec, results)


def _closing_report(spec, results) -> None:
    """The suite's summary (against its variant named "baseline" when it has one) and its
    published numbers; a search's budget curves instead of one row per trial. ``results``
    are this suite's runs and their baseline rows only (:func:`ganbench.api.run_suite`): the
    folder may also hold runs of earlier settings."""
    from ganbench.api import report as build
    from ganbench.report.pipeline import BASELINE

    variants = {r.variant for r in spec.runs}
    shown = build(results, baseline=BASELINE if BASELINE in variants else None)
    for warning in shown.warnings:
        err.print(f"warning: {warning}", highlight=False, markup=False)
    if spec.runs and spec.runs[0].trial is not None and _print_search(shown.results, shown.summary):
        return
    for table in shown.rich(title=spec.name):
        out.print(table)


def _print_search(results, table) -> bool:
    """A search's trials as budget curves of the summary's first ranking metric (one row per
    trial would bury them), with the command for the rest; False when no metric ranks them."""
    from ganbench.report.budget import budget_curves, ranking_metric
    from ganbench.report.budget_render import budget_table
    from ganbench.report.summary import summary_metrics

    metric = ranking_metric(results, summary_metrics(table))
    if metric is None:
        return False
    out.print(budget_table(budget_curves(results, metric)))
    err.print(
        f"every trial, and other metrics: ganbench report {results.root} [--budget METRIC]",
        highlight=False,
        markup=False,
    )
    return True


def scheme_label(config) -> str:
    """The training scheme of a config in a few words (what is not the plain default)."""
    parts = []
    if config.updates != "alternating":
        parts.append(config.updates)
    if config.optimizer.name != "adam":
        parts.append(config.optimizer.name)
    if config.g_steps != 1:
        parts.append(f"{config.g_steps} G steps")
    if config.latent != "normal":
        parts.append(f"z {config.latent}")
    if config.unroll:
        parts.append(f"unroll {config.unroll}")
    if config.pack > 1:
        parts.append(f"pack {config.pack}")
    for key in ("consensus", "ema", "instance_noise"):
        if getattr(config, key) is not None:
            parts.append(key.replace("_", " "))
    if config.weights != "uniform":
        parts.append(f"weights {config.weights}")
    return ", ".join(parts) or "-"


def print_plan(plan, procs=None) -> None:
    import jax
    from rich.table import Table

    devices = jax.local_devices()
    suite = plan.suite
    s = suite.file.suite
    from rich.text import Text

    chosen = s.profile
    title = f"plan: {suite.name} ({suite.path})" + (f", profile {chosen}" if chosen else "")
    table = Table(title=Text(title), title_justify="left")
    columns = (
        "group",
        "variants",
        "dataset",
        "loss",
        "penalty",
        "n_critic",
        "scheme",
        "runs",
        "seeds",
    )
    for col in columns:
        table.add_column(col)
    for i, g in enumerate(plan.groups):
        c = g.runs[0].config
        table.add_row(
            str(i + 1),
            ", ".join(sorted({r.variant for r in g.runs})),
            g.dataset_names,
            c.loss + (" + SN" if c.discriminator.spectral_norm else ""),
            c.penalty.name,
            str(c.n_critic),
            scheme_label(c),
            str(len(g.runs)),
            ",".join(str(x) for x in sorted({r.seed for r in g.runs})),
        )
    out.print(table)
    kinds = sorted({d.device_kind for d in devices})
    out.print(
        f"{len(suite.runs)} runs: {plan.todo} to train in {len(plan.groups)} compiled groups, "
        f"{len(plan.skipped)} already finished; {s.steps} steps each, evaluated every "
        f"{s.eval_every}; devices: {len(devices)} x {', '.join(kinds)} ({devices[0].platform}); "
        f"output: {plan.out / suite.name}"
        + (
            f"; process {procs.index} of {procs.count} (another {len(plan.elsewhere)} groups "
            "on the other processes)"
            if procs is not None and procs.multi
            else ""
        ),
        highlight=False,
        markup=False,
    )
