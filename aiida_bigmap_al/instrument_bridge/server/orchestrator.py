"""Run one job: its method's steps in order, each recorded in the job's HDF5 file.

The orchestrator is the only place that decides how a job ends:

* every step runs in turn; the first one that raises (a :class:`DeviceError` naming device and
  command, an :class:`ActionError`, or anything unexpected) makes the job ``failed`` with a
  message naming the step, and the remaining steps are skipped except those marked ``always``
  (clean-up such as rinsing the cell or lifting the droplet), which still run;
* a cancel (or a server shutdown) is noticed between device commands; the job ends
  ``cancelled`` (or ``failed`` for a shutdown), again after running the ``always`` steps;
* every step, whatever its fate, gets its group in the job's HDF5 log with the raw traffic it caused;
* at the end the result file is written in the workspace, with the method's ``result`` template
  filled in from the step results when the job is ``done`` (``null`` otherwise).

The file names and the result's shape (:class:`~..protocol.JobResult`, written with that model) are
the wire protocol's.
"""

from __future__ import annotations

import logging
import pathlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..protocol import RAW_FILE, RESULT_FILE, JobResult, StepRecord
from .actions import ActionContext, ActionError, JobInterrupted
from .config import RigConfig
from .drivers import DeviceError, LineDriver, TrafficLog
from .hdf5log import ActionRecord, JobLog
from .jobs import Job, JobState, dumps, iso_from_unix, utc_now
from .validation import RequestError, ResolvedStep, resolve_steps, substitute

__all__ = ["Outcome", "run_job", "write_result"]

LOGGER = logging.getLogger(__name__)


@dataclass
class Outcome:
    """How a job ended, and what its steps did."""

    state: JobState
    message: str = ""
    result: dict[str, Any] | None = None
    records: list[ActionRecord] = field(default_factory=list)


class _Run:
    """The mutable state of one job run: the steps' results and the first failure."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}
        self.records: list[ActionRecord] = []
        self.failure: tuple[JobState, str] | None = None


def _run_step(index: int, step: ResolvedStep, traffic: TrafficLog, ctx: ActionContext) -> ActionRecord:
    """Run one step; never raises (except for KeyboardInterrupt & co): the record says what happened."""
    record = ActionRecord(
        index=index,
        step=step.spec.name,
        action=step.spec.action,
        devices=step.spec.devices,
        parameters=step.params.model_dump(),
        status="ok",
        start=time.time(),
    )
    traffic.drain()  # whatever came before belongs to no step
    try:
        result = step.action.run(step.params, step.devices, ctx)
        dumps(result)  # a result that cannot be stored is an error of this step, not of the job log
        record.result = result
    except JobInterrupted as exc:
        record.status, record.error = "interrupted", str(exc)
    except (DeviceError, ActionError) as exc:
        record.status, record.error = "error", str(exc)
    except Exception as exc:  # a bug or an unforeseen device state: fail the job, keep the server
        LOGGER.exception("step %s of a job raised", step.spec.name)
        record.status, record.error = "error", f"unexpected {type(exc).__name__}: {exc}"
    record.end = time.time()
    record.traffic = traffic.drain()
    return record


def run_job(
    job: Job,
    config: RigConfig,
    drivers: dict[str, LineDriver],
    traffic: TrafficLog,
    workspace: pathlib.Path,
    *,
    interrupted: Callable[[], str | None] = lambda: None,
    cancelled: Callable[[], bool] = lambda: False,
    on_step: Callable[[str | None], None] = lambda name: None,
) -> Outcome:
    """Run ``job`` (already marked running) in ``workspace``; writes the HDF5 log and returns the outcome.

    ``interrupted()`` returns a reason once the job must stop (cancel or shutdown);
    ``cancelled()`` tells the two apart; ``on_step(name)`` reports progress.
    """
    log = JobLog(workspace / RAW_FILE)
    log.begin(job, config.instrument)
    try:
        steps = resolve_steps(config.methods[job.method], job.parameters, drivers)
    except (RequestError, KeyError) as exc:
        return Outcome(JobState.FAILED, f"the job no longer validates on this rig: {exc}")
    run = _Run()
    ctx = ActionContext(interrupted)
    for index, step in enumerate(steps):
        reason = interrupted()
        if run.failure is None and reason:
            run.failure = (JobState.CANCELLED if cancelled() else JobState.FAILED, reason)
        if run.failure is not None and not step.spec.always:
            record = ActionRecord(index, step.spec.name, step.spec.action, step.spec.devices, step.params.model_dump(), "skipped")
        else:
            on_step(step.spec.name)
            # clean-up steps after a cancel must not be cut short by the same cancel
            record = _run_step(index, step, traffic, ActionContext() if run.failure else ctx)
        log.record(record)
        run.records.append(record)
        if record.status == "ok":
            run.results[step.spec.name] = record.result
        elif record.status != "skipped" and run.failure is None:
            state = JobState.CANCELLED if record.status == "interrupted" and cancelled() else JobState.FAILED
            run.failure = (state, f"step {step.spec.name!r} ({step.spec.action}) {record.status}: {record.error}")
    on_step(None)
    if run.failure is not None:
        return Outcome(run.failure[0], run.failure[1], None, run.records)
    result = substitute(config.methods[job.method].result, job.parameters, run.results)
    return Outcome(JobState.DONE, "", result, run.records)


def write_result(job: Job, instrument: str, workspace: pathlib.Path, outcome: Outcome | None = None) -> pathlib.Path:
    """Write the result file of a finished job (atomically: a reader never sees half a file)."""
    outcome = outcome or Outcome(job.state, job.message)
    document = JobResult(
        instrument=instrument, job_id=job.id, method=job.method, parameters=job.parameters, state=job.state,
        message=job.message, created=job.created, started=job.started, finished=job.finished or utc_now(),
        result=outcome.result,
        steps=[StepRecord(step=r.step, action=r.action, status=r.status, error=r.error,
                          start=iso_from_unix(r.start), end=iso_from_unix(r.end)) for r in outcome.records],
    )
    path = workspace / RESULT_FILE
    partial = path.with_suffix(".json.partial")
    partial.write_text(dumps(document.model_dump(mode="json")), encoding="utf-8")
    partial.replace(path)
    return path
