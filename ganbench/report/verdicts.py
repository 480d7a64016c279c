"""One stability verdict per training run, from rules on its recorded metric trajectories.

A run ends in exactly one of :data:`LABELS`: ``diverged``, ``mode-collapsed``, ``diffuse``,
``oscillating``, ``converged``, or ``undecided`` where the rules do not decide. Each rule is a small pure function
of a trajectory (a 1-D array of a metric's values, one per evaluation, in step order), so it can
be checked on synthetic curves; :func:`verdict` applies them in order and words the outcome as one
line backed by numbers; :func:`verdicts` does so for every run of a :class:`Results`;
:func:`stability_profile` counts, per configuration, how many seeds ended in each verdict.

Precedence (the first rule that holds decides)::

    0. undecided       status "failed": the run crashed, so it says nothing about stability.
    1. diverged        status "diverged" (the runner stopped the run on a non-finite loss or
                       sample), or any non-finite value in a trajectory (except reverse_kl, NaN by
                       definition when no sample is high quality), or exploding gradient norms:
                       last / first value of grad_norm_d_max or grad_norm_g_max > grad_explode
                       (1e3).
    2. mode-collapsed  final ``modes`` < collapse_fraction (0.5) * n_modes, or final
                       ``top_mode_share`` >= collapse_share (0.75): three quarters of all samples
                       nearest one mode, one blob, however precise (the mode count needs only
                       ``min_count`` high-quality samples on a mode, so stragglers hide a blob
                       from it, and a blob wider than the HQ threshold looks "diffuse" to the HQ
                       fraction); only when the dataset has modes (n_modes known and >= 2) ...
       diffuse         ... unless the final ``hq_fraction`` is below diffuse_hq (0.2): then the
                       few modes are covered because the samples lie off the modes (spread out,
                       most of them beyond the HQ threshold of every mode), not because they
                       piled onto few modes. The mode histogram alone cannot tell the two apart
                       (both leave most modes empty); the HQ fraction can: a generator collapsed
                       onto a few modes puts most of its samples close to them.
    3. oscillating     some tracked quantity (loss_g, loss_d) keeps swinging over the last
                       oscillation_window (8) evaluations: about its trend line it reverses
                       direction at least oscillation_turns (2) times, each time moving back by
                       more than oscillation_amplitude (0.2) of its level.
    4. converged       every tracked quantity recorded has settled over the last ``window`` (4)
                       evaluations: its peak-to-peak is at most converged_tol (0.1) of its level
                       and its linear trend moves it by at most trend_tol (0.05) of its level.
    5. undecided       none of the above: a quantity still drifting, fluctuations between the
                       converged and oscillating thresholds, fewer than ``window`` evaluations,
                       or no tracked quantity recorded.

Definitions over the last ``n`` values ``w`` of a trajectory (:func:`window_stats`):

- level = max(|mean(w)|, level_floor): the scale changes are measured against. The floor (0.1,
  in the quantity's units) keeps a quantity that settles near zero (Wasserstein or hinge losses)
  from turning tiny absolute wiggles into huge relative ones.
- trend: the least-squares line through ``w``; drift = slope * (n - 1), the change the line
  predicts across the window. Residuals: ``w`` minus that line, so a steady drift is no swing.
- swing: peak-to-peak of the residuals (quoted in reasons).
- direction changes (:func:`reversals`): turns of the residuals counted with hysteresis: a turn
  counts once the residual has moved back from its last extreme by more than
  oscillation_amplitude * level, so noise around a settled value is no oscillation. A curve that
  bends once in the window (a decaying exponential, a sine whose period is much longer than the
  window) has at most one; up-down-up has two.

The two windows differ on purpose: convergence asks whether the end of the run has settled (a
short window drops the early transient), oscillation needs enough evaluations to show a peak and a
trough of a swing that lasts several evaluations. The shipped suites evaluate 8 (stabilizers,
imbalance) or 12 (mode_collapse) times per run; a run with fewer than ``window`` evaluations
(smoke: 2) is undecided unless an earlier rule decides.

Sources. The mode count is the VEEGAN protocol (Srivastava et al. 2017, section 5.1) as
implemented in PacGAN's code (Lin et al. 2018), see :mod:`ganbench.metrics.modes`; calling a run
mode-collapsed below half of the modes, and diffuse below 20% high-quality samples, are ganbench
choices (an unrolled GAN that stalled spread out, 0.1% high-quality samples and 2 of 25 modes,
was labelled mode-collapsed before the diffuse rule existed); so is 0.75 for one blob (samples of
the data put their largest mode weight nearest that mode: 0.125 on ring8, at most 0.36 with the
imbalance suite's longtail:20 weights, so no covering generator reaches it; Metz et al. 2017,
Figure 1, shows the standard GAN's collapse as all samples near one mode at a time). Non-finite values as divergence is the
runner's rule (:mod:`ganbench.run.loop`). Exploding gradients are the failure named by Pascanu
et al. 2013 ("On the difficulty of training recurrent neural networks"); the 1e3 growth factor is a
ganbench choice. Oscillation of simultaneous gradient play around an equilibrium instead of
convergence to it is the behaviour analysed by Mescheder et al. 2017 ("The numerics of GANs") and
2018 ("Which training methods for GANs do actually converge?", the Dirac-GAN); the amplitude and
direction-change criterion and every threshold above are ganbench choices, not from those papers.

Losses are chunk means over ``eval_every`` steps, so swings faster than an evaluation interval are
averaged out: the rules see the slow dynamics only. Pure numpy/pandas; no JAX.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ganbench.metrics import names
from ganbench.results.layout import DIVERGED, FAILED, STATUSES
from ganbench.results.read import Results

MODE_COLLAPSED = "mode-collapsed"
DIFFUSE = "diffuse"
OSCILLATING = "oscillating"
CONVERGED = "converged"
UNDECIDED = "undecided"

LABELS: tuple[str, ...] = (DIVERGED, MODE_COLLAPSED, DIFFUSE, OSCILLATING, CONVERGED, UNDECIDED)
"""Every verdict, in order of precedence (also the column order of :func:`stability_profile`)."""
REFERENCE = "reference"
"""The label of baseline rows (:func:`names.is_baseline_row`): not a verdict, not counted."""

NAN_ALLOWED: frozenset[str] = frozenset({names.REVERSE_KL, names.JAC_IMAG_RATIO})
"""Metrics whose non-finite values are values, not a divergence: reverse_kl is NaN without an HQ
sample to compare; the Jacobian's |Im|/|Re| is inf for a purely imaginary eigenvalue."""

