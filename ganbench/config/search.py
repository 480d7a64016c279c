"""Random hyperparameter search: the ``[search]`` section of a suite.

A search draws ``trials`` points of the traced knobs (learning rates, betas, penalty weights,
loss and scheme knobs), each from its own distribution, and every trial is an ordinary run of
every variant it applies to, at every grid point and seed::

    [search]
    trials = 32                                   # points drawn per variant (and grid point)
    seed = 0                                      # the search's seed: the draws depend on it only
    "optimizer.lr_g" = "loguniform(1e-5, 1e-2)"
    "optimizer.b1" = "uniform(0.0, 0.9)"
    "penalty.weight" = "choice([0.1, 1.0, 10.0])"

A value of trial ``i`` depends on the search seed, ``i`` and the knob's key only (one
``numpy.random.SeedSequence`` per trial and key), so trial ``i`` draws the same values in every
variant and at every grid point (the comparison between variants is paired), whatever the number
of trials or the other knobs: raising ``trials`` from 32 to 64 keeps the first 32 trials and
their runs. Drawn floats keep 6 significant digits, so run ids and tables show readable values.

A knob applies to a variant when the table it lives in is set there (after ``[defaults]``):
``penalty.weight`` to the variants with a penalty table, ``optimizer.b1`` to every variant
with an optimizer table (one whose optimizer has no ``b1`` is an error at that key). A top-level
key (``clip``) applies where it is set. Knobs must be traced: one that would change the compiled program (an architecture, a
batch size, a loss) is refused, since static choices are variants or grid keys.

This is random search as in Lucic et al. 2018 ("Are GANs Created Equal? A Large-Scale Study",
section 5: hyperparameters drawn at random from wide ranges, loguniform for learning rates), and
``ganbench report --budget`` turns its trials into expected-best-score curves.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ganbench import tomlguard
from ganbench.text import clip, short

MAX_TRIALS = 10_000
"""Most trials one search may draw."""
MAX_CHOICES = 1_000
"""Most values of one ``choice([...])``."""
SIGNIFICANT_DIGITS = 6
TRACED_TABLES = ("optimizer", "penalty", "loss", "ema", "instance_noise", "consensus")
"""Tables whose knobs are traced: a run's compiled program depends on their ``name`` (or on
their being set) only (:func:`ganbench.config.expand.static_key`), so ``<table>.<knob>`` for any
knob but ``name`` may be searched."""
TRACED_KEYS = ("clip", "weights")
"""Top-level keys that are traced (``weights`` only on mixtures of Gaussians, checked against
the variants it applies to)."""
TRACED_HELP = (
    "<table>.<knob> of " + ", ".join(TRACED_TABLES) + " (not their name), clip, or weights on a "
    "mixture of Gaussians"
)
RESERVED = ("trials", "seed")
"""The section's own keys; every other key is a knob."""
FORMS = "loguniform(low, high) with 0 < low < high, uniform(low, high) with low < high, choice([v, ...])"

MAX_NUMBER_CHARS = 40
"""Longest bound of a ``uniform``/``loguniform`` (a float needs at most 25 characters)."""
_NUMBER = re.compile(r"[-+]?+(?:\d++(?:\.\d*+)?+|\.\d++)(?:[eE][-+]?+\d++)?+")
"""A decimal number. Possessive quantifiers (no backtracking into a run of digits) keep a match
linear in the text; the text is also at most :data:`MAX_NUMBER_CHARS` long when it is matched."""


def _call(text: str) -> tuple[str, str] | None:
    """``("uniform", " 0, 1 ")`` for ``" uniform ( 0, 1 ) "``: a name and what its parentheses
    hold, by string operations (linear in the text); None for another shape."""
    name, paren, rest = text.strip().partition("(")
    if not paren or not rest.endswith(")"):
        return None
    return name.strip(), rest[:-1]


