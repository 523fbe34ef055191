"""The broker killed (SIGKILL) and restarted in the middle of a campaign: nothing is lost, nothing is repeated.

A campaign's experiments go through the broker (computer with the ``bigmap.broker`` scheduler, a
tenant answering). The broker process is killed while one request is reserved by the tenant and
others are pending, and again while the last request is reserved; each time a new process is
started on the same database and port. AiiDA's polls fail while the broker is down (its transport
tasks retry), the tenant posts its result to the new process. Afterwards the broker's database
itself is audited: one request per experiment, each resolved with exactly one result, no more
requests than the budget.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from aiida.engine import run_get_node

from aiida_bigmap_al.broker.tenant import TenantLoop
from aiida_bigmap_al.calcjobs.experiment import ExperimentCalcJob
from aiida_bigmap_al.workchains import ActiveLearningWorkChain

from .conftest import BrokerProcess
from .test_aiida_tenant import sim_broker  # noqa: F401 (fixture)
from .test_experiment_via_broker import _broker_computer, campaign_inputs

BUDGET, N_INITIAL = 4, 3
METHOD = "conductivity"  # ExperimentCalcJob's default method, served by tenant ``aiida``

pytestmark = pytest.mark.chaos


@pytest.fixture
def quick_transport_retries(aiida_config, aiida_profile):
    """AiiDA retries a failed poll after 1, 2, 4 ... s (8 attempts, about two minutes), not after 20 s."""
    options = {"transport.task_retry_initial_interval": 1, "transport.task_maximum_attempts": 8}
    before = {name: aiida_profile.get_option(name, None) for name in options}
    for name, value in options.items():
        aiida_config.set_option(name, value, scope=aiida_profile.name)
    yield
    for name, value in before.items():
        if value is None:
            aiida_config.unset_option(name, scope=aiida_profile.name)
        else:
            aiida_config.set_option(name, value, scope=aiida_profile.name)


def _statuses(db: str) -> Counter:
    """The requests' statuses as stored (read from the database file, not through the server)."""
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            return Counter(connection.execute(sa.text("SELECT status FROM requests")).scalars())
    finally:
        engine.dispose()


def _kill_and_restart(server) -> Counter:
    """SIGKILL the broker, start it again on the same database and port; the statuses at the kill."""
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    at_kill = _statuses(server.db)
    again = BrokerProcess(server.db, server.log, port=server.port).wait_ready()
    server.process = again.process  # the fixture stops the running one
    return at_kill


def _wait_for(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _chaotic_tenant(server):
    """A tenant that kills and restarts the broker while it holds the first and the last request."""
    served, kills, errors = [], [], []
    watcher = server.client("reader")

    def measure(item):
        served.append(item)
        if len(served) == 1:  # the initial design's other requests pending, this one reserved
            _wait_for(lambda: len(watcher.pending_requests("conductivity", METHOD)) >= N_INITIAL - 1)
        if len(served) in (1, BUDGET):
            kills.append(_kill_and_restart(server))
        return {"value": 4.25 + item["request"]["parameters"][METHOD]["r"], "unit": "mS/cm"}

    loop = TenantLoop(server.client("sim"), server.tenants["aiida"], "conductivity", METHOD, measure,
                      poll_seconds=0.2)
    stop = threading.Event()

    def run():
        while not stop.is_set():
            try:
                loop.serve_pending()
            except Exception as error:  # noqa: BLE001 (recorded and asserted on: the test must see it)
                errors.append(error)
            stop.wait(loop.poll_seconds)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return served, kills, errors, stop, thread


def _audit(db: str) -> tuple[list[tuple], list[tuple]]:
    """Every stored request (id, uuid, status, metadata) and result (request id, data)."""
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            requests = connection.execute(sa.text("SELECT id, uuid, status, metadata FROM requests")).all()
            results = connection.execute(sa.text("SELECT request_id, data FROM results")).all()
    finally:
        engine.dispose()
    return requests, results


def test_a_campaign_survives_the_broker_killed_and_restarted(sim_broker, quick_transport_retries,  # noqa: F811
                                                              tmp_path):
    code = _broker_computer(sim_broker, tmp_path)
    served, kills, errors, stop, thread = _chaotic_tenant(sim_broker)
    try:
        _, campaign = run_get_node(ActiveLearningWorkChain, **campaign_inputs(code, BUDGET, N_INITIAL, seed=2))
    finally:
        stop.set()
        thread.join(timeout=30)

    assert errors == []
    # the kills happened where they matter: a request reserved and others pending, then the last one reserved
    assert kills[0]["reserved"] == 1 and kills[0]["pending"] == N_INITIAL - 1, kills
    assert kills[1]["reserved"] == 1 and kills[1]["resolved"] == BUDGET - 1, kills
    assert campaign.is_finished_ok, campaign.exit_message
    jobs = [c for c in campaign.called if c.process_class is ExperimentCalcJob]
    assert len(jobs) == BUDGET and all(job.is_finished_ok for job in jobs)
    rows = campaign.outputs.dataset["rows"]
    assert len(rows) == BUDGET  # the budget is exact
    measurements = {job.outputs.measurement.uuid: job for job in jobs}
    assert sorted(row["measurement"] for row in rows) == sorted(measurements)  # one measurement per suggestion
    assert len({job.inputs.suggestion.uuid for job in jobs}) == BUDGET

    requests, results = _audit(sim_broker.db)
    assert len(requests) == BUDGET  # no request posted twice across the restarts
    assert all(status == "resolved" for _, _, status, _ in requests)
    assert sorted(request_id for request_id, _ in results) == sorted(row_id for row_id, *_ in requests)
    asked = {json.loads(metadata)["aiida_process_uuid"]: uuid for _, uuid, _, metadata in requests}
    assert asked == {job.uuid: job.get_job_id() for job in jobs}
    assert sorted(item["uuid"] for item in served) == sorted(asked.values())  # each served once
    data = {request_id: json.loads(text) for request_id, text in results}
    answers = {uuid: data[row_id]["value"] for row_id, uuid, *_ in requests}
    for job in jobs:  # each measurement is the broker's one result for its request
        assert job.outputs.measurement["fom_data"]["value"] == pytest.approx(answers[job.get_job_id()], rel=1e-12)