VERDICT_COLUMNS = ("verdict", "reason")
"""Last columns of :func:`verdicts`, after the run's identity, grid-key and seed columns."""


@dataclass(frozen=True)
class VerdictRules:
    """Thresholds of the verdict rules (see the module docstring for how they combine).

    Attributes:
        window: number of last evaluations the convergence rule looks at (>= 3), and the fewest
            evaluations the oscillation rule needs.
        oscillation_window: number of last evaluations the oscillation rule looks at (all of
            them when the run has fewer); longer than ``window`` so that a swing lasting several
            evaluations shows both its peak and its trough.
        tracked: quantities whose dynamics decide oscillation and convergence.
        collapse_fraction: mode-collapsed when the final ``modes`` < collapse_fraction * n_modes.
        collapse_share: ... or when the final ``top_mode_share`` >= collapse_share.
        diffuse_hq: ... diffuse instead when the final ``hq_fraction`` is below this.
        oscillation_amplitude: a direction change of the detrended oscillation window counts only
            when it moves back by more than this fraction of the level ...
        oscillation_turns: ... and the run is oscillating with at least this many of them.
        converged_tol: converged when the window's peak-to-peak is at most this fraction of the
            level ...
        trend_tol: ... and its least-squares drift across the window at most this fraction.
        level_floor: smallest level changes are measured against, in the quantity's units.
        grad_explode: diverged when last / first value of a ``grad_metrics`` trajectory exceeds
            this.
        grad_metrics: gradient-norm trajectories checked for explosion (chunk maxima of the
            global parameter-gradient norms of D and G).
    """

    window: int = 4
    oscillation_window: int = 8
    tracked: tuple[str, ...] = (names.LOSS_G, names.LOSS_D)
    collapse_fraction: float = 0.5
    collapse_share: float = 0.75
    diffuse_hq: float = 0.2
    oscillation_amplitude: float = 0.2
    oscillation_turns: int = 2
    converged_tol: float = 0.1
    trend_tol: float = 0.05
    level_floor: float = 0.1
    grad_explode: float = 1e3
    grad_metrics: tuple[str, ...] = (names.GRAD_NORM_D + "_max", names.GRAD_NORM_G + "_max")

    def __post_init__(self) -> None:
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 3:
            raise ValueError(f"window must be an integer >= 3, got {self.window!r}")
        if (
            isinstance(self.oscillation_window, bool)
            or not isinstance(self.oscillation_window, int)
            or self.oscillation_window < self.window
        ):
            raise ValueError(
                f"oscillation_window must be an integer >= window ({self.window}), got "
                f"{self.oscillation_window!r}"
            )
        if not isinstance(self.oscillation_turns, int) or self.oscillation_turns < 1:
            raise ValueError(
                f"oscillation_turns must be an integer >= 1, got {self.oscillation_turns!r}"
            )
        positive = {
            "collapse_fraction": self.collapse_fraction,
            "collapse_share": self.collapse_share,
            "diffuse_hq": self.diffuse_hq,
            "oscillation_amplitude": self.oscillation_amplitude,
            "converged_tol": self.converged_tol,
            "trend_tol": self.trend_tol,
            "level_floor": self.level_floor,
            "grad_explode": self.grad_explode,
        }
        for key, value in positive.items():
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{key} must be a positive finite number, got {value!r}")
        if self.collapse_fraction > 1:
            raise ValueError(f"collapse_fraction must be at most 1, got {self.collapse_fraction!r}")
        if self.collapse_share > 1:
            raise ValueError(f"collapse_share must be at most 1, got {self.collapse_share!r}")
        if self.diffuse_hq > 1:
            raise ValueError(f"diffuse_hq must be at most 1, got {self.diffuse_hq!r}")
        if self.grad_explode <= 1:
            raise ValueError(f"grad_explode must exceed 1, got {self.grad_explode!r}")


