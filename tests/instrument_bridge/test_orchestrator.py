"""Jobs through the instrument (queue, orchestrator, actions, drivers, emulators) without HTTP."""

from __future__ import annotations

import json
import time

import h5py
import pytest

from aiida_bigmap_al.instrument_bridge.server.instrument import Conflict, DataDirInUse, Instrument
from aiida_bigmap_al.instrument_bridge.server.jobs import Job, JobState, JobStore
from aiida_bigmap_al.instrument_bridge.server.validation import RequestError

from .conftest import rig_config, rig_dict

REQUEST = {"r": 0.4, "c": 1.1, "temperature": 303.15, "replicates": 3}


@pytest.fixture(scope="module")
def conductivity_rig(tmp_path_factory):
    """One conductivity rig shared by the tests that only submit invalid requests."""
    with Instrument(rig_config(rig_dict("conductivity", tmp_path_factory.mktemp("rig")))) as rig:
        yield rig


def _actions(path):
    """``{step: (status, error, result, traffic lines)}`` of a job's HDF5 file, in order."""
    with h5py.File(path) as f:
        return {
            group.attrs["step"]: (
                group.attrs["status"], group.attrs["error"], json.loads(group.attrs["result"]),
                [line.decode() for line in group["traffic"][()]],
            )
            for group in (f["actions"][name] for name in sorted(f["actions"]))
        }


def _with_slow_method(raw: dict, seconds: float = 5.0) -> dict:
    """Add a method that holds the instrument for ``seconds``, then rinses (always)."""
    raw["methods"]["slow"] = {
        "steps": [
            {"name": "hold", "action": "wait", "params": {"seconds": seconds}},
            {"name": "clean", "action": "clean", "devices": {"cell": "cell"}, "always": True},
        ],
    }
    return raw


def test_conductivity_job(make_rig, tmp_path):
    rig = make_rig(rig_dict("conductivity", tmp_path))
    job, created = rig.submit("conductivity", {"r": 0.4, "c": 1.1, "temperature": 303.15})
    assert created and job.state is JobState.QUEUED
    assert job.parameters == REQUEST  # the default number of replicates filled in
    job = rig.wait(job.id, timeout=30)
    assert job.state is JobState.DONE, job.message
    workspace = rig.workspaces.directory(job.workspace)
    assert json.loads((workspace / "request.json").read_text()) == {"method": "conductivity", "parameters": REQUEST}

    body = json.loads((workspace / "result.json").read_text())
    assert body["state"] == "done" and body["job_id"] == job.id and body["instrument"] == "conductivity-rig-1"
    result = body["result"]
    assert result["quantity"] == "conductivity" and result["unit"] == "mS/cm"
    assert len(result["replicates"]) == 3 and result["value"] == pytest.approx(sum(result["replicates"]) / 3)
    assert 5.0 < result["value"] < 15.0  # LiPF6 in EC/PC/EMC at 30 degC
    assert result["temperature"]["value"] == pytest.approx(303.15, abs=0.1)
    assert result["formulation"]["r"] == pytest.approx(0.4, abs=0.01)
    assert result["formulation"]["c"] == pytest.approx(1.1, abs=0.01)
    assert result["formulation"]["cyclic_fraction"] == pytest.approx(0.3, abs=0.01)
    assert [s["status"] for s in body["steps"]] == ["ok"] * 5

    actions = _actions(workspace / "raw.h5")
    assert list(actions) == ["prepare", "fill", "equilibrate", "measure", "clean"]
    status, error, prepared, traffic = actions["prepare"]
    assert status == "ok" and error == ""
    assert set(prepared["volumes_ml"]) == {"pump_ec", "pump_pc", "pump_emc", "pump_salt"}
    assert sum(prepared["volumes_ml"].values()) == pytest.approx(2.0, abs=0.003)
    assert any("\tpump_salt\tTX\tPUMP4 DISPENSE " in line for line in traffic)
    measured = actions["measure"]
    readings = [line.split("\t")[3] for line in measured[3] if "\tRX\t" in line]
    assert [float(reply.split()[1]) for reply in readings] == result["replicates"]  # the raw lines
    with h5py.File(workspace / "raw.h5") as f:
        assert f.attrs["state"] == "done" and f.attrs["job_id"] == job.id
        assert json.loads(f.attrs["parameters"]) == REQUEST
        group = f["actions/003_measure"]
        assert json.loads(group.attrs["parameters"]) == {"replicates": 3}
        assert group.attrs["end_unix"] > group.attrs["start_unix"]
        assert group.attrs["start"].endswith("+00:00")


