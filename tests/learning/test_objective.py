"""The per-temperature objective: improvement over the best at the candidate's own temperature."""

import numpy as np
import pytest

from aiida_bigmap_al.campaign_spec import CampaignSpec
from aiida_bigmap_al.learning import STRATEGIES, Strategy, make_acquisition, propose
from aiida_bigmap_al.learning.objective import best_per_temperature, incumbents
from aiida_bigmap_al.space import fzj_space

COLD, WARM = 263.15, 303.15


def surface(X):
    """A conductivity-like surface: a peak at (r, c) = (0.5, 1.0) on a level that grows with T."""
    r, c, T = X.T
    return 0.1 * (T - 240.0) + 2.0 * np.exp(-((r - 0.5) ** 2 + (c - 1.0) ** 2) / 0.1)


def grid():
    r, c = np.meshgrid(np.linspace(0.1, 0.9, 5), np.linspace(0.4, 1.6, 5))
    formulations = np.column_stack([r.ravel(), c.ravel()])
    return np.vstack([np.column_stack([formulations, np.full(len(formulations), T)])
                      for T in (COLD, WARM)])


def test_per_temperature_picks_the_colder_temperature_where_global_picks_the_warmest():
    candidates = grid()
    y_all = surface(candidates)
    peak_warm = int(np.argmax(np.where(candidates[:, 2] == WARM, y_all, -np.inf)))
    # Half the warm formulations are measured, the peak among them; three cold ones, far from it.
    warm = np.flatnonzero(candidates[:, 2] == WARM)
    far_cold = [i for i in np.flatnonzero(candidates[:, 2] == COLD)
                if abs(candidates[i, 1] - 1.0) > 0.5][:3]
    measured = sorted({*warm[::2], peak_warm, *far_cold})
    X, y = candidates[measured], y_all[measured]
    space = fzj_space(temperature_variable=True)
    picks = {}
    for objective in ("global", "per_temperature"):
        strategy = STRATEGIES["gp-ucb"].model_copy(update={"objective": objective})
        model = strategy.build_model(space.bounds, 0, space.names).fit(X, y)
        incumbent = strategy.incumbent(space.names, candidates, X, y)
        [proposal] = propose(model, X, y, candidates, strategy.acquisition_function(),
                             exclude=measured, incumbent=incumbent)
        picks[objective] = proposal.index
    # Any warm formulation beats the cold peak in value, but none can beat the warm best.
    assert candidates[picks["global"], 2] == WARM
    assert candidates[picks["per_temperature"], 2] == COLD


def test_incumbent_is_the_best_at_each_temperature_and_the_floor_where_none_was_measured():
    candidate_T = np.array([250.0, 260.0, 270.0, 260.0])
    result = incumbents(candidate_T, [260.0, 260.0, 270.0], [1.0, 3.0, 2.0])
    np.testing.assert_array_equal(result, [0.0, 3.0, 2.0, 3.0])
    # A figure of merit that can be negative: the floor is the lowest measured value.
    np.testing.assert_array_equal(incumbents([250.0, 260.0], [260.0], [-4.0]), [-4.0, -4.0])


@pytest.mark.parametrize("acquisition", ["ucb", "ei", "exploit"])
def test_pruned_proposals_with_incumbents_equal_brute_force(acquisition):
    """The std pruning and the fast mean screen stay exact with a per-candidate incumbent."""
    rng = np.random.default_rng(5)
    space = fzj_space(temperature_variable=True)
    candidates = np.column_stack([rng.uniform(0, 1, 3000), rng.uniform(0.2, 2, 3000),
                                  rng.choice([COLD, WARM], 3000)])
    X = candidates[:40]
    y = surface(X) + rng.normal(0, 0.05, len(X))
    strategy = STRATEGIES["gp-landesfeind-ucb"].model_copy(
        update={"acquisition": {"name": acquisition, "params": {}}})
    model = strategy.build_model(space.bounds, 0, space.names).fit(X, y)
    incumbent = strategy.incumbent(space.names, candidates, X, y)
    score = make_acquisition(acquisition)
    [proposal] = propose(model, X, y, candidates, score, exclude=range(40), incumbent=incumbent)
    mean, std = model.predict(candidates)
    brute = score(mean - incumbent, std, 0.0)
    brute[:40] = -np.inf
    assert proposal.index == int(np.argmax(brute))
    assert proposal.mean == pytest.approx(mean[proposal.index], rel=1e-6)


def test_incumbent_needs_one_value_per_candidate():
    space = fzj_space(temperature_variable=True)
    X = grid()[:5]
    model = STRATEGIES["gp-ucb"].build_model(space.bounds, 0, space.names).fit(X, surface(X))
    with pytest.raises(ValueError, match="one value per candidate"):
        propose(model, X, surface(X), grid(), make_acquisition("ucb"), incumbent=[1.0, 2.0])


def test_objective_defaults_to_per_temperature_and_matters_only_with_temperature_as_input():
    strategy = STRATEGIES["gp-ucb"]
    assert strategy.objective == "per_temperature"
    X = grid()
    assert strategy.incumbent(["r", "c"], X[:, :2], X[:3, :2], [1.0, 2.0, 3.0]) is None
    assert strategy.model_copy(update={"objective": "global"}).incumbent(
        ["r", "c", "T"], X, X[:3], [1.0, 2.0, 3.0]) is None
    with pytest.raises(ValueError, match="objective"):
        Strategy.model_validate({**strategy.model_dump(), "objective": "warmest"})


def test_campaign_files_set_the_objective_of_their_strategy():
    spec = {"temperatures": [COLD, WARM], "strategy": "gp-ucb", "budget": 4, "methods": {}}
    assert CampaignSpec.model_validate(spec).strategy.objective == "per_temperature"
    assert CampaignSpec.model_validate({**spec, "objective": "global"}).strategy.objective == "global"
    with pytest.raises(ValueError, match="objective"):
        CampaignSpec.model_validate({**spec, "objective": "warmest"})


def test_best_per_temperature_is_the_best_row_at_each_coldest_first():
    rows = [{"temperature": 300.0, "value": 5.0, "r": 0.1}, {"temperature": 260.0, "value": 1.0, "r": 0.2},
            {"temperature": 300.0, "value": 7.0, "r": 0.3},
            {"temperature": 260.0 + 1e-9, "value": 2.0, "r": 0.4}]
    assert [row["r"] for row in best_per_temperature(rows)] == [0.4, 0.3]
