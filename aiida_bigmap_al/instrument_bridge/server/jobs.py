"""The job table, persisted in SQLite in the server's data directory.

The job object and its states are the wire protocol's (:mod:`..protocol`); this module stores them.

A job is never lost and never run twice: it is written to disk when it is accepted (``queued``),
again when the worker claims it (``running``) and when it ends (``done``, ``failed`` or
``cancelled``). A server that stops mid-job without finishing it (crash, power cut, kill) finds the
job still ``running`` when it starts again; :meth:`JobStore.fail_interrupted` then marks it
``failed`` ("interrupted by server restart") instead of running it again, because its sample may
already have been half-prepared. Jobs still ``queued`` simply run after the restart.

States::

    queued --claim--> running --> done | failed | cancelled
    queued --cancel-> cancelled
"""

from __future__ import annotations

import json
import pathlib
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from ..protocol import Job, JobState, iso_from_unix, utc_now

__all__ = ["Job", "JobState", "JobStore", "dumps", "iso_from_unix", "utc_now"]


class JobStore:
    """Jobs in a SQLite file; FIFO order is the order of submission. Thread-safe."""

    def __init__(self, path: str | pathlib.Path):
        self.path = pathlib.Path(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, "
            "workspace TEXT NOT NULL, state TEXT NOT NULL, data TEXT NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, seq)")
        self._db.execute("CREATE INDEX IF NOT EXISTS jobs_workspace ON jobs (workspace)")

    @property
    def lock(self) -> threading.RLock:
        """Held while a job changes state, so that a claim and a cancel cannot cross."""
        return self._lock

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, job: Job) -> Job:
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id, workspace, state, data) VALUES (?, ?, ?, ?)",
                (job.id, job.workspace, job.state.value, job.model_dump_json()),
            )
        return job

    def save(self, job: Job) -> Job:
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = ?, data = ? WHERE id = ?", (job.state.value, job.model_dump_json(), job.id)
            )
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.model_validate_json(row[0]) if row else None

    def by_workspace(self, workspace: str) -> Job | None:
        """The job that runs (or ran) in ``workspace``, if any (at most one per workspace)."""
        with self._lock:
            row = self._db.execute("SELECT data FROM jobs WHERE workspace = ? ORDER BY seq LIMIT 1", (workspace,)).fetchone()
        return Job.model_validate_json(row[0]) if row else None

    def list(self, state: JobState | None = None) -> list[Job]:
        """All jobs (or those in ``state``) in submission order."""
        query, args = "SELECT data FROM jobs ORDER BY seq", ()
        if state is not None:
            query, args = "SELECT data FROM jobs WHERE state = ? ORDER BY seq", (state.value,)
        with self._lock:
            rows = self._db.execute(query, args).fetchall()
        return [Job.model_validate_json(row[0]) for row in rows]

    def claim_next(self) -> Job | None:
        """The oldest queued job, marked ``running`` (atomically), or ``None``."""
        with self._lock:
            row = self._db.execute("SELECT data FROM jobs WHERE state = ? ORDER BY seq LIMIT 1", (JobState.QUEUED.value,)).fetchone()
            if row is None:
                return None
            job = Job.model_validate_json(row[0])
            job.state, job.started = JobState.RUNNING, utc_now()
            return self.save(job)

    def fail_interrupted(
        self, message: str = "interrupted by server restart", finalize: Callable[[Job], None] = lambda job: None
    ) -> list[Job]:
        """Mark every job left ``running`` by a previous server process as ``failed``.

        ``finalize(job)`` runs before each job is saved (to write its files), so that a job is
        never seen failed without them.
        """
        with self._lock:
            jobs = self.list(JobState.RUNNING)
            for job in jobs:
                job.state, job.message, job.finished, job.current_step = JobState.FAILED, message, utc_now(), None
                finalize(job)
                self.save(job)
        return jobs


def dumps(value: Any) -> str:
    """JSON for files and HDF5 attributes: compact, key order kept, NaN refused."""
    return json.dumps(value, allow_nan=False, separators=(",", ":"))
