"""A campaign measured by real SimulationCalcJobs on localhost, with ``run`` and on the daemon."""

import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_bigmap_al.calcjobs import SimulationCalcJob
from aiida_bigmap_al.learning import STRATEGIES
from aiida_bigmap_al.profile import simulator_executable
from aiida_bigmap_al.space import fzj_space
from aiida_bigmap_al.workchains import ActiveLearningWorkChain


@pytest.fixture
def simulator_code(aiida_code_installed):
    return aiida_code_installed(label="bigmap-sim", filepath_executable=str(simulator_executable()),
                                default_calc_job_plugin="bigmap.simulation")


def campaign_inputs(code, temperatures, budget=4, batch_size=2):
    return {
        "space": orm.Dict(fzj_space(temperatures=temperatures).to_dict()),
        "strategy": orm.Dict(STRATEGIES["gp-ucb"].model_dump(mode="json")),
        "budget": orm.Int(budget),
        "batch_size": orm.Int(batch_size),
        "n_initial": orm.Int(2),
        "n_candidates": orm.Int(256),
        "methods": {"simulation": {"code": code}},
    }


def test_simulation_campaign_measures_batches_in_parallel(aiida_profile, simulator_code):
    _, node = run_get_node(ActiveLearningWorkChain, **campaign_inputs(simulator_code, [298.15]))
    assert node.is_finished_ok, node.exit_message
    jobs = [c for c in node.called if c.process_class is SimulationCalcJob]
    assert len(jobs) == 4 and all(job.is_finished_ok for job in jobs)
    rows = node.outputs.dataset["rows"]
    assert {row["origin"] for row in rows} == {"simulation"}
    # Each job measured a suggestion, and its measurement is the one in the dataset.
    for job in jobs:
        suggestion = job.inputs.suggestion
        assert suggestion.creator.process_label in {"initial_design", "suggest"}
        assert job.outputs.measurement.uuid in {row["measurement"] for row in rows}
    assert node.outputs.best["value"] == max(row["value"] for row in rows)


def test_out_of_range_simulation_is_a_failed_measurement_not_a_failed_campaign(
        aiida_profile, simulator_code):
    # At 243.15 K the Flores law turns negative at high salt: part of the Sobol start falls there.
    _, node = run_get_node(ActiveLearningWorkChain,
                           **campaign_inputs(simulator_code, [243.15], budget=6, batch_size=3))
    failed = [f for it in node.outputs.history["iterations"] for f in it["failed"]]
    assert node.is_finished_ok, node.exit_message
    assert failed, "expected at least one out-of-range simulation in this campaign"
    assert all(f["exit_status"] == SimulationCalcJob.exit_codes.ERROR_OUTSIDE_MODEL_RANGE.status
               for f in failed)
    assert len(node.outputs.dataset["rows"]) == 6
