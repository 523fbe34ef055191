"""Lanes on a real daemon claim their points: no point is measured twice, the budget is never exceeded.

Two lanes on two daemon workers once read the campaign at the same moment, suggested the same
point and measured it twice (a lab day lost per duplicate). These tests run real lanes on a
daemon (SQLite + ZeroMQ): one where the test itself claims, under the campaign's lock, the very
point the lane is about to claim, and campaigns of four lanes on two workers.
"""

import time

import pytest
from aiida import orm
from aiida.engine import submit

from aiida_bigmap_al.ledger import Status
from aiida_bigmap_al.workchains import ActiveLearningWorkChain, campaign_group
from aiida_bigmap_al.workchains.lane import InstrumentLaneWorkChain

from .test_simulation_campaign import campaign_inputs, simulator_code  # noqa: F401 (fixture)


@pytest.fixture
def two_worker_daemon(daemon_client):
    """The test profile's daemon with two workers, stopped afterwards (with time to stop under load)."""
    if daemon_client.is_daemon_running:
        daemon_client.stop_daemon(wait=True, timeout=120)
    daemon_client.start_daemon(number_workers=2, timeout=60)
    try:
        yield daemon_client
    finally:
        daemon_client.stop_daemon(wait=True, timeout=120)


def lane_campaign(code, lanes, budget, seed=0):
    inputs = campaign_inputs(code, [298.15], budget=budget)
    inputs["methods"] = {"instruments": {f"lane_{i}": code for i in range(lanes)}}
    inputs["seed"] = orm.Int(seed)
    return inputs


def wait_for(condition, timeout=120):
    """The first true value of ``condition()``, asked every 0.1 s."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return value


def lane_jobs(node):
    return [job for lane in node.called if lane.process_class is InstrumentLaneWorkChain
            for job in lane.called if job.process_label == "SimulationCalcJob"]


def point(suggestion):
    return suggestion["variables"]["r"], suggestion["variables"]["c"], suggestion["temperature"]["value"]


def test_a_point_claimed_by_another_lane_meanwhile_is_withdrawn_and_suggested_anew(
        aiida_profile, simulator_code, submit_and_await):  # noqa: F811
    node = submit(ActiveLearningWorkChain, **lane_campaign(simulator_code, lanes=1, budget=3))
    lane = wait_for(lambda: next((c for c in node.called if c.process_class is InstrumentLaneWorkChain), None))
    group = orm.load_group(f"bigmap-al/campaign/{node.uuid}")
    wait_for(lambda: lane.called)  # its first measurement runs
    with campaign_group.locked(group, holder="the test, as another lane"):
        # The lane measures, fits and suggests, then waits for the lock to claim its point: the
        # test takes that very point first, as a lane on another worker could have.
        proposal = wait_for(lambda: next((c.outputs.suggestion_0 for c in lane.called
                                          if c.process_label == "suggest" and c.is_finished_ok), None))
        rival = orm.Dict(proposal.get_dict()).store()
        campaign_group.register(group, [rival], Status.PENDING)
    node = submit_and_await(node, timeout=240)
    assert node.is_finished_ok, node.exit_message
    assert orm.load_node(proposal.pk).base.extras.get("status") == "withdrawn"
    suggests = sorted((c for c in lane.called if c.process_label == "suggest"), key=lambda c: c.ctime)
    again = suggests[1]  # the lane suggested again, knowing the rival's point as pending
    assert rival.uuid in {again.inputs[label].uuid for label in again.inputs if label.startswith("pending_")}
    measured = [point(job.inputs.suggestion) for job in lane_jobs(node)]
    assert point(rival) not in measured and len(measured) == len(set(measured)) == 2  # the rival took one of 3
    assert any("withdrawn: another lane claimed the same point" in log.message
               for log in orm.Log.collection.get_logs_for(lane))


def test_four_lanes_on_two_daemon_workers_never_measure_a_point_twice(
        aiida_profile, simulator_code, two_worker_daemon, submit_and_await):  # noqa: F811
    budget = 8
    assert two_worker_daemon.get_numprocesses()["numprocesses"] == 2
    nodes = [submit(ActiveLearningWorkChain, **lane_campaign(simulator_code, lanes=4, budget=budget, seed=seed))
             for seed in (0, 2)]
    nodes = [submit_and_await(node, timeout=400) for node in nodes]
    for node in nodes:
        assert node.is_finished_ok, node.exit_message
        jobs = lane_jobs(node)
        points = [point(job.inputs.suggestion) for job in jobs]
        assert len(points) == len(set(points)), f"campaign {node.pk} measured a point twice"
        measured = sum(job.is_finished_ok for job in jobs)
        assert budget - 1 <= measured <= budget
        assert len(node.outputs.dataset["rows"]) == measured