DEFAULT_RULES = VerdictRules()


@dataclass(frozen=True)
class Verdict:
    """A run's verdict: one of :data:`LABELS` and one line saying why, with the numbers."""

    label: str
    reason: str


@dataclass(frozen=True)
class WindowStats:
    """Shape of the last ``n`` values of a trajectory (see the module docstring)."""

    n: int
    mean: float
    level: float
    spread: float
    """max - min of the window."""
    drift: float
    """Least-squares slope times (n - 1): the change the trend predicts across the window."""
    swing: float
    """Peak-to-peak of the residuals about the trend."""
    turns: int
    """Direction changes of the residuals, with hysteresis (see :func:`reversals`)."""

    @property
    def rel_spread(self) -> float:
        return self.spread / self.level

    @property
    def rel_drift(self) -> float:
        return abs(self.drift) / self.level

    @property
    def rel_swing(self) -> float:
        return self.swing / self.level


# --- rules on one trajectory ---------------------------------------------------------------------


def _as_1d(values: Sequence[float] | np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"a trajectory must be 1-D (one value per evaluation), got {x.shape}")
    return x


def first_nonfinite(values: Sequence[float] | np.ndarray) -> int | None:
    """Index of the first NaN or infinite value, ``None`` when all are finite."""
    bad = np.flatnonzero(~np.isfinite(_as_1d(values)))
    return int(bad[0]) if bad.size else None


def growth(values: Sequence[float] | np.ndarray) -> float | None:
    """Last value / first value; ``None`` below two values or when either is not finite or the
    first is not positive (no ratio to form)."""
    x = _as_1d(values)
    if x.size < 2 or not (np.isfinite(x[0]) and np.isfinite(x[-1])) or x[0] <= 0:
        return None
    return float(x[-1] / x[0])


def is_exploding(values: Sequence[float] | np.ndarray, rules: VerdictRules = DEFAULT_RULES) -> bool:
    """Whether a gradient-norm trajectory grew by more than ``rules.grad_explode``."""
    ratio = growth(values)
    return ratio is not None and ratio > rules.grad_explode


