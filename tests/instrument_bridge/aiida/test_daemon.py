"""On the daemon: an experiment queued behind others on its instrument waits without holding the worker."""

from __future__ import annotations

import time

from aiida.engine import submit
from aiida.schedulers.datastructures import JobState

from aiida_bigmap_al.calcjobs.experiment import ExperimentCalcJob

from ..conftest import poll_job
from .test_experiment import _suggestion


def _job_of(client, node, timeout=60):
    """The server's job of ``node``, once the daemon has submitted it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [job for job in client.get("/jobs").json() if job["workspace"] == node.uuid]
        if jobs:
            return jobs[0]
        time.sleep(0.05)
    raise TimeoutError(f"no job of {node.uuid} reached the instrument")


def test_a_waiting_experiment_holds_no_daemon_worker(instrument, make_server, submit_and_await, started_daemon_client):
    assert started_daemon_client.get_numprocesses()["numprocesses"] == 1  # one worker for both experiments
    busy, free = make_server(), make_server()
    with busy.client() as client:
        blocker = client.post("/jobs", json={"method": "hold", "parameters": {"seconds": 300}}).json()
        waiting = submit(ExperimentCalcJob, code=instrument(busy.url).code, suggestion=_suggestion())
        assert _job_of(client, waiting)["state"] == "queued"

        # while that job waits in the busy rig's queue, the same worker carries out another experiment
        other = submit_and_await(ExperimentCalcJob, code=instrument(free.url).code,
                                 suggestion=_suggestion(r=0.6), timeout=60)
        assert other.is_finished_ok, other.exit_message
        assert not waiting.is_terminated and waiting.get_scheduler_state() is JobState.QUEUED

        client.post(f"/jobs/{blocker['id']}/cancel")
        poll_job(client, blocker["id"], {"cancelled"})
    finished = submit_and_await(waiting, timeout=60)
    assert finished.is_finished_ok, finished.exit_message
    assert finished.outputs.measurement["fom_data"]["origin"]["origin"] == "experiment"
