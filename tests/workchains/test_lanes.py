"""Parallel lanes sharing one learner: every instrument busy, provenance of what each model saw."""

from aiida import orm
from aiida.engine import run_get_node

from aiida_bigmap_al.analysis.history import format_table
from aiida_bigmap_al.export import campaign_record
from aiida_bigmap_al.workchains import ActiveLearningWorkChain
from aiida_bigmap_al.workchains.lane import InstrumentLaneWorkChain
from aiida_bigmap_al.workchains.lanes_campaign import LanesCampaignWorkChain

from .test_simulation_campaign import campaign_inputs, simulator_code  # noqa: F401 (fixture)


def test_two_lanes_share_the_learner_and_the_budget(aiida_profile, simulator_code):  # noqa: F811
    inputs = campaign_inputs(simulator_code, [298.15], budget=6)
    inputs["methods"] = {"instruments": {"sim_a": simulator_code, "sim_b": simulator_code}}
    _, node = run_get_node(ActiveLearningWorkChain, **inputs)
    assert node.is_finished_ok, node.exit_message
    lanes = [c for c in node.called if c.process_class is InstrumentLaneWorkChain]
    assert len(lanes) == 2 and all(lane.is_finished_ok for lane in lanes)
    rows = node.outputs.dataset["rows"]
    assert len(rows) == 6
    group = orm.load_group(f"bigmap-al/campaign/{node.uuid}")
    suggestions = [n for n in group.nodes if n.base.extras.get("status", None) == "measured"]
    assert len(suggestions) == 6
    # Each model-based suggestion saw exactly the measurements that existed, and the pending
    # suggestion of the other lane: the inputs of its `suggest` call say so.
    later = [s for s in suggestions if s.creator.process_label == "suggest"]
    assert later
    for suggestion in later:
        call = suggestion.creator
        dataset = call.inputs.dataset
        pending = [label for label in call.inputs if label.startswith("pending_")]
        assert dataset["version"] == len(dataset["rows"]) >= 1
        assert len(pending) <= 1
    assert any(label.startswith("pending_") for s in later for label in s.creator.inputs)
    # `bigmap-al campaign show` finds the measurement of each suggestion, made inside the lanes.
    record = campaign_record(node)
    statuses = [s["status"] for it in record["iterations"] for s in it["suggestions"]]
    assert statuses == ["measured"] * 6
    fits = [c for lane in lanes for c in lane.called if c.process_label == "fit_model"]
    assert len(record["models"]) == len(fits) >= 4  # the lanes' models, in the model history


def start_dataset(points, temperature=298.15, value=5.0):
    return orm.Dict({"version": 0, "variables": ["r", "c"], "unit": "mS/cm", "rows": [
        {"r": r, "c": c, "temperature": temperature, "value": value + i, "origin": "experiment",
         "measurement": None} for i, (r, c) in enumerate(points)]})


def test_lanes_start_from_initial_data_and_count_it_in_the_budget(aiida_profile, simulator_code):  # noqa: F811
    inputs = campaign_inputs(simulator_code, [298.15], budget=5)
    inputs["methods"] = {"instruments": {"sim_a": simulator_code, "sim_b": simulator_code}}
    inputs["initial_data"] = start_dataset([(0.2, 0.5), (0.8, 1.5)])
    _, node = run_get_node(ActiveLearningWorkChain, **inputs)
    assert node.is_finished_ok, node.exit_message
    rows = node.outputs.dataset["rows"]
    # Both lanes race for the last measurement of the budget: exactly one gets it.
    assert len(rows) == 5 and rows[:2] == inputs["initial_data"]["rows"]
    # The first point of each lane came from a model of the initial data, not a random design.
    lanes = [c for c in node.called if c.process_class is InstrumentLaneWorkChain]
    assert {lane.inputs.first.creator.process_label for lane in lanes} == {"suggest"}
    assert all(len(lane.inputs.first.creator.inputs.dataset["rows"]) == 2 for lane in lanes)


