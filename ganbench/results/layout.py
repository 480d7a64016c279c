"""The results contract's vocabulary, defined once: file and folder names, the manifest schema
version and the run statuses. The writer (:mod:`ganbench.results.write`), the reader
(:mod:`ganbench.results.read`) and everything that counts runs by status read them from here;
:class:`Manifest` is the one schema of ``manifest.json`` that writer and reader both validate.

A suite's results live in ``<out>/<suite>/``: its ``suite.toml`` and one folder per run under
``runs/<run_id>/`` with ``manifest.json``, ``metrics.parquet`` and, when samples were kept,
``samples.npz``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ganbench.text import short
from ganbench.tomlguard import INT64

MANIFEST = "manifest.json"
METRICS = "metrics.parquet"
SAMPLES = "samples.npz"
SUITE_FILE = "suite.toml"
RUNS_DIR = "runs"
SCHEMA_VERSION = 1
MAX_MANIFEST_BYTES = 16 << 20
"""Largest manifest.json (or suite.toml) read; ganbench writes a few KiB."""
"""The manifest's ``schema``; the reader refuses others."""

COMPLETED = "completed"
"""The run trained every step."""
DIVERGED = "diverged"
"""The run was stopped on a non-finite value (a result, not an error)."""
FAILED = "failed"
"""The run raised an error; its manifest records it."""
STATUSES = (COMPLETED, DIVERGED, FAILED)
FINISHED = (COMPLETED, DIVERGED)
"""Statuses of runs that are not trained again (unless ``--force``)."""


PROFILE = "profile"
"""The manifest key of the suite profile a run was made with (``ganbench run --profile``)."""

TRIAL = "trial"
"""The manifest key of a run's trial index in a hyperparameter search (absent otherwise)."""

DRAW = "draw"
"""The metrics.parquet column of a baseline row measured over many independent draws (a chance
row: nothing is trained, so hundreds of draws cost seconds): the draw each value belongs to. The
reader reads such a run as one run per draw (run id ``<run_id>/draw-<d>``, seed ``d``), so the
report averages the draws as it averages seeds: the mean over draws, and the spread of a single
draw. Training runs have no such column."""
DRAW_SUFFIX = "/draw-"
MAX_DRAWS = 10_000
"""Most draws one run may hold (ganbench writes :data:`ganbench.diagnostics.chance.DRAWS`)."""

REQUIRED = ("run_id", "suite", "variant", "seed", "grid_point", "config", "status", "step")
"""Keys every manifest has."""


def is_int64(value: Any) -> bool:
    """A (64-bit) integer: what the int64 columns of the tables can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and INT64[0] <= value <= INT64[1]


class Manifest(BaseModel):
    """``manifest.json``: what one run folder is. The writer validates every manifest it writes
    with this model and the reader every manifest it reads, so both hold to one contract.

    Only the keys the reader relies on are typed; the rest (``protocol``, ``dataset``,
    ``environment``, ``group``, ``extractor``, ...) pass through as they are. The checks run on
    the JSON values before any conversion (a ``true`` is no seed, a ``"5"`` no step), with
    messages that name the key."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    schema_version: int = Field(alias="schema")
    run_id: str
    suite: str
    variant: str
    seed: int
    step: int
    grid_point: dict[str, Any]
    config: dict[str, Any]
    status: str
    diverged_at: int | None = None
    error: str | None = None
    timing: dict[str, Any] | None = None
    profile: str | None = None
    trial: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _contract(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("is not a JSON object")
        schema = data.get("schema")
        if schema != SCHEMA_VERSION:
            raise ValueError(f"has schema {schema!r}; this ganbench reads schema {SCHEMA_VERSION}")
        missing = [k for k in REQUIRED if k not in data]
        if missing:
            raise ValueError(f"lacks key(s) {', '.join(missing)}")
        for key in ("run_id", "suite", "variant"):
            if not isinstance(data[key], str) or not data[key]:
                raise ValueError(f"key '{key}' must be a non-empty string")
        for key in ("seed", "step"):
            if not is_int64(data[key]):
                raise ValueError(f"key '{key}' must be a 64-bit integer, got {short(data[key])}")
        if not isinstance(data["status"], str) or data["status"] not in STATUSES:
            raise ValueError(f"status {short(data['status'])} is not one of {', '.join(STATUSES)}")
        if not isinstance(data["grid_point"], dict):
            raise ValueError("key 'grid_point' must be an object")
        config = data["config"]
        if not isinstance(config, dict) or not isinstance(config.get("dataset"), str):
            raise ValueError("key 'config' must be an object with a string 'dataset'")
        diverged_at = data.get("diverged_at")
        if diverged_at is not None and not is_int64(diverged_at):
            raise ValueError("key 'diverged_at' must be an integer or null")
        error = data.get("error")
        if error is not None and not isinstance(error, str):
            raise ValueError("key 'error' must be a string or null")
        timing = data.get("timing", {})
        if timing is not None and not isinstance(timing, dict):
            raise ValueError("key 'timing' must be an object")
        profile = data.get(PROFILE)
        if profile is not None and (not isinstance(profile, str) or not profile):
            raise ValueError(f"key '{PROFILE}' must be a non-empty string or null")
        trial = data.get(TRIAL)
        if trial is not None and not (is_int64(trial) and trial >= 0):
            raise ValueError(f"key '{TRIAL}' must be a non-negative integer or null")
        return data

    @classmethod
    def check(cls, data: Any) -> dict[str, Any]:
        """``data`` itself when it is a valid manifest; else ValueError with the first problem
        (``lacks key(s) run_id``, ``key 'seed' must be ...``)."""
        try:
            cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            cause = (first.get("ctx") or {}).get("error")
            if cause is not None:
                raise ValueError(str(cause)) from None
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"key '{where}': {first['msg']}") from None
        return data
