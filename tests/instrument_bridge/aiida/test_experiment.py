"""``ExperimentCalcJob`` through AiiDA's engine, the bridge and a live instrument server; and its faults.

Every run goes the whole way: input validation, ``request.json`` uploaded to the job's workspace
by the ``bigmap.instrument`` transport, the job queued, polled and retrieved by the scheduler and
transport over HTTP, the rig's steps carried out by serial drivers on emulated devices, the parser.
"""

from __future__ import annotations

import io
import json
import threading
import time

import h5py
import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.manage.caching import enable_caching
from aiida.plugins import CalculationFactory, ParserFactory

from aiida_bigmap_al.calcjobs.experiment import ExperimentCalcJob
from aiida_bigmap_al.electrolyte import from_formulation, to_formulation
from aiida_bigmap_al.parsers.experiment import ExperimentParser
from aiida_bigmap_al.schemas import Formulation, Measurement

from ..conftest import poll_job

STEPS = ["000_prepare", "001_fill", "002_equilibrate", "003_measure", "004_clean"]


def _suggestion(r=0.3, c=1.0, temperature=298.15):
    return orm.Dict({"formulation": to_formulation(r, c).model_dump(mode="json"),
                     "variables": {"r": r, "c": c}, "temperature": {"value": temperature, "unit": "K"}})


def _raw(node):
    return h5py.File(io.BytesIO(node.outputs.raw_data.get_content(mode="rb")), "r")


def _jobs_of(server, node):
    with server.client() as client:
        return [job for job in client.get("/jobs").json() if job["workspace"] == node.uuid]


def test_entry_points():
    assert CalculationFactory("bigmap.experiment") is ExperimentCalcJob
    assert ParserFactory("bigmap.experiment") is ExperimentParser


def test_measurement_end_to_end_and_never_from_the_cache(instrument, server):
    inputs = {"code": instrument(server.url).code, "formulation": to_formulation(0.3, 1.0), "temperature": 298.15,
              "parameters": {"replicates": 2}}
    results, node = run_get_node(ExperimentCalcJob, **inputs)
    assert node.is_finished_ok, node.exit_message

    # the request, as stored with the job and as the server ran it in the workspace named after the job
    stored = Formulation.model_validate(node.inputs.formulation.get_dict())
    r, c = from_formulation(stored)
    sent = json.loads(node.base.repository.get_object_content("request.json"))
    assert sent == {"method": "conductivity", "parameters": {"r": r, "c": c, "temperature": 298.15, "replicates": 2}}
    [job] = _jobs_of(server, node)
    assert job["id"] == node.get_job_id() and job["state"] == "done"
    assert json.loads(node.get_detailed_job_info()["stdout"])["state"] == "done"

    # the measurement: the rig's value on the requested point, origin experiment, id = this job
    measurement = Measurement.model_validate(results["measurement"].get_dict())
    result = json.loads(node.outputs.retrieved.base.repository.get_object_content("result.json"))
    assert measurement.fom_data.value == pytest.approx(result["result"]["value"], rel=1e-13)  # AiiDA keeps 14 digits
    assert result["result"]["value"] > 0
    assert measurement.fom_data.unit == "mS/cm" and measurement.fom_data.name == "conductivity"
    assert measurement.kind.origin == measurement.fom_data.origin.origin == "experiment"
    assert measurement.fom_data.measurement_id == node.uuid
    assert measurement.formulation == stored and measurement.temperature.kelvin == 298.15

    # the raw data: the job's HDF5 log with every action and the serial traffic
    with _raw(node) as raw:
        assert raw.attrs["job_id"] == node.get_job_id() and raw.attrs["state"] == "done"
        assert list(raw["actions"]) == STEPS
        assert all(raw[f"actions/{step}"].attrs["status"] == "ok" for step in STEPS)
        traffic = [line.decode() for line in raw["actions/003_measure/traffic"][()]]
        assert sum("\tTX\tCELL MEASURE" in line for line in traffic) == 2  # two replicates

    # a measurement is a new sample every time: never served from AiiDA's cache, even with caching on
    with enable_caching():
        _, again = run_get_node(ExperimentCalcJob, **inputs)
    assert again.is_finished_ok and again.base.caching.get_cache_source() is None
    assert again.get_job_id() != node.get_job_id() and len(_jobs_of(server, again)) == 1


