"""Refuse a request on its headers, before any of its body is read: the token, then the body's size.

FastAPI reads and parses a route's body before it solves the route's dependencies, so a token
checked in a dependency is checked after the body: a 200 MB body without a token took the server
from 133 MB to 1.3 GB and blocked ``/health`` for 11 s before its 401 (``benchmarks/
instrument_server_limits.py``). This ASGI middleware runs before routing:

1. every path but :data:`OPEN_PATHS` needs ``Authorization: Bearer <token>`` (compared in
   constant time); without it the answer is 401 with ``Connection: close``, so the body that
   may follow is never read;
2. the body is limited while it streams in (the broker's :class:`~aiida_bigmap_al.broker.limits.BodyLimit`):
   ``max_upload_bytes`` for a file upload, :data:`MAX_JSON_BYTES` for any other body; a declared
   ``Content-Length`` above the limit is refused (413) at once, a chunked body as soon as it
   passes the limit.
"""

from __future__ import annotations

import json
import re
import secrets

from ...broker.limits import BodyLimit
from .. import protocol as api

__all__ = ["MAX_JSON_BYTES", "OPEN_PATHS", "UNAUTHORIZED", "Gate"]

#: Paths served without a token: the health check and the API's own description.
OPEN_PATHS = frozenset({api.HEALTH_PATH, "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
#: Largest body of any request but a file upload: a job submission or a fault is a few hundred bytes.
MAX_JSON_BYTES = 64 * 1024
UNAUTHORIZED = "missing or invalid bearer token"
_UPLOAD = re.compile(r"^/workspaces/[^/]+/files/.")


class Gate:
    """The middleware: authentication, then the body limit of the request's kind, then the app."""

    def __init__(self, app, token: str, max_upload_bytes: int):
        self.app = app
        self._token = token.encode()
        self._uploads = BodyLimit(app, max_upload_bytes)
        self._others = BodyLimit(app, MAX_JSON_BYTES)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] not in OPEN_PATHS and not self._authorized(scope["headers"]):
            return await _unauthorized(send)
        upload = scope["method"] == "PUT" and _UPLOAD.match(scope["path"])
        await (self._uploads if upload else self._others)(scope, receive, send)

    def _authorized(self, headers) -> bool:
        for name, value in headers:
            if name == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                return scheme.lower() == b"bearer" and secrets.compare_digest(credentials.strip(), self._token)
        return False


async def _unauthorized(send) -> None:
    body = json.dumps({"detail": UNAUTHORIZED}).encode()
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", api.AUTH_SCHEME.encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
