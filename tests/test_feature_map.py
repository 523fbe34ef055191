"""The one map from a campaign's space to the model's inputs."""

import numpy as np
import pytest

from aiida_bigmap_al.feature_map import FeatureMap
from aiida_bigmap_al.space import fzj_space

ROWS = [{"r": 0.2, "c": 1.0, "temperature": 253.15, "value": 3.0},
        {"r": 0.5, "c": 0.6, "temperature": 293.15, "value": 7.0}]


def test_one_temperature_is_a_condition_not_an_input():
    features = FeatureMap.of(fzj_space(temperatures=[293.15]))
    assert features.names == ["r", "c"] and features.conditions == {"temperature": 293.15}
    X, y = features.rows_to_arrays(ROWS[1:])
    assert X.tolist() == [[0.5, 0.6]] and y.tolist() == [7.0]
    assert features.temperature_of(X).tolist() == [293.15]
    assert features.at_temperatures(np.ones((4, 2))).shape == (4, 2)


def test_several_temperatures_make_t_an_input_scaled_to_their_span():
    space = fzj_space(temperatures=[253.15, 293.15, 333.15])
    features = FeatureMap.of(space)
    assert features.names == ["r", "c", "T"] and features.conditions == {}
    np.testing.assert_array_equal(features.bounds[:2], space.bounds)
    assert features.bounds[2].tolist() == [253.15, 333.15]
    X, _ = features.rows_to_arrays(ROWS)
    assert X[:, 2].tolist() == [253.15, 293.15]
    assert features.temperature_of(X).tolist() == [253.15, 293.15]
    assert features.point(X[0]) == {"r": 0.2, "c": 1.0}
    candidates = features.at_temperatures(np.ones((4, 2)))
    assert candidates.shape == (12, 3) and sorted(set(candidates[:, 2])) == [253.15, 293.15, 333.15]


def test_a_space_without_temperature_is_refused():
    space = fzj_space(temperature_variable=True)
    with pytest.raises(ValueError, match="'temperature' condition"):
        FeatureMap.of(space)
