"""``ganbench validate``: check a suite exactly as ``run`` would, without training."""

from __future__ import annotations

from ganbench.cli.console import handle_errors, out
from ganbench.cli.run import SeedsOpt, SetOpt, StepsOpt, SuiteArg, load


@handle_errors
def validate(
    suite: SuiteArg,
    seeds: SeedsOpt = None,
    steps: StepsOpt = None,
    set_: SetOpt = None,
) -> None:
    """Validate SUITE: keys, names, types and values, with the same overrides as run."""
    spec = load(suite, set_, seeds, steps)
    variants = len(spec.file.variants)
    points = max(1, len(spec.runs) // max(1, variants * len(spec.file.suite.seed_list())))
    out.print(
        f"{suite}: ok — suite {spec.name!r}: {variants} variants x {points} grid points x "
        f"{len(spec.file.suite.seed_list())} seeds = {len(spec.runs)} runs",
        highlight=False,
        markup=False,
    )
