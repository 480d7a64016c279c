"""Load a suite: read it through the guards (:mod:`.guards`), apply its profile
(:mod:`.profiles`) and command-line overrides (:mod:`.overrides`), validate it against the schema
(:mod:`.schema`), and expand it into runs (:mod:`.expand`).

All problems are collected and raised together as one :class:`ConfigError` (:mod:`.problems`),
each line naming the file, the line where possible, the key and what is allowed. Nothing is
written before a suite has validated completely.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ganbench.config.expand import (
    RunSpec,
    Suite,
    deep_merge,
    grid_points,
    has_path,
    is_image_dataset,
    is_mixture,
    make_run_id,
    run_identity,
    set_path,
    static_key,
)
from ganbench.config.guards import (
    check_document,
    check_key_chains,
    check_size,
    display_name,
    read_suite_text,
)
from ganbench.config.limits import MAX_NESTING, MAX_SUITE_BYTES
from ganbench.config.overrides import apply_override, parse_override
from ganbench.config.problems import Problems, error_message, raise_problems, walk_errors
from ganbench.config.profiles import apply_profile, check_profiles, recorded_profile
from ganbench.config.schema import RunConfig, SuiteFile, SuiteSection
from ganbench.config.search import (
    TRACED_HELP,
    Search,
    applies,
    apply_draws,
    is_traced,
    parse_search,
)
from ganbench.errors import ConfigError
from ganbench.references import MAX_REFERENCES, Reference, check_against_suite
from ganbench.references import SECTION as REFERENCE_SECTION
from ganbench.text import clip, short

MIN_IMAGE_SAMPLES = 6
"""Smallest metrics.samples for image datasets: density/coverage (Naeem et al. 2020, k = 5)
need k + 1 real samples."""


INCEPTION_KEY = "metrics.inception_weights"


def _absolute(file: str, key: str, path: Path, overrides: set[str]) -> str:
    target = Path(file).expanduser()
    if not target.is_absolute():
        from_cli = any(key == o or key.startswith(o + ".") for o in overrides)
        target = (Path.cwd() if from_cli else path.parent) / target
    return os.path.abspath(target)


def _resolve_inception(suite_file: SuiteFile, path: Path, overrides: set[str]) -> SuiteFile:
    """``[metrics] inception_weights`` and ``[metrics.weights]`` made absolute: ``~`` expanded,
    a relative path taken relative to the suite file's folder, or to the working directory when
    it came from ``--set``. The files themselves are checked when they are loaded
    (``load_extractor``)."""
    metrics = suite_file.metrics
    update: dict[str, Any] = {}
    if metrics.inception_weights is not None:
        update["inception_weights"] = _absolute(
            metrics.inception_weights, INCEPTION_KEY, path, overrides
        )
    if metrics.weights:
        update["weights"] = {
            name: _absolute(file, f"metrics.weights.{name}", path, overrides)
            for name, file in metrics.weights.items()
        }
    if not update:
        return suite_file
    return suite_file.model_copy(update={"metrics": metrics.model_copy(update=update)})


def _validate_variants(
    defaults: dict, variants: list, grid: dict, problems: Problems, search: Search | None = None
) -> list[tuple[RunConfig, dict[str, Any], int | None]]:
    """Every variant at every grid point (and search trial), validated: (config, point, trial)
    with ``point`` the grid values and the trial's drawn values that apply to the variant."""
    points = grid_points(grid)
    trials: list[tuple[int | None, dict[str, Any]]] = (
        [(None, {})] if search is None else [(t, search.draws(t)) for t in range(search.trials)]
    )
    out: list[tuple[RunConfig, dict[str, Any], int | None]] = []
    names: dict[str, int] = {}
    for i, variant in enumerate(variants):
        if not isinstance(variant, dict):
            continue  # reported by the top-level validation
        vname = variant.get("name")
        label = f"variants[{i}]" + (f" ({display_name(vname)})" if isinstance(vname, str) else "")
        if isinstance(vname, str):
            if vname in names:
                problems.add(
                    f"duplicate variant name {vname!r} (also variants[{names[vname]}])",
                    "variants",
                    i,
                    ["name"],
                    label,
                )
            names.setdefault(vname, i)
        if problems.full:
            break  # the error lists MAX_PROBLEMS already; stop spending time on a bad suite
        merged = deep_merge(defaults, variant)
        seen: set[tuple] = set()
        alone = len(points) * len(trials) == 1  # then ``merged`` is this variant's own copy
        for grid_point, (trial, draws) in itertools.product(points, trials):
            if problems.full:
                break
            resolved = merged if alone else copy.deepcopy(merged)
            for key, value in grid_point.items():
                set_path(resolved, key.split("."), value)
            drawn = {k: v for k, v in draws.items() if applies(resolved, k)}
            apply_draws(resolved, drawn)
            point = {**grid_point, **drawn}
            try:
                out.append((RunConfig.model_validate(resolved), point, trial))
            except ValidationError as exc:
                for loc, err in walk_errors(exc):
                    if problems.full:
                        break  # each message costs a "did you mean" search: stop at the limit
                    keys = [str(p) for p in loc]
                    sig = (tuple(keys), err["type"], short(err.get("input"), 200))
                    if sig in seen:
                        continue
                    seen.add(sig)
                    dotted = ".".join(keys)
                    message = error_message(err, RunConfig)
                    grid_key = next(
                        (
                            g
                            for g in point
                            if dotted == g
                            or dotted.startswith(g + ".")
                            # a table's own check names the knob in its message
                            or (g.startswith(dotted + ".") and g.rsplit(".", 1)[1] in message)
                        ),
                        None,
                    )
                    if grid_key is not None and grid_key in drawn:
                        problems.add(
                            f"{message} (variant {display_name(vname)}, trial {trial}, "
                            f"value {short(drawn[grid_key])})",
                            "search",
                            None,
                            [grid_key],
                            "search",
                        )
                    elif grid_key is not None:
                        problems.add(message, "grid", None, [grid_key], "grid")
                    elif has_path(variant, keys[:1]) or not has_path(defaults, keys[:1]):
                        problems.add(message, "variants", i, keys, label)
                    else:
                        problems.add(message, "defaults", None, keys, "defaults")
    return out


