"""The broker's refusals, each with its HTTP status; the routers turn them into ``{"detail": ...}`` answers."""

from __future__ import annotations

from typing import Any

__all__ = ["BrokerError", "Conflict", "Forbidden", "Invalid", "NotFound", "ERROR_RESPONSES"]


class BrokerError(Exception):
    status_code = 400

    def __init__(self, detail: Any):
        super().__init__(detail)
        self.detail = detail


class NotFound(BrokerError):
    status_code = 404


class Forbidden(BrokerError):
    status_code = 403


class Conflict(BrokerError):
    """The object is not in a state that allows the change (already reserved, resolved, retracted...)."""

    status_code = 409


class Invalid(BrokerError):
    """422 with a FastAPI-style list of ``{"loc": [...path of the offending field...], "msg", "type"}``."""

    status_code = 422


def invalid(loc: list, msg: str) -> Invalid:
    return Invalid([{"loc": loc, "msg": msg, "type": "value_error"}])


_DETAIL = {"content": {"application/json": {"schema": {
    "type": "object", "properties": {"detail": {}}, "required": ["detail"]}}}}

#: The OpenAPI description of every refusal, so that each route can document the ones it gives.
ERROR_RESPONSES: dict[int, dict[str, Any]] = {
    401: {"description": "missing, invalid or expired token", **_DETAIL},
    403: {"description": "the account may not do this (read-only, not its tenant, method not registered)", **_DETAIL},
    404: {"description": "no such object", **_DETAIL},
    409: {"description": "the object's status does not allow this", **_DETAIL},
    413: {"description": "body larger than the broker's limit (refused before authentication)", **_DETAIL},
    422: {"description": "body or parameters invalid; `detail` lists each offending field's path (`loc`)", **_DETAIL},
}


def responses(*codes: int) -> dict[int, dict[str, Any]]:
    return {code: ERROR_RESPONSES[code] for code in codes}
