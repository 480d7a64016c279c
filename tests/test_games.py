"""Update rules on games with known answers.

* The bilinear game min_x max_y x * y, whose descent field is v(x, y) = (y, -x): with plain SGD
  every update is a scaled rotation, so the norm of (x, y) changes by an exact factor per step.
* The Dirac-GAN of Mescheder et al. 2018 ("Which training methods for GANs do actually
  converge?", section 2): real data is the point 0, the generator is the point theta and the
  discriminator is D(x) = psi * x. The field is built from the library's losses and R1 penalty.
  Its Jacobian at the equilibrium (0, 0), for losses with f'(0) = 1/2 as here, is
  J = [[0, -1/2], [1/2, 0]] (rows: theta, psi), so the one-step map of each update rule has a
  closed-form Jacobian whose eigenvalues decide local convergence.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ganbench.objectives import LOSSES, PENALTIES
from ganbench.train.schemes import (
    apply_updates,
    extragradient_step,
    simultaneous_step,
    with_consensus,
)

# --------------------------------------------------------------------------- helpers


def sgd_players(lr: float, n: int = 2):
    opts = tuple(optax.sgd(lr) for _ in range(n))
    return opts


def start(opts, values):
    params = tuple(jnp.asarray(v, jnp.float32) for v in values)
    return params, tuple(o.init(p) for o, p in zip(opts, params, strict=True))


def trajectory(step, field, lr: float, values, n_steps: int) -> np.ndarray:
    """Run ``n_steps`` of an update rule with SGD; rows are the points after steps 0..n_steps
    (row 0 is the start), columns the players."""
    opts = sgd_players(lr, len(values))
    params, states = start(opts, values)

    def body(carry, _):
        p, s = carry
        p, s, _, _ = step(field, opts, s, p)
        return (p, s), jnp.stack(p)

    _, path = jax.lax.scan(body, (params, states), None, length=n_steps)
    return np.concatenate([np.asarray(jnp.stack(params))[None], np.asarray(path)], axis=0)


def alternating_trajectory(field, lr: float, values, n_steps: int) -> np.ndarray:
    """Alternating gradient descent on a two-player (G, D) game: D steps first, then G steps
    against the updated D (n_critic = 1), with the library's ``apply_updates`` per player."""
    opts = sgd_players(lr)
    params, states = start(opts, values)

    def body(carry, _):
        (g, d), (sg, sd) = carry
        grads, _ = field((g, d))
        (d,), (sd,) = apply_updates((opts[1],), (sd,), (d,), (grads[1],))
        grads, _ = field((g, d))
        (g,), (sg,) = apply_updates((opts[0],), (sg,), (g,), (grads[0],))
        return ((g, d), (sg, sd)), jnp.stack((g, d))

    _, path = jax.lax.scan(body, (params, states), None, length=n_steps)
    return np.concatenate([np.asarray(jnp.stack(params))[None], np.asarray(path)], axis=0)


def norms(path: np.ndarray) -> np.ndarray:
    return np.linalg.norm(path.astype(np.float64), axis=1)


def step_jacobian(step, field, lr: float, at=(0.0, 0.0)) -> np.ndarray:
    """Jacobian of the one-step map of an update rule at a point, as a 2 x 2 matrix."""
    opts = sgd_players(lr)
    params, states = start(opts, at)

    def one_step(p):
        new, _, _, _ = step(field, opts, states, p)
        return new

    jac = jax.jacobian(one_step)(params)
    return np.array([[float(jac[i][j]) for j in range(2)] for i in range(2)])


# --------------------------------------------------------------------------- bilinear game


def bilinear(params):
    """min_x max_y x * y: the descent gradients are d/dx (x y) = y and -d/dy (x y) = -x."""
    x, y = params
    return (y, -x), None


LR = 0.1


def test_simultaneous_sgd_diverges_on_bilinear_game():
    # (x, y) <- (x - lr y, y + lr x): the matrix [[1, -lr], [lr, 1]] is sqrt(1 + lr^2) times a
    # rotation, so |(x_n, y_n)| = sqrt(2) (1 + lr^2)^(n / 2) from (1, 1).
    path = trajectory(simultaneous_step, bilinear, LR, (1.0, 1.0), 300)
    np.testing.assert_allclose(path[1], [0.9, 1.1], rtol=1e-6)
    n = np.arange(path.shape[0])
    expected = math.sqrt(2.0) * (1.0 + LR**2) ** (n / 2.0)
    np.testing.assert_allclose(norms(path), expected, rtol=1e-4)
    ratios = norms(path)[1:] / norms(path)[:-1]
    np.testing.assert_allclose(ratios, math.sqrt(1.0 + LR**2), rtol=1e-5)
    assert norms(path)[-1] > 4.0 * norms(path)[0]


