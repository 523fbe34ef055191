"""Parallel lanes sharing one learner: every instrument busy, provenance of what each model saw."""

from aiida import orm
from aiida.engine import run_get_node

from aiida_bigmap_al.workchains import ActiveLearningWorkChain
from aiida_bigmap_al.workchains.lane import InstrumentLaneWorkChain

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
