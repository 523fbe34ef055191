"""The routes of the instrument server's HTTP API; :mod:`.app` documents what each one answers.

Each route is a thin layer over :class:`.instrument.Instrument`; its refusals are exceptions that
:mod:`.errors` turns into ``{"detail": str}`` answers, and each route lists them (``responses``)
so that the OpenAPI schema documents every status it can return.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from .. import protocol as api
from ..protocol import Job, JobState, JobSubmission
from .errors import responses
from .instrument import Instrument

__all__ = ["FaultBody", "add_emulator_routes", "add_job_routes", "add_workspace_routes"]

_MEDIA_TYPES = {".json": "application/json", ".h5": "application/x-hdf5", ".hdf5": "application/x-hdf5"}
#: The refusals of any route that names a workspace (and maybe a file) in its path.
_NAMED = (400, 403, 404)


class FaultBody(BaseModel):
    """Body of ``POST /emulators/{device}/fault``."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["garbage", "silent", "none"]
    command: str | None = None
    count: int | None = Field(None, ge=1)


def _workspace_info(rig: Instrument, name: str, created: bool | None = None) -> dict[str, Any]:
    job = rig.workspace_job(name)
    info: dict[str, Any] = {"workspace": name, "job_id": job.id if job else None}
    if created is not None:
        info["created"] = created
    return info


def add_workspace_routes(app: FastAPI, rig: Instrument, auth: list) -> None:
    @app.get(api.WORKSPACES_PATH, dependencies=auth, responses=responses())
    def list_workspaces() -> list[dict[str, Any]]:
        jobs = {job.workspace: job.id for job in reversed(rig.jobs())}  # the first job of each workspace wins
        return [{"workspace": name, "created_at": rig.workspaces.created_at(name), "job_id": jobs.get(name)}
                for name in rig.workspaces.names()]

    @app.post(api.WORKSPACES_PATH, dependencies=auth, status_code=201, responses=responses(507))
    def new_workspace() -> dict[str, Any]:
        name, created = rig.workspaces.create()
        return _workspace_info(rig, name, created)

    @app.put(api.WORKSPACE_PATH, dependencies=auth, status_code=201,
             responses={200: {"description": "the workspace existed"}, **responses(400, 403, 507)})
    def put_workspace(workspace: str, response: Response) -> dict[str, Any]:
        name, created = rig.workspaces.create(workspace)
        response.status_code = 201 if created else 200
        return _workspace_info(rig, name, created)

    @app.get(api.WORKSPACE_PATH, dependencies=auth, responses=responses(*_NAMED))
    def get_workspace(workspace: str) -> dict[str, Any]:
        files = rig.workspaces.list(workspace)
        return {**_workspace_info(rig, workspace), "files": files}

    @app.delete(api.WORKSPACE_PATH, dependencies=auth, status_code=204, responses=responses(*_NAMED, 409))
    def delete_workspace(workspace: str) -> Response:
        rig.workspaces.directory(workspace)
        rig.check_workspace_removable(workspace)
        rig.workspaces.delete(workspace)
        return Response(status_code=204)

    _add_file_routes(app, rig, auth)


def _add_file_routes(app: FastAPI, rig: Instrument, auth: list) -> None:
    @app.get(api.FILES_PATH, dependencies=auth, responses=responses(*_NAMED))
    def list_files(workspace: str) -> list[dict[str, Any]]:
        return rig.workspaces.list(workspace)

    @app.put(api.FILE_PATH, dependencies=auth, status_code=201, responses=responses(*_NAMED, 409, 413, 507))
    async def put_file(workspace: str, path: str, request: Request) -> dict[str, Any]:
        """Stream the body to a hidden file, then check again and rename it into place (see ``commit_upload``)."""
        rig.workspaces.resolve(workspace, path)  # refuse bad paths before reading the body
        rig.check_files_writable(workspace)
        size = 0
        with rig.workspaces.upload(workspace, path) as partial:
            with open(partial, "wb") as handle:
                async for chunk in request.stream():  # the gate refuses (413) past max_upload_bytes
                    handle.write(chunk)
                    size += len(chunk)
            rig.commit_upload(workspace, path, partial)
        return {"path": path, "size": size}

    @app.get(api.FILE_PATH, dependencies=auth, response_class=FileResponse, responses=responses(*_NAMED))
    def get_file(workspace: str, path: str) -> FileResponse:
        file = rig.workspaces.file(workspace, path)
        return FileResponse(file, media_type=_MEDIA_TYPES.get(file.suffix, "application/octet-stream"))

    @app.delete(api.FILE_PATH, dependencies=auth, status_code=204, responses=responses(*_NAMED, 409))
    def delete_file(workspace: str, path: str) -> Response:
        file = rig.workspaces.file(workspace, path)
        rig.check_files_writable(workspace)
        file.unlink()
        return Response(status_code=204)


def add_job_routes(app: FastAPI, rig: Instrument, auth: list) -> None:
    @app.post(api.JOBS_PATH, dependencies=auth, response_model=Job, status_code=201,
              responses={200: {"model": Job, "description": "the same request was already submitted in that "
                                                            "workspace: its job"},
                         **responses(*_NAMED, 409, 422, 507)})
    def submit(body: JobSubmission, response: Response) -> Job:
        if body.request_file is not None:
            job, created = rig.submit_file(body.workspace, body.request_file)  # type: ignore[arg-type]
        else:
            job, created = rig.submit(body.method, body.parameters or {}, body.workspace)  # type: ignore[arg-type]
        response.status_code = 201 if created else 200
        return job

    @app.get(api.JOBS_PATH, dependencies=auth, response_model=list[Job], responses=responses(422))
    def list_jobs(state: JobState | None = None) -> list[Job]:
        return rig.jobs(state)

    @app.get(api.JOB_PATH, dependencies=auth, response_model=Job, responses=responses(404))
    def get_job(job_id: str) -> Job:
        return rig.job(job_id)

    @app.post(api.CANCEL_PATH, dependencies=auth, response_model=Job,
              responses={202: {"model": Job, "description": "running: cancelled at its next device command"},
                         **responses(404, 409)})
    def cancel(job_id: str, response: Response) -> Job:
        job = rig.cancel(job_id)
        response.status_code = 200 if job.terminal else 202
        return job


def add_emulator_routes(app: FastAPI, rig: Instrument, auth: list) -> None:
    @app.post("/emulators/{device}/fault", dependencies=auth, responses=responses(400, 404, 422))
    def fault(device: str, body: FaultBody) -> dict[str, Any]:
        emulator = rig.emulators.get(device)
        if emulator is None:
            raise HTTPException(404, f"device {device!r} is not emulated on this server; emulated: {sorted(rig.emulators)}")
        emulator.device.misbehave(None if body.mode == "none" else body.mode, body.command, body.count)
        return {"device": device, **body.model_dump()}