def test_extragradient_converges_on_bilinear_game():
    # Lookahead (x - lr y, y + lr x), then the step from (x, y) with the field there:
    #   x' = x - lr (y + lr x) = (1 - lr^2) x - lr y,  y' = y + lr (x - lr y) = lr x + (1 - lr^2) y,
    # a scaled rotation with factor rho = sqrt((1 - lr^2)^2 + lr^2) < 1 (0.99504 at lr = 0.1).
    # rho^300 is about 0.22, so reaching |(x, y)| < 1e-2 from (1, 1) takes about 1000 steps:
    # sqrt(2) rho^1500 is about 8e-4.
    path = trajectory(extragradient_step, bilinear, LR, (1.0, 1.0), 1500)
    np.testing.assert_allclose(path[1], [0.89, 1.09], rtol=1e-6)
    rho = math.sqrt((1.0 - LR**2) ** 2 + LR**2)
    ratios = norms(path)[1:] / norms(path)[:-1]
    np.testing.assert_allclose(ratios, rho, rtol=1e-5)
    n = np.arange(path.shape[0])
    np.testing.assert_allclose(norms(path), math.sqrt(2.0) * rho**n, rtol=1e-3)
    assert norms(path)[-1] < 1e-2


def test_consensus_field_on_bilinear_game():
    # 1/2 |v|^2 = 1/2 (x^2 + y^2), whose gradient is (x, y): v + w (x, y) = (y + w x, -x + w y).
    field = with_consensus(bilinear, 0.5)
    grads, aux = field((jnp.float32(2.0), jnp.float32(-3.0)))
    assert aux is None
    np.testing.assert_allclose(grads, [-2.0, -3.5], rtol=1e-6)


def test_simultaneous_sgd_with_consensus_converges_on_bilinear_game():
    # x' = x - lr (y + w x) = (1 - lr w) x - lr y,  y' = y - lr (-x + w y) = lr x + (1 - lr w) y:
    # a scaled rotation with factor sqrt((1 - lr w)^2 + lr^2) = sqrt(0.82) at lr = 0.1, w = 1.
    weight = 1.0
    path = trajectory(simultaneous_step, with_consensus(bilinear, weight), LR, (1.0, 1.0), 300)
    np.testing.assert_allclose(path[1], [0.8, 1.0], rtol=1e-6)
    factor = math.sqrt((1.0 - LR * weight) ** 2 + LR**2)
    ratios = norms(path)[1:] / norms(path)[:-1]
    np.testing.assert_allclose(ratios, factor, rtol=1e-5)
    assert norms(path)[-1] < 1e-10


# --------------------------------------------------------------------------- Dirac-GAN


def dirac_field(loss: str = "non_saturating", gamma: float = 0.0):
    """Players (theta, psi): the generator's point and the discriminator's slope. The descent
    gradients are d/dtheta g_loss and d/dpsi (d_loss + R1), R1 taken at the real point 0."""
    loss_fn = LOSSES.get(loss)
    r1 = PENALTIES.get("r1").fn
    real = jnp.zeros((1, 1))

    def d_loss(psi, theta):
        d_fn = lambda x: psi * x[:, 0]  # noqa: E731
        fake = jnp.reshape(theta, (1, 1))
        out = loss_fn(d_fn(real), d_fn(fake)).d_loss
        if gamma:
            out = out + r1(d_fn, real, fake, jax.random.key(0), {"weight": jnp.float32(gamma)})
        return out

    def g_loss(theta, psi):
        fake = jnp.reshape(theta, (1,))
        return loss_fn(psi * real[:, 0], psi * fake).g_loss

    def field(params):
        theta, psi = params
        return (jax.grad(g_loss)(theta, psi), jax.grad(d_loss)(psi, theta)), None

    return field


DIRAC_LR = 0.1
START = (1.0, 1.0)
D0 = math.sqrt(2.0)


def moduli(matrix: np.ndarray) -> np.ndarray:
    return np.abs(np.linalg.eigvals(matrix))


@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
def test_dirac_gan_simultaneous_jacobian_is_expanding(loss):
    # I - h J = [[1, h/2], [-h/2, 1]]: eigenvalues 1 +- i h/2, modulus sqrt(1 + h^2/4) > 1.
    h = DIRAC_LR
    jac = step_jacobian(simultaneous_step, dirac_field(loss), h)
    np.testing.assert_allclose(jac, [[1.0, h / 2], [-h / 2, 1.0]], atol=1e-7)
    np.testing.assert_allclose(moduli(jac), math.sqrt(1.0 + h**2 / 4), rtol=1e-6)


