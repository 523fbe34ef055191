"""A Python client of the broker (and of any FINALES2 server): log in, post, poll, reserve, answer.

It needs only ``requests``. Every POST carries an idempotency key made once per call and reused
when the call is retried after a lost connection or a server error, so a retry never creates a
second request or result. An expired token is renewed once with the stored credentials.

    client = BrokerClient("http://127.0.0.1:8000", "alice", password)
    uuid = client.post_request("conductivity", ["two_electrode"], {"two_electrode": {...}}, tenant)
    for item in client.pending_requests("conductivity", "two_electrode"):
        client.reserve(item["uuid"])
        client.post_result(item["uuid"], "conductivity", "two_electrode", data, parameters, tenant)
"""

from __future__ import annotations

import time
import uuid as uuidlib
from typing import Any

import requests

__all__ = ["BrokerClient", "BrokerClientError"]

AUTH_PATH = "/user_management/authenticate"


class BrokerClientError(Exception):
    """The broker refused a call: ``status_code`` and the broker's ``detail`` (for 422 a list of fields)."""

    def __init__(self, status_code: int, detail: Any, method: str, path: str):
        super().__init__(f"{method} {path}: {status_code} {detail}")
        self.status_code = status_code
        self.detail = detail


class BrokerClient:
    """One logged-in session with a broker at ``url``."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None, *,
                 token: str | None = None, timeout: float = 30.0, retries: int = 3):
        self.url = url.rstrip("/")
        self._credentials = (username, password)
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.session = requests.Session()
        if token is None and username is not None:
            self.login()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> BrokerClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- transport -----------------------------------------------------------------------------------

    def login(self) -> str:
        username, password = self._credentials
        answer = self.session.post(self.url + AUTH_PATH, data={"username": username, "password": password},
                                   timeout=self.timeout)
        self.token = self._json(answer, "POST", AUTH_PATH)["access_token"]
        return self.token

    def call(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
             idempotency_key: str | None = None) -> Any:
        """One API call, retried on lost connections and 5xx (POSTs under one idempotency key)."""
        headers = {}
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or uuidlib.uuid4().hex
        renewed = False
        for attempt in range(self.retries + 1):
            headers["Authorization"] = f"Bearer {self.token}"
            try:
                answer = self.session.request(method, self.url + path, json=json, params=params, headers=headers,
                                              timeout=self.timeout)
            except requests.ConnectionError:
                if attempt == self.retries:
                    raise
                time.sleep(0.2 * 2 ** attempt)
                continue
            if answer.status_code == 401 and not renewed and self._credentials[0] is not None:
                renewed = True
                self.login()
                continue
            if answer.status_code >= 500 and attempt < self.retries:
                time.sleep(0.2 * 2 ** attempt)
                continue
            return self._json(answer, method, path)
        raise AssertionError("unreachable")

    @staticmethod
    def _json(answer: requests.Response, method: str, path: str) -> Any:
        if answer.status_code >= 400:
            try:
                detail = answer.json().get("detail", answer.text)
            except ValueError:
                detail = answer.text
            raise BrokerClientError(answer.status_code, detail, method, path)
        return answer.json()

    # --- requests ------------------------------------------------------------------------------------

    def post_request(self, quantity: str, methods: list[str], parameters: dict[str, dict], tenant_uuid: str,
                     metadata: dict | None = None, idempotency_key: str | None = None) -> str:
        """Ask for ``quantity`` by one of ``methods``; returns the new request's UUID."""
        body = {"quantity": quantity, "methods": methods, "parameters": parameters, "tenant_uuid": tenant_uuid}
        if metadata is not None:
            body["metadata"] = metadata
        return self.call("POST", "/requests/", json=body, idempotency_key=idempotency_key)

    def get_request(self, uuid: str) -> dict:
        """``{uuid, ctime, status, request}``."""
        return self.call("GET", f"/requests/{uuid}")

    def pending_requests(self, quantity: str | None = None, method: str | None = None,
                         limit: int | None = None) -> list[dict]:
        params = {key: value for key, value in (("quantity", quantity), ("method", method), ("limit", limit))
                  if value is not None}
        return self.call("GET", "/pending_requests/", params=params)

    def update_status(self, uuid: str, new_status: str, message: str | None = None) -> str:
        params = {"request_id": uuid, "new_status": new_status}
        if message is not None:
            params["status_change_message"] = message
        return self.call("POST", f"/requests/{uuid}/update_status/", params=params)

    def reserve(self, uuid: str) -> str:
        """Claim a pending request for this account's tenant (409 if another got it first)."""
        return self.update_status(uuid, "reserved")

    def release(self, uuid: str) -> str:
        return self.update_status(uuid, "pending")

    def retract(self, uuid: str, message: str | None = None) -> str:
        return self.update_status(uuid, "retracted", message)

    # --- results -------------------------------------------------------------------------------------

    @staticmethod
    def _result(request_uuid, quantity, method, data, parameters, tenant_uuid, metadata) -> dict:
        body = {"data": data, "quantity": quantity, "method": [method], "parameters": parameters,
                "tenant_uuid": tenant_uuid, "request_uuid": request_uuid}
        if metadata is not None:
            body["metadata"] = metadata
        return body

    def post_result(self, request_uuid: str, quantity: str, method: str, data: dict, parameters: dict,
                    tenant_uuid: str, metadata: dict | None = None, idempotency_key: str | None = None) -> str:
        """Answer request ``request_uuid``; returns the new result's UUID."""
        body = self._result(request_uuid, quantity, method, data, parameters, tenant_uuid, metadata)
        return self.call("POST", "/results/", json=body, idempotency_key=idempotency_key)

    def post_unsolicited_result(self, quantity: str, method: str, data: dict, parameters: dict, tenant_uuid: str,
                                metadata: dict | None = None, idempotency_key: str | None = None) -> str:
        body = self._result("", quantity, method, data, parameters, tenant_uuid, metadata)
        return self.call("POST", "/results/post_unsolicited_result", json=body, idempotency_key=idempotency_key)

    def get_result(self, uuid: str) -> dict:
        """``{uuid, ctime, status, result}``."""
        return self.call("GET", f"/results/{uuid}")

    def result_for_request(self, request_uuid: str) -> dict | None:
        """The request's current result, or ``None`` while it has none."""
        return self.call("GET", f"/results_requested/{request_uuid}")

    def update_result_status(self, uuid: str, new_status: str, message: str | None = None) -> str:
        params = {"result_id": uuid, "new_status": new_status}
        if message is not None:
            params["status_change_message"] = message
        return self.call("POST", f"/results/{uuid}/update_status/", params=params)

    # --- directory -----------------------------------------------------------------------------------

    def capabilities(self, currently_available: bool = True) -> list[dict]:
        return self.call("GET", "/capabilities/", params={"currently_available": str(currently_available).lower()})

    def tenants(self) -> list[dict]:
        return self.call("GET", "/tenants/")