def validate_document(
    raw: dict[str, Any],
    *,
    path: Path,
    text: str,
    overrides: set[str] | None = None,
    profile: str | None = None,
    profile_keys: set[str] | None = None,
) -> Suite:
    """Validate a parsed suite document and expand it into runs (raises ConfigError).

    ``profile``, ``profile_keys``: the profile applied to ``raw`` and the document keys it set
    (:func:`apply_profile`), so that a problem at one of them names ``profiles.<name>.<key>``.
    """
    problems = Problems(path, text, overrides or set())
    problems.profile, problems.profile_keys = profile, set(profile_keys or ())
    if isinstance(raw.get("variants"), list):
        problems.variant_names = [v.get("name") if isinstance(v, dict) else None
                                  for v in raw["variants"]]  # fmt: skip
    suite_file: SuiteFile | None = None
    try:
        suite_file = SuiteFile.model_validate(raw)
    except ValidationError as exc:
        for loc, err in walk_errors(exc):
            if problems.full:
                break
            section = str(loc[0]) if loc else None
            index = (
                loc[1]
                if section in ("variants", REFERENCE_SECTION)
                and len(loc) > 1
                and isinstance(loc[1], int)
                else None
            )
            keys = [str(p) for p in loc[2 if index is not None else 1 :]]
            label = f"{section}[{index}]" if index is not None else (section or "suite file")
            problems.add(error_message(err, SuiteFile), section, index, keys, label)

    # Validate every variant at every grid point even when another section is wrong, so one
    # pass reports every problem.
    defaults = raw.get("defaults") if isinstance(raw.get("defaults"), dict) else {}
    variants = raw.get("variants") if isinstance(raw.get("variants"), list) else []
    grid = raw.get("grid") if isinstance(raw.get("grid"), dict) else {}
    if any(not isinstance(v, list) or not v for v in grid.values()):
        grid = {}
    search, search_problems = parse_search(raw.get("search"))
    for keys, message in search_problems:
        problems.add(message, "search", None, keys, "search")
    static = [] if search is None else [k for k in search.knobs if not is_traced(k)]
    for i, key in enumerate(static):
        # The reason once: a suite of many static knobs gets one line each, not one page each.
        reason = (
            f": it picks the compiled program, whatever the draws; a search draws traced knobs "
            f"only ({TRACED_HELP}): make a static choice variants or a grid key"
            if i == 0
            else " (see the first such key)"
        )
        problems.add(f"{short(key)} is not a traced knob{reason}", "search", None, [key], "search")
    if search is not None and any(not is_traced(k) for k in search.knobs):
        search = None  # its draws would replace static choices: no expansion with them
    check_size(raw, defaults, variants, grid, problems, trials=search.trials if search else 1)
    configs = _validate_variants(defaults, variants, grid, problems, search)
    if not problems.items:
        _check_plugin_networks(configs, variants, problems)
    if search is not None and not problems.items:
        if "weights" in search.knobs and any(
            "weights" in point and not is_mixture(config.dataset) for config, point, _ in configs
        ):
            problems.add(
                "weights is traced on mixtures of Gaussians only; a variant it applies to trains "
                "on another dataset (make the weights a grid key there)",
                "search",
                None,
                ["weights"],
                "search",
            )
        _check_traced(configs, search, problems)
        used = {key for _, point, _ in configs for key in point}
        for key in search.knobs:
            if key not in used:
                parent = key.rsplit(".", 1)[0] if "." in key else key
                problems.add(
                    f"{key} applies to no variant: a knob applies where its table ({parent}) is "
                    "set, in [defaults] or a variant",
                    "search",
                    None,
                    [key],
                    "search",
                )
    references = _validate_references(raw, variants, grid, problems)
    image_runs = any(is_image_dataset(config.dataset) for config, _, _ in configs)
    if suite_file is not None and configs and not image_runs:
        for key in ("inception_weights", "extractors", "weights", "resize"):
            value = getattr(suite_file.metrics, key)
            if value:
                problems.add(
                    "feature extractors measure images, and no run of this suite trains on an "
                    f"image dataset; remove {key}",
                    "metrics",
                    None,
                    [key],
                    "metrics",
                )
    if (
        suite_file is not None
        and suite_file.metrics.samples < MIN_IMAGE_SAMPLES
        and any(is_image_dataset(config.dataset) for config, _, _ in configs)
    ):
        problems.add(
            f"image metrics need at least {MIN_IMAGE_SAMPLES} samples per evaluation "
            f"(density and coverage use k = 5 nearest neighbours among the real samples); "
            f"got {suite_file.metrics.samples}",
            "metrics",
            None,
            ["samples"],
            "metrics",
        )
    raise_problems(problems)
    assert suite_file is not None
    suite_file = _resolve_inception(suite_file, path, overrides or set())
    if isinstance(raw.get("metrics"), dict):
        # suite.toml beside the results names the files that were used, from any folder.
        if suite_file.metrics.inception_weights is not None:
            raw["metrics"]["inception_weights"] = suite_file.metrics.inception_weights
        if suite_file.metrics.weights:
            raw["metrics"]["weights"] = dict(suite_file.metrics.weights)
    runs: list[RunSpec] = []
    section = suite_file.suite
    for config, point, trial in configs:
        for seed in section.seed_list():
            identity = run_identity(
                config,
                seed,
                section.steps,
                section.eval_every,
                suite_file.metrics,
                section.profile,
                trial=trial,
            )
            runs.append(
                RunSpec(
                    run_id=make_run_id(identity),
                    suite=section.name,
                    variant=config.name,
                    seed=seed,
                    grid_point=dict(point),
                    config=config,
                    steps=section.steps,
                    eval_every=section.eval_every,
                    metrics=suite_file.metrics,
                    profile=section.profile,
                    trial=trial,
                )
            )
    raise_problems(problems)
    ids: dict[str, RunSpec] = {}
    for r in runs:
        if r.run_id in ids:
            other = ids[r.run_id]
            problems.items.append(
                f"{path}: variants {other.variant!r} and {r.variant!r} resolve to the same run "
                f"(seed {r.seed}, grid point {r.grid_point}); make them differ or remove one"
            )
        ids[r.run_id] = r
    raise_problems(problems)
    return Suite(path=path, raw=raw, file=suite_file, runs=runs, references=references)


