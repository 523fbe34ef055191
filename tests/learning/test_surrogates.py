"""Each surrogate fits, predicts a mean and a std that behave as a user expects, and is seeded."""

import numpy as np
import pytest

from aiida_bigmap_al.learning import GaussianProcess, PolynomialEnsemble, RandomForest


def smooth(X):
    return np.sin(3 * X[:, 0]) + X[:, 1] ** 2


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.random((40, 2))
    return X, smooth(X)


@pytest.mark.parametrize("cls", [GaussianProcess, RandomForest, PolynomialEnsemble])
def test_fits_a_smooth_function_and_is_deterministic(cls, data):
    X, y = data
    X_test = np.random.default_rng(1).random((200, 2))
    mean, std = cls(random_state=3).fit(X, y).predict(X_test)
    assert mean.shape == std.shape == (200,)
    assert np.all(std >= 0)
    rmse = np.sqrt(np.mean((mean - smooth(X_test)) ** 2))
    assert rmse < 0.35 * np.std(smooth(X_test))
    again, _ = cls(random_state=3).fit(X, y).predict(X_test)
    np.testing.assert_array_equal(mean, again)


# A forest extrapolates with a constant, so its spread does not grow away from the data.
@pytest.mark.parametrize("cls", [GaussianProcess, PolynomialEnsemble])
def test_uncertainty_grows_away_from_the_data(cls):
    X = np.column_stack([np.linspace(0, 0.4, 12), np.full(12, 0.5)])
    model = cls(random_state=0).fit(X, np.sin(4 * X[:, 0]))
    _, near = model.predict(np.array([[0.2, 0.5]]))
    _, far = model.predict(np.array([[1.0, 0.5]]))
    assert far[0] > near[0]


def test_gp_with_one_observation_predicts_it_back():
    gp = GaussianProcess().fit(np.array([[0.5, 0.5]]), np.array([7.0]))
    mean, std = gp.predict(np.array([[0.5, 0.5]]))
    assert mean[0] == pytest.approx(7.0, abs=0.1)
    assert gp.std_upper_bound >= std[0]


def test_gp_condition_keeps_hyperparameters_and_uses_the_new_point(data):
    X, y = data
    gp = GaussianProcess().fit(X, y)
    extra = np.array([[0.95, 0.05]])
    conditioned = gp.condition(np.vstack([X, extra]), np.append(y, 10.0))
    assert conditioned.hyperparameters == gp.hyperparameters
    assert conditioned.predict(extra)[0][0] > gp.predict(extra)[0][0] + 1


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="2-d array"):
        GaussianProcess().fit(np.arange(3.0), np.arange(3.0))
    with pytest.raises(ValueError, match="3 rows but y has 2"):
        RandomForest().fit(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="NaN"):
        PolynomialEnsemble().fit(np.zeros((2, 2)), np.array([1.0, np.nan]))


def test_forest_spread_is_zero_only_where_the_trees_agree():
    X = np.linspace(0, 1, 30)[:, None].repeat(2, axis=1)
    flat = RandomForest().fit(X, np.ones(30)).predict(X)[1]
    steep = RandomForest().fit(X, np.sin(10 * X[:, 0])).predict(X)[1]
    assert np.all(flat == 0) and steep.max() > 0.05
