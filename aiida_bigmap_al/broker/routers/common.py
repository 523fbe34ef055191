"""What every router uses: the calling account, the store, the idempotency key and both path spellings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response
from fastapi.security import OAuth2PasswordBearer

from ..auth import Account, AuthError
from ..store import Store, fingerprint

__all__ = ["AUTH_PATH", "CurrentAccount", "IdempotencyKey", "json_response", "route", "store", "body_hash"]

AUTH_PATH = "/user_management/authenticate"
_bearer = OAuth2PasswordBearer(tokenUrl=AUTH_PATH, auto_error=False)


async def current_account(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Account:
    """The account of the bearer token (401 without a valid one); async: no thread hop per call."""
    if not token:
        raise AuthError("not authenticated: log in at " + AUTH_PATH)
    return request.app.state.accounts.from_token(token)


CurrentAccount = Annotated[Account, Depends(current_account)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                              description="a retried POST with the same key creates nothing new")]


async def store(request: Request) -> Store:
    """Async, like every dependency here: FastAPI runs a plain ``def`` dependency in a worker thread."""
    return request.app.state.store


async def body_hash(request: Request, key: str | None) -> str:
    """The body's fingerprint, needed only to compare a retried POST with the first one."""
    return fingerprint(await request.body()) if key is not None else ""


def json_response(text: str, status_code: int = 200) -> Response:
    """JSON already serialized by the store (no second encoding)."""
    return Response(content=text, status_code=status_code, media_type="application/json")


def route(router: APIRouter, method: str, path: str, **kwargs):
    """Register ``path`` with and without its trailing slash (FINALES2 tenants use both spellings)."""
    def decorate(func):
        router.add_api_route(path, func, methods=[method], **kwargs)
        other = path[:-1] if path.endswith("/") else path + "/"
        router.add_api_route(other, func, methods=[method], include_in_schema=False, **kwargs)
        return func

    return decorate