def _bound(text: str) -> float:
    """One bound of a range, or ValueError (the text shown clipped)."""
    text = text.strip()
    if len(text) > MAX_NUMBER_CHARS or not _NUMBER.fullmatch(text):
        what = (
            f"a number of {len(text):,} characters" if len(text) > MAX_NUMBER_CHARS else short(text)
        )
        raise ValueError(f"{what} is not a bound; bounds are decimal numbers of at most "
                         f"{MAX_NUMBER_CHARS} characters, e.g. 1e-5")  # fmt: skip
    return float(text)


@dataclass(frozen=True)
class Distribution:
    """One knob's distribution: ``kind`` is loguniform, uniform or choice."""

    kind: str
    low: float = 0.0
    high: float = 0.0
    values: tuple[Any, ...] = ()

    def draw(self, rng: np.random.Generator) -> Any:
        if self.kind == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        u = float(rng.random())
        if self.kind == "loguniform":
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + u * (self.high - self.low)
        # Rounding may leave [low, high] by an ulp at most at the ends: clamp.
        return min(max(float(f"{value:.{SIGNIFICANT_DIGITS}g}"), self.low), self.high)

    def text(self) -> str:
        if self.kind == "choice":
            return "choice([" + ", ".join(repr(v) for v in self.values) + "])"
        return f"{self.kind}({self.low:g}, {self.high:g})"


def parse_distribution(text: Any) -> Distribution:
    """A distribution from its suite text; ValueError naming the allowed forms otherwise. Every
    message clips the text it quotes."""
    if not isinstance(text, str):
        raise ValueError(f"a search knob is a distribution written as a string: {FORMS}; got "
                         f"{type(text).__name__} {short(text)}")  # fmt: skip
    call = _call(text)
    kind, inner = call if call is not None else ("", "")
    if kind in ("loguniform", "uniform"):
        parts = inner.split(",", 2)
        if len(parts) != 2:
            raise ValueError(f"{short(text.strip())}: {kind}(low, high) takes two numbers")
        shown = short(text.strip())
        try:
            low, high = _bound(parts[0]), _bound(parts[1])
        except ValueError as exc:
            raise ValueError(f"{shown}: {exc}") from None
        if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
            raise ValueError(f"{shown}: needs finite low < high")
        if kind == "loguniform" and low <= 0:
            raise ValueError(f"{shown}: loguniform needs 0 < low")
        return Distribution(kind, low, high)
    if kind == "choice" and inner.strip().startswith("[") and inner.strip().endswith("]"):
        try:  # the guarded parser: untrusted text may nest lists without bound
            values = tomlguard.loads(f"v = {inner.strip()}")["v"]
        except ValueError as exc:  # TOMLDecodeError and the guards' errors
            raise ValueError(
                f"{short(text.strip(), 80)}: the choices are a TOML list ({clip(str(exc))})"
            ) from exc
        if not values:
            raise ValueError("choice([...]) needs at least one value")
        if len(values) > MAX_CHOICES:
            raise ValueError(
                f"choice([...]) takes at most {MAX_CHOICES:,} values, got {len(values):,}"
            )
        if any(isinstance(v, (dict, list)) for v in values):
            raise ValueError(
                "choice([...]) takes numbers, strings or booleans, not tables or lists"
            )
        return Distribution("choice", values=tuple(values))
    raise ValueError(f"unknown distribution {short(text.strip(), 80)}; allowed: {FORMS}")


@dataclass(frozen=True)
class Search:
    """A parsed ``[search]`` section."""

    trials: int
    seed: int
    knobs: dict[str, Distribution]

    def draws(self, trial: int) -> dict[str, Any]:
        """Every knob's value in trial ``trial`` (0-based)."""
        return {key: dist.draw(_rng(self.seed, trial, key)) for key, dist in self.knobs.items()}


def _rng(seed: int, trial: int, key: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, trial, zlib.crc32(key.encode())]))


def is_traced(key: str) -> bool:
    """Whether search key ``key`` names a traced knob, from the key alone (its declaration), so
    that a static knob is refused whatever its distribution and draws: ``<table>.<knob>`` of
    :data:`TRACED_TABLES` (not ``name``), or one of :data:`TRACED_KEYS`."""
    parts = key.split(".")
    if len(parts) == 1:
        return key in TRACED_KEYS
    return len(parts) == 2 and parts[0] in TRACED_TABLES and parts[1] != "name"


