"""The rig configuration file (YAML): instrument, token, data directory, devices and methods.

Validated with pydantic when the server starts, so that a typo fails at once with an error that
names the field (``devices.pump_ec.settings.stock.density_g_ml: ...``), not in the middle of a
job. Besides the shape of every field, the cross-references are checked: every step's action
exists, its device roles are filled with devices of the right kind, its parameters are ones the
action knows, ``$name`` refers to a declared method parameter and ``@step.key`` in a ``result``
template to an earlier step and one of its action's outputs.

Example (see ``examples/rigs/*.yaml`` for complete ones)::

    instrument: fzj-conductivity-rig          # name reported by /health and in every file
    token_env: BIGMAP_RIG_TOKEN               # or  token: <at least 16 characters>
    data_dir: ./rig-data                      # relative paths: relative to this file
    host: 127.0.0.1                           # any other interface needs TLS (or --insecure-http)
    port: 8765
    # tls_certfile: rig-cert.pem              # serve https (both or neither; PEM files)
    # tls_keyfile: rig-key.pem
    # max_upload_bytes: 10485760              # largest file upload (default 10 MiB)
    # max_workspaces: 10000                   # quotas on the disk a client can fill (defaults)
    # max_files_per_workspace: 100
    devices:
      pump_pc:
        kind: syringe_pump                    # syringe_pump | thermostat | conductivity_cell
        address: PUMP2                        #   | xyz_stage | droplet_cell
        url: /dev/ttyUSB1                     # any pyserial URL, or instead:
        # emulator: {transport: pty, seed: 2, fault: {mode: garbage, command: DISPENSE, count: 1}}
        timeout: 2.0                          # s to wait for a reply (plus known work time)
        time_scale: 1.0                       # < 1 speeds up an emulated device
        settings: {stock: {density_g_ml: 1.205, mass_fractions: {PC: 1.0}}, rate_ml_min: 5}
    methods:
      conductivity:
        parameters:                           # what a request may (must) give, with limits
          r: {min: 0.0, max: 1.0}
          replicates: {type: integer, min: 1, max: 8, default: 3}
        steps:                                # run in order; `always` steps run even after a
          - {name: prepare, action: prepare_formulation,   # failure or a cancel (clean-up)
             devices: {pumps: [pump_ec, pump_pc]}, params: {r: $r, c: $c}}
          - {name: clean, action: clean, devices: {cell: cell}, always: true}
        result: {value: "@measure.mean", unit: mS/cm, r: "@prepare.r"}
"""

from __future__ import annotations

import os
import pathlib
import re
import ssl
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from ..emulators import options_model
from .actions import ACTIONS
from .drivers import DRIVERS

__all__ = [
    "ConfigError",
    "DeviceSpec",
    "EmulatorSpec",
    "FaultSpec",
    "MethodSpec",
    "ParameterSpec",
    "RigConfig",
    "StepSpec",
    "format_validation_error",
    "load_config",
    "parameter_refs",
    "step_refs",
]

_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
_PARAM_REF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_STEP_REF = re.compile(r"^@([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$")
MIN_TOKEN_LENGTH = 16


class ConfigError(ValueError):
    """A rig configuration that cannot be used; the message names the file and the fields."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _one_of(registry: dict[str, Any], what: str) -> AfterValidator:
    """A check that a name is a key of ``registry`` (a device kind, an action); its error lists the known ones."""

    def check(value: str) -> str:
        if value not in registry:
            raise ValueError(f"unknown {what} {value!r}; known {what}s: {sorted(registry)}")
        return value

    return AfterValidator(check)


class FaultSpec(_Strict):
    """Make an emulated device misbehave from start-up (fault tests and demonstrations)."""

    mode: Literal["garbage", "silent"]
    command: str | None = Field(None, description="only this verb (e.g. MEASURE); default: all")
    count: int | None = Field(None, ge=1, description="only the next N matching commands")


class EmulatorSpec(_Strict):
    """Start an emulator for this device in the server process, on a pty or a local socket."""

    transport: Literal["pty", "socket"] = "pty"
    seed: int = 0
    fault: FaultSpec | None = None
    options: dict[str, Any] = Field(default_factory=dict, description="emulator-only physics, per kind")


class DeviceSpec(_Strict):
    """One device: its kind (-> driver), its protocol address, and how to reach it."""

    kind: Annotated[str, _one_of(DRIVERS, "device kind")]
    address: str = Field(pattern=r"^[A-Za-z0-9]+$")
    url: str | None = None
    emulator: EmulatorSpec | None = None
    timeout: float = Field(2.0, gt=0)
    time_scale: float = Field(1.0, gt=0)
    baudrate: int = Field(9600, gt=0)
    settings: dict[str, Any] = Field(default_factory=dict)
    _settings: BaseModel = PrivateAttr()

    @model_validator(mode="after")
    def _connection_and_settings(self) -> DeviceSpec:
        if (self.url is None) == (self.emulator is None):
            raise ValueError("give exactly one of 'url' (a real device) and 'emulator'")
        self._settings = _nested(DRIVERS[self.kind].Settings, self.settings, "settings")
        if self.emulator is not None:
            _nested(options_model(self.kind), self.emulator.options, "emulator.options")
        return self

    @property
    def parsed_settings(self) -> BaseModel:
        """``settings`` validated against the driver's settings model of this kind."""
        return self._settings


