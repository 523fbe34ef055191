"""HTTP API of the instrument server (FastAPI). The AiiDA transport and scheduler are written against it.

Its paths, the job object, the body of ``POST /jobs`` and the files of a job's workspace are
defined once, in :mod:`..protocol`, which both sides import; this docstring says what each
endpoint answers. Below, REQUEST_FILE, RESULT_FILE and RAW_FILE stand for the protocol's file names.

Start it with ``bigmap-al instrument serve RIG.yaml [--host 127.0.0.1] [--port N]``; it binds
127.0.0.1 unless told otherwise. All bodies are JSON unless said otherwise; all timestamps are
ISO 8601 UTC strings (``2025-01-31T12:00:00.000000+00:00``).

Authentication
--------------
Every endpoint except ``GET /health`` needs ``Authorization: Bearer <token>`` (the token from the
rig configuration, ``token`` or the environment variable named by ``token_env``). A missing or
wrong token gets **401** ``{"detail": "missing or invalid bearer token"}`` with
``WWW-Authenticate: Bearer``.

Errors
------
Every error answers ``{"detail": "<message naming the field or object>"}`` (a string, also for
malformed bodies): **400** bad path or name, **401** token, **403** path escapes the workspace
(symlink, resolves outside), **404** unknown job/workspace/file/device, **409** conflict with a
job's state, **413** upload too large (``max_upload_bytes``), **422** request that does not validate
(unknown method, unknown/missing parameter, value outside the rig's limits, infeasible on the
rig's devices, malformed body).

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
                                                       "created": true, "job_id": null}``
PUT      ``/workspaces/{workspace}``                   no body; name ``[A-Za-z0-9][A-Za-z0-9._-]{0,127}``.
                                                       -> 201 (created) or 200 (existed)
                                                       ``{"workspace", "created", "job_id"}``
GET      ``/workspaces/{workspace}``                   -> 200 ``{"workspace", "job_id": str|null,
                                                       "files": [file entry]}``
DELETE   ``/workspaces/{workspace}``                   -> 204; 409 while its job is queued/running
GET      ``/workspaces/{workspace}/files``             -> 200 ``[{"path": "sub/x.txt", "size": int,
                                                       "mtime": float}]`` (regular files, recursive)
PUT      ``/workspaces/{workspace}/files/{path}``      raw bytes (any content type), replaces the
                                                       file, creates sub-directories. -> 201 ``{"path",
                                                       "size"}``; 404 no workspace; 409 once a job was
                                                       submitted in the workspace (its files are then
                                                       read-only); 413 too large
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
                                                       404 no such workspace/file; 422 invalid request
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

import secrets
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from .. import protocol as api
from ..protocol import Job, JobState, JobSubmission
from .config import RigConfig
from .instrument import Conflict, Instrument, JobNotFound
from .validation import RequestError
from .workspace import PathRefused, WorkspaceNotFound

__all__ = ["create_app"]

_MEDIA_TYPES = {".json": "application/json", ".h5": "application/x-hdf5", ".hdf5": "application/x-hdf5"}


class FaultBody(BaseModel):
    """Body of ``POST /emulators/{device}/fault``."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["garbage", "silent", "none"]
    command: str | None = None
    count: int | None = Field(None, ge=1)


def _error(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status_code)


def _install_error_handlers(app: FastAPI) -> None:
    """Map the server's exceptions to status codes, with ``detail`` always a readable string."""

    @app.exception_handler(RequestValidationError)
    async def _invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'] if p != 'body') or 'body'}: {error['msg'].removeprefix('Value error, ')}"
            for error in jsonable_encoder(exc.errors())
        )
        return _error(422, f"invalid request: {problems}")

    handlers = {
        RequestError: lambda exc: _error(422, str(exc)),
        PathRefused: lambda exc: _error(exc.status, str(exc)),
        WorkspaceNotFound: lambda exc: _error(404, str(exc)),
        JobNotFound: lambda exc: _error(404, str(exc)),
        Conflict: lambda exc: _error(409, str(exc)),
    }
    for exc_type, make in handlers.items():
        app.add_exception_handler(exc_type, lambda request, exc, make=make: make(exc))


def _auth_dependency(token: str):
    bearer = HTTPBearer(auto_error=False)

    def require_token(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        """Constant-time comparison of the bearer token."""
        if credentials is None or not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "missing or invalid bearer token",
                headers={"WWW-Authenticate": api.AUTH_SCHEME},
            )

    return require_token


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
    _install_error_handlers(app)
    auth = [Depends(_auth_dependency(token))]

    @app.get(api.HEALTH_PATH)
    def health() -> dict[str, str]:
        return {"status": "ok", "instrument": config.instrument}

    @app.get(api.METHODS_PATH, dependencies=auth)
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

    _add_workspace_routes(app, rig, config, auth)
    _add_job_routes(app, rig, auth)
    _add_emulator_routes(app, rig, auth)
    return app


