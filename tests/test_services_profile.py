"""The same campaign on PostgreSQL + RabbitMQ with two daemon workers: the scale-up path, no code change.

The embedded profile (SQLite + ZeroMQ) is for a laptop; a lab moves to PostgreSQL storage and the
RabbitMQ broker with several daemon workers. This test takes that path exactly as the README tells
a user, with the real commands in a private ``AIIDA_PATH``: a new database, ``verdi profile setup
core.psql_dos --broker core.rabbitmq``, ``bigmap-al setup``, ``verdi daemon start 2``, then
``bigmap-al campaign run --submit`` of a campaign with two simulator lanes, and a campaign that
replays the FZJ data (PostgreSQL stores documents as JSONB, which does not keep the order of
their keys: code that relied on it fails here and nowhere else).

It needs PostgreSQL on 127.0.0.1:5432 (trust authentication for ``postgres``) and RabbitMQ on
127.0.0.1:5672 (guest/guest), and skips where they are absent, unless
``BIGMAP_AL_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns the skip into a failure (marked
``production``: the scale-up stack).
"""

import os
import pathlib
import re
import socket
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.production]

BIN = pathlib.Path(sys.executable).parent
POSTGRES = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def _require(service, port):
    """Skip with a clear reason when nothing listens on the service's port (in CI, ``tests/conftest.py``
    turns the skip into a failure)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as error:
        pytest.skip(f"{service} is not reachable on 127.0.0.1:{port} ({error})")


@pytest.fixture(scope="module")
def database():
    """A new, empty PostgreSQL database, dropped afterwards."""
    _require("PostgreSQL", 5432)
    _require("RabbitMQ", 5672)
    import psycopg

    name = f"bigmap_al_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    yield name
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def services_profile(database, tmp_path_factory):
    """Run commands in a profile on that database and RabbitMQ, with a running two-worker daemon."""
    tmp_path = tmp_path_factory.mktemp("services")
    env = {key: value for key, value in os.environ.items() if key != "AIIDA_PROFILE"}
    env.update(AIIDA_PATH=str(tmp_path), PATH=f"{BIN}{os.pathsep}{env['PATH']}", OMP_NUM_THREADS="1")
    run = lambda *command: _run(command, env, tmp_path)  # noqa: E731
    run("verdi", "profile", "setup", "core.psql_dos", "--non-interactive", "--profile-name", "lab",
        "--email", "lab@example.org", "--first-name", "Lab", "--last-name", "User",
        "--institution", "BIG-MAP", "--broker", "core.rabbitmq", "--database-hostname", "127.0.0.1",
        "--database-port", "5432", "--database-username", "postgres", "--database-password", "",
        "--database-name", database, "--repository-uri", (tmp_path / "repository").as_uri(),
        "--set-as-default")
    run("bigmap-al", "setup")
    run("verdi", "daemon", "start", "2")
    try:
        yield run
    finally:
        subprocess.run([BIN / "verdi", "daemon", "stop"], env=env, capture_output=True, timeout=120)


def _run(command, env, cwd):
    result = subprocess.run([BIN / command[0], *command[1:]], env=env, cwd=cwd, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


STATE = """
from aiida import load_profile, orm
load_profile()
node = orm.load_node({pk})
rows = len(node.outputs.dataset["rows"]) if node.is_finished_ok else -1
lanes = [c.exit_status for c in node.called if c.process_label == "InstrumentLaneWorkChain"]
print(node.is_terminated, node.exit_status, rows, lanes)
"""


def test_a_lane_campaign_runs_on_postgresql_and_rabbitmq_with_two_workers(services_profile, tmp_path):
    assert "storage" in services_profile("verdi", "status")
    spec = tmp_path / "campaign.yaml"
    spec.write_text("temperatures: [298.15]\nstrategy: gp-ucb\nbudget: 4\nn_candidates: 256\n"
                    "methods:\n  instruments: {a: bigmap-sim@localhost, b: bigmap-sim@localhost}\n")
    output = services_profile("bigmap-al", "campaign", "run", str(spec), "--submit")
    pk = int(re.search(r"^pk=(\d+)$", output, re.M).group(1))
    deadline = time.monotonic() + 240
    while True:
        state = services_profile("python", "-c", STATE.format(pk=pk)).split(maxsplit=2)
        if state[0] == "True" or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert state[:2] == ["True", "0"], f"campaign {pk} did not finish ok: {state}"
    assert state[2].startswith("4 [0, 0]"), state  # four measurements, both lanes finished ok


def test_a_replay_campaign_on_postgresql_makes_its_measurements(services_profile, tmp_path, fzj_csv):
    spec = tmp_path / "replay.yaml"
    spec.write_text(f"temperatures: [293.15]\nstrategy: gp-exploit\nbudget: 4\n"
                    f"methods:\n  replay: {{data: {fzj_csv}}}\n")
    output = services_profile("bigmap-al", "campaign", "run", str(spec))
    assert "campaign finished" in output, output
    pk = int(re.search(r"^pk=(\d+)$", output, re.M).group(1))
    state = services_profile("python", "-c", STATE.format(pk=pk)).split(maxsplit=2)
    assert state[:2] == ["True", "0"] and state[2].startswith("4 "), state  # four measurements
