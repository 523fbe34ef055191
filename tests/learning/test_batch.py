"""Batch proposals: k distinct points, aware of pending ones, and exact when pruning by the std."""

import numpy as np
import pytest

from aiida_bigmap_al.learning import GaussianProcess, Model, make_acquisition, propose


@pytest.fixture
def fitted():
    rng = np.random.default_rng(0)
    X = rng.random((15, 2))
    y = -((X[:, 0] - 0.7) ** 2) - (X[:, 1] - 0.3) ** 2
    model = Model(GaussianProcess(), [[0, 1], [0, 1]]).fit(X, y)
    candidates = np.random.default_rng(1).random((500, 2))
    return model, X, y, candidates


def test_batch_is_distinct_and_spreads_out(fitted):
    model, X, y, candidates = fitted
    batch = propose(model, X, y, candidates, make_acquisition("ucb", kappa=2.0), k=4)
    indices = [p.index for p in batch]
    assert len(set(indices)) == 4
    points = candidates[indices]
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)[np.triu_indices(4, 1)]
    assert distances.min() > 0.02


def test_pending_point_is_not_proposed_again(fitted):
    model, X, y, candidates = fitted
    acquisition = make_acquisition("ucb", kappa=2.0)
    [first] = propose(model, X, y, candidates, acquisition)
    [second] = propose(model, X, y, candidates, acquisition, pending=candidates[[first.index]],
                       exclude=[first.index])
    assert second.index != first.index
    assert np.linalg.norm(candidates[second.index] - candidates[first.index]) > 1e-3


def test_exclude_and_too_few_candidates(fitted):
    model, X, y, candidates = fitted
    with pytest.raises(ValueError, match="only 1 candidates are left"):
        propose(model, X, y, candidates[:3], make_acquisition("exploit"), k=2, exclude=[0, 1])


@pytest.mark.parametrize("name", ["ucb", "ei", "explore"])
def test_pruned_search_gives_the_exact_argmax(fitted, name):
    model, X, y, _ = fitted
    candidates = np.random.default_rng(2).random((6000, 2))
    acquisition = make_acquisition(name)
    [proposal] = propose(model, X, y, candidates, acquisition)
    mean, std = model.predict(candidates)
    assert proposal.index == int(np.argmax(acquisition(mean, std, y.max())))
    assert proposal.mean == pytest.approx(mean[proposal.index])


@pytest.mark.parametrize("name", ["exploit", "ucb"])
def test_landesfeind_strategy_proposes_the_exact_argmax_in_three_dimensions(name):
    from aiida_bigmap_al.learning import STRATEGIES
    from aiida_bigmap_al.space import fzj_space

    space = fzj_space(temperature_variable=True)
    X = space.sample(80, seed=3)
    y = 10 * X[:, 1] * np.exp(-X[:, 1]) * (X[:, 2] - 200) / 100 + 0.2 * X[:, 0]
    base = STRATEGIES["gp-landesfeind-" + name]
    model = base.build_model(space.bounds, 0, space.names).fit(X, y)
    candidates = space.sample(20000, seed=4)
    acquisition = base.acquisition_function()
    [proposal] = propose(model, X, y, candidates, acquisition)
    mean, std = model.predict(candidates)
    assert proposal.index == int(np.argmax(acquisition(mean, std, y.max())))
