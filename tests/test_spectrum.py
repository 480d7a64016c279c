"""Jacobian spectrum of a game's vector field against exact oracles.

* A linear game v(x) = A x with A = Q B Q^T, B block diagonal with 2 x 2 rotation-scaling blocks
  [[a, -b], [b, a]] (eigenvalues a +- ib) and 1 x 1 blocks (real eigenvalues), Q a random
  orthogonal matrix: the spectrum of A is that of B, known exactly, and A is normal.
* The Dirac-GAN (Mescheder, Geiger, Nowozin 2018, "Which Training Methods for GANs do actually
  Converge?", section 2.2) built from the library's non-saturating loss and R1 penalty: at the
  equilibrium (0, 0) the Jacobian of v = -grads is [[0, f'(0)], [-f'(0), -gamma]] (rows theta,
  psi) with f'(0) = 1/2, eigenvalues -gamma/2 +- sqrt(gamma^2/4 - 1/4) (section 3, zero-centred
  gradient penalties; +-i/2 without the penalty).
* A symmetric tridiagonal Toeplitz operator (diagonal a, off-diagonals b) applied matrix-free,
  with eigenvalues a + 2 b cos(j pi / (n + 1)), j = 1..n (Noschese, Pasquini, Reichel 2013,
  "Tridiagonal Toeplitz matrices: properties and novel applications", Numer. Linear Algebra
  Appl. 20, section 2).

Eigenvalue lists are compared by an optimal one-to-one matching (Hungarian algorithm on the
distances), which does not depend on how ties in the sort order fall.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from ganbench.metrics.spectrum import (
    arnoldi,
    arnoldi_ritz,
    dense_jacobian,
    dense_spectrum,
    flatten_field,
    iterative_spectrum,
    max_real_part,
    ritz,
    spectral_radius,
    summarize_spectrum,
)
from ganbench.objectives import LOSSES, PENALTIES

# --------------------------------------------------------------------------- helpers


def match_error(got, want) -> float:
    """Largest distance after matching ``got`` to ``want`` one-to-one (same lengths)."""
    got, want = np.asarray(got, np.complex128), np.asarray(want, np.complex128)
    assert got.shape == want.shape
    cost = np.abs(got[:, None] - want[None, :])
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].max())


def assert_sorted(eigs):
    assert eigs.dtype == np.complex128
    assert np.all(np.diff(eigs.real) <= 0.0)


REAL_EIGS = [2.0, -0.3, -1.2, -1.0, 0.5, -0.6]
PAIRS = [(0.2, 0.8), (-0.1, 1.0), (-0.7, 0.4), (0.0, 0.6), (-0.5, 0.3), (-1.0, 0.7), (0.4, 0.2)]
N_G = 8  # the generator holds the first 8 coordinates, the discriminator the other 12


def linear_game() -> tuple[np.ndarray, np.ndarray]:
    """A (20 x 20, float64) and its eigenvalues. The rightmost eigenvalue, 2.0, is well separated:
    every other eigenvalue lies within 1.2 of -0.3, at least 1.5 away from it, so Arnoldi
    converges to it geometrically (about a factor 8 per step here)."""
    blocks = [np.array([[r]]) for r in REAL_EIGS]
    blocks += [np.array([[a, -b], [b, a]]) for a, b in PAIRS]
    n = sum(b.shape[0] for b in blocks)
    mat = np.zeros((n, n))
    i = 0
    for b in blocks:
        m = b.shape[0]
        mat[i : i + m, i : i + m] = b
        i += m
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((n, n)))
    eigs = np.array(REAL_EIGS + [complex(a, s * b) for a, b in PAIRS for s in (1, -1)])
    return q @ mat @ q.T, eigs


def linear_field(mat: np.ndarray):
    """Two players (g: first N_G coordinates, d: the rest) whose joint field is v(x) = A x,
    i.e. whose descent gradients are -(A x) split per player."""

    def field(params):
        g, d = params
        a = jnp.asarray(mat, g.dtype)
        v = a @ jnp.concatenate([g, d])
        return (-v[:N_G], -v[N_G:]), {"unused": 1}

    return field


def linear_params(mat: np.ndarray, dtype):
    x = np.random.default_rng(1).standard_normal(mat.shape[0])
    return (jnp.asarray(x[:N_G], dtype), jnp.asarray(x[N_G:], dtype))


def dirac_field(gamma: float = 0.0):
    """Dirac-GAN players (theta, psi), each shape (1,): the generator's point and D's slope,
    D(x) = psi x, data at 0. Descent gradients: d g_loss / d theta and d (d_loss + R1) / d psi
    with the library's non-saturating loss (f(t) = -log(1 + e^-t), f'(0) = 1/2)."""
    loss = LOSSES.get("non_saturating")
    r1 = PENALTIES.get("r1").fn

    def d_loss(psi, theta):
        def d_fn(x):
            return psi * x[:, 0]

        real = jnp.zeros((1, 1), psi.dtype)
        fake = jnp.reshape(theta, (1, 1))
        out = loss(d_fn(real), d_fn(fake)).d_loss
        if gamma:
            knobs = {"weight": jnp.asarray(gamma, psi.dtype)}
            out = out + r1(d_fn, real, fake, jax.random.key(0), knobs)
        return out

    def g_loss(theta, psi):
        return loss(psi * jnp.zeros((1,), psi.dtype), psi * theta).g_loss

    def field(params):
        theta, psi = params
        return (jax.grad(g_loss)(theta, psi), jax.grad(d_loss)(psi, theta)), None

    return field


def dirac_point(dtype):
    return (jnp.zeros((1,), dtype), jnp.zeros((1,), dtype))


def r1_eigs(gamma: float) -> np.ndarray:
    root = np.sqrt(complex(gamma**2 / 4 - 0.25))
    return np.array([-gamma / 2 + root, -gamma / 2 - root])


# --------------------------------------------------------------------------- flat field


def test_flatten_field_concatenates_players_and_negates_the_descent_gradients():
    mat, _ = linear_game()
    params = linear_params(mat, jnp.float32)
    v_flat, x0 = flatten_field(linear_field(mat), params)
    np.testing.assert_array_equal(x0, np.concatenate([np.asarray(p) for p in params]))
    np.testing.assert_allclose(v_flat(x0), mat @ np.asarray(x0, np.float64), rtol=1e-5, atol=1e-5)


def test_flatten_field_nested_players():
    # Players as dicts of arrays: the flat field is x -> c * x with per-leaf factors, so the
    # Jacobian is diagonal in the ravel order of the parameters.
    params = (
        {"b": jnp.ones((2,)), "w": jnp.ones((2, 3))},
        {"v": jnp.ones((3,))},
    )
    factors = ({"b": 1.0, "w": 2.0}, {"v": 3.0})

    def field(p):
        return jax.tree.map(lambda c, x: -c * x, factors, p), None

    v_flat, x0 = flatten_field(field, params)
    jac = np.asarray(dense_jacobian(v_flat, x0))
    np.testing.assert_array_equal(jac, np.diag([1.0] * 2 + [2.0] * 6 + [3.0] * 3))


def test_flatten_field_rejects_gradients_of_another_structure():
    def field(p):
        return (p[0],), None  # one player's gradients for two players

    v_flat, x0 = flatten_field(field, (jnp.ones((2,)), jnp.ones((3,))))
    with pytest.raises(ValueError, match="structure"):
        v_flat(x0)


# --------------------------------------------------------------------------- linear game


def test_dense_spectrum_of_linear_game_in_float64():
    mat, eigs = linear_game()
    with jax.enable_x64(True):
        v_flat, x0 = flatten_field(linear_field(mat), linear_params(mat, jnp.float64))
        assert x0.dtype == jnp.float64
        jac = np.asarray(dense_jacobian(v_flat, x0))
        got = dense_spectrum(v_flat, x0)
    np.testing.assert_allclose(jac, mat, rtol=0, atol=1e-14)
    assert_sorted(got)
    assert match_error(got, eigs) < 1e-10
    assert got[0] == pytest.approx(2.0, abs=1e-10)


def test_dense_spectrum_of_linear_game_in_float32():
    # A rounded to float32 (relative 6e-8); A is normal, so the eigenvalues move by about as much.
    mat, eigs = linear_game()
    v_flat, x0 = flatten_field(linear_field(mat), linear_params(mat, jnp.float32))
    got = dense_spectrum(v_flat, x0)
    assert_sorted(got)
    err = match_error(got, eigs)
    assert err < 1e-5
    assert err > 1e-12  # really computed in float32: not float64 by accident


def test_iterative_spectrum_with_k_equal_n_recovers_every_eigenvalue():
    mat, eigs = linear_game()
    n = mat.shape[0]
    with jax.enable_x64(True):
        v_flat, x0 = flatten_field(linear_field(mat), linear_params(mat, jnp.float64))
        out = arnoldi_ritz(v_flat, x0, k=n, key=jax.random.key(3))
    assert_sorted(out.values)
    assert match_error(out.values, eigs) < 1e-8
    assert np.all(out.residuals < 1e-8)


def test_iterative_spectrum_with_k_below_n_finds_the_rightmost_eigenvalue():
    mat, eigs = linear_game()
    with jax.enable_x64(True):
        v_flat, x0 = flatten_field(linear_field(mat), linear_params(mat, jnp.float64))
        out = arnoldi_ritz(v_flat, x0, k=12, key=jax.random.key(3))
        # After 3 steps the estimate is still off (error 0.25 from this start), so the k = 12
        # check is not met by any small Krylov space.
        early = iterative_spectrum(v_flat, x0, k=3, key=jax.random.key(3))
    assert out.values.shape == (12,)
    assert max_real_part(out.values) == pytest.approx(2.0, abs=1e-6)  # error about 1e-8
    # A is normal, so (Bauer-Fike) the Ritz value is within its residual of an eigenvalue.
    assert out.residuals[0] < 1e-4
    assert abs(out.values[0] - 2.0) <= out.residuals[0]
    assert abs(max_real_part(early) - 2.0) > 1e-2
    assert max_real_part(eigs) == 2.0


# --------------------------------------------------------------------------- Dirac-GAN


H = 0.1


def test_dirac_gan_eigenvalues_are_purely_imaginary():
    with jax.enable_x64(True):
        v_flat, x0 = flatten_field(dirac_field(), dirac_point(jnp.float64))
        jac = np.asarray(dense_jacobian(v_flat, x0))
        dense = dense_spectrum(v_flat, x0)
        iterative = iterative_spectrum(v_flat, x0, k=2)
    # v = -grads: theta moves with psi/2, psi against theta/2.
    np.testing.assert_allclose(jac, [[0.0, 0.5], [-0.5, 0.0]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(dense, [0.5j, -0.5j], rtol=0, atol=1e-12)
    assert match_error(iterative, [0.5j, -0.5j]) < 1e-12
    summary = summarize_spectrum(dense, H, atol=1e-12)
    assert summary["max_real"] == pytest.approx(0.0, abs=1e-12)
    # |1 +- i h/2| = sqrt(1 + h^2/4): simultaneous steps expand (Mescheder et al. 2017, section 3).
    assert summary["spectral_radius_update"] == pytest.approx(math.sqrt(1 + H**2 / 4), rel=1e-12)
    assert summary["spectral_radius"] == pytest.approx(0.5, rel=1e-12)
    assert summary["max_imag_ratio"] == math.inf
    assert summary["max_stable_step"] == 0.0
    assert summary["n"] == 2


@pytest.mark.parametrize(
    ("gamma", "tol"),
    [
        (0.3, 1e-12),  # complex pair -0.15 +- i sqrt(0.2275)
        # Double root -0.5 with one eigenvector (a Jordan block): any eigensolver resolves it only
        # to about sqrt(eps) = 1.5e-8.
        (1.0, 1e-7),
        (2.0, 1e-12),  # two real roots -1 +- sqrt(3)/2
    ],
)
def test_dirac_gan_with_r1_eigenvalues(gamma, tol):
    want = r1_eigs(gamma)
    with jax.enable_x64(True):
        v_flat, x0 = flatten_field(dirac_field(gamma), dirac_point(jnp.float64))
        jac = np.asarray(dense_jacobian(v_flat, x0))
        dense = dense_spectrum(v_flat, x0)
        iterative = iterative_spectrum(v_flat, x0, k=2)
    np.testing.assert_allclose(jac, [[0.0, 0.5], [-0.5, -gamma]], rtol=0, atol=1e-15)
    assert match_error(dense, want) < tol
    assert match_error(iterative, want) < tol
    summary = summarize_spectrum(dense, H)
    assert summary["max_real"] == pytest.approx(want.real.max(), abs=tol)
    assert summary["max_real"] < 0.0
    expected = np.abs(1 + H * want).max()
    assert summary["spectral_radius_update"] == pytest.approx(expected, abs=tol)
    assert summary["spectral_radius_update"] < 1.0  # R1 makes simultaneous steps contract


def test_dirac_gan_with_r1_largest_stable_step():
    # gamma = 0.3: |lambda|^2 = 0.15^2 + 0.2275 = 1/4, so h_max = 2 |Re| / |lambda|^2 = 1.2; at
    # that step both eigenvalues of I + h J lie on the unit circle, just below it inside.
    with jax.enable_x64(True):
        eigs = dense_spectrum(*flatten_field(dirac_field(0.3), dirac_point(jnp.float64)))
    summary = summarize_spectrum(eigs, 1.2)
    assert summary["max_stable_step"] == pytest.approx(1.2, rel=1e-12)
    assert summary["spectral_radius_update"] == pytest.approx(1.0, rel=1e-12)
    assert summarize_spectrum(eigs, 1.1)["spectral_radius_update"] < 1.0
    assert summarize_spectrum(eigs, 1.3)["spectral_radius_update"] > 1.0
    # |Im| / |Re| = sqrt(0.2275) / 0.15.
    assert summary["max_imag_ratio"] == pytest.approx(math.sqrt(0.2275) / 0.15, rel=1e-12)


def test_dirac_gan_in_float32():
    v_flat, x0 = flatten_field(dirac_field(), dirac_point(jnp.float32))
    assert x0.dtype == jnp.float32
    np.testing.assert_allclose(dense_spectrum(v_flat, x0), [0.5j, -0.5j], atol=1e-7)


# --------------------------------------------------------------------------- matrix-free


def tridiagonal(a: float, b: float):
    """x -> T x for the symmetric tridiagonal Toeplitz T (diagonal a, off-diagonals b), in O(n)
    without forming T; counts how often it is traced."""
    traces = []

    def apply(x):
        traces.append(1)
        zero = jnp.zeros((1,), x.dtype)
        below = jnp.concatenate([zero, x[:-1]])  # x_{i-1}
        above = jnp.concatenate([x[1:], zero])  # x_{i+1}
        return a * x + b * (below + above)

    return apply, traces


def test_iterative_spectrum_is_matrix_free_on_a_large_operator(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the Jacobian must not be materialised")

    for name in ("jacfwd", "jacrev", "jacobian", "hessian"):
        monkeypatch.setattr(jax, name, forbidden)
    n, a, b, k = 5000, -1.0, 0.5, 60
    apply, traces = tridiagonal(a, b)
    x0 = jnp.zeros((n,), jnp.float32)
    out = arnoldi_ritz(apply, x0, k=k, key=jax.random.key(1))
    assert len(traces) == 1  # one jitted Jacobian-vector product, traced once for all k steps
    assert out.values.shape == (k,)
    # Eigenvalues a + 2b cos(j pi / (n + 1)) fill (-2, 0) densely (gap 1e-6 at the ends), so
    # Lanczos converges only algebraically; after 60 steps the extreme Ritz values are within
    # about 3e-4 of the extreme eigenvalues.
    top = a + 2 * b * math.cos(math.pi / (n + 1))
    bottom = a - 2 * b * math.cos(math.pi / (n + 1))
    assert abs(max_real_part(out.values) - top) < 1e-3
    assert abs(spectral_radius(out.values) - abs(bottom)) < 1e-3
    # T is symmetric: Ritz values are real and interlace, so they cannot pass the extremes
    # (up to float32 products).
    assert np.all(out.values.imag == 0.0)
    assert max_real_part(out.values) <= top + 1e-5
    assert out.values.real.min() >= bottom - 1e-5


# --------------------------------------------------------------------------- Arnoldi core


def test_arnoldi_hessenberg_and_one_product_per_step():
    rng = np.random.default_rng(5)
    mat = rng.standard_normal((12, 12))
    calls = []

    def matvec(x):
        calls.append(1)
        return mat @ x

    hess = arnoldi(matvec, rng.standard_normal(12), k=7)
    assert len(calls) == 7
    assert hess.shape == (8, 7)
    assert np.all(np.tril(hess, -2) == 0.0)  # upper Hessenberg
    assert np.all(np.diag(hess, -1) > 0.0)
    full = arnoldi(lambda x: mat @ x, rng.standard_normal(12), k=50)  # k is capped at n
    assert full.shape == (13, 12)
    assert match_error(ritz(full).values, np.linalg.eigvals(mat)) < 1e-10


def test_arnoldi_stops_on_an_invariant_subspace():
    # The start is a combination of two eigenvectors of diag(1..6): the Krylov space has
    # dimension 2, the iteration stops after 2 steps, and both Ritz pairs are exact.
    mat = np.diag(np.arange(1.0, 7.0))
    start = np.array([0.0, 1.0, 0.0, 0.0, 2.0, 0.0])
    hess = arnoldi(lambda x: mat @ x, start, k=6)
    assert hess.shape == (3, 2)
    out = ritz(hess)
    np.testing.assert_allclose(out.values, [5.0, 2.0], rtol=1e-14)
    np.testing.assert_array_equal(out.residuals, [0.0, 0.0])


def test_arnoldi_rejects_bad_input():
    with pytest.raises(ValueError, match="k must be"):
        arnoldi(lambda x: x, np.ones(3), k=0)
    with pytest.raises(ValueError, match="non-zero"):
        arnoldi(lambda x: x, np.zeros(3), k=2)


# --------------------------------------------------------------------------- summaries


def test_summarize_spectrum_hand_made():
    eigs = np.array([-1 + 2j, -1 - 2j, -3.0, -0.25])
    s = summarize_spectrum(eigs, 0.5)
    assert s["max_real"] == -0.25
    assert s["max_imag_ratio"] == 2.0  # real eigenvalues count 0
    assert s["spectral_radius"] == 3.0
    # |1 + 0.5 lambda|: |0.5 +- i| = sqrt(1.25), |-0.5| = 0.5, |0.875| = 0.875.
    assert s["spectral_radius_update"] == pytest.approx(math.sqrt(1.25), rel=1e-15)
    # 2 |Re| / |lambda|^2: 2/5 = 0.4, 6/9, 0.5/0.0625 = 8 -> 0.4.
    assert s["max_stable_step"] == pytest.approx(0.4, rel=1e-15)
    assert s["n"] == 4


def test_summarize_spectrum_imaginary_ratio_edge_cases():
    assert summarize_spectrum(np.array([0.0, -1.0]), 0.1)["max_imag_ratio"] == 0.0
    assert summarize_spectrum(np.array([0.0 + 1.0j, 0.0 - 1.0j]), 0.1)["max_imag_ratio"] == math.inf
    rounding = np.array([1e-17 + 1.0j, 1e-17 - 1.0j])
    assert summarize_spectrum(rounding, 0.1)["max_imag_ratio"] == pytest.approx(1e17)
    assert summarize_spectrum(rounding, 0.1, atol=1e-12)["max_imag_ratio"] == math.inf
    assert summarize_spectrum(np.array([0.0]), 0.1)["max_stable_step"] == 0.0
    with pytest.raises(ValueError):
        summarize_spectrum(np.array([]), 0.1)


def test_non_finite_jacobian_gives_nan():
    def field(p):
        return (p[0] * jnp.nan, p[1]), None

    params = (jnp.ones((2,)), jnp.ones((1,)))
    v_flat, x0 = flatten_field(field, params)
    dense = dense_spectrum(v_flat, x0)
    assert dense.shape == (3,) and np.all(np.isnan(dense))
    out = arnoldi_ritz(v_flat, x0, k=3)
    assert np.all(np.isnan(out.values)) and np.all(np.isnan(out.residuals))
    s = summarize_spectrum(dense, 0.1)
    assert s["n"] == 3
    assert all(math.isnan(v) for key, v in s.items() if key != "n")