def _check_plugin_networks(configs: list, variants: list, problems: Problems) -> None:
    """Build and trace (shapes only) the networks that plugins registered, once per distinct
    run configuration, so that one that cannot make or judge the run's samples is refused
    here, with the module's name (:func:`ganbench.config.plugins.network_problem`)."""
    from ganbench.config.plugins import network_problem
    from ganbench.models import ARCHS

    index = {v.get("name"): i for i, v in enumerate(variants) if isinstance(v, dict)}
    reported: set[tuple[str, str]] = set()
    for config, _point, _trial in configs:
        for role in ("generator", "discriminator"):
            if ARCHS.get(getattr(config, role).arch).builtin:
                continue
            problem = network_problem(config, role)
            if problem is None or (config.name, role) in reported:
                continue
            reported.add((config.name, role))
            i = index.get(config.name)
            label = f"variants[{i}] ({display_name(config.name)})"
            problems.add(problem, "variants", i, [role, "arch"], label)


def _check_traced(configs: list, search: Search, problems: Problems) -> None:
    """Refuse a search knob that changes the compiled program: the trials of a variant at a grid
    point must share one program, as the points of a grid over traced knobs do."""
    first: dict[tuple, tuple[RunConfig, dict[str, Any]]] = {}
    reported: set[str] = set()
    for config, point, _trial in configs:
        grid_part = {k: v for k, v in point.items() if k not in search.knobs}
        where = (config.name, json.dumps(grid_part, sort_keys=True, default=str))
        if where not in first:
            first[where] = (config, point)
            continue
        base, base_point = first[where]
        if static_key(config) == static_key(base):
            continue
        for key in search.knobs:
            if key in reported or point.get(key) == base_point.get(key):
                continue
            reported.add(key)
            problems.add(
                f"{key} picks the compiled program (variant {display_name(config.name)}: "
                f"{short(base_point.get(key))} and {short(point.get(key))} compile differently); a search "
                "draws traced knobs only (learning rates, betas, penalty, loss and scheme "
                "knobs): make a static choice variants or a grid key",
                "search",
                None,
                [key],
                "search",
            )


