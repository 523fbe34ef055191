"""The acceptance interface: the CLI on a fresh database, then the FINALES2 examples accepted as they are."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from .conftest import BIN, PASSWORD, BrokerProcess


def cli(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([BIN / "bigmap-al", "broker", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120)


def test_serve_refuses_to_start_without_a_secret(sqlite_db):
    env = {key: value for key, value in os.environ.items() if key != "BIGMAP_BROKER_SECRET"}
    done = cli("serve", "--db", sqlite_db, "--port", "1", env=env)
    assert done.returncode != 0
    assert "set BIGMAP_BROKER_SECRET" in done.stderr and "no default" in done.stderr


def test_admin_commands_refuse_bad_input_with_the_reason(sqlite_db, tmp_path):
    done = cli("user", "add", "eve", "--password-stdin", "--db", sqlite_db, stdin="short\n")
    assert "at least 8 characters" in done.stderr
    assert cli("user", "add", "eve", "--password-stdin", "--db", sqlite_db, stdin=PASSWORD + "\n").returncode == 0
    assert "exists already" in cli("user", "add", "eve", "--password-stdin", "--db", sqlite_db, stdin=PASSWORD).stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"quantity": "x", "method": "y", "json_schema_specifications": {"type": 5},
                               "json_schema_result_output": {}}))
    done = cli("capability", "add", str(bad), "--db", sqlite_db)
    assert done.returncode != 0 and "json_schema_specifications is not a valid JSON schema" in done.stderr
    bad.write_text(json.dumps({"quantity": "x"}))
    assert "missing key(s)" in cli("capability", "add", str(bad), "--db", sqlite_db).stderr
    done = cli("tenant", "add", "t", "--user", "eve", "--method", "conductivity/nothing", "--db", sqlite_db)
    assert done.returncode != 0 and "no capability 'conductivity/nothing'" in done.stderr
    done = cli("tenant", "add", "t", "--user", "nobody", "--method", "measurement/test", "--db", sqlite_db)
    assert done.returncode != 0 and "no user 'nobody'" in done.stderr


def test_finales2_examples_through_the_acceptance_interface(finales2, tmp_path, sqlite_db):
    """Register every FINALES2 capability unchanged, then post every example request and result."""
    db = sqlite_db
    assert cli("user", "add", "lab", "--password-stdin", "--db", db, stdin=PASSWORD + "\n").returncode == 0
    files = sorted((finales2 / "serialized_quantities").glob("*/*.json"))
    for path in files:
        done = cli("capability", "add", str(path), "--db", db)
        assert done.returncode == 0, done.stderr
    methods = [f"{json.loads(p.read_text())['quantity']}/{json.loads(p.read_text())['method']}" for p in files]
    done = cli("tenant", "add", "everything", "--user", "lab", "--method", *methods, "--db", db)
    assert done.returncode == 0, done.stderr
    tenant = done.stdout.strip().splitlines()[-1]
    listed = cli("capability", "list", "--db", db).stdout.split()
    assert set(methods) <= set(listed)

    server = BrokerProcess(db, tmp_path / "server.log").wait_ready()
    try:
        token = requests.post(server.url + "/user_management/authenticate/",
                              data={"username": "lab", "password": PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        registered = {(c["quantity"], c["method"]): c
                      for c in requests.get(server.url + "/capabilities/", headers=headers).json()}
        for path in files:  # registered unchanged
            document = json.loads(path.read_text())
            assert registered[document["quantity"], document["method"]] == document
        asked = {}
        for path in sorted((finales2 / "examples" / "requests").glob("*/*.json")):
            body = {**json.loads(path.read_text()), "tenant_uuid": tenant}
            answer = requests.post(server.url + "/requests/", json=body, headers=headers)
            assert answer.status_code == 200, f"{path}: {answer.text}"
            asked[body["quantity"], body["methods"][0]] = answer.json()
            assert requests.get(server.url + f"/requests/{answer.json()}", headers=headers).json()["request"] == body
        for path in sorted((finales2 / "examples" / "results").glob("*/*.json")):
            body = json.loads(path.read_text())
            body.update(tenant_uuid=tenant, request_uuid=asked[body["quantity"], body["method"][0]])
            answer = requests.post(server.url + "/results/", json=body, headers=headers)
            assert answer.status_code == 200, f"{path}: {answer.text}"
            stored = requests.get(server.url + f"/results_requested/{body['request_uuid']}", headers=headers).json()
            assert stored["uuid"] == answer.json() and stored["result"] == body
    finally:
        server.stop()


_NO_AIIDA = r"""
import json, sys
from aiida_bigmap_al.broker.app import create_app
from aiida_bigmap_al.broker.settings import Settings
from aiida_bigmap_al.broker.client import BrokerClient
import aiida_bigmap_al.broker.admin
create_app(Settings(secret="s" * 32, db=sys.argv[1]))
print(json.dumps(sorted(m for m in sys.modules if m == "aiida" or m.startswith("aiida."))))
"""


def test_the_broker_server_never_imports_aiida(sqlite_db):
    """DESIGN.md: the broker server imports nothing from AiiDA (it runs where AiiDA is not installed)."""
    done = subprocess.run([sys.executable, "-c", _NO_AIIDA, sqlite_db], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("url, expected", [
    ("broker.sqlite", "sqlite:///broker.sqlite"),
    ("postgresql://postgres@127.0.0.1/b", "postgresql+psycopg://postgres@127.0.0.1/b"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_database_urls(url, expected):
    from aiida_bigmap_al.broker.db import normalize_url

    assert normalize_url(url) == expected


def test_request_statuses_map_onto_the_bridge_job_states():
    """The broker is the instrument bridge's second backend: one vocabulary for AiiDA's scheduler."""
    from aiida_bigmap_al.broker.schemas import JOB_STATE, RequestStatus
    from aiida_bigmap_al.instrument_bridge.protocol import FINAL_STATES, JobState

    assert set(JOB_STATE) == set(RequestStatus)
    assert JOB_STATE[RequestStatus.PENDING] is JobState.QUEUED and JOB_STATE[RequestStatus.RESERVED] is JobState.RUNNING
    assert {s for s, state in JOB_STATE.items() if state in FINAL_STATES} == {RequestStatus.RESOLVED,
                                                                            RequestStatus.RETRACTED}