def _nested(model: type[BaseModel], data: dict[str, Any], where: str) -> BaseModel:
    """Validate ``data`` against ``model``; re-raise with the field path prefixed by ``where``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValueError(format_validation_error(exc, prefix=where)) from None


class ParameterSpec(_Strict):
    """A request parameter of a method, with the rig's limits (inclusive)."""

    type: Literal["number", "integer"] = "number"
    min: float | None = None
    max: float | None = None
    default: float | int | None = None
    unit: str | None = None
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> ParameterSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class StepSpec(_Strict):
    """One step of a method: an action on some devices with some parameters."""

    name: str = Field(pattern=_IDENTIFIER)
    action: Annotated[str, _one_of(ACTIONS, "action")]
    devices: dict[str, str | list[str]] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    always: bool = Field(False, description="run even after an earlier step failed or the job was cancelled")


class MethodSpec(_Strict):
    """What a job can ask for: parameters with limits, the steps to run, the result to report."""

    description: str = ""
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    steps: list[StepSpec] = Field(min_length=1)
    result: dict[str, Any] = Field(default_factory=dict)


class RigConfig(_Strict):
    """The whole configuration of one instrument server."""

    instrument: str = Field(min_length=1)
    description: str = ""
    token: str | None = Field(None, min_length=MIN_TOKEN_LENGTH)
    token_env: str | None = None
    data_dir: pathlib.Path
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    max_upload_bytes: int = Field(10 * 1024 * 1024, gt=0)
    max_workspaces: int = Field(10_000, gt=0, description="workspaces on disk at most (507 past it)")
    max_files_per_workspace: int = Field(100, gt=0, description="files in one workspace at most (507 past it)")
    tls_certfile: pathlib.Path | None = Field(None, description="PEM certificate (chain) to serve https with")
    tls_keyfile: pathlib.Path | None = Field(None, description="PEM private key of tls_certfile")
    devices: dict[str, DeviceSpec] = Field(min_length=1)
    methods: dict[str, MethodSpec] = Field(min_length=1)
    base_dir: pathlib.Path = Field(default_factory=pathlib.Path.cwd, exclude=True)

    @model_validator(mode="after")
    def _check(self) -> RigConfig:
        if (self.token is None) == (self.token_env is None):
            raise ValueError("give exactly one of 'token' and 'token_env'")
        self.data_dir = self.resolve_path(str(self.data_dir))
        self._check_tls()
        for name, method in self.methods.items():
            _check_method(name, method, self.devices)
        return self

    def _check_tls(self) -> None:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("give both 'tls_certfile' and 'tls_keyfile', or neither")
        for field in ("tls_certfile", "tls_keyfile"):
            value = getattr(self, field)
            if value is not None:
                path = self.resolve_path(str(value))
                if not path.is_file():
                    raise ValueError(f"{field}: no file {str(path)!r}")
                setattr(self, field, path)
        if self.tls_certfile is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            try:  # here, not when uvicorn starts: a mismatch is then a line naming the fields, not a traceback
                context.load_cert_chain(self.tls_certfile, self.tls_keyfile)
            except ssl.SSLError as exc:
                raise ValueError(f"tls_certfile, tls_keyfile: not a PEM certificate and its private key ({exc})") \
                    from None

    @property
    def tls(self) -> bool:
        """Whether the server speaks https."""
        return self.tls_certfile is not None

    def resolve_token(self) -> str:
        """The bearer token: ``token``, or the value of the environment variable ``token_env``."""
        if self.token is not None:
            return self.token
        value = os.environ.get(self.token_env or "", "")
        if len(value) < MIN_TOKEN_LENGTH:
            state = "is not set" if not value else f"is shorter than {MIN_TOKEN_LENGTH} characters"
            raise ConfigError(f"token_env: environment variable {self.token_env!r} {state}")
        return value

    def resolve_path(self, path: str) -> pathlib.Path:
        """A path from the configuration, relative to the configuration file's directory."""
        candidate = pathlib.Path(path).expanduser()
        return candidate if candidate.is_absolute() else (self.base_dir / candidate).resolve()


