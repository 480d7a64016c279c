"""Training schemes inside the engine, checked against their definitions: EMA recurrence,
instance-noise schedule, unrolling (k = 0 is the plain GAN; unrolling changes only G's step),
PacGAN packing, weight clipping."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganbench.config import load_suite
from ganbench.config.expand import hparams_of, static_key, structure_of
from ganbench.train.engine import Program

BASE = """
[[variants]]
name = "v"
loss = "{loss}"
{body}
"""


def program_of(write_suite, body: str, name: str = "suite.toml", loss: str = "non_saturating"):
    suite = load_suite(write_suite(BASE.format(body=body, loss=loss), name=name), seeds=1)
    spec = suite.runs[0]
    program = Program(structure_of(spec.config), eval_every=spec.eval_every, samples=64)
    return program, hparams_of(spec.config, spec.steps), spec


def run_steps(program: Program, hp, n: int, seed: int = 0):
    state = jax.jit(program.init)(jnp.int32(seed), hp)
    step = jax.jit(program.train_step)
    states = [state]
    for _ in range(n):
        state, _ = step(state, hp)
        states.append(state)
    return states


def test_ema_follows_its_recurrence_from_start(write_suite):
    program, hp, _ = program_of(write_suite, "ema = { decay = 0.5, start = 2 }")
    states = run_steps(program, hp, 5)
    # e_0 = w_0; e_t = b_t e_(t-1) + (1 - b_t) w_t with b_t = 0.5 once t > start, else 0.
    expected = jax.tree.map(np.asarray, states[0].g_params)
    for t in range(1, 6):
        beta = 0.5 if t > 2 else 0.0
        expected = jax.tree.map(
            lambda e, w, b=beta: b * e + (1 - b) * np.asarray(w), expected, states[t].g_params
        )
        got = states[t].g_ema
        for e, g in zip(jax.tree.leaves(expected), jax.tree.leaves(got), strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    # After the start the average lags the weights.
    leaf = jax.tree.leaves(states[5].g_params)[0]
    assert not np.allclose(jax.tree.leaves(states[5].g_ema)[0], leaf)


def test_ema_evaluation_uses_the_averaged_generator(write_suite):
    program, hp, _ = program_of(write_suite, "ema = { decay = 0.0 }")
    state = run_steps(program, hp, 2)[-1]
    out = jax.jit(program.evaluate)(state, jnp.int32(0))
    np.testing.assert_allclose(out["ema"], out["fake"], rtol=1e-6)  # decay 0: EMA = weights
    assert set(out) == {"fake", "real", "ema"}


@pytest.mark.parametrize(("step", "factor"), [(0, 1.0), (50, 0.5), (100, 0.0), (150, 0.0)])
def test_instance_noise_anneals_linearly(write_suite, step, factor):
    program, hp, spec = program_of(write_suite, "instance_noise = { std = 2.0, anneal = 5.0 }")
    assert float(hp.scheme["noise_anneal_steps"]) == 5.0 * spec.steps == 100.0
    x = jnp.zeros((20_000, 2), jnp.float32)
    noisy = np.asarray(program._noisy(x, jax.random.key(0), hp, jnp.int32(step)))
    # 40k draws: the sample std is within 1.5% of sigma with overwhelming probability.
    assert np.std(noisy) == pytest.approx(2.0 * factor, rel=0.015, abs=1e-7)


def test_constant_instance_noise(write_suite):
    program, hp, _ = program_of(write_suite, "instance_noise = { std = 0.5, anneal = 0 }")
    x = jnp.zeros((20_000, 2), jnp.float32)
    noisy = np.asarray(program._noisy(x, jax.random.key(1), hp, jnp.int32(10**6)))
    assert np.std(noisy) == pytest.approx(0.5, rel=0.015)


def test_unroll_zero_is_the_plain_gan(write_suite):
    plain, hp, spec = program_of(write_suite, "")
    zero, hp0, spec0 = program_of(write_suite, "unroll = 0", name="zero.toml")
    assert static_key(spec.config) == static_key(spec0.config)
    assert spec.run_id == spec0.run_id
    a, b = run_steps(plain, hp, 3)[-1], run_steps(zero, hp0, 3)[-1]
    for x, y in zip(jax.tree.leaves(a.g_params), jax.tree.leaves(b.g_params), strict=True):
        np.testing.assert_array_equal(x, y)


def test_unrolling_changes_only_the_generator_step(write_suite):
    plain, hp, _ = program_of(write_suite, "")
    unrolled, hpu, _ = program_of(write_suite, "unroll = 3", name="unrolled.toml")
    (p0, p1), (u0, u1) = run_steps(plain, hp, 1), run_steps(unrolled, hpu, 1)
    for x, y in zip(jax.tree.leaves(p0.g_params), jax.tree.leaves(u0.g_params), strict=True):
        np.testing.assert_array_equal(x, y)  # same initialisation
    # D's own update is the plain one: the unrolled steps are only G's lookahead.
    for x, y in zip(jax.tree.leaves(p1.d_params), jax.tree.leaves(u1.d_params), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)

    # G's gradient goes through the unrolled updates, so it differs. Adam's first step is
    # sign-like, so compare the gradients themselves: after one step from a zero first moment,
    # Adam holds mu_1 = (1 - b1) g_1, the step's gradient (the same D update in both, above).
    a, b = _adam_first_moment(p1.g_opt), _adam_first_moment(u1.g_opt)
    num = sum(float(np.sum((x - y) ** 2)) for x, y in zip(a, b, strict=True))
    den = sum(float(np.sum(x**2)) for x in a)
    assert den > 0 and np.sqrt(num / den) > 1e-3


def _adam_first_moment(opt_state) -> list:
    """The leaves of Adam's first moment (``mu``) in an optimiser state."""
    flat = jax.tree_util.tree_flatten_with_path(opt_state)[0]
    found = [leaf for path, leaf in flat if ".mu" in jax.tree_util.keystr(path)]
    assert found, "no Adam first moment in the optimiser state"
    return found


