"""The server's refusals: each exception's status, the ``{"detail": str}`` answer, and its OpenAPI entry.

One table (:data:`ERRORS`) says what every status means; the routes document the ones they can
give with :func:`responses`, so that the OpenAPI schema lists every answer the server really
returns, with ``detail`` a string (FastAPI's default documents 422 as a list of errors, which this
server never sends).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match

from .instrument import Conflict, JobNotFound
from .validation import RequestError
from .workspace import PathRefused, QuotaExceeded, WorkspaceNotFound

__all__ = ["ERRORS", "ErrorDetail", "install_error_handlers", "responses"]


class ErrorDetail(BaseModel):
    """Every error answer: a readable message naming the field or object."""

    detail: str


#: What each error status means on this server.
ERRORS: dict[int, str] = {
    400: "bad workspace name or file path, or a body that cannot be decoded",
    401: "missing or invalid bearer token (checked before the body is read)",
    403: "the path leaves the workspace (symbolic link, resolves outside)",
    404: "no such workspace, file, job or emulated device",
    409: "conflicts with a job's state (its workspace's files are read-only once it was submitted)",
    413: "body larger than the limit (max_upload_bytes for an upload, 64 KiB otherwise)",
    422: "request that does not validate; detail names the field",
    507: "quota reached (max_workspaces, max_files_per_workspace)",
}
#: The answers of every route but ``/health``.
AUTHENTICATED = (401, 413)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route that can refuse with ``codes`` (and 401, 413)."""
    return {code: {"model": ErrorDetail, "description": ERRORS[code]} for code in sorted({*AUTHENTICATED, *codes})}


def _error(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status_code)


def install_error_handlers(app: FastAPI) -> None:
    """Map the server's exceptions to status codes, with ``detail`` always a readable string."""

    @app.exception_handler(RequestValidationError)
    async def _invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'] if p != 'body') or 'body'}: {error['msg'].removeprefix('Value error, ')}"
            for error in jsonable_encoder(exc.errors())
        )
        return _error(422, f"invalid request: {problems}")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        """FastAPI's own answer, but a 405 lists in ``Allow`` every method of the path, not one route's."""
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            methods = set()
            for route in app.router.routes:
                if route.matches(request.scope)[0] is not Match.NONE:
                    methods |= getattr(route, "methods", None) or set()
            headers["Allow"] = ", ".join(sorted(methods))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    handlers = {
        RequestError: lambda exc: _error(422, str(exc)),
        PathRefused: lambda exc: _error(exc.status, str(exc)),
        WorkspaceNotFound: lambda exc: _error(404, str(exc)),
        JobNotFound: lambda exc: _error(404, str(exc)),
        Conflict: lambda exc: _error(409, str(exc)),
        QuotaExceeded: lambda exc: _error(507, str(exc)),
    }
    for exc_type, make in handlers.items():
        app.add_exception_handler(exc_type, lambda request, exc, make=make: make(exc))
