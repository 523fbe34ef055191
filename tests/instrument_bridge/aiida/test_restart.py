"""An instrument server killed mid-job and started again: the experiment is reported failed, never run twice.

Marked ``chaos``: a power cut of the lab PC in the middle of an experiment, alone and in a campaign.
"""

from __future__ import annotations

import threading
import time

import h5py
import pytest
import yaml
from aiida import orm
from aiida.engine import run_get_node

from aiida_bigmap_al.calcjobs.experiment import ExperimentCalcJob
from aiida_bigmap_al.learning import STRATEGIES
from aiida_bigmap_al.space import fzj_space
from aiida_bigmap_al.workchains import ActiveLearningWorkChain

from ..conftest import ServerProcess, free_port
from .conftest import conductivity_rig
from .test_experiment import _jobs_of, _suggestion

pytestmark = pytest.mark.chaos


def _crash_mid_job(tmp_path) -> tuple[list[ServerProcess], threading.Thread]:
    """A slow rig's server, and a thread that SIGKILLs it once a job equilibrates and starts it again.

    The servers, first and restarted (same port, same data folder), are in the returned list.
    """
    raw = conductivity_rig(tmp_path / "data")
    raw["devices"]["thermostat"]["time_scale"] = 0.1  # equilibration takes >= 3 s: time to pull the plug
    config = tmp_path / "rig.yaml"
    config.write_text(yaml.safe_dump(raw))
    port, log = free_port(), tmp_path / "server.log"
    servers = [ServerProcess(config, port, log).wait_ready()]

    def crash_and_restart():
        """SIGKILL the server while the job equilibrates (a power cut), then start it again on the same port."""
        with servers[0].client() as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if any(job["current_step"] == "equilibrate" for job in client.get("/jobs").json()):
                    break
                time.sleep(0.02)
        servers[0].kill()
        time.sleep(0.3)  # AiiDA polls a server that is gone
        servers.append(ServerProcess(config, port, log).wait_ready(timeout=120))  # a loaded machine starts slowly

    crasher = threading.Thread(target=crash_and_restart, daemon=True)
    crasher.start()
    return servers, crasher


def test_a_server_restarted_mid_job_reports_the_experiment_failed(instrument, tmp_path, fast_retries):
    servers, crasher = _crash_mid_job(tmp_path)
    log = tmp_path / "server.log"
    try:
        _, node = run_get_node(ExperimentCalcJob, code=instrument(servers[0].url).code, suggestion=_suggestion())
        crasher.join(timeout=60)
        assert len(servers) == 2, log.read_text()
        assert node.exit_status == ExperimentCalcJob.exit_codes.ERROR_INSTRUMENT_FAULT.status
        assert "interrupted by server restart" in node.exit_message
        with node.outputs.raw_data.open(mode="rb") as handle, h5py.File(handle, "r") as raw_log:
            assert raw_log.attrs["state"] == "failed"  # the log keeps the steps that finished
            assert list(raw_log["actions"]) == ["000_prepare", "001_fill"]
        [job] = _jobs_of(servers[-1], node)  # one job, failed, never run again
        assert job["state"] == "failed" and job["id"] == node.get_job_id()
    finally:
        servers[-1].terminate()


def test_a_campaign_whose_server_restarted_mid_job_measures_every_suggestion_once(
        aiida_profile, instrument, tmp_path, fast_retries, measured_once):
    from aiida.manage.configuration import get_config

    # AiiDA pauses a job whose server stays unreachable past its retries (an in-process campaign then
    # waits forever): eight attempts (127 s) outlast a restart on a loaded machine. fast_retries resets it.
    get_config().set_option("transport.task_maximum_attempts", 8, scope=aiida_profile.name)
    servers, crasher = _crash_mid_job(tmp_path)
    try:
        _, node = run_get_node(ActiveLearningWorkChain, **{
            "space": orm.Dict(fzj_space(temperatures=[298.15]).to_dict()),
            "strategy": orm.Dict(STRATEGIES["gp-ucb"].model_dump(mode="json")),
            "budget": orm.Int(3), "n_initial": orm.Int(2), "batch_size": orm.Int(1), "n_candidates": orm.Int(128),
            "seed": orm.Int(1),
            "methods": {"experiment": {"code": instrument(servers[0].url).code}},
        })
        crasher.join(timeout=60)
        assert len(servers) == 2, (tmp_path / "server.log").read_text()
        # the interrupted experiment failed and was reported, the one queued behind it ran after the
        # restart; the failed point was replaced by a new suggestion and the budget kept
        measured_once(node, 3, failed=1)
        with servers[-1].client() as client:  # one job per experiment on the rig: nothing run twice
            states = sorted(job["state"] for job in client.get("/jobs").json())
        assert states == ["done"] * 3 + ["failed"]
    finally:
        servers[-1].terminate()
