"""The wire protocol (``protocol.py``): one contract that the server writes with and its clients read with."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from pydantic import ValidationError

from aiida_bigmap_al.instrument_bridge import protocol
from aiida_bigmap_al.instrument_bridge.protocol import RESULT_FILE, JobResult, MeasuredValue, MeasurementRequest
from aiida_bigmap_al.instrument_bridge.server.app import create_app
from aiida_bigmap_al.instrument_bridge.server.hdf5log import ActionRecord
from aiida_bigmap_al.instrument_bridge.server.jobs import Job, JobState, utc_now
from aiida_bigmap_al.instrument_bridge.server.orchestrator import Outcome, write_result

from .conftest import rig_config, rig_dict


def test_the_protocol_imports_neither_aiida_nor_fastapi():
    """Lab PCs have no AiiDA, and the broker, the bridge's second backend, serves no FastAPI app."""
    code = ("import json, sys; import aiida_bigmap_al.instrument_bridge.protocol; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('aiida', 'fastapi', 'starlette'))))")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == []


def test_every_path_the_clients_use_is_served(tmp_path):
    app = create_app(rig_config(rig_dict("droplet", tmp_path)))
    paths = {getattr(protocol, name) for name in protocol.__all__ if name.endswith("_PATH")}
    assert len(paths) == 9
    assert paths <= {route.path for route in app.routes}


def test_api_path_quotes_values_so_that_none_addresses_another_endpoint():
    assert protocol.api_path(protocol.JOB_PATH, job_id="../health") == "/jobs/..%2Fhealth"
    assert protocol.api_path(protocol.FILE_PATH, workspace="a/b", path="sub dir/x.json") == \
        "/workspaces/a%2Fb/files/sub%20dir/x.json"


def _job(state: JobState) -> Job:
    return Job(method="sdc_measure", parameters={"x": 1.0}, workspace="w", state=state, started=utc_now(),
               finished=utc_now())


def test_a_result_the_server_writes_reads_back_with_the_same_model(tmp_path):
    now = time.time()
    records = [ActionRecord(0, "hold", "wait", {}, {"seconds": 1.0}, "ok", start=now, end=now + 1.0),
               ActionRecord(1, "lift", "lift", {}, {}, "skipped")]
    job = _job(JobState.DONE)
    path = write_result(job, "rig", tmp_path, Outcome(JobState.DONE, "", {"value": 2.5, "unit": "mS/cm"}, records))
    document = JobResult.model_validate_json(path.read_bytes())
    assert (document.job_id, document.state, document.files) == (job.id, JobState.DONE, {"raw": protocol.RAW_FILE})
    assert [(s.step, s.status, s.end is None) for s in document.steps] == [("hold", "ok", False),
                                                                            ("lift", "skipped", True)]
    assert MeasuredValue.model_validate(document.result).value == 2.5


def test_the_server_cannot_write_a_result_that_its_clients_refuse(tmp_path):
    with pytest.raises(ValidationError, match="once a job has ended .* not 'running'"):
        write_result(_job(JobState.RUNNING), "rig", tmp_path)
    broken_step = ActionRecord(0, "hold", "wait", {}, {}, "exploded")
    with pytest.raises(ValidationError, match="status\n  Input should be 'ok', 'error', 'interrupted' or 'skipped'"):
        write_result(_job(JobState.FAILED), "rig", tmp_path, Outcome(JobState.FAILED, "no", None, [broken_step]))
    assert not (tmp_path / RESULT_FILE).exists()


RESULT = {"instrument": "rig", "job_id": "0" * 32, "method": "m", "parameters": {}, "state": "done", "message": "",
          "created": "2025-01-31T12:00:00.000000+00:00", "started": None,
          "finished": "2025-01-31T12:01:00.000000+00:00", "result": None}


@pytest.mark.parametrize(("change", "message"), [
    ({"state": "queued"}, "not 'queued'"),
    ({"state": "paused"}, "state\n  Input should be 'queued', 'running', 'done', 'failed' or 'cancelled'"),
    ({"finished": "yesterday"}, "finished\n  Value error, Invalid isoformat string"),
    ({"job_id": None}, "job_id\n  Input should be a valid string"),
    ({"steps": [{"step": "a", "action": "wait", "status": "ok", "start": "noon"}]}, "steps.0.start"),
])
def test_a_result_file_that_is_no_job_result_is_refused_naming_the_field(change, message):
    with pytest.raises(ValidationError, match=message):
        JobResult.model_validate_json(json.dumps({**RESULT, **change}))


@pytest.mark.parametrize("method", [["conductivity"], {"name": "conductivity"}, ""])
def test_a_request_whose_method_is_no_name_is_refused(method):
    with pytest.raises(ValidationError, match="method"):
        MeasurementRequest.model_validate({"method": method, "parameters": {}})
