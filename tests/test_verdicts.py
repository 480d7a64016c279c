"""Stability verdicts: each rule on a synthetic trajectory built to show (or not show) its
behaviour, precedence between rules, reasons quoting numbers, and per-configuration counts on a
synthetic results folder.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from results_folder import write_run as write_run_folder

from ganbench.report.verdicts import (
    LABELS,
    VerdictRules,
    is_converged,
    is_diffuse,
    is_exploding,
    is_mode_collapsed,
    is_oscillating,
    reversals,
    stability_profile,
    verdict,
    verdicts,
    window_stats,
)
from ganbench.results.read import read_results

RULES = VerdictRules()
K = np.arange(12, dtype=np.float64)  # evaluation index: 12 evaluations, as in mode_collapse.toml


def sine(period: float, *, mean: float = 1.2, amplitude: float = 0.4) -> np.ndarray:
    return mean + amplitude * np.sin(2 * np.pi * K / period + 0.3)


def decaying(level: float = 0.7, start: float = 1.5, tau: float = 1.5) -> np.ndarray:
    return level + start * np.exp(-K / tau)


FALLING = 2.0 - 0.1 * K  # still falling 0.1 per evaluation: ~30% over the last 4
FLAT = np.full(12, 1.38)


def judge(**trajectories: object) -> tuple[str, str]:
    status = str(trajectories.pop("status", "completed"))
    n_modes = trajectories.pop("n_modes", 8)
    v = verdict(trajectories, status=status, n_modes=n_modes)  # type: ignore[arg-type]
    return v.label, v.reason


# --- oscillation -------------------------------------------------------------------------------


def test_sine_with_a_few_periods_in_the_window_oscillates() -> None:
    # Period 3 evaluations: 8/3 periods in the 8-evaluation oscillation window.
    assert is_oscillating(sine(3.0))
    label, reason = judge(loss_g=sine(3.0), loss_d=FLAT)
    assert label == "oscillating"
    s = window_stats(sine(3.0), 8)
    assert s is not None and s.turns >= 4
    assert f"{s.turns} direction changes over the last 8 evaluations" in reason
    assert f"swings {s.swing:.3g} around {s.mean:.3g}" in reason
    assert reason.startswith("oscillating: loss_g")


def test_sine_with_a_period_much_longer_than_the_window_does_not_oscillate() -> None:
    slow = sine(60.0)  # a fifth of a period over the whole run
    assert not is_oscillating(slow)
    s = window_stats(slow, 8)
    assert s is not None and s.turns <= 1
    assert judge(loss_g=slow, loss_d=FLAT)[0] != "oscillating"


def test_small_wiggles_are_not_oscillation_but_large_ones_are() -> None:
    zigzag = np.array([1.0, -1.0] * 6)
    small = 1.0 + 0.05 * zigzag  # moves back 10% of the level each time: below the 20% threshold
    large = 1.0 + 0.15 * zigzag  # 30%
    assert not is_oscillating(small)
    assert is_oscillating(large)
    assert is_oscillating(small, VerdictRules(oscillation_amplitude=0.05))


def test_a_transient_then_noise_is_not_oscillation() -> None:
    # A big early drop and then wiggles of 1%: the drop is one bend, the wiggles are below the
    # hysteresis, so there is at most one direction change.
    values = np.array([3.0, 1.0, 0.72, 0.69, 0.70, 0.69, 0.70, 0.69])
    assert not is_oscillating(values)
    assert judge(loss_g=values)[0] == "converged"


def test_reversals_count_with_hysteresis() -> None:
    assert reversals([0, 1, 0, 1], 0.5) == 2
    assert reversals([0, 1, 0, 1], 1.0) == 0  # moves of exactly the threshold do not count
    assert reversals([0, 1, 0.9, 2, 0], 0.5) == 1  # the dip of 0.1 is not a turn
    assert reversals([3, 2, 1, 2, 3], 0.5) == 1  # one bend
    assert reversals([], 0.5) == 0


# --- convergence -------------------------------------------------------------------------------


def test_decaying_exponential_converges() -> None:
    assert is_converged(decaying())
    label, reason = judge(loss_g=decaying(), loss_d=decaying(1.38, -0.5, 2.0))
    assert label == "converged"
    s = window_stats(decaying(), 4)
    assert s is not None
    assert f"loss_g moves {100 * s.rel_spread:.3g}% (trend {100 * s.rel_drift:.3g}%)" in reason
    assert "last 4 evaluations" in reason


def test_still_falling_line_is_not_converged_but_undecided() -> None:
    assert not is_converged(FALLING)
    assert not is_oscillating(FALLING)
    label, reason = judge(loss_g=FALLING, loss_d=FLAT)
    assert label == "undecided"
    # Last 4 values 1.2, 1.1, 1.0, 0.9: a fall of 0.3 on a level of 1.05, 28.6%.
    assert "loss_g still falls by 0.3 (28.6% of its level 1.05, trend limit 5%)" in reason


def test_converged_needs_a_flat_trend_not_only_a_small_spread() -> None:
    # Both move 0.08 (8% of a level of ~1, within the 10% spread limit); one is a steady fall
    # (least-squares drift 0.08, 0.08 / 0.96 = 8.33% > 5%), the other wiggles about a flat line (drift 0.024).
    falling = np.array([1.0, 0.9733, 0.9467, 0.92])
    wiggling = np.array([1.0, 1.04, 0.96, 1.0])
    assert not is_converged(falling)
    assert is_converged(wiggling)
    label, reason = judge(loss_g=falling, loss_d=wiggling)
    assert label == "undecided"
    assert "loss_g still falls by 0.08 (8.33% of its level 0.96" in reason


def test_converged_needs_every_tracked_quantity_settled() -> None:
    assert judge(loss_g=decaying(), loss_d=FALLING)[0] == "undecided"


def test_too_few_evaluations_is_undecided() -> None:
    label, reason = judge(loss_g=[1.0, 1.0], loss_d=[1.0, 1.0])
    assert label == "undecided"
    assert "fewer than 4 evaluations" in reason and "loss_g has 2" in reason
    assert judge(modes=[8.0, 8.0])[0] == "undecided"  # no tracked quantity


def test_level_floor_measures_near_zero_losses_absolutely() -> None:
    near_zero = np.array([0.01, 0.012, 0.011, 0.013])  # +30% relative to its mean, 0.003 absolute
    assert is_converged(near_zero)
    assert not is_converged(near_zero, VerdictRules(level_floor=1e-3))


# --- divergence --------------------------------------------------------------------------------


def test_nan_diverges() -> None:
    values = sine(3.0)
    values[7] = math.nan
    label, reason = judge(loss_g=values, loss_d=FLAT)
    assert label == "diverged"
    assert reason == "diverged: loss_g is nan at evaluation 8 of 12"


def test_status_diverged_diverges_whatever_the_trajectories() -> None:
    v = verdict(
        {"loss_g": decaying(), "loss_d": decaying()},
        status="diverged",
        n_modes=8,
        diverged_at=2501,
    )
    assert v.label == "diverged"
    assert "step 2501" in v.reason


def test_reverse_kl_nan_is_not_divergence() -> None:
    # reverse_kl is NaN by definition when no sample is high quality.
    assert judge(loss_g=decaying(), loss_d=FLAT, reverse_kl=np.full(12, math.nan))[0] == (
        "converged"
    )


def test_exploding_gradient_norms_diverge() -> None:
    norms = 0.5 * 2.0**K  # 0.5 -> 1024: grew 2048x
    assert is_exploding(norms)
    assert not is_exploding(norms[:10])  # 0.5 -> 256: 512x
    label, reason = judge(loss_g=decaying(), loss_d=FLAT, grad_norm_g_max=norms)
    assert label == "diverged"
    assert "grad_norm_g_max grew 2.05e+03x (from 0.5 to 1.02e+03)" in reason
    # Other gradient metrics are not checked.
    assert judge(loss_g=decaying(), loss_d=FLAT, input_grad_real_max=norms)[0] == "converged"


# --- mode collapse -----------------------------------------------------------------------------


def test_mode_collapse_from_the_final_mode_count() -> None:
    modes = np.array([8, 8, 7, 6, 5, 4, 4, 3, 3, 2, 2, 2], dtype=np.float64)
    assert is_mode_collapsed(modes, 8)
    assert not is_mode_collapsed(np.array([2.0, 4.0]), 8)  # 4 of 8 is not below half
    assert not is_mode_collapsed(modes, None)
    label, reason = judge(loss_g=decaying(), loss_d=FLAT, modes=modes)
    assert label == "mode-collapsed"
    assert reason == (
        "mode-collapsed: 2 of 8 modes covered at the last evaluation, below 0.5 x 8 = 4"
    )
    # A dataset without modes has no collapse rule.
    assert judge(loss_g=decaying(), loss_d=FLAT, modes=modes, n_modes=None)[0] == "converged"


def test_few_modes_with_few_hq_samples_is_diffuse_not_collapsed() -> None:
    modes = np.array([8, 6, 4, 3, 2, 2, 2, 2], dtype=np.float64)
    # Piled onto 2 modes: most samples are high quality.
    piled = np.full(8, 0.93)
    assert judge(loss_g=decaying(), loss_d=FLAT, modes=modes, hq_fraction=piled)[0] == (
        "mode-collapsed"
    )
    # Spread off the modes: 0.1% high quality (the stalled unrolled GAN on grid25).
    spread = np.full(8, 0.001)
    label, reason = judge(loss_g=decaying(), loss_d=FLAT, modes=modes, hq_fraction=spread)
    assert label == "diffuse"
    assert reason == (
        "diffuse: 2 of 8 modes covered at the last evaluation, below 0.5 x 8 = 4, with only "
        "0.1% of the samples within the HQ threshold of a mode (below 20%): spread off the "
        "modes, not collapsed onto few"
    )
    # The boundary is strict, and only the final value counts.
    at = np.array([0.0] * 7 + [0.2])
    assert judge(loss_g=decaying(), loss_d=FLAT, modes=modes, hq_fraction=at)[0] == (
        "mode-collapsed"
    )
    assert is_diffuse(np.array([0.9, 0.19])) and not is_diffuse(np.array([0.1, 0.2]))
    assert not is_diffuse(None) and not is_diffuse(np.array([math.nan]))
    # Many modes with few HQ samples is not diffuse: the rule needs few modes first.
    assert judge(loss_g=decaying(), loss_d=FLAT, modes=np.full(8, 8.0), hq_fraction=spread)[0] == (
        "converged"
    )
    with pytest.raises(ValueError, match="diffuse_hq"):
        VerdictRules(diffuse_hq=1.5)


# --- precedence --------------------------------------------------------------------------------


def test_nan_in_an_oscillating_run_is_diverged() -> None:
    values = sine(3.0)
    assert judge(loss_g=values, loss_d=FLAT)[0] == "oscillating"
    values[-1] = math.inf
    assert judge(loss_g=values, loss_d=FLAT)[0] == "diverged"


def test_collapsed_and_oscillating_is_mode_collapsed() -> None:
    modes = np.full(12, 2.0)
    assert judge(loss_g=sine(3.0), loss_d=FLAT, modes=modes)[0] == "mode-collapsed"
    assert judge(loss_g=sine(3.0), loss_d=FLAT, modes=np.full(12, 8.0))[0] == "oscillating"


def test_failed_run_is_undecided_and_unknown_status_is_an_error() -> None:
    assert judge(loss_g=[math.nan], status="failed")[0] == "undecided"
    with pytest.raises(ValueError, match="status 'done'"):
        verdict({}, status="done", n_modes=None)


def test_rules_are_validated() -> None:
    with pytest.raises(ValueError, match="window"):
        VerdictRules(window=2)
    with pytest.raises(ValueError, match="oscillation_window"):
        VerdictRules(window=6, oscillation_window=5)
    with pytest.raises(ValueError, match="grad_explode"):
        VerdictRules(grad_explode=0.5)


# --- many runs ---------------------------------------------------------------------------------


def write_run(
    out: Path,
    run_id: str,
    *,
    variant: str,
    seed: int,
    trajectories: dict[str, np.ndarray],
    dataset: str = "ring8",
    status: str = "completed",
    lr: float = 1e-4,
) -> None:
    """One run folder of suite 'toy' with an evaluation every 500 steps."""
    n = max((len(v) for v in trajectories.values()), default=0)
    # Rows written metric by metric, out of step order: the reader sorts them by step.
    rows = [
        (500 * (i + 1), metric, float(value), None, None)
        for metric, values in trajectories.items()
        for i, value in enumerate(values)
    ]
    write_run_folder(
        out, run_id, suite="toy", variant=variant, seed=seed, status=status, dataset=dataset,
        grid_point={"dataset": dataset, "optimizer.lr_d": lr}, rows=rows, step=500 * n,
        diverged_at=500 * n if status == "diverged" else None, config={"dataset": dataset},
    )  # fmt: skip


def with_modes(covered: float, n_modes: int = 8, **losses: np.ndarray) -> dict[str, np.ndarray]:
    counts = {f"mode_count/{k}": np.full(12, 100.0 if k < covered else 0.0) for k in range(n_modes)}
    return {**losses, "modes": np.full(12, covered), **counts}


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    calm = {"loss_g": decaying(), "loss_d": FLAT}
    swing = {"loss_g": sine(3.0), "loss_d": FLAT}
    nan_loss = {"loss_g": np.r_[decaying()[:5], math.nan], "loss_d": FLAT[:6]}
    # Variant "gan" at lr 1e-4: one converged, one collapsed, one oscillating, one diverged.
    write_run(out, "g0", variant="gan", seed=0, trajectories=with_modes(8, **calm))
    write_run(out, "g1", variant="gan", seed=1, trajectories=with_modes(2, **calm))
    write_run(out, "g2", variant="gan", seed=2, trajectories=with_modes(8, **swing))
    write_run(out, "g3", variant="gan", seed=3, trajectories=nan_loss, status="diverged")
    # Variant "gan" at lr 1e-3: converged twice.
    for seed in (0, 1):
        write_run(
            out, f"h{seed}", variant="gan", seed=seed, lr=1e-3, trajectories=with_modes(8, **calm)
        )
    # Variant "wgan" on grid25 (25 modes): 10 of 25 covered is collapsed; one still falling.
    write_run(
        out,
        "w0",
        variant="wgan",
        seed=0,
        dataset="grid25",
        trajectories=with_modes(10, 25, **calm),
    )
    write_run(
        out,
        "w1",
        variant="wgan",
        seed=1,
        dataset="grid25",
        trajectories=with_modes(25, 25, loss_g=FALLING, loss_d=FLAT),
    )
    return out


def test_verdicts_one_row_per_run(results_dir: Path) -> None:
    results = read_results(results_dir)
    frame = verdicts(results)
    assert list(frame.columns) == [
        "suite",
        "run_id",
        "variant",
        "dataset",
        "optimizer.lr_d",
        "seed",
        "verdict",
        "reason",
    ]
    got = dict(zip(frame["run_id"], frame["verdict"], strict=True))
    assert got == {
        "g0": "converged",
        "g1": "mode-collapsed",
        "g2": "oscillating",
        "g3": "diverged",
        "h0": "converged",
        "h1": "converged",
        "w0": "mode-collapsed",
        "w1": "undecided",
    }
    reason = dict(zip(frame["run_id"], frame["reason"], strict=True))
    # n_modes comes from the run's mode_count/<k> metrics: 8 on ring8, 25 on grid25.
    assert "2 of 8 modes" in reason["g1"]
    assert "10 of 25 modes" in reason["w0"] and "0.5 x 25 = 12.5" in reason["w0"]
    assert "step 3000" in reason["g3"]
    # An explicit n_modes replaces the inferred one: 10 of 12 is not collapsed.
    assert verdicts(results, n_modes={"grid25": 12}).set_index("run_id").loc["w0", "verdict"] == (
        "converged"
    )
    assert verdicts(results, n_modes=3).set_index("run_id").loc["g1", "verdict"] == "converged"


def test_stability_profile_counts_seeds_per_configuration(results_dir: Path) -> None:
    profile = stability_profile(verdicts(read_results(results_dir)))
    keys = ["suite", "variant", "dataset", "optimizer.lr_d"]
    assert list(profile.columns) == [*keys, "n_runs", *LABELS]
    assert list(LABELS) == [
        "diverged",
        "mode-collapsed",
        "diffuse",
        "oscillating",
        "converged",
        "undecided",
    ]
    rows = {
        tuple(r[k] for k in keys[1:]): [r["n_runs"], *(r[lab] for lab in LABELS)]
        for r in profile.to_dict("records")
    }
    assert rows == {
        ("gan", "ring8", 1e-4): [4, 1, 1, 0, 1, 1, 0],
        ("gan", "ring8", 1e-3): [2, 0, 0, 0, 0, 2, 0],
        ("wgan", "grid25", 1e-4): [2, 0, 1, 0, 0, 0, 1],
    }
    by_variant = stability_profile(verdicts(read_results(results_dir)), by=["variant"])
    assert by_variant["n_runs"].tolist() == [6, 2]
    assert by_variant["converged"].tolist() == [3, 0]


def test_stability_profile_rejects_unknown_verdicts() -> None:
    frame = pd.DataFrame({"variant": ["a"], "verdict": ["exploded"]})
    with pytest.raises(ValueError, match="exploded"):
        stability_profile(frame)


def test_every_report_shows_the_stability_profile(results_dir: Path) -> None:
    from typer.testing import CliRunner

    from ganbench.cli import app
    from ganbench.report import summarize, to_text, with_stability

    results = read_results(results_dir)
    summary = with_stability(summarize(results), results)
    row = summary.set_index(["variant", "optimizer.lr_d"]).loc[("gan", 1e-4)]
    assert row["stability"] == "1 diverged, 1 mode-collapsed, 1 oscillating, 1 converged"
    assert [row[f"verdict_{lab}"] for lab in LABELS] == [1, 1, 0, 1, 1, 0]
    assert "verdict_converged" in to_text(summary, "csv").splitlines()[0]
    res = CliRunner().invoke(app, ["report", str(results_dir)], env={"COLUMNS": "240"})
    assert res.exit_code == 0, res.output
    assert "stability" in res.stdout and "2 converged" in res.stdout


# --------------------------------------------------------------------------- one blob


def test_one_blob_is_mode_collapsed_though_stragglers_cover_every_mode():
    """The textbook collapse: 90% of the samples on one mode, one straggler on each of the
    others, so the mode count (min_count 1) reads all 8; the top-mode share sees the blob."""
    from ganbench.report.verdicts import MODE_COLLAPSED

    flat = {"loss_g": [1.0] * 6, "loss_d": [1.0] * 6, "hq_fraction": [0.92] * 6}
    got = verdict({**flat, "modes": [8.0] * 6, "top_mode_share": [0.5, 0.9, 0.1, 0.7, 0.8, 0.9]},
                  status="completed", n_modes=8)  # fmt: skip
    assert got.label == MODE_COLLAPSED
    assert "90% of the samples nearest one mode (at least 75%: one blob)" in got.reason
    below = verdict({**flat, "modes": [8.0] * 6, "top_mode_share": [0.74] * 6},
                    status="completed", n_modes=8)  # fmt: skip
    assert below.label != MODE_COLLAPSED
    few = verdict({**flat, "modes": [2.0] * 6, "top_mode_share": [0.5] * 6},
                  status="completed", n_modes=8)  # fmt: skip
    assert few.label == MODE_COLLAPSED
    assert "2 of 8 modes covered" in few.reason and "50% of the samples" in few.reason
    assert "one blob" not in few.reason


def test_a_wide_blob_is_mode_collapsed_not_diffuse():
    """Metz et al. 2017's standard GAN (ganbench, suites/papers/unrolled_gan_fig1.toml): every
    sample near one mode but wider than the HQ threshold, so 0-1 modes and under 10% HQ: the
    diffuse rule alone would call it spread off the modes; the share says one blob."""
    from ganbench.report.verdicts import DIFFUSE, MODE_COLLAPSED

    flat = {"loss_g": [1.0] * 6, "loss_d": [1.0] * 6, "modes": [1.0] * 6}
    blob = verdict({**flat, "hq_fraction": [0.06] * 6, "top_mode_share": [0.99] * 6},
                   status="completed", n_modes=8)  # fmt: skip
    assert blob.label == MODE_COLLAPSED and "99% of the samples nearest one mode" in blob.reason
    spread = verdict({**flat, "hq_fraction": [0.06] * 6, "top_mode_share": [0.3] * 6},
                     status="completed", n_modes=8)  # fmt: skip
    assert spread.label == DIFFUSE