def test_lanes_stop_once_a_measured_value_reaches_stop_at(aiida_profile, simulator_code):  # noqa: F811
    inputs = campaign_inputs(simulator_code, [298.15], budget=8)
    inputs["methods"] = {"instruments": {"sim_a": simulator_code, "sim_b": simulator_code}}
    inputs["stop_at"] = orm.Float(0.01)  # any conductivity reaches it
    _, node = run_get_node(ActiveLearningWorkChain, **inputs)
    assert node.is_finished_ok, node.exit_message
    assert len(node.outputs.dataset["rows"]) == 2  # each lane's first measurement, no more


def test_lanes_do_not_retry_failed_points_and_stop_an_instrument_that_keeps_failing(
        aiida_profile, simulator_code):  # noqa: F811
    # At 243.15 K the Flores law turns negative at high salt: the model does not know that, and
    # its favourite points there fail. A lane once retried the same failed point for ever.
    inputs = campaign_inputs(simulator_code, [243.15], budget=6)
    inputs["methods"] = {"instruments": {"sim_a": simulator_code, "sim_b": simulator_code}}
    _, node = run_get_node(ActiveLearningWorkChain, **inputs)
    jobs = [job for lane in node.called if lane.process_class is InstrumentLaneWorkChain for job in lane.called
            if job.process_label == "SimulationCalcJob"]
    points = [(job.inputs.suggestion["variables"]["r"], job.inputs.suggestion["variables"]["c"]) for job in jobs]
    assert any(not job.is_finished_ok for job in jobs), "expected out-of-range simulations here"
    assert len(points) == len(set(points)), "a failed point was suggested again"
    # `bigmap-al campaign show` lists every measurement of the lanes, the failed ones too.
    record = campaign_record(node)
    statuses = [s["status"] for it in record["iterations"] for s in it["suggestions"]]
    assert sorted(statuses) == sorted("measured" if job.is_finished_ok else "failed" for job in jobs)
    assert "FAILED" in format_table(record)
    for lane in (c for c in node.called if c.process_class is InstrumentLaneWorkChain):
        if not lane.is_finished_ok:
            assert lane.exit_status == InstrumentLaneWorkChain.exit_codes.ERROR_INSTRUMENT_FAILING.status
            lane_jobs = sorted((c for c in lane.called if c.process_label == "SimulationCalcJob"), key=lambda c: c.ctime)
            assert not any(job.is_finished_ok for job in lane_jobs[-3:])


def test_lane_nodes_load_by_the_entry_point_and_by_the_module_path_older_versions_stored(aiida_profile):
    from aiida.plugins import WorkflowFactory

    assert WorkflowFactory("bigmap.lane") is InstrumentLaneWorkChain
    # Lanes stored before the entry point existed name their class by module path.
    for process_type in ("aiida.workflows:bigmap.lane", "aiida_bigmap_al.workchains.lane.InstrumentLaneWorkChain"):
        node = orm.WorkflowNode()
        node.process_type = process_type
        node.store()
        assert orm.load_node(node.pk).process_class is InstrumentLaneWorkChain


def test_a_lanes_campaign_in_which_nothing_could_be_measured_ends_with_its_own_exit_code(
        aiida_profile, simulator_code, aiida_code_installed):  # noqa: F811
    broken = aiida_code_installed(label="broken-sim", filepath_executable="/bin/false",
                                  default_calc_job_plugin="bigmap.simulation")
    inputs = campaign_inputs(simulator_code, [298.15], budget=4)
    inputs["methods"] = {"instruments": {"broken": broken}}
    for name in ("batch_size", "n_initial"):  # the batch mode's inputs are no inputs of the lanes mode
        del inputs[name]
    _, node = run_get_node(LanesCampaignWorkChain, **inputs)
    assert node.exit_status == LanesCampaignWorkChain.exit_codes.ERROR_NOTHING_MEASURED.status == 330
    lane, = (c for c in node.called if c.process_class is InstrumentLaneWorkChain)
    job, = (c for c in lane.called if c.process_label == "SimulationCalcJob")
    assert not job.is_finished_ok
    # The lane's process handlers saw the failure: reported it, and did not stop the instrument yet.
    assert lane.base.extras.get("considered_handlers") == [[job.pk, ["report_and_go_on", {
        "do_break": False, "exit_status": 0}], ["stop_a_failing_instrument", None]]]
