"""Fixtures for the instrument server tests: fast copies of the example rigs and live servers.

The rig configurations are the repository's ``examples/rigs/*.yaml``, loaded as they are and only
made fast (small ``time_scale``, short reply timeouts), given a temporary data directory and an
inline token, so the tests also check that the examples work.
"""

from __future__ import annotations

import copy
import os
import pathlib
import socket
import ssl
import subprocess
import sys
import threading
import time

import httpx
import pytest
import uvicorn
import yaml

from aiida_bigmap_al.instrument_bridge.server.app import create_app
from aiida_bigmap_al.instrument_bridge.server.config import RigConfig
from aiida_bigmap_al.instrument_bridge.server.instrument import Instrument

RIGS = pathlib.Path(__file__).resolve().parents[2] / "examples" / "rigs"
TOKEN = "test-token-0123456789abcdef"
#: Device time runs this much faster than wall time in the tests.
TIME_SCALE = 0.001
#: Reply timeout (s) of every device in the tests: generous, a loaded CI machine is slow.
TIMEOUT = 1.0


def rig_dict(name: str, data_dir: pathlib.Path, time_scale: float = TIME_SCALE, timeout: float = TIMEOUT) -> dict:
    """The example rig ``name`` (``conductivity`` or ``droplet``) as a dict, made fast and local."""
    raw = yaml.safe_load((RIGS / f"{name}_rig.yaml").read_text())
    raw = copy.deepcopy(raw)
    raw.pop("token_env", None)
    raw["token"] = TOKEN
    raw["data_dir"] = str(data_dir)
    raw["base_dir"] = str(RIGS)
    for device in raw["devices"].values():
        device["time_scale"] = time_scale
        device["timeout"] = timeout
    return raw


def rig_config(raw: dict) -> RigConfig:
    return RigConfig.model_validate(raw)


@pytest.fixture
def make_rig(tmp_path):
    """Factory: a started :class:`Instrument` for a rig dict (stopped at the end of the test)."""
    started: list[Instrument] = []

    def make(raw: dict) -> Instrument:
        rig = Instrument(rig_config(raw)).start()
        started.append(rig)
        return rig

    yield make
    for rig in started:
        rig.stop()


class LiveServer:
    """A real uvicorn server on 127.0.0.1 (random free port) in a background thread."""

    def __init__(self, config: RigConfig):
        self.app = create_app(config)
        self.instrument: Instrument = self.app.state.instrument
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning"))
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the instrument server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)
        self._socket.close()

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


@pytest.fixture
def live_server():
    """Factory: start a :class:`LiveServer` for a rig dict; stopped at the end of the test."""
    servers: list[LiveServer] = []

    def start(raw: dict) -> LiveServer:
        server = LiveServer(rig_config(raw)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``bigmap-al instrument serve CONFIG --port N`` in a subprocess (killable like a real crash).

    ``ca``: the server speaks https (its rig file names a certificate), verified with this CA bundle.
    """

    def __init__(self, config_path: pathlib.Path, port: int, log: pathlib.Path, ca: pathlib.Path | None = None):
        self.url = f"{'https' if ca else 'http'}://127.0.0.1:{port}"
        self.verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca) if ca else True
        self._log = log.open("ab")
        command = [sys.executable, "-c", "import sys; from aiida_bigmap_al.cli import main; sys.exit(main())",
                   "instrument", "serve", str(config_path), "--port", str(port), "--log-level", "warning"]
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=dict(os.environ))

    def wait_ready(self, timeout: float = 30) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self._log.name}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1, verify=self.verify).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the instrument server process did not become ready")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10,
                            verify=self.verify)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as in a crash or power cut."""
        self.process.kill()
        self.process.wait(timeout=10)
        self._log.close()

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def poll_job(client: httpx.Client, job_id: str, states: set[str], timeout: float = 30) -> dict:
    """Poll ``GET /jobs/{id}`` until the job's state is in ``states``."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")
        time.sleep(0.02)
