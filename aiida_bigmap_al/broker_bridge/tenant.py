"""AiiDA as a broker tenant: serve simulation requests with ``SimulationCalcJob`` processes.

``bigmap-al broker tenant run`` lists the pending requests of one method (a point capability,
:mod:`.capability`, or a FINALES2 conductivity method that asks by formulation, :mod:`.finales2`),
submits a ``SimulationCalcJob`` to the daemon for each, and posts the simulator's value as the
result, in the request's terms, when the job has finished. Which request a process serves is
kept in the provenance graph, not in this program's memory: the process is *labelled* with the
tenant and the request (``broker:<tenant>:<request>``, stored in the same transaction that
creates the node) and its *extras* record how far serving got (``broker_state``: ``reserved``,
then ``posted`` with ``broker_result_uuid``, or ``released``/``lost``). So a tenant killed at any
moment and started again finds every request it had taken up with a QueryBuilder and carries on:

* killed after submitting, before reserving: the job is there, the reservation is made now;
* killed after reserving, before noting it: the broker names this tenant as the holder
  (``reserved_by``), so the reservation is recognised as its own;
* killed after posting, before noting it: the result is posted again under the same idempotency
  key, which returns the first result's UUID and creates nothing.

One window is left open: a tenant killed inside AiiDA's ``submit``, after the process node was
stored but before the daemon's task for it was sent (seen once in testing, killing the tenant the
moment the node appeared), leaves a process that never starts (its state stays empty), and the
request may already be reserved for it. The node says so (no process state long
after its creation), but a process merely waiting in a busy daemon's queue looks the same from
here, so this tenant does not guess: ``verdi process kill`` that process, and the tenant gives the
request back (released) on its next pass.

Outside that window a request is never served twice by this tenant (one process per request,
found by its label) and never lost. The job is submitted before the reservation because only then does the
claim leave a trace in the graph; if another tenant was faster (409), the job is killed and
marked ``lost``. A job that fails gives the request back (released to pending, with the exit
message) for another tenant; it is not tried again here.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from aiida import orm
from aiida.engine import ProcessState, submit
from aiida.engine.processes.control import kill_processes

from ..broker.client import BrokerClient, BrokerClientError
from ..broker.tenant import TenantLoop
from ..calcjobs.simulation import SimulationCalcJob
from ..electrolyte import to_formulation
from . import finales2

__all__ = ["AiidaTenant", "EXTRA_RESULT", "EXTRA_STATE", "fresh_view", "label_of", "served_by"]

LOGGER = logging.getLogger(__name__)
EXTRA_STATE = "broker_state"
EXTRA_RESULT = "broker_result_uuid"
#: Serving is over for a process in one of these states.
SETTLED = frozenset({"posted", "released", "lost"})


def point_of(parameters: dict) -> tuple[float, float, float]:
    """``(r, c, temperature)`` of a request's parameters: a point of ours (:mod:`.capability`), or a
    FINALES2 formulation and temperature (:mod:`.finales2`)."""
    if finales2.is_formulation_request(parameters):
        return finales2.point_of(parameters)
    return parameters["r"], parameters["c"], parameters["temperature"]


def label_of(tenant_uuid: str, request_uuid: str) -> str:
    return f"broker:{tenant_uuid}:{request_uuid}"


def served_by(tenant_uuid: str) -> dict[str, orm.CalcJobNode]:
    """The processes serving this tenant's requests, by request UUID (from the provenance graph)."""
    prefix = label_of(tenant_uuid, "")
    query = orm.QueryBuilder().append(orm.CalcJobNode, filters={"label": {"like": prefix + "%"}}, project="*")
    return {node.label[len(prefix):]: node for node in query.all(flat=True)}


def fresh_view() -> None:
    """End the storage session's transaction: a long-lived reader would otherwise keep seeing the
    database as it was (SQLite's snapshot), and never the daemon's processes finishing."""
    from aiida.manage import get_manager

    session = get_manager().get_profile_storage().get_session()
    session.commit()
    session.expire_all()


#: Seconds to wait for the daemon to take up a new process before serving goes on regardless.
TAKE_UP_TIMEOUT = 120.0


def _taken_up(node: orm.CalcJobNode) -> orm.CalcJobNode:
    """``node`` once the daemon has taken it up (its state moved past ``created``).

    ``submit`` hands the process's task to the broker, which may still hold it in this program's
    buffers when ``submit`` returns (ZeroMQ): a SIGKILL right then loses the task, and the process
    never starts. Only once a worker has the process is the reservation made, so a tenant killed
    after it leaves a process that runs.
    """
    deadline = time.monotonic() + TAKE_UP_TIMEOUT
    while time.monotonic() < deadline:
        fresh_view()
        if node.process_state not in (None, ProcessState.CREATED):
            break
        time.sleep(0.1)
    else:
        LOGGER.warning("process %s was not taken up by the daemon within %.0f s (is it running?)",
                       node.pk, TAKE_UP_TIMEOUT)
    return node


