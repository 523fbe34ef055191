"""``bigmap-al campaign run SPEC.yaml``: a campaign from a file, and clear errors for bad files."""

import pathlib
import re
import shutil

import pytest
from aiida import orm
from click.testing import CliRunner

from aiida_bigmap_al.campaign_spec import load_spec
from aiida_bigmap_al.cli import main

from workchains.test_simulation_campaign import simulator_code  # noqa: F401 (fixture)


def write(tmp_path, text):
    path = tmp_path / "campaign.yaml"
    path.write_text(text)
    return path


def test_replay_campaign_from_a_file(aiida_profile, tmp_path, fzj_csv):
    spec = write(tmp_path, f"""
temperatures: [293.15]
strategy: gp-exploit
budget: 4
methods:
  replay: {{data: {fzj_csv}}}
""")
    result = CliRunner().invoke(main, ["campaign", "run", str(spec)])
    assert result.exit_code == 0, result.output
    pk = int(re.search(r"^pk=(\d+)$", result.output, re.M).group(1))
    node = orm.load_node(pk)
    assert node.is_finished_ok
    assert len(node.outputs.dataset["rows"]) == 4
    assert {row["temperature"] for row in node.outputs.dataset["rows"]} == {293.15}


@pytest.mark.parametrize("text, message", [
    ("temperatures: [298.15]\nstrategy: gp-magic\nbudget: 3\nmethods: {}\n", "unknown strategy 'gp-magic'"),
    ("temperatures: []\nstrategy: gp-ucb\nbudget: 3\nmethods: {}\n", "temperatures"),
    ("temperatures: [298.15]\nstrategy: gp-ucb\nbudget: 0\nmethods: {}\n", "budget"),
    ("temperatures: [298.15]\nstrategy: gp-ucb\nbudget: 3\nmethods: {}\nbugdet: 4\n", "bugdet"),
    ("- just\n- a list\n", "mapping"),
])
def test_bad_campaign_files_name_the_field(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_spec(write(tmp_path, text))


def test_unknown_code_is_a_clear_cli_error(aiida_profile, tmp_path):
    spec = write(tmp_path, "temperatures: [298.15]\nstrategy: gp-ucb\nbudget: 3\n"
                           "methods: {simulation: {code: no-such-code@nowhere}}\n")
    result = CliRunner().invoke(main, ["campaign", "run", str(spec)])
    assert result.exit_code == 1
    assert "no-such-code@nowhere" in result.output


FZJ_HEADER = "\tT [K]\tr\tc [mol/kg]\tk [mS/cm]\n"


def test_a_campaign_file_can_start_from_measured_data(aiida_profile, tmp_path, fzj_csv):
    # Two replicates of one formulation at the campaign's temperature, one row at another.
    (tmp_path / "start.csv").write_text(FZJ_HEADER + "0\t293.15\t0.3\t0.9\t7.0\n"
                                        "1\t293.15\t0.3\t0.9\t7.2\n2\t303.15\t0.3\t0.9\t8.5\n")
    spec = write(tmp_path, f"""
temperatures: [293.15]
strategy: gp-exploit
budget: 3
initial_data: start.csv
methods:
  replay: {{data: {fzj_csv}}}
""")
    result = CliRunner().invoke(main, ["campaign", "run", str(spec)])
    assert result.exit_code == 0, result.output
    rows = orm.load_node(int(re.search(r"^pk=(\d+)$", result.output, re.M).group(1))).outputs.dataset["rows"]
    assert len(rows) == 3
    assert (rows[0]["r"], rows[0]["c"], rows[0]["temperature"]) == (0.3, 0.9, 293.15)
    assert rows[0]["value"] == pytest.approx(7.1)  # the mean of the replicates


def test_initial_data_without_rows_at_the_campaign_temperatures_is_a_clear_error(aiida_profile, tmp_path):
    (tmp_path / "start.csv").write_text(FZJ_HEADER + "0\t303.15\t0.3\t0.9\t8.5\n")
    spec = write(tmp_path, "temperatures: [293.15]\nstrategy: gp-ucb\nbudget: 3\ninitial_data: start.csv\n"
                           "methods: {}\n")
    result = CliRunner().invoke(main, ["campaign", "run", str(spec)])
    assert result.exit_code == 1
    assert "has no measurements at the campaign's temperatures [293.15]" in result.output


@pytest.mark.parametrize("example", sorted((pathlib.Path(__file__).parents[1] / "examples" / "campaigns").glob("*.yaml")),
                         ids=lambda path: path.name)
def test_every_example_campaign_file_is_valid(example):
    assert load_spec(example).budget >= 1


def test_a_campaign_that_fails_makes_the_command_fail(aiida_profile, tmp_path, aiida_code_installed):
    """A simulator that always fails (``false``): every measurement fails, and so does the campaign."""
    broken = aiida_code_installed(label="broken-sim", filepath_executable=shutil.which("false"),
                                  default_calc_job_plugin="bigmap.simulation")
    spec = write(tmp_path, f"""
temperatures: [298.15]
strategy: gp-exploit
budget: 2
n_initial: 2
n_candidates: 16
methods:
  simulation: {{code: {broken.full_label}}}
""")
    result = CliRunner().invoke(main, ["campaign", "run", str(spec)])
    assert result.exit_code == 1, result.output
    pk = int(re.search(r"^pk=(\d+)$", result.output, re.M).group(1))
    node = orm.load_node(pk)
    assert not node.is_finished_ok
    assert f"campaign failed [{node.exit_status}] {node.exit_message}" in result.output
