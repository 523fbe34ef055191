"""The server as a process: ``bigmap-al instrument serve``, a crash mid-job, and no AiiDA on the lab side."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time

import h5py
import pytest
import yaml
from click.testing import CliRunner

from aiida_bigmap_al.cli import main

from .conftest import ServerProcess, free_port, poll_job, rig_dict

FINAL = {"done", "failed", "cancelled"}


def _slow_droplet_rig(tmp_path):
    """The droplet rig with a 'slow' method: move, hold 60 s, lift (always)."""
    raw = rig_dict("droplet", tmp_path / "data")
    raw["methods"]["slow"] = {
        "parameters": {"x": {"min": 0, "max": 100}, "y": {"min": 0, "max": 100}},
        "steps": [
            {"name": "move", "action": "move", "devices": {"stage": "stage"}, "params": {"x": "$x", "y": "$y"}},
            {"name": "hold", "action": "wait", "params": {"seconds": 60}},
            {"name": "lift", "action": "lift", "devices": {"stage": "stage"}, "always": True},
        ],
    }
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.chaos
def test_restart_mid_job_reports_failed_and_never_reruns(tmp_path):
    config = _slow_droplet_rig(tmp_path)
    log = tmp_path / "server.log"
    first = ServerProcess(config, free_port(), log).wait_ready()
    try:
        with first.client() as client:
            interrupted = client.post("/jobs", json={"method": "slow", "parameters": {"x": 40, "y": 40}}).json()
            waiting = client.post("/jobs", json={"method": "sdc_measure", "parameters": {"x": 60, "y": 60}}).json()
            deadline = time.monotonic() + 20
            while client.get(f"/jobs/{interrupted['id']}").json()["current_step"] != "hold":
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.02)
            assert client.get(f"/jobs/{waiting['id']}").json()["state"] == "queued"
    finally:
        first.kill()  # SIGKILL mid-job: no shutdown handler runs

    second = ServerProcess(config, free_port(), log).wait_ready()
    try:
        with second.client() as client:
            job = client.get(f"/jobs/{interrupted['id']}").json()
            assert job["state"] == "failed" and job["message"] == "interrupted by server restart"
            result = client.get(f"/workspaces/{job['workspace']}/files/result.json").json()
            assert result["state"] == "failed" and result["result"] is None
            raw = client.get(f"/workspaces/{job['workspace']}/files/raw.h5").content
            with h5py.File(io.BytesIO(raw)) as f:  # readable: every finished action is in it
                assert f.attrs["state"] == "failed" and f.attrs["message"] == "interrupted by server restart"
                assert list(f["actions"]) == ["000_move"]
                assert f["actions/000_move"].attrs["status"] == "ok"

            # the job queued behind it runs after the restart, exactly once
            done = poll_job(client, waiting["id"], FINAL)
            assert done["state"] == "done", done["message"]
            jobs = client.get("/jobs").json()
            assert [j["id"] for j in jobs] == [interrupted["id"], waiting["id"]]
            again = client.get(f"/jobs/{interrupted['id']}").json()
            assert again == job  # never run again
            resubmitted = client.post("/jobs", json={"workspace": job["workspace"], "request_file": "request.json"})
            assert resubmitted.status_code == 200 and resubmitted.json()["state"] == "failed"
    finally:
        second.terminate()


def test_cli_refuses_a_bad_config_naming_the_field(tmp_path):
    raw = rig_dict("droplet", tmp_path / "data")
    raw["devices"]["stage"]["settings"]["speed_mm_s"] = -1
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(main, ["instrument", "serve", str(path)])
    assert result.exit_code != 0
    assert "devices.stage: settings.speed_mm_s: Input should be greater than 0 (got -1)" in result.output


_NO_AIIDA = r"""
import json, pathlib, sys, yaml
from aiida_bigmap_al.instrument_bridge.server.app import create_app
from aiida_bigmap_al.instrument_bridge.server.config import RigConfig
from aiida_bigmap_al.instrument_bridge.server.instrument import Instrument
import aiida_bigmap_al.instrument_bridge.emulators
raw = json.loads(sys.argv[1])
config = RigConfig.model_validate(raw)
create_app(config)
with Instrument(config) as rig:  # runs a real job: fits the model, drives the emulators
    job = rig.wait(rig.submit("conductivity", {"r": 0.5, "c": 1.0, "temperature": 298.15})[0].id, timeout=60)
    assert job.state.value == "done", job.message
loaded = sorted(name for name in sys.modules if name == "aiida" or name.startswith("aiida."))
print(json.dumps(loaded))
"""


def test_lab_side_never_imports_aiida(tmp_path):
    """The server, its drivers and the emulators run on a lab PC that may not have AiiDA."""
    raw = rig_dict("conductivity", tmp_path / "data")
    completed = subprocess.run(
        [sys.executable, "-c", _NO_AIIDA, json.dumps(raw)], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == []


def test_cli_reports_a_device_that_cannot_be_opened(tmp_path):
    raw = rig_dict("droplet", tmp_path / "data")
    del raw["devices"]["stage"]["emulator"]
    raw["devices"]["stage"]["url"] = str(tmp_path / "no-such-tty")
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(main, ["instrument", "serve", str(path)])
    assert result.exit_code != 0
    assert "cannot start instrument 'droplet-rig-1': device 'stage', command 'open': cannot open" in result.output
