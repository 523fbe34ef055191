"""``GET /capabilities/``: what can be requested (the FINALES2 capability files as registered)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..errors import responses
from ..schemas import CapabilityInfo
from .common import CurrentAccount, route

router = APIRouter(tags=["capabilities"])


@route(router, "GET", "/capabilities/", response_model=list[CapabilityInfo], responses=responses(401, 422))
async def capabilities(request: Request, account: CurrentAccount, currently_available: bool = True) -> list[dict]:
    """Every registered capability (only the active ones unless ``currently_available=false``)."""
    found = request.app.state.store.capabilities.all()
    return [{**c.document, "is_active": c.is_active} for c in found if c.is_active or not currently_available]