def is_mode_collapsed(
    modes: Sequence[float] | np.ndarray, n_modes: int | None, rules: VerdictRules = DEFAULT_RULES
) -> bool:
    """Whether the final modes covered are below ``collapse_fraction * n_modes``.

    Never for a dataset without modes (``n_modes`` None or below 2) or an empty trajectory.
    """
    x = _as_1d(modes)
    if n_modes is None or n_modes < 2 or x.size == 0 or not np.isfinite(x[-1]):
        return False
    return bool(x[-1] < rules.collapse_fraction * n_modes)


def is_one_blob(
    top_mode_share: Sequence[float] | np.ndarray | None,
    n_modes: int | None,
    rules: VerdictRules = DEFAULT_RULES,
) -> bool:
    """Whether the final share of all samples nearest one mode is at least
    ``collapse_share`` (False without one, or for a dataset without modes)."""
    if top_mode_share is None or n_modes is None or n_modes < 2:
        return False
    x = _as_1d(top_mode_share)
    return bool(x.size and np.isfinite(x[-1]) and x[-1] >= rules.collapse_share)


def is_diffuse(
    hq_fraction: Sequence[float] | np.ndarray | None, rules: VerdictRules = DEFAULT_RULES
) -> bool:
    """Whether the final high-quality fraction is below ``diffuse_hq`` (False without one)."""
    if hq_fraction is None:
        return False
    x = _as_1d(hq_fraction)
    return bool(x.size and np.isfinite(x[-1]) and x[-1] < rules.diffuse_hq)


def reversals(values: Sequence[float] | np.ndarray, threshold: float) -> int:
    """Direction changes of a path, each counted only once the path has moved back from its last
    extreme by more than ``threshold`` (hysteresis, so small wiggles are not turns).

    The first move larger than ``threshold`` sets the direction and is not a change. Up, down, up
    by more than the threshold is 2; a path that bends once (a decaying exponential about its
    trend line) is at most 1.
    """
    x = _as_1d(values)
    if x.size == 0:
        return 0
    direction = 0
    hi = lo = float(x[0])  # extremes of the current leg (of everything seen, before the first)
    turns = 0
    for v in map(float, x[1:]):
        if direction == 0:
            hi, lo = max(hi, v), min(lo, v)
            if v - lo > threshold:
                direction, hi = 1, v
            elif hi - v > threshold:
                direction, lo = -1, v
        elif direction == 1:
            if v > hi:
                hi = v
            elif hi - v > threshold:
                direction, lo, turns = -1, v, turns + 1
        else:
            if v < lo:
                lo = v
            elif v - lo > threshold:
                direction, hi, turns = 1, v, turns + 1
    return turns


def window_stats(
    values: Sequence[float] | np.ndarray, length: int, rules: VerdictRules = DEFAULT_RULES
) -> WindowStats | None:
    """Level, spread, trend, swing and reversals of the last ``length`` values.

    Reversals are those of the residuals about the trend line with the threshold
    ``oscillation_amplitude * level``. ``None`` when there are fewer than ``length`` values or
    one of them is not finite.
    """
    x = _as_1d(values)
    if length < 2 or x.size < length:
        return None
    w = x[-length:]
    if not np.all(np.isfinite(w)):
        return None
    t = np.arange(length, dtype=np.float64) - (length - 1) / 2
    mean = float(w.mean())
    slope = float(t @ (w - mean) / (t @ t))
    resid = w - mean - slope * t
    level = max(abs(mean), rules.level_floor)
    return WindowStats(
        n=length,
        mean=mean,
        level=level,
        spread=float(w.max() - w.min()),
        drift=slope * (length - 1),
        swing=float(resid.max() - resid.min()),
        turns=reversals(resid, rules.oscillation_amplitude * level),
    )


def oscillation_stats(
    values: Sequence[float] | np.ndarray, rules: VerdictRules = DEFAULT_RULES
) -> WindowStats | None:
    """:func:`window_stats` over the last ``oscillation_window`` values (all of them when there
    are fewer, but at least ``window``)."""
    n = min(_as_1d(values).size, rules.oscillation_window)
    return window_stats(values, n, rules) if n >= rules.window else None


def is_oscillating(
    values: Sequence[float] | np.ndarray, rules: VerdictRules = DEFAULT_RULES
) -> bool:
    """Whether the detrended oscillation window reverses at least ``oscillation_turns`` times,
    each time by more than ``oscillation_amplitude`` of its level."""
    s = oscillation_stats(values, rules)
    return s is not None and s.turns >= rules.oscillation_turns