def _validate_references(
    raw: dict[str, Any], variants: list, grid: dict, problems: Problems
) -> list[Reference]:
    """The ``[[reference]]`` tables, each validated alone and then against the suite (variant
    names, grid keys and values, duplicates); problems are added to ``problems``. A grid key
    set with ``--set`` accepts any value (its references then match no run)."""
    tables = raw.get(REFERENCE_SECTION)
    if not isinstance(tables, list):
        return []  # absent; any other type is reported by the schema
    if len(tables) > MAX_REFERENCES:
        problems.add(
            f"{len(tables):,} references; a suite holds at most {MAX_REFERENCES:,}",
            REFERENCE_SECTION,
            None,
            [],
            REFERENCE_SECTION,
        )
        return []
    parsed: dict[int, Reference] = {}
    partial: dict[int, Reference] = {}
    for i, table in enumerate(tables):
        if not isinstance(table, dict):
            continue  # reported by the schema
        try:
            parsed[i] = partial[i] = Reference.model_validate(table)
        except ValidationError as exc:
            for loc, err in walk_errors(exc):
                keys = [str(p) for p in loc]
                problems.add(
                    error_message(err, Reference), REFERENCE_SECTION, i, keys, f"reference[{i}]"
                )
            # Still check its variant and grid point against the suite: one pass, every problem.
            partial[i] = Reference.model_construct(
                variant=table.get("variant"), grid=table.get("grid")
            )
    names = [str(v["name"]) for v in variants if isinstance(v, dict) and "name" in v]
    overridden = frozenset(k for k in grid if {"grid", f"grid.{k}"} & problems.overrides)
    found = check_against_suite(partial, names, grid, overridden=overridden, complete=set(parsed))
    for i, keys, message in found:
        problems.add(message, REFERENCE_SECTION, i, keys, f"reference[{i}]")
    return [parsed[i] for i in sorted(parsed)]


def load_suite(
    path: str | Path,
    *,
    overrides: list[str] | None = None,
    seeds: int | None = None,
    steps: int | None = None,
    profile: str | None = None,
    imports: list[str] | None = None,
) -> Suite:
    """Read, override, validate and expand a suite file.

    ``profile`` names one of the suite's ``[profiles.<name>]``: its values are applied to the
    document first (:func:`apply_profile`), then ``overrides``, ``seeds`` and ``steps``.

    The file is untrusted text: it is parsed as TOML only (nothing in it is executed), and every
    problem, including a file over :data:`MAX_SUITE_BYTES`, nesting deeper than
    :data:`MAX_NESTING` or a suite of more than :data:`MAX_RUNS` runs, raises
    :class:`ConfigError` before anything is allocated for the runs or written.
    """
    path = Path(path)
    return load_suite_text(
        read_suite_text(path),
        path,
        overrides=overrides,
        seeds=seeds,
        steps=steps,
        profile=profile,
        imports=imports,
    )


