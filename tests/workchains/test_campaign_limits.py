"""A campaign that cannot work is refused before anything runs: the file, a builder and ``--submit`` alike.

Each refusal names the field and what it may be, and nothing is stored: no process node is left
behind, so ``--submit`` cannot hand the daemon a campaign that would fail hours later.
"""

import math
import uuid

import pytest
from aiida import orm
from aiida.engine import run_get_node
from click.testing import CliRunner

from aiida_bigmap_al.campaign_limits import MAX_BATCH_SIZE, MAX_BUDGET, MAX_N_CANDIDATES
from aiida_bigmap_al.cli import main
from aiida_bigmap_al.workchains import ActiveLearningWorkChain

from .test_simulation_campaign import campaign_inputs, simulator_code  # noqa: F401 (fixture)


@pytest.fixture
def experiment_code(aiida_localhost):
    """A code that runs experiments (on a computer that is no instrument: it never runs here)."""
    return orm.InstalledCode(label=f"rig-{uuid.uuid4().hex[:8]}", computer=aiida_localhost, filepath_executable="/bin/true",
                             default_calc_job_plugin="bigmap.experiment").store()


def processes() -> int:
    return orm.QueryBuilder().append(orm.ProcessNode).count()


REFUSED = {
    "below absolute zero": ({"temperatures": [-10.0]}, "above 0 K"),
    "absolute zero": ({"temperatures": [0.0]}, "above 0 K"),
    "hotter than the model": ({"temperatures": [5000.0]}, "[238.15, 338.15] K"),
    "one of several outside": ({"temperatures": [298.15, 350.0]}, "[350.0] K lie outside the domain of the model"),
    "too many candidates": ({"n_candidates": 10**11}, f"`n_candidates` must be from 1 to {MAX_N_CANDIDATES}"),
    "budget too large": ({"budget": MAX_BUDGET + 1}, f"`budget` must be from 1 to {MAX_BUDGET}"),
    "batch too large": ({"batch_size": MAX_BATCH_SIZE + 1}, f"`batch_size` must be from 1 to {MAX_BATCH_SIZE}"),
    "unknown model": ({"model": "nope"}, "unknown model 'nope'; known models: flores2022, landesfeind2019"),
}


def inputs_with(code, temperatures=(298.15,), model=None, **sizes):
    inputs = campaign_inputs(code, list(temperatures))
    inputs.update({name: orm.Int(value) for name, value in sizes.items()})
    if model:
        inputs["methods"]["simulation"]["model"] = orm.Str(model)
    return inputs


@pytest.mark.parametrize("change, message", REFUSED.values(), ids=REFUSED)
def test_a_campaign_that_cannot_work_is_refused_at_launch_and_nothing_is_stored(
        aiida_profile, simulator_code, change, message):  # noqa: F811
    before = processes()
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        run_get_node(ActiveLearningWorkChain, **inputs_with(simulator_code, **change))
    assert processes() == before


@pytest.mark.parametrize("strategy, message", [
    ({"surrogate": {"name": "gp", "params": {"colour": 1}}, "acquisition": {"name": "ucb"}},
     "`strategy` gp/ucb: GaussianProcess.__init__() got an unexpected keyword argument 'colour'"),
    ({"surrogate": {"name": "gp"}, "acquisition": {"name": "ucb", "params": {"kappa": "x"}}}, "`strategy` gp/ucb: "),
    ({"surrogate": {"name": "gp"}, "acquisition": {"name": "ucb", "params": {"kappa": math.inf}}},
     "does not give a finite score"),
])
def test_strategy_parameters_that_cannot_work_are_refused(aiida_profile, simulator_code, strategy, message):  # noqa: F811
    inputs = inputs_with(simulator_code)
    inputs["strategy"] = orm.Dict(strategy)
    assert message in ActiveLearningWorkChain.refusal(inputs)


def test_a_builder_is_refused_like_the_inputs(aiida_profile, simulator_code):  # noqa: F811
    builder = ActiveLearningWorkChain.get_builder()
    builder._update(inputs_with(simulator_code, temperatures=[5000.0]))
    assert "outside the domain of the model 'flores2022'" in ActiveLearningWorkChain.refusal(builder._inputs())
    with pytest.raises(ValueError, match="outside the domain"):
        run_get_node(builder)


def test_the_temperature_range_is_the_chosen_models(aiida_profile, simulator_code):  # noqa: F811
    """landesfeind2019 has its own domain; a point inside flores2022's is not enough."""
    inputs = inputs_with(simulator_code, temperatures=[298.15], model="landesfeind2019")
    assert ActiveLearningWorkChain.refusal(inputs) is None


