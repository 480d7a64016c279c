"""``ganbench validate``: check a suite exactly as ``run`` would, without training."""

from __future__ import annotations

from ganbench.cli.console import handle_errors, out
from ganbench.cli.run import ImportOpt, ProfileOpt, SeedsOpt, SetOpt, StepsOpt, SuiteArg, load


@handle_errors
def validate(
    suite: SuiteArg,
    seeds: SeedsOpt = None,
    steps: StepsOpt = None,
    set_: SetOpt = None,
    profile: ProfileOpt = None,
    import_: ImportOpt = None,
) -> None:
    """Validate SUITE: keys, names, types and values, with the same overrides as run. Without
    --profile, every profile of the suite is validated too."""
    spec = load(suite, set_, seeds, steps, profile, import_)
    # Every profile is checked before anything is printed: one that does not expand fails
    # validation of the suite.
    others = (
        {name: load(suite, set_, seeds, steps, name, import_) for name in spec.file.profiles}
        if profile is None and spec.file.suite.profile is None
        else {}
    )
    variants = len(spec.file.variants)
    trials = len({r.trial for r in spec.runs})
    points = max(1, len(spec.runs) // max(1, variants * trials * len(spec.file.suite.seed_list())))
    chosen = spec.file.suite.profile
    searched = f"{trials} search trials x " if spec.runs and spec.runs[0].trial is not None else ""
    out.print(
        f"{suite}: ok — suite {spec.name!r}"
        + (f" with profile {chosen!r}" if chosen else "")
        + f": {variants} variants x {points} grid points x {searched}"
        f"{len(spec.file.suite.seed_list())} seeds = {len(spec.runs)} runs",
        highlight=False,
        markup=False,
    )
    for name, expanded in others.items():
        s = expanded.file.suite
        out.print(
            f"{suite}: ok — profile {name!r}: {len(expanded.runs)} runs of {s.steps} steps "
            f"({len(s.seed_list())} seeds, evaluated every {s.eval_every}, "
            f"{expanded.file.metrics.samples} samples)",
            highlight=False,
            markup=False,
        )
