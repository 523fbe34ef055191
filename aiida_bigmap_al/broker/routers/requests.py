"""Requests: post one, read one, list the pending ones, reserve / release / retract one."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ..errors import invalid, responses
from ..schemas import Request as RequestBody
from ..schemas import RequestInfo, RequestStatus
from ..store import Store
from .common import CurrentAccount, IdempotencyKey, body_hash, json_response, route, store

router = APIRouter(tags=["requests"])
Stored = Annotated[Store, Depends(store)]


@route(router, "POST", "/requests/", response_model=str, responses=responses(401, 403, 413, 422))
async def post_request(body: RequestBody, request: Request, account: CurrentAccount, broker: Stored,
                       idempotency_key: IdempotencyKey = None) -> Response:
    """Post a measurement request; returns its UUID. ``tenant_uuid`` must be one of the caller's tenants.

    Each method's parameters must fit its capability's ``json_schema_specifications``
    (422 names the offending field). ``metadata`` (optional) is kept with the request, unchecked.
    """
    key, fingerprint = idempotency_key, await body_hash(request, idempotency_key)
    new = await broker.run(broker.create_request, account, body, key, fingerprint)
    return json_response(json.dumps(new))


@route(router, "GET", "/requests/{uuid}", response_model=RequestInfo, responses=responses(401, 404))
async def get_request(uuid: str, account: CurrentAccount, broker: Stored) -> Response:
    """A request and its status: ``{uuid, ctime, status, request}``."""
    return json_response(await broker.run(broker.get_request, uuid))


@route(router, "GET", "/pending_requests/", response_model=list[RequestInfo], responses=responses(401, 422))
async def pending_requests(account: CurrentAccount, broker: Stored, quantity: str | None = None,
                           method: str | None = None, limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
                           after: Annotated[str | None, Query(description="UUID of the last request seen")] = None,
                           ) -> Response:
    """The pending requests, oldest first, optionally of one quantity and method; ``limit`` at a time."""
    return json_response(await broker.run(broker.pending, quantity, method, limit, after))


@route(router, "POST", "/requests/{uuid}/update_status/", response_model=str,
       responses=responses(401, 403, 404, 409, 413, 422))
async def update_status(uuid: str, new_status: RequestStatus, account: CurrentAccount, broker: Stored,
                        request_id: str | None = None, status_change_message: str | None = None) -> Response:
    """``reserved`` claims a pending request for one of the caller's tenants registered for its methods
    (atomic: of two tenants claiming at once one gets 409); ``pending`` releases it; ``retracted``
    withdraws it (by the tenant that asked). ``request_id`` (FINALES2) must name the same request.
    """
    if request_id is not None and request_id != uuid:
        raise invalid(["query", "request_id"], f"request_id {request_id!r} is not the request of the path {uuid!r}")
    done = await broker.run(broker.update_request_status, account, uuid, new_status, status_change_message)
    return json_response(json.dumps(done))
