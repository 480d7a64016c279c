"""Suite schema: strict pydantic models of a suite file and of one resolved run.

Types are strict (a string is not an integer, a bool is not a number), unknown keys are errors,
and every registry name is checked against its registry, so a typo fails validation with a
"did you mean" instead of silently running a different experiment.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ganbench.config.limits import (
    MAX_BATCH,
    MAX_EXTRACTORS,
    MAX_PROFILES,
    MAX_SAMPLES,
    MAX_SEEDS,
    MAX_STEPS,
    MAX_Z_DIM,
    NAME_PATTERN,
    PROFILE_NAME_HELP,
    PROFILE_NAME_PATTERN,
    SUITE_NAME_HELP,
    SUITE_NAME_PATTERN,
    VARIANT_NAME_HELP,
    check_name,
)
from ganbench.config.tables import (
    ConsensusConfig,
    EmaConfig,
    InstanceNoiseConfig,
    ModelConfig,
    OptimizerConfig,
    PenaltyConfig,
    Strict,
    registered,
)
from ganbench.data.base import IMAGE, WEIGHTS_HELP, dataset_problem, get_dataset, mode_weights
from ganbench.errors import GanbenchError
from ganbench.knobs import check_knobs
from ganbench.models import ARCHS
from ganbench.models.latent import LATENTS
from ganbench.objectives import LOSSES
from ganbench.objectives.losses import CLIPPED_LOSSES, LOSS_KNOBS
from ganbench.text import short
from ganbench.train.schemes import MAX_PACK, MAX_UNROLL, UPDATES

LIPSCHITZ_PENALTIES = frozenset({"gp", "gp_one_sided"})


def split_loss(value: Any) -> tuple[str | None, dict[str, float], float | None, list[str]]:
    """A ``loss`` setting (a name, or a table with ``name`` and the loss's knobs) as its name,
    its knobs with defaults filled in (without wasserstein_clip's ``clip``), that ``clip`` if
    the table set it, and the problems found. The name is None where there is nothing to split
    (not a string or table, or an unknown name: the field reports those)."""
    if isinstance(value, dict):
        table = dict(value)
        name = table.pop("name", None)
        if not isinstance(name, str):
            return (
                None,
                {},
                None,
                [
                    'a loss table needs a name: loss = { name = "...", <knob> = ... }; losses: '
                    + ", ".join(LOSSES.names())
                ],
            )
        if name not in LOSSES:
            return None, {}, None, [LOSSES.unknown_message(name)]
    elif isinstance(value, str) and value in LOSSES:
        name, table = value, {}
    else:
        return None, {}, None, []
    spec = dict(LOSS_KNOBS.get(name, {}))
    clip = table.pop("clip", None) if name in CLIPPED_LOSSES else None
    spec.pop("clip", None)
    knobs, problems = check_knobs(table, spec, owner=f"loss {name!r}")
    if clip is not None:
        clip_problems = check_knobs({"clip": clip}, LOSS_KNOBS[name], owner=f"loss {name!r}")[1]
        problems += clip_problems
    return name, knobs, clip, problems


@functools.lru_cache(maxsize=256)
def _registered_dataset(name: str) -> Any:
    """A registered dataset, built once per name (a suite of many variants validates each; a
    name is registered once, so the answer cannot change)."""
    return get_dataset(name)


def _dataset(name: str) -> Any:
    """The dataset ``name``: registered ones cached, a family's (``folder:<name>``, whose
    content can change on disk) read each time."""
    return _registered_dataset(name) if ":" not in name else get_dataset(name)


class RunConfig(Strict):
    """One variant after merging over [defaults] and applying a grid point."""

    name: str
    dataset: str
    loss: str
    batch_size: int = Field(ge=1, le=MAX_BATCH)
    z_dim: int = Field(ge=1, le=MAX_Z_DIM)
    generator: ModelConfig = ModelConfig()
    discriminator: ModelConfig = ModelConfig()
    optimizer: OptimizerConfig
    penalty: PenaltyConfig = PenaltyConfig()
    n_critic: int = Field(1, ge=1, le=100)
    g_steps: int = Field(1, ge=1, le=100)
    """Generator updates per step, after the step's n_critic discriminator updates, each on a
    fresh batch (alternating updates only)."""
    latent: str = "normal"
    """The distribution of the generator's input z (``ganbench.models.latent.LATENTS``)."""
    weights: str | list[float] = "uniform"
    """Mode weights of the dataset (see ``ganbench.data.mixtures.mode_weights``)."""
    clip: float | None = Field(None, gt=0.0, le=100.0)
    """Weight-clipping bound of loss ``wasserstein_clip`` (default 0.01): that loss's knob, kept
    as a run key of its own (``loss = { name = "wasserstein_clip", clip = ... }`` sets it too)."""
    loss_knobs: dict[str, float] | None = None
    """The loss's other knobs, defaults filled in (None for losses without any). A suite sets
    them in a table, ``loss = { name = "...", <knob> = ... }``."""
    updates: str = "alternating"
    unroll: int = Field(0, ge=0, le=MAX_UNROLL)
    pack: int = Field(1, ge=1, le=MAX_PACK)
    ema: EmaConfig | None = None
    instance_noise: InstanceNoiseConfig | None = None
    consensus: ConsensusConfig | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_name(v, NAME_PATTERN, VARIANT_NAME_HELP)

    @model_validator(mode="before")
    @classmethod
    def _loss_table(cls, data: Any) -> Any:
        """``loss`` as a name or as ``{ name = ..., <knob> = ... }``: the name stays in
        ``loss``, the knobs go to ``loss_knobs`` (checked, defaults filled in) and the
        clipping bound of wasserstein_clip to ``clip``. A table with problems is left for the
        field's validator, which reports them at the key ``loss``."""
        if not isinstance(data, dict):
            return data
        if "loss_knobs" in data:
            raise ValueError(
                "unknown key 'loss_knobs'; set a loss's knobs in its table, "
                'loss = { name = "...", <knob> = ... }'
            )
        name, knobs, clip, problems = split_loss(data.get("loss"))
        if name is None or problems:
            return data
        if clip is not None:
            if data.get("clip") is not None:
                raise ValueError("clip is set twice: as a run key and in the loss's table")
            data = {**data, "clip": clip}
        return {**data, "loss": name, "loss_knobs": knobs or None}

    @field_validator("loss", mode="before")
    @classmethod
    def _loss_problems(cls, v: Any) -> Any:
        if isinstance(v, dict):
            problems = split_loss(v)[3]
            raise ValueError("; ".join(problems) or "a loss is a name or a table")
        return v

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, v: str) -> str:
        if (problem := dataset_problem(v)) is not None:
            raise ValueError(problem)
        return v

    @field_validator("loss")
    @classmethod
    def _loss(cls, v: str) -> str:
        return registered(LOSSES, v)

    @field_validator("updates")
    @classmethod
    def _updates(cls, v: str) -> str:
        return registered(UPDATES, v)

    @field_validator("latent")
    @classmethod
    def _latent(cls, v: str) -> str:
        return registered(LATENTS, v)

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: str | list[float]) -> str | list[float]:
        if isinstance(v, list):
            if not v:
                raise ValueError(f"weights must not be empty; allowed: {WEIGHTS_HELP}")
            return v
        mode_weights(v, 2)  # the form is checked here; the length against the dataset below
        return v

    @model_validator(mode="after")
    def _compatible(self) -> RunConfig:
        """Refuse combinations that are not defined, with the reason."""
        problems = []
        for role in ("generator", "discriminator"):
            arch = getattr(self, role).arch
            if role not in ARCHS.get(arch).roles:
                allowed = [n for n in ARCHS.names() if role in ARCHS.get(n).roles]
                problems.append(
                    f"{role}.arch {arch!r} is not a {role} architecture; allowed: "
                    f"{', '.join(allowed)}"
                )
        dataset = _dataset(self.dataset)
        try:
            mode_weights(self.weights, dataset.n_modes)
        except ValueError as exc:
            problems.append(f"weights: {exc}")
        is_image = dataset.kind == IMAGE
        for role in ("generator", "discriminator"):
            table = getattr(self, role)
            spec = ARCHS.get(table.arch)
            for key in sorted(table.given()):
                if spec.takes(key) and not spec.takes(key, role):
                    problems.append(
                        f"{role}.{key}: arch {table.arch!r} takes {key} in its "
                        f"{' and '.join(spec.settings[key].roles)} table only"
                    )
            if spec.images and not is_image:
                problems.append(
                    f"{role}.arch {table.arch!r} is an image network; dataset {self.dataset!r} "
                    "is not an image dataset (use a network of flat samples, such as arch "
                    "'mlp', or an image dataset)"
                )
            if is_image and spec.uses_init:
                problems.append(f"{role}.arch {table.arch!r} is the Dirac-GAN's; not for images")
            if is_image and spec.images and spec.check_shape is not None:
                h, w, c = dataset.shape
                shape = (h, w, c if role == "generator" else self.pack * c)
                if (problem := spec.check_shape(shape)) is not None:
                    problems.append(
                        f"{role}.arch {table.arch!r} {problem} (dataset {self.dataset!r} holds "
                        f"{h} x {w} x {c} images)"
                    )
        if is_image and self.weights != "uniform":
            problems.append(f"weights: dataset {self.dataset!r} takes only 'uniform'")
        if self.clip is not None and self.loss not in CLIPPED_LOSSES:
            problems.append(
                f"clip is the weight-clipping bound of loss 'wasserstein_clip'; loss "
                f"{self.loss!r} does not clip (remove clip, or set loss = 'wasserstein_clip')"
            )
        if self.loss in CLIPPED_LOSSES and self.penalty.name in LIPSCHITZ_PENALTIES:
            problems.append(
                f"loss {self.loss!r} enforces the critic's Lipschitz bound by weight clipping and "
                f"penalty {self.penalty.name!r} by a gradient penalty; choose one (WGAN-GP is "
                "loss 'wasserstein' with penalty 'gp')"
            )
        if self.penalty.name != "none" and ARCHS.get(self.discriminator.arch).d_batch_stats:
            problems.append(
                f"penalty {self.penalty.name!r} differentiates D sample by sample, but "
                f"discriminator.arch {self.discriminator.arch!r} normalises with batch "
                "statistics, which couple the samples of a batch (use penalty 'none', or "
                "another discriminator)"
            )
        if self.updates != "alternating" and self.n_critic != 1:
            problems.append(
                f"updates {self.updates!r} steps both players together, so n_critic must be 1, "
                f"got {self.n_critic} (n_critic needs updates = 'alternating')"
            )
        if self.updates != "alternating" and self.g_steps != 1:
            problems.append(
                f"updates {self.updates!r} steps both players together, so g_steps must be 1, "
                f"got {self.g_steps} (g_steps needs updates = 'alternating')"
            )
        if self.consensus is not None and self.updates == "alternating":
            problems.append(
                "consensus regularises the joint gradient field of both players, so it needs "
                "updates = 'simultaneous' or 'extragradient' (Mescheder et al. 2017)"
            )
        if self.consensus is not None and self.unroll:
            problems.append(
                "consensus with unroll > 0 is not supported: consensus differentiates the "
                "gradient field, which would differentiate through every unrolled update"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def loss_knob_values(self) -> dict[str, float]:
        """Every knob of the loss with its value (the clipping bound included): what the engine
        passes to the loss function."""
        clip = self.clip_value()
        return {**(self.loss_knobs or {}), **({} if clip is None else {"clip": clip})}

    def clip_value(self) -> float | None:
        """The clipping bound when the loss clips (default from the loss's knob)."""
        if self.loss not in CLIPPED_LOSSES:
            return None
        return self.clip if self.clip is not None else LOSS_KNOBS[self.loss]["clip"].default

    def resolved(self) -> dict:
        """Fully resolved configuration: every default filled in (the run's identity).

        Settings left at their "off" value are omitted, so adding a scheme to ganbench does not
        change the identity of existing runs.
        """
        d = self.model_dump(
            exclude={
                "optimizer", "penalty", "ema", "instance_noise", "consensus", "clip", "loss_knobs"
            }
        )  # fmt: skip
        if self.loss_knobs:
            d["loss"] = {"name": self.loss, **self.loss_knobs}
        d["optimizer"] = {
            "name": self.optimizer.name,
            "lr_g": self.optimizer.lr_g,
            "lr_d": self.optimizer.lr_d,
            **self.optimizer.knobs(),
        }
        d["penalty"] = {"name": self.penalty.name, **self.penalty.knobs()}
        if (clip := self.clip_value()) is not None:
            d["clip"] = clip
        for role in ("generator", "discriminator"):
            if d[role]["init"] is None:
                del d[role]["init"]
            for key in ModelConfig.OPTIONAL_SETTINGS:
                if d[role][key] is None:
                    del d[role][key]
            # A plugin's network: its own settings, defaults filled in (built-in networks have
            # none, so their identities are unchanged).
            d[role].update(getattr(self, role).own_settings(role))
        for key in ("ema", "instance_noise", "consensus"):
            table = getattr(self, key)
            if table is not None:
                d[key] = table.knobs()
        for key, off in (
            ("weights", "uniform"),
            ("updates", "alternating"),
            ("unroll", 0),
            ("g_steps", 1),
            ("latent", "normal"),
        ):
            if d[key] == off:
                del d[key]
        if d["pack"] == 1:
            del d["pack"]
        return d


class SuiteSection(Strict):
    name: str
    description: str = ""
    seeds: int | list[int] = 3
    steps: int = Field(ge=1, le=MAX_STEPS)
    eval_every: int = Field(ge=1, le=MAX_STEPS)
    imports: list[str] = Field(default_factory=list)
    """Python modules imported before the suite is validated (plugins that register networks,
    losses, penalties, datasets: :mod:`ganbench.config.plugins`)."""
    profile: str | None = None
    """The profile (``[profiles.<name>]``) this document was expanded with. ``ganbench run``
    records it in the suite.toml it writes beside the results, whose body already holds the
    profile's values, so running that file again reproduces the same runs (run ids). Not a key a
    suite writes: without the matching :attr:`profile_sha256` it is refused (it would label runs
    with a profile that was never applied); a profile is chosen with ``--profile``."""
    profile_sha256: str | None = None
    """Written with :attr:`profile`: the SHA-256 of the profile's table as it was applied
    (:func:`ganbench.config.profiles.profile_digest`)."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_name(v, SUITE_NAME_PATTERN, SUITE_NAME_HELP)

    @field_validator("imports")
    @classmethod
    def _imports(cls, v: list[str]) -> list[str]:
        from ganbench.config.plugins import check_modules

        try:
            return check_modules(v, "suite.imports")
        except GanbenchError as exc:
            raise ValueError(str(exc).removeprefix("suite.imports: ")) from None

    @field_validator("profile")
    @classmethod
    def _profile(cls, v: str | None) -> str | None:
        return None if v is None else check_name(v, PROFILE_NAME_PATTERN, PROFILE_NAME_HELP)

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: int | list[int]) -> int | list[int]:
        if isinstance(v, int):
            if not 1 <= v <= MAX_SEEDS:
                raise ValueError(f"a seed count must be in [1, {MAX_SEEDS:,}], got {v}")
            return v
        if not v:
            raise ValueError("an explicit seed list must not be empty")
        if len(v) > MAX_SEEDS:
            raise ValueError(
                f"an explicit seed list holds at most {MAX_SEEDS:,} seeds, got {len(v):,}"
            )
        if len(set(v)) != len(v):
            raise ValueError(f"seeds must be unique, got {v}")
        if any(not 0 <= s < 2**31 for s in v):
            raise ValueError(f"seeds must be in [0, 2**31), got {v}")
        return v

    @field_validator("eval_every")
    @classmethod
    def _divides(cls, v: int, info: ValidationInfo) -> int:
        steps = info.data.get("steps")
        if isinstance(steps, int) and steps % v:
            raise ValueError(
                f"eval_every ({v}) must divide steps ({steps}); "
                f"for example eval_every = {_a_divisor(steps, v)}"
            )
        return v

    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)


class MetricsSection(Strict):
    samples: int = Field(2500, ge=2, le=MAX_SAMPLES)
    """Generated (and real) samples per evaluation."""
    hq_threshold: float = Field(3.0, gt=0.0, le=1e3)
    """Standardised distance under which a sample is high quality (VEEGAN/PacGAN: 3)."""
    min_count: int = Field(1, ge=1, le=MAX_SAMPLES)
    """HQ samples a mode needs to count as covered."""
    snapshots: bool = True
    """Store the generated samples of every evaluation (2-D data) in samples.npz."""
    spectrum: str = "off"
    """'dense': at every evaluation, the eigenvalues of the Jacobian of the game's gradient
    vector field (all of them; models up to MAX_DENSE_SPECTRUM parameters); 'iterative': Ritz
    values of spectrum_k Arnoldi steps on Jacobian-vector products (any size). Traced models
    (the Dirac-GAN) always get the dense spectrum."""
    spectrum_k: int = Field(20, ge=1, le=1000)
    """Arnoldi steps (Jacobian-vector products per operator) of spectrum = 'iterative'."""

    layer_grads: bool = False
    """Also record each layer's gradient norm (layer_grad_norm/<player>/<layer>)."""

    inception_weights: str | None = Field(None, min_length=1, max_length=4096)
    """The FID Inception-v3 weights (.npz converted from pytorch-fid's .pth; see
    ganbench.extractors.inception): image runs then also record fid_inception and
    kid_inception. ``~`` is expanded; a relative path is relative to the suite file's folder
    (to the working directory when given with ``--set``); the loader stores it absolute. The
    same as ``extractors = [..., "inception"]`` with ``weights = {inception = ...}``."""

    extractors: list[str] | None = Field(None, max_length=MAX_EXTRACTORS)
    """The feature extractors image runs are measured with (``ganbench list extractors``);
    default: the dataset's own classifier (``mnist_cnn`` for MNIST and Stacked MNIST)."""
    weights: dict[str, str] = Field(default_factory=dict, max_length=MAX_EXTRACTORS)
    """Weights files by extractor name, for extractors whose weights the user converts
    (paths as ``inception_weights``)."""
    resize: dict[str, str] = Field(default_factory=dict, max_length=MAX_EXTRACTORS)
    """Resize modes by extractor name (each extractor's default otherwise)."""

    @field_validator("extractors")
    @classmethod
    def _extractors(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        from ganbench.extractors.base import EXTRACTORS, extractor_names

        known = extractor_names()
        for name in v:
            if name not in known:
                raise ValueError(EXTRACTORS.unknown_message(name))
        if len(set(v)) != len(v):
            raise ValueError("an extractor is named twice")
        return v

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, str]) -> dict[str, str]:
        for name, path in v.items():
            if not isinstance(path, str) or not 1 <= len(path) <= 4096:
                raise ValueError(f"weights.{name} must be a file path of 1 to 4096 characters")
        return v

    @model_validator(mode="after")
    def _extractor_settings(self) -> MetricsSection:
        from ganbench.extractors.base import WEIGHTS_USER, get_extractor

        used = set(self.extractor_list())
        for table in ("weights", "resize"):
            for name in getattr(self, table):
                if name not in used:
                    raise ValueError(
                        f"{table}.{name} names an extractor this suite does not use; its "
                        f"extractors: {', '.join(sorted(used)) or 'none'}"
                    )
        for name, mode in self.resize.items():
            modes = get_extractor(name).resize_modes
            if mode not in modes:
                allowed = ", ".join(modes) if modes else "none (it takes images as they are)"
                raise ValueError(f"resize.{name} = {mode!r}: allowed {allowed}")
        for name in used:
            extractor = get_extractor(name)
            if extractor.weights == WEIGHTS_USER and name not in self.weight_files():
                how = extractor.weights_help or "ganbench list extractors says how"
                raise ValueError(
                    f"extractor {name!r} needs its weights file, which you convert once "
                    f'yourself: weights.{name} = "FILE" ({how})'
                )
        return self

    def protocol(self) -> dict:
        """The settings as a manifest records them: every setting, but the extractor tables
        while they are at their defaults (so manifests written before them read the same)."""
        d = self.model_dump()
        for key, default in (("extractors", None), ("weights", {}), ("resize", {})):
            if d[key] == default:
                del d[key]
        return d

    def extractor_list(self, default: list[str] | None = None) -> list[str]:
        """The extractors image runs use: ``extractors`` (else ``default``, the dataset's
        classifier), with ``inception`` added by ``inception_weights``."""
        names = list(self.extractors) if self.extractors is not None else list(default or [])
        if self.inception_weights is not None and "inception" not in names:
            names.append("inception")
        return names

    def weight_files(self) -> dict[str, str]:
        files = dict(self.weights)
        if self.inception_weights is not None:
            files.setdefault("inception", self.inception_weights)
        return files

    @field_validator("spectrum")
    @classmethod
    def _spectrum(cls, v: str) -> str:
        if v not in SPECTRUM_MODES:
            raise ValueError(f"unknown spectrum {short(v)}; allowed: {', '.join(SPECTRUM_MODES)}")
        return v

    def identity(self, *, image_data: bool = True) -> dict:
        """The settings that define a run's measurements (its run id): settings added after the
        first release are left out while they are at their default, so old run ids stay.
        ``image_data``: whether the run trains on images (Inception metrics apply only there)."""
        d = self.model_dump()
        if d["spectrum"] != "iterative":
            del d["spectrum_k"]
        if d["spectrum"] == "off":
            del d["spectrum"]
        if not d["layer_grads"]:
            del d["layer_grads"]
        # A path is not a measurement setting: moving or renaming a weights file keeps the
        # run ids (the manifest's protocol records the path; load_extractor logs the file's
        # sha256). Which extractors measure a run is one: on image data it changes the run
        # id, so adding one re-runs completed runs instead of skipping them.
        weights = d.pop("inception_weights")
        extractors, resize = d.pop("extractors"), d.pop("resize")
        del d["weights"]
        if image_data and (extractors is not None or weights is not None):
            # Which extractors measure a run, and at which resize, are measurement settings;
            # their weights files' paths are not (load_extractor records their checksums).
            from ganbench.extractors.base import get_extractor

            named = self.extractor_list(["mnist_cnn"] if extractors is None else None)
            if named != ["mnist_cnn"]:  # the default of MNIST runs keeps their run ids
                d["extractors"] = {
                    name: resize.get(name, get_extractor(name).default_resize) for name in named
                }
        return d


