"""An active-learning campaign measured on an (emulated) instrument over the bridge, with a device fault."""

from __future__ import annotations

from aiida import orm
from aiida.engine import run_get_node

from aiida_bigmap_al.calcjobs.experiment import ExperimentCalcJob
from aiida_bigmap_al.learning import STRATEGIES
from aiida_bigmap_al.space import fzj_space
from aiida_bigmap_al.workchains import ActiveLearningWorkChain


def test_campaign_on_the_instrument_goes_on_after_a_device_fault(instrument, server):
    code = instrument(server.url).code
    with server.client() as client:  # the first reading of the campaign comes back as garbage
        client.post("/emulators/cell/fault", json={"mode": "garbage", "command": "MEASURE", "count": 1})
    inputs = {
        "space": orm.Dict(fzj_space(temperatures=[298.15]).to_dict()),
        "strategy": orm.Dict(STRATEGIES["gp-ucb"].model_dump(mode="json")),
        "budget": orm.Int(3),
        "n_initial": orm.Int(3),
        "n_candidates": orm.Int(128),
        "seed": orm.Int(1),
        "methods": {"experiment": {"code": code}},
    }
    _, node = run_get_node(ActiveLearningWorkChain, **inputs)
    assert node.is_finished_ok, node.exit_message

    jobs = [c for c in node.called if c.process_class is ExperimentCalcJob]
    failed = [job for job in jobs if not job.is_finished_ok]
    assert len(jobs) == 4 and len(failed) == 1
    assert failed[0].exit_status == ExperimentCalcJob.exit_codes.ERROR_INSTRUMENT_FAULT.status
    assert all("raw_data" in job.outputs for job in jobs)  # the failed one keeps its log too

    rows = node.outputs.dataset["rows"]
    assert len(rows) == 3 and {row["origin"] for row in rows} == {"experiment"}
    measured = {job.outputs.measurement.uuid for job in jobs if job.is_finished_ok}
    assert {row["measurement"] for row in rows} == measured
    for job in jobs:  # each experiment measured a suggestion of the campaign's learner
        assert job.inputs.suggestion.creator.process_label in {"initial_design", "suggest"}
    history = node.outputs.history["iterations"]
    assert [f["exit_status"] for it in history for f in it["failed"]] == [460]

    with server.client() as client:  # one job per experiment on the rig: nothing measured twice
        states = sorted(job["state"] for job in client.get("/jobs").json())
    assert states == ["done"] * 3 + ["failed"]