def is_converged(values: Sequence[float] | np.ndarray, rules: VerdictRules = DEFAULT_RULES) -> bool:
    """Whether the last ``window`` values move by at most ``converged_tol`` of their level and
    their trend by at most ``trend_tol``."""
    s = window_stats(values, rules.window, rules)
    return s is not None and s.rel_spread <= rules.converged_tol and s.rel_drift <= rules.trend_tol


# --- one run -------------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _pct(value: float) -> str:
    return f"{100 * value:.3g}%"


def _nan_allowed(name: str) -> bool:
    base = name[len(names.EMA_PREFIX) :] if name.startswith(names.EMA_PREFIX) else name
    return base in NAN_ALLOWED


def verdict(
    trajectories: Mapping[str, Sequence[float] | np.ndarray],
    *,
    status: str,
    n_modes: int | None,
    rules: VerdictRules = DEFAULT_RULES,
    diverged_at: int | None = None,
) -> Verdict:
    """The verdict of one run from its trajectories (metric name -> values in step order).

    Args:
        trajectories: e.g. ``{"loss_g": ..., "loss_d": ..., "modes": ..., "grad_norm_d_max": ...}``;
            missing metrics only disable the rules that need them.
        status: the manifest's status (completed, diverged or failed).
        n_modes: the dataset's number of modes; ``None`` for a dataset without modes.
        rules: the thresholds.
        diverged_at: the manifest's ``diverged_at``, quoted in the reason when given.

    Raises:
        ValueError: for an unknown status or a trajectory that is not 1-D.
    """
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    series = {name: _as_1d(v) for name, v in trajectories.items()}

    if status == FAILED:
        return Verdict(UNDECIDED, "undecided: the run failed (status failed), so no rule applies")

    # 1. diverged
    if status == DIVERGED:
        where = f" at step {diverged_at}" if diverged_at is not None else ""
        return Verdict(
            DIVERGED, f"diverged: the runner stopped the run{where} on a non-finite value"
        )
    for name, x in series.items():
        bad = None if _nan_allowed(name) else first_nonfinite(x)
        if bad is not None:
            return Verdict(
                DIVERGED, f"diverged: {name} is {x[bad]} at evaluation {bad + 1} of {x.size}"
            )
    for name in rules.grad_metrics:
        if name in series and is_exploding(series[name], rules):
            x = series[name]
            return Verdict(
                DIVERGED,
                f"diverged: {name} grew {growth(x):.3g}x (from {_fmt(x[0])} to {_fmt(x[-1])}) "
                f"over {x.size} evaluations, above the {rules.grad_explode:.3g}x limit",
            )

    # 2. mode-collapsed, or diffuse: few modes covered; piled onto them, or spread off them
    modes = series.get(names.MODES)
    share = series.get(names.TOP_MODE_SHARE)
    blob = is_one_blob(share, n_modes, rules)
    if blob or (modes is not None and is_mode_collapsed(modes, n_modes, rules)):
        assert n_modes is not None
        parts = []
        if modes is not None and is_mode_collapsed(modes, n_modes, rules):
            parts.append(
                f"{_fmt(modes[-1])} of {n_modes} modes covered at the last evaluation, below "
                f"{_fmt(rules.collapse_fraction)} x {n_modes} = "
                f"{_fmt(rules.collapse_fraction * n_modes)}"
            )
        if share is not None and share.size and np.isfinite(share[-1]):
            on_one = f"{_pct(share[-1])} of the samples nearest one mode"
            if blob:
                on_one += f" (at least {_pct(rules.collapse_share)}: one blob)"
            parts.append(on_one)
        few = "; ".join(parts)
        hq = series.get(names.HQ_FRACTION)
        if not blob and is_diffuse(hq, rules):
            assert hq is not None
            return Verdict(
                DIFFUSE,
                f"diffuse: {few}, with only {_pct(hq[-1])} of the samples within the HQ "
                f"threshold of a mode (below {_pct(rules.diffuse_hq)}): spread off the modes, "
                "not collapsed onto few",
            )
        return Verdict(MODE_COLLAPSED, f"mode-collapsed: {few}")

    # 3. oscillating: quote the tracked quantity with the most direction changes
    recorded = [name for name in rules.tracked if name in series]
    swings = {
        name: s
        for name in recorded
        if (s := oscillation_stats(series[name], rules)) is not None
        and s.turns >= rules.oscillation_turns
    }
    if swings:
        name = max(swings, key=lambda m: (swings[m].turns, swings[m].rel_swing))
        s = swings[name]
        return Verdict(
            OSCILLATING,
            f"oscillating: {name} swings {_fmt(s.swing)} around {_fmt(s.mean)} with "
            f"{s.turns} direction changes over the last {s.n} evaluations (each a move back "
            f"of more than {_pct(rules.oscillation_amplitude)} of its level {_fmt(s.level)})",
        )

    # 4. converged: every tracked quantity recorded has settled
    if not recorded:
        return Verdict(UNDECIDED, f"undecided: none of {', '.join(rules.tracked)} was recorded")
    found = {name: window_stats(series[name], rules.window, rules) for name in recorded}
    short = [name for name, s in found.items() if s is None]
    if short:
        counts = ", ".join(f"{name} has {series[name].size}" for name in short)
        return Verdict(
            UNDECIDED, f"undecided: fewer than {rules.window} evaluations to judge ({counts})"
        )
    stats = {name: s for name, s in found.items() if s is not None}
    unsettled = [name for name in recorded if not is_converged(series[name], rules)]
    if not unsettled:
        settled = ", ".join(
            f"{name} moves {_pct(s.rel_spread)} (trend {_pct(s.rel_drift)}) of its level "
            f"{_fmt(s.level)}"
            for name, s in stats.items()
        )
        return Verdict(
            CONVERGED,
            f"converged: over the last {rules.window} evaluations {settled} (limits "
            f"{_pct(rules.converged_tol)}, trend {_pct(rules.trend_tol)})",
        )

    # 5. undecided: say what keeps the run from converging; a drift when it beats the wiggles
    name = max(unsettled, key=lambda m: stats[m].rel_drift / rules.trend_tol)
    s = stats[name]
    if s.rel_drift > rules.trend_tol and abs(s.drift) > s.swing:
        why = (
            f"{name} still {'rises' if s.drift > 0 else 'falls'} by {_fmt(abs(s.drift))} "
            f"({_pct(s.rel_drift)} of its level {_fmt(s.level)}, trend limit "
            f"{_pct(rules.trend_tol)})"
        )
    else:
        why = (
            f"{name} moves {_fmt(s.spread)} ({_pct(s.rel_spread)} of its level "
            f"{_fmt(s.level)}, limit {_pct(rules.converged_tol)}; trend {_pct(s.rel_drift)}, limit "
            f"{_pct(rules.trend_tol)}), too little to call oscillating"
        )
    return Verdict(UNDECIDED, f"undecided: {why} over the last {s.n} evaluations")


