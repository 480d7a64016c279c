"""Loss knobs: set in a loss table, traced (one compiled program for a sweep), passed to the
loss by the engine; wasserstein_clip's clip keeps its run key."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganbench.config import load_suite
from ganbench.config.expand import hparams_of, static_key, structure_of
from ganbench.errors import ConfigError
from ganbench.objectives.losses import LOSS_KNOBS
from ganbench.train.engine import Program

VARIANTS = """
[[variants]]
name = "smoothed"
loss = { name = "non_saturating_smoothed", real_label = 0.8 }

[[variants]]
name = "smoothed-default"
loss = "non_saturating_smoothed"

[[variants]]
name = "wgan-table"
loss = { name = "wasserstein_clip", clip = 0.05 }

[[variants]]
name = "wgan-key"
loss = "wasserstein_clip"
clip = 0.05
"""


@pytest.fixture
def runs(write_suite):
    return {r.variant: r for r in load_suite(write_suite(VARIANTS)).runs if r.seed == 0}


def test_a_loss_table_sets_its_knobs_with_defaults_filled_in(runs):
    assert runs["smoothed"].config.loss == "non_saturating_smoothed"
    assert runs["smoothed"].config.loss_knob_values() == {"real_label": 0.8}
    default = LOSS_KNOBS["non_saturating_smoothed"]["real_label"].default
    assert runs["smoothed-default"].config.loss_knob_values() == {"real_label": default}
    resolved = runs["smoothed"].config.resolved()
    assert resolved["loss"] == {"name": "non_saturating_smoothed", "real_label": 0.8}
    # A knob is traced: both settings share one compiled program.
    assert static_key(runs["smoothed"].config) == static_key(runs["smoothed-default"].config)


def test_wasserstein_clip_keeps_its_run_key(runs):
    """The table's clip and the run key clip are one setting, resolved as before (run ids of
    existing suites unchanged)."""
    table, key = runs["wgan-table"].config, runs["wgan-key"].config
    assert table.clip == key.clip == 0.05 and table.loss_knobs is None
    without_name = [{k: v for k, v in c.resolved().items() if k != "name"} for c in (table, key)]
    assert without_name[0] == without_name[1]
    assert without_name[0]["loss"] == "wasserstein_clip" and without_name[0]["clip"] == 0.05
    assert table.loss_knob_values() == {"clip": 0.05}


@pytest.mark.parametrize(
    ("loss", "message"),
    [
        ('{ name = "non_saturating_smoothed", real_lable = 0.8 }', "did you mean 'real_label'"),
        (
            '{ name = "non_saturating_smoothed", real_label = 1.5 }',
            r"real_label must be in \(0, 1\]",
        ),
        ("{ real_label = 0.5 }", "a loss table needs a name"),
        ('{ name = "hing" }', "did you mean 'hinge'"),
        ('{ name = "hinge", margin = 2 }', "unknown key 'margin' for loss 'hinge'"),
        ('{ name = "wasserstein_clip", clip = 1000 }', r"clip must be in \(0, 100\]"),
    ],
)
def test_bad_loss_tables_name_the_key(write_suite, loss, message):
    suite = f'[[variants]]\nname = "bad"\nloss = {loss}\n'
    with pytest.raises(ConfigError, match=message) as info:
        load_suite(write_suite(suite))
    assert "variants[0] (bad).loss:" in str(info.value)


def test_clip_set_twice_and_loss_knobs_key_are_refused(write_suite):
    twice = (
        '[[variants]]\nname = "w"\nloss = { name = "wasserstein_clip", clip = 0.1 }\nclip = 0.2\n'
    )
    with pytest.raises(ConfigError, match="clip is set twice"):
        load_suite(write_suite(twice))
    direct = '[[variants]]\nname = "w"\nloss = "hinge"\nloss_knobs = { a = 1.0 }\n'
    with pytest.raises(ConfigError, match="set a loss's knobs in its table"):
        load_suite(write_suite(direct))


def test_the_engine_passes_the_traced_knob_to_the_loss(runs):
    """D's loss on one batch, with the knob as a traced hyperparameter, equals the loss function
    called with that value; two values in one vmapped program give the two losses."""
    spec = runs["smoothed"]
    program = Program(structure_of(spec.config), eval_every=spec.eval_every, samples=8)
    hp = hparams_of(spec.config, spec.steps)
    state = jax.jit(program.init)(jnp.int32(0), hp)
    key = jax.random.key(3)

    def d_loss(label):
        knobbed = hp._replace(loss={"real_label": jnp.float32(label)})
        _, aux = program.d_objective(
            state.d_params, state.d_stats, state.g_params, state.g_stats, key, knobbed, 0
        )
        return aux.loss_d_real

    a, b = jax.jit(jax.vmap(d_loss))(jnp.array([0.8, 1.0]))
    assert not np.isclose(a, b)
    from ganbench.objectives.losses import non_saturating_smoothed

    key_batch, _ = jax.random.split(key)  # the batch d_objective draws
    real, fake, _ = program._batch(key_batch, state.g_params, state.g_stats, hp)
    r = program.d_apply(state.d_params, state.d_stats, program.pack_samples(real))
    f = program.d_apply(state.d_params, state.d_stats, program.pack_samples(fake))
    for label, got in ((0.8, a), (1.0, b)):
        want = non_saturating_smoothed(r, f, real_label=label).d_real
        np.testing.assert_allclose(got, want, rtol=1e-5)
