"""TLS: an https instrument server verified with its own certificate; plain http only on loopback."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
import yaml

from aiida_bigmap_al.instrument_bridge.client import InstrumentClient, InstrumentUnreachable

from .conftest import TOKEN, free_port, rig_dict
from .tls import https_server, self_signed

pytestmark = pytest.mark.security

CLI = "import sys; from aiida_bigmap_al.cli import main; sys.exit(main())"


def test_https_server_is_verified_with_its_certificate(tmp_path):
    with https_server(tmp_path) as (server, cert):
        assert server.url.startswith("https://")
        with InstrumentClient(server.url, TOKEN, ca_bundle=cert) as client:
            assert "conductivity" in client.methods()
        with InstrumentClient(server.url, TOKEN) as client, pytest.raises(
                InstrumentUnreachable, match="TLS: certificate verify failed: self-signed certificate; give the CA "
                                             "bundle"):
            client.methods()
        with pytest.raises(httpx.HTTPError):  # nothing is answered in clear on the https port
            httpx.get(server.url.replace("https://", "http://") + "/health", timeout=5)


@pytest.mark.parametrize("where", ["--host", "rig file"])
def test_plain_http_beyond_loopback_is_refused(tmp_path, where):
    """Without TLS and without --insecure-http the server refuses to start on 0.0.0.0, in one line."""
    raw = rig_dict("conductivity", tmp_path / "data")
    options = ["--host", "0.0.0.0"] if where == "--host" else []
    if where == "rig file":
        raw["host"] = "0.0.0.0"
    config = tmp_path / "rig.yaml"
    config.write_text(yaml.safe_dump(raw))
    completed = subprocess.run([sys.executable, "-c", CLI, "instrument", "serve", str(config), "--port",
                                str(free_port()), *options], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        f"Error: refusing to serve plain http on 0.0.0.0: the token would cross the network in clear; set "
        f"tls_certfile and tls_keyfile in {config}, or give --insecure-http"]
    assert not (tmp_path / "data").exists()  # refused before anything started


def test_rig_file_names_both_tls_files_that_exist(tmp_path):
    from aiida_bigmap_al.instrument_bridge.server.config import RigConfig

    raw = rig_dict("conductivity", tmp_path / "data")
    with pytest.raises(ValueError, match="give both 'tls_certfile' and 'tls_keyfile', or neither"):
        RigConfig.model_validate({**raw, "tls_certfile": "cert.pem"})
    with pytest.raises(ValueError, match="tls_certfile: no file"):
        RigConfig.model_validate({**raw, "tls_certfile": str(tmp_path / "no.pem"), "tls_keyfile": str(tmp_path / "k")})
    cert, _ = self_signed(tmp_path)
    _, other_key = self_signed(tmp_path / "other")
    with pytest.raises(ValueError, match="tls_certfile, tls_keyfile: not a PEM certificate and its private key"):
        RigConfig.model_validate({**raw, "tls_certfile": str(cert), "tls_keyfile": str(other_key)})
    key = cert.with_name("rig-key.pem")
    assert RigConfig.model_validate({**raw, "tls_certfile": str(cert), "tls_keyfile": str(key)}).tls
