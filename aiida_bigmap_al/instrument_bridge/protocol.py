"""The instrument bridge's wire protocol: everything an instrument server and its clients agree on.

Both sides of the bridge import this module and nothing else of each other: the instrument
server on the lab PC (:mod:`.server`), the AiiDA side (:mod:`.client`, :mod:`.transport`,
:mod:`.scheduler`, ``ExperimentCalcJob`` and its parser), and the measurement broker, a second
backend of the same bridge. So it imports only pydantic and the standard library: a lab PC has no
AiiDA, and the AiiDA side needs no FastAPI.

What lives here:

* the files of a job's workspace: :data:`REQUEST_FILE` (what to measure, a
  :class:`MeasurementRequest`), :data:`RESULT_FILE` (how the job ended, a :class:`JobResult`)
  and :data:`RAW_FILE` (the HDF5 log of every action, see ``server/hdf5log.py``);
* the job's life: :class:`JobState`, :data:`FINAL_STATES`, and :class:`Job`, the job object of the
  HTTP API;
* the body of ``POST /jobs`` (:class:`JobSubmission`), the API's paths and its authentication
  header;
* what a method's result must hold to become a measurement (:class:`MeasuredValue`).

The HTTP API itself (status codes, every endpoint's answer) is documented in ``server/app.py``.
The FINALES models of :mod:`aiida_bigmap_al.schemas` do not travel on this wire: a request names
the rig's own parameters (for the conductivity rig ``r``, ``c`` in mol/kg and ``temperature`` in K,
see ``GET /methods``), and the AiiDA side makes the FINALES ``Measurement`` from a
:class:`MeasuredValue` and the point it asked for.
"""

from __future__ import annotations

import enum
import ipaddress
import re
import urllib.parse
import uuid
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AUTH_HEADER",
    "AUTH_SCHEME",
    "CANCEL_PATH",
    "FILES_PATH",
    "FILE_PATH",
    "FINAL_STATES",
    "HEALTH_PATH",
    "JOBS_PATH",
    "JOB_PATH",
    "METHODS_PATH",
    "RAW_FILE",
    "REQUEST_FILE",
    "RESULT_FILE",
    "WORKSPACES_PATH",
    "WORKSPACE_PATH",
    "FinalState",
    "Job",
    "JobResult",
    "JobState",
    "JobSubmission",
    "MeasuredValue",
    "MeasurementRequest",
    "StepRecord",
    "StepStatus",
    "api_path",
    "is_loopback",
    "iso_from_unix",
    "utc_now",
]

# --- the files of a job's workspace -------------------------------------------------------------

#: The request a job runs (a :class:`MeasurementRequest`), uploaded by the client.
REQUEST_FILE = "request.json"
#: How the job ended (a :class:`JobResult`), written by the server when the job reaches a final state.
RESULT_FILE = "result.json"
#: The job's HDF5 log (``server/hdf5log.py``); absent if the job never started.
RAW_FILE = "raw.h5"

# --- HTTP -----------------------------------------------------------------------------------------

#: Every endpoint but :data:`HEALTH_PATH` needs ``Authorization: Bearer <token>``.
AUTH_HEADER = "Authorization"
AUTH_SCHEME = "Bearer"

HEALTH_PATH = "/health"
METHODS_PATH = "/methods"
WORKSPACES_PATH = "/workspaces"
WORKSPACE_PATH = "/workspaces/{workspace}"
FILES_PATH = "/workspaces/{workspace}/files"
#: ``{path:path}``: the file's path inside the workspace, which may hold ``/``.
FILE_PATH = "/workspaces/{workspace}/files/{path:path}"
JOBS_PATH = "/jobs"
JOB_PATH = "/jobs/{job_id}"
CANCEL_PATH = "/jobs/{job_id}/cancel"



def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 maybe in brackets) is this machine's loopback.

    Only there may the bearer token travel over plain http: the server refuses to bind any other
    interface without TLS, and registration refuses an ``http://`` URL of another host (both
    unless told ``--insecure-http``).
    """
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_PLACEHOLDER = re.compile(r"\{(\w+)(:path)?\}")


def api_path(template: str, **values: str) -> str:
    """``template`` (one of the ``*_PATH`` above) with its placeholders filled in, URL-quoted.

    A ``{name:path}`` placeholder keeps its ``/`` separators; any other is quoted whole, so a
    value can never address another endpoint.
    """
    return _PLACEHOLDER.sub(
        lambda match: urllib.parse.quote(values[match.group(1)], safe="/" if match.group(2) else ""), template)


# --- timestamps -----------------------------------------------------------------------------------


def utc_now() -> str:
    """Now, as an ISO 8601 UTC timestamp: the form of every time in a job object and a job's files."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def iso_from_unix(unix: float | None) -> str | None:
    """A UNIX time as an ISO 8601 UTC timestamp (``None`` stays ``None``)."""
    return None if unix is None else datetime.fromtimestamp(unix, timezone.utc).isoformat(timespec="microseconds")


