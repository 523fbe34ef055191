"""A campaign over two temperatures looks for the best at each, and reports the best at each.

Replayed on the FZJ data at 10 and 30 °C, with temperature as a model input: with the global
objective a campaign chases the highest conductivity, which is always at 30 °C; with the
per-temperature objective (the default) it measures at both.
"""

import pytest
import yaml
from aiida.engine import run_get_node
from click.testing import CliRunner

from aiida_bigmap_al.campaign_spec import load_spec
from aiida_bigmap_al.cli import main
from aiida_bigmap_al.workchains import ActiveLearningWorkChain

pytestmark = pytest.mark.slow

COLD, WARM = 283.15, 303.15
BUDGET = 7


def run_campaign(tmp_path, fzj_csv, objective):
    spec = {"temperatures": [COLD, WARM], "strategy": "gp-landesfeind-ucb", "objective": objective,
            "budget": BUDGET, "n_initial": 1, "seed": 2, "methods": {"replay": {"data": str(fzj_csv)}}}
    path = tmp_path / f"{objective}.yaml"
    path.write_text(yaml.safe_dump(spec))
    _, node = run_get_node(ActiveLearningWorkChain, **load_spec(path).inputs())
    assert node.is_finished_ok, node.exit_message
    return node


def temperatures_measured(node):
    return [round(row["temperature"], 2) for row in node.outputs.dataset["rows"]]


@pytest.fixture(scope="module")
def campaigns(aiida_profile, fzj_csv, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("campaigns")
    return {objective: run_campaign(tmp_path, fzj_csv, objective)
            for objective in ("global", "per_temperature")}


def test_per_temperature_campaign_measures_at_both_temperatures(campaigns):
    measured = temperatures_measured(campaigns["per_temperature"])
    assert len(measured) == BUDGET
    assert measured.count(COLD) >= 2 and measured.count(WARM) >= 2, measured
    # The global objective spends (nearly) everything at the warmer temperature.
    assert temperatures_measured(campaigns["global"]).count(WARM) >= BUDGET - 1
    assert campaigns["per_temperature"].outputs.model["strategy"]["objective"] == "per_temperature"


def test_best_output_holds_the_best_at_each_temperature(campaigns):
    node = campaigns["per_temperature"]
    rows, best = node.outputs.dataset["rows"], node.outputs.best
    per_temperature = best["per_temperature"]
    assert [row["temperature"] for row in per_temperature] == [COLD, WARM]
    for row in per_temperature:
        here = [r["value"] for r in rows if r["temperature"] == row["temperature"]]
        assert row["value"] == max(here)
    assert best["value"] == max(r["value"] for r in rows)  # the overall best is still there


def test_campaign_show_prints_the_best_at_each_temperature(campaigns, tmp_path):
    node = campaigns["per_temperature"]
    result = CliRunner().invoke(main, ["campaign", "show", str(node.pk), "--plot", str(tmp_path / "p.png")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    per_temperature = [line for line in lines if line.startswith("Best at ")]
    assert per_temperature == [
        f"Best at {row['temperature']:.2f} K: {row['value']:.3f} mS/cm at r={row['r']:.3f}, "
        f"c={row['c']:.3f} mol/kg" for row in node.outputs.best["per_temperature"]]
    assert lines[-2].startswith("Best: ")
