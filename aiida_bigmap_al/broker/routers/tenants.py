"""``GET /tenants/``: who serves which methods."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..errors import responses
from ..schemas import TenantInfo
from .common import CurrentAccount, route

router = APIRouter(tags=["tenants"])


@route(router, "GET", "/tenants/", response_model=list[TenantInfo], responses=responses(401))
async def tenants(request: Request, account: CurrentAccount) -> list[dict]:
    """Every tenant: uuid, name, methods (``quantity/method``), limitations and contact person."""
    store = request.app.state.store
    return await store.run(store.tenants)
