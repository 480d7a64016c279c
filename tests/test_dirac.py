"""The Dirac-GAN in the real engine, against the analytic facts of Mescheder et al. 2018
("Which Training Methods for GANs do actually Converge?", sections 2.2 and 3).

Data: a point mass at 0; G is a point theta; D(x) = psi x; f(t) = -log(1 + exp(-t)) (the
minimax GAN), f'(0) = 1/2. At the equilibrium (0, 0) the Jacobian of the gradient vector field
of the unregularised GAN has eigenvalues +-i f'(0) = +-i/2; with R1 (gamma) they are
-gamma/2 +- sqrt(gamma^2/4 - f'(0)^2).
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from ganbench.config import load_suite
from ganbench.metrics import names as M
from ganbench.run.loop import train_group
from ganbench.run.plan import Group
from ganbench.run.progress import NullProgress

SUITE = """
[suite]
name = "dirac"
seeds = 1
steps = {steps}
eval_every = {eval_every}

[defaults]
dataset = "dirac"
loss = "minimax"
batch_size = 8
z_dim = 1
generator = {{ arch = "point", init = {init} }}
discriminator = {{ arch = "linear", init = {init} }}
optimizer = {{ name = "sgd", lr_g = {h}, lr_d = {h} }}
updates = "simultaneous"

[metrics]
samples = 2
snapshots = false

