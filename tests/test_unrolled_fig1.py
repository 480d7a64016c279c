"""Metz et al. 2017's 2-D setting (suites/papers/unrolled_gan_fig1.toml): the radius-2 ring, the
discriminator that reads its input scaled by 1/4 (arch 'mlp' input_scale), checked against their
definitions; the suite itself validates with its references."""

from __future__ import annotations

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganbench.config import load_suite
from ganbench.config.tables import ModelConfig
from ganbench.data import get_dataset
from ganbench.errors import ConfigError
from ganbench.models import build_discriminator

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "suites" / "papers" / "unrolled_gan_fig1.toml"


def test_ring8_r2_is_eight_gaussians_on_a_circle_of_radius_2_with_sigma_002():
    ds = get_dataset("ring8_r2")
    angles = 2 * np.pi * np.arange(8) / 8
    np.testing.assert_allclose(ds.means_array(), 2 * np.stack([np.cos(angles), np.sin(angles)], 1),
                               atol=1e-15)  # fmt: skip
    np.testing.assert_array_equal(ds.stds_array(), 0.02)
    x = ds.sample_numpy(np.random.default_rng(0), 80_000)
    r = np.linalg.norm(x, axis=1)
    # Radius of a sample: 2 plus a N(0, 0.02^2) radial offset (to first order).
    assert abs(r.mean() - 2.0) < 0.001 and abs(r.std() - 0.02) < 0.001


def test_input_scale_multiplies_the_input_before_the_first_layer():
    """D(x) with input_scale 0.25 is the same network applied to x / 4, and its first layer
    recomputed in NumPy from the parameters agrees."""
    scaled = build_discriminator(ModelConfig(width=16, depth=1, input_scale=0.25), (2,))
    plain = build_discriminator(ModelConfig(width=16, depth=1), (2,))
    params = scaled.init(jax.random.key(0), jnp.zeros((1, 2)))
    x = jnp.asarray(np.random.default_rng(1).normal(size=(7, 2)) * 3, jnp.float32)
    np.testing.assert_allclose(scaled.apply(params, x), plain.apply(params, x / 4), rtol=1e-6)
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["params"])
    h = np.maximum(np.asarray(x, np.float64) / 4 @ p["dense_0"]["kernel"] + p["dense_0"]["bias"], 0)
    expected = h @ p["dense_1"]["kernel"] + p["dense_1"]["bias"]
    np.testing.assert_allclose(scaled.apply(params, x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [0.0, -1.0, 1e4])
def test_input_scale_is_a_positive_bounded_setting_of_the_mlp(bad):
    with pytest.raises(ValueError, match="input_scale"):
        ModelConfig(input_scale=bad)
    with pytest.raises(ValueError, match="input_scale is a setting of arch 'mlp'"):
        ModelConfig(arch="maxout", input_scale=0.5)


def test_the_suite_holds_the_papers_setting_and_figure_1s_references():
    suite = load_suite(SUITE)
    gan, unrolled = (next(r for r in suite.runs if r.variant == v) for v in ("gan", "unrolled-10"))
    config = gan.config
    assert config.dataset == "ring8_r2" and config.loss == "minimax" and config.z_dim == 256
    assert config.updates == "alternating" and config.batch_size == 512
    assert (config.generator.width, config.generator.depth) == (128, 2)
    assert (config.discriminator.width, config.discriminator.depth) == (128, 1)
    assert config.discriminator.input_scale == 0.25
    assert config.generator.weight_init == config.discriminator.weight_init == "orthogonal:0.8"
    assert config.optimizer.lr_g == config.optimizer.lr_d == 1e-4
    assert unrolled.config.unroll == 10 and gan.config.unroll == 0
    assert suite.runs[0].steps == 25_000
    kinds = {(r.variant, r.metric): (r.value, r.uncertainty, r.kind) for r in suite.references}
    assert kinds[("gan", "top_mode_share")] == (1.0, 0.25, "tolerance")
    assert kinds[("unrolled-10", "top_mode_share")] == (0.125, 0.1, "tolerance")
    assert len(kinds) == 2
    cpu = load_suite(SUITE, profile="cpu")
    assert cpu.runs[0].steps == 6000 and len(cpu.runs) == 4
    assert not math.isnan(cpu.runs[0].config.optimizer.b1)


def test_the_suite_refuses_a_suite_profile_written_by_hand():
    text = SUITE.read_text().replace('name = "unrolled_gan_fig1"\n',
                                     'name = "unrolled_gan_fig1"\nprofile = "cpu"\n')  # fmt: skip
    path = ROOT / "suites" / "papers" / "unrolled_gan_fig1.toml"
    assert path.exists()
    with pytest.raises(ConfigError, match="without applying it"):
        from ganbench.config.load import load_suite_text

        load_suite_text(text, path)
