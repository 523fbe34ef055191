"""The page for people in the loop (``GET /page``) and ``GET /user_management/me``, which the page needs.

A person serves requests the way a tenant program does, through the same REST API: the page is
static HTML and JavaScript that logs in with the OAuth2 password flow and keeps the token in the
page's memory only (never in storage or a cookie, so nothing outlives the tab and no other site
can make the browser send it). ``/me`` tells the page which tenants and methods the account has.
"""

from __future__ import annotations

import pathlib

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ..errors import responses
from ..schemas import AccountInfo, TenantMethods
from .common import CurrentAccount, route

router = APIRouter(tags=["user management"])
WEB = pathlib.Path(__file__).resolve().parents[1] / "web"
#: The page may load only its own script and talk only to its own server.
HEADERS = {"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                                      "connect-src 'self'; form-action 'none'; frame-ancestors 'none'",
           "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


@route(router, "GET", "/user_management/me", response_model=AccountInfo, responses=responses(401))
async def me(account: CurrentAccount) -> AccountInfo:
    """The calling account: its name, whether it is read-only, its tenants and the methods each serves."""
    tenants = [TenantMethods(uuid=uuid, methods=sorted(methods)) for uuid, methods in account.tenants.items()]
    return AccountInfo(name=account.name, read_only=account.read_only, tenants=tenants)


def _file(name: str, media_type: str) -> FileResponse:
    return FileResponse(WEB / name, media_type=media_type, headers=HEADERS)


@router.get("/page", include_in_schema=False)
@router.get("/page/", include_in_schema=False)
async def page() -> FileResponse:
    return _file("page.html", "text/html; charset=utf-8")


@router.get("/page/page.js", include_in_schema=False)
async def script() -> FileResponse:
    return _file("page.js", "text/javascript; charset=utf-8")


@router.get("/page/page.css", include_in_schema=False)
async def style() -> FileResponse:
    return _file("page.css", "text/css; charset=utf-8")