def test_an_experiment_code_given_as_the_simulation_is_refused(aiida_profile, experiment_code):
    inputs = inputs_with(experiment_code)
    assert ActiveLearningWorkChain.refusal(inputs) == (
        f"`methods.simulation.code` runs 'bigmap.experiment' (code {experiment_code.full_label}); "
        f"it must be a code of 'bigmap.simulation'")


def test_a_simulation_code_given_as_the_experiment_is_refused(aiida_profile, simulator_code):  # noqa: F811
    inputs = inputs_with(simulator_code)
    inputs["methods"] = {"experiment": {"code": simulator_code}}
    assert "it must be a code of 'bigmap.experiment'" in ActiveLearningWorkChain.refusal(inputs)


def test_a_lane_code_must_measure(aiida_profile, aiida_localhost, simulator_code):  # noqa: F811
    adder = orm.InstalledCode(label=f"add-{uuid.uuid4().hex[:8]}", computer=aiida_localhost, filepath_executable="/bin/true",
                              default_calc_job_plugin="core.arithmetic.add").store()
    inputs = inputs_with(simulator_code)
    inputs["methods"] = {"instruments": {"a": simulator_code, "b": adder}}
    assert ActiveLearningWorkChain.refusal(inputs) == (
        f"`methods.instruments.b` runs 'core.arithmetic.add' (code {adder.full_label}); "
        f"it must be a code of 'bigmap.experiment' or 'bigmap.simulation'")


def test_a_campaign_without_a_measurement_method_is_refused(aiida_profile, simulator_code):  # noqa: F811
    inputs = inputs_with(simulator_code)
    inputs["methods"] = {}
    assert ActiveLearningWorkChain.refusal(inputs).startswith("no measurement method is configured")


CAMPAIGN = """temperatures: [{T}]
strategy: gp-ucb
budget: {budget}
n_candidates: {n_candidates}
methods:
  simulation: {{code: {code}, model: {model}}}
"""

FILES = {
    "below absolute zero": ({"T": -10}, "temperatures.0: Input should be greater than 0"),
    "absolute zero": ({"T": 0}, "temperatures.0: Input should be greater than 0"),
    "hotter than the model": ({"T": 5000}, "[5000.0] K lie outside the domain of the model 'flores2022' "
                                           "of `methods.simulation`: [238.15, 338.15] K"),
    "too many candidates": ({"n_candidates": 100000000000},
                            f"n_candidates: Input should be less than or equal to {MAX_N_CANDIDATES}"),
    "a number YAML reads as text": ({"n_candidates": "1e11"}, "n_candidates: Input should be a valid integer"),
    "budget too large": ({"budget": 5000}, f"budget: Input should be less than or equal to {MAX_BUDGET}"),
    "unknown model": ({"model": "nope"},
                      "methods.simulation.model: Input should be 'flores2022' or 'landesfeind2019'"),
}


@pytest.mark.parametrize("change, message", FILES.values(), ids=FILES)
def test_campaign_run_submit_refuses_a_bad_file_and_submits_nothing(
        aiida_profile, tmp_path, simulator_code, change, message):  # noqa: F811
    # By UUID: aiida-core's code fixture makes a new `bigmap-sim@localhost` for every test that asks,
    # so after other tests of the session that label names several codes.
    values = {"T": 298.15, "budget": 4, "n_candidates": 64, "code": simulator_code.uuid,
              "model": "flores2022", **change}
    path = tmp_path / "campaign.yaml"
    path.write_text(CAMPAIGN.format(**values))
    before = processes()
    result = CliRunner().invoke(main, ["campaign", "run", str(path), "--submit"])
    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1 and str(path) in result.output, result.output
    assert message in result.output
    assert "Traceback" not in result.output and processes() == before


def test_campaign_run_submit_refuses_an_experiment_code_as_the_simulation(aiida_profile, tmp_path, experiment_code):
    path = tmp_path / "campaign.yaml"
    path.write_text(CAMPAIGN.format(T=298.15, budget=4, n_candidates=64, code=experiment_code.full_label,
                                    model="flores2022"))
    before = processes()
    result = CliRunner().invoke(main, ["campaign", "run", str(path), "--submit"])
    assert result.exit_code == 1
    assert "`methods.simulation.code` runs 'bigmap.experiment'" in result.output and processes() == before