class AiidaTenant:
    """Serve ``quantity/method`` requests of the broker at ``client`` as tenant ``tenant_uuid``."""

    def __init__(self, client: BrokerClient, tenant_uuid: str, quantity: str, method: str, code: orm.Code,
                 model: str = SimulationCalcJob.DEFAULT_MODEL, poll_seconds: float = 2.0):
        self.client = client
        self.tenant_uuid = tenant_uuid
        self.method = method
        self.code = code
        self.model = model
        self.loop = TenantLoop(client, tenant_uuid, quantity, method, serve=None, poll_seconds=poll_seconds)
        self.declined: set[str] = set()  # only to avoid logging the same refusal every pass

    def serve_pending(self) -> None:
        """One pass: carry on with the requests taken up before, then take up the new pending ones."""
        fresh_view()
        serving = served_by(self.tenant_uuid)
        for request_uuid, node in serving.items():
            self.settle(request_uuid, node)
        for item in self.client.pending_requests(self.loop.quantity, self.method):
            if item["uuid"] not in serving and item["uuid"] not in self.declined:
                node = self.submit(item)
                if node is not None:
                    self.settle(item["uuid"], node)

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            self.serve_pending()
            stop.wait(self.loop.poll_seconds)

    def submit(self, item: dict[str, Any]) -> orm.CalcJobNode | None:
        """The ``SimulationCalcJob`` of a listed request, labelled with it; None if the point is not one to simulate."""
        try:
            r, c, temperature = point_of(item["request"]["parameters"].get(self.method, {}))
            inputs = {"code": self.code, "formulation": orm.Dict(to_formulation(r, c).model_dump(mode="json")),
                      "temperature": orm.Float(temperature), "model": orm.Str(self.model),
                      "metadata": {"label": label_of(self.tenant_uuid, item["uuid"]),
                                   "description": f"serves broker request {item['uuid']}"}}
            return _taken_up(submit(SimulationCalcJob, **inputs))
        except (KeyError, TypeError, ValueError) as error:
            self.declined.add(item["uuid"])
            LOGGER.warning("not serving request %s, its point cannot be simulated: %s", item["uuid"], error)
            return None

    def settle(self, request_uuid: str, node: orm.CalcJobNode) -> None:
        """Take serving one step further, as far as the process allows; note each step in its extras."""
        state = node.base.extras.get(EXTRA_STATE, None)
        if state in SETTLED:
            return
        if state is None and not self.hold(request_uuid, node):
            return
        if not node.is_terminated:
            return
        if node.is_finished_ok:
            self.post(request_uuid, node)
        else:
            message = f"AiiDA process {node.uuid} failed: {node.exit_message or node.process_state}"
            self.client.update_status(request_uuid, "pending", message)
            node.base.extras.set(EXTRA_STATE, "released")
            LOGGER.warning("gave back request %s: %s", request_uuid, message)

    def hold(self, request_uuid: str, node: orm.CalcJobNode) -> bool:
        """Reserve the request for the process (or recognise an earlier reservation of this tenant)."""
        if not self.loop.claim(request_uuid):
            info = self.client.get_request(request_uuid)
            if info.get("reserved_by") != self.tenant_uuid or info["status"] not in ("reserved", "resolved"):
                if not node.is_terminated:
                    kill_processes([node], msg_text="another tenant serves the request", wait=False)
                node.base.extras.set(EXTRA_STATE, "lost")
                LOGGER.info("request %s is %s by another tenant: process %s dropped", request_uuid,
                            info["status"], node.uuid)
                return False
        node.base.extras.set(EXTRA_STATE, "reserved")
        return True

    def post(self, request_uuid: str, node: orm.CalcJobNode) -> None:
        item = self.client.get_request(request_uuid)
        fom = node.outputs.measurement["fom_data"]
        parameters = item["request"]["parameters"][self.method]
        if finales2.is_formulation_request(parameters):
            data = finales2.result_data(parameters, fom["value"], internal_reference=node.uuid)
        else:
            data = {"value": fom["value"], "unit": fom["unit"], "quantity": fom["name"]}
        metadata = {"aiida_process_uuid": node.uuid, "aiida_measurement_uuid": node.outputs.measurement.uuid}
        try:
            result = self.loop.post(item, data, metadata)
        except BrokerClientError as error:
            LOGGER.warning("could not post the result of request %s: %s", request_uuid, error)
            if error.status_code == 409:  # retracted meanwhile, or resolved by someone else
                node.base.extras.set(EXTRA_STATE, "lost")
            return
        node.base.extras.set_many({EXTRA_RESULT: result, EXTRA_STATE: "posted"})
