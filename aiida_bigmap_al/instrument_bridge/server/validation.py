"""Validate a measurement request against the rig before it is queued.

A request is ``{"method": <name>, "parameters": {...}}``. It is accepted only if

1. the method exists on this rig;
2. the parameters are exactly the method's declared parameters (unknown names are refused,
   missing ones take their default or are refused), of the right type and within the rig's
   limits (``min``/``max`` in the configuration). A number must be a JSON number (``true`` is
   no 1.0, ``"0.5"`` no 0.5) and an integer a number without fraction (``2`` or ``2.0``, as JSON
   Schema has it), because a value the client did not mean must not become a measurement;
3. every step's parameters, after substituting ``$name`` by the request's values, validate
   against the step's action (e.g. ``r`` in [0, 1]);
4. every action finds the request feasible on this rig's devices (e.g. the pumps' stocks can mix
   that formulation, the thermostat reaches that temperature, the point lies in the stage travel).

Anything else raises :class:`RequestError` with a message naming the parameter and the limit;
the HTTP API answers it with 422. The same resolution runs again when the job starts, so what
runs is exactly what was validated.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from .actions import ACTIONS, Action, Devices
from .config import MethodSpec, RigConfig, StepSpec, format_validation_error
from .drivers import LineDriver

__all__ = ["RequestError", "ResolvedStep", "parameter_model", "resolve_steps", "substitute", "validate_request"]


class RequestError(ValueError):
    """A request that does not validate on this rig; the message says which field and why."""


@dataclass(frozen=True)
class ResolvedStep:
    """A step ready to run: its action, validated parameters and the drivers of its roles."""

    spec: StepSpec
    action: Action
    params: BaseModel
    devices: Devices


@functools.lru_cache(maxsize=64)
def _parameter_model(name: str, method_json: str) -> type[BaseModel]:
    method = MethodSpec.model_validate_json(method_json)
    fields: dict[str, Any] = {}
    for pname, spec in method.parameters.items():
        default = ... if spec.default is None else spec.default
        kind = Annotated[int if spec.type == "integer" else float, BeforeValidator(_json_number)]
        fields[pname] = (kind, Field(default, ge=spec.min, le=spec.max, description=spec.description))
    return create_model(f"{name}_parameters", __config__=ConfigDict(extra="forbid", allow_inf_nan=False), **fields)


def _json_number(value: Any) -> Any:
    """Refuse what Python (and pydantic's lax mode) would take for a number but JSON does not: booleans, strings."""
    if isinstance(value, (bool, str, bytes)):
        raise ValueError(f"expected a number, got {type(value).__name__} {value!r}")
    return value


def parameter_model(name: str, method: MethodSpec) -> type[BaseModel]:
    """The pydantic model of a method's request parameters (built once per method definition)."""
    return _parameter_model(name, method.model_dump_json())


def substitute(value: Any, parameters: dict[str, Any], results: dict[str, dict[str, Any]] | None = None) -> Any:
    """Replace ``$name`` by ``parameters[name]`` and ``@step.key`` by ``results[step][key]``, recursively."""
    if isinstance(value, str):
        if value.startswith("$") and value[1:] in parameters:
            return parameters[value[1:]]
        if value.startswith("@") and results is not None and "." in value:
            step, key = value[1:].split(".", 1)
            if step in results and key in results[step]:
                return results[step][key]
        return value
    if isinstance(value, dict):
        return {k: substitute(v, parameters, results) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, parameters, results) for v in value]
    return value


def _devices(step: StepSpec, drivers: dict[str, LineDriver]) -> Devices:
    return {
        role: [drivers[name] for name in names] if isinstance(names, list) else drivers[names]
        for role, names in step.devices.items()
    }


def resolve_steps(method: MethodSpec, parameters: dict[str, Any], drivers: dict[str, LineDriver]) -> list[ResolvedStep]:
    """Every step with its parameters substituted and validated; :class:`RequestError` if one is bad."""
    steps = []
    for step in method.steps:
        action = ACTIONS[step.action]
        try:
            params = action.Params.model_validate(substitute(step.params, parameters))
        except ValidationError as exc:
            raise RequestError(f"step {step.name!r} ({step.action}): {format_validation_error(exc)}") from None
        steps.append(ResolvedStep(step, action, params, _devices(step, drivers)))
    return steps


def validate_request(
    config: RigConfig, drivers: dict[str, LineDriver], method_name: str, parameters: dict[str, Any]
) -> tuple[dict[str, Any], list[ResolvedStep]]:
    """The validated parameters (defaults filled in) and the resolved steps of a request."""
    if not isinstance(method_name, str):
        raise RequestError(f"method: expected a method name (a string), got {type(method_name).__name__}")
    method = config.methods.get(method_name)
    if method is None:
        raise RequestError(f"method: unknown method {method_name!r}; this rig offers {sorted(config.methods)}")
    if not isinstance(parameters, dict):
        raise RequestError(f"parameters: expected an object, got {type(parameters).__name__}")
    names = [name for name in parameters if not isinstance(name, str)]
    if names:
        raise RequestError(f"parameters: a parameter name is a string, got {type(names[0]).__name__} {names[0]!r}")
    try:
        validated = parameter_model(method_name, method).model_validate(parameters).model_dump()
    except ValidationError as exc:
        raise RequestError(format_validation_error(exc, prefix="parameters")) from None
    steps = resolve_steps(method, validated, drivers)
    for step in steps:
        try:
            step.action.check(step.params, step.devices)
        except ValueError as exc:
            raise RequestError(f"step {step.spec.name!r} ({step.spec.action}): {exc}") from None
    return validated, steps
