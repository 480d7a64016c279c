"""The latent distribution (suite key ``latent``) and several generator updates per step
(``g_steps``), checked against their definitions: U[-1, 1] moments, a step with g_steps = 2
composed by hand from one discriminator update and two plain Adam updates of G, and the run
identity of suites that set neither."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ganbench.config import load_suite
from ganbench.config.expand import hparams_of, static_key, structure_of
from ganbench.errors import ConfigError
from ganbench.models.latent import LATENTS
from ganbench.train.engine import Program

BASE = """
[[variants]]
name = "v"
loss = "non_saturating"
{body}
"""


def spec_of(write_suite, body: str, name: str = "suite.toml"):
    return load_suite(write_suite(BASE.format(body=body), name=name), seeds=1).runs[0]


def program_of(write_suite, body: str, name: str = "suite.toml"):
    spec = spec_of(write_suite, body, name)
    program = Program(structure_of(spec.config), eval_every=spec.eval_every, samples=64)
    return program, hparams_of(spec.config, spec.steps)


def test_uniform_latent_has_the_moments_of_u_minus1_1():
    z = np.asarray(LATENTS.get("uniform")(jax.random.key(0), (200_000, 3)), np.float64)
    assert z.dtype == np.float64 and z.min() >= -1.0 and z.max() < 1.0
    # U[-1, 1]: mean 0, variance 1/3; standard errors 0.0013 and 0.0007 at n = 200,000.
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.007)
    np.testing.assert_allclose(z.var(axis=0), 1.0 / 3.0, atol=0.004)
    # Coordinates are independent.
    assert abs(np.corrcoef(z.T)[0, 1]) < 0.01


def test_normal_latent_is_the_standard_normal_ganbench_always_drew():
    key = jax.random.key(3)
    np.testing.assert_array_equal(
        LATENTS.get("normal")(key, (5, 4)), jax.random.normal(key, (5, 4), jnp.float32)
    )


def test_the_program_draws_z_and_evaluation_samples_from_the_latent(write_suite):
    program, _ = program_of(write_suite, 'latent = "uniform"\nz_dim = 3')
    z = np.asarray(program._sample_z(jax.random.key(1), 4000))
    assert z.shape == (4000, 3) and z.min() >= -1.0 and z.max() < 1.0
    np.testing.assert_allclose(z.var(), 1.0 / 3.0, atol=0.02)
    normal, _ = program_of(write_suite, "z_dim = 3", name="n.toml")
    assert np.abs(np.asarray(normal._sample_z(jax.random.key(1), 4000))).max() > 1.5


def test_defaults_leave_run_identity_unchanged(write_suite):
    plain = spec_of(write_suite, "")
    explicit = spec_of(write_suite, 'g_steps = 1\nlatent = "normal"', name="e.toml")
    assert plain.run_id == explicit.run_id
    assert "g_steps" not in plain.config.resolved() and "latent" not in plain.config.resolved()
    assert static_key(plain.config) == static_key(explicit.config)
    other = spec_of(write_suite, 'latent = "uniform"', name="u.toml")
    two = spec_of(write_suite, "g_steps = 2", name="g.toml")
    assert len({plain.run_id, other.run_id, two.run_id}) == 3
    # Both are structure: they pick the compiled program.
    assert len({static_key(c.config) for c in (plain, other, two)}) == 3


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('latent = "unifrom"', "did you mean 'uniform'?"),
        ("g_steps = 0", "g_steps"),
        ('updates = "simultaneous"\ng_steps = 2', "g_steps must be 1, got 2"),
    ],
)
def test_bad_settings_are_refused_with_the_key(write_suite, body, needle):
    with pytest.raises(ConfigError) as exc:
        spec_of(write_suite, body)
    assert needle in str(exc.value)


def test_two_generator_updates_per_step_compose_as_defined(write_suite):
    """One step with g_steps = 2 is: one D update (as with g_steps = 1), then two Adam updates of
    G against that D, each on the batch of its own key (split(key_g, 2)), written here with the
    generator objective and a plain optax.adam."""
    program, hp = program_of(write_suite, "g_steps = 2")
    one, hp1 = program_of(write_suite, "", name="one.toml")
    state = jax.jit(program.init)(jnp.int32(0), hp)
    new, stats = jax.jit(program.train_step)(state, hp)

    @jax.jit  # the definition as one program (not op by op)
    def by_definition(state, hp):
        _, key_critic, key_g, _ = jax.random.split(state.key, 4)
        (k_d,) = jax.random.split(key_critic, 1)
        d_params, d_stats, d_opt, _, _ = program.d_update(
            state.d_params, state.d_stats, state.d_opt, state.g_params, state.g_stats, k_d, hp,
            state.step,
        )  # fmt: skip
        adam = optax.adam(1e-3, b1=0.5, b2=0.999)  # the tiny suite's optimiser
        g_params, opt = state.g_params, adam.init(state.g_params)
        losses = []
        for k in jax.random.split(key_g, 2):
            (loss, _), grads = jax.value_and_grad(program.g_objective, has_aux=True)(
                g_params, state.g_stats, d_params, d_stats, d_opt, k, hp, state.step
            )
            updates, opt = adam.update(grads, opt, g_params)
            g_params = optax.apply_updates(g_params, updates)
            losses.append(loss)
        return d_params, g_params, losses

    d_params, g_params, losses = by_definition(state, hp)

    for got, want in zip(jax.tree.leaves(new.d_params), jax.tree.leaves(d_params), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    for got, want in zip(jax.tree.leaves(new.g_params), jax.tree.leaves(g_params), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(stats.loss_g, np.mean(losses), rtol=1e-5)
    # The generator moved twice: further than one update takes it.
    single, _ = jax.jit(one.train_step)(jax.jit(one.init)(jnp.int32(0), hp1), hp1)
    for got, want in zip(jax.tree.leaves(single.d_params), jax.tree.leaves(d_params), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    moved = [
        float(jnp.linalg.norm(a - b))
        for a, b in zip(jax.tree.leaves(new.g_params), jax.tree.leaves(state.g_params), strict=True)
    ]
    moved1 = [
        float(jnp.linalg.norm(a - b))
        for a, b in zip(
            jax.tree.leaves(single.g_params), jax.tree.leaves(state.g_params), strict=True
        )
    ]
    assert sum(moved) > 1.5 * sum(moved1)


def test_a_suite_with_g_steps_and_uniform_z_trains_end_to_end(write_suite, tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    from ganbench.cli import app

    path = write_suite(BASE.format(body='g_steps = 2\nlatent = "uniform"'))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--seeds", "1"])
    assert res.exit_code == 0, res.output
    from ganbench.cli.run import scheme_label

    assert scheme_label(spec_of(write_suite, "g_steps = 3", name="s.toml").config) == "3 G steps"
    (manifest,) = [json.loads(p.read_text()) for p in out.rglob("manifest.json")
                   if json.loads(p.read_text()).get("variant") == "v"]  # fmt: skip
    assert manifest["status"] == "completed" and manifest["step"] == 20
    assert manifest["config"]["g_steps"] == 2 and manifest["config"]["latent"] == "uniform"
    rows = pd.read_parquet(next(out.rglob("metrics.parquet")))
    loss_g = rows[rows["metric"] == "loss_g"]["value"]
    assert len(loss_g) and np.isfinite(loss_g).all()
