"""The Landesfeind prior: amplitude (and optionally concentration scale) fitted to measurements."""

import numpy as np
import pytest

from aiida_bigmap_al.learning.priors import ConductivityPrior
from aiida_bigmap_al.simulator import landesfeind2019

C = np.array([0.3, 0.8, 1.2, 1.9])
X = np.column_stack([np.zeros(4), C])


def test_amplitude_only_is_the_least_squares_factor():
    law = landesfeind2019(C, 300.0)
    y = np.array([2.0, 5.0, 6.0, 4.0])
    prior = ConductivityPrior(1, temperature=300.0, scale_sd=0).fit(X, y)
    assert prior.parameters == {"amplitude": pytest.approx(law @ y / (law @ law)), "scale": 1.0}
    np.testing.assert_allclose(prior(X), prior.amplitude_ * law)


def test_a_law_that_is_right_up_to_a_factor_is_recovered():
    y = 0.7 * landesfeind2019(C * 1.2, 300.0)
    prior = ConductivityPrior(1, temperature=300.0, scale_sd=5.0).fit(X, y)
    assert prior.parameters["scale"] == pytest.approx(1.2, rel=0.02)  # grid step 2.5 %
    assert prior.parameters["amplitude"] == pytest.approx(0.7, rel=0.05)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="scale_sd must be >= 0"):
        ConductivityPrior(1, temperature=300.0, scale_sd=-1)
    with pytest.raises(ValueError, match="either a fixed temperature or a temperature column"):
        ConductivityPrior(1)
