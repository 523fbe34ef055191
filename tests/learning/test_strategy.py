"""Strategies: per-variable GP settings land on the right columns of each space."""

import numpy as np
import pytest
from pydantic import ValidationError

from aiida_bigmap_al.learning import STRATEGIES, Strategy
from aiida_bigmap_al.space import fzj_space

GP = {"name": "gp", "params": {"length_scale_prior": [0.3, 1.0], "by_variable": {
    "T": {"length_scale_prior": [1.0, 0.5], "offset": True}}}}


def build(strategy, space, conditions=None):
    return strategy.build_model(space.bounds, 0, space.names, conditions)


def test_temperature_settings_apply_when_temperature_is_an_input():
    strategy = Strategy.model_validate({"surrogate": GP, "acquisition": {"name": "exploit"}})
    gp = build(strategy, fzj_space(temperature_variable=True)).surrogate
    assert gp.length_scale_prior == [[0.3, 1.0], [0.3, 1.0], [1.0, 0.5]]
    assert gp.offset_features == (2,)


def test_temperature_settings_are_moot_when_temperature_is_a_condition():
    strategy = Strategy.model_validate({"surrogate": GP, "acquisition": {"name": "exploit"}})
    gp = build(strategy, fzj_space()).surrogate
    assert gp.length_scale_prior == [[0.3, 1.0], [0.3, 1.0]]
    assert gp.offset_features == ()


def test_variable_settings_are_validated():
    with pytest.raises(ValidationError, match=r"unknown by_variable setting\(s\) \['lengthscale'\]"):
        Strategy.model_validate({"surrogate": {"name": "gp", "params": {
            "by_variable": {"T": {"lengthscale": 1}}}}, "acquisition": {"name": "exploit"}})
    with pytest.raises(ValidationError, match="by_variable settings are for the 'gp' surrogate"):
        Strategy.model_validate({"surrogate": {"name": "rf", "params": {
            "by_variable": {"T": {"offset": True}}}}, "acquisition": {"name": "exploit"}})


def test_landesfeind_strategy_follows_the_law_before_it_knows_anything():
    # One measurement: the residual GP is flat, so the first suggestion is the law's maximum.
    space = fzj_space()
    c = np.linspace(0.2, 2.0, 10)
    X = np.column_stack([np.full(10, 0.5), c])
    model = build(STRATEGIES["gp-landesfeind-ucb"], space, {"temperature": 298.15})
    model.fit(X[:1], np.array([5.0]))
    mean = model.predict_mean(X)
    assert c[np.argmax(mean)] == pytest.approx(1.0)
    assert mean[0] == pytest.approx(5.0)
