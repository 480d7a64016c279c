"""Metrics against exact oracles: closed forms, hand-made cases, an independent reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg

from ganbench.data import get_dataset
from ganbench.metrics import frechet_distance, frechet_distance_from_stats, mode_coverage


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_all_samples_on_one_mode(name):
    ds = get_dataset(name)
    samples = np.repeat(ds.means_array()[[3]], 100, axis=0)
    mc = mode_coverage(samples, ds.means_array(), ds.stds_array())
    assert mc.modes == 1
    assert mc.hq_fraction == 1.0
    assert mc.reverse_kl == pytest.approx(math.log(ds.n_modes), rel=1e-12)
    assert mc.counts[3] == 100 and mc.counts.sum() == 100


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_samples_from_the_true_mixture(name):
    ds = get_dataset(name)
    n = 20_000
    samples = ds.sample_numpy(np.random.default_rng(0), n)
    mc = mode_coverage(samples, ds.means_array(), ds.stds_array())
    expected = 1 - math.exp(-4.5)  # P(chi^2_2 < 9) = 0.9889
    assert mc.modes == ds.n_modes
    # Binomial standard error sqrt(p(1-p)/n) ~ 7.4e-4; allow 5 of them.
    assert abs(mc.hq_fraction - expected) < 5 * math.sqrt(expected * (1 - expected) / n)
    assert mc.reverse_kl < 0.01


def test_hand_made_histogram_and_threshold():
    means = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    stds = np.ones((3, 2))
    samples = np.array(
        [[0.0, 0.0], [1.0, 1.0], [10.0, 2.9], [0.0, 13.0], [5.0, 5.0], [np.nan, 0.0]]
    )
    mc = mode_coverage(samples, means, stds)
    # distances: 0, sqrt(2), 2.9 (HQ); exactly 3 (not HQ: strict); far; NaN (never HQ).
    assert mc.counts.tolist() == [2, 1, 0]
    assert mc.modes == 2
    assert mc.hq_fraction == pytest.approx(3 / 6)
    p = np.array([2 / 3, 1 / 3])
    assert mc.reverse_kl == pytest.approx(float(np.sum(p * np.log(p * 3))))
    assert mode_coverage(samples, means, stds, min_count=2).modes == 1


def test_standardised_distance_uses_per_dimension_sigma():
    means = np.array([[0.0, 0.0], [4.0, 0.0]])
    stds = np.array([[10.0, 1.0], [0.1, 0.1]])
    # Euclidean-nearest to mode 1, but 0.5 sigma from mode 0 and 25 sigma from mode 1.
    mc = mode_coverage(np.array([[3.5, 0.0]]), means, stds)
    assert mc.counts.tolist() == [1, 0]


def test_reverse_kl_against_unequal_weights():
    means = np.array([[0.0], [10.0]])
    stds = np.ones((2, 1))
    samples = np.array([[0.0]] * 3 + [[10.0]])
    mc = mode_coverage(samples, means, stds, weights=np.array([0.75, 0.25]))
    assert mc.reverse_kl == pytest.approx(0.0, abs=1e-12)


def test_no_hq_sample_gives_nan_kl():
    mc = mode_coverage(np.array([[100.0, 100.0]]), np.zeros((1, 2)), np.ones((1, 2)))
    assert mc.modes == 0 and mc.hq_fraction == 0.0 and math.isnan(mc.reverse_kl)


@pytest.mark.parametrize(("d", "s"), [(1, 2.0), (2, 0.5), (5, 1.7)])
def test_frechet_closed_form_isotropic(d, s):
    mu = np.linspace(-1.0, 2.0, d)
    got = frechet_distance_from_stats(np.zeros(d), np.eye(d), mu, s**2 * np.eye(d))
    assert got == pytest.approx(float(mu @ mu) + d * (1 - s) ** 2, rel=1e-12, abs=1e-12)


def _fd_reference(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * np.real(covmean)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frechet_matches_scipy_sqrtm_reference(seed):
    rng = np.random.default_rng(seed)
    d = 6
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    s1, s2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    assert frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(
        _fd_reference(mu1, s1, mu2, s2), rel=1e-9
    )


def test_frechet_of_samples_uses_unbiased_covariance():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 3)), rng.normal(1.0, 2.0, size=(80, 3))
    mu1, mu2 = x.mean(0), y.mean(0)
    s1 = (x - mu1).T @ (x - mu1) / 49
    s2 = (y - mu2).T @ (y - mu2) / 79
    assert frechet_distance(x, y) == pytest.approx(_fd_reference(mu1, s1, mu2, s2), rel=1e-9)


def test_frechet_of_identical_sets_is_zero_and_singular_covariances_are_fine():
    x = np.random.default_rng(0).normal(size=(100, 2))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    collapsed = np.zeros((100, 2))  # rank-0 covariance: total mode collapse
    fd = frechet_distance(x, collapsed)
    mu, s = x.mean(0), np.cov(x, rowvar=False)
    assert fd == pytest.approx(float(mu @ mu + np.trace(s)), rel=1e-9)


def test_datasets_are_as_defined():
    ring = get_dataset("ring8")
    angles = 2 * np.pi * np.arange(8) / 8
    np.testing.assert_allclose(ring.means_array(), np.c_[np.cos(angles), np.sin(angles)])
    np.testing.assert_array_equal(ring.stds_array(), np.full((8, 2), 0.01))
    grid = get_dataset("grid25")
    assert sorted(map(tuple, grid.means_array())) == sorted(
        (float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)
    )
    np.testing.assert_array_equal(grid.stds_array(), np.full((25, 2), 0.05))


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_in_graph_sampler_draws_the_mixture(name):
    import jax

    ds = get_dataset(name)
    x = np.asarray(jax.jit(ds.sample, static_argnums=1)(jax.random.key(0), 20_000))
    assert x.dtype == np.float32 and x.shape == (20_000, 2)
    mc = mode_coverage(x, ds.means_array(), ds.stds_array())
    assert mc.modes == ds.n_modes
    assert abs(mc.hq_fraction - (1 - math.exp(-4.5))) < 0.004
    assert mc.reverse_kl < 0.01


# --------------------------------------------------------------------------- top_mode_share


def test_top_mode_share_of_hand_placed_samples():
    """ring8 (radius 1, std 0.01): 5 samples on mode 2, 1 at 0.3 from mode 2 (not high quality,
    but nearest mode 2), 3 on mode 5, one non-finite (assigned nowhere): the most common mode's
    neighbourhood holds 6 of the 10 samples; the HQ histogram would say 5."""
    from ganbench.config import MetricsSection
    from ganbench.metrics import catalog
    from ganbench.metrics.catalog import Evaluation
    from ganbench.metrics.modes import top_mode_share

    ds = get_dataset("ring8")
    mu = ds.means_array()
    fake = np.concatenate([np.repeat(mu[[2]], 5, 0), mu[[2]] * 1.3, np.repeat(mu[[5]], 3, 0),
                           [[np.nan, 0.0]]])  # fmt: skip
    ev = Evaluation(fake, fake, ds, MetricsSection(samples=10))
    assert list(ev.modes.nearest) == [0, 0, 6, 0, 0, 3, 0, 0]
    assert list(ev.modes.counts) == [0, 0, 5, 0, 0, 3, 0, 0]
    assert catalog.BY_NAME["top_mode_share"].compute(ev) == 0.6
    assert top_mode_share(np.array([0, 0]), 5) == 0.0
    assert math.isnan(top_mode_share(np.array([1, 2]), 0))


def test_top_mode_share_of_the_data_is_its_largest_weight():
    from ganbench.metrics.modes import top_mode_share

    for name, weights in (("ring8", "uniform"), ("ring8", "geometric"), ("grid25", "uniform")):
        ds = get_dataset(name, weights)
        x = ds.sample_numpy(np.random.default_rng(0), 200_000)
        mc = mode_coverage(x, ds.means_array(), ds.stds_array())
        expected = max(ds.weights_array()) / sum(ds.weights_array())
        assert top_mode_share(mc.nearest, mc.n_samples) == pytest.approx(expected, abs=0.004)
