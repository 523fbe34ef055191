"""The ``bigmap.instrument`` transport and scheduler against a live instrument server (real HTTP)."""

from __future__ import annotations

import json

import pytest
from aiida.plugins import SchedulerFactory, TransportFactory
from plumpy.process_states import PauseInterruption
from aiida.schedulers.datastructures import JobState

from aiida_bigmap_al.instrument_bridge.client import InstrumentAuthError, InstrumentUnreachable
from aiida_bigmap_al.instrument_bridge.register import check_connection
from aiida_bigmap_al.instrument_bridge.scheduler import (
    EXIT_REQUEST_REJECTED,
    InstrumentScheduler,
    job_info,
)
from aiida_bigmap_al.instrument_bridge.transport import (
    WORKDIR_WORKSPACE,
    InstrumentTokenError,
    InstrumentTransport,
)

from ..conftest import TOKEN, poll_job

JOB_DIR = "/ab/cd/ef-0123"  # AiiDA's sharded job directory: workspace "abcdef-0123"
WORKSPACE = "abcdef-0123"
REQUEST = {"method": "conductivity", "parameters": {"r": 0.3, "c": 1.0, "temperature": 298.15}}


def test_entry_points():
    assert TransportFactory("bigmap.instrument") is InstrumentTransport
    assert SchedulerFactory("bigmap.instrument") is InstrumentScheduler


@pytest.fixture
def transport(instrument, server):
    with instrument(server.url).computer.get_transport() as transport:
        yield transport


def test_files_of_a_job_directory_live_in_its_workspace(transport, server, tmp_path):
    local = tmp_path / "local"
    (local / ".aiida").mkdir(parents=True)
    (local / "request.json").write_text(json.dumps(REQUEST))
    (local / ".aiida" / "calcinfo.json").write_text("{}")

    assert transport.whoami() == "conductivity-rig-1"
    assert transport.path_exists("/") and transport.isdir("/ab/cd")  # the shard levels always exist
    assert not transport.path_exists(JOB_DIR)
    transport.makedirs("/ab/cd", ignore_existing=True)
    transport.mkdir(JOB_DIR)
    transport.put(str(local / "request.json"), f"{JOB_DIR}/request.json")
    transport.put(str(local / ".aiida"), f"{JOB_DIR}/.aiida")

    with server.client() as client:  # what the server holds: the workspace named after the job
        files = client.get(f"/workspaces/{WORKSPACE}/files").json()
    assert sorted(entry["path"] for entry in files) == [".aiida/calcinfo.json", "request.json"]
    assert transport.listdir(JOB_DIR) == [".aiida", "request.json"]
    assert transport.listdir(JOB_DIR, pattern="*.json") == ["request.json"]
    assert transport.isdir(f"{JOB_DIR}/.aiida") and transport.isfile(f"{JOB_DIR}/request.json")
    assert transport.get_attribute(f"{JOB_DIR}/request.json").st_size == len(json.dumps(REQUEST))
    assert transport.glob(f"{JOB_DIR}/*.json") == [f"{JOB_DIR}/request.json"]

    back = tmp_path / "back"
    back.mkdir()
    transport.get(f"{JOB_DIR}/request.json", str(back / "request.json"))
    transport.get(f"{JOB_DIR}/missing.h5", str(back / "missing.h5"), ignore_nonexisting=True)
    transport.get(JOB_DIR, str(back / "tree"))
    assert json.loads((back / "request.json").read_text()) == REQUEST
    assert not (back / "missing.h5").exists()
    assert (back / "tree" / ".aiida" / "calcinfo.json").read_text() == "{}"
    with pytest.raises(FileNotFoundError):
        transport.get(f"{JOB_DIR}/missing.h5", str(back / "missing.h5"))

    transport.copy(f"{JOB_DIR}/request.json", f"{JOB_DIR}/copy.json")
    transport.remove(f"{JOB_DIR}/copy.json")
    transport.rmtree(f"{JOB_DIR}/.aiida")
    assert transport.listdir(JOB_DIR) == ["request.json"]
    with pytest.raises(OSError, match="not empty"):
        transport.rmdir(JOB_DIR)
    transport.rmtree(JOB_DIR)
    assert not transport.path_exists(JOB_DIR)


