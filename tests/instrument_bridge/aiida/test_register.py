"""``register()`` and ``bigmap-al instrument register``: the computer and code of an instrument, idempotently."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from aiida_bigmap_al.cli import main
from aiida_bigmap_al.instrument_bridge.register import register

from ..conftest import TOKEN


def test_register_creates_checks_and_is_idempotent(aiida_profile, server, token_file, monkeypatch):
    first = register("rig-api", server.url, token_file=token_file, poll_interval=0.5)
    assert [step.action for step in first.steps] == ["created", "configured", "created", "reachable"]
    assert "conductivity-rig-1" in first.steps[-1].detail and "conductivity" in first.steps[-1].detail
    computer, code = first.computer, first.code
    assert (computer.hostname, computer.transport_type, computer.scheduler_type, computer.get_workdir()) == (
        server.url, "bigmap.instrument", "bigmap.instrument", "/")
    assert computer.get_minimum_job_poll_interval() == 0.5
    assert code.full_label == "rig-api-experiment@rig-api" and code.default_calc_job_plugin == "bigmap.experiment"
    configuration = computer.get_configuration()
    assert configuration["token_file"] == str(token_file) and TOKEN not in json.dumps(configuration)

    again = register("rig-api", server.url, token_file=token_file, poll_interval=0.5)
    assert [step.action for step in again.steps] == ["already exists", "already configured", "already exists",
                                                     "reachable"]
    assert (again.computer.pk, again.code.pk) == (computer.pk, code.pk)

    monkeypatch.setenv("RIG_API_TOKEN", TOKEN)
    switched = register("rig-api", server.url, token_env="RIG_API_TOKEN", poll_interval=0.5)
    assert switched.steps[1].action == "reconfigured" and switched.steps[-1].action == "reachable"
    assert computer.get_configuration()["token_env"] == "RIG_API_TOKEN"


def test_register_refuses_what_it_cannot_do(aiida_profile, server, token_file):
    register("rig-taken", server.url, token_file=token_file, check=False)
    with pytest.raises(ValueError, match="not this instrument"):
        register("rig-taken", "http://127.0.0.1:9", token_file=token_file, check=False)
    with pytest.raises(ValueError, match="exactly one source"):
        register("rig-x", server.url, token_file=token_file, token_env="X", check=False)
    with pytest.raises(ValueError, match="must look like http"):
        register("rig-x", "ftp://127.0.0.1:9", token_file=token_file, check=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        register("rig-x", server.url, token_file=token_file.with_name("nope"), check=False)


def test_cli_register(aiida_profile, server, token_file):
    runner = CliRunner()
    arguments = ["instrument", "register", "rig-cli", server.url, "--token-file", str(token_file)]
    result = runner.invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert "computer `rig-cli`: created" in result.output
    assert "code `rig-cli-experiment@rig-cli`: created" in result.output
    assert f"instrument server {server.url}: reachable" in result.output
    assert TOKEN not in result.output

    again = runner.invoke(main, arguments)
    assert again.exit_code == 0 and "code `rig-cli-experiment@rig-cli`: already exists" in again.output

    both = runner.invoke(main, [*arguments, "--token-env", "X"])
    assert both.exit_code == 2 and "not both" in both.output
    taken = runner.invoke(main, ["instrument", "register", "rig-cli", "http://127.0.0.1:9", "--token-file",
                                 str(token_file)])
    assert taken.exit_code == 1 and "not this instrument" in taken.output
