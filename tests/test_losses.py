"""Losses against hand-computed values."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

from ganbench.objectives import LOSSES
from ganbench.objectives.losses import hinge, minimax, non_saturating, wasserstein

REAL = jnp.array([2.0, -1.0])
FAKE = jnp.array([0.5, -3.0])


def log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x))


def test_minimax_matches_hand_computed_cross_entropy():
    out = minimax(REAL, FAKE)
    d_real = -(log_sigmoid(2.0) + log_sigmoid(-1.0)) / 2  # -E log D(x)
    d_fake = -(math.log(1 - 1 / (1 + math.exp(-0.5))) + math.log(1 - 1 / (1 + math.exp(3.0)))) / 2
    np.testing.assert_allclose(out.d_real, d_real, rtol=1e-6)
    np.testing.assert_allclose(out.d_fake, d_fake, rtol=1e-6)
    np.testing.assert_allclose(out.d_loss, d_real + d_fake, rtol=1e-6)
    # Saturating generator loss: E log(1 - D(G(z))).
    np.testing.assert_allclose(out.g_loss, -d_fake, rtol=1e-6)


def test_non_saturating_generator_loss():
    out = non_saturating(REAL, FAKE)
    g = -(log_sigmoid(0.5) + log_sigmoid(-3.0)) / 2  # -E log D(G(z))
    np.testing.assert_allclose(out.g_loss, g, rtol=1e-6)
    np.testing.assert_allclose(out.d_loss, minimax(REAL, FAKE).d_loss, rtol=1e-6)


def test_wasserstein():
    out = wasserstein(REAL, FAKE)
    np.testing.assert_allclose(out.d_real, -(2.0 - 1.0) / 2)
    np.testing.assert_allclose(out.d_fake, (0.5 - 3.0) / 2)
    np.testing.assert_allclose(out.d_loss, (0.5 - 3.0) / 2 - (2.0 - 1.0) / 2)
    np.testing.assert_allclose(out.g_loss, -(0.5 - 3.0) / 2)


def test_hinge():
    out = hinge(REAL, FAKE)
    # relu(1 - 2) = 0, relu(1 + 1) = 2 -> 1; relu(1 + 0.5) = 1.5, relu(1 - 3) = 0 -> 0.75
    np.testing.assert_allclose(out.d_real, 1.0)
    np.testing.assert_allclose(out.d_fake, 0.75)
    np.testing.assert_allclose(out.g_loss, 1.25)


def test_cross_entropy_is_stable_for_large_logits():
    out = non_saturating(jnp.array([200.0]), jnp.array([-200.0]))
    assert np.isfinite(out.d_loss) and float(out.d_loss) < 1e-30
    np.testing.assert_allclose(out.g_loss, 200.0, rtol=1e-6)


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_has_the_shared_signature(name):
    out = LOSSES.get(name)(REAL, FAKE)
    assert all(v.shape == () for v in out)
    np.testing.assert_allclose(out.d_loss, out.d_real + out.d_fake, rtol=1e-6)


@pytest.mark.parametrize("name", LOSSES.names())
def test_losses_refuse_column_vectors(name):
    with pytest.raises(ValueError, match="vectors"):
        LOSSES.get(name)(REAL[:, None], FAKE[:, None])


def test_one_sided_label_smoothing_matches_hand_computed_cross_entropy():
    """Salimans et al. 2016, section 3.4: target a on real samples, 0 on generated ones."""
    from ganbench.objectives.losses import non_saturating_smoothed

    a = 0.8
    out = non_saturating_smoothed(REAL, FAKE, real_label=a)
    d_real = -sum(a * log_sigmoid(x) + (1 - a) * log_sigmoid(-x) for x in (2.0, -1.0)) / 2
    d_fake = -(log_sigmoid(-0.5) + log_sigmoid(3.0)) / 2  # -E log(1 - D(G(z)))
    np.testing.assert_allclose(out.d_real, d_real, rtol=1e-6)
    np.testing.assert_allclose(out.d_fake, d_fake, rtol=1e-6)
    np.testing.assert_allclose(out.g_loss, non_saturating(REAL, FAKE).g_loss, rtol=1e-6)
    # Target 1 is the plain non-saturating GAN.
    plain = non_saturating_smoothed(REAL, FAKE, real_label=1.0)
    for got, want in zip(plain, non_saturating(REAL, FAKE), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_relativistic_pairing_matches_hand_computed_values():
    """Jolicoeur-Martineau 2018, RSGAN: pairs (x_i, G(z_i)); D: -E log sigmoid(C(x) - C(G(z)))."""
    from ganbench.objectives.losses import relativistic_pairing

    out = relativistic_pairing(REAL, FAKE)
    # Pairs: (2, 0.5) and (-1, -3): margins 1.5 and 2.
    d = -(log_sigmoid(1.5) + log_sigmoid(2.0)) / 2
    g = -(log_sigmoid(-1.5) + log_sigmoid(-2.0)) / 2
    np.testing.assert_allclose(out.d_loss, d, rtol=1e-6)
    np.testing.assert_allclose(out.g_loss, g, rtol=1e-6)
    np.testing.assert_allclose([out.d_real, out.d_fake], [d / 2, d / 2], rtol=1e-6)
    # The pairing matters: swapping the generated outputs changes the loss.
    swapped = relativistic_pairing(REAL, FAKE[::-1])
    np.testing.assert_allclose(
        swapped.d_loss, -(log_sigmoid(5.0) + log_sigmoid(-1.5)) / 2, rtol=1e-6
    )


def test_relativistic_average_matches_hand_computed_values():
    """Jolicoeur-Martineau 2018, RaSGAN: margins over the other set's batch mean."""
    from ganbench.objectives.losses import relativistic_average

    out = relativistic_average(REAL, FAKE)
    m_r, m_f = (2.0 - 1.0) / 2, (0.5 - 3.0) / 2  # 0.5, -1.25
    d_real = -(log_sigmoid(2.0 - m_f) + log_sigmoid(-1.0 - m_f)) / 2
    d_fake = -(log_sigmoid(-(0.5 - m_r)) + log_sigmoid(-(-3.0 - m_r))) / 2
    g = (
        -(log_sigmoid(0.5 - m_r) + log_sigmoid(-3.0 - m_r)) / 2
        - (log_sigmoid(-(2.0 - m_f)) + log_sigmoid(-(-1.0 - m_f))) / 2
    )
    np.testing.assert_allclose(out.d_real, d_real, rtol=1e-6)
    np.testing.assert_allclose(out.d_fake, d_fake, rtol=1e-6)
    np.testing.assert_allclose(out.d_loss, d_real + d_fake, rtol=1e-6)
    np.testing.assert_allclose(out.g_loss, g, rtol=1e-6)


@pytest.mark.parametrize("name", ["relativistic_pairing", "relativistic_average"])
def test_relativistic_losses_see_only_differences_of_the_critic(name):
    """Adding a constant to every output of D changes nothing (the losses' defining property);
    a standard GAN's loss does change."""
    loss = LOSSES.get(name)
    for got, want in zip(loss(REAL + 7.0, FAKE + 7.0), loss(REAL, FAKE), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5)
    assert not np.isclose(
        non_saturating(REAL + 7.0, FAKE + 7.0).d_loss, non_saturating(REAL, FAKE).d_loss
    )


def test_relativistic_pairing_needs_pairs():
    from ganbench.objectives.losses import relativistic_pairing

    with pytest.raises(ValueError, match="as many real as generated"):
        relativistic_pairing(REAL, FAKE[:1])