def test_paths_that_leave_the_workspace_are_refused(transport, server, tmp_path):
    local = tmp_path / "x.txt"
    local.write_text("x")
    transport.mkdir("/ab/cd/one")
    transport.mkdir("/ab/cd/two")
    for path in ("/ab/cd/one/../two/x.txt", "/ab/cd/one/../../../etc/passwd", "../x.txt", "/ab/cd/one/a/../../x"):
        with pytest.raises(PermissionError, match=r"'\.\.'"):
            transport.putfile(local, path)
        with pytest.raises(PermissionError):
            transport.isfile(path)
    # what this side lets through, the server checks again: a backslash is refused there (400)
    with pytest.raises(PermissionError, match="answered 400"):
        transport.putfile(local, "/ab/cd/one/..\\..\\x.txt")
    with pytest.raises(PermissionError, match="above the workspaces"):
        transport.putfile(local, "/ab/cd")
    with server.client() as client:
        assert client.get("/workspaces/abcdone/files").json() == []
        assert client.get("/workspaces/abcdtwo/files").json() == []


def test_files_directly_in_the_work_directory_live_in_its_own_workspace(transport, server, tmp_path):
    """What ``verdi computer test`` does in the work directory ``/``: put, check, get back, remove a file."""
    local = tmp_path / "probe.txt"
    local.write_text("probe")
    assert transport.isdir("/tmpprobe") and not transport.isfile("/tmpprobe")  # nothing there: a shard level
    transport.putfile(local, "/tmpprobe")
    assert transport.isfile("/tmpprobe") and not transport.isdir("/tmpprobe")
    assert transport.get_attribute("/tmpprobe").st_size == len("probe")
    with pytest.raises(FileExistsError):
        transport.putfile(local, "/tmpprobe", overwrite=False)
    transport.getfile("/tmpprobe", tmp_path / "back.txt")
    assert (tmp_path / "back.txt").read_text() == "probe"
    with server.client() as client:
        assert [e["path"] for e in client.get(f"/workspaces/{WORKDIR_WORKSPACE}/files").json()] == ["tmpprobe"]
    transport.copy("/tmpprobe", "/tmpcopy")
    transport.remove("/tmpprobe")
    transport.rmtree("/tmpcopy")
    assert not transport.isfile("/tmpprobe") and not transport.isfile("/tmpcopy")
    with pytest.raises(FileNotFoundError):
        transport.remove("/tmpprobe")
    with pytest.raises(PermissionError, match="above the workspaces"):  # the shard levels below stay directories
        transport.putfile(local, "/ab/tmpprobe")


def test_the_transport_runs_no_commands(transport):
    with pytest.raises(NotImplementedError, match=r"runs no commands .*'rm -rf /'"):
        transport.exec_command_wait("rm -rf /")  # AiiDA's sign of a transport without a shell
    with pytest.raises(NotImplementedError):
        transport.gotocomputer_command("/ab/cd/ef")
    with pytest.raises(OSError, match="symbolic links"):
        transport.symlink("/ab/cd/ef/a", "/ab/cd/ef/b")


def test_wrong_token_and_unreachable_server_are_refused_at_open(instrument, server, make_server, tmp_path):
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-token-0123456789")
    computer = instrument(server.url, token_file=wrong).computer
    with pytest.raises(InstrumentAuthError, match=r"refused the bearer token .* \(401: ") as refused:
        computer.get_transport().open()
    assert isinstance(refused.value, InstrumentTokenError) and isinstance(refused.value, PauseInterruption)
    message = str(refused.value)
    assert f"`{computer.label}`" in message and str(wrong) in message and "not-the-token" not in message
    assert f"bigmap-al instrument register {computer.label} {server.url} --token-file FILE" in message
    assert refused.value.msg["message"] == message  # what the engine pauses the CalcJob with
    step = check_connection(computer)
    assert step.action == "not usable now" and "401" in step.detail

    missing = instrument(server.url, token_file=wrong)
    wrong.unlink()
    with pytest.raises(InstrumentTokenError, match="cannot read the instrument token file") as unreadable:
        missing.computer.get_transport().open()
    assert f"`{missing.computer.label}`" in str(unreadable.value)

    off = make_server(start=False)  # port reserved, nothing listening
    with pytest.raises(InstrumentUnreachable, match="not reachable"):
        instrument(off.url).computer.get_transport().open()


