"""Results: post one (for a request, or unsolicited), read one, find a request's, amend or delete one."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..errors import invalid, responses
from ..schemas import Result, ResultInfo, ResultStatus
from ..store import Store
from .common import CurrentAccount, IdempotencyKey, body_hash, json_response, route, store

router = APIRouter(tags=["results"])
Stored = Annotated[Store, Depends(store)]


@route(router, "POST", "/results/", response_model=str, responses=responses(401, 403, 404, 409, 413, 422))
async def post_result(body: Result, request: Request, account: CurrentAccount, broker: Stored,
                      idempotency_key: IdempotencyKey = None) -> Response:
    """Post the result of request ``request_uuid``; returns its UUID and resolves the request.

    ``tenant_uuid`` must be the caller's tenant registered for ``quantity/method``; ``data`` must fit
    the capability's ``json_schema_result_output`` (422 names the offending field). A request
    reserved by another tenant, retracted, or already answered is refused with 409.
    """
    key, fingerprint = idempotency_key, await body_hash(request, idempotency_key)
    return json_response(json.dumps(await broker.run(broker.create_result, account, body, key, fingerprint)))


@route(router, "POST", "/results/post_unsolicited_result", response_model=str,
       responses=responses(401, 403, 413, 422))
async def post_unsolicited_result(body: Result, request: Request, account: CurrentAccount, broker: Stored,
                                  idempotency_key: IdempotencyKey = None) -> Response:
    """Post a result nobody asked for (``request_uuid`` empty): a resolved request is made for it."""
    key, fingerprint = idempotency_key, await body_hash(request, idempotency_key)
    return json_response(json.dumps(await broker.run(broker.create_unsolicited, account, body, key, fingerprint)))


@route(router, "GET", "/results/{uuid}", response_model=ResultInfo, responses=responses(401, 404))
async def get_result(uuid: str, account: CurrentAccount, broker: Stored) -> Response:
    """A result and its status: ``{uuid, ctime, status, result}``."""
    return json_response(await broker.run(broker.get_result, uuid))


@route(router, "GET", "/results_requested/{request_uuid}", response_model=ResultInfo | None,
       responses=responses(401, 404))
async def result_for_request(request_uuid: str, account: CurrentAccount, broker: Stored) -> Response:
    """The current result of a request, or ``null`` while it has none (FINALES2 clients poll this)."""
    return json_response(await broker.run(broker.result_for_request, request_uuid))


@route(router, "POST", "/results/{uuid}/update_status/", response_model=str,
       responses=responses(401, 403, 404, 409, 413, 422))
async def update_result_status(uuid: str, new_status: ResultStatus, account: CurrentAccount, broker: Stored,
                               result_id: str | None = None, status_change_message: str | None = None) -> Response:
    """Mark a result ``amended`` or ``deleted`` (by the tenant that posted it); its request may then get a new one."""
    if result_id is not None and result_id != uuid:
        raise invalid(["query", "result_id"], f"result_id {result_id!r} is not the result of the path {uuid!r}")
    done = await broker.run(broker.update_result_status, account, uuid, new_status, status_change_message)
    return json_response(json.dumps(done))
