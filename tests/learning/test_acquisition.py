"""Acquisition functions against values computed by hand."""

import math

import numpy as np
import pytest

from aiida_bigmap_al.learning import make_acquisition
from aiida_bigmap_al.learning.acquisition import ei, exploit, explore, pi, ucb

MEAN = np.array([1.0, 2.0, 0.5])
STD = np.array([0.5, 0.1, 2.0])
BEST = 1.5


def phi(z):
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def Phi(z):
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def test_exploit_and_explore_pick_mean_and_std():
    assert np.argmax(exploit(MEAN, STD, BEST)) == 1
    assert np.argmax(explore(MEAN, STD, BEST)) == 2


def test_ucb_is_mean_plus_kappa_std():
    np.testing.assert_allclose(ucb(MEAN, STD, BEST, kappa=2.0), [2.0, 2.2, 4.5])


def test_expected_improvement_matches_closed_form():
    expected = []
    for m, s in zip(MEAN, STD):
        z = (m - BEST) / s
        expected.append((m - BEST) * Phi(z) + s * phi(z))
    np.testing.assert_allclose(ei(MEAN, STD, BEST), expected, rtol=1e-12)
    # z = (1.0 - 1.5) / 0.5 = -1: EI = -0.5 * 0.158655 + 0.5 * 0.241971 = 0.041658
    assert ei(MEAN, STD, BEST)[0] == pytest.approx(0.0416583, abs=1e-6)


def test_probability_of_improvement_matches_closed_form():
    # z = (2.0 - 1.5 - 0.1) / 0.1 = 4  ->  Phi(4) = 0.9999683
    assert pi(MEAN, STD, BEST, xi=0.1)[1] == pytest.approx(0.9999683, abs=1e-7)
    assert pi(MEAN, STD, BEST)[0] == pytest.approx(Phi(-1.0))


def test_zero_std_does_not_divide_by_zero():
    score = ei(np.array([2.0, 1.0]), np.zeros(2), 1.5)
    np.testing.assert_allclose(score, [0.5, 0.0], atol=1e-12)


def test_make_acquisition_binds_parameters_and_rejects_unknown_names():
    score = make_acquisition("ucb", kappa=0.0)
    np.testing.assert_allclose(score(MEAN, STD, BEST), MEAN)
    assert score.monotone_in_std and not make_acquisition("pi").monotone_in_std
    with pytest.raises(ValueError, match="unknown acquisition 'greedy'"):
        make_acquisition("greedy")