def test_droplet_job_measures_schwefel_at_the_touch_down_point(make_rig, tmp_path):
    from aiida_bigmap_al.instrument_bridge.emulators import schwefel

    raw = rig_dict("droplet", tmp_path)
    raw["devices"]["sdc"]["emulator"]["options"]["noise"] = 0.0
    rig = make_rig(raw)
    job, _ = rig.submit("sdc_measure", {"x": 25.0, "y": 60.0})
    job = rig.wait(job.id, timeout=30)
    assert job.state is JobState.DONE, job.message
    result = json.loads((rig.workspaces.directory(job.workspace) / "result.json").read_text())["result"]
    assert result["position"] == {"x": 25.0, "y": 60.0, "z": 0.0, "unit": "mm"}
    assert result["value"] == pytest.approx(0.0011933 * schwefel(-250.0, 100.0), abs=1e-6)
    actions = _actions(rig.workspaces.directory(job.workspace) / "raw.h5")
    assert actions["lift"][2] == {"x": 25.0, "y": 60.0, "z": 10.0}
    assert rig.emulators["stage"].device.bench.stage_position == (25.0, 60.0, 10.0)


def test_garbage_from_a_device_fails_the_job_and_is_recorded(make_rig, tmp_path):
    raw = rig_dict("conductivity", tmp_path)
    raw["devices"]["cell"]["emulator"]["fault"] = {"mode": "garbage", "command": "MEASURE", "count": 1}
    rig = make_rig(raw)
    job, _ = rig.submit("conductivity", REQUEST)
    job = rig.wait(job.id, timeout=30)
    assert job.state is JobState.FAILED
    assert job.message.startswith("step 'measure' (measure_conductivity) error: device 'cell', command 'CELL MEASURE': "
                                  "unexpected reply")
    workspace = rig.workspaces.directory(job.workspace)
    actions = _actions(workspace / "raw.h5")
    status, error, result, traffic = actions["measure"]
    assert status == "error" and "device 'cell', command 'CELL MEASURE'" in error and result == {}
    assert traffic[0].endswith("\tcell\tTX\tCELL MEASURE")
    assert "\tcell\tRX\t" in traffic[1] and not traffic[1].split("\t")[3].startswith("K ")
    assert actions["prepare"][0] == "ok" and actions["clean"][0] == "ok"  # clean-up still ran
    body = json.loads((workspace / "result.json").read_text())
    assert body["state"] == "failed" and body["result"] is None and body["message"] == job.message
    with h5py.File(workspace / "raw.h5") as f:
        assert f.attrs["state"] == "failed" and f.attrs["message"] == job.message
    # the fault was for one command only: the next job on the same rig succeeds
    assert rig.wait(rig.submit("conductivity", REQUEST)[0].id, timeout=30).state is JobState.DONE


def test_silent_device_fails_the_job_and_skips_the_rest(make_rig, tmp_path):
    raw = rig_dict("conductivity", tmp_path)
    raw["devices"]["pump_pc"]["timeout"] = 0.5
    raw["devices"]["pump_pc"]["emulator"]["fault"] = {"mode": "silent", "command": "DISPENSE"}
    rig = make_rig(raw)
    job = rig.wait(rig.submit("conductivity", REQUEST)[0].id, timeout=30)
    assert job.state is JobState.FAILED
    assert "device 'pump_pc', command 'PUMP2 DISPENSE " in job.message and "no complete reply within" in job.message
    actions = _actions(rig.workspaces.directory(job.workspace) / "raw.h5")
    assert {step: a[0] for step, a in actions.items()} == {
        "prepare": "error", "fill": "skipped", "equilibrate": "skipped", "measure": "skipped", "clean": "ok",
    }
    assert actions["prepare"][3][-1].split("\t")[1:3] == ["pump_pc", "TIMEOUT"]


