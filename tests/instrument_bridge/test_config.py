"""Rig configuration: the examples load, and every kind of mistake is named by its field."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from aiida_bigmap_al.instrument_bridge.server.config import ConfigError, RigConfig, load_config

from .conftest import RIGS, TOKEN, rig_dict


@pytest.mark.parametrize("name", ["conductivity_rig.yaml", "droplet_rig.yaml"])
def test_examples_load(name, monkeypatch):
    config = load_config(RIGS / name)
    assert config.host == "127.0.0.1"
    assert config.data_dir.is_absolute()
    assert config.data_dir.is_relative_to(RIGS.parent.parent)  # relative to the file, not the cwd
    monkeypatch.setenv(config.token_env, "a-token-of-sufficient-length")
    assert config.resolve_token() == "a-token-of-sufficient-length"


def test_token_from_environment_must_be_set(monkeypatch):
    config = load_config(RIGS / "droplet_rig.yaml")
    monkeypatch.delenv(config.token_env, raising=False)
    with pytest.raises(ConfigError, match="token_env: environment variable 'BIGMAP_RIG_TOKEN' is not set"):
        config.resolve_token()


def _error(tmp_path: pathlib.Path, raw: dict) -> str:
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    return str(info.value)


def _conductivity(tmp_path) -> dict:
    raw = rig_dict("conductivity", tmp_path / "data")
    raw.pop("base_dir")
    return raw


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.pop("instrument"), "instrument: Field required"),
        (lambda r: r.update(token="short"), "token: String should have at least 16 characters"),
        (lambda r: r.update(token_env="X"), "give exactly one of 'token' and 'token_env'"),
        (lambda r: r.update(colour="blue"), "colour: Extra inputs are not permitted"),
        (lambda r: r["devices"]["cell"].update(kind="toaster"), "devices.cell.kind: unknown device kind 'toaster'"),
        (lambda r: r["devices"]["cell"].update(url="/dev/ttyUSB0"), "devices.cell: give exactly one of 'url'"),
        (lambda r: r["devices"]["cell"].update(time_scale=0), "devices.cell.time_scale: Input should be greater than 0"),
        (lambda r: r["devices"]["pump_ec"]["settings"].pop("stock"), "devices.pump_ec: settings.stock: Field required"),
        (lambda r: r["devices"]["pump_ec"]["settings"]["stock"].update(mass_fractions={"EC": 0.5}),
         "settings.stock.mass_fractions: mass fractions must sum to 1"),
        (lambda r: r["devices"]["thermostat"]["emulator"]["options"].update(tau=3),
         "devices.thermostat: emulator.options.tau: Extra inputs are not permitted"),
        (lambda r: r["devices"]["cell"]["emulator"].update(fault={"mode": "loud"}),
         "devices.cell.emulator.fault.mode: Input should be 'garbage' or 'silent'"),
        (lambda r: r["methods"]["conductivity"]["steps"][0].update(action="teleport"),
         "methods.conductivity.steps.0.action: unknown action 'teleport'"),
        (lambda r: r["methods"]["conductivity"]["steps"][1]["devices"].update(cell="thermostat"),
         "methods.conductivity.steps.1 (fill).devices.cell: 'thermostat' is a thermostat, the role needs a conductivity_cell"),
        (lambda r: r["methods"]["conductivity"]["steps"][1]["devices"].update(cell="nope"),
         "devices.cell: no device 'nope'"),
        (lambda r: r["methods"]["conductivity"]["steps"][0]["devices"].update(pumps="pump_ec"),
         "steps.0 (prepare).devices.pumps: expected a list of device names"),
        (lambda r: r["methods"]["conductivity"]["steps"][3]["params"].update(repeats=2),
         "steps.3 (measure).params: action 'measure_conductivity' has no parameter(s) ['repeats']"),
        (lambda r: r["methods"]["conductivity"]["steps"][3]["params"].update(replicates="$n"),
         "steps.3 (measure).params: $n is not a parameter of the method"),
        (lambda r: r["methods"]["conductivity"]["result"].update(extra="@measure.median"),
         "methods.conductivity.result: '@measure.median': action 'measure_conductivity' outputs"),
        (lambda r: r["methods"]["conductivity"]["result"].update(extra="@weigh.mass"),
         "methods.conductivity.result: '@weigh.mass' refers to no step"),
        (lambda r: r["methods"]["conductivity"]["parameters"]["r"].update(min=2),
         "methods.conductivity.parameters.r: min (2.0) is above max (1.0)"),
    ],
)
def test_bad_config_names_the_field(tmp_path, change, expected):
    raw = _conductivity(tmp_path)
    change(raw)
    assert expected in _error(tmp_path, raw)


def test_not_a_mapping_and_not_yaml(tmp_path):
    path = tmp_path / "rig.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="a rig configuration is a mapping, got list"):
        load_config(path)
    path.write_text("instrument: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_servers_bind_localhost_unless_told_otherwise(tmp_path):
    raw = rig_dict("droplet", tmp_path)
    raw.pop("host", None)
    assert RigConfig.model_validate(raw).host == "127.0.0.1"


def test_settings_are_parsed_per_kind(tmp_path):
    config = RigConfig.model_validate(rig_dict("conductivity", tmp_path))
    assert config.token == TOKEN
    stock = config.devices["pump_salt"].parsed_settings.stock
    assert stock.mass_fractions == {"LiPF6": 0.35, "EMC": 0.65}