# --- many runs -----------------------------------------------------------------------------------


def _n_modes_of(
    n_modes: int | Mapping[str, int] | None, dataset: str, trajectories: Mapping[str, np.ndarray]
) -> int | None:
    if isinstance(n_modes, Mapping):
        return n_modes.get(dataset)
    if n_modes is not None:
        return int(n_modes)
    # The runner writes one mode_count/<k> per mode of the dataset at every evaluation.
    counted = sum(name.startswith(names.MODE_COUNT_PREFIX) for name in trajectories)
    return counted or None


def verdicts(
    results: Results,
    *,
    n_modes: int | Mapping[str, int] | None = None,
    rules: VerdictRules = DEFAULT_RULES,
) -> pd.DataFrame:
    """One row per run of ``results`` (in :attr:`Results.runs` order) with its verdict.

    Columns: suite, run_id, variant, dataset, the grid keys, seed, verdict, reason.

    :attr:`Results.runs` does not carry the dataset's mode count (the manifest's
    ``dataset.n_modes`` is not read into it), so ``n_modes`` is, in order: the mapping's value for
    the run's dataset, the given integer, or by default the number of ``mode_count/<k>`` metrics
    the run recorded (the runner writes one per mode); a run with none has no mode-collapse rule.

    Only the run's own generator is judged: ``ema/`` metrics are left out. To judge the EMA
    generator as its own row, pass ``results.with_ema_rows()`` (its pseudo-runs have sample
    diagnostics but no losses, so they end mode-collapsed, diverged or undecided).
    """
    metrics = results.metrics
    # Baseline rows are not judged: their metrics (often thousands of draws) are not grouped.
    baseline = [v for v in metrics["variant"].unique() if names.is_baseline_row(v)]
    metrics = metrics[~metrics["metric"].str.startswith(names.EMA_PREFIX)
                      & ~metrics["variant"].isin(baseline)]  # fmt: skip
    metrics = metrics.sort_values("step", kind="stable")
    per_run: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for (suite, run_id, metric), frame in metrics.groupby(
        ["suite", "run_id", "metric"], sort=False
    ):
        per_run.setdefault((suite, run_id), {})[metric] = frame["value"].to_numpy(np.float64)

    id_columns = ["suite", "run_id", "variant", "dataset", *results.grid_keys, "seed"]
    out = results.runs[id_columns].copy()
    labels: list[str] = []
    reasons: list[str] = []
    for run in results.runs.to_dict("records"):
        if names.is_baseline_row(run["variant"]):
            labels.append(REFERENCE)
            reasons.append("a baseline row: nothing was trained, so there is nothing to judge")
            continue
        trajectories = per_run.get((run["suite"], run["run_id"]), {})
        diverged_at = run.get("diverged_at")
        v = verdict(
            trajectories,
            status=run["status"],
            n_modes=_n_modes_of(n_modes, run["dataset"], trajectories),
            rules=rules,
            diverged_at=None if pd.isna(diverged_at) else int(diverged_at),
        )
        labels.append(v.label)
        reasons.append(v.reason)
    out["verdict"] = labels
    out["reason"] = reasons
    return out.reset_index(drop=True)