def test_device_answering_garbage_is_an_instrument_fault_with_its_log(instrument, server):
    with server.client() as client:
        client.post("/emulators/cell/fault", json={"mode": "garbage", "command": "MEASURE", "count": 1})
    _, node = run_get_node(ExperimentCalcJob, code=instrument(server.url).code, suggestion=_suggestion())

    assert node.exit_status == ExperimentCalcJob.exit_codes.ERROR_INSTRUMENT_FAULT.status
    assert "step 'measure'" in node.exit_message and "device 'cell'" in node.exit_message
    assert "CELL MEASURE" in node.exit_message
    assert "measurement" not in node.outputs
    with _raw(node) as raw:  # the log still records what happened, the clean-up step included
        assert raw.attrs["state"] == "failed"
        measure, clean = raw["actions/003_measure"], raw["actions/004_clean"]
        assert measure.attrs["status"] == "error" and "CELL MEASURE" in measure.attrs["error"]
        directions = [line.decode().split("\t")[2] for line in measure["traffic"][()]]
        assert directions[:2] == ["TX", "RX"]
        assert clean.attrs["status"] == "ok"


def test_a_cancelled_job_is_reported_failed_and_never_measured_twice(instrument, server):
    with server.client() as client:
        blocker = client.post("/jobs", json={"method": "hold", "parameters": {"seconds": 60}}).json()

    def cancel_when_queued():
        """The lab cancels the experiment while it waits behind the blocker; then frees the rig."""
        with server.client() as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                queued = client.get("/jobs", params={"state": "queued"}).json()
                if queued:
                    client.post(f"/jobs/{queued[0]['id']}/cancel")
                    client.post(f"/jobs/{blocker['id']}/cancel")
                    return
                time.sleep(0.02)

    canceller = threading.Thread(target=cancel_when_queued, daemon=True)
    canceller.start()
    _, node = run_get_node(ExperimentCalcJob, code=instrument(server.url).code, suggestion=_suggestion())
    canceller.join(timeout=10)

    assert node.exit_status == ExperimentCalcJob.exit_codes.ERROR_JOB_CANCELLED.status
    assert not node.is_finished_ok and "cancelled" in node.exit_message
    assert "measurement" not in node.outputs and "raw_data" not in node.outputs  # it never started
    [job] = _jobs_of(server, node)
    assert job["state"] == "cancelled" and job["started"] is None
    with server.client() as client:  # submitting it again returns the cancelled job: no second measurement
        again = client.post("/jobs", json={"workspace": node.uuid, "request_file": "request.json"})
        assert again.status_code == 200 and again.json()["id"] == job["id"]
        poll_job(client, blocker["id"], {"cancelled"})
    assert len(_jobs_of(server, node)) == 1


def test_a_request_the_rig_refuses_fails_with_the_servers_message(instrument, server):
    code = instrument(server.url).code
    _, node = run_get_node(ExperimentCalcJob, code=code, suggestion=_suggestion(temperature=400.0))
    assert node.exit_status == ExperimentCalcJob.exit_codes.ERROR_REQUEST_REJECTED.status == 190
    assert "parameters.temperature" in node.exit_message and "333.15" in node.exit_message
    assert _jobs_of(server, node) == []


def test_an_unreachable_server_is_waited_for(instrument, make_server, fast_retries):
    server = make_server(start=False)  # the lab PC is off: connections are refused
    starter = threading.Timer(2.0, server.start)
    starter.start()
    try:
        results, node = run_get_node(ExperimentCalcJob, code=instrument(server.url).code, suggestion=_suggestion())
    finally:
        starter.join()
    assert node.is_finished_ok, node.exit_message
    assert results["measurement"]["fom_data"]["origin"]["origin"] == "experiment"
    retries = [log for log in orm.Log.collection.get_logs_for(node) if "InstrumentUnreachable" in log.message]
    assert retries, "expected AiiDA's back-off to retry the upload while the server was off"


INVALID_INPUTS = {
    "no temperature": ({"formulation": to_formulation(0.3, 1.0)}, "give `suggestion`, or both"),
    "point given twice": ({"suggestion": True, "temperature": 298.15}, "not both"),
    "point in parameters": ({"suggestion": True, "parameters": {"temperature": 300}}, "come from the formulation"),
    "text parameter": ({"suggestion": True, "parameters": {"replicates": "three"}}, "finite numbers"),
    "bad formulation": ({"formulation": {"compounds": []}, "temperature": 298.15}, "not a valid FINALES Formulation"),
}


@pytest.mark.parametrize("case", INVALID_INPUTS)
def test_invalid_inputs_are_refused_before_anything_is_sent(instrument, server, case):
    inputs, message = INVALID_INPUTS[case]
    if "suggestion" in inputs:
        inputs = {**inputs, "suggestion": _suggestion()}
    with pytest.raises(ValueError, match=message):
        run_get_node(ExperimentCalcJob, code=instrument(server.url).code, **inputs)


def test_an_experiment_needs_an_instrument_computer(aiida_code_installed):
    code = aiida_code_installed(label="not-a-rig", filepath_executable="/bin/true",
                                default_calc_job_plugin="bigmap.experiment")
    with pytest.raises(ValueError, match="runs on an instrument computer"):
        run_get_node(ExperimentCalcJob, code=code, suggestion=_suggestion())