def _iso_8601(value: str) -> str:
    """The readers parse every time with ``datetime.fromisoformat``: refuse what it cannot read."""
    datetime.fromisoformat(value)
    return value


Timestamp = Annotated[str, AfterValidator(_iso_8601)]

# --- jobs -----------------------------------------------------------------------------------------


class JobState(str, enum.Enum):
    """Where a job is: ``queued -> running -> done | failed | cancelled``, or ``queued -> cancelled``."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: Job states after which nothing changes any more; a job in one of them has its :data:`RESULT_FILE`.
FINAL_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})


class _Document(BaseModel):
    """Unknown fields are errors, NaN and infinities too (JSON has neither)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class MeasurementRequest(_Document):
    """The content of :data:`REQUEST_FILE`: a method of the rig (``GET /methods``) and its parameters.

    Only the shape is checked here; whether the rig offers the method and takes those values is
    the server's answer (422 naming the parameter and the limit).
    """

    method: str = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)


class JobSubmission(_Document):
    """Body of ``POST /jobs``: an inline request, or a request file already in a workspace."""

    method: str | None = Field(None, min_length=1)
    parameters: dict[str, Any] | None = None
    workspace: str | None = None
    request_file: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> JobSubmission:
        if self.request_file is not None:
            if self.method is not None or self.parameters is not None:
                raise ValueError("give either 'method'/'parameters' or 'request_file', not both")
            if self.workspace is None:
                raise ValueError("'request_file' needs 'workspace'")
        elif self.method is None:
            raise ValueError("give 'method' (with 'parameters') or 'workspace' with 'request_file'")
        return self


class Job(BaseModel):
    """The job object of the HTTP API: what was asked (method, validated parameters), where, how it went."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    method: str
    parameters: dict[str, Any]
    workspace: str
    state: JobState = JobState.QUEUED
    message: str = ""
    created: Timestamp = Field(default_factory=utc_now)
    started: Timestamp | None = None
    finished: Timestamp | None = None
    current_step: str | None = None
    cancel_requested: bool = False

    @property
    def terminal(self) -> bool:
        return self.state in FINAL_STATES


# --- the result ---------------------------------------------------------------------------------


def _ended(state: JobState) -> JobState:
    if state not in FINAL_STATES:
        raise ValueError(f"a result is written once a job has ended (done, failed or cancelled), not {state.value!r}")
    return state


#: The state of a job that has a result.
FinalState = Annotated[JobState, AfterValidator(_ended)]

StepStatus = Literal["ok", "error", "interrupted", "skipped"]


class StepRecord(BaseModel):
    """One step of a finished job: its action, how it went and when (``None``: skipped)."""

    step: str
    action: str
    status: StepStatus
    error: str = ""
    start: Timestamp | None = None
    end: Timestamp | None = None


class JobResult(BaseModel):
    """The content of :data:`RESULT_FILE`: the server writes it with this model, and clients read it with it.

    ``result`` is the method's ``result`` template filled in from the steps when the job is
    ``done``, ``None`` otherwise. Fields a newer server adds are ignored, so an older client still
    reads its files.
    """

    model_config = ConfigDict(allow_inf_nan=False)

    instrument: str
    job_id: str
    method: str
    parameters: dict[str, Any]
    state: FinalState
    message: str
    created: Timestamp
    started: Timestamp | None
    finished: Timestamp
    result: dict[str, Any] | None
    steps: list[StepRecord] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=lambda: {"raw": RAW_FILE})


class MeasuredValue(BaseModel):
    """What the ``result`` of a done job must hold to become a FINALES measurement (``ExperimentCalcJob``).

    The rig's ``result`` template may report more (the prepared composition, the measured
    temperature); those stay in :data:`RESULT_FILE`. Whether ``unit`` is one a figure of merit may
    have is checked where the measurement is made (``schemas.FomData``).
    """

    model_config = ConfigDict(allow_inf_nan=False)

    value: float
    unit: str
    quantity: str = "conductivity"