def stability_profile(verdict_frame: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """How many runs (seeds) of each configuration ended in each verdict.

    Args:
        verdict_frame: the output of :func:`verdicts` (or any frame with a ``verdict`` column).
        by: configuration columns; by default every column of ``verdict_frame`` except
            run_id, seed, status, verdict and reason, i.e. suite, variant, dataset, grid keys.

    Returns:
        One row per configuration, in order of first appearance: the ``by`` columns, ``n_runs``,
        then one count column per verdict in the order of :data:`LABELS`.

    Raises:
        ValueError: for a verdict that is not one of :data:`LABELS`, or a missing ``by`` column.
    """
    if by is None:
        skip = {"run_id", "seed", "status", *VERDICT_COLUMNS}
        keys = [c for c in verdict_frame.columns if c not in skip]
    else:
        keys = list(by)
    missing = [c for c in [*keys, "verdict"] if c not in verdict_frame.columns]
    if missing:
        raise ValueError(f"verdict frame lacks column(s) {', '.join(missing)}")
    unknown = sorted(set(verdict_frame["verdict"]) - {*LABELS, REFERENCE})
    if unknown:
        raise ValueError(f"unknown verdict(s) {unknown}; expected one of {', '.join(LABELS)}")
    columns = [*keys, "n_runs", *LABELS]
    if not keys:
        counts = verdict_frame["verdict"].value_counts()
        row = {"n_runs": len(verdict_frame), **{lab: int(counts.get(lab, 0)) for lab in LABELS}}
        return pd.DataFrame([row], columns=columns)
    rows = []
    for key, group in verdict_frame.groupby(keys, sort=False, dropna=False):
        counts = group["verdict"].value_counts()
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "n_runs": len(group),
                **{lab: int(counts.get(lab, 0)) for lab in LABELS},
            }
        )
    profile = pd.DataFrame(rows, columns=columns)
    for lab in ("n_runs", *LABELS):
        profile[lab] = profile[lab].astype("int64")
    return profile


__all__ = [
    "CONVERGED",
    "DEFAULT_RULES",
    "DIFFUSE",
    "LABELS",
    "MODE_COLLAPSED",
    "OSCILLATING",
    "UNDECIDED",
    "Verdict",
    "VerdictRules",
    "WindowStats",
    "first_nonfinite",
    "growth",
    "is_converged",
    "is_diffuse",
    "is_exploding",
    "is_mode_collapsed",
    "is_oscillating",
    "oscillation_stats",
    "reversals",
    "stability_profile",
    "verdict",
    "verdicts",
    "window_stats",
]
