"""The joint benchmark: all temperatures at once, until every temperature's best is measured."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from aiida_bigmap_al.benchmark import pools_from_data
from aiida_bigmap_al.cli import main
from aiida_bigmap_al.datasets import load_fzj
from aiida_bigmap_al.learning import RANDOM, STRATEGIES, pool_campaign
from aiida_bigmap_al.space import fzj_space

TEMPERATURES = (243.15, 293.15, 333.15)  # -30, 20 and 60 °C: three different best formulations


def test_joint_campaigns_share_their_start_and_stop_when_every_target_is_measured():
    space = fzj_space(temperature_variable=True)
    r, c, T = np.meshgrid(np.linspace(0, 1, 5), np.linspace(0.2, 2.0, 5), [263.15, 303.15])
    X = np.column_stack([r.ravel(), c.ravel(), T.ravel()])
    y = 0.1 * (X[:, 2] - 240) - (X[:, 1] - 1.1) ** 2 - 0.3 * X[:, 0]
    start, targets = [3, 27], [int(np.argmax(np.where(X[:, 2] == t, y, -np.inf))) for t in (263.15, 303.15)]
    for strategy in (RANDOM, STRATEGIES["gp-landesfeind-ucb"]):
        order = list(pool_campaign(X, y, strategy, 0, space.bounds, space.names, start=start,
                                   stop_at=targets))
        assert order[:2] == start
        assert set(targets) <= set(order) and order[-1] in targets
        assert len(set(order)) == len(order)


@pytest.mark.slow
def test_benchmark_joint_writes_total_to_best_and_acceleration_per_strategy(fzj_csv, tmp_path):
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(main, [
        "benchmark", "--data", str(fzj_csv), "--seeds", "2", "--joint", "-s", "gp-landesfeind-ucb",
        *[f"-T{T}" for T in TEMPERATURES], "--json", str(out), "--plot", str(tmp_path / "b.png")],
        catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "joint campaigns" in result.output
    joint = json.loads(out.read_text())["joint"]
    assert set(joint) == {RANDOM, "gp-landesfeind-ucb"}
    pools = [pool for pool in pools_from_data(load_fzj(fzj_csv))
             if np.isclose(pool.temperature, TEMPERATURES).any()]
    n_candidates = sum(len(pool.y) for pool in pools)
    for figures in joint.values():
        # At least the three starting measurements plus the bests they missed; at most everything.
        assert len(TEMPERATURES) <= figures["total_to_best"] <= n_candidates
        assert figures["acceleration"] == pytest.approx(
            joint[RANDOM]["total_to_best"] / figures["total_to_best"])
    assert joint[RANDOM]["acceleration"] == 1.0
    assert joint[RANDOM]["total_to_best"] > n_candidates / 4  # three targets among ~255 pairs
    assert joint["gp-landesfeind-ucb"]["total_to_best"] < joint[RANDOM]["total_to_best"]


def test_benchmark_names_a_temperature_without_data(fzj_csv, tmp_path):
    result = CliRunner().invoke(main, ["benchmark", "--data", str(fzj_csv), "--joint", "-T", "250",
                                       "--plot", str(tmp_path / "b.png")])
    assert result.exit_code == 2
    assert "--temperature" in result.output and "no data at [250.0] K" in result.output
