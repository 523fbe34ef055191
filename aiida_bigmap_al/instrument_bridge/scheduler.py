"""``bigmap.instrument`` scheduler: an instrument server's job queue, seen by AiiDA like a batch queue.

The server runs one job at a time from its queue (see
:mod:`aiida_bigmap_al.instrument_bridge.server.app`; the job object and its states are defined in
:mod:`.protocol`). This plugin submits a CalcJob's request file to that queue, reports the job's
state when AiiDA polls, and cancels it when the CalcJob is killed. It talks to the server through
the open ``bigmap.instrument`` transport, as a scheduler plugin runs its commands through the
transport of its computer.

Why a scheduler rather than a long-running process: a measurement can wait in the lab's queue
for hours. A CalcJob whose scheduler reports it queued or running sleeps between polls (every
``minimum_job_poll_interval`` of the computer) and holds no daemon worker in the meantime.

Mapping:

* ``submit_job(workdir, script)``: ``POST /jobs {"workspace": <workspace of workdir>,
  "request_file": REQUEST_FILE}``. The submit script AiiDA writes is uploaded with the other
  files but never run: the request is the job. Submitting again (AiiDA retries a submission whose
  answer was lost) returns the same job, never a second measurement. A request the rig refuses
  (422: e.g. a temperature outside the thermostat's range), or a workspace that another job owns
  (409) or that vanished (404), is not transient: the CalcJob ends with exit status
  :data:`EXIT_REQUEST_REJECTED` and the server's message, instead of being retried.
* ``get_jobs``: ``GET /jobs/{id}`` per job: ``queued`` -> QUEUED, ``running`` -> RUNNING,
  the final states ``done``/``failed``/``cancelled`` -> DONE (how it ended is the parser's
  business, from the result file), anything else -> UNDETERMINED. A job the server does not know
  is left out, which AiiDA takes as finished; the parser then finds no result and says so.
* ``kill_job``: ``POST /jobs/{id}/cancel``.
"""

from __future__ import annotations

import datetime
import json
import typing as t

from aiida.engine.processes.exit_code import ExitCode
from aiida.schedulers import Scheduler, SchedulerError
from aiida.schedulers.datastructures import JobInfo, JobResource, JobState, JobTemplate

from .client import InstrumentConflict, InstrumentNotFound, InstrumentRequestRejected
from .protocol import FINAL_STATES, REQUEST_FILE
from .protocol import JobState as ServerState
from .transport import InstrumentTransport

__all__ = ["EXIT_REQUEST_REJECTED", "InstrumentJobResource", "InstrumentScheduler", "job_info"]

#: How a CalcJob ends when the server refuses to queue its request (declared by ``ExperimentCalcJob``).
EXIT_REQUEST_REJECTED = ExitCode(190, "The instrument server refused the job: {message}", invalidates_cache=True)

#: AiiDA's view of the server's job states (a ``str`` enum: the job object's strings look up as well).
_STATES = {ServerState.QUEUED: JobState.QUEUED, ServerState.RUNNING: JobState.RUNNING,
           **{state: JobState.DONE for state in FINAL_STATES}}


class InstrumentJobResource(JobResource):
    """An instrument runs one job at a time on the whole rig: there are no resources to ask for."""

    _default_fields = ()

    @classmethod
    def validate_resources(cls, **kwargs: t.Any) -> None:
        if kwargs:
            raise ValueError(f"an instrument job takes no resources (resources={{}}), got {sorted(kwargs)}")

    @classmethod
    def accepts_default_mpiprocs_per_machine(cls) -> bool:
        return False

    @classmethod
    def accepts_default_memory_per_machine(cls) -> bool:
        return False

    def get_tot_num_mpiprocs(self) -> int:
        return 1


def _time(text: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(text) if text else None


def job_info(job: dict[str, t.Any]) -> JobInfo:
    """AiiDA's view of a job object of the server's API."""
    info = JobInfo()
    info.job_id = job["id"]
    info.job_state = _STATES.get(job["state"], JobState.UNDETERMINED)
    step = job.get("current_step")
    info.job_substate = f"{job['state']} ({step})" if step else job["state"]
    info.title = job.get("method")
    info.annotation = job.get("message") or ""
    info.submission_time = _time(job.get("created"))
    info.dispatch_time = _time(job.get("started"))
    info.finish_time = _time(job.get("finished"))
    if info.dispatch_time and info.finish_time:
        info.wallclock_time_seconds = (info.finish_time - info.dispatch_time).total_seconds()
    return info


class InstrumentScheduler(Scheduler):
    """Submit, poll and cancel jobs in the queue of an instrument server (``bigmap-al instrument serve``)."""

    _features = {"can_query_by_user": False}
    _job_resource_class = InstrumentJobResource

    @property
    def _client(self):
        transport = self.transport
        if not isinstance(transport, InstrumentTransport):
            raise SchedulerError(
                f"the bigmap.instrument scheduler needs the bigmap.instrument transport, got {transport}")
        return transport.client

    def _get_submit_script_header(self, job_tmpl: JobTemplate) -> str:
        """A note for whoever opens the script: the instrument runs the request file, not this script."""
        return (f"# Not executed. The bigmap.instrument scheduler submits {REQUEST_FILE} of this directory\n"
                f"# to the instrument server's queue (POST /jobs); the instrument carries it out.")

    def submit_job(self, working_directory: str, filename: str) -> str | ExitCode:
        """Queue the workspace's request file; the job id, or an exit code if the server refuses it."""
        workspace = self.transport.workspace_of(working_directory)
        try:
            job, created = self._client.submit(workspace, REQUEST_FILE)
        except (InstrumentRequestRejected, InstrumentConflict, InstrumentNotFound) as error:
            return EXIT_REQUEST_REJECTED.format(message=error.detail)
        if not created:
            self.logger.warning(f"job {job['id']} of workspace {workspace} was already submitted: not submitted again")
        return job["id"]

    def get_jobs(self, jobs: list[str] | None = None, user: str | None = None,
                 as_dict: bool = False) -> list[JobInfo] | dict[str, JobInfo]:
        """The state of the given jobs (every job of the server if ``jobs`` is None)."""
        if jobs is None:
            found = self._client.jobs()
        else:
            found = [job for job in map(self._job_or_none, jobs) if job is not None]
        infos = [job_info(job) for job in found]
        return {info.job_id: info for info in infos} if as_dict else infos

    def _job_or_none(self, job_id: str) -> dict[str, t.Any] | None:
        try:
            return self._client.job(job_id)
        except InstrumentNotFound:
            self.logger.warning(f"the instrument server does not know job {job_id}")
            return None

    def kill_job(self, jobid: str) -> bool:
        """Cancel the job; False if it had already ended (AiiDA then checks that it is indeed done)."""
        try:
            self._client.cancel(jobid)
        except (InstrumentConflict, InstrumentNotFound) as error:
            self.logger.warning(f"could not cancel job {jobid}: {error.detail}")
            return False
        return True

    def get_detailed_job_info(self, job_id: str) -> dict[str, str | int]:
        """The server's job object (JSON in ``stdout``), stored on the CalcJob node for the record."""
        try:
            job = self._client.job(job_id)
        except InstrumentNotFound as error:
            return {"retval": 1, "stdout": "", "stderr": error.detail}
        return {"retval": 0, "stdout": json.dumps(job, sort_keys=True), "stderr": ""}
