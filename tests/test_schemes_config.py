"""Suites that switch stabilisers on: valid combinations load, invalid ones are refused with the
reason, and the knobs land in the traced hyperparameters, not in the program's identity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganbench.config import load_suite
from ganbench.config.expand import hparams_of, static_key
from ganbench.data.mixtures import get_dataset, mode_weights
from ganbench.errors import ConfigError


def problems(path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    return info.value.problems


def one(write_suite, body: str) -> str:
    (msg,) = problems(write_suite(f'[[variants]]\nname = "v"\nloss = "non_saturating"\n{body}'))
    return msg


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('updates = "alternating"\nconsensus = { weight = 1.0 }', "needs updates = 'simultaneous'"),
        ('updates = "simultaneous"\nn_critic = 5', "n_critic must be 1, got 5"),
        ('updates = "extragradient"\nn_critic = 2', "n_critic must be 1, got 2"),
        ('updates = "simultaneous"\nconsensus = {}\nunroll = 3', "consensus with unroll > 0"),
        ("clip = 0.01", "clip is the weight-clipping bound of loss 'wasserstein_clip'"),
        ('updates = "simulteneous"', "unknown update rule 'simulteneous'; did you mean"),
        ("ema = { decya = 0.9 }", "unknown key 'decya' for ema; did you mean 'decay'?"),
        ("ema = { decay = 1.0 }", "decay must be in [0, 1), got 1.0"),
        ("ema = 0.999", "ema must be a table such as { decay = 0.999, start = 0 }"),
        ("instance_noise = { std = 0.0 }", "std must be in (0, 1000], got 0.0"),
        ("unroll = -1", "greater than or equal to 0"),
        ("pack = 0", "greater than or equal to 1"),
        ("weights = [1.0, 2.0]", "weights lists 2 numbers but the dataset has 8 modes"),
        ('weights = "geometric:2"', "the geometric ratio must be in (0, 1]"),
        ('weights = "zipf"', "unknown weights 'zipf'; allowed:"),
        ('weights = "longtail:0.5"', "the long-tail factor must be in [1, 1e6]"),
        ('penalty = { name = "r1", wieght = 1.0 }', "unknown key 'wieght' for penalty 'r1'"),
        ('penalty = { name = "gp", scale = 1.0 }', "unknown key 'scale' for penalty 'gp'"),
        ('penalty = { name = "dragan", scale = -1.0 }', "scale must be in [0, 100]"),
        ('optimizer = { name = "optimistic_adam", lr_g = 1e-4 }', "lr_d is required"),
    ],
)
def test_invalid_combination_is_refused_with_reason(write_suite, body, expected):
    msg = one(write_suite, body)
    assert expected in msg, msg
    assert "variants[0] (v)" in msg


def test_clipping_and_gradient_penalty_are_alternatives(write_suite):
    path = write_suite('[[variants]]\nname = "v"\nloss = "wasserstein_clip"\npenalty = "gp"\n')
    (msg,) = problems(path)
    assert "choose one" in msg and "weight clipping" in msg


def test_valid_combinations_load_and_resolve(write_suite):
    path = write_suite(
        """
        [[variants]]
        name = "everything"
        loss = "wasserstein_clip"
        clip = 0.05
        updates = "extragradient"
        consensus = { weight = 2.0 }
        ema = { decay = 0.99, start = 100 }
        instance_noise = { std = 0.2 }
        pack = 3
        weights = "geometric:0.7"
        penalty = { name = "r1", weight = 4.0 }
        optimizer = { name = "optimistic_adam", lr_g = 1e-4, lr_d = 2e-4 }

        [[variants]]
        name = "unrolled"
        loss = "least_squares"
        unroll = 4
        penalty = { name = "dragan" }
        """
    )
    suite = load_suite(path)
    everything = next(r for r in suite.runs if r.variant == "everything")
    d = everything.config.resolved()
    assert d["clip"] == 0.05
    assert d["consensus"] == {"weight": 2.0}
    assert d["ema"] == {"decay": 0.99, "start": 100.0}
    assert d["instance_noise"] == {"std": 0.2, "anneal": 1.0}  # default: anneal over the run
    assert (d["pack"], d["updates"], d["weights"]) == (3, "extragradient", "geometric:0.7")
    assert d["penalty"] == {"name": "r1", "weight": 4.0}
    unrolled = next(r for r in suite.runs if r.variant == "unrolled").config.resolved()
    assert unrolled["unroll"] == 4
    assert unrolled["penalty"] == {"name": "dragan", "weight": 10.0, "scale": 0.5}
    assert "clip" not in unrolled and "ema" not in unrolled and "pack" not in unrolled

    hp = hparams_of(everything.config, everything.steps)
    assert math.isclose(hp.loss["clip"], 0.05, rel_tol=1e-6)
    assert hp.scheme["noise_anneal_steps"] == pytest.approx(everything.steps)
    assert hp.scheme["ema_start"] == 100.0
    assert hp.penalty == {"weight": np.float32(4.0)}


def test_knobs_are_traced_structure_is_static(write_suite):
    path = write_suite(
        """
        [[variants]]
        name = "a"
        loss = "non_saturating"
        updates = "simultaneous"
        consensus = { weight = 1.0 }
        ema = { decay = 0.9 }
        penalty = { name = "r1", weight = 1.0 }

        [[variants]]
        name = "b"
        loss = "non_saturating"
        updates = "simultaneous"
        consensus = { weight = 10.0 }
        ema = { decay = 0.999 }
        penalty = { name = "r1", weight = 5.0 }

        [[variants]]
        name = "c"
        loss = "non_saturating"
        updates = "simultaneous"
        ema = { decay = 0.9 }
        penalty = { name = "r1", weight = 1.0 }
        """
    )
    runs = {r.variant: r for r in load_suite(path).runs if r.seed == 0}
    keys = {v: static_key(r.config) for v, r in runs.items()}
    assert keys["a"] == keys["b"]  # knob values only: one program
    assert keys["a"] != keys["c"]  # consensus on/off: another program
    assert runs["a"].run_id != runs["b"].run_id


def test_changing_the_optimizer_replaces_the_defaults_table(write_suite):
    path = write_suite(
        """
        [[variants]]
        name = "wgan"
        loss = "wasserstein_clip"
        n_critic = 5
        optimizer = { name = "rmsprop", lr_g = 5e-5, lr_d = 5e-5 }
        """
    )
    (run, *_) = load_suite(path).runs
    # The defaults' Adam b1 does not leak into the RMSProp table.
    assert run.config.resolved()["optimizer"] == {
        "name": "rmsprop",
        "lr_g": 5e-5,
        "lr_d": 5e-5,
        "decay": 0.9,
        "eps": 1e-8,
    }


def test_geometric_weights_closed_form():
    w = mode_weights("geometric:0.5", 4)
    total = 1 + 0.5 + 0.25 + 0.125
    assert w == pytest.approx([1 / total, 0.5 / total, 0.25 / total, 0.125 / total])
    assert mode_weights("uniform", 5) == pytest.approx([0.2] * 5)
    assert mode_weights([1, 3], 2) == pytest.approx([0.25, 0.75])
    assert mode_weights("geometric:1", 3) == pytest.approx([1 / 3] * 3)
    # Long tail with factor f: w_k proportional to f^(-k/(K-1)); f = 8 over 4 modes is r = 1/2.
    assert mode_weights("longtail:8", 4) == pytest.approx(mode_weights("geometric:0.5", 4))
    w = mode_weights("longtail:20", 25)
    assert w[0] / w[-1] == pytest.approx(20.0)


def test_weighted_mixture_samples_follow_the_weights():
    import jax

    from ganbench.metrics import mode_coverage

    data = get_dataset("ring8", "geometric:0.6")
    w = data.weights_array()
    x = np.asarray(data.sample(jax.random.key(0), 40_000))
    mc = mode_coverage(x, data.means_array(), data.stds_array(), weights=w)
    freq = mc.counts / mc.counts.sum()
    # 40k draws: the binomial standard error of each frequency is below 0.0025.
    np.testing.assert_allclose(freq, w, atol=0.01)
    assert mc.reverse_kl < 2e-3  # KL(p_hat || w) of the true mixture is ~0
    uniform = mode_coverage(x, data.means_array(), data.stds_array())
    expected = float(np.sum(w * np.log(w * 8)))  # KL(w || uniform) in closed form
    assert uniform.reverse_kl == pytest.approx(expected, abs=0.01)


def test_spectrum_setting_is_checked_and_stays_out_of_old_run_ids(write_suite):
    text = '[[variants]]\nname = "v"\nloss = "hinge"\n'
    off = load_suite(write_suite(text)).runs[0]
    # Settings added later stay out of run ids while off: earlier results keep their ids.
    assert not {"spectrum", "layer_grads"} & set(off.identity()["metrics"])
    on_path = write_suite(text, name="dense.toml")
    on_path.write_text(
        on_path.read_text().replace("samples = 200", 'samples = 200\nspectrum = "dense"')
    )
    on = load_suite(on_path).runs[0]
    assert on.identity()["metrics"]["spectrum"] == "dense" and on.run_id != off.run_id
    bad = write_suite(text, name="bad.toml")
    bad.write_text(bad.read_text().replace("samples = 200", 'samples = 200\nspectrum = "full"'))
    (msg,) = problems(bad)
    assert "unknown spectrum 'full'; allowed: off, dense" in msg


def test_mode_index_inverts_the_weights_distribution_function():
    import jax.numpy as jnp

    from ganbench.data.mixtures import mode_index

    data = get_dataset("ring8", [2, 1, 1, 2, 1, 1, 1, 1])  # weights 0.2, 0.1, 0.1, 0.2, 0.1 ...
    cdf = data.cdf()
    assert cdf.dtype == np.float32 and cdf[-1] == 1.0
    np.testing.assert_allclose(cdf, [0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0], rtol=1e-6)
    u = jnp.asarray([0.0, 0.19, cdf[0], 0.35, cdf[2], 0.59, 0.65, 0.95, 0.99999994], jnp.float32)
    # By hand: [0, 0.2) -> 0, [0.2, 0.3) -> 1, [0.3, 0.4) -> 2, [0.4, 0.6) -> 3, ... [0.9, 1) -> 7.
    assert np.asarray(mode_index(u, cdf)).tolist() == [0, 0, 1, 2, 3, 3, 4, 7, 7]
