"""Registering an instrument: an https URL verified with a CA bundle; plain http only for this machine."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from aiida_bigmap_al.cli import main
from aiida_bigmap_al.instrument_bridge.register import register

from ..tls import https_server

pytestmark = pytest.mark.security

FAR = "http://192.0.2.10:8765"  # TEST-NET-1: never a host of this machine
REFUSED = (f"refusing the plain http URL {FAR}: the token would cross the network in clear; serve the instrument "
           f"with TLS and register its https:// URL (with --ca-bundle for its own certificate), or give "
           f"--insecure-http")


def test_https_instrument_is_reached_with_its_ca_bundle(aiida_profile, tmp_path, token_file):
    with https_server(tmp_path) as (server, cert):
        registration = register("rig-tls", server.url, token_file=token_file, ca_bundle=cert)
        assert registration.steps[-1].action == "reachable", registration.steps[-1]
        assert registration.computer.get_configuration()["ca_bundle"] == str(cert)
        with registration.computer.get_transport() as transport:  # what the daemon's workers open
            assert transport.whoami() and "conductivity" in transport.client.methods()

        unverified = register("rig-tls-no-ca", server.url, token_file=token_file)
        assert unverified.steps[-1].action == "not usable now"
        assert "TLS: certificate verify failed: self-signed certificate" in unverified.steps[-1].detail


def test_plain_http_to_another_host_is_refused(aiida_profile, token_file):
    with pytest.raises(ValueError) as refused:
        register("rig-far", FAR, token_file=token_file, check=False)
    assert str(refused.value) == REFUSED
    allowed = register("rig-far", FAR, token_file=token_file, check=False, insecure_http=True)
    assert allowed.computer.hostname == FAR
    with pytest.raises(ValueError, match="a CA bundle verifies https servers only"):
        register("rig-near", "http://127.0.0.1:9", token_file=token_file, check=False, ca_bundle=token_file)


def test_cli_refuses_plain_http_to_another_host_in_one_line(aiida_profile, token_file):
    result = CliRunner().invoke(main, ["instrument", "register", "rig-cli-far", FAR, "--token-file", str(token_file)])
    assert result.exit_code == 1 and result.output.strip().splitlines() == [f"Error: {REFUSED}"]
    result = CliRunner().invoke(main, ["instrument", "register", "rig-cli-far", FAR, "--token-file", str(token_file),
                                       "--insecure-http", "--no-check"])
    assert result.exit_code == 0, result.output