def test_unrolled_discriminator_depends_on_the_generator(write_suite):
    program, hp, _ = program_of(write_suite, "unroll = 2")
    state = jax.jit(program.init)(jnp.int32(0), hp)

    def unrolled_out(g_params):
        d, s = program.unrolled(
            state.d_params, state.d_stats, state.d_opt, g_params, state.g_stats,
            jax.random.key(3), hp, state.step,
        )  # fmt: skip
        return jnp.sum(program.d_apply(d, s, jnp.ones((4, 2), jnp.float32)))

    grads = jax.grad(unrolled_out)(state.g_params)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    assert max(float(np.max(np.abs(g))) for g in jax.tree.leaves(grads)) > 0


def test_pack_concatenates_consecutive_samples(write_suite):
    program, hp, _ = program_of(write_suite, "pack = 3")
    x = jnp.arange(12.0).reshape(6, 2)
    np.testing.assert_array_equal(
        program.pack_samples(x), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    )
    state = jax.jit(program.init)(jnp.int32(0), hp)
    first = jax.tree.leaves(state.d_params["dense_0"])  # the input layer sees 3 samples of R^2
    assert any(leaf.shape == (6, 16) for leaf in first)


def test_weight_clipping_bounds_every_discriminator_weight(write_suite):
    program, hp, _ = program_of(write_suite, "clip = 0.02", loss="wasserstein_clip")
    for state in run_steps(program, hp, 2):
        for leaf in jax.tree.leaves(state.d_params):
            assert float(np.max(np.abs(leaf))) <= 0.02 + 1e-9