SPECTRUM_MODES = ("off", "dense", "iterative")


MAX_DENSE_SPECTRUM = 4096
"""Most parameters (both players) for which metrics.spectrum = 'dense' builds the Jacobian."""


class SuiteFile(Strict):
    """The top level of a suite file (before variants are merged)."""

    suite: SuiteSection
    defaults: dict[str, Any] = Field(default_factory=dict)
    metrics: MetricsSection = MetricsSection()
    variants: list[dict[str, Any]] = Field(min_length=1)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    search: dict[str, Any] | None = None
    """Random search over traced knobs (``trials``, ``seed``, knob = distribution); checked and
    drawn by :mod:`ganbench.config.search`."""
    reference: list[dict[str, Any]] = Field(default_factory=list)
    """Published numbers (``[[reference]]``), each a :class:`ganbench.references.Reference`;
    checked against the suite by the loader. Never part of a run's identity."""
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Named sets of overrides of this document (see ``ganbench.config.load.apply_profile``);
    their contents are checked by the loader, against this schema, when one is chosen."""

    @field_validator("profiles")
    @classmethod
    def _profiles(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if len(v) > MAX_PROFILES:
            raise ValueError(f"a suite defines at most {MAX_PROFILES} profiles, got {len(v):,}")
        for name in v:
            check_name(name, PROFILE_NAME_PATTERN, f"profile names are {PROFILE_NAME_HELP}")
        return v

    @field_validator("grid")
    @classmethod
    def _grid(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in v.items():
            if not values:
                raise ValueError(f"grid.{key} must list at least one value")
            if key == "name" or key.startswith("name."):
                raise ValueError("the variant name cannot be a grid key")
        return v


def _a_divisor(steps: int, near: int) -> int:
    divisors = set()
    d = 1
    while d * d <= steps:  # at most 10**4 steps for steps <= MAX_STEPS
        if steps % d == 0:
            divisors.update((d, steps // d))
        d += 1
    return min(divisors, key=lambda d: (abs(d - near), d))
