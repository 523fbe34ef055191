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


def test_length_scale_prior_decides_where_the_data_cannot():
    # One observation: the likelihood does not depend on the length scales, so the MAP fit
    # puts each at its prior median (here different from the initial 0.3).
    gp = GaussianProcess(length_scale_prior=[[0.1, 1.0], [2.0, 0.5]], length_scale_bounds=(0.01, 100))
    gp.fit(np.array([[0.5, 0.5]]), np.array([3.0]))
    np.testing.assert_allclose(gp.hyperparameters["k1__k2__length_scale"], [0.1, 2.0], rtol=1e-4)


def test_length_scale_prior_shortens_nothing_the_data_pin_down(data):
    # With 40 points of a smooth function a weak prior changes the fit only a little.
    X, y = data
    free = GaussianProcess(length_scale_bounds=(0.01, 100)).fit(X, y)
    weak = GaussianProcess(length_scale_bounds=(0.01, 100), length_scale_prior=[0.3, 3.0]).fit(X, y)
    np.testing.assert_allclose(weak.hyperparameters["k1__k2__length_scale"],
                               free.hyperparameters["k1__k2__length_scale"], rtol=0.25)


def test_offset_term_and_the_std_bound():
    rng = np.random.default_rng(0)
    X = rng.random((25, 3))
    y = np.sin(3 * X[:, 0]) + 2 * X[:, 2]
    gp = GaussianProcess(offset_features=(2,), length_scale_prior=[0.3, 1.0]).fit(X, y)
    params = gp.hyperparameters
    assert np.size(params["k1__k2__k2__kernel__length_scale"]) == 1
    signal, offset = params["k1__k1__k1__constant_value"], params["k1__k2__k1__constant_value"]
    expected = gp.y_scale_ * np.sqrt(signal + offset + params["k2__noise_level"])
    assert gp.std_upper_bound == pytest.approx(expected)
    _, std = gp.predict(rng.random((500, 3)) * 3 - 1)  # far outside the data too
    assert std.max() <= gp.std_upper_bound + 1e-12


def test_hyperparameters_from_a_subset_posterior_from_all(data):
    X, y = data
    gp = GaussianProcess(max_fit_points=15, random_state=4).fit(X, y)
    assert gp.gp_.X_train_.shape == (40, 2)
    again = GaussianProcess(max_fit_points=15, random_state=4).fit(X, y)
    assert again.hyperparameters == gp.hyperparameters
    mean, _ = gp.predict(X)
    assert np.max(np.abs(mean - y)) < 0.1 * np.std(y)


def test_gp_settings_are_checked():
    X, y = np.random.default_rng(0).random((5, 2)), np.arange(5.0)
    with pytest.raises(ValueError, match="length_scale_prior has 3 entries for 2 features"):
        GaussianProcess(length_scale_prior=[[0.3, 1], [0.3, 1], [0.3, 1]]).fit(X, y)
    with pytest.raises(ValueError, match=r"offset_features \[2\] are not columns of 2 features"):
        GaussianProcess(offset_features=(2,)).fit(X, y)


def test_screen_bounds_the_exact_mean_and_std():
    rng = np.random.default_rng(3)
    X = rng.random((60, 3))
    y = np.sin(3 * X[:, 0]) * X[:, 1] + X[:, 2] + 0.01 * rng.standard_normal(60)
    gp = GaussianProcess(offset_features=(2,), length_scale_prior=[0.3, 2.0]).fit(X, y)
    candidates = rng.random((3000, 3)) * 1.4 - 0.2  # inside and around the data
    mean, error, std_bound = gp.screen(candidates)
    exact_mean, exact_std = gp.predict(candidates)
    assert np.all(np.abs(mean - exact_mean) <= error)
    assert np.mean(mean >= mean.max() - 2 * error) < 0.05  # tight enough to pre-select
    assert np.all(exact_std <= std_bound * (1 + 1e-9))
    assert np.all(std_bound <= gp.std_upper_bound * (1 + 1e-9))
    near_data = gp.screen(X + 1e-3)[2]
    assert np.median(near_data) < 0.5 * gp.std_upper_bound  # informative where data are


def test_length_scale_prior_may_skip_a_feature():
    gp = GaussianProcess(length_scale_prior=[None, [2.0, 0.1]], length_scale_bounds=(0.01, 100))
    gp.fit(np.array([[0.5, 0.5]]), np.array([3.0]))
    length_scales = gp.hyperparameters["k1__k2__length_scale"]
    assert length_scales[0] == pytest.approx(0.3)  # no prior, flat likelihood: stays where it started
    assert length_scales[1] == pytest.approx(2.0, rel=1e-4)
