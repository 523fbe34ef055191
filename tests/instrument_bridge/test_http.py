"""The HTTP API through a real uvicorn server on 127.0.0.1, with a real HTTP client."""

from __future__ import annotations

import io
import json
import os
import time

import h5py
import pytest

from .conftest import TOKEN, LiveServer, poll_job, rig_config, rig_dict

FINAL = {"done", "failed", "cancelled"}
REQUEST = {"method": "conductivity", "parameters": {"r": 0.25, "c": 0.9, "temperature": 303.15, "replicates": 2}}
MAX_UPLOAD = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One conductivity rig server for the module, with an extra 'slow' method for cancel tests."""
    raw = rig_dict("conductivity", tmp_path_factory.mktemp("rig"))
    raw["max_upload_bytes"] = MAX_UPLOAD
    raw["methods"]["slow"] = {
        "parameters": {"seconds": {"min": 0, "max": 30, "default": 10}},
        "steps": [
            {"name": "hold", "action": "wait", "params": {"seconds": "$seconds"}},
            {"name": "clean", "action": "clean", "devices": {"cell": "cell"}, "always": True},
        ],
    }
    live = LiveServer(rig_config(raw)).start()
    yield live
    live.stop()


@pytest.fixture
def client(server):
    with server.client() as client:
        yield client


def _workspace(client, name: str) -> str:
    response = client.put(f"/workspaces/{name}")
    assert response.status_code == 201, response.text
    return name


def test_full_job(client, tmp_path):
    assert client.get("/health").json() == {"status": "ok", "instrument": "conductivity-rig-1"}
    ws = _workspace(client, "calc-full")
    assert client.put(f"/workspaces/{ws}").status_code == 200  # idempotent: exists
    upload = client.put(f"/workspaces/{ws}/files/request.json", content=json.dumps(REQUEST).encode())
    assert upload.status_code == 201 and upload.json() == {"path": "request.json", "size": len(json.dumps(REQUEST))}

    submitted = client.post("/jobs", json={"workspace": ws, "request_file": "request.json"})
    assert submitted.status_code == 201, submitted.text
    job = submitted.json()
    assert job["state"] == "queued" and job["workspace"] == ws and job["parameters"] == REQUEST["parameters"]
    assert set(job) == {"id", "method", "parameters", "workspace", "state", "message", "created", "started",
                        "finished", "current_step", "cancel_requested"}

    job = poll_job(client, job["id"], FINAL)
    assert job["state"] == "done", job["message"]
    again = client.post("/jobs", json={"workspace": ws, "request_file": "request.json"})
    assert again.status_code == 200 and again.json()["id"] == job["id"]  # a retry does not measure twice

    listing = client.get(f"/workspaces/{ws}/files").json()
    assert [entry["path"] for entry in listing] == ["raw.h5", "request.json", "result.json"]
    assert client.get(f"/workspaces/{ws}").json()["job_id"] == job["id"]

    response = client.get(f"/workspaces/{ws}/files/result.json")
    assert response.headers["content-type"] == "application/json"
    result = response.json()
    assert result["state"] == "done" and result["job_id"] == job["id"]
    assert result["result"]["unit"] == "mS/cm" and len(result["result"]["replicates"]) == 2
    assert result["result"]["formulation"]["r"] == pytest.approx(0.25, abs=0.01)

    raw = client.get(f"/workspaces/{ws}/files/raw.h5")
    assert raw.headers["content-type"] == "application/x-hdf5"
    with h5py.File(io.BytesIO(raw.content)) as f:
        assert f.attrs["job_id"] == job["id"] and f.attrs["state"] == "done"
        assert [f["actions"][g].attrs["step"] for g in sorted(f["actions"])] == [
            "prepare", "fill", "equilibrate", "measure", "clean"]
        assert len(f["actions/003_measure/traffic"]) == 4  # 2 x (TX MEASURE, RX K ... T ...)
    assert job["id"] in [j["id"] for j in client.get("/jobs", params={"state": "done"}).json()]


def test_inline_submission_makes_its_own_workspace(client):
    response = client.post("/jobs", json=REQUEST)
    assert response.status_code == 201
    job = poll_job(client, response.json()["id"], FINAL)
    assert job["state"] == "done"
    request = client.get(f"/workspaces/{job['workspace']}/files/request.json").json()
    assert request == REQUEST


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/methods"), ("get", "/jobs"), ("post", "/jobs"), ("get", "/jobs/x"), ("post", "/jobs/x/cancel"),
     ("get", "/workspaces"), ("post", "/workspaces"), ("put", "/workspaces/w"), ("get", "/workspaces/w"), ("delete", "/workspaces/w"),
     ("get", "/workspaces/w/files"), ("put", "/workspaces/w/files/a"), ("get", "/workspaces/w/files/a"),
     ("delete", "/workspaces/w/files/a"), ("post", "/emulators/cell/fault")],
)
@pytest.mark.parametrize("token", [None, "wrong-token-0123456789", TOKEN + "x"])
def test_every_endpoint_but_health_needs_the_token(server, method, path, token):
    with server.client(token) as client:
        response = client.request(method, path)
    assert response.status_code == 401
    assert response.json() == {"detail": "missing or invalid bearer token"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_basic_auth_is_not_a_bearer_token(server):
    with server.client(None) as client:
        assert client.get("/jobs", auth=("user", TOKEN)).status_code == 401


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("%2E%2E/outside.txt", 400, "has an empty, '.' or '..' component"),
        ("sub/%2E%2E/%2E%2E/outside.txt", 400, "has an empty, '.' or '..' component"),
        ("%2Fetc%2Fpasswd", 400, "is absolute"),
        ("a%5Cb", 400, "backslash"),
        ("link-out/passwd", 403, "goes through a symbolic link"),
        ("file-link", 403, "goes through a symbolic link"),
    ],
)
def test_paths_that_escape_the_workspace_are_refused(server, client, tmp_path, path, status, message):
    ws = "calc-escape"
    client.put(f"/workspaces/{ws}")
    directory = server.instrument.workspaces.directory(ws)
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "passwd").write_text("secret")
    for name, target in (("link-out", outside), ("file-link", outside / "passwd")):
        if not (directory / name).is_symlink():
            os.symlink(target, directory / name)
    for method in ("get", "put", "delete"):
        response = client.request(method, f"/workspaces/{ws}/files/{path}", content=b"x" if method == "put" else None)
        assert response.status_code == status, (method, response.text)
        assert message in response.json()["detail"]
    assert (outside / "passwd").read_text() == "secret"
    assert not (tmp_path / "outside.txt").exists()
    listing = [entry["path"] for entry in client.get(f"/workspaces/{ws}/files").json()]
    assert "link-out/passwd" not in listing and "file-link" not in listing


@pytest.mark.parametrize(
    ("name", "status"),
    [
        (".hidden", 400),
        ("x" * 129, 400),
        ("a%2Fb", 404),  # decoded to a path: no such route
        ("..", 404),  # the client normalises the URL to /workspaces/: no such route
    ],
)
def test_bad_workspace_names_are_refused(server, client, name, status):
    response = client.put(f"/workspaces/{name}")
    assert response.status_code == status
    if status == 400:
        assert "is not allowed" in response.json()["detail"]
    root = server.instrument.workspaces.root
    assert not any(p.name in (".hidden", "a", "b") for p in root.iterdir())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"method": "viscosity", "parameters": {}}, "method: unknown method 'viscosity'"),
        ({"method": "conductivity", "parameters": {"r": 0.5, "c": 9.0, "temperature": 300.0}},
         "parameters.c: Input should be less than or equal to 2.2 (got 9.0)"),
        ({"method": "conductivity", "parameters": {"r": 0.5, "c": 1.0}}, "parameters.temperature: Field required"),
        ({"parameters": {}}, "invalid request: body: give 'method' (with 'parameters') or 'workspace' with 'request_file'"),
        ({"method": "conductivity", "colour": "red"}, "invalid request: colour: Extra inputs are not permitted"),
        ({"method": "conductivity", "request_file": "request.json", "workspace": "w"}, "not both"),
    ],
)
def test_invalid_requests_get_422_with_a_clear_message(client, body, message):
    before = len(client.get("/jobs").json())
    response = client.post("/jobs", json=body)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert len(client.get("/jobs").json()) == before


def test_invalid_request_file_gets_422(client):
    ws = _workspace(client, "calc-bad-request")
    bad = {"method": "conductivity", "parameters": {"r": -1, "c": 1.0, "temperature": 300.0}}
    client.put(f"/workspaces/{ws}/files/request.json", content=json.dumps(bad).encode())
    response = client.post("/jobs", json={"workspace": ws, "request_file": "request.json"})
    assert response.status_code == 422
    assert response.json()["detail"] == "parameters.r: Input should be greater than or equal to 0 (got -1)"
    assert client.post("/jobs", json={"workspace": ws, "request_file": "missing.json"}).status_code == 404
    assert client.post("/jobs", json={"workspace": "no-such-ws", "request_file": "request.json"}).status_code == 404


@pytest.mark.parametrize("method", [["conductivity"], {"name": "conductivity"}])
def test_a_request_file_whose_method_is_no_name_gets_422_not_500(server, client, method):
    """The server once looked the method up as given and answered 500; the client then retried, never refused."""
    from aiida_bigmap_al.instrument_bridge.client import InstrumentClient, InstrumentRequestRejected

    ws = _workspace(client, f"calc-method-{type(method).__name__}")
    client.put(f"/workspaces/{ws}/files/request.json", content=json.dumps({"method": method, "parameters": {}}).encode())
    response = client.post("/jobs", json={"workspace": ws, "request_file": "request.json"})
    assert response.status_code == 422
    assert response.json()["detail"] == ('request.json: expected {"method": <name>, "parameters": {...}}: '
                                         "method: Input should be a valid string")
    with InstrumentClient(server.url, TOKEN) as instrument, pytest.raises(InstrumentRequestRejected, match="method"):
        instrument.submit(ws)
    inline = client.post("/jobs", json={"method": method, "parameters": {}})
    assert inline.status_code == 422 and "method: Input should be a valid string" in inline.json()["detail"]


def test_cancel(client):
    running = client.post("/jobs", json={"method": "slow", "parameters": {"seconds": 20}}).json()
    queued = client.post("/jobs", json=REQUEST).json()
    deadline = time.monotonic() + 10
    while client.get(f"/jobs/{running['id']}").json()["current_step"] != "hold":
        assert time.monotonic() < deadline
        time.sleep(0.02)

    # the running job's workspace can be neither changed nor removed
    locked = client.put(f"/workspaces/{running['workspace']}/files/request.json", content=b"{}")
    assert locked.status_code == 409 and "are read-only: it belongs to job" in locked.json()["detail"]
    assert client.delete(f"/workspaces/{running['workspace']}").status_code == 409

    response = client.post(f"/jobs/{queued['id']}/cancel")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    response = client.post(f"/jobs/{running['id']}/cancel")
    assert response.status_code == 202
    assert response.json()["state"] == "running" and response.json()["cancel_requested"] is True
    job = poll_job(client, running["id"], FINAL, timeout=10)
    assert job["state"] == "cancelled" and "cancelled on request" in job["message"]
    result = client.get(f"/workspaces/{running['workspace']}/files/result.json").json()
    assert result["state"] == "cancelled" and [s["status"] for s in result["steps"]] == ["interrupted", "ok"]
    assert client.post(f"/jobs/{running['id']}/cancel").status_code == 409
    assert client.get(f"/jobs/{queued['id']}").json()["state"] == "cancelled"
    assert client.put(f"/workspaces/{running['workspace']}/files/result.json", content=b"{}").status_code == 409
    assert client.delete(f"/workspaces/{running['workspace']}/files/raw.h5").status_code == 409
    assert client.delete(f"/workspaces/{running['workspace']}").status_code == 204  # final: may be removed
    assert client.post("/jobs/nope/cancel").status_code == 404
    assert client.get("/jobs/nope").json() == {"detail": "no job 'nope'"}


def test_device_fault_through_the_api(client):
    fault = client.post("/emulators/cell/fault", json={"mode": "silent", "command": "FILL", "count": 1})
    assert fault.status_code == 200
    assert fault.json() == {"device": "cell", "mode": "silent", "command": "FILL", "count": 1}
    job = poll_job(client, client.post("/jobs", json=REQUEST).json()["id"], FINAL)
    assert job["state"] == "failed"
    assert "step 'fill' (move_to_cell) error: device 'cell', command 'CELL FILL': no complete reply" in job["message"]
    raw = client.get(f"/workspaces/{job['workspace']}/files/raw.h5")
    with h5py.File(io.BytesIO(raw.content)) as f:
        fill = f["actions/001_fill"]
        assert fill.attrs["status"] == "error" and "CELL FILL" in fill.attrs["error"]
        assert [line.decode().split("\t")[2] for line in fill["traffic"][()]] == ["TX", "TIMEOUT"]
    assert client.post("/emulators/nope/fault", json={"mode": "none"}).status_code == 404
    assert client.post("/emulators/cell/fault", json={"mode": "loud"}).status_code == 422


def test_workspace_files(client):
    created = client.post("/workspaces")
    assert created.status_code == 201
    ws = created.json()["workspace"]
    assert client.put(f"/workspaces/{ws}/files/sub/dir/data.bin", content=bytes(range(256))).status_code == 201
    assert client.get(f"/workspaces/{ws}/files/sub/dir/data.bin").content == bytes(range(256))
    assert [e["path"] for e in client.get(f"/workspaces/{ws}/files").json()] == ["sub/dir/data.bin"]
    assert client.put(f"/workspaces/{ws}/files/big", content=b"x" * (MAX_UPLOAD + 1)).status_code == 413
    assert client.get(f"/workspaces/{ws}/files/big").status_code == 404
    assert client.delete(f"/workspaces/{ws}/files/sub/dir/data.bin").status_code == 204
    assert client.get(f"/workspaces/{ws}/files/sub/dir/data.bin").status_code == 404
    assert client.put("/workspaces/no-such-ws/files/a", content=b"x").status_code == 404
    assert client.delete(f"/workspaces/{ws}").status_code == 204
    assert client.get(f"/workspaces/{ws}").status_code == 404


def test_methods_describe_the_parameters(client):
    methods = client.get("/methods").json()
    assert set(methods) == {"conductivity", "slow"}
    assert methods["conductivity"]["parameters"]["c"]["max"] == 2.2
    assert [s["name"] for s in methods["conductivity"]["steps"]] == ["prepare", "fill", "equilibrate", "measure", "clean"]


def test_list_workspaces(server, client):
    from aiida_bigmap_al.instrument_bridge.client import InstrumentClient
    from aiida_bigmap_al.instrument_bridge.server.jobs import utc_now

    before = utc_now()
    with_job = _workspace(client, "calc-list-a")
    client.put(f"/workspaces/{with_job}/files/request.json", content=json.dumps(REQUEST).encode())
    job = client.post("/jobs", json={"workspace": with_job, "request_file": "request.json"}).json()
    without_job = client.post("/workspaces").json()["workspace"]
    after = utc_now()
    (server.instrument.workspaces.root / "made-by-hand").mkdir()  # e.g. before the server recorded creation times

    listing = client.get("/workspaces")
    assert listing.status_code == 200
    entries = {entry["workspace"]: entry for entry in listing.json()}
    assert [entry["workspace"] for entry in listing.json()] == sorted(entries)
    assert set(entries[with_job]) == {"workspace", "created_at", "job_id"}
    assert entries[with_job]["job_id"] == job["id"] and entries[without_job]["job_id"] is None
    assert before <= entries[with_job]["created_at"] <= entries[without_job]["created_at"] <= after
    assert entries["made-by-hand"] == {"workspace": "made-by-hand", "created_at": None, "job_id": None}
    assert not any(name.startswith(".") for name in entries)  # the server's own bookkeeping is no workspace

    with InstrumentClient(server.url, TOKEN) as instrument_client:  # the AiiDA side's client says the same
        assert instrument_client.workspaces() == listing.json()
    poll_job(client, job["id"], FINAL)
    assert client.delete(f"/workspaces/{without_job}").status_code == 204
    assert without_job not in {entry["workspace"] for entry in client.get("/workspaces").json()}
