"""The tenant loop: poll the pending requests of one method, reserve one, serve it, post its result.

This is what every program that serves a method does (an instrument PC, a simulation, a script
around a person's spreadsheet), so it lives beside the client:

    loop = TenantLoop(BrokerClient(url, "lab", password), tenant_uuid, "conductivity", "two_electrode", measure)
    loop.run()                      # until stopped; measure(item) returns the result data

Why a reservation before serving: two tenants polling at once see the same pending request, and
only one of them may measure it. The reservation is the broker's atomic claim; the loser gets
409 and moves on. A callback that raises :class:`Declined` gives the request back (released to
pending, with the reason as the status message) for another tenant. The result is posted under
an idempotency key made from the request, so a retry after a lost answer posts nothing twice.

State lives in the broker only (what is pending, what this tenant holds). A loop that must
survive its own crash between reserving and posting needs to remember what it holds somewhere
durable; the AiiDA tenant (``broker_bridge.tenant``) keeps that in the provenance graph.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from .client import BrokerClient, BrokerClientError

__all__ = ["Declined", "TenantLoop", "result_key"]

LOGGER = logging.getLogger(__name__)
CONFLICT = 409


class Declined(Exception):
    """Raised by a serving callback: this tenant will not serve the request (it is given back)."""


def result_key(request_uuid: str, tenant_uuid: str) -> str:
    """The idempotency key of a tenant's result for a request: a repeated post creates nothing new."""
    return f"result:{tenant_uuid}:{request_uuid}"


class TenantLoop:
    """Serve the pending requests of ``quantity/method`` with ``serve(item) -> data`` (``item`` as listed)."""

    def __init__(self, client: BrokerClient, tenant_uuid: str, quantity: str, method: str,
                 serve: Callable[[dict[str, Any]], dict[str, Any]], poll_seconds: float = 2.0):
        self.client = client
        self.tenant_uuid = tenant_uuid
        self.quantity = quantity
        self.method = method
        self.serve = serve
        self.poll_seconds = poll_seconds

    def claim(self, request_uuid: str) -> bool:
        """Reserve the request; False if another tenant was faster (or it is no longer pending)."""
        try:
            self.client.reserve(request_uuid)
        except BrokerClientError as error:
            if error.status_code != CONFLICT:
                raise
            return False
        return True

    def post(self, item: dict[str, Any], data: dict[str, Any], metadata: dict | None = None) -> str:
        """Post the result of the listed request ``item``; returns the result's UUID."""
        request = item["request"]
        return self.client.post_result(item["uuid"], self.quantity, self.method, data,
                                       {self.method: request["parameters"][self.method]}, self.tenant_uuid,
                                       metadata=metadata, idempotency_key=result_key(item["uuid"], self.tenant_uuid))

    def serve_pending(self) -> list[str]:
        """One pass: serve every pending request this tenant can claim; the UUIDs of the results posted."""
        posted = []
        for item in self.client.pending_requests(self.quantity, self.method):
            if not self.claim(item["uuid"]):
                continue
            try:
                data = self.serve(item)
            except Declined as reason:
                self.client.update_status(item["uuid"], "pending", f"declined: {reason}")
                LOGGER.info("gave back request %s: %s", item["uuid"], reason)
                continue
            except Exception as error:
                self.client.update_status(item["uuid"], "pending", f"the tenant failed: {error}")
                raise
            posted.append(self.post(item, data))
        return posted

    def run(self, stop: threading.Event | None = None) -> None:
        """Pass after pass, ``poll_seconds`` apart, until ``stop`` is set."""
        stop = stop or threading.Event()
        while not stop.is_set():
            self.serve_pending()
            stop.wait(self.poll_seconds)
