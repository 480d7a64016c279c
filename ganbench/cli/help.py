"""How the commands' help reads: flags without a type, every value with a name that says what
goes there (``--out DIR``, ``--seeds N``, ``--set KEY=VALUE``), and examples below the options
instead of inside their narrow column.

Help texts are plain text: square brackets in them (``[profiles.NAME]``) are shown, not read as
rich markup. Typer prints each option's Python type (``<bool>``, ``<int range>``, ``<list[str]>``) where no
metavar is given. Rather than repeat ``metavar=`` on every declaration, the command classes
here name them once: flags get none, arguments their name in capitals, and options the name in
:data:`METAVARS`. Options with a fixed set of values keep typer's listing of them.
"""

from __future__ import annotations

from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

METAVARS = {
    "--out": "DIR",
    "--seeds": "N",
    "--steps": "N",
    "--set": "KEY=VALUE",
    "--host-devices": "N",
    "--checkpoint-every": "SECONDS",
    "--max-runs": "N",
    "--coordinator": "HOST:PORT",
    "--num-processes": "N",
    "--process-id": "I",
    "--format": "FORMAT",
    "--metric": "NAME",
    "--ema": "rows|columns",
    "--alpha": "P",
    "--level": "P",
    "--by": "COLUMNS",
    "--step": "final|best|N",
    "--plot-format": "png|svg",
    "--references": "auto|only|off",
    "--test": "welch|mannwhitney",
    "--mirror": "URL",
}
"""The value's name of each option that has no metavar of its own, by its long name."""


def _named(params: list) -> list:
    for p in params:
        if getattr(p, "_ganbench_help", False):
            continue
        p._ganbench_help = True
        if getattr(p, "help", None):
            p.help = escape(p.help)  # "[profiles.NAME]" is text, not rich markup
        if p.param_type_name == "argument":
            p.display_type_rich = lambda ctx: None  # its name says it: no Python type beside it
        if p.metavar is not None:
            continue
        if getattr(p, "is_flag", False):
            p.metavar = ""  # a flag takes no value: show none
        elif p.param_type_name == "argument":
            p.metavar = p.name.upper()
        else:
            long = next((o for o in p.opts if o.startswith("--")), None)
            if long in METAVARS:
                p.metavar = METAVARS[long]
    return params


class Command(TyperCommand):
    """A command whose help names values as above."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.help:
            self.help = escape(self.help)

    def get_params(self, ctx):  # type: ignore[override]
        return _named(super().get_params(ctx))


class Group(TyperGroup):
    """A group (``ganbench``, ``ganbench data``) whose help names values as above."""

    def get_params(self, ctx):  # type: ignore[override]
        return _named(super().get_params(ctx))


def examples(*lines: str) -> str:
    """An epilog of example command lines, one per line (typer joins single newlines)."""
    return "\n\n".join(["Examples:", *(f"  {line}" for line in lines)])


RUN = examples(
    "ganbench run suites/mode_collapse.toml",
    "ganbench run suites/smoke.toml --seeds 5 --steps 2000 --out /tmp/results",
    "ganbench run SUITE --set defaults.batch_size=512",
    "ganbench run SUITE --set variants.wgan-gp.n_critic=10   (a variant by name)",
    "ganbench run SUITE --set 'grid.dataset=[\"grid25\"]'   (values are TOML)",
    "ganbench run suites/papers/pacgan_table2.toml --profile cpu",
    "ganbench run SUITE --dry-run   (the plan: runs, groups, devices)",
)
VALIDATE = examples(
    "ganbench validate suites/mode_collapse.toml",
    "ganbench validate SUITE --set defaults.optimizer.lr_d=4e-4 --profile cpu",
)
REPORT = examples(
    "ganbench report results/",
    "ganbench report results/ --format csv > summary.csv",
    "ganbench report results/ --baseline ns --where dataset=grid25 --metric modes,fd",
    "ganbench report results/ --html report.html --open",
    "ganbench report results/ --plots figures/ --plot-format svg",
)
COMPARE = examples(
    "ganbench compare results-before/ results-after/",
    "ganbench compare ns wgan-gp --in results/ --metric modes",
    "ganbench compare BASE NEW --fail-on-regression   (exit 3 on a significant regression)",
)
EVAL = examples(
    "ganbench eval samples/ --ref mnist:test",
    "ganbench eval fake.npz --ref cifar_train_stats.npz --weights pt_inception.npz",
    "ganbench eval fake/ --ref real/ -x inception -x dinov2_vitl14 --weights "
    "inception=pt_inception.npz --weights dinov2_vitl14=dinov2_vitl14.npz",
    "ganbench eval fake/ --ref real/ --weights pt_inception.npz --resize clean -f json",
    "ganbench eval points.npy --ref grid25",
    "ganbench eval results/mode_collapse/runs/RUN_ID   (against the data it trained on)",
    "ganbench eval --generator mymodule:sample --n 10000 --ref mnist:test",
    "ganbench eval fake/ --ref real/ --weights pt_inception.npz --metrics fd,fd_inf",
)
