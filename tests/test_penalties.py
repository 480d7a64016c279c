"""Discriminator penalties against closed forms.

On a linear discriminator D(x) = x @ w + b the input gradient is w at every point, so every
penalty has a closed form in |w| that does not depend on where it is evaluated (interpolates,
perturbed points, real or generated samples). On the quadratic D(x) = 1/2 |x|^2 the input gradient
is x itself, which pins down where each penalty looks.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganbench.objectives import PENALTIES
from ganbench.objectives.penalties import dragan_points

WEIGHT = 0.7
KEY = jax.random.key(0)
REAL = jax.random.normal(jax.random.key(1), (5, 2))
FAKE = 3.0 + 2.0 * jax.random.normal(jax.random.key(2), (5, 2))

# Hand-picked slopes: |(3, 4)| = 5 (above 1), |(0.3, 0.4)| = 0.5 (below 1).
W_STEEP = (3.0, 4.0)
W_FLAT = (0.3, 0.4)

# Penalty value on a linear D as a function of n = |w| and the weight.
LINEAR_ORACLES: dict[str, Callable[[float, float], float]] = {
    "gp": lambda n, weight: weight * (n - 1.0) ** 2,
    "gp_one_sided": lambda n, weight: weight * max(0.0, n - 1.0) ** 2,
    "r1": lambda n, weight: weight / 2.0 * n**2,
    "r2": lambda n, weight: weight / 2.0 * n**2,
    "r1_r2": lambda n, weight: weight / 2.0 * (n**2 + n**2),
    "dragan": lambda n, weight: weight * (n - 1.0) ** 2,
}

# d/dw of the penalty on a linear D, with w the slope vector (numpy) and n = |w|.
LINEAR_GRAD_ORACLES: dict[str, Callable[[np.ndarray, float, float], np.ndarray]] = {
    "gp": lambda w, n, weight: 2.0 * weight * (n - 1.0) * w / n,
    "gp_one_sided": lambda w, n, weight: 2.0 * weight * max(0.0, n - 1.0) * w / n,
    "r1": lambda w, n, weight: weight * w,
    "r2": lambda w, n, weight: weight * w,
    "r1_r2": lambda w, n, weight: 2.0 * weight * w,
    "dragan": lambda w, n, weight: 2.0 * weight * (n - 1.0) * w / n,
}

PENALTY_NAMES = sorted(LINEAR_ORACLES)


def knobs_for(name: str, **overrides: float) -> dict[str, jax.Array]:
    knobs = {k: knob.default for k, knob in PENALTIES.get(name).knobs.items()}
    knobs.update(overrides)
    return {k: jnp.asarray(v, jnp.float32) for k, v in knobs.items()}


def linear_d(w: jax.Array, b: jax.Array):
    return lambda x: x @ w + b


def quadratic_d(x: jax.Array) -> jax.Array:
    return 0.5 * jnp.sum(x**2, axis=1)


def penalty(name: str, d_fn, real=REAL, fake=FAKE, key=KEY, **knobs: float) -> float:
    fn = PENALTIES.get(name).fn
    return float(fn(d_fn, real, fake, key, knobs_for(name, **knobs)))


def test_every_registered_penalty_has_a_linear_oracle():
    """A penalty registered without an entry in the oracle tables fails here."""
    registered = set(PENALTIES.names()) - {"none"}
    assert registered == set(LINEAR_ORACLES)
    assert registered == set(LINEAR_GRAD_ORACLES)
    assert PENALTIES.get("none").fn is None


def test_linear_oracles_hand_values():
    """The oracle table itself, against numbers worked out by hand (weight 0.7)."""
    assert LINEAR_ORACLES["gp"](5.0, WEIGHT) == pytest.approx(11.2)  # 0.7 * 4^2
    assert LINEAR_ORACLES["gp_one_sided"](0.5, WEIGHT) == 0.0
    assert LINEAR_ORACLES["gp"](0.5, WEIGHT) == pytest.approx(0.175)  # 0.7 * 0.5^2
    assert LINEAR_ORACLES["r1"](5.0, WEIGHT) == pytest.approx(8.75)  # 0.35 * 25


@pytest.mark.parametrize("w", [W_STEEP, W_FLAT], ids=["norm5", "norm0.5"])
@pytest.mark.parametrize("name", PENALTY_NAMES)
def test_linear_discriminator_closed_form(name, w):
    n = math.hypot(*w)
    d_fn = linear_d(jnp.array(w), jnp.array(-1.5))
    expected = LINEAR_ORACLES[name](n, WEIGHT)
    for seed in range(3):
        got = penalty(name, d_fn, key=jax.random.key(seed), weight=WEIGHT)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_one_sided_gp_is_zero_below_one_and_two_sided_is_not():
    d_fn = linear_d(jnp.array(W_FLAT), jnp.array(0.0))
    assert penalty("gp_one_sided", d_fn, weight=WEIGHT) == 0.0
    np.testing.assert_allclose(penalty("gp", d_fn, weight=WEIGHT), 0.175, rtol=1e-5)
    d_fn = linear_d(jnp.array(W_STEEP), jnp.array(0.0))
    np.testing.assert_allclose(penalty("gp_one_sided", d_fn, weight=WEIGHT), 11.2, rtol=1e-5)


def test_r1_on_quadratic_discriminator_uses_real_samples_only():
    # grad D(x) = x, so R1 = weight / 2 * mean_i |x_i|^2 = weight / 2 * (25 + 1 + 4) / 3.
    real = jnp.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])
    expected = WEIGHT / 2.0 * 10.0
    for fake in (jnp.zeros((3, 2)), jnp.full((3, 2), 7.0), FAKE[:3]):
        got = penalty("r1", quadratic_d, real=real, fake=fake, weight=WEIGHT)
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_r2_on_quadratic_discriminator_uses_generated_samples_only():
    fake = jnp.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])
    expected = WEIGHT / 2.0 * 10.0
    for real in (jnp.zeros((3, 2)), jnp.full((3, 2), 7.0), REAL[:3]):
        got = penalty("r2", quadratic_d, real=real, fake=fake, weight=WEIGHT)
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_r1_r2_on_quadratic_discriminator_sums_both_sides():
    """R3GAN's Gamma / 2 * (R1 + R2): grad D(x) = x on each side, mean |x|^2 = 10 on the real
    batch and 4 on the generated one."""
    real = jnp.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])
    fake = jnp.array([[0.0, 2.0], [2.0, 0.0], [0.0, 2.0]])
    got = penalty("r1_r2", quadratic_d, real=real, fake=fake, weight=WEIGHT)
    np.testing.assert_allclose(got, WEIGHT / 2.0 * (10.0 + 4.0), rtol=1e-6)


# Points with norms 5, 1 and 0.5: (|p| - 1)^2 = 16, 0, 0.25; one-sided: 16, 0, 0.
POINTS = jnp.array([[3.0, 4.0], [0.6, 0.8], [0.0, 0.5]])


@pytest.mark.parametrize(
    ("name", "mean_sq"), [("gp", (16.0 + 0.0 + 0.25) / 3), ("gp_one_sided", 16.0 / 3)]
)
def test_gradient_penalty_on_quadratic_discriminator_at_coincident_points(name, mean_sq):
    """With real = fake = p every interpolate is p, whatever eps is drawn, and grad D(p) = p."""
    for seed in range(4):
        got = penalty(
            name, quadratic_d, real=POINTS, fake=POINTS, key=jax.random.key(seed), weight=2.0
        )
        np.testing.assert_allclose(got, 2.0 * mean_sq, rtol=1e-5)


def test_dragan_on_quadratic_discriminator_without_perturbation():
    """scale = 0 puts every DRAGAN point on the real sample, where grad D(x) = x."""
    got = penalty("dragan", quadratic_d, real=POINTS, fake=FAKE[:3], weight=2.0, scale=0.0)
    np.testing.assert_allclose(got, 2.0 * (16.0 + 0.0 + 0.25) / 3, rtol=1e-5)


@pytest.mark.parametrize("name", PENALTY_NAMES)
def test_penalties_are_linear_in_the_weight(name):
    w1 = jax.random.normal(jax.random.key(3), (2, 8))
    v = jax.random.normal(jax.random.key(4), (8,))

    def d_fn(x):
        return jnp.tanh(x @ w1) @ v

    once = penalty(name, d_fn, weight=1.3)
    twice = penalty(name, d_fn, weight=2.6)
    assert once > 0.0
    np.testing.assert_allclose(twice, 2.0 * once, rtol=1e-5)


@pytest.mark.parametrize("w", [W_STEEP, W_FLAT], ids=["norm5", "norm0.5"])
@pytest.mark.parametrize("name", PENALTY_NAMES)
def test_penalty_gradient_wrt_discriminator_parameters(name, w):
    fn = PENALTIES.get(name).fn
    knobs = knobs_for(name, weight=WEIGHT)

    def value(w_vec, b):
        return fn(linear_d(w_vec, b), REAL, FAKE, KEY, knobs)

    grad_w, grad_b = jax.grad(value, argnums=(0, 1))(jnp.array(w), jnp.array(0.5))
    w_np = np.array(w)
    expected = LINEAR_GRAD_ORACLES[name](w_np, float(np.linalg.norm(w_np)), WEIGHT)
    np.testing.assert_allclose(grad_w, expected, rtol=1e-5, atol=1e-6)
    assert float(grad_b) == 0.0  # the input gradient does not depend on the bias


def test_r1_gradient_hand_value():
    """d/dw [weight / 2 |w|^2] = weight * w: 0.7 * (3, 4) = (2.1, 2.8)."""
    fn = PENALTIES.get("r1").fn
    grad = jax.grad(
        lambda w: fn(linear_d(w, 0.0), REAL, FAKE, KEY, knobs_for("r1", weight=WEIGHT))
    )(jnp.array(W_STEEP))
    np.testing.assert_allclose(grad, [2.1, 2.8], rtol=1e-6)


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_dragan_points_lie_between_real_and_real_plus_scaled_std(scale):
    real = jax.random.normal(jax.random.key(5), (64, 3)) * jnp.array([[1.0, 5.0, 0.1]])
    points = np.asarray(dragan_points(jax.random.key(6), real, jnp.float32(scale)))
    real_np = np.asarray(real, np.float64)
    reach = scale * np.std(real_np)  # population std over the whole batch
    disp = points - real_np
    assert points.shape == real.shape
    assert np.all(disp >= -1e-6)
    assert np.all(disp <= reach + 1e-5)
    assert np.max(disp) > 0.5 * reach  # the perturbation is not degenerate


def test_dragan_points_use_the_std_of_the_whole_batch():
    """Coordinate 0 is constant (its own std is 0) and coordinate 1 is +-10, so the batch std is
    sqrt(mean(0, 100)) = sqrt(50): a per-coordinate std would leave coordinate 0 in place and let
    coordinate 1 move up to scale * 10."""
    real = jnp.tile(jnp.array([[0.0, 10.0], [0.0, -10.0]]), (32, 1))
    scale = 0.5
    points = np.asarray(dragan_points(jax.random.key(7), real, jnp.float32(scale)))
    disp = points - np.asarray(real)
    reach = scale * math.sqrt(50.0)
    assert np.all(disp >= -1e-6)
    assert np.all(disp <= reach + 1e-5)
    assert np.max(disp[:, 0]) > 0.5 * reach
    assert np.max(disp[:, 1]) <= reach + 1e-5


def test_dragan_points_on_a_constant_batch_are_the_batch():
    real = jnp.full((8, 2), 3.0)
    points = dragan_points(jax.random.key(8), real, jnp.float32(0.5))
    np.testing.assert_array_equal(points, real)