def test_scheduler_submits_polls_and_cancels(transport, server, tmp_path):
    scheduler = InstrumentScheduler()
    scheduler.set_transport(transport)
    with server.client() as client:
        blocker = client.post("/jobs", json={"method": "hold", "parameters": {"seconds": 60}}).json()
        poll_job(client, blocker["id"], {"running"})

        request = tmp_path / "request.json"
        request.write_text(json.dumps(REQUEST))
        transport.mkdir(JOB_DIR)
        transport.putfile(request, f"{JOB_DIR}/request.json")
        job_id = scheduler.submit_job(JOB_DIR, "_aiidasubmit.sh")
        assert scheduler.submit_job(JOB_DIR, "_aiidasubmit.sh") == job_id  # a retried submission: same job

        jobs = scheduler.get_jobs(jobs=[job_id, blocker["id"], "f" * 32], as_dict=True)
        assert set(jobs) == {job_id, blocker["id"]}  # an unknown job is left out (AiiDA: finished)
        assert jobs[job_id].job_state is JobState.QUEUED and jobs[job_id].title == "conductivity"
        assert jobs[blocker["id"]].job_state is JobState.RUNNING

        assert scheduler.kill_job(job_id) is True
        assert client.get(f"/jobs/{job_id}").json()["state"] == "cancelled"
        assert scheduler.get_jobs(jobs=[job_id])[0].job_state is JobState.DONE
        assert scheduler.kill_job(job_id) is False  # already final
        detailed = scheduler.get_detailed_job_info(job_id)
        assert detailed["retval"] == 0 and json.loads(detailed["stdout"])["state"] == "cancelled"

        assert scheduler.kill_job(blocker["id"]) is True  # running: cancelled at its next check
        assert poll_job(client, blocker["id"], {"cancelled"})["state"] == "cancelled"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"method": "conductivity", "parameters": {**REQUEST["parameters"], "temperature": 400}}))
    transport.mkdir("/ab/cd/bad")
    transport.putfile(bad, "/ab/cd/bad/request.json")
    refused = scheduler.submit_job("/ab/cd/bad", "_aiidasubmit.sh")
    assert refused.status == EXIT_REQUEST_REJECTED.status
    assert "temperature" in refused.message and "333.15" in refused.message


def test_job_states_map_to_aiida_states():
    base = {"id": "j", "method": "m", "message": "", "created": "2025-01-31T12:00:00+00:00",
            "started": "2025-01-31T12:00:01+00:00", "finished": "2025-01-31T12:00:31+00:00"}
    states = {"queued": JobState.QUEUED, "running": JobState.RUNNING, "done": JobState.DONE,
              "failed": JobState.DONE, "cancelled": JobState.DONE, "paused": JobState.UNDETERMINED}
    for state, expected in states.items():
        info = job_info({**base, "state": state, "current_step": "measure"})
        assert info.job_state is expected and info.job_substate == f"{state} (measure)"
    assert info.wallclock_time_seconds == 30.0
    assert info.get_dict()["submission_time"]  # serialisable for the node's attributes


def test_an_instrument_job_takes_no_resources():
    InstrumentScheduler.validate_resources()
    with pytest.raises(ValueError, match="no resources"):
        InstrumentScheduler.validate_resources(num_machines=1)


def test_the_transport_names_the_server_never_the_token(instrument, server):
    with instrument(server.url).computer.get_transport() as transport:
        assert transport.client.methods()["conductivity"]["parameters"]["temperature"]["max"] == 333.15
        shown = f"{transport!r} {transport} {transport.client!r}"
    assert server.url in shown and TOKEN not in shown
