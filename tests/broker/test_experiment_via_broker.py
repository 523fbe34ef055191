"""An ExperimentCalcJob on the daemon answered through the broker: the bridge's second backend.

The job's computer has the ``bigmap.broker`` scheduler: its request is posted with the AiiDA
process UUID in the metadata, a tenant (here a ``TenantLoop`` serving the point capability) answers
it, and the parser records the request, result and tenant UUIDs beside the measurement.
"""

from __future__ import annotations

import threading
import uuid

from aiida import orm
from aiida.engine import run_get_node
from click.testing import CliRunner

from aiida_bigmap_al.broker.tenant import TenantLoop
from aiida_bigmap_al.broker_bridge.scheduler import PLUGIN, configure
from aiida_bigmap_al.calcjobs.experiment import ExperimentCalcJob
from aiida_bigmap_al.cli import main
from aiida_bigmap_al.electrolyte import to_formulation
from aiida_bigmap_al.learning import STRATEGIES
from aiida_bigmap_al.space import fzj_space
from aiida_bigmap_al.workchains import ActiveLearningWorkChain

from .conftest import PASSWORD
from .test_aiida_tenant import sim_broker  # noqa: F401 (fixture)


def _broker_computer(broker, tmp_path) -> orm.InstalledCode:
    """A computer whose jobs alice's tenant lab-a asks the broker for, and a code on it (never executed)."""
    computer = orm.Computer(label=f"broker-{uuid.uuid4().hex[:8]}", hostname=broker.url, transport_type="core.local",
                            scheduler_type=PLUGIN, workdir=str(tmp_path / "work")).store()
    computer.configure(safe_interval=0)
    computer.set_minimum_job_poll_interval(0.2)
    password = tmp_path / "password"
    password.write_text(PASSWORD)
    configure(computer, "alice", str(password), broker.tenants["lab-a"])
    return orm.InstalledCode(computer=computer, filepath_executable="/bin/true", label="broker",
                             default_calc_job_plugin="bigmap.experiment").store()


def test_an_experiment_is_answered_by_a_tenant_through_the_broker(sim_broker, submit_and_await, tmp_path):  # noqa: F811
    code = _broker_computer(sim_broker, tmp_path)
    served = []

    def measure(item):
        served.append(item)
        return {"value": 4.25, "unit": "mS/cm"}

    loop = TenantLoop(sim_broker.client("sim"), sim_broker.tenants["aiida"], "conductivity", "simulation", measure,
                      poll_seconds=0.2)
    stop = threading.Event()
    tenant = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    tenant.start()
    try:
        node = submit_and_await(ExperimentCalcJob, code=code, method=orm.Str("simulation"),
                                formulation=orm.Dict(to_formulation(0.3, 1.0).model_dump(mode="json")),
                                temperature=orm.Float(298.15), timeout=180)
    finally:
        stop.set()
        tenant.join(timeout=30)

    assert node.is_finished_ok, (node.exit_status, node.exit_message)
    assert node.outputs.measurement["fom_data"]["value"] == 4.25
    broker = node.outputs.broker.get_dict()
    assert broker["request_uuid"] == node.get_job_id()
    assert broker["tenant_uuid"] == sim_broker.tenants["aiida"]
    alice = sim_broker.client("alice")
    assert broker["result_uuid"] == alice.result_for_request(node.get_job_id())["uuid"]
    [item] = served
    assert item["request"]["metadata"] == {"aiida_process_uuid": node.uuid}
    assert item["request"]["parameters"]["simulation"]["temperature"] == 298.15


def _answering(broker, method: str, value: float = 4.25):
    """A tenant of ``method`` in a thread, answering every request with ``value`` (stop it with the event)."""
    served: list[dict] = []

    def measure(item):
        served.append(item)
        point = item["request"]["parameters"][method]
        return {"value": value + point["r"], "unit": "mS/cm"}

    loop = TenantLoop(broker.client("sim"), broker.tenants["aiida"], "conductivity", method, measure,
                      poll_seconds=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    return served, stop, thread


def campaign_inputs(code, budget: int = 4, n_initial: int = 3, seed: int = 1) -> dict:
    """A small campaign at 298.15 K whose experiments run on ``code``."""
    return {
        "space": orm.Dict(fzj_space(temperatures=[298.15]).to_dict()),
        "strategy": orm.Dict(STRATEGIES["gp-ucb"].model_dump(mode="json")),
        "budget": orm.Int(budget), "n_initial": orm.Int(n_initial), "n_candidates": orm.Int(128),
        "seed": orm.Int(seed), "methods": {"experiment": {"code": code}},
    }


def test_a_campaign_is_measured_through_the_broker_and_traced_back(sim_broker, tmp_path):  # noqa: F811
    code = _broker_computer(sim_broker, tmp_path)
    served, stop, thread = _answering(sim_broker, "conductivity")
    try:
        _, campaign = run_get_node(ActiveLearningWorkChain, **campaign_inputs(code))
    finally:
        stop.set()
        thread.join(timeout=30)
    assert campaign.is_finished_ok, campaign.exit_message
    jobs = [c for c in campaign.called if c.process_class is ExperimentCalcJob]
    assert len(jobs) == 4 and all(job.is_finished_ok for job in jobs)
    assert sorted(item["request"]["metadata"]["aiida_process_uuid"] for item in served) == sorted(j.uuid for j in jobs)
    rows = campaign.outputs.dataset["rows"]
    assert {row["measurement"] for row in rows} == {job.outputs.measurement.uuid for job in jobs}

    [last] = [job for job in jobs if job.inputs.suggestion.creator.process_label == "suggest"]
    result_uuid = last.outputs.broker["result_uuid"]
    answer = CliRunner().invoke(main, ["broker", "trace", result_uuid, "--url", sim_broker.url, "--user", "reader"],
                                env={"BIGMAP_BROKER_PASSWORD": PASSWORD})
    assert answer.exit_code == 0, answer.output
    lines = dict(line.split(None, 1) for line in answer.output.splitlines() if not line.startswith("answered"))
    suggestion = last.inputs.suggestion
    assert lines["result"].startswith(f"{result_uuid}  original  by tenant {sim_broker.tenants['aiida']}")
    assert lines["process"] == f"ExperimentCalcJob<{last.pk}> {last.uuid}"
    assert lines["suggestion"] == f"Dict<{suggestion.pk}> {suggestion.uuid}"
    assert lines["model"] == f"Dict<{suggestion.creator.inputs.model.pk}> {suggestion.creator.inputs.model.uuid}"
    assert lines["campaign"] == f"ActiveLearningWorkChain<{campaign.pk}> {campaign.uuid}"