def dotted_keys(table: dict[str, Any]) -> dict[str, Any]:
    """A search table with its nested tables as dotted keys: ``optimizer.lr_g = "..."`` (a
    dotted TOML key, a nested table) and ``"optimizer.lr_g" = "..."`` (one quoted key) name the
    same knob. Iterative (the document's nesting is bounded by the guards, the walk need not
    be)."""
    flat: dict[str, Any] = {}
    stack: list[tuple[str, Any]] = [(str(k), v) for k, v in reversed(list(table.items()))]
    while stack:
        key, value = stack.pop()
        if isinstance(value, dict) and value:
            stack.extend((f"{key}.{k}", v) for k, v in reversed(list(value.items())))
        else:
            flat[key] = value
    return flat


def parse_search(section: Any) -> tuple[Search | None, list[tuple[list[str], str]]]:
    """The search of a raw ``[search]`` table, and its problems as (keys, message) pairs."""
    if section is None:
        return None, []
    if not isinstance(section, dict):
        return None, [
            ([], f"[search] is a table of trials, seed and knobs; got {type(section).__name__}")
        ]
    section = dotted_keys(section)
    problems: list[tuple[list[str], str]] = []
    trials = section.get("trials")
    if trials is None:
        problems.append((["trials"], "a search needs trials = <number of trials>"))
    elif not isinstance(trials, int) or isinstance(trials, bool) or not 1 <= trials <= MAX_TRIALS:
        problems.append(
            (["trials"], f"trials must be an integer in [1, {MAX_TRIALS:,}], got {trials!r}"[:200])
        )
    seed = section.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        problems.append((["seed"], f"seed must be an integer in [0, 2**63), got {seed!r}"[:200]))
    knobs: dict[str, Distribution] = {}
    for key, value in section.items():
        if key in RESERVED:
            continue
        if key.count(".") >= tomlguard.MAX_NESTING:
            problems.append(([key], f"a search key of {key.count('.') + 1} dotted parts; at "
                                    f"most {tomlguard.MAX_NESTING} parts"))  # fmt: skip
            continue
        if key == "name" or key.startswith("name.") or key == "dataset":
            problems.append(
                (
                    [key],
                    f"{short(key)} is not a traced knob; static choices are variants or grid keys",
                )
            )
            continue
        try:
            knobs[key] = parse_distribution(value)
        except ValueError as exc:
            problems.append(([key], str(exc)))
    if not knobs and not problems:
        problems.append(
            (
                [],
                'a search needs at least one knob, e.g. "optimizer.lr_g" = "loguniform(1e-5, 1e-2)"',
            )
        )
    if problems:
        return None, problems
    return Search(trials=int(trials), seed=int(seed), knobs=knobs), []  # type: ignore[arg-type]


def applies(merged: dict[str, Any], key: str) -> bool:
    """Whether knob ``key`` applies to a variant whose settings (over ``[defaults]``) are
    ``merged``: its parent table is set there (a registry name alone counts as a table), or, for
    a top-level key, the key itself is."""
    keys = key.split(".")
    if len(keys) == 1:
        return key in merged
    node: Any = merged
    for k in keys[:-1]:
        if isinstance(node, str):
            node = {"name": node}
        if not isinstance(node, dict) or k not in node:
            return False
        node = node[k]
    return isinstance(node, (dict, str))


def apply_draws(resolved: dict[str, Any], draws: dict[str, Any]) -> None:
    """Set the drawn values in a variant's settings (in place); a table given by its registry
    name alone (``penalty = "r1"``) becomes ``{ name = ... }`` first."""
    for key, value in draws.items():
        keys = key.split(".")
        node = resolved
        for k in keys[:-1]:
            if isinstance(node.get(k), str):
                node[k] = {"name": node[k]}
            node = node.setdefault(k, {})
        node[keys[-1]] = value
