"""HTTP API of the instrument server (FastAPI). The AiiDA transport and scheduler are written against it.

Its paths, the job object, the body of ``POST /jobs`` and the files of a job's workspace are
defined once, in :mod:`..protocol`, which both sides import; this docstring says what each
endpoint answers. Below, REQUEST_FILE, RESULT_FILE and RAW_FILE stand for the protocol's file names.

Start it with ``bigmap-al instrument serve RIG.yaml [--host 127.0.0.1] [--port N]``; it binds
127.0.0.1 unless told otherwise. With ``tls_certfile`` and ``tls_keyfile`` in the rig file it
serves https (uvicorn); any other interface than loopback without TLS is refused unless
``--insecure-http`` is given, because the token would cross the network in clear. All bodies are
JSON unless said otherwise; all timestamps are ISO 8601 UTC strings
(``2025-01-31T12:00:00.000000+00:00``). The OpenAPI schema is served at ``/openapi.json``.

Authentication
--------------
Every endpoint except ``GET /health`` (and ``/openapi.json``, ``/docs``, ``/redoc``) needs
``Authorization: Bearer <token>`` (the token from the rig configuration, ``token`` or the
environment variable named by ``token_env``). It is checked on the headers, before any of the body
is read (:mod:`.gate`): a missing or wrong token gets **401** ``{"detail": "missing or invalid
bearer token"}`` with ``WWW-Authenticate: Bearer`` and ``Connection: close``.

Errors
------
Every error answers ``{"detail": "<message naming the field or object>"}`` (a string, also for
malformed bodies): **400** bad path or name (or a body that cannot be decoded), **401** token,
**403** path escapes the workspace (symlink, resolves outside), **404** unknown
job/workspace/file/device, **409** conflict with a job's state, **413** body too large
(``max_upload_bytes`` for an upload, 64 KiB for any other body; refused on ``Content-Length`` at
once, a chunked body as soon as it passes the limit), **422** request that does not validate
(unknown method, unknown/missing parameter, a value of the wrong type (``true`` or ``"1"`` for a
number), outside the rig's limits or infeasible on the rig's devices, malformed body), **507**
quota reached (``max_workspaces``, default 10000; ``max_files_per_workspace``, default 100). The
OpenAPI schema lists them per endpoint, and describes this rig's methods in the body of
``POST /jobs`` (:mod:`.openapi`); a 405 lists every method of the path in ``Allow``.

Job
---
The job object returned by the job endpoints::

    {"id": "<32 hex>", "method": "conductivity", "parameters": {...validated, defaults filled...},
     "workspace": "<name>", "state": "queued|running|done|failed|cancelled", "message": "<why it
     failed or was cancelled; empty when done>", "created": ISO, "started": ISO|null,
     "finished": ISO|null, "current_step": "<step name>"|null, "cancel_requested": false}

States: ``queued -> running -> done | failed | cancelled`` and ``queued -> cancelled``. Jobs run
one at a time, in submission order. ``done``, ``failed`` and ``cancelled`` are final. A job that
was ``running`` when the server stopped is ``failed`` with message ``"interrupted by server
restart"`` after the restart; it is never run again. When a job reaches a final state its
workspace holds RESULT_FILE (always) and RAW_FILE (if it started); see
:class:`..protocol.JobResult` and :mod:`.hdf5log` for their content.

Endpoints
---------
=======  ============================================  =================================================
method   path                                          body -> response
=======  ============================================  =================================================
GET      ``/health``                                   no auth. -> 200 ``{"status": "ok", "instrument":
                                                       "<name>"}``
GET      ``/methods``                                  -> 200 ``{"<method>": {"description": str,
                                                       "parameters": {"<name>": {"type": "number|
                                                       integer", "min", "max", "default", "unit",
                                                       "description"}}, "steps": [{"name", "action",
                                                       "always"}], "result": {template}}}``
GET      ``/workspaces``                               -> 200 ``[{"workspace": "<name>", "created_at":
                                                       ISO|null, "job_id": str|null}]`` sorted by name;
                                                       ``created_at`` is null for a workspace whose
                                                       creation was not recorded (made by hand or by an
                                                       older server), ``job_id`` the job submitted from
                                                       it (null: none was)
POST     ``/workspaces``                               no body. -> 201 ``{"workspace": "<new name>",
                                                       "created": true, "job_id": null}``; 507 quota
PUT      ``/workspaces/{workspace}``                   no body; name ``[A-Za-z0-9][A-Za-z0-9._-]{0,127}``.
                                                       -> 201 (created) or 200 (existed)
                                                       ``{"workspace", "created", "job_id"}``; 507 quota
GET      ``/workspaces/{workspace}``                   -> 200 ``{"workspace", "job_id": str|null,
                                                       "files": [file entry]}``
DELETE   ``/workspaces/{workspace}``                   -> 204; 409 while its job is queued/running
GET      ``/workspaces/{workspace}/files``             -> 200 ``[{"path": "sub/x.txt", "size": int,
                                                       "mtime": float}]`` (regular files, recursive)
PUT      ``/workspaces/{workspace}/files/{path}``      raw bytes (any content type), replaces the
                                                       file, creates sub-directories. -> 201 ``{"path",
                                                       "size"}``; 404 no workspace; 409 once a job was
                                                       submitted in the workspace (its files are then
                                                       read-only; checked again when the upload is
                                                       complete, before it replaces the file); 413 too
                                                       large; 507 file quota
GET      ``/workspaces/{workspace}/files/{path}``      -> 200 raw bytes (``application/json`` for
                                                       ``.json``, ``application/x-hdf5`` for ``.h5``)
DELETE   ``/workspaces/{workspace}/files/{path}``      -> 204; 409 once a job was submitted in the workspace
POST     ``/jobs``                                     either ``{"method": str, "parameters": {...},
                                                       "workspace": str (optional)}`` or
                                                       ``{"workspace": str, "request_file":
                                                       REQUEST_FILE}`` (the file holds ``{"method",
                                                       "parameters"}``). -> 201 job (queued); 200 job
                                                       when the same request was already submitted in
                                                       that workspace (idempotent retry: not measured
                                                       twice); 409 a different job owns the workspace;
                                                       404 no such workspace/file; 422 invalid request;
                                                       507 quota (no workspace given: a new one is made)
GET      ``/jobs``                                     query ``state`` (optional). -> 200 ``[job]`` in
                                                       submission order
GET      ``/jobs/{job_id}``                            -> 200 job; 404
POST     ``/jobs/{job_id}/cancel``                     no body. -> 200 job (``cancelled`` if it was
                                                       queued); 202 job (``running``,
                                                       ``cancel_requested: true``; it becomes
                                                       ``cancelled`` at its next device command, after
                                                       its ``always`` clean-up steps); 409 already final
POST     ``/emulators/{device}/fault``                 emulated devices only (fault tests and demos):
                                                       ``{"mode": "garbage|silent|none", "command":
                                                       "MEASURE"|null, "count": int|null}``. -> 200
                                                       ``{"device", "mode", "command", "count"}``; 404
                                                       if the device is not emulated
=======  ============================================  =================================================

File paths are relative to the workspace, ``/``-separated; ``..``, empty components, absolute
paths and backslashes are refused with 400, paths through symbolic links or resolving outside the
workspace with 403 (URL-encode the path as usual; the check applies to the decoded path).

Typical client (what the AiiDA side does)::

    PUT  /workspaces/<calc uuid>                         create the job's workspace
    PUT  /workspaces/<calc uuid>/files/REQUEST_FILE      {"method": ..., "parameters": {...}}
    POST /jobs {"workspace": "<calc uuid>", "request_file": REQUEST_FILE}   -> job id
    GET  /jobs/<id>   until state is done | failed | cancelled
    GET  /workspaces/<calc uuid>/files/RESULT_FILE, .../RAW_FILE
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.security import HTTPBearer

from .. import protocol as api
from .config import RigConfig
from .errors import install_error_handlers, responses
from .gate import Gate
from .instrument import Instrument
from .openapi import install_openapi
from .routes import add_emulator_routes, add_job_routes, add_workspace_routes

__all__ = ["create_app"]

#: Documents the bearer token in the OpenAPI schema; the token itself is checked by :class:`.gate.Gate`,
#: before the body is read (a dependency runs only after FastAPI has read and parsed the body).
_BEARER = HTTPBearer(auto_error=False, description="the rig's token (`token` or `token_env` in the rig file)")


def create_app(config: RigConfig, instrument: Instrument | None = None) -> FastAPI:
    """The FastAPI application of one instrument.

    Without ``instrument`` the app makes its own, started and stopped with the app (lifespan);
    with one, the caller starts and stops it (the CLI does, to report a device that does not
    answer before the server binds its port).
    """
    token = config.resolve_token()
    owned = instrument is None
    rig = Instrument(config) if instrument is None else instrument

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if owned:
            rig.start()
        try:
            yield
        finally:
            if owned:
                rig.stop()

    app = FastAPI(title=f"bigmap-al instrument server: {config.instrument}", lifespan=lifespan)
    app.state.instrument = rig
    app.add_middleware(Gate, token=token, max_upload_bytes=config.max_upload_bytes)
    install_error_handlers(app)
    auth = [Depends(_BEARER)]

    @app.get(api.HEALTH_PATH)
    def health() -> dict[str, str]:
        return {"status": "ok", "instrument": config.instrument}

    @app.get(api.METHODS_PATH, dependencies=auth, responses=responses())
    def methods() -> dict[str, Any]:
        return {
            name: {
                "description": method.description,
                "parameters": {p: spec.model_dump() for p, spec in method.parameters.items()},
                "steps": [{"name": s.name, "action": s.action, "always": s.always} for s in method.steps],
                "result": method.result,
            }
            for name, method in config.methods.items()
        }

    add_workspace_routes(app, rig, auth)
    add_job_routes(app, rig, auth)
    add_emulator_routes(app, rig, auth)
    install_openapi(app, config)
    return app
