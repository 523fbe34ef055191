"""Cross-validation grouped by formulation, recalibrated std and measurement noise."""

import numpy as np
import pytest

from aiida_bigmap_al.learning import GaussianProcess
from aiida_bigmap_al.learning.calibration import Calibration, MeasurementNoise, replicate_scatter
from aiida_bigmap_al.learning.crossval import cross_validate, group_folds
from aiida_bigmap_al.learning.scoring import CalibratedModel, score_model


def test_folds_hold_whole_groups_and_are_balanced():
    groups = np.repeat(np.arange(23), 4)  # 23 formulations at 4 temperatures
    fold = group_folds(groups, n_folds=5, seed=3)
    for group in np.unique(groups):
        assert len(set(fold[groups == group])) == 1
    sizes = np.bincount(fold) // 4
    assert sizes.max() - sizes.min() <= 1
    assert np.array_equal(fold, group_folds(groups, n_folds=5, seed=3))
    assert not np.array_equal(fold, group_folds(groups, n_folds=5, seed=4))


def test_folds_refuse_more_folds_than_groups():
    with pytest.raises(ValueError, match="number of groups"):
        group_folds([1, 1, 2, 2], n_folds=3)


class Recording(GaussianProcess):
    """A real GP that remembers what it was trained on."""

    trained_on = []

    def fit(self, X, y, noise_std=None):
        Recording.trained_on.append(np.asarray(X).copy())
        return super().fit(X, y, noise_std)


def test_cross_validation_never_trains_on_a_held_out_formulation():
    rng = np.random.default_rng(0)
    formulations = rng.uniform(size=(12, 2))
    X = np.vstack([np.column_stack([formulations, np.full(12, t)]) for t in (0.0, 0.5, 1.0)])
    groups = np.tile(np.arange(12), 3)
    Recording.trained_on = []
    cv = cross_validate(lambda: Recording(), X, X.sum(axis=1), groups, n_folds=4, seed=1)
    for k, trained in enumerate(Recording.trained_on):
        held_out = {tuple(row) for row in formulations[np.unique(groups[cv.fold == k])]}
        assert held_out.isdisjoint({tuple(row) for row in trained[:, :2]})
    assert np.all(np.isfinite(cv.mean)) and np.all(cv.std > 0)


def test_scale_factor_recovers_an_underestimated_std():
    rng = np.random.default_rng(1)
    std = np.full(4000, 0.5)
    residual = rng.normal(scale=3 * 0.5, size=4000)
    calibration = Calibration.fit(residual, std, np.zeros(4000), np.zeros(4000))
    assert calibration.scales[0] == pytest.approx(3.0, rel=0.05)


def test_scale_factors_are_interpolated_between_conditions():
    calibration = Calibration((250.0, 300.0), (1.0, 3.0))
    assert calibration.scale([240.0, 275.0, 310.0]) == pytest.approx([1.0, 2.0, 3.0])


def _synthetic(rng, n_formulations=60, relative_noise=0.05):
    """A smooth positive function of two variables at three conditions, measured once each with a
    known relative noise that grows with the condition's level (as conductivity's does)."""
    formulations = rng.uniform(size=(n_formulations, 2))
    X = np.vstack([np.column_stack([formulations, np.full(n_formulations, t)])
                   for t in (0.0, 0.5, 1.0)])
    truth = (2 + 6 * X[:, 2]) * (1.5 + np.sin(3 * X[:, 0]) * X[:, 1])
    y = truth * (1 + relative_noise * rng.standard_normal(len(truth)))
    return X, y, np.tile(np.arange(n_formulations), 3)


def test_recalibrated_coverage_is_near_68_and_95_percent():
    """On data with a known noise, the cross-fitted calibrated std covers about 68 % and 95 %."""
    rng = np.random.default_rng(7)
    X, y, groups = _synthetic(rng)
    noise = MeasurementNoise(replicate=0.05, between_batch=0.0)
    score = score_model("gp", lambda: GaussianProcess(random_state=0), X, y, groups, X[:, 2],
                        noise, n_folds=10, seed=0)
    assert 0.60 <= score.coverage[1.0] <= 0.78
    assert 0.90 <= score.coverage[2.0] <= 0.99
    assert score.training_rmse >= 0.8 * score.noise_rmse  # no fit below the noise
    model = GaussianProcess(random_state=0).fit(X, y, noise_std=noise.std(y))
    mean, std = CalibratedModel(model, score.calibration, noise).predict(X[:3], X[:3, 2])
    assert np.all(std >= noise.std(mean))  # a future measurement is never surer than its noise


def test_measurement_noise():
    noise = MeasurementNoise(replicate=0.04, between_batch=0.03)
    assert noise.std(10.0) == pytest.approx(0.5)
    assert noise.std(10.0, n_replicates=4, batch=False) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="between_batch"):
        MeasurementNoise(replicate=0.04, between_batch=1.5)


def test_replicate_scatter_pools_relative_deviations():
    groups = [np.array([9.0, 11.0]), np.array([5.0]), np.array([1.9, 2.1])]
    mean, count = [g.mean() for g in groups], [g.size for g in groups]
    std = [g.std(ddof=1) if g.size > 1 else None for g in groups]
    # relative deviations from the group means: 0.1, 0.1 and 0.05, 0.05 (one degree of freedom each)
    assert replicate_scatter(mean, std, count) == pytest.approx(np.sqrt((0.02 + 0.005) / 2))
    with pytest.raises(ValueError, match="two or more replicates"):
        replicate_scatter([1.0, 2.0], [None, None], [1, 1])
