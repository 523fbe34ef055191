"""Pool campaigns and the benchmark on the shared FZJ data."""

import numpy as np
import pytest

from aiida_bigmap_al.benchmark import pools_from_data, run_benchmark
from aiida_bigmap_al.datasets import load_fzj
from aiida_bigmap_al.learning import RANDOM, STRATEGIES, Strategy, pool_campaign
from aiida_bigmap_al.space import fzj_space


def toy_pool():
    r, c = np.meshgrid(np.linspace(0, 1, 8), np.linspace(0.2, 2.0, 8))
    X = np.column_stack([r.ravel(), c.ravel()])
    y = 10 - 3 * (X[:, 1] - 1.1) ** 2 - X[:, 0]
    return X, y


def test_random_and_strategy_start_from_the_same_formulation():
    X, y = toy_pool()
    space = fzj_space()
    random_order = pool_campaign(X, y, RANDOM, 4, space.bounds, space.names)
    al_order = pool_campaign(X, y, STRATEGIES["gp-exploit"], 4, space.bounds, space.names,
                             budget=5)
    assert sorted(random_order) == list(range(len(X)))
    assert random_order[0] == al_order[0]
    assert len(set(al_order)) == 5


def test_campaign_is_deterministic_and_finds_a_smooth_optimum_fast():
    X, y = toy_pool()
    space = fzj_space()
    orders = [pool_campaign(X, y, STRATEGIES["gp-ucb"], 1, space.bounds, space.names,
                            stop_at=int(np.argmax(y))) for _ in range(2)]
    np.testing.assert_array_equal(*orders)
    assert len(orders[0]) < 15


def test_strategy_configuration_is_validated():
    with pytest.raises(ValueError, match="unknown surrogate 'svm'"):
        Strategy.model_validate({"surrogate": {"name": "svm"}, "acquisition": {"name": "ucb"}})
    with pytest.raises(ValueError, match="extra"):
        Strategy.model_validate({"surrogate": {"name": "gp"}, "acquisition": {"name": "ucb"},
                                 "typo": 1})


@pytest.mark.slow
def test_active_learning_beats_random_on_the_fzj_data(fzj_csv):
    data = load_fzj(fzj_csv)
    pools = pools_from_data(data)
    assert [len(p.y) for p in pools] == [84] + [85] * 9
    figures = run_benchmark(data, ["gp-exploit"], seeds=3, progress=False, source=fzj_csv)
    random, al = figures["strategies"]["random"], figures["strategies"]["gp-exploit"]
    assert set(al["per_temperature"]) == {f"{p.temperature:.2f}" for p in pools}
    assert random["mean_to_best"] > 25  # measured, close to (N + 1) / 2 = 43 on average
    assert al["mean_to_best"] < random["mean_to_best"] / 2
    assert al["acceleration_to_best"] == pytest.approx(random["mean_to_best"] / al["mean_to_best"])


def test_benchmark_pools_are_shuffled_per_seed_so_row_order_cannot_help():
    from aiida_bigmap_al.benchmark import TemperaturePool

    X, y = toy_pool()
    y = y + 0.01 * X[:, 1]  # one best formulation, no tie
    pool = TemperaturePool(283.15, X, y)
    shuffled = [pool.shuffled(seed) for seed in range(6)]
    for other in shuffled:
        assert sorted(map(tuple, other.X)) == sorted(map(tuple, X))
        np.testing.assert_array_equal(other.X[other.best], X[pool.best])
    np.testing.assert_array_equal(pool.shuffled(3).X, shuffled[3].X)  # deterministic
    # With one measurement gp-exploit's mean is flat and argmax takes the first free row: on a
    # sorted pool that is the same formulation in every campaign, on shuffled pools it is not.
    space = fzj_space()
    second = {tuple(p.X[pool_campaign(p.X, p.y, STRATEGIES["gp-exploit"], seed, space.bounds,
                                       space.names, budget=2)[1]])
              for seed, p in enumerate(shuffled)}
    assert len(second) > 1
