"""The broker's FastAPI application: routers, the body limit, the refusals as ``{"detail": ...}``.

Start it with ``bigmap-al broker serve`` (see ``cli/cmd_broker.py``), which runs uvicorn with one or
more worker processes on :func:`app_from_env`. The two hot writes take a fast path in front of the
routes (:mod:`.fastpath`). The endpoints are ``async`` and call the store directly: each database
call is one short indexed statement, cheaper than a hop to a thread pool,
and one event loop per process means at most one writer per process queues for SQLite's lock.
"""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .admin import open_database
from .auth import Accounts, AuthError
from .capabilities import CapabilityCache
from .errors import BrokerError
from .fastpath import FastPath
from .limits import BodyLimit
from .routers import capabilities, legacy, page, requests, results, tenants, user_management
from .settings import Settings
from .store import Store

__all__ = ["app_from_env", "create_app"]


def create_app(settings: Settings) -> FastAPI:
    database = open_database(settings.db, background_checkpoints=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # What exists once the app is built (modules, the app, pydantic's schemas) lives as long as
        # the process: kept out of the garbage collector's full passes, which would otherwise walk
        # it all, some milliseconds in the middle of a request.
        gc.freeze()
        with database.checkpointing():
            yield
        database.dispose()

    app = FastAPI(title="aiida-bigmap-al broker", version="1",
                  description="FINALES2-compatible broker of measurement requests and results. Log in at "
                              "`POST /user_management/authenticate`; every other endpoint needs the bearer token.",
                  redirect_slashes=False, lifespan=lifespan,
                  # the broker sets up no OpenTelemetry; FastAPI would otherwise look for it on every call
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.store = Store(database, CapabilityCache(database))
    app.state.accounts = Accounts(database, settings.secret, settings.token_seconds)
    app.add_middleware(FastPath, state=app.state)
    app.add_middleware(BodyLimit, max_body=settings.max_body)  # added last: runs first
    for module in (user_management, requests, results, capabilities, tenants, legacy, page):
        app.include_router(module.router)

    @app.exception_handler(BrokerError)
    async def _refused(request: Request, error: BrokerError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

    @app.exception_handler(AuthError)
    async def _unauthenticated(request: Request, error: AuthError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})

    return app


def app_from_env() -> FastAPI:
    """The app of the settings in the environment (how every uvicorn worker process builds it)."""
    return create_app(Settings.from_env())
