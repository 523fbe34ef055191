"""Priors: a law injected by name, its amplitude (and optionally a scale) fitted to measurements."""

import ast
import inspect

import numpy as np
import pytest

from aiida_bigmap_al.learning import priors
from aiida_bigmap_al.learning.priors import LawPrior, law_names, placed_prior
from aiida_bigmap_al.simulator import landesfeind2019

C = np.array([0.3, 0.8, 1.2, 1.9])
X = np.column_stack([np.zeros(4), C])


def conductivity_prior(scale_sd, conditions=None):
    """The Landesfeind law on (r, c) at a fixed 300 K, as a campaign over one temperature has it."""
    conditions = {"temperature": 300.0} if conditions is None else conditions
    return placed_prior("landesfeind2019", {"scale_sd": scale_sd}, ["r", "c"], conditions)


def test_amplitude_only_is_the_least_squares_factor():
    law = landesfeind2019(C, 300.0)
    y = np.array([2.0, 5.0, 6.0, 4.0])
    prior = conductivity_prior(scale_sd=0).fit(X, y)
    assert prior.parameters == {"amplitude": pytest.approx(law @ y / (law @ law)), "scale": 1.0}
    np.testing.assert_allclose(prior(X), prior.amplitude_ * law)


def test_a_law_that_is_right_up_to_a_factor_is_recovered():
    y = 0.7 * landesfeind2019(C * 1.2, 300.0)
    prior = conductivity_prior(scale_sd=5.0).fit(X, y)
    assert prior.parameters["scale"] == pytest.approx(1.2, rel=0.02)  # grid step 2.5 %
    assert prior.parameters["amplitude"] == pytest.approx(0.7, rel=0.05)


def test_the_temperature_is_an_input_column_when_the_space_has_it():
    prior = placed_prior("landesfeind2019", {"scale_sd": 0}, ["r", "c", "T"], {})
    assert (prior.columns, prior.constants) == ((1, 2), ())
    XT = np.column_stack([X, [250.0, 280.0, 300.0, 330.0]])
    y = 2 * landesfeind2019(C, XT[:, 2])
    np.testing.assert_allclose(prior.fit(XT, y)(XT), y)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="scale_sd must be >= 0"):
        conductivity_prior(scale_sd=-1)
    with pytest.raises(ValueError, match="needs 'T' or 'temperature' as an input"):
        conductivity_prior(scale_sd=0, conditions={})
    with pytest.raises(ValueError, match="unknown prior 'nope'; choose from"):
        placed_prior("nope", {}, ["r", "c"], {})
    assert "landesfeind2019" in law_names()


def test_the_learning_layer_knows_no_law():
    """The law is injected: the prior module imports no simulator and names no variable."""
    tree = ast.parse(inspect.getsource(priors))
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not any("simulator" in module or "electrolyte" in module for module in imported)
    strings = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)}
    assert not strings & {"c", "T", "r", "temperature"}
    assert isinstance(conductivity_prior(0), LawPrior)
