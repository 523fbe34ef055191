"""``verdi computer test`` on an instrument registered with ``bigmap-al instrument register``, as a user runs it.

``verdi`` runs in a subprocess against the test profile (its configuration directory is in
``AIIDA_PATH``) and reaches a live instrument server over HTTP.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time

from click.testing import CliRunner

from aiida_bigmap_al.cli import main
from aiida_bigmap_al.instrument_bridge.transport import WORKDIR_WORKSPACE

VERDI = pathlib.Path(sys.executable).parent / "verdi"


def _register(name, server, token_file):
    result = CliRunner().invoke(main, ["instrument", "register", name, server.url, "--token-file", str(token_file)])
    assert result.exit_code == 0, result.output


def _verdi_computer_test(profile, name, *options) -> tuple[str, float]:
    start = time.monotonic()
    result = subprocess.run([str(VERDI), "-p", profile.name, "computer", "test", *options, name],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr, time.monotonic() - start


def test_verdi_computer_test_passes_on_a_registered_instrument(aiida_profile, server, token_file):
    _register("rig-verdi", server, token_file)
    output, _ = _verdi_computer_test(aiida_profile, "rig-verdi", "--print-traceback")
    assert "all 6 tests succeeded" in output, output
    assert "Creating and deleting temporary file... [OK]" in output
    assert "Determining remote user name... [OK]: conductivity-rig-1" in output
    assert "Skipped, remote command execution is not implemented" in output  # no shell on an instrument
    with server.client() as client:  # the check's file went to the work directory's workspace, and is gone again
        assert client.get(f"/workspaces/{WORKDIR_WORKSPACE}/files").json() == []


def test_verdi_computer_test_names_a_refused_token(aiida_profile, server, tmp_path):
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-token-0123456789")
    _register("rig-verdi-wrong", server, wrong)
    output, elapsed = _verdi_computer_test(aiida_profile, "rig-verdi-wrong")  # no --print-traceback: still said
    assert "1 out of 1 tests failed" in output
    assert f"refused the bearer token read from the token file {wrong}" in output, output
    assert f"bigmap-al instrument register rig-verdi-wrong {server.url} --token-file FILE" in output
    assert "not-the-token" not in output
    assert elapsed < 60  # verdi's own start-up is most of it: no retries


def test_register_says_a_refused_token_once(aiida_profile, server, tmp_path):
    # The transport logs a refused token (for `verdi computer test`), and `register` reports the
    # refusal itself: a user saw the long message twice.
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-token-0123456789")
    result = subprocess.run(
        [str(VERDI.with_name("bigmap-al")), "instrument", "register", "rig-said-once", server.url,
         "--token-file", str(wrong)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "AIIDA_PROFILE": aiida_profile.name})
    output = result.stdout + result.stderr
    assert "instrument server" in output and "not usable now" in output, output
    assert output.count("refused the bearer token") == 1, output