@pytest.mark.parametrize(
    ("method", "parameters", "message"),
    [
        ("viscosity", {}, "method: unknown method 'viscosity'; this rig offers ['conductivity']"),
        ("conductivity", {"r": 1.5, "c": 1.0, "temperature": 300.0},
         "parameters.r: Input should be less than or equal to 1 (got 1.5)"),
        ("conductivity", {"r": 0.5, "c": 3.0, "temperature": 300.0},
         "parameters.c: Input should be less than or equal to 2.2 (got 3.0)"),
        ("conductivity", {"r": 0.5, "temperature": 300.0}, "parameters.c: Field required"),
        ("conductivity", {"r": 0.5, "c": 1.0, "temperature": 300.0, "pressure": 1.0},
         "parameters.pressure: Extra inputs are not permitted"),
        ("conductivity", {"r": 0.5, "c": 1.0, "temperature": 300.0, "replicates": 2.5},
         "parameters.replicates: Input should be a valid integer"),
        ("conductivity", {"r": "half", "c": 1.0, "temperature": 300.0}, "parameters.r: expected a number, got str 'half'"),
    ],
)
def test_invalid_requests_are_refused(conductivity_rig, method, parameters, message):
    with pytest.raises(RequestError) as info:
        conductivity_rig.submit(method, parameters)
    assert message in str(info.value)
    assert conductivity_rig.jobs() == []


def test_requests_infeasible_on_the_devices_are_refused(make_rig, tmp_path):
    raw = rig_dict("conductivity", tmp_path)
    raw["methods"]["conductivity"]["steps"][0]["devices"]["pumps"].remove("pump_salt")
    raw["methods"]["conductivity"]["parameters"]["temperature"]["max"] = 400.0
    raw["methods"]["conductivity"]["parameters"]["c"]["min"] = 0.0
    rig = make_rig(raw)
    with pytest.raises(RequestError, match=r"step 'prepare' \(prepare_formulation\): r=0.5, c=1.0 mol/kg cannot be "
                                           r"mixed from the stocks of \['pump_ec', 'pump_pc', 'pump_emc'\]"):
        rig.submit("conductivity", {"r": 0.5, "c": 1.0, "temperature": 300.0})
    with pytest.raises(RequestError, match=r"step 'equilibrate' \(equilibrate_temperature\): temperature 350.0 K "
                                           r"outside the thermostat's \[238.15, 338.15\] K"):
        rig.submit("conductivity", {"r": 0.5, "c": 0.0, "temperature": 350.0})


def test_jobs_run_one_at_a_time_in_submission_order(make_rig, tmp_path):
    rig = make_rig(rig_dict("droplet", tmp_path))
    jobs = [rig.submit("sdc_measure", {"x": 10.0 * i, "y": 50.0})[0] for i in range(1, 4)]
    done = [rig.wait(job.id, timeout=30) for job in jobs]
    assert [job.state for job in done] == [JobState.DONE] * 3
    for earlier, later in zip(done, done[1:]):
        assert earlier.finished <= later.started


def test_cancel_queued_and_running_jobs(make_rig, tmp_path):
    rig = make_rig(_with_slow_method(rig_dict("conductivity", tmp_path)))
    running, _ = rig.submit("slow", {})
    queued, _ = rig.submit("conductivity", REQUEST)
    deadline = time.monotonic() + 10
    while rig.job(running.id).current_step != "hold":
        assert time.monotonic() < deadline
        time.sleep(0.01)

    cancelled = rig.cancel(queued.id)
    assert cancelled.state is JobState.CANCELLED and cancelled.message == "cancelled before it started"
    workspace = rig.workspaces.directory(queued.workspace)
    assert json.loads((workspace / "result.json").read_text())["state"] == "cancelled"
    assert not (workspace / "raw.h5").exists()  # never started, never measured

    start = time.monotonic()
    assert rig.cancel(running.id).cancel_requested
    job = rig.wait(running.id, timeout=10)
    assert time.monotonic() - start < 3.0  # not the whole 5 s hold
    assert job.state is JobState.CANCELLED and job.message == "step 'hold' (wait) interrupted: cancelled on request"
    actions = _actions(rig.workspaces.directory(running.workspace) / "raw.h5")
    assert actions["hold"][0] == "interrupted" and actions["clean"][0] == "ok"
    with pytest.raises(Conflict, match="already cancelled"):
        rig.cancel(running.id)
    assert rig.job(queued.id).state is JobState.CANCELLED  # it stays cancelled: never run