def parameter_refs(value: Any) -> set[str]:
    """Names of the method parameters referred to as ``$name`` anywhere in ``value``."""
    if isinstance(value, str):
        match = _PARAM_REF.match(value)
        return {match.group(1)} if match else set()
    if isinstance(value, dict):
        return set().union(*(parameter_refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(parameter_refs(v) for v in value))
    return set()


def step_refs(value: Any) -> set[tuple[str, str]]:
    """``(step, key)`` pairs referred to as ``@step.key`` anywhere in ``value``."""
    if isinstance(value, str):
        match = _STEP_REF.match(value)
        return {(match.group(1), match.group(2))} if match else set()
    if isinstance(value, dict):
        return set().union(*(step_refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(step_refs(v) for v in value))
    return set()


def _check_method(name: str, method: MethodSpec, devices: dict[str, DeviceSpec]) -> None:
    where = f"methods.{name}"
    seen: dict[str, StepSpec] = {}
    for index, step in enumerate(method.steps):
        at = f"{where}.steps.{index} ({step.name})"
        if step.name in seen:
            raise ValueError(f"{at}: step name {step.name!r} used twice")
        seen[step.name] = step
        _check_roles(at, step, devices)
        action = ACTIONS[step.action]
        unknown = set(step.params) - set(action.Params.model_fields)
        if unknown:
            raise ValueError(f"{at}.params: action {step.action!r} has no parameter(s) {sorted(unknown)}; "
                             f"it takes {sorted(action.Params.model_fields)}")
        if step_refs(step.params):
            raise ValueError(f"{at}.params: '@step.key' references are allowed in 'result' only")
        _check_parameter_refs(f"{at}.params", step.params, method)
    _check_parameter_refs(f"{where}.result", method.result, method)
    for step_name, key in sorted(step_refs(method.result)):
        if step_name not in seen:
            raise ValueError(f"{where}.result: '@{step_name}.{key}' refers to no step; steps: {list(seen)}")
        outputs = ACTIONS[seen[step_name].action].outputs
        if key not in outputs:
            raise ValueError(f"{where}.result: '@{step_name}.{key}': action {seen[step_name].action!r} "
                             f"outputs {list(outputs)}")


def _check_parameter_refs(where: str, value: Any, method: MethodSpec) -> None:
    missing = parameter_refs(value) - set(method.parameters)
    if missing:
        raise ValueError(f"{where}: ${sorted(missing)[0]} is not a parameter of the method; "
                         f"parameters: {sorted(method.parameters)}")


def _check_roles(at: str, step: StepSpec, devices: dict[str, DeviceSpec]) -> None:
    roles = ACTIONS[step.action].roles
    if set(step.devices) != set(roles):
        raise ValueError(f"{at}.devices: action {step.action!r} needs the roles {sorted(roles)}, got {sorted(step.devices)}")
    for role_name, role in roles.items():
        assigned = step.devices[role_name]
        if isinstance(assigned, list) != role.many:
            shape = "a list of device names" if role.many else "one device name"
            raise ValueError(f"{at}.devices.{role_name}: expected {shape}")
        for device in assigned if isinstance(assigned, list) else [assigned]:
            if device not in devices:
                raise ValueError(f"{at}.devices.{role_name}: no device {device!r}; devices: {sorted(devices)}")
            if devices[device].kind != role.kind:
                raise ValueError(f"{at}.devices.{role_name}: {device!r} is a {devices[device].kind}, "
                                 f"the role needs a {role.kind}")


def format_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line per problem, ``field.path: message``, for humans reading a terminal or a 422."""
    lines = []
    for error in exc.errors():
        path = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
        message = error["msg"].removeprefix("Value error, ")
        value = error.get("input")
        if error["type"] != "missing" and isinstance(value, (int, float, str)) and not isinstance(value, bool):
            message += f" (got {value!r})"
        lines.append(f"{path}: {message}" if path else message)
    return "; ".join(lines)


def load_config(path: str | os.PathLike) -> RigConfig:
    """Read and validate a rig configuration; :class:`ConfigError` names the file and the field."""
    path = pathlib.Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the rig configuration: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a rig configuration is a mapping, got {type(raw).__name__}")
    raw.setdefault("base_dir", str(path.resolve().parent))
    try:
        return RigConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid rig configuration: {format_validation_error(exc)}") from None
