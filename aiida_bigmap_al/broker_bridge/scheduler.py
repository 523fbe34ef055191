"""``bigmap.broker`` scheduler: the measurement broker as the instrument bridge's second backend.

An ``ExperimentCalcJob`` sent to a computer with this scheduler (transport ``core.local``, the
job's files stay in a local work directory) is answered by whichever broker tenant serves its
method (an instrument PC, the AiiDA simulation tenant, a person at the page), instead of by an
instrument server. The wire protocol is the bridge's (:mod:`~aiida_bigmap_al.instrument_bridge.protocol`):

* ``submit_job``: the job's ``request.json`` (a ``MeasurementRequest``) is posted as a broker
  request of the method, with the AiiDA process UUID in its metadata and an idempotency key made
  from it (a resubmission creates nothing); the job id is the request's UUID;
* ``get_jobs``: ``GET /requests/{uuid}``; its status becomes the bridge's job state
  (``broker.schemas.JOB_STATE``) and AiiDA's, like an instrument job's. Between polls the CalcJob
  sleeps and holds no daemon worker. Once the request is resolved, its result is written to the
  job's directory as the bridge's ``result.json`` (a ``JobResult``, ``instrument`` naming the
  tenant, and a ``broker`` entry with the request, result and tenant UUIDs), which AiiDA then
  retrieves and ``ExperimentParser`` reads as it reads an instrument's;
* ``kill_job``: the request is retracted.

Configuration: the computer's *hostname* is the broker's URL; its property ``bigmap_broker``
(``computer.set_property``, see :func:`configure`) names the account (``user``, ``password_file`` or
``password_env``),
the asking tenant (``tenant_uuid``) and the ``quantity`` asked for.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import typing as t

from aiida import orm
from aiida.schedulers import Scheduler, SchedulerError
from aiida.schedulers.datastructures import JobInfo, JobTemplate

from ..broker.client import BrokerClient, BrokerClientError
from ..broker.schemas import JOB_STATE, RequestStatus
from ..instrument_bridge.protocol import REQUEST_FILE, RESULT_FILE, JobResult, JobState, MeasurementRequest
from ..instrument_bridge.scheduler import EXIT_REQUEST_REJECTED, InstrumentJobResource, job_info

__all__ = ["PLUGIN", "PROPERTY", "BrokerScheduler", "configure", "read_password"]

PLUGIN = "bigmap.broker"
PROPERTY = "bigmap_broker"


def configure(computer: orm.Computer, user: str, password_file: str | None, tenant_uuid: str,
              quantity: str = "conductivity", *, password_env: str | None = None) -> None:
    """Say which account and tenant the computer's jobs ask the broker (at its hostname) as.

    The password's source is a file (``password_file``) or an environment variable of the daemon
    (``password_env``), never the password itself: the computer is stored with the provenance.
    """
    if bool(password_file) == bool(password_env):
        raise ValueError("give exactly one source of the broker password: password_file or password_env")
    source = {"password_file": str(password_file)} if password_file else {"password_env": password_env}
    computer.set_property(PROPERTY, {"user": user, **source, "tenant_uuid": tenant_uuid, "quantity": quantity})


def read_password(settings: dict[str, str]) -> str:
    """The password from the source ``settings`` name (``password_env`` or ``password_file``)."""
    if settings.get("password_env"):
        try:
            return os.environ[settings["password_env"]]
        except KeyError:
            raise SchedulerError(f"the broker password variable {settings['password_env']} is not set in the "
                                 f"environment of this process (the daemon's)") from None
    return pathlib.Path(settings["password_file"]).read_text().strip()


@functools.lru_cache(maxsize=8)
def _settings(url: str) -> dict[str, str]:
    query = orm.QueryBuilder().append(orm.Computer, filters={"hostname": url, "scheduler_type": PLUGIN})
    for computer in query.all(flat=True):
        settings = computer.get_property(PROPERTY, None)
        if settings:
            return settings
    raise SchedulerError(f"no {PLUGIN} computer of hostname {url!r} has the property {PROPERTY!r} (see configure)")


@functools.lru_cache(maxsize=8)
def _client(url: str) -> BrokerClient:
    settings = _settings(url)
    return BrokerClient(url, settings["user"], read_password(settings))


class BrokerScheduler(Scheduler):
    """Post a CalcJob's request to the broker, report its status when AiiDA polls, retract it when killed."""

    _features = {"can_query_by_user": False}
    _job_resource_class = InstrumentJobResource

    @property
    def _url(self) -> str:
        return self.transport._machine  # the computer's hostname: the broker's URL

    @property
    def _client(self) -> BrokerClient:
        return _client(self._url)

    def _get_submit_script_header(self, job_tmpl: JobTemplate) -> str:
        return (f"# Not executed. The {PLUGIN} scheduler posts {REQUEST_FILE} of this directory as a request\n"
                f"# to the measurement broker; a tenant serving its method answers it.")

    def submit_job(self, working_directory: str, filename: str):
        """Post the request; its UUID is the job id (an exit code if the broker refuses it)."""
        directory = pathlib.Path(working_directory)
        process_uuid = "".join(directory.parts[-3:])  # AiiDA's <uuid[:2]>/<uuid[2:4]>/<uuid[4:]>
        request = MeasurementRequest.model_validate_json((directory / REQUEST_FILE).read_text())
        settings = _settings(self._url)
        try:
            return self._client.post_request(settings["quantity"], [request.method],
                                             {request.method: request.parameters}, settings["tenant_uuid"],
                                             metadata={"aiida_process_uuid": process_uuid},
                                             idempotency_key=f"aiida:{process_uuid}")
        except BrokerClientError as error:
            if error.status_code in (403, 404, 422):
                return EXIT_REQUEST_REJECTED.format(message=f"the broker refused the request: {error.detail}")
            raise

    def get_jobs(self, jobs: list[str] | None = None, user: str | None = None,
                 as_dict: bool = False) -> list[JobInfo] | dict[str, JobInfo]:
        infos = [self._job_info(job_id) for job_id in jobs or []]
        return {info.job_id: info for info in infos} if as_dict else infos

    def _job_info(self, job_id: str) -> JobInfo:
        found = self._client.get_request(job_id)
        state = JOB_STATE[RequestStatus(found["status"])]
        if state is JobState.DONE:
            self._write_result(found)
        request = found["request"]
        return job_info({"id": job_id, "state": state.value, "method": ",".join(request["methods"]),
                         "created": found["ctime"], "message": f"broker request {found['status']}"})

    def _write_result(self, found: dict[str, t.Any]) -> None:
        """The broker's result as the bridge's result file in the job's directory (where AiiDA retrieves it)."""
        answer = self._client.result_for_request(found["uuid"])
        if answer is None:
            return
        result = answer["result"]
        method = result["method"][0]
        node = orm.load_node(found["request"]["metadata"]["aiida_process_uuid"])
        document = JobResult(instrument=f"broker tenant {result['tenant_uuid']}", job_id=found["uuid"], method=method,
                             parameters=result["parameters"][method], state=JobState.DONE,
                             message=f"result {answer['uuid']} of tenant {result['tenant_uuid']}",
                             created=found["ctime"], started=None, finished=answer["ctime"], result=result["data"],
                             files={}).model_dump(mode="json")
        document["broker"] = {"request_uuid": found["uuid"], "result_uuid": answer["uuid"],
                              "tenant_uuid": result["tenant_uuid"]}
        path = pathlib.Path(node.get_remote_workdir()) / RESULT_FILE
        path.write_text(json.dumps(document, indent=2))

    def kill_job(self, jobid: str) -> bool:
        try:
            self._client.retract(jobid, "the AiiDA process was killed")
        except BrokerClientError as error:
            self.logger.warning(f"could not retract broker request {jobid}: {error.detail}")
            return False
        return True

    def get_detailed_job_info(self, job_id: str) -> dict[str, str | int]:
        try:
            return {"retval": 0, "stdout": json.dumps(self._client.get_request(job_id)), "stderr": ""}
        except BrokerClientError as error:
            return {"retval": 1, "stdout": "", "stderr": str(error.detail)}
