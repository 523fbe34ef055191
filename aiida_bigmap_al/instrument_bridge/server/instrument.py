"""The instrument: devices, job table, workspaces and the worker that runs jobs one at a time.

This is the server without HTTP (the FastAPI app in :mod:`.app` is a thin layer over it), so it
can be used and tested directly::

    with Instrument(load_config("rig.yaml")) as rig:
        job = rig.submit("conductivity", {"r": 0.5, "c": 1.0, "temperature": 298.15})
        rig.wait(job.id)

Start-up order: data directory and job table (jobs left ``running`` by a previous process are
marked failed, with their result file and HDF5 root updated), emulators, drivers (each device
must identify itself), then the worker. Jobs run in submission order (FIFO), one at a time.
"""

from __future__ import annotations

import fcntl
import logging
import pathlib
import threading
import time
from typing import IO, Any

from pydantic import ValidationError

from ..protocol import RAW_FILE, REQUEST_FILE, MeasurementRequest
from .config import RigConfig, format_validation_error
from .drivers import DRIVERS, LineDriver, TrafficLog
from .emulation import RunningEmulator, start_emulators
from .hdf5log import JobLog
from .jobs import Job, JobState, JobStore, utc_now
from .orchestrator import run_job, write_result
from .validation import RequestError, validate_request
from .workspace import PathRefused, WorkspaceNotFound, Workspaces

__all__ = ["Conflict", "DataDirInUse", "Instrument", "JobNotFound"]

LOGGER = logging.getLogger(__name__)

RESTART_MESSAGE = "interrupted by server restart"
SHUTDOWN_MESSAGE = "the instrument server shut down during the job"


class DataDirInUse(RuntimeError):
    """Another server process already uses this data directory (two workers would share one queue)."""


class JobNotFound(LookupError):
    """No job of that id."""


class Conflict(RuntimeError):
    """The request clashes with the state of a job or workspace (HTTP 409)."""


