"""The instrument server's security findings (issue 12), each reproduced against a real server on 127.0.0.1.

Several tests speak HTTP over a raw socket: to send a request's head and only part of its body (or
none of it), and see whether the server answers before it has the body, as it must when it refuses
on the headers.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse

import httpx
import pytest

from aiida_bigmap_al.instrument_bridge.server.validation import RequestError, validate_request

from .conftest import TOKEN, poll_job, rig_config, rig_dict
from .test_http import MAX_UPLOAD, REQUEST, client, server  # noqa: F401 (the same server: max_upload_bytes 64 KiB)

pytestmark = pytest.mark.security

#: Seconds a server that refuses on the headers has to answer: far less than any body takes.
PROMPT = 5.0


class RawRequest:
    """One HTTP/1.1 request written by hand: its head now, any part of its body later, then the answer."""

    def __init__(self, url: str, method: str, path: str, headers: dict[str, str]):
        parsed = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port), timeout=PROMPT)
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answer(self) -> tuple[int, dict[str, str], str]:
        """Status, headers (lower-case names) and body of the answer; ``socket.timeout`` if none comes in time."""
        data = b""
        try:
            while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            self.sock.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in header_lines)}
        return int(status_line.split()[1]), headers, body.decode()


def _length(data: bytes) -> int:
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    for line in head.split("\r\n"):
        if line.startswith("content-length:"):
            return int(line.split(":", 1)[1])
    return 0


# --- 1. the token is checked before the body is read --------------------------------------------------


@pytest.mark.parametrize("headers", [
    {"Content-Length": "200000000"},
    {"Transfer-Encoding": "chunked"},
    {"Content-Length": "200000000", "Authorization": "Bearer wrong-token-0123456789"},
], ids=["content-length", "chunked", "wrong-token"])
@pytest.mark.parametrize("method, path", [("POST", "/jobs"), ("PUT", "/workspaces/w/files/request.json"),
                                          ("POST", "/emulators/cell/fault")])
def test_no_valid_token_gets_401_before_the_body_is_sent(server, method, path, headers):
    """A 200 MB body announced without a valid token is refused on the headers: none of it is ever sent."""
    request = RawRequest(server.url, method, path, {"Content-Type": "application/json", **headers})
    status, answer_headers, body = request.answer()  # times out if the server waits for the body
    assert status == 401 and json.loads(body) == {"detail": "missing or invalid bearer token"}
    assert answer_headers["www-authenticate"] == "Bearer" and answer_headers["connection"] == "close"


def test_health_answers_while_an_unauthenticated_body_streams_in(server):
    """Sending 50 MB without a token ends at once (the server closes); /health stays prompt all along."""
    size = 50_000_000
    body = b'{"method": "conductivity", "parameters": {"r": [' + b"0," * (size // 2) + b"0]}}"
    outcome: dict[str, object] = {}

    def send():
        request = RawRequest(server.url, "POST", "/jobs", {"Content-Length": str(len(body))})
        try:
            request.send(body)
            outcome["sent"] = True
        except OSError:  # the server answered and closed before taking the body
            outcome["sent"] = False
        request.sock.close()

    sender = threading.Thread(target=send)
    sender.start()
    worst = 0.0
    with httpx.Client(base_url=server.url, timeout=30) as health:
        while sender.is_alive():
            start = time.monotonic()
            assert health.get("/health").status_code == 200
            worst = max(worst, time.monotonic() - start)
    sender.join()
    assert outcome["sent"] is False and worst < 1.0


# --- 2. the body limit, while it streams -----------------------------------------------------------------


def test_an_announced_oversized_job_body_is_refused_before_it_is_sent(server):
    request = RawRequest(server.url, "POST", "/jobs", {"Authorization": f"Bearer {TOKEN}",
                                                       "Content-Type": "application/json", "Content-Length": "100000"})
    status, _, body = request.answer()
    assert status == 413 and "larger than 65536 bytes" in json.loads(body)["detail"]


@pytest.mark.parametrize("path, size", [("/jobs", 64 * 1024 + 1),
                                        ("/workspaces/chunked/files/big.bin", MAX_UPLOAD + 1)])
def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(server, client, path, size):
    """One chunk just over the limit, and the body never ends: the 413 comes all the same."""
    client.put("/workspaces/chunked")
    method = "POST" if path == "/jobs" else "PUT"
    request = RawRequest(server.url, method, path, {"Authorization": f"Bearer {TOKEN}",
                                                   "Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    request.send(f"{size:x}\r\n".encode() + b" " * size + b"\r\n")
    status, _, body = request.answer()
    assert status == 413 and "larger than" in json.loads(body)["detail"]
    assert client.get("/workspaces/chunked/files").json() == []  # nothing kept, no partial file listed
    assert not list((server.instrument.workspaces.root / "chunked").iterdir())


# --- 3. an upload is checked when it completes --------------------------------------------------------


def test_an_upload_finished_after_the_job_cannot_replace_its_result(server, client):
    """Upload of result.json started before the submission, finished after the job is done: 409, result kept."""
    workspace = "race"
    client.put(f"/workspaces/{workspace}")
    client.put(f"/workspaces/{workspace}/files/request.json", content=json.dumps(REQUEST).encode())
    forged = json.dumps({"state": "done", "result": {"value": 999.0, "unit": "mS/cm"}}).encode()
    upload = RawRequest(server.url, "PUT", f"/workspaces/{workspace}/files/result.json",
                        {"Authorization": f"Bearer {TOKEN}", "Content-Length": str(len(forged))})
    upload.send(forged[:10])
    time.sleep(0.5)  # the server takes the head and checks the workspace (no job yet: writable)

    job = client.post("/jobs", json={"workspace": workspace, "request_file": "request.json"}).json()
    assert poll_job(client, job["id"], {"done", "failed", "cancelled"})["state"] == "done"
    upload.send(forged[10:])
    status, _, body = upload.answer()
    assert status == 409 and f"belongs to job {job['id']}" in json.loads(body)["detail"]
    result = client.get(f"/workspaces/{workspace}/files/result.json").json()
    assert result["job_id"] == job["id"] and result["result"]["value"] != 999.0
    assert not list((server.instrument.workspaces.root / workspace).glob(".*.partial"))


# --- 5. request parameters are strictly typed -------------------------------------------------------


@pytest.mark.parametrize("parameters, field", [
    ({"r": True}, "parameters.r: expected a number, got bool True"),
    ({"r": "0.25"}, "parameters.r: expected a number, got str '0.25'"),
    ({"replicates": True}, "parameters.replicates: expected a number, got bool True"),
    ({"replicates": 2.5},
     "parameters.replicates: Input should be a valid integer, got a number with a fractional part"),
    ({"r": [0.25]}, "parameters.r: Input should be a valid number"),
    ({"r": {"value": 0.25}}, "parameters.r: Input should be a valid number"),
])
def test_a_parameter_of_the_wrong_type_gets_422_naming_it(client, parameters, field):
    body = {"method": "conductivity", "parameters": {**REQUEST["parameters"], **parameters}}
    response = client.post("/jobs", json=body)
    assert response.status_code == 422 and field in response.json()["detail"], response.text


@pytest.mark.parametrize("method, parameters, message", [
    (["conductivity"], {}, "method: expected a method name (a string), got list"),
    ({"name": "conductivity"}, {}, "method: expected a method name (a string), got dict"),
    ("conductivity", {("r",): 0.5}, "parameters: a parameter name is a string, got tuple"),
    ("conductivity", {1: 0.5}, "parameters: a parameter name is a string, got int"),
])
def test_validation_refuses_a_name_that_is_no_string(tmp_path, method, parameters, message):
    """The validator is called by Python code too (the instrument, the scheduler's checks): never a TypeError."""
    config = rig_config(rig_dict("conductivity", tmp_path))
    with pytest.raises(RequestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_request(config, {}, method, parameters)


# --- 6. quotas ---------------------------------------------------------------------------------------------


def test_quotas_on_workspaces_and_files(live_server, tmp_path):
    raw = rig_dict("conductivity", tmp_path / "data")
    raw.update(max_workspaces=2, max_files_per_workspace=2)
    with live_server(raw).client() as client:
        assert client.put("/workspaces/one").status_code == 201
        assert client.post("/workspaces").status_code == 201
        refusals = (client.put("/workspaces/three"), client.post("/workspaces"), client.post("/jobs", json=REQUEST))
        for refused in refusals:
            assert refused.status_code == 507
            assert refused.json()["detail"] == ("workspace quota reached: 2 workspaces (max_workspaces in the rig "
                                                "file); delete finished workspaces first")
        assert client.put("/workspaces/one").status_code == 200  # an existing one is no new one

        for name in ("a", "b"):
            assert client.put(f"/workspaces/one/files/{name}", content=b"x").status_code == 201
        assert client.put("/workspaces/one/files/a", content=b"replaced").status_code == 201  # no new file
        refused = client.put("/workspaces/one/files/sub/c", content=b"x")
        assert refused.status_code == 507 and refused.json()["detail"] == (
            "file quota reached: workspace 'one' holds 2 files (max_files_per_workspace in the rig file)")
        assert [entry["path"] for entry in client.get("/workspaces/one/files").json()] == ["a", "b"]

        assert client.delete("/workspaces/one").status_code == 204
        assert client.put("/workspaces/three").status_code == 201
