"""``bigmap-al broker register``: the computer and code whose experiments a broker's tenants answer, from the CLI.

Run as a subprocess against the test profile (as a user runs it), then used: an ExperimentCalcJob on
the registered code is answered by a tenant through the broker.
"""

from __future__ import annotations

import os
import stat
import subprocess
import threading

from aiida import orm
from aiida.engine import run_get_node

from aiida_bigmap_al.broker.tenant import TenantLoop
from aiida_bigmap_al.broker_bridge.register import password_file_for
from aiida_bigmap_al.calcjobs.experiment import ExperimentCalcJob
from aiida_bigmap_al.electrolyte import to_formulation

from .conftest import BIN, PASSWORD
from .test_aiida_tenant import sim_broker  # noqa: F401 (fixture)


def _register(aiida_profile, *args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([BIN / "bigmap-al", "broker", "register", *args], input=stdin, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "AIIDA_PROFILE": aiida_profile.name, **(env or {})})


def test_register_makes_a_computer_that_campaigns_use(aiida_profile, sim_broker, tmp_path):  # noqa: F811
    name = "broker-cli"
    args = [name, "--url", sim_broker.url, "--user", "alice", "--tenant", "lab-a", "--poll-interval", "0.2",
            "--workdir", str(tmp_path / "work")]
    first = _register(aiida_profile, *args, "--password-stdin", stdin=PASSWORD + "\n")
    assert first.returncode == 0, first.stderr
    lab_a = sim_broker.tenants["lab-a"]
    assert first.stdout.splitlines() == [
        f"computer `{name}`: created (bigmap.broker scheduler, {sim_broker.url}, jobs in {tmp_path / 'work'})",
        f"computer `{name}`: configured (user alice, password from file {password_file_for(name)}, tenant {lab_a}, "
        f"conductivity, poll every 0.2 s)",
        f"code `{name}-experiment@{name}`: created (runs bigmap.experiment (ExperimentCalcJob))",
        f"broker {sim_broker.url}: reachable (tenant 'lab-a' ({lab_a}) serves conductivity/molecular_dynamics, "
        f"conductivity/two_electrode)",
    ]
    assert PASSWORD not in first.stdout + first.stderr
    password_file = password_file_for(name)
    assert password_file.read_text().strip() == PASSWORD
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600

    again = _register(aiida_profile, *args, "--password-file", str(password_file))
    assert again.returncode == 0, again.stderr
    assert [line.split(": ", 1)[1].split(" (")[0] for line in again.stdout.splitlines()] == [
        "already exists", "already configured", "already exists", "reachable"]
    by_env = _register(aiida_profile, *args, "--password-env", "LAB_A_PASSWORD", env={"LAB_A_PASSWORD": PASSWORD})
    assert by_env.returncode == 0 and f"computer `{name}`: reconfigured" in by_env.stdout, by_env.stderr

    computer = orm.load_computer(name)
    assert (computer.hostname, computer.transport_type, computer.scheduler_type) == (
        sim_broker.url, "core.local", "bigmap.broker")
    assert computer.get_property("bigmap_broker") == {"user": "alice", "password_env": "LAB_A_PASSWORD",
                                                      "tenant_uuid": lab_a, "quantity": "conductivity"}
    os.environ["LAB_A_PASSWORD"] = PASSWORD  # the scheduler, in this process, reads it from the environment
    try:
        node = _measure_through(sim_broker, orm.load_code(f"{name}-experiment@{name}"))
    finally:
        del os.environ["LAB_A_PASSWORD"]
    assert node.is_finished_ok, (node.exit_status, node.exit_message)
    assert node.outputs.measurement["fom_data"]["value"] == 4.5
    assert node.outputs.broker["tenant_uuid"] == sim_broker.tenants["aiida"]


def _measure_through(broker, code) -> orm.CalcJobNode:
    """One ExperimentCalcJob on ``code``, answered by tenant ``aiida`` through the broker."""
    loop = TenantLoop(broker.client("sim"), broker.tenants["aiida"], "conductivity", "conductivity",
                      lambda item: {"value": 4.5, "unit": "mS/cm"}, poll_seconds=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        _, node = run_get_node(ExperimentCalcJob, code=code, formulation=orm.Dict(
            to_formulation(0.3, 1.0).model_dump(mode="json")), temperature=orm.Float(298.15))
    finally:
        stop.set()
        thread.join(timeout=30)
    return node


def test_register_refuses_with_one_clear_line(aiida_profile, sim_broker, tmp_path):  # noqa: F811
    common = ["--url", sim_broker.url, "--user", "alice", "--workdir", str(tmp_path / "work")]
    password = tmp_path / "password"
    password.write_text(PASSWORD)
    cases = [
        (["b1", *common, "--tenant", "lab-a"], 2, "give exactly one of --password-file, --password-env"),
        (["b1", *common, "--tenant", "lab-a", "--password-file", str(password), "--password-env", "X"], 2,
         "give exactly one of"),
        (["b1", *common, "--tenant", "no-such-lab", "--password-file", str(password)], 1,
         f"the broker at {sim_broker.url} has no tenant 'no-such-lab'"),
        (["b1", *common, "--tenant", "lab-a", "--password-env", "UNSET_PASSWORD_VAR"], 1,
         "the broker password variable UNSET_PASSWORD_VAR is not set"),
        (["b1", "--url", "ftp://x", "--user", "alice", "--tenant", "lab-a", "--password-file", str(password)], 1,
         "broker URL must look like http://HOST:PORT, got 'ftp://x'"),
        (["not-a-broker", *common, "--tenant", sim_broker.tenants["lab-a"], "--password-file", str(password),
          "--no-check"], 1, "a computer `not-a-broker` exists but is not this broker"),
    ]
    orm.Computer(label="not-a-broker", hostname="localhost", transport_type="core.local",
                 scheduler_type="core.direct", workdir=str(tmp_path)).store()
    for args, code, message in cases:
        answer = _register(aiida_profile, *args)
        assert answer.returncode == code, (args, answer.stdout, answer.stderr)
        [error] = [line for line in answer.stderr.splitlines() if line.startswith("Error: ")]  # one line
        assert message in error and "Traceback" not in answer.stderr, (args, answer.stderr)
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password")
    refused = _register(aiida_profile, "b2", *common, "--tenant", "lab-a", "--password-file", str(wrong))
    assert refused.returncode == 1 and "cannot look up tenant 'lab-a'" in refused.stderr and "401" in refused.stderr
