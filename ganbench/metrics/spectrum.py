"""Eigenvalues of the Jacobian of a two-player game's gradient vector field.

Mescheder, Nowozin and Geiger 2017 ("The Numerics of GANs", NeurIPS; section 2 for the field,
section 3 for the convergence theory) study the gradient vector field ``v`` of a smooth
two-player game, the direction in which simultaneous gradient steps move the players' parameters,
and show that local convergence near a stationary point is decided by the eigenvalues of its
Jacobian ``J = v'``: a simultaneous step of size ``h`` is the map ``x -> x + h v(x)`` with
Jacobian ``I + h J``, which is a local contraction when every ``|1 + h lambda| < 1``. Eigenvalues
with zero real part, or with an imaginary part large relative to the real part, force small steps
or prevent convergence altogether. Mescheder, Geiger and Nowozin 2018 ("Which Training Methods
for GANs do actually Converge?", ICML; section 2.2) give the Dirac-GAN, whose Jacobian at the
equilibrium has the purely imaginary eigenvalues ``+-f'(0) i``, and show (section 3, on
zero-centred gradient penalties) that such a penalty of weight gamma moves them to
``-gamma/2 +- sqrt(gamma^2/4 - f'(0)^2)``.

In ``ganbench.train.schemes`` a game is ``field(params) -> (grads, aux)`` with ``params`` a tuple
with one pytree per player and ``grads`` each player's *descent* gradient. The papers' field is
the direction the players move, ``v = -grads``, and everything here is about ``J = dv/dparams``.
The spectrum only speaks about local convergence at (or near) a stationary point ``v = 0``;
elsewhere it describes the linearised dynamics at that point and nothing more.

Two ways to get eigenvalues:

* :func:`dense_spectrum` builds the whole ``n x n`` Jacobian with forward-mode autodiff and
  diagonalises it on the host in float64 (``O(n^2)`` memory, ``O(n^3)`` time: small models).
* :func:`iterative_spectrum` runs ``k`` steps of the Arnoldi iteration (Arnoldi 1951), which only
  needs Jacobian-vector products (``jax.jvp``), never the matrix, and returns Ritz values, which
  approximate the eigenvalues at the edge of the spectrum (see its docstring for the caveats).

Precision: the Jacobian (or each product with it) is computed in the dtype of the parameters,
float32 by default. For float64, enable 64-bit JAX and pass float64 parameters, e.g.
``with jax.enable_x64(True): dense_spectrum(*flatten_field(field, params64))`` (this JAX spells
the context manager ``jax.enable_x64``; older releases had ``jax.experimental.enable_x64``). The
eigenvalue computations themselves always run on the host in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

FlatField = Callable[[jax.Array], jax.Array]
"""The gradient vector field on the flat parameter vector: x (n,) -> v(x) (n,)."""


# --------------------------------------------------------------------------- the flat field


def flatten_field(
    field: Callable[[Any], tuple[Any, Any]], params: Any
) -> tuple[FlatField, jax.Array]:
    """The game's vector field as a function of one flat parameter vector.

    Args:
      field: ``params -> (grads, aux)`` as in ``ganbench.train.schemes``: ``grads`` holds each
        player's descent gradient with the structure of ``params``; ``aux`` is dropped.
      params: the point, a tuple with one pytree per player.

    Returns:
      ``(v_flat, x0)``: ``x0`` is ``params`` flattened with ``jax.flatten_util.ravel_pytree``
      (players in order, leaves in pytree order) and ``v_flat(x) = -ravel(grads(unravel(x)))``,
      the gradient vector field of Mescheder et al. 2017 (section 2), the direction simultaneous
      gradient descent moves. Its Jacobian at ``x0`` is the ``J`` whose eigenvalues this module
      computes.

    ``v_flat`` accepts a vector of another floating dtype than ``x0`` when all leaves of
    ``params`` share one dtype (``ravel_pytree`` then leaves the dtype alone), so a float32 point
    can be evaluated in float64 under ``jax.enable_x64(True)``.
    """
    x0, unravel = ravel_pytree(params)
    structure = jax.tree.structure(params)

    def v_flat(x: jax.Array) -> jax.Array:
        grads, _ = field(unravel(x))
        if jax.tree.structure(grads) != structure:
            raise ValueError(
                "the field's gradients must have the structure of the parameters; got "
                f"{jax.tree.structure(grads)} for parameters {structure}"
            )
        flat, _ = ravel_pytree(grads)
        return -flat

    return v_flat, x0


def _sorted(eigs: np.ndarray) -> np.ndarray:
    """Sorted by real part, descending; ties (conjugate pairs) by imaginary part, descending."""
    eigs = np.asarray(eigs, np.complex128)
    return eigs[np.lexsort((-eigs.imag, -eigs.real))]


# --------------------------------------------------------------------------- dense


def dense_jacobian(v_flat: FlatField, x0: jax.Array) -> jax.Array:
    """The ``n x n`` Jacobian ``J[i, j] = d v_i / d x_j`` at ``x0``, by forward mode
    (``jax.jacfwd``: ``n`` Jacobian-vector products, batched, compiled as one program), in the
    dtype of ``x0``."""
    x0 = jnp.asarray(x0)
    if x0.ndim != 1:
        raise ValueError(f"expected a flat parameter vector, got shape {x0.shape}")
    return jax.jit(jax.jacfwd(v_flat))(x0)


def dense_spectrum(v_flat: FlatField, x0: jax.Array) -> np.ndarray:
    """All ``n`` eigenvalues of the Jacobian at ``x0``, complex128, sorted by real part
    (descending; a conjugate pair as ``a + bi`` then ``a - bi``).

    The Jacobian comes from :func:`dense_jacobian` (in the dtype of ``x0``: pass float64 under
    ``jax.enable_x64(True)`` for a float64 Jacobian); its float64 copy is diagonalised on the
    host with ``numpy.linalg.eigvals`` (LAPACK ``geev``). Real eigenvalues come back with an
    imaginary part of exactly 0. A repeated eigenvalue with a single eigenvector (a Jordan block)
    is only resolved to about ``sqrt(eps)`` relative accuracy, as for any dense eigensolver. A
    Jacobian with a NaN or infinity (a diverged point) gives ``n`` NaN eigenvalues.
    """
    jac = np.asarray(dense_jacobian(v_flat, x0), np.float64)
    if not np.all(np.isfinite(jac)):
        return np.full(jac.shape[0], np.nan, np.complex128)
    return _sorted(np.linalg.eigvals(jac))


# --------------------------------------------------------------------------- iterative


class Ritz(NamedTuple):
    """Ritz values of a Krylov projection and their residual norms."""

    values: np.ndarray
    """Ritz values (eigenvalues of the Arnoldi Hessenberg matrix), complex128, sorted by real part
    descending."""
    residuals: np.ndarray
    """``|J u - theta u|`` for the unit Ritz vector ``u`` of each value (same order), float64: 0
    means the pair is exact. For a normal ``J`` some eigenvalue lies within the residual of the
    Ritz value (the residual form of Bauer and Fike 1960, "Norms and exclusion theorems", Numer.
    Math. 2); for a non-normal ``J`` a small residual guarantees much less."""


def arnoldi(
    matvec: Callable[[np.ndarray], np.ndarray], start: np.ndarray, k: int, tol: float = 1e-12
) -> np.ndarray:
    """``k`` steps of the Arnoldi iteration on the host, in float64.

    Builds an orthonormal basis ``q_1..q_{m+1}`` of the Krylov space spanned by ``start``,
    ``A start``, ... and the ``(m + 1) x m`` upper Hessenberg matrix ``H`` with
    ``A Q_m = Q_{m+1} H`` (Arnoldi 1951; the modified Gram-Schmidt form of Saad's section 7.5 in
    Bai et al., eds., 2000, "Templates for the Solution of Algebraic Eigenvalue Problems").
    Each new vector is orthogonalised against the basis twice (one modified Gram-Schmidt pass
    and one re-orthogonalisation pass, adding both passes' coefficients to ``H``), which keeps the
    basis orthogonal to working precision ("twice is enough": Giraud, Langou and Rozloznik 2005,
    "The loss of orthogonality in the Gram-Schmidt orthogonalization process", Comput. Math.
    Appl. 50, the results for Gram-Schmidt with one reorthogonalisation; the step itself is that
    of Daniel, Gragg, Kaufman and Stewart 1976, Math. Comp. 30).

    The iteration stops early (``m < k``) when the new vector's norm falls to ``tol`` times the
    norm of ``A q_j``: the Krylov space is then invariant under ``A`` (up to ``tol``) and the
    Ritz values are its exact eigenvalues; the last row of ``H`` is then zero.

    Args:
      matvec: ``x -> A x`` on float64 vectors of length ``n``.
      start: the starting vector (any non-zero vector; it is normalised).
      k: the number of steps, ``1 <= k``; at most ``n`` are taken.
      tol: relative breakdown tolerance.

    Returns:
      ``H``, float64, shape ``(m + 1, m)`` with ``m <= min(k, n)``.
    """
    q = np.asarray(start, np.float64).reshape(-1)
    n = q.shape[0]
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    norm = float(np.linalg.norm(q))
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError("the starting vector must be finite and non-zero")
    k = min(k, n)
    basis = np.zeros((k + 1, n))
    hess = np.zeros((k + 1, k))
    basis[0] = q / norm
    for j in range(k):
        w = np.array(matvec(basis[j]), np.float64).reshape(-1)  # a writable copy
        scale = float(np.linalg.norm(w))
        if not np.isfinite(scale):
            hess[: j + 2, j] = np.nan
            return hess[: j + 2, : j + 1]
        for _ in range(2):  # modified Gram-Schmidt, then once more against the same basis
            for i in range(j + 1):
                c = float(basis[i] @ w)
                hess[i, j] += c
                w -= c * basis[i]
        h_next = float(np.linalg.norm(w))
        if h_next <= tol * scale:
            return hess[: j + 2, : j + 1]  # invariant subspace: the last row stays 0
        hess[j + 1, j] = h_next
        basis[j + 1] = w / h_next
    return hess


def ritz(hess: np.ndarray) -> Ritz:
    """Ritz values of an Arnoldi Hessenberg matrix ``H`` (``(m + 1) x m``) and their residuals.

    The values are the eigenvalues of the square part ``H_m``; for an eigenpair ``H_m y = theta y``
    with ``|y| = 1`` the Ritz vector ``u = Q_m y`` has residual ``|A u - theta u| =
    |h_{m+1,m}| |y_m|`` (Bai et al., eds., 2000, section 7.5.1), computed without touching ``A``.
    """
    hess = np.asarray(hess, np.float64)
    m = hess.shape[1]
    square = hess[:m, :m]
    if not np.all(np.isfinite(hess)):
        nan = np.full(m, np.nan)
        return Ritz(nan.astype(np.complex128), nan)
    values, vectors = np.linalg.eig(square)
    residuals = abs(hess[m, m - 1]) * np.abs(vectors[m - 1, :])
    order = np.lexsort((-values.imag, -values.real))
    return Ritz(values[order].astype(np.complex128), residuals[order].astype(np.float64))


def jvp_operator(v_flat: FlatField, x0: jax.Array) -> Callable[[np.ndarray], np.ndarray]:
    """``t -> J t`` at ``x0`` on host float64 vectors, with ``J`` never formed.

    One ``jax.jit``-compiled ``jax.jvp`` of ``v_flat`` (traced once; ``x0`` is an argument, not a
    baked-in constant). Each tangent is cast to the dtype of ``x0`` before the product, so the
    products have that precision.
    """
    x0 = jnp.asarray(x0)
    if x0.ndim != 1:
        raise ValueError(f"expected a flat parameter vector, got shape {x0.shape}")
    product = jax.jit(lambda x, t: jax.jvp(v_flat, (x,), (t,))[1])

    def matvec(t: np.ndarray) -> np.ndarray:
        return np.asarray(product(x0, jnp.asarray(t, x0.dtype)), np.float64)

    return matvec


def arnoldi_ritz(
    v_flat: FlatField, x0: jax.Array, k: int = 30, key: jax.Array | None = None
) -> Ritz:
    """Ritz values (and residuals) of ``k`` Arnoldi steps on the Jacobian at ``x0``, matrix-free.

    Only Jacobian-vector products are used (:func:`jvp_operator`, one per step); the basis lives on
    the host in float64, ``(k + 1) n`` numbers. The starting vector is standard normal from
    ``key`` (default ``jax.random.key(0)``). See :func:`iterative_spectrum` for what the values
    approximate and the caveats.
    """
    x0 = jnp.asarray(x0)
    if key is None:
        key = jax.random.key(0)
    start = np.asarray(jax.random.normal(key, x0.shape, x0.dtype), np.float64)
    tol = 10.0 * float(jnp.finfo(x0.dtype).eps)
    return ritz(arnoldi(jvp_operator(v_flat, x0), start, k, tol))


def iterative_spectrum(
    v_flat: FlatField, x0: jax.Array, k: int = 30, key: jax.Array | None = None
) -> np.ndarray:
    """Ritz values of the Jacobian at ``x0`` from ``k`` Arnoldi steps, using only ``jax.jvp``.

    Returns ``min(k, n)`` (fewer on an early, exact breakdown) complex128 values sorted by real
    part, descending. With ``k = n`` they are all eigenvalues, up to rounding. With ``k < n`` they
    are eigenvalues of the projection of ``J`` onto the Krylov space of the random start
    (Arnoldi 1951; Bai et al., eds., 2000, "Templates for the Solution of Algebraic Eigenvalue
    Problems", section 7.5), which converge first to eigenvalues on the outer edge of the
    spectrum that are well separated from the rest: the rightmost one (largest real part, see
    :func:`max_real_part`) and the one of largest modulus (:func:`spectral_radius`), when they
    are isolated. Caveats:

    * Ritz values are not bounds. For a symmetric ``J`` they lie inside ``[lambda_min,
      lambda_max]`` (Cauchy interlacing), so the largest is a lower bound on the largest
      eigenvalue; for a non-symmetric (GAN) Jacobian they lie in its field of values, which can
      stick out of the convex hull of the spectrum, so the rightmost Ritz value can lie to the
      right of every eigenvalue (strongly non-normal ``J``).
    * Eigenvalues inside a cluster, or near the imaginary axis when ``J`` has eigenvalues of much
      larger modulus, converge slowly; Krylov spaces are invariant under shifts ``J -> J + c I``,
      so shifting (e.g. iterating on ``I + h J`` instead) does not help. Check
      :attr:`Ritz.residuals` from :func:`arnoldi_ritz` and increase ``k``.
    * The products run in the dtype of ``x0``; in float32 expect eigenvalue errors of about
      ``1e-7 |J|`` or more, whatever ``k``.

    Cost: ``k`` products with ``J`` (each a forward-over-reverse pass, a small multiple of one
    evaluation of the field) and ``O(k^2 n)`` host work for the orthogonalisation.
    """
    return arnoldi_ritz(v_flat, x0, k, key).values


# --------------------------------------------------------------------------- summaries


def max_real_part(eigs: np.ndarray) -> float:
    """``max Re lambda``: positive means the linearised dynamics are unstable at any step size,
    zero means no step size makes them contracting (Mescheder et al. 2017, section 3)."""
    eigs = np.asarray(eigs)
    if eigs.size == 0:
        raise ValueError("no eigenvalues")
    return float(np.max(eigs.real))


def spectral_radius(eigs: np.ndarray) -> float:
    """``max |lambda|`` (of Ritz values: the largest-modulus estimate, see
    :func:`iterative_spectrum`)."""
    eigs = np.asarray(eigs)
    if eigs.size == 0:
        raise ValueError("no eigenvalues")
    return float(np.max(np.abs(eigs)))


def _imag_ratios(eigs: np.ndarray, atol: float) -> np.ndarray:
    re = np.abs(eigs.real)
    im = np.abs(eigs.imag)
    re = np.where(re <= atol, 0.0, re)
    im = np.where(im <= atol, 0.0, im)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(im == 0.0, 0.0, np.where(re == 0.0, np.inf, im / re))
    return np.where(np.isnan(eigs.real) | np.isnan(eigs.imag), np.nan, ratio)


def summarize_spectrum(eigs: np.ndarray, step_size: float, atol: float = 0.0) -> dict[str, float]:
    """Scalars that decide local convergence of simultaneous gradient steps of size ``h``.

    With ``h = step_size`` (Mescheder et al. 2017, section 3: the update ``x -> x + h v(x)`` has
    Jacobian ``I + h J``, a local contraction when all its eigenvalues ``1 + h lambda`` lie in the
    open unit disc; and, for ``Re lambda < 0``, ``|1 + h lambda| < 1`` iff
    ``h < 2 / (|Re lambda| (1 + (Im lambda / Re lambda)^2))``, the bound that makes a large
    ``|Im| / |Re|`` force small steps):

    * ``max_real``: ``max Re lambda``.
    * ``max_imag_ratio``: ``max |Im lambda| / |Re lambda|``; a real eigenvalue contributes 0 (also
      ``lambda = 0``) and a purely imaginary one ``inf``. Parts with ``|.| <= atol`` count as 0
      (``atol = 0`` by default: a rounding-level real part such as 1e-17 gives a huge finite
      ratio, not ``inf``).
    * ``spectral_radius``: ``max |lambda|``.
    * ``spectral_radius_update``: ``max |1 + h lambda|``, the spectral radius of ``I + h J``; below 1
      the simultaneous update converges locally (near a stationary point), above 1 it diverges.
    * ``max_stable_step``: the supremum of the step sizes with ``max |1 + h lambda| < 1``,
      ``min 2 |Re lambda| / |lambda|^2`` over the eigenvalues (the same bound), 0 when some
      ``Re lambda >= 0`` (no step size contracts).
    * ``n``: the number of eigenvalues summarised.

    NaN eigenvalues (a diverged point) make every entry but ``n`` NaN.
    """
    eigs = np.asarray(eigs, np.complex128).reshape(-1)
    if eigs.size == 0:
        raise ValueError("no eigenvalues")
    h = float(step_size)
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.where(eigs.real < 0.0, -2.0 * eigs.real / np.abs(eigs) ** 2, 0.0)
    steps = np.where(np.isnan(eigs.real) | np.isnan(eigs.imag), np.nan, steps)
    return {
        "max_real": max_real_part(eigs),
        "max_imag_ratio": float(np.max(_imag_ratios(eigs, atol))),
        "spectral_radius": spectral_radius(eigs),
        "spectral_radius_update": float(np.max(np.abs(1.0 + h * eigs))),
        "max_stable_step": float(np.min(steps)),
        "n": int(eigs.size),
    }


def batched_arnoldi_ritz(
    matvec: Callable[[np.ndarray], np.ndarray], starts: np.ndarray, k: int
) -> list[np.ndarray]:
    """Ritz values of ``k`` Arnoldi steps for R operators at once (one per row of ``starts``).

    ``matvec`` maps a batch of vectors (R, n) to the batch of products (R, n), row r with
    operator r, so R runs of a vmapped program share each device call. Modified Gram-Schmidt
    with one re-orthogonalisation pass, in float64 on the host, as :func:`arnoldi`; ``k`` is
    capped at ``n``. A row whose Krylov space becomes invariant keeps its exact Ritz values
    (later columns of its Hessenberg matrix are left at 0 and dropped).
    """
    starts = np.asarray(starts, np.float64)
    if starts.ndim != 2:
        raise ValueError(f"starts must be (R, n), got shape {starts.shape}")
    r, n = starts.shape
    k = max(1, min(int(k), n))
    basis = np.zeros((r, k + 1, n))
    hess = np.zeros((r, k + 1, k))
    basis[:, 0] = starts / np.linalg.norm(starts, axis=1, keepdims=True)
    size = np.full(r, k)
    for j in range(k):
        w = np.asarray(matvec(basis[:, j]), np.float64)
        for _ in range(2):  # modified Gram-Schmidt, then one re-orthogonalisation pass
            for i in range(j + 1):
                h = np.sum(basis[:, i] * w, axis=1)
                hess[:, i, j] += h
                w -= h[:, None] * basis[:, i]
        norm = np.linalg.norm(w, axis=1)
        hess[:, j + 1, j] = norm
        tiny = norm <= 1e-12 * np.maximum(1.0, np.abs(hess[:, : j + 1, j]).max(axis=1))
        size = np.where(tiny & (size == k), j + 1, size)
        basis[:, j + 1] = np.where(tiny[:, None], 0.0, w / np.where(tiny, 1.0, norm)[:, None])
    return [_sorted(np.linalg.eigvals(hess[i, : size[i], : size[i]])) for i in range(r)]


__all__ = [
    "Ritz",
    "arnoldi",
    "arnoldi_ritz",
    "batched_arnoldi_ritz",
    "dense_jacobian",
    "dense_spectrum",
    "flatten_field",
    "iterative_spectrum",
    "jvp_operator",
    "max_real_part",
    "ritz",
    "spectral_radius",
    "summarize_spectrum",
]
