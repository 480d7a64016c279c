"""Eigenvalue diagnostics of the game's Jacobian at an evaluation: dense (all eigenvalues) or
iterative (Ritz values from Jacobian-vector products)."""

from __future__ import annotations

import math

import numpy as np

from ganbench.metrics import names as M
from ganbench.metrics.spectrum import batched_arnoldi_ritz, summarize_spectrum


def spectrum_rows(jacobian: np.ndarray, config, program) -> list[tuple[str, float]]:
    """Eigenvalue diagnostics of the game's Jacobian J; see :func:`jacobian_spectrum`."""
    return jacobian_spectrum(jacobian, config, program)[1]


def jacobian_spectrum(
    jacobian: np.ndarray, config, program
) -> tuple[np.ndarray, list[tuple[str, float]]]:
    """The eigenvalues of the game's Jacobian J and their diagnostics (Mescheder et al. 2017,
    section 3): max Re(lambda), max |Im|/|Re|, and the spectral radius of the plain
    gradient-step update map I + diag(h) J with h = lr_g on generator and lr_d on discriminator
    parameters (for adaptive optimisers this is the map of plain steps at those rates, not of
    the optimiser)."""
    # A fresh array: LAPACK's results can depend on the memory alignment of its input, and a
    # slice of the group's stacked Jacobians is aligned differently for different group sizes.
    jac = np.array(jacobian, np.float64, copy=True, order="C")
    if not np.all(np.isfinite(jac)):
        nan = np.full(1, np.nan, np.complex128)
        return nan, eigenvalue_rows(nan, nan)
    h = step_sizes(config, program)
    eigs = np.linalg.eigvals(jac)
    return eigs, eigenvalue_rows(eigs, np.linalg.eigvals(h[:, None] * jac))


def step_sizes(config, program) -> np.ndarray:
    """Per-parameter step sizes (P,): lr_g on the generator's, lr_d on the discriminator's."""
    n_g, n_d = program.n_player_params
    lr_g, lr_d = config.optimizer.lr_g, config.optimizer.lr_d
    return np.concatenate([np.full(n_g, lr_g), np.full(n_d, lr_d)])


def eigenvalue_rows(eigs: np.ndarray, update_eigs: np.ndarray) -> list[tuple[str, float]]:
    """Rows from eigenvalues (or Ritz values) of J and of diag(h) J: the update map
    I + diag(h) J has the eigenvalues 1 + mu."""

    eigs = np.asarray(eigs, np.complex128)
    if not np.all(np.isfinite(eigs)):
        return [(M.JAC_MAX_REAL, math.nan), (M.JAC_IMAG_RATIO, math.nan), (M.JAC_RADIUS, math.nan)]
    summary = summarize_spectrum(eigs, 0.0)
    radius = float(np.max(np.abs(1.0 + np.asarray(update_eigs, np.complex128))))
    return [
        (M.JAC_MAX_REAL, summary["max_real"]),
        (M.JAC_IMAG_RATIO, summary["max_imag_ratio"]),
        (M.JAC_RADIUS, radius),
    ]


def iterative_spectra(
    compiled, state, specs, k: int
) -> list[tuple[np.ndarray, list[tuple[str, float]]]]:
    """Ritz values and spectrum rows of every run of a group from k Arnoldi steps on J and on
    diag(h) J (Jacobian-vector products only; all runs share each device call)."""
    import jax.numpy as jnp

    n = compiled.program.n_params
    r = int(compiled.seeds.shape[0])
    padded = specs + [specs[-1]] * (r - len(specs))
    h = np.stack([step_sizes(spec.config, compiled.program) for spec in padded])
    starts = np.random.default_rng(0).standard_normal((r, n))  # fixed: the same for every run

    def matvec(tangents: np.ndarray) -> np.ndarray:
        tangents = jnp.asarray(tangents, "float32")
        out = compiled.jvp(state, compiled.hparams, compiled.seeds, tangents, compiled.data)
        return np.asarray(out, np.float64)

    ritz = batched_arnoldi_ritz(matvec, starts, k)
    ritz_update = batched_arnoldi_ritz(lambda t: h * matvec(t), starts, k)
    return [(a, eigenvalue_rows(a, b)) for a, b in zip(ritz, ritz_update, strict=True)][
        : len(specs)
    ]