class Instrument:
    """One instrument server's runtime. Thread-safe; use as a context manager or start()/stop()."""

    def __init__(self, config: RigConfig):
        self.config = config
        self.traffic = TrafficLog()
        self.drivers: dict[str, LineDriver] = {}
        self.emulators: dict[str, RunningEmulator] = {}
        self.store: JobStore | None = None
        self.workspaces = Workspaces(config.data_dir / "workspaces", max_workspaces=config.max_workspaces,
                                     max_files=config.max_files_per_workspace)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._cancel: set[str] = set()
        self._worker: threading.Thread | None = None
        self._lock_file: IO[str] | None = None

    # --- life cycle -----------------------------------------------------------------------------

    def start(self) -> Instrument:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_data_dir()
        self.store = JobStore(self.config.data_dir / "jobs.sqlite")
        for job in self.store.fail_interrupted(RESTART_MESSAGE, finalize=self._finish_files):
            LOGGER.warning("job %s was running when the server stopped: marked failed", job.id)
        try:
            self.emulators = start_emulators(self.config)
            self._open_drivers()
        except BaseException:
            self.stop()
            raise
        self._worker = threading.Thread(target=self._work, name=f"{self.config.instrument}-worker", daemon=True)
        self._worker.start()
        return self

    def _lock_data_dir(self) -> None:
        """Hold an exclusive lock on ``<data_dir>/server.lock`` for the life of this instrument."""
        self._lock_file = open(self.config.data_dir / "server.lock", "a+")  # noqa: SIM115 (held open)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            self._lock_file = None
            raise DataDirInUse(f"data_dir {self.config.data_dir} is in use by another instrument server") from None

    def _open_drivers(self) -> None:
        for name, spec in self.config.devices.items():
            url = self.emulators[name].link.url if spec.emulator is not None else spec.url
            driver = DRIVERS[spec.kind](
                name, url, address=spec.address, settings=spec.parsed_settings, timeout=spec.timeout,
                time_scale=spec.time_scale, baudrate=spec.baudrate, traffic=self.traffic,
            )
            driver.open()
            self.drivers[name] = driver
        self.traffic.drain()  # the identification traffic belongs to no job

    def stop(self) -> None:
        """Stop the worker (a running job ends failed at its next device command), then the devices."""
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=60)
        for driver in self.drivers.values():
            driver.close()
        for emulator in self.emulators.values():
            emulator.link.request_stop()  # all at once: each takes up to a poll interval
        for emulator in self.emulators.values():
            emulator.link.stop()
        if self.store is not None:
            self.store.close()
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    def __enter__(self) -> Instrument:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- jobs -----------------------------------------------------------------------------------

    def _require_store(self) -> JobStore:
        if self.store is None:
            raise RuntimeError("the instrument is not started")
        return self.store

    def submit(self, method: str, parameters: dict[str, Any], workspace: str | None = None) -> tuple[Job, bool]:
        """Validate and queue a request; returns ``(job, created)``.

        Without ``workspace`` a new one is made. A workspace holds at most one job: submitting
        the same request again into it returns the existing job (``created`` False), so a client
        that retries after a lost reply does not measure twice; a different request is a
        :class:`Conflict`. The request is written to the workspace's request file (unless it holds one).
        """
        store = self._require_store()
        validated, _ = validate_request(self.config, self.drivers, method, parameters)
        with store.lock:
            if workspace is None:
                workspace, _ = self.workspaces.create()
            else:
                self.workspaces.directory(workspace)
            existing = store.by_workspace(workspace)
            if existing is not None:
                if existing.method == method and existing.parameters == validated:
                    return existing, False
                raise Conflict(f"workspace {workspace!r} already belongs to job {existing.id} ({existing.state.value})")
            request = MeasurementRequest(method=method, parameters=validated)
            request_path = self.workspaces.resolve(workspace, REQUEST_FILE)
            if not request_path.exists():
                self.workspaces.write(workspace, REQUEST_FILE, request.model_dump_json(indent=2).encode())
            job = store.add(Job(method=method, parameters=validated, workspace=workspace))
        self._wake.set()
        return job, True

    def submit_file(self, workspace: str, filename: str = REQUEST_FILE) -> tuple[Job, bool]:
        """Submit the :class:`~..protocol.MeasurementRequest` stored in a workspace file.

        The file is read under the job table's lock, so an upload that replaces it cannot land
        between the reading and the job's creation (see :meth:`commit_upload`).
        """
        with self._require_store().lock:
            path = self.workspaces.file(workspace, filename)
            try:
                request = MeasurementRequest.model_validate_json(path.read_bytes())
            except ValidationError as exc:
                raise RequestError(f"{filename}: {_request_file_problem(exc)}") from None
            return self.submit(request.method, request.parameters, workspace)

    def job(self, job_id: str) -> Job:
        job = self._require_store().get(job_id)
        if job is None:
            raise JobNotFound(f"no job {job_id!r}")
        return job

    def jobs(self, state: JobState | None = None) -> list[Job]:
        return self._require_store().list(state)

    def cancel(self, job_id: str) -> Job:
        """Cancel a job: a queued one at once, a running one at its next safe point (Conflict if over)."""
        store = self._require_store()
        with store.lock:
            job = self.job(job_id)
            if job.terminal:
                raise Conflict(f"job {job_id} is already {job.state.value}")
            if job.state is JobState.QUEUED:
                job.state, job.finished, job.message = JobState.CANCELLED, utc_now(), "cancelled before it started"
                self._finish_files(job)
                return store.save(job)
            job.cancel_requested = True
            self._cancel.add(job_id)
            return store.save(job)

    def wait(self, job_id: str, timeout: float = 60.0, poll: float = 0.02) -> Job:
        """Block until the job is over (for scripts and tests; HTTP clients poll instead)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job.terminal:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job.state.value} after {timeout} s")
            time.sleep(poll)

    def workspace_job(self, workspace: str) -> Job | None:
        return self._require_store().by_workspace(workspace)

    def check_files_writable(self, workspace: str) -> None:
        """A workspace's files are frozen once a job was submitted in it.

        The job's request, result and raw data must stay what the job read and wrote: they are
        the record of a measurement.
        """
        job = self.workspace_job(workspace)
        if job is not None:
            raise Conflict(f"the files of workspace {workspace!r} are read-only: it belongs to job {job.id}, "
                           f"which is {job.state.value}")

    def commit_upload(self, workspace: str, relpath: str, partial: pathlib.Path) -> None:
        """Put a completely received upload in place, if the workspace's files are still writable.

        Checked now, not when the upload started: an upload that began before a job was
        submitted from the workspace and ends after the job is done must not replace the job's
        files (a forged ``result.json`` would become a stored measurement). The check and the
        rename happen under the job table's lock, which a submission also holds.
        """
        with self._require_store().lock:
            self.check_files_writable(workspace)
            self.workspaces.commit(workspace, relpath, partial)

    def check_workspace_removable(self, workspace: str) -> None:
        """A workspace can be deleted unless its job is still queued or running."""
        job = self.workspace_job(workspace)
        if job is not None and not job.terminal:
            raise Conflict(f"workspace {workspace!r} belongs to job {job.id}, which is {job.state.value}")

    # --- worker ---------------------------------------------------------------------------------

    def _work(self) -> None:
        store = self._require_store()
        while not self._stop.is_set():
            job = store.claim_next()
            if job is None:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                self._execute(job)
            except Exception as exc:  # never leave a job "running" behind a dead worker
                LOGGER.exception("job %s could not be run", job.id)
                self._fail(job.id, f"internal error of the instrument server: {type(exc).__name__}: {exc}")

    def _fail(self, job_id: str, message: str) -> None:
        store = self._require_store()
        with store.lock:
            job = self.job(job_id)
            if job.terminal:
                return
            job.state, job.message, job.finished, job.current_step = JobState.FAILED, message, utc_now(), None
            try:
                self._finish_files(job)
            except Exception:
                LOGGER.exception("cannot write the files of failed job %s", job_id)
            store.save(job)
            self._cancel.discard(job_id)

    def _interrupted(self, job_id: str) -> str | None:
        if job_id in self._cancel:
            return "cancelled on request"
        if self._stop.is_set():
            return SHUTDOWN_MESSAGE
        return None

    def _execute(self, job: Job) -> None:
        store = self._require_store()
        workspace = self.workspaces.directory(job.workspace)

        def on_step(name: str | None) -> None:
            with store.lock:
                current = self.job(job.id)
                current.current_step = name
                store.save(current)

        outcome = run_job(
            job, self.config, self.drivers, self.traffic, workspace,
            interrupted=lambda: self._interrupted(job.id),
            cancelled=lambda: job.id in self._cancel,
            on_step=on_step,
        )
        with store.lock:
            job = self.job(job.id)
            job.state, job.message, job.finished, job.current_step = outcome.state, outcome.message, utc_now(), None
            # files first: a client that sees the final state must find them complete
            JobLog(workspace / RAW_FILE).update(job)
            write_result(job, self.config.instrument, workspace, outcome)
            store.save(job)
            self._cancel.discard(job.id)
        LOGGER.info("job %s %s %s", job.id, job.state.value, job.message)

    def _finish_files(self, job: Job) -> None:
        """The result file (and the HDF5 root, if the file exists) of a job that ended without running."""
        try:
            workspace = self.workspaces.directory(job.workspace)
        except (WorkspaceNotFound, PathRefused):
            return
        raw = workspace / RAW_FILE
        if raw.is_file():
            try:
                JobLog(raw).update(job)
            except OSError:
                LOGGER.warning("cannot update %s of job %s", raw, job.id)
        write_result(job, self.config.instrument, workspace)


def _request_file_problem(error: ValidationError) -> str:
    """Why a request file is no :class:`~..protocol.MeasurementRequest`, naming the field (422, never 500)."""
    if any(item["type"] == "json_invalid" for item in error.errors()):
        return f"not valid JSON: {error.errors()[0]['msg']}"
    return f'expected {{"method": <name>, "parameters": {{...}}}}: {format_validation_error(error)}'
