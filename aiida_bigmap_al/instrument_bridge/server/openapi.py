"""The OpenAPI schema of one rig's server: what FastAPI derives, made as precise as the server's checks.

A client (or schemathesis) that follows the schema should never be refused for the shape of its
request. FastAPI alone cannot say three things the server enforces, so they are added here:

* the names in paths: a workspace name matches :data:`.workspace.NAME_PATTERN` and a file path
  :data:`FILE_PATTERN` (relative, ``/``-separated, no empty, ``.`` or ``..`` component, no
  backslash or NUL), as :class:`.workspace.Workspaces` checks them (400 otherwise);
* ``POST /jobs`` takes one of two forms, and an inline request names one of *this rig's* methods
  with its parameters, typed and within the rig's limits (the same models as :mod:`.validation`);
* a file upload is raw bytes, and a download is raw bytes of the file's type.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .. import protocol as api
from .config import RigConfig
from .validation import parameter_model
from .workspace import NAME_PATTERN

__all__ = ["FILE_PATTERN", "install_openapi"]

_CHAR = r"[^/\\\x00]"
#: One path component: not empty, not ``.`` nor ``..`` (a leading dot is fine otherwise).
_COMPONENT = rf"(?:[^/\\\x00.]{_CHAR}*|\.[^/\\\x00.]{_CHAR}*|\.\.{_CHAR}+)"
#: A file path inside a workspace, as the server accepts it.
FILE_PATTERN = rf"^{_COMPONENT}(?:/{_COMPONENT})*$"
_PATH_PATTERNS = {"workspace": NAME_PATTERN, "path": FILE_PATTERN}
_BYTES = {"schema": {"type": "string", "format": "binary"}}


def install_openapi(app: FastAPI, config: RigConfig) -> None:
    """Serve the precise schema at ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            _refine(schema, config)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _refine(schema: dict[str, Any], config: RigConfig) -> None:
    for operations in schema["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in _PATH_PATTERNS:
                    parameter["schema"]["pattern"] = _PATH_PATTERNS[parameter["name"]]
    file_path = schema["paths"][api.FILE_PATH.replace(":path", "")]
    file_path["put"]["requestBody"] = {"required": False, "content": {"application/octet-stream": _BYTES}}
    file_path["get"]["responses"]["200"]["content"] = {"*/*": _BYTES}
    body = schema["paths"][api.JOBS_PATH]["post"]["requestBody"]["content"]["application/json"]
    body["schema"] = _submission(config)


def _submission(config: RigConfig) -> dict[str, Any]:
    """Body of ``POST /jobs``: an inline request of one of the rig's methods, or a request file."""
    workspace, null = {"type": "string", "pattern": NAME_PATTERN}, {"type": "null"}  # null: not given
    inline = []
    for name, method in config.methods.items():
        parameters = parameter_model(name, method).model_json_schema()
        required = bool(parameters.get("required"))
        inline.append({
            "type": "object", "additionalProperties": False,
            "required": ["method", "parameters"] if required else ["method"],
            "properties": {"method": {"const": name}, "parameters": parameters if required else {"anyOf": [
                parameters, null]}, "workspace": {"anyOf": [workspace, null]}, "request_file": null},
        })
    from_file = {
        "type": "object", "additionalProperties": False, "required": ["workspace", "request_file"],
        "properties": {"workspace": workspace, "request_file": {"type": "string", "pattern": FILE_PATTERN},
                       "method": null, "parameters": null},
    }
    return {"oneOf": [*inline, from_file], "title": "JobSubmission",
            "description": "an inline request of one of this rig's methods, or a request file in a workspace"}
