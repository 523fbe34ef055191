"""schemathesis, every check, against a real instrument server process: no failure, every answer documented."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest
import yaml

from .conftest import TOKEN, ServerProcess, free_port, rig_dict

ST = pathlib.Path(sys.executable).parent / "st"


@pytest.mark.fuzz
def test_schemathesis_all_checks_find_no_failure(tmp_path):
    """``st run --checks all`` (coverage, fuzzing and stateful phases) with a valid token.

    The run is the command line's, as a user would start it, with a fixed seed so that CI runs the
    same cases each time; the number of cases is printed (``-s`` shows it).
    """
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(rig_dict("conductivity", tmp_path / "data")))
    server = ServerProcess(path, free_port(), tmp_path / "server.log").wait_ready()
    try:
        run = subprocess.run(
            [str(ST), "run", f"{server.url}/openapi.json", "--checks", "all", "--header",
             f"Authorization: Bearer {TOKEN}", "--max-examples", "30", "--seed", "1", "--workers", "1",
             "--generation-database", "none", "--no-color", "--report-dir", str(tmp_path / "report")],
            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    finally:
        server.terminate()
    summary = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert run.returncode == 0 and summary, run.stdout[-6000:]
    print(f"schemathesis: {summary.group(0)}")
    assert int(summary.group(1)) > 500 and summary.group(1) == summary.group(2)
