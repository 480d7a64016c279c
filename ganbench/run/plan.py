"""Plan a suite: which runs are still to do, grouped by the static structure that picks one
compiled program, sized to fit device memory, and shared out among processes."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from ganbench.config import RunSpec, Suite
from ganbench.config.expand import static_key
from ganbench.data import get_dataset
from ganbench.errors import ConfigError
from ganbench.results.write import is_finished, run_dir, suite_dir
from ganbench.run.checkpoint import CHECKPOINTS_DIR, read_header
from ganbench.run.memory import gib, host_budget, run_memory


@dataclass
class Group:
    """Runs trained together as one compiled program (same static structure)."""

    key: str
    runs: list[RunSpec]
    keep: set[str] = field(default_factory=set)
    """Run ids of the group that are already finished: trained again only so that the group's
    composition (and so its numbers) stays that of its checkpoint, and never rewritten."""

    @property
    def label(self) -> str:
        c = self.runs[0].config
        variants = sorted({r.variant for r in self.runs})
        extra = f" +{len(variants) - 1}" if len(variants) > 1 else ""
        return f"{variants[0]}{extra} · {self.dataset_names} · {c.loss} · {len(self.runs)} runs"

    @property
    def dataset_names(self) -> str:
        """The group's datasets, in order of first appearance, joined by "+"."""
        return "+".join(dict.fromkeys(r.config.dataset for r in self.runs))

    @property
    def datasets(self) -> tuple:
        """The distinct datasets (with their mode weights) of the group's runs, in order of
        first appearance: one compiled program samples each run's own (``Hparams.dataset``)."""
        return datasets_of(self.runs)

    @property
    def key_hash(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()[:8]

    @property
    def id(self) -> str:
        """Names the group's checkpoint and claim: its structure and its runs, in order."""
        text = self.key + "|" + ",".join(r.run_id for r in self.runs)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def cost(self) -> int:
        """Relative work: runs x steps x (critic updates + generator updates)."""
        c = self.runs[0].config
        return len(self.runs) * self.runs[0].steps * (c.n_critic + c.g_steps)

    @property
    def to_write(self) -> list[RunSpec]:
        return [r for r in self.runs if r.run_id not in self.keep]


@dataclass(frozen=True)
class Sizing:
    """This process's settings that shape a plan's groups (the arguments of :func:`make_plan`
    after the suite and folder), kept so that the plan can be made again (:func:`replan`)."""

    max_runs: int | None = None
    budget: int | None = None
    n_devices: int = 1
    process: int = 0
    processes: int = 1


@dataclass
class Plan:
    suite: Suite
    out: Path
    groups: list[Group]
    skipped: list[RunSpec]
    elsewhere: list[Group] = field(default_factory=list)
    """Groups that other processes of a multi-process run train (see :func:`split_groups`)."""
    resumed: int = 0
    """Groups that continue from a checkpoint."""
    force: bool = False
    """Retrain finished runs and ignore checkpoints."""
    checkpoint_every: float = 60.0
    """Seconds between checkpoints of a group's training (0: at every chunk boundary)."""
    exact: bool = False
    """Loop over each device's runs instead of vectorising them (see :func:`map_runs`)."""
    sizing: Sizing = field(default_factory=Sizing)

    @property
    def todo(self) -> int:
        return sum(len(g.to_write) for g in self.groups)

    @property
    def suite_folder(self) -> Path:
        return suite_dir(self.out, self.suite.name)


def make_plan(
    suite: Suite,
    out: Path,
    *,
    force: bool = False,
    max_runs: int | None = None,
    budget: int | None = None,
    n_devices: int = 1,
    process: int = 0,
    processes: int = 1,
    exclude: Collection[str] = (),
) -> Plan:
    """Group the runs still to do by their static structure (one compiled program per group).

    Groups hold at most ``max_runs`` runs (consecutive runs in suite order) and, given a
    per-device memory ``budget`` in bytes, at most as many as fit on ``n_devices`` devices by
    :func:`ganbench.run.memory.run_memory`; a run that cannot fit alone is a ConfigError,
    raised before anything is compiled or allocated. A group that has a
    checkpoint keeps the checkpoint's composition, so it resumes exactly. With ``processes > 1``
    the groups are shared out deterministically (:func:`split_groups`) and ``groups`` holds this
    ``process``'s share. Runs in ``exclude`` (claimed by another process) are left out of every
    group, and so are checkpoints that hold any of them.
    """

    out = Path(out)
    exclude = set(exclude)
    sizing = Sizing(max_runs, budget, n_devices, process, processes)
    by_id = {spec.run_id: spec for spec in suite.runs}
    finished = {
        spec.run_id
        for spec in suite.runs
        if not force and is_finished(run_dir(out, spec.suite, spec.run_id))
    }
    groups: list[Group] = []
    taken: set[str] = set()
    folder = suite_dir(out, suite.name) / CHECKPOINTS_DIR
    resumed = 0
    for path in sorted(folder.glob("*.npz")) if folder.is_dir() and not force else []:
        try:
            ids = read_header(path)["run_ids"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: the group it belonged to starts over (and overwrites it)
        runs = [by_id.get(i) for i in ids]
        if (
            not runs
            or any(r is None for r in runs)
            or (taken | exclude) & set(ids)
            or set(ids) <= finished
            or len({static_key(r.config) for r in runs}) != 1
        ):
            continue
        groups.append(Group(static_key(runs[0].config), runs, keep=set(ids) & finished))
        taken |= set(ids)
        resumed += 1
    pending: dict[str, list[RunSpec]] = {}
    skipped: list[RunSpec] = []
    for spec in suite.runs:
        if spec.run_id in taken or spec.run_id in exclude:
            continue
        if spec.run_id in finished:
            skipped.append(spec)
            continue
        pending.setdefault(static_key(spec.config), []).append(spec)
    for key, same in pending.items():
        for runs in _by_datasets(same):
            size = min(max_runs or len(runs), len(runs))
            if budget is not None:
                size = min(size, _runs_that_fit(runs[0], budget, n_devices, suite.path))
            groups += [Group(key, runs[i : i + size]) for i in range(0, len(runs), size)]
    skipped += [by_id[i] for g in groups for i in sorted(g.keep)]
    mine, elsewhere = split_groups(groups, process, processes)
    return Plan(
        suite,
        out,
        mine,
        skipped,
        elsewhere=elsewhere,
        resumed=resumed,
        force=force,
        sizing=sizing,
    )


def replan(plan: Plan, exclude: Collection[str]) -> Plan:
    """The plan made again now, with the same sizing, for the runs not finished and not in
    ``exclude`` (never ``force``: what another process finished meanwhile stays): its groups are
    this process's share first, then the other processes'."""
    again = make_plan(plan.suite, plan.out, exclude=exclude, **dataclasses.asdict(plan.sizing))
    return dataclasses.replace(
        again,
        groups=again.groups + again.elsewhere,
        elsewhere=[],
        checkpoint_every=plan.checkpoint_every,
        exact=plan.exact,
    )


MAX_DATASETS = 4
"""Most datasets (mixtures with their weights) that one compiled program samples: every step
draws a batch of each and keeps the run's own (see ``Program.sample_data``)."""


def dataset_of(spec: RunSpec):
    """A run's dataset with its mode weights (datasets are frozen, comparable dataclasses)."""
    return get_dataset(spec.config.dataset, spec.config.weights)


def datasets_of(runs: list[RunSpec]) -> tuple:
    return tuple(dict.fromkeys(dataset_of(r) for r in runs))


def _by_datasets(runs: list[RunSpec]) -> list[list[RunSpec]]:
    """Runs of one static structure in groups of at most :data:`MAX_DATASETS` datasets (in
    order of first appearance), each in suite order."""
    datasets = [dataset_of(r) for r in runs]
    part = {d: i // MAX_DATASETS for i, d in enumerate(dict.fromkeys(datasets))}
    parts: dict[int, list[RunSpec]] = {}
    for r, d in zip(runs, datasets, strict=True):
        parts.setdefault(part[d], []).append(r)
    return list(parts.values())


def _runs_that_fit(spec: RunSpec, budget: int, n_devices: int, path) -> int:
    need = run_memory(spec)
    if need.total > budget:
        raise ConfigError(
            f"{path}: variant {spec.variant!r} does not fit in memory: one run needs about "
            f"{gib(need.total)} (training state {gib(need.state)}, activations of a step "
            f"{gib(need.activations)}), and a device has {gib(budget)} for runs; use smaller "
            "networks, batch_size or metrics.samples"
        )
    host = host_budget()
    if need.kept > host:
        n_evals = spec.steps // spec.eval_every
        raise ConfigError(
            f"{path}: variant {spec.variant!r} keeps too much in memory: {n_evals:,} "
            f"evaluations (steps {spec.steps:,} / eval_every {spec.eval_every:,}) of metric "
            f"rows and samples come to about {gib(need.kept)} by the end of one run, and the "
            f"host has {gib(host)} for runs; raise suite.eval_every, set metrics.snapshots = "
            "false, or use fewer metrics.samples"
        )
    return min(max(1, budget // need.total) * n_devices, max(1, host // max(need.kept, 1)))


def split_groups(
    groups: list[Group], process: int, processes: int
) -> tuple[list[Group], list[Group]]:
    """Share groups out among ``processes``: largest cost first, each to the process with the
    least work so far (ties to the lowest index). Every process computes the same split from the
    same plan. Returns (this process's groups in plan order, the others' groups)."""
    if processes <= 1:
        return groups, []
    load = [0] * processes
    owner: dict[int, int] = {}
    order = sorted(range(len(groups)), key=lambda i: (-groups[i].cost, groups[i].id))
    for i in order:
        p = min(range(processes), key=lambda q: (load[q], q))
        owner[i] = p
        load[p] += groups[i].cost
    mine = [g for i, g in enumerate(groups) if owner[i] == process]
    return mine, [g for i, g in enumerate(groups) if owner[i] != process]
