"""An instrument server killed mid-job and started again: the experiment is reported failed, never run twice."""

from __future__ import annotations

import threading
import time

import h5py
import yaml
from aiida.engine import run_get_node

from aiida_bigmap_al.calcjobs.experiment import ExperimentCalcJob

from ..conftest import ServerProcess, free_port
from .conftest import conductivity_rig
from .test_experiment import _jobs_of, _suggestion


def test_a_server_restarted_mid_job_reports_the_experiment_failed(instrument, tmp_path, fast_retries):
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
        servers.append(ServerProcess(config, port, log).wait_ready())

    crasher = threading.Thread(target=crash_and_restart, daemon=True)
    crasher.start()
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
