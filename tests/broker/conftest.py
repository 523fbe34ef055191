"""Fixtures of the broker tests: real ``bigmap-al broker serve`` processes on 127.0.0.1, on SQLite or PostgreSQL.

Every server is a separate process started by the real command, so the tests see what a tenant
sees: HTTP, the CLI's settings, and the database after a restart. The accounts:

* ``alice`` owns tenant ``lab-a`` (conductivity/two_electrode and molecular_dynamics);
* ``bob`` owns tenant ``lab-b`` (conductivity/two_electrode);
* ``dora`` owns tenant ``dens`` (density/vibrating_tube_densimetry only);
* ``reader`` is read-only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests

from aiida_bigmap_al.broker.admin import add_capability, add_tenant, add_user, open_database
from aiida_bigmap_al.broker.client import BrokerClient
from test_services_profile import _require as require  # skip, or fail in CI, when a service is absent

FINALES2 = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data" / "finales2_schemas"
BIN = pathlib.Path(sys.executable).parent
POSTGRES = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PASSWORD = "correct horse battery"
SECRET = secrets.token_urlsafe(32)

#: Small capabilities of our own, so that most tests do not need ../shared.
CONDUCTIVITY_SCHEMA = {
    "type": "object", "required": ["formulation"],
    "properties": {"formulation": {"type": "array", "items": {
        "type": "object", "required": ["chemical", "fraction"],
        "properties": {"chemical": {"type": "string"}, "fraction": {"type": "number", "minimum": 0, "maximum": 1}}}},
        "temperature": {"type": "number", "minimum": 0}}}
RESULT_SCHEMA = {"type": "object", "required": ["conductivity"],
                 "properties": {"conductivity": {"type": "object", "required": ["value"],
                                                 "properties": {"value": {"type": "number"}}}}}


def capability(quantity: str, method: str) -> dict:
    return {"quantity": quantity, "method": method, "json_schema_specifications": CONDUCTIVITY_SCHEMA,
            "json_schema_result_output": RESULT_SCHEMA, "is_active": True}


def parameters(fraction: float = 0.2, temperature: float = 298.15) -> dict:
    return {"formulation": [{"chemical": "LiPF6", "fraction": fraction}, {"chemical": "EC", "fraction": 1 - fraction}],
            "temperature": temperature}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass
class Accounts:
    db: str
    tenants: dict[str, str]  # tenant name -> uuid


def populate(db: str, tmp_path: pathlib.Path) -> Accounts:
    """Users, capabilities and tenants of the module docstring, made with the admin functions of the CLI."""
    database = open_database(db)
    for name in ("alice", "bob", "dora"):
        add_user(database, name, PASSWORD)
    add_user(database, "reader", PASSWORD, read_only=True)
    for quantity, method in (("conductivity", "two_electrode"), ("conductivity", "molecular_dynamics"),
                             ("density", "vibrating_tube_densimetry")):
        path = tmp_path / f"{quantity}-{method}.json"
        path.write_text(json.dumps(capability(quantity, method)))
        add_capability(database, path, strict_results=quantity == "conductivity")
    tenants = {
        "lab-a": add_tenant(database, "lab-a", "alice",
                            ["conductivity/two_electrode", "conductivity/molecular_dynamics"]),
        "lab-b": add_tenant(database, "lab-b", "bob", ["conductivity/two_electrode"]),
        "dens": add_tenant(database, "dens", "dora", ["density/vibrating_tube_densimetry"]),
    }
    database.dispose()
    return Accounts(db, tenants)


class BrokerProcess:
    """``bigmap-al broker serve`` on a free port of 127.0.0.1 (or on ``port``: a restart where clients expect it)."""

    def __init__(self, db: str, log: pathlib.Path, *args: str, workers: int = 1, port: int | None = None):
        self.db, self.log = db, log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "BIGMAP_BROKER_SECRET": SECRET}
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [BIN / "bigmap-al", "broker", "serve", "--db", db, "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(workers), *args], env=env, stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 90) -> BrokerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if requests.get(self.url + "/openapi.json", timeout=2).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or slow on a busy machine
                pass
            time.sleep(0.2)
        raise AssertionError(f"broker did not start:\n{self.log.read_text()}")

    def client(self, user: str, password: str = PASSWORD) -> BrokerClient:
        return BrokerClient(self.url, user, password)

    def token(self, user: str) -> str:
        answer = requests.post(self.url + "/user_management/authenticate",
                               data={"username": user, "password": PASSWORD})
        answer.raise_for_status()
        return answer.json()["access_token"]

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def sqlite_db(tmp_path) -> str:
    return str(tmp_path / "broker.sqlite")


@pytest.fixture
def postgres_db():
    """A new, empty PostgreSQL database (its URL), dropped afterwards."""
    require("PostgreSQL", 5432)
    import psycopg

    name = f"bigmap_broker_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db(request, tmp_path) -> str:
    """The test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "broker.sqlite")
    return request.getfixturevalue("postgres_db")


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """One SQLite broker with the accounts of the module docstring, shared by a test module."""
    tmp_path = tmp_path_factory.mktemp("broker")
    accounts = populate(str(tmp_path / "broker.sqlite"), tmp_path)
    server = BrokerProcess(accounts.db, tmp_path / "server.log").wait_ready()
    server.tenants = accounts.tenants
    yield server
    server.stop()


@pytest.fixture(scope="session")
def finales2() -> pathlib.Path:
    """The FINALES2 schemas and examples beside the repository (``../shared``); skip where absent."""
    if not FINALES2.is_dir():
        pytest.skip(f"FINALES2 schemas not found at {FINALES2}")
    return FINALES2