def test_resubmitting_into_a_workspace_does_not_measure_twice(make_rig, tmp_path):
    rig = make_rig(rig_dict("droplet", tmp_path))
    name, _ = rig.workspaces.create("calc-0001")
    first, created = rig.submit("sdc_measure", {"x": 1.0, "y": 2.0}, workspace=name)
    again, created_again = rig.submit("sdc_measure", {"x": 1, "y": 2}, workspace=name)
    assert created and not created_again and again.id == first.id
    rig.wait(first.id, timeout=30)
    assert rig.submit("sdc_measure", {"x": 1.0, "y": 2.0}, workspace=name)[0].id == first.id
    assert len(rig.jobs()) == 1
    with pytest.raises(Conflict, match=f"workspace 'calc-0001' already belongs to job {first.id}"):
        rig.submit("sdc_measure", {"x": 5.0, "y": 2.0}, workspace=name)


def test_request_file_in_a_workspace(make_rig, tmp_path):
    rig = make_rig(rig_dict("droplet", tmp_path))
    name, _ = rig.workspaces.create("calc-0002")
    rig.workspaces.write(name, "request.json", b'{"method": "sdc_measure", "parameters": {"x": 3, "y": 4}}')
    job, _ = rig.submit_file(name)
    assert job.parameters == {"x": 3.0, "y": 4.0} and job.workspace == name
    rig.workspaces.create("calc-0003")
    rig.workspaces.write("calc-0003", "request.json", b'{"method": "sdc_measure", "params": {}}')
    with pytest.raises(RequestError, match="request.json: expected"):
        rig.submit_file("calc-0003")
    rig.workspaces.write("calc-0003", "request.json", b"{not json")
    with pytest.raises(RequestError, match="request.json: not valid JSON"):
        rig.submit_file("calc-0003")


def test_store_marks_running_jobs_failed_at_restart(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    running = store.add(Job(method="m", parameters={}, workspace="a"))
    queued = store.add(Job(method="m", parameters={}, workspace="b"))
    assert store.claim_next().id == running.id
    store.close()
    store = JobStore(tmp_path / "jobs.sqlite")  # as a new server process would
    assert [job.id for job in store.fail_interrupted()] == [running.id]
    assert store.get(running.id).state is JobState.FAILED
    assert store.get(running.id).message == "interrupted by server restart"
    assert store.get(queued.id).state is JobState.QUEUED  # not run yet: it will run, once
    assert store.claim_next().id == queued.id and store.claim_next() is None


def test_shutdown_mid_job_fails_it_after_clean_up(tmp_path):
    config = rig_config(_with_slow_method(rig_dict("conductivity", tmp_path)))
    rig = Instrument(config).start()
    job, _ = rig.submit("slow", {})
    deadline = time.monotonic() + 10
    while rig.job(job.id).current_step != "hold":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    rig.stop()
    with Instrument(config) as restarted:
        job = restarted.job(job.id)
        assert job.state is JobState.FAILED
        assert job.message == "step 'hold' (wait) interrupted: the instrument server shut down during the job"
        actions = _actions(restarted.workspaces.directory(job.workspace) / "raw.h5")
        assert {step: a[0] for step, a in actions.items()} == {"hold": "interrupted", "clean": "ok"}


def test_an_internal_error_fails_the_job_and_the_worker_goes_on(make_rig, tmp_path):
    rig = make_rig(rig_dict("droplet", tmp_path))
    name, _ = rig.workspaces.create("calc-broken")
    (rig.workspaces.directory(name) / "raw.h5").mkdir()  # the job log cannot be written
    broken = rig.wait(rig.submit("sdc_measure", {"x": 1.0, "y": 1.0}, workspace=name)[0].id, timeout=30)
    assert broken.state is JobState.FAILED
    assert broken.message.startswith("internal error of the instrument server: ")
    assert json.loads((rig.workspaces.directory(name) / "result.json").read_text())["state"] == "failed"
    assert rig.wait(rig.submit("sdc_measure", {"x": 2.0, "y": 2.0})[0].id, timeout=30).state is JobState.DONE


def test_one_server_per_data_directory(make_rig, tmp_path):
    """Two servers on one data directory would run one queue twice: the second one is refused."""
    raw = rig_dict("droplet", tmp_path)
    first = make_rig(raw)
    with pytest.raises(DataDirInUse, match="is in use by another instrument server"):
        Instrument(rig_config(raw)).start()
    first.stop()
    with Instrument(rig_config(raw)) as second:  # free again once the first has stopped
        assert second.jobs() == []