[[variants]]
name = "v"
{body}
"""
H = 0.1


def train(tmp_path, body="", *, steps=200, eval_every=None, init=1.0, h=H):
    path = tmp_path / "dirac.toml"
    text = SUITE.format(
        steps=steps, eval_every=eval_every or steps, init=init, h=h, body=textwrap.dedent(body)
    )
    path.write_text(text)
    suite = load_suite(path)
    import jax

    (record,), _ = train_group(
        Group("dirac", suite.runs), devices=jax.local_devices()[:1], progress=NullProgress()
    )
    assert record.status == "completed", record.error
    trajectory = np.concatenate(record.trajectory).astype(np.float64)
    assert trajectory.shape == (steps + 1, 2)
    return trajectory, record


def distance(trajectory):
    return np.sqrt(np.sum(trajectory**2, axis=1))


def test_trajectory_starts_at_the_initial_point_and_metrics_match_it(tmp_path):
    trajectory, record = train(tmp_path, steps=20, eval_every=10, init=0.7)
    np.testing.assert_allclose(trajectory[0], [0.7, 0.7], rtol=1e-7)  # float32
    rows = {(s, m): v for (s, m, v, *_r) in record.rows}
    for step in (10, 20):
        theta, psi = trajectory[step]
        assert rows[(step, M.EQ_DISTANCE)] == pytest.approx(math.hypot(theta, psi), rel=1e-6)
        assert rows[(step, M.EQ_PSI)] == pytest.approx(abs(psi), rel=1e-6)
        assert rows[(step, M.EQ_THETA)] == pytest.approx(abs(theta), rel=1e-6)


def test_first_simultaneous_step_is_the_hand_computed_gradient_step(tmp_path):
    # ganbench's D output is the logit of "real": D minimises softplus(-psi * 0) + softplus(psi
    # theta), G (minimax) minimises -softplus(psi theta). From (1, 1) both gradients carry
    # sigmoid(psi theta) = sigmoid(1): theta' = 1 + h sigmoid(1), psi' = 1 - h sigmoid(1).
    # (The paper writes the logit of "fake"; the flow is the same up to psi -> -psi.)
    trajectory, _ = train(tmp_path, steps=1, init=1.0)
    s = 1.0 / (1.0 + math.exp(-1.0))
    np.testing.assert_allclose(trajectory[1], [1.0 + H * s, 1.0 - H * s], rtol=1e-6)


def test_simultaneous_steps_spiral_out_at_the_linearised_rate(tmp_path):
    # Near the equilibrium the update is I + hJ with eigenvalues 1 +- ih/2: every step
    # multiplies the distance by sqrt(1 + h^2/4) (J is a rotation generator: normal).
    n = 400
    trajectory, _ = train(tmp_path, steps=n, init=1e-3)
    ratio = distance(trajectory)[-1] / distance(trajectory)[0]
    assert ratio == pytest.approx((1 + H**2 / 4) ** (n / 2), rel=1e-3)
    assert np.all(np.diff(distance(trajectory)) > 0)


def test_alternating_steps_stay_bounded_but_do_not_converge(tmp_path):
    trajectory, _ = train(tmp_path, 'updates = "alternating"', steps=2000, eval_every=1000)
    d = distance(trajectory) / distance(trajectory)[0]
    assert d.min() > 0.5 and d.max() < 2.0
    assert d[-1] > 0.5


@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.0])
def test_r1_converges_at_the_rate_of_its_eigenvalues(tmp_path, gamma):
    n = 400
    body = f'penalty = {{ name = "r1", weight = {gamma} }}'
    trajectory, _ = train(tmp_path, body, steps=n, init=1e-3)
    disc = complex(gamma**2 / 4 - 0.25) ** 0.5
    rate = max(abs(1 + H * (-gamma / 2 + s * disc)) for s in (1, -1))
    d = distance(trajectory)
    assert d[-1] < d[0] * 0.05
    # The per-step contraction over the second half approaches the spectral radius of I + hJ.
    # gamma = 1 is a double root with one eigenvector: the distance decays as n rate^n, which
    # adds about log(2)/200 = 3.5e-3 to the measured slope.
    slope = math.log(d[-1] / d[n // 2]) / (n // 2)
    assert slope == pytest.approx(math.log(rate), abs=5e-3 if gamma == 1.0 else 2e-3)


def test_r1_gamma_one_is_fastest(tmp_path):
    finals = {}
    for gamma in (0.3, 1.0, 3.0):
        body = f'penalty = {{ name = "r1", weight = {gamma} }}'
        finals[gamma] = distance(train(tmp_path, body, steps=300, init=1e-3)[0])[-1]
    assert finals[1.0] < finals[0.3] and finals[1.0] < finals[3.0]


def test_consensus_converges(tmp_path):
    trajectory, _ = train(tmp_path, "consensus = { weight = 1.0 }", steps=1000, eval_every=500)
    assert distance(trajectory)[-1] < 1e-6


def test_wgan_gp_does_not_converge_to_the_equilibrium(tmp_path):
    body = 'loss = "wasserstein"\npenalty = { name = "gp", weight = 1.0 }'
    trajectory, record = train(tmp_path, body, steps=2000, eval_every=1000)
    assert distance(trajectory)[-1] > 0.5
    rows = {(s, m): v for (s, m, v, *_r) in record.rows}
    assert rows[(2000, M.EQ_DISTANCE)] > 0.5


@pytest.mark.parametrize(
    ("body", "max_real", "radius"),
    [
        # Unregularised: eigenvalues +-i/2, update map eigenvalues 1 +- ih/2.
        ("", 0.0, math.sqrt(1 + H**2 / 4)),
        # R1, gamma = 1: a double eigenvalue -1/2, update map 1 - h/2.
        ('penalty = { name = "r1", weight = 1.0 }', -0.5, 1 - H / 2),
        # Consensus (weight w) adds -w f'(0)^2 = -w/4 to the real part: -1/4 +- i/2.
        ("consensus = { weight = 1.0 }", -0.25, abs(1 + H * complex(-0.25, 0.5))),
        # R3GAN: RpGAN + R1 + R2 (gamma) adds 2 gamma to J's psi-psi entry (see test_games):
        # J = [[0, -1/2], [1/2, 1/2]] at gamma = 1/4, eigenvalues 1/4 +- i sqrt(3)/4.
        (
            'loss = "relativistic_pairing"\npenalty = { name = "r1_r2", weight = 0.25 }',
            -0.25,
            abs(1 - H * complex(0.25, math.sqrt(3) / 4)),
        ),
    ],
)
def test_jacobian_spectrum_at_the_equilibrium(tmp_path, body, max_real, radius):
    _, record = train(tmp_path, body, steps=1, init=1e-6)
    rows = {m: v for (_, m, v, *_r) in record.rows}
    assert rows[M.JAC_MAX_REAL] == pytest.approx(max_real, abs=1e-5)
    assert rows[M.JAC_RADIUS] == pytest.approx(radius, abs=1e-5)
    if not body:
        assert rows[M.JAC_IMAG_RATIO] > 1e3  # purely imaginary up to float32 rounding


def test_update_ratios_are_the_relative_parameter_changes(tmp_path):
    trajectory, record = train(tmp_path, 'updates = "alternating"', steps=20, eval_every=10)
    rows = {(s, m): v for (s, m, v, *_r) in record.rows}
    theta, psi = np.abs(trajectory[:, 0]), np.abs(trajectory[:, 1])
    step_g = np.abs(np.diff(trajectory[:, 0])) / theta[:-1]
    step_d = np.abs(np.diff(trajectory[:, 1])) / psi[:-1]
    for end in (10, 20):
        chunk = slice(end - 10, end)
        assert rows[(end, M.UPDATE_RATIO_G + "_mean")] == pytest.approx(
            step_g[chunk].mean(), rel=1e-4
        )
        assert rows[(end, M.UPDATE_RATIO_D + "_max")] == pytest.approx(
            step_d[chunk].max(), rel=1e-4
        )
