"""One HDF5 file per job (``protocol.RAW_FILE``): what every action was asked, did, returned and said.

Layout (all text attributes are UTF-8 strings; JSON where structured)::

    /                       attrs: format ("bigmap-al instrument job log"), format_version (1),
                                   instrument, job_id, method, parameters (JSON), workspace,
                                   state, message, created, started, finished
    /actions/000_prepare    one group per step, in order ("<index>_<step name>");
                            attrs: step, action, index, devices (JSON: role -> device name(s)),
                                   parameters (JSON, as validated), status (ok | error |
                                   interrupted | skipped), error (message or ""), result (JSON,
                                   "{}" unless ok), start, end (ISO 8601 UTC, "" if skipped),
                                   start_unix, end_unix (float s, NaN if skipped), duration_s
        traffic             1-D dataset of strings, one per serial line:
                            "<ISO time>\\t<device>\\t<TX|RX|TIMEOUT>\\t<line>"

The file is opened, appended to and closed for every action, so a server killed mid-job leaves a
readable file holding every action that finished before; a failed action is recorded like a
successful one, with its error and the traffic that led to it.
"""

from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass, field
from typing import Any

import h5py

from .drivers import TrafficEntry
from .jobs import Job, dumps, iso_from_unix

__all__ = ["FORMAT", "FORMAT_VERSION", "ActionRecord", "JobLog"]

FORMAT = "bigmap-al instrument job log"
FORMAT_VERSION = 1


@dataclass
class ActionRecord:
    """What happened in one step; ``start``/``end`` are UNIX times (None if skipped)."""

    index: int
    step: str
    action: str
    devices: dict[str, Any]
    parameters: dict[str, Any]
    status: str
    error: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    start: float | None = None
    end: float | None = None
    traffic: list[TrafficEntry] = field(default_factory=list)


class JobLog:
    """Writes a job's HDF5 file, one open-append-close per call."""

    def __init__(self, path: str | pathlib.Path):
        self.path = pathlib.Path(path)

    def begin(self, job: Job, instrument: str) -> None:
        """Create the file (replacing any left-over) with the job's description."""
        with h5py.File(self.path, "w") as f:
            f.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION, "instrument": instrument})
            f.create_group("actions")
        self.update(job)

    def update(self, job: Job) -> None:
        """Write the job's current state into the root attributes."""
        with h5py.File(self.path, "a") as f:
            f.attrs.update({
                "job_id": job.id,
                "method": job.method,
                "parameters": dumps(job.parameters),
                "workspace": job.workspace,
                "state": job.state.value,
                "message": job.message,
                "created": job.created,
                "started": job.started or "",
                "finished": job.finished or "",
            })

    def record(self, record: ActionRecord) -> None:
        """Append one action's group."""
        with h5py.File(self.path, "a") as f:
            group = f.require_group("actions").create_group(f"{record.index:03d}_{record.step}")
            start = math.nan if record.start is None else record.start
            end = math.nan if record.end is None else record.end
            group.attrs.update({
                "step": record.step,
                "action": record.action,
                "index": record.index,
                "devices": dumps(record.devices),
                "parameters": dumps(record.parameters),
                "status": record.status,
                "error": record.error,
                "result": dumps(record.result),
                "start": iso_from_unix(record.start) or "",
                "end": iso_from_unix(record.end) or "",
                "start_unix": start,
                "end_unix": end,
                "duration_s": end - start,
            })
            lines = [entry.format() for entry in record.traffic]
            traffic = group.create_dataset("traffic", shape=(len(lines),), dtype=h5py.string_dtype())
            if lines:
                traffic[:] = lines
            traffic.attrs["columns"] = "time\tdevice\tdirection\tline"