def _workspace_info(rig: Instrument, name: str, created: bool | None = None) -> dict[str, Any]:
    job = rig.workspace_job(name)
    info: dict[str, Any] = {"workspace": name, "job_id": job.id if job else None}
    if created is not None:
        info["created"] = created
    return info


def _add_workspace_routes(app: FastAPI, rig: Instrument, config: RigConfig, auth: list) -> None:
    @app.get(api.WORKSPACES_PATH, dependencies=auth)
    def list_workspaces() -> list[dict[str, Any]]:
        jobs = {job.workspace: job.id for job in reversed(rig.jobs())}  # the first job of each workspace wins
        return [{"workspace": name, "created_at": rig.workspaces.created_at(name), "job_id": jobs.get(name)}
                for name in rig.workspaces.names()]

    @app.post(api.WORKSPACES_PATH, dependencies=auth, status_code=201)
    def new_workspace() -> dict[str, Any]:
        name, created = rig.workspaces.create()
        return _workspace_info(rig, name, created)

    @app.put(api.WORKSPACE_PATH, dependencies=auth)
    def put_workspace(workspace: str, response: Response) -> dict[str, Any]:
        name, created = rig.workspaces.create(workspace)
        response.status_code = 201 if created else 200
        return _workspace_info(rig, name, created)

    @app.get(api.WORKSPACE_PATH, dependencies=auth)
    def get_workspace(workspace: str) -> dict[str, Any]:
        files = rig.workspaces.list(workspace)
        return {**_workspace_info(rig, workspace), "files": files}

    @app.delete(api.WORKSPACE_PATH, dependencies=auth, status_code=204)
    def delete_workspace(workspace: str) -> Response:
        rig.workspaces.directory(workspace)
        rig.check_workspace_removable(workspace)
        rig.workspaces.delete(workspace)
        return Response(status_code=204)

    @app.get(api.FILES_PATH, dependencies=auth)
    def list_files(workspace: str) -> list[dict[str, Any]]:
        return rig.workspaces.list(workspace)

    @app.put(api.FILE_PATH, dependencies=auth, status_code=201)
    async def put_file(workspace: str, path: str, request: Request) -> dict[str, Any]:
        rig.workspaces.resolve(workspace, path)  # refuse bad paths before reading the body
        rig.check_files_writable(workspace)
        data = await _read_limited(request, config.max_upload_bytes)
        rig.workspaces.write(workspace, path, data)
        return {"path": path, "size": len(data)}

    @app.get(api.FILE_PATH, dependencies=auth)
    def get_file(workspace: str, path: str) -> FileResponse:
        file = rig.workspaces.file(workspace, path)
        return FileResponse(file, media_type=_MEDIA_TYPES.get(file.suffix, "application/octet-stream"))

    @app.delete(api.FILE_PATH, dependencies=auth, status_code=204)
    def delete_file(workspace: str, path: str) -> Response:
        file = rig.workspaces.file(workspace, path)
        rig.check_files_writable(workspace)
        file.unlink()
        return Response(status_code=204)


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) more than ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"upload of {declared} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"upload exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _add_job_routes(app: FastAPI, rig: Instrument, auth: list) -> None:
    @app.post(api.JOBS_PATH, dependencies=auth, response_model=Job)
    def submit(body: JobSubmission, response: Response) -> Job:
        if body.request_file is not None:
            job, created = rig.submit_file(body.workspace, body.request_file)  # type: ignore[arg-type]
        else:
            job, created = rig.submit(body.method, body.parameters or {}, body.workspace)  # type: ignore[arg-type]
        response.status_code = 201 if created else 200
        return job

    @app.get(api.JOBS_PATH, dependencies=auth, response_model=list[Job])
    def list_jobs(state: JobState | None = None) -> list[Job]:
        return rig.jobs(state)

    @app.get(api.JOB_PATH, dependencies=auth, response_model=Job)
    def get_job(job_id: str) -> Job:
        return rig.job(job_id)

    @app.post(api.CANCEL_PATH, dependencies=auth, response_model=Job)
    def cancel(job_id: str, response: Response) -> Job:
        job = rig.cancel(job_id)
        response.status_code = 200 if job.terminal else 202
        return job


def _add_emulator_routes(app: FastAPI, rig: Instrument, auth: list) -> None:
    @app.post("/emulators/{device}/fault", dependencies=auth)
    def fault(device: str, body: FaultBody) -> dict[str, Any]:
        emulator = rig.emulators.get(device)
        if emulator is None:
            raise HTTPException(404, f"device {device!r} is not emulated on this server; emulated: {sorted(rig.emulators)}")
        emulator.device.misbehave(None if body.mode == "none" else body.mode, body.command, body.count)
        return {"device": device, **body.model_dump()}

