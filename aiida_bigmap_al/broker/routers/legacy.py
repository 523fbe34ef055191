"""The older FINALES endpoints: a ``Measurement`` posted pending is a request, posted done a result.

A pending measurement becomes a request of quantity ``measurement`` whose method is the
measurement's ``kind`` (``experiment``, ``simulation``, ``test``); a done one (with ``fom_data``)
becomes the result of request ``request_id``, or an unsolicited result without it. So the older
clients and the FINALES2 ones see the same requests.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from ...schemas import Measurement
from ..admin import LEGACY_QUANTITY
from ..errors import Forbidden, responses
from ..schemas import LegacyPosted
from ..schemas import Request as RequestBody
from ..schemas import Result
from ..store import Store
from .common import CurrentAccount, IdempotencyKey, body_hash, route, store

router = APIRouter(prefix="/api/broker", tags=["FINALES (older API)"])
Stored = Annotated[Store, Depends(store)]


@route(router, "POST", "/post/measurement", response_model=LegacyPosted,
       responses=responses(401, 403, 404, 409, 413, 422))
async def post_measurement(measurement: Measurement, request: Request, account: CurrentAccount, broker: Stored,
                           request_id: str | None = None, idempotency_key: IdempotencyKey = None) -> LegacyPosted:
    """Post a ``Measurement``: ``pending=true`` asks for it, otherwise it answers ``request_id`` (if given)."""
    method = measurement.kind.origin
    document = {method: measurement.model_dump(mode="json")}
    fingerprint = await body_hash(request, idempotency_key)
    if measurement.pending:
        tenant = next(iter(account.tenants), None)
        if tenant is None:
            raise Forbidden(f"account {account.name!r} has no tenant to post requests as")
        body = RequestBody(quantity=LEGACY_QUANTITY, methods=[method], parameters=document, tenant_uuid=tenant)
        new = await broker.run(broker.create_request, account, body, idempotency_key, fingerprint)
        return LegacyPosted(message="measurement requested", id=new)
    tenant = account.tenant_serving([f"{LEGACY_QUANTITY}/{method}"])
    if tenant is None:
        raise Forbidden(f"none of account {account.name!r}'s tenants is registered for {LEGACY_QUANTITY}/{method}")
    result = Result(data=document[method], quantity=LEGACY_QUANTITY, method=[method], parameters=document,
                    tenant_uuid=tenant, request_uuid=request_id or "")
    if request_id:
        new = await broker.run(broker.create_result, account, result, idempotency_key, fingerprint)
    else:
        new = await broker.run(broker.create_unsolicited, account, result, idempotency_key, fingerprint)
    return LegacyPosted(message="measurement posted", id=new)


@route(router, "GET", "/get/pending", response_model=dict[str, Measurement], responses=responses(401, 422))
async def get_pending(account: CurrentAccount, broker: Stored, kind: str | None = None) -> dict[str, Any]:
    """The pending measurements ``{request uuid: Measurement}``, optionally of one kind."""
    listed = json.loads(await broker.run(broker.pending, LEGACY_QUANTITY, kind, 10000))
    return {item["uuid"]: next(iter(item["request"]["parameters"].values())) for item in listed}
