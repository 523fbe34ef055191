"""Fixtures for the AiiDA side of the bridge: live instrument servers and registered instruments.

The servers are the lab side's own test servers (real uvicorn on 127.0.0.1, the example
conductivity rig with emulated devices behind real pty/socket links, made fast); the AiiDA side
reaches them only over HTTP, through the computer that :func:`register` creates.
"""

from __future__ import annotations

import uuid

import pytest

from aiida_bigmap_al.instrument_bridge.register import register

from ..conftest import TOKEN, LiveServer, rig_config, rig_dict

#: A method that only waits: a job of it holds the rig's queue (jobs run one at a time).
HOLD_METHOD = {
    "description": "Hold the rig (tests): wait, interruptible by a cancel.",
    "parameters": {"seconds": {"min": 0, "max": 600, "default": 60}},
    "steps": [{"name": "hold", "action": "wait", "params": {"seconds": "$seconds"}}],
}


def conductivity_rig(data_dir) -> dict:
    """The example conductivity rig, fast and local, with the extra ``hold`` method."""
    raw = rig_dict("conductivity", data_dir)
    raw["methods"]["hold"] = HOLD_METHOD
    return raw


@pytest.fixture
def make_server(tmp_path):
    """Factory: a :class:`LiveServer` of the conductivity rig; ``start=False`` only reserves its port.

    A server that is not started has its socket bound but not listening, so connections to its
    URL are refused, as when the lab PC is off. Every started server is stopped at the end.
    """
    servers: list[LiveServer] = []

    def make(start: bool = True) -> LiveServer:
        server = LiveServer(rig_config(conductivity_rig(tmp_path / f"rig{len(servers)}")))
        servers.append(server)
        return server.start() if start else server

    yield make
    for server in servers:
        if server.server.started:
            server.stop()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "rig.token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture
def instrument(aiida_profile, token_file):
    """Factory: register the server at ``url`` as a new instrument (unique name); returns the Registration."""

    def make(url: str, token_file=token_file, **options):
        options = {"poll_interval": 0.1, "safe_interval": 0.0, "check": False, **options}
        return register(f"rig-{uuid.uuid4().hex[:8]}", url, token_file=token_file, **options)

    return make


@pytest.fixture
def fast_retries(aiida_profile):
    """AiiDA's transport back-off from 1 s (1, 2, 4, 8 s between attempts) instead of 20 s, for this test."""
    from aiida.manage.configuration import get_config

    config = get_config()
    options = {"transport.task_retry_initial_interval": 1, "transport.task_maximum_attempts": 5}
    for name, value in options.items():
        config.set_option(name, value, scope=aiida_profile.name)
    yield
    for name in options:
        config.unset_option(name, scope=aiida_profile.name)