def load_suite_dict(
    document: dict,
    *,
    name: str = "<suite dict>",
    overrides: list[str] | None = None,
    seeds: int | None = None,
    steps: int | None = None,
    profile: str | None = None,
    imports: list[str] | None = None,
) -> Suite:
    """:func:`load_suite` for a suite given as a dict (the TOML document's structure), checked
    by the same rules; ``name`` stands for the file in messages. Relative paths in it (such as
    ``metrics.inception_weights``) are relative to the current folder."""
    import tomli_w

    try:
        text = tomli_w.dumps(document)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: not a TOML document: {exc}") from None
    path = Path(name)
    return load_suite_text(
        text, path, overrides=overrides, seeds=seeds, steps=steps, profile=profile, imports=imports
    )


def load_suite_text(
    text: str,
    path: Path,
    *,
    overrides: list[str] | None = None,
    seeds: int | None = None,
    steps: int | None = None,
    profile: str | None = None,
    imports: list[str] | None = None,
) -> Suite:
    """:func:`load_suite` for a suite's text; ``path`` names it in messages and anchors its
    relative paths. ``imports``: plugin modules to import besides the suite's own
    ``[suite] imports`` (``--import``); they are added to the document's list."""
    if len(text.encode("utf-8")) > MAX_SUITE_BYTES:
        raise ConfigError(f"{path}: a suite is at most {MAX_SUITE_BYTES:,} bytes")
    check_key_chains(text, f"{path}")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(
            f"{path}: arrays or tables nested too deeply to parse; a suite nests at most "
            f"{MAX_NESTING} levels"
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 decimal digits
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    check_document(raw, path, "")
    check_profiles(raw, path, text)
    profile_keys: set[str] = set()
    if profile is not None:
        profile_keys = apply_profile(raw, profile, path)
    chosen = profile if profile is not None else recorded_profile(raw)
    touched: set[str] = set()
    for item in overrides or []:
        keys, value = parse_override(item)
        if keys[0] == "profiles" or keys[:2] in (["suite", "profile"], ["suite", "profile_sha256"]):
            raise ConfigError(
                f"--set {clip(item)}: profiles are chosen with --profile NAME, not set "
                "(a profile's own values are overridden by --set on the document's keys, e.g. "
                "--set suite.steps=1000)"
            )
        check_document(value, path, "--set ", depth=len(keys), key=clip(".".join(keys)))
        apply_override(raw, keys, value, f"--set {clip(item)}")
        touched.add(".".join(keys))
    for key, value in (("seeds", seeds), ("steps", steps)):
        if value is None:
            continue
        section = raw.setdefault("suite", {})
        if not isinstance(section, dict):
            raise ConfigError(
                f"{path}: suite: must be a table, such as [suite] (cannot set --{key})"
            )
        check_document(value, path, f"--{key}")
        section[key] = value
        touched.add(f"suite.{key}")
    _import_plugins(raw, path, imports or [], touched)
    return validate_document(
        raw, path=path, text=text, overrides=touched, profile=chosen, profile_keys=profile_keys
    )


def _import_plugins(raw: dict, path: Path, extra: list[str], touched: set[str]) -> None:
    """Import the suite's ``[suite] imports`` and ``extra`` (``--import``) before it is
    validated (:mod:`.plugins`), and record them all in the document."""
    from ganbench.config.plugins import check_modules, import_modules

    section = raw.get("suite")
    listed = section.get("imports", []) if isinstance(section, dict) else []
    modules = check_modules(listed, f"{path}: suite.imports") if listed != [] else []
    added = check_modules(list(extra), "--import")
    if added:
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: suite: must be a table, such as [suite] (cannot --import)")
        modules += [m for m in added if m not in modules]
        section["imports"] = modules
        touched.add("suite.imports")
    import_modules(modules, f"{path}" if not added else f"{path} and --import")


__all__ = [
    "RunSpec",
    "Suite",
    "SuiteSection",
    "apply_profile",
    "check_profiles",
    "load_suite",
    "load_suite_dict",
    "load_suite_text",
    "make_run_id",
    "parse_override",
]
