"""The bodies of the broker's REST API, in the FINALES2 shape, and the life cycle of requests and results.

FINALES2 tenants are written against these names, so they are kept as FINALES2 has them
(``methods`` of a request is a list, ``method`` of a result a list of one). The one addition is
an optional ``metadata`` object, which the capability's schema does not see: the AiiDA side puts
its process UUID there, so that a broker request leads back into the provenance graph.

Request and result statuses map onto the job states of the instrument bridge
(:data:`JOB_STATE`), whose wire protocol the broker shares with the instrument server.
"""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..instrument_bridge.protocol import JobState

__all__ = [
    "JOB_STATE",
    "CapabilityInfo",
    "LegacyPosted",
    "Request",
    "RequestInfo",
    "RequestStatus",
    "Result",
    "ResultInfo",
    "ResultStatus",
    "TenantInfo",
    "Token",
    "AccountInfo",
    "TenantMethods",
]

Name = Field(min_length=1, max_length=200)


class RequestStatus(str, enum.Enum):
    """``pending -> reserved -> resolved | retracted``; a reserved request can be released to pending."""

    PENDING = "pending"
    RESERVED = "reserved"
    RESOLVED = "resolved"
    RETRACTED = "retracted"


class ResultStatus(str, enum.Enum):
    """``original`` when posted; ``amended`` (superseded by a correction) or ``deleted`` later."""

    ORIGINAL = "original"
    AMENDED = "amended"
    DELETED = "deleted"


#: Where a broker request stands, in the instrument bridge's terms (one vocabulary for AiiDA's scheduler).
JOB_STATE: dict[RequestStatus, JobState] = {
    RequestStatus.PENDING: JobState.QUEUED,
    RequestStatus.RESERVED: JobState.RUNNING,
    RequestStatus.RESOLVED: JobState.DONE,
    RequestStatus.RETRACTED: JobState.CANCELLED,
}


class _Body(BaseModel):
    """FINALES2 bodies: unknown fields are ignored (newer clients), NaN and infinities are refused."""

    model_config = ConfigDict(allow_inf_nan=False)


class Request(_Body):
    """A measurement request: one quantity, the methods that may serve it and their parameters."""

    quantity: str = Name
    methods: list[str] = Field(min_length=1, max_length=50)
    parameters: dict[str, dict[str, Any]]
    tenant_uuid: str = Field(min_length=1, max_length=64)
    metadata: dict[str, Any] | None = None


class RequestInfo(BaseModel):
    """``GET /requests/{uuid}`` and each item of ``GET /pending_requests/``."""

    uuid: str
    ctime: str
    status: RequestStatus
    request: Request
    #: ``GET /requests/{uuid}`` only: the tenant that reserved or resolved it (``None``: nobody yet).
    reserved_by: str | None = None


class Result(_Body):
    """A result: its data (checked against the capability's result schema) and what was measured."""

    data: dict[str, Any]
    quantity: str = Name
    method: list[str] = Field(min_length=1, max_length=1)
    parameters: dict[str, dict[str, Any]]
    tenant_uuid: str = Field(min_length=1, max_length=64)
    request_uuid: str = Field("", max_length=64)
    metadata: dict[str, Any] | None = None


class ResultInfo(BaseModel):
    """``GET /results/{uuid}`` and ``GET /results_requested/{request_uuid}``."""

    uuid: str
    ctime: str
    status: ResultStatus
    #: Why the status changed, or how the data do not fit the result schema (absent: nothing to say).
    status_message: str | None = None
    result: Result


class CapabilityInfo(BaseModel):
    """A registered capability: the FINALES2 capability file as it was registered."""

    quantity: str
    method: str
    json_schema_specifications: dict[str, Any]
    json_schema_result_output: dict[str, Any]
    is_active: bool = True


class TenantInfo(BaseModel):
    """A tenant: who serves which methods, within which limitations."""

    uuid: str
    name: str
    methods: list[str]
    limitations: list[dict[str, Any]] = Field(default_factory=list)
    contact_person: str = ""


class Token(BaseModel):
    """The answer of ``POST /user_management/authenticate``."""

    access_token: str
    token_type: str = "bearer"


class TenantMethods(BaseModel):
    """One of the calling account's tenants and the methods (``quantity/method``) it serves."""

    uuid: str
    methods: list[str]


class AccountInfo(BaseModel):
    """``GET /user_management/me``: who is logged in (what the page for people shows and serves)."""

    name: str
    read_only: bool
    tenants: list[TenantMethods]


class LegacyPosted(BaseModel):
    """The answer of the older ``POST /api/broker/post/measurement``."""

    message: str
    id: str