def test_blocked_jacobian_equals_jacfwd(write_suite):
    """The engine computes dense Jacobians a block of columns at a time; one block of every
    column, and blocks that do not divide the parameter count, give jacfwd's matrix."""
    program, hp, _ = program_of(write_suite, "")
    state = jax.jit(program.init)(jnp.int32(0), hp)
    seed = jnp.int32(0)
    v_flat, x0 = program._flat_field(state, hp, seed)
    expected = np.asarray(jax.jit(jax.jacfwd(v_flat))(x0))
    n = x0.shape[0]
    assert n > 100
    for block in (n, 31):
        program.jac_block = block
        got = np.asarray(jax.jit(program.jacobian)(state, hp, seed))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_sub_chunks_merge_to_the_chunk(write_suite):
    """Running a chunk as loop-free sub-chunks (image programs on CPU) gives the same state and
    statistics as one scanned chunk."""
    from ganbench.train.engine import merge_chunk_stats

    _, hp, spec = program_of(write_suite, "")
    # Four steps per evaluation, as two unrolled sub-chunks of two (each unrolled step is
    # compiled on its own: the suite's ten steps would compile five).
    program = Program(structure_of(spec.config), eval_every=4, samples=64)
    state = jax.jit(program.init)(jnp.int32(0), hp)
    whole_state, whole = jax.jit(program.chunk)(state, hp)
    n = program.eval_every
    program = program.sub_chunked(n // 2)
    parts, s = [], state
    for _ in range(2):
        s, stats = jax.jit(program.chunk)(s, hp)
        parts.append(jax.tree.map(lambda x: x[None], stats))
    merged = jax.tree.map(lambda x: x[0], merge_chunk_stats(parts, n // 2))
    for a, b in zip(
        jax.tree.leaves(whole_state.g_params), jax.tree.leaves(s.g_params), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for key in whole.mean:
        np.testing.assert_allclose(merged.mean[key], whole.mean[key], rtol=1e-5, atol=1e-6)
    for key in whole.max:
        np.testing.assert_allclose(merged.max[key], whole.max[key], rtol=1e-5, atol=1e-6)
    assert int(merged.first_nonfinite) == int(whole.first_nonfinite) == -1
    # A non-finite value in the second half is reported at its step in the whole chunk.
    bad = parts[1]._replace(first_nonfinite=jnp.array([3], jnp.int32))
    assert int(merge_chunk_stats([parts[0], bad], n // 2).first_nonfinite[0]) == n // 2 + 3


UNROLL_GAME = """
[suite]
name = "game"
seeds = 1
steps = 1
eval_every = 1

[defaults]
dataset = "dirac"
loss = "wasserstein"
batch_size = 4
z_dim = 1
generator = {{ arch = "point", init = {theta} }}
discriminator = {{ arch = "linear", init = {psi} }}
optimizer = {{ name = "sgd", lr_g = 0.1, lr_d = {eta} }}

[metrics]
samples = 2
snapshots = false

[[variants]]
name = "v"
unroll = {k}
"""


@pytest.mark.parametrize("k", [0, 1, 3])
def test_unrolled_generator_minimises_the_value_function_at_the_unrolled_discriminator(tmp_path, k):
    """A game solved by hand: data a point c, G the point theta, D(x) = psi x, the Wasserstein
    loss L_D = E D(G) - E D(x) = psi (theta - c), D's steps plain SGD of size eta. Then
    psi_K = psi - K eta (theta - c), and the surrogate f(theta, psi_K) = -L_D(theta, psi_K)
    = -psi (theta - c) + K eta (theta - c)^2 has d/dtheta = -psi + 2 K eta (theta - c)
    (Metz et al. 2017, eq. 5). The generator term alone at psi_K, -psi_K theta, would give
    -psi + K eta (2 theta - c) instead: they differ by K eta c."""
    from ganbench.data.dirac import PointMass

    theta, psi, eta, c = 1.0, 0.5, 0.1, 2.0
    path = tmp_path / "game.toml"
    path.write_text(UNROLL_GAME.format(theta=theta, psi=psi, eta=eta, k=k))
    spec = load_suite(path).runs[0]
    program = Program(structure_of(spec.config), eval_every=1, samples=2)
    program.dataset = PointMass("point", (c,))
    program.datasets = (program.dataset,)
    hp = hparams_of(spec.config, spec.steps)
    state = jax.jit(program.init)(jnp.int32(0), hp)

    def surrogate(g_params):
        return program.g_objective(
            g_params, state.g_stats, state.d_params, state.d_stats, state.d_opt,
            jax.random.key(0), hp, state.step,
        )[0]  # fmt: skip

    value, grads = jax.value_and_grad(surrogate)(state.g_params)
    (grad,) = jax.tree.leaves(grads)
    if k == 0:  # the plain generator loss -E D(G) = -psi theta
        assert float(value) == pytest.approx(-psi * theta, rel=1e-6)
        assert float(grad[0]) == pytest.approx(-psi, rel=1e-6)
    else:
        psi_k = psi - k * eta * (theta - c)
        assert float(value) == pytest.approx(-psi_k * (theta - c), rel=1e-6)
        assert float(grad[0]) == pytest.approx(-psi + 2 * k * eta * (theta - c), rel=1e-6)