def test_dirac_gan_alternating_jacobian_is_on_the_unit_circle():
    # psi' = psi - h theta / 2, then theta' = theta + h psi' / 2 = (1 - h^2/4) theta + h psi / 2:
    # determinant 1 and trace 2 - h^2/4 in (-2, 2), so both eigenvalues have modulus 1.
    h = DIRAC_LR
    field = dirac_field()
    opts = sgd_players(h)
    params, states = start(opts, (0.0, 0.0))

    def one_step(p):
        g, d = p
        grads, _ = field((g, d))
        (d,), _ = apply_updates((opts[1],), (states[1],), (d,), (grads[1],))
        grads, _ = field((g, d))
        (g,), _ = apply_updates((opts[0],), (states[0],), (g,), (grads[0],))
        return (g, d)

    jac = jax.jacobian(one_step)(params)
    jac = np.array([[float(jac[i][j]) for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(jac, [[1.0 - h**2 / 4, h / 2], [-h / 2, 1.0]], atol=1e-7)
    np.testing.assert_allclose(moduli(jac), 1.0, rtol=1e-6)


def test_dirac_gan_r1_jacobian_is_contracting():
    # R1 adds gamma/2 psi^2 to D's loss (grad_x D = psi), so J = [[0, -1/2], [1/2, gamma]] and
    # I - h J = [[1, h/2], [-h/2, 1 - h gamma]]. Its characteristic polynomial in mu = 1 - lambda
    # is mu^2 - h gamma mu + h^2/4; at gamma = 1 that is (mu - h/2)^2: a double eigenvalue
    # 1 - h/2 = 0.95.
    h, gamma = DIRAC_LR, 1.0
    jac = step_jacobian(simultaneous_step, dirac_field(gamma=gamma), h)
    np.testing.assert_allclose(jac, [[1.0, h / 2], [-h / 2, 1.0 - h * gamma]], atol=1e-7)
    np.testing.assert_allclose(moduli(jac), 1.0 - h / 2, rtol=1e-3)  # double root: sqrt(eps)


def test_dirac_gan_consensus_jacobian_is_contracting():
    # Consensus descends v + w J^T v; at the equilibrium v = 0, so its Jacobian is J + w J^T J =
    # J + w/4 I, and I - h (J + w/4 I) = [[1 - h w/4, h/2], [-h/2, 1 - h w/4]] has modulus
    # sqrt((1 - h w/4)^2 + h^2/4) = sqrt(0.953125) at h = 0.1, w = 1.
    h, w = DIRAC_LR, 1.0
    jac = step_jacobian(simultaneous_step, with_consensus(dirac_field(), w), h)
    np.testing.assert_allclose(
        jac, [[1.0 - h * w / 4, h / 2], [-h / 2, 1.0 - h * w / 4]], atol=1e-7
    )
    np.testing.assert_allclose(moduli(jac), math.sqrt((1 - h * w / 4) ** 2 + h**2 / 4), rtol=1e-6)


def test_dirac_gan_simultaneous_gd_minimax_norm_grows_by_closed_form():
    # The paper's objective (f(t) = -log(1 + e^-t), the minimax loss): the descent field is
    # (-s psi, s theta) with s = sigmoid(psi theta), so a step is (theta + h s psi, psi - h s theta)
    # and |p'|^2 = |p|^2 (1 + h^2 s^2): the distance to the equilibrium never shrinks.
    h = DIRAC_LR
    path = trajectory(simultaneous_step, dirac_field("minimax"), h, START, 2000)
    theta, psi = path[:-1, 0].astype(np.float64), path[:-1, 1].astype(np.float64)
    s = 1.0 / (1.0 + np.exp(-psi * theta))
    sq = norms(path) ** 2
    np.testing.assert_allclose(sq[1:] / sq[:-1], 1.0 + h**2 * s**2, rtol=1e-5)
    assert np.all(np.diff(norms(path)) > 0.0)
    assert norms(path)[-1] > 2.0 * D0


def test_dirac_gan_alternating_gd_minimax_oscillates():
    # Unit-modulus eigenvalues: alternating steps circle the equilibrium without approaching it.
    dist = norms(alternating_trajectory(dirac_field("minimax"), DIRAC_LR, START, 2000))
    assert dist.min() > 0.9 * D0
    assert dist.max() < 1.1 * D0


def test_dirac_gan_simultaneous_gd_non_saturating_does_not_converge():
    # Far out the non-saturating generator loss pulls inward (a fourth-order term), but near the
    # equilibrium the expanding linear part wins, so the iterates settle on a cycle (radius about
    # 0.45 at h = 0.1) instead of reaching (0, 0).
    dist = norms(trajectory(simultaneous_step, dirac_field(), DIRAC_LR, START, 2000))
    assert dist.min() > 0.25 * D0
    # Started next to the equilibrium it moves away at about sqrt(1 + h^2/4) per step
    # (1.0025^500 = 3.5 after 1000 steps).
    near = norms(trajectory(simultaneous_step, dirac_field(), DIRAC_LR, (0.02, 0.02), 1000))
    assert near[-1] > 2.0 * near[0]


def test_dirac_gan_simultaneous_gd_with_r1_converges():
    # Contraction 0.95 per step near (0, 0) (see the Jacobian test): 0.95^500 is about 7e-12.
    dist = norms(trajectory(simultaneous_step, dirac_field(gamma=1.0), DIRAC_LR, START, 500))
    assert dist[-1] < 1e-2


def test_dirac_gan_simultaneous_gd_with_consensus_converges():
    # Contraction sqrt(0.953125) per step near (0, 0): 0.953125^250 is about 6e-6.
    field = with_consensus(dirac_field(), 1.0)
    dist = norms(trajectory(simultaneous_step, field, DIRAC_LR, START, 500))
    assert dist[-1] < 1e-2


# --------------------------------------------------------------------------- projections


def clip(c: float):
    return lambda params: tuple(jnp.clip(p, -c, c) for p in params)


def test_apply_updates_projects_after_the_step():
    # SGD(1): 5 - 4.5 = 0.5, 0.5 + 2 = 2.5 -> 1, -0.2 - 0.1 = -0.3. Projecting before the step
    # would give 1 - 4.5 = -3.5 for the first entry.
    opt = optax.sgd(1.0)
    p = jnp.array([5.0, 0.5, -0.2])
    g = jnp.array([4.5, -2.0, 0.1])
    (new,), _ = apply_updates((opt,), (opt.init(p),), (p,), (g,), clip(1.0))
    np.testing.assert_allclose(new, [0.5, 1.0, -0.3], rtol=1e-6)


def test_apply_updates_projection_sees_every_player():
    opts = (optax.sgd(1.0), optax.sgd(1.0))
    params = (jnp.array([0.0]), jnp.array([0.0]))

    def clip_d_only(p):
        return (p[0], jnp.clip(p[1], -1.0, 1.0))

    new, _ = apply_updates(
        opts,
        tuple(o.init(x) for o, x in zip(opts, params, strict=True)),
        params,
        (jnp.array([-3.0]), jnp.array([-3.0])),
        clip_d_only,
    )
    np.testing.assert_allclose(new[0], [3.0])
    np.testing.assert_allclose(new[1], [1.0])


def test_simultaneous_step_applies_the_projection():
    opts = sgd_players(1.0)
    params, states = start(opts, (1.0, 1.0))
    # Step (1 - 1, 1 + 1) = (0, 2), clipped to (0, 0.5); the returned gradients are at (1, 1).
    new, _, grads, _ = simultaneous_step(bilinear, opts, states, params, clip(0.5))
    np.testing.assert_allclose(new, [0.0, 0.5])
    np.testing.assert_allclose(grads, [1.0, -1.0])


def test_extragradient_projects_the_lookahead_and_the_step():
    # SGD(1) from (1, 1): lookahead (0, 2) -> clipped (0, 0.5); field there (0.5, -0);
    # step from (1, 1): (0.5, 1) -> clipped (0.5, 0.5). Without projecting the lookahead the
    # field would be (2, 0) and the step (-1, 1) -> (-0.5, 0.5).
    opts = sgd_players(1.0)
    params, states = start(opts, (1.0, 1.0))
    new, _, grads, _ = extragradient_step(bilinear, opts, states, params, clip(0.5))
    np.testing.assert_allclose(new, [0.5, 0.5])
    np.testing.assert_allclose(grads, [0.5, 0.0])


def test_extragradient_threads_the_optimiser_state_through_the_lookahead():
    # One player minimising x^2 / 2 with SGD(lr 0.1, momentum 0.5) from x = 1: lookahead trace
    # t1 = 1, x_half = 0.9; final trace t2 = 0.9 + 0.5 * 1 = 1.4, x = 1 - 0.1 * 1.4 = 0.86.
    # (A fresh state at the final step would give 1 - 0.1 * 0.9 = 0.91.)
    def field(params):
        return (params[0],), None

    opt = optax.sgd(0.1, momentum=0.5)
    x = jnp.float32(1.0)
    (new,), (state,), _, _ = extragradient_step(field, (opt,), (opt.init(x),), (x,))
    np.testing.assert_allclose(new, 0.86, rtol=1e-6)
    np.testing.assert_allclose(state[0].trace, 1.4, rtol=1e-6)


# --------------------------------------------------------------------------- relativistic losses


def sigmoid(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def relativistic_dirac_jacobian(theta: float, psi: float, c: float, gamma: float) -> np.ndarray:
    """The Dirac-GAN's field under a relativistic loss, differentiated by hand.

    Real data is 0, so C(x) = 0 and C(G(z)) = psi theta. The pairing loss then gives
    L_D = c softplus(psi theta), L_G = c softplus(-psi theta) with c = 1; the average loss has
    m_r = 0 and m_f = psi theta, so both of its terms equal these and c = 2. R1 + R2 adds
    gamma/2 (psi^2 + psi^2) to L_D (grad_x D = psi everywhere). The descent field is
        v_theta = dL_G/dtheta = -c sigma(-psi theta) psi,
        v_psi   = dL_D/dpsi   =  c sigma(psi theta) theta + 2 gamma psi,
    and with s = sigma'(psi theta) = sigma(psi theta) sigma(-psi theta) its Jacobian is
        [[c s psi^2,                          c (s psi theta - sigma(-psi theta))],
         [c (s psi theta + sigma(psi theta)),  c s theta^2 + 2 gamma]].
    """
    t = psi * theta
    s = sigmoid(t) * sigmoid(-t)
    return np.array(
        [
            [c * s * psi**2, c * (s * t - sigmoid(-t))],
            [c * (s * t + sigmoid(t)), c * s * theta**2 + 2 * gamma],
        ]
    )


def relativistic_dirac_field(loss: str, gamma: float, batch: int = 3):
    """The same field from the library's loss and penalty, on batches of ``batch`` samples."""
    loss_fn = LOSSES.get(loss)
    penalty = PENALTIES.get("r1_r2").fn
    real = jnp.zeros((batch, 1))

    def losses(theta, psi):
        d_fn = lambda x: psi * x[:, 0]  # noqa: E731
        fake = jnp.full((batch, 1), theta)
        out = loss_fn(d_fn(real), d_fn(fake))
        pen = penalty(d_fn, real, fake, jax.random.key(0), {"weight": jnp.float32(gamma)})
        return out.d_loss + pen, out.g_loss

    def field(params):
        theta, psi = params
        v_theta = jax.grad(lambda t: losses(t, psi)[1])(theta)
        v_psi = jax.grad(lambda p: losses(theta, p)[0])(psi)
        return jnp.stack([v_theta, v_psi])

    return field


@pytest.mark.parametrize(
    ("loss", "c"), [("relativistic_pairing", 1.0), ("relativistic_average", 2.0)]
)
@pytest.mark.parametrize("gamma", [0.0, 0.3])
@pytest.mark.parametrize("at", [(0.0, 0.0), (0.7, -1.3), (-0.4, 0.9)])
def test_relativistic_dirac_gan_jacobian_is_the_analytic_one(loss, c, gamma, at):
    field = relativistic_dirac_field(loss, gamma)
    jac = np.asarray(jax.jacobian(field)(jnp.array(at, jnp.float32)))
    np.testing.assert_allclose(jac, relativistic_dirac_jacobian(*at, c, gamma), atol=1e-6)


@pytest.mark.parametrize("loss", ["relativistic_pairing", "relativistic_average"])
def test_relativistic_dirac_gan_converges_only_with_r1_r2(loss):
    """Huang et al. 2024 (R3GAN), section 2: the unregularised RpGAN is not locally convergent,
    RpGAN + R1 + R2 is. At the equilibrium J = [[0, -c/2], [c/2, 2 gamma]]: eigenvalues +-i c/2
    without the penalty (gradient descent circles or spirals out), real parts gamma > 0 with it."""
    for gamma, real_part in ((0.0, 0.0), (0.3, 0.3)):
        field = relativistic_dirac_field(loss, gamma)
        eig = np.linalg.eigvals(np.asarray(jax.jacobian(field)(jnp.zeros(2, jnp.float32))))
        np.testing.assert_allclose(eig.real, real_part, atol=1e-6)
