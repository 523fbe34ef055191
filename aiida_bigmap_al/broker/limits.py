"""Refuse an oversized body before any other work (authentication, parsing): an ASGI middleware.

A declared ``Content-Length`` above the limit is answered 413 at once, without reading the body;
a body sent without one (chunked) is counted as it streams in and refused as soon as it passes the
limit. Either way nothing of it is parsed and no token is checked, so a large body costs the
broker no more than its headers.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException

__all__ = ["BodyLimit"]


class BodyLimit:
    def __init__(self, app, max_body: int):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_body:
                    return await self._refuse(send)
                break
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise HTTPException(413, self._detail())
            return message

        await self.app(scope, limited_receive, send)

    def _detail(self) -> str:
        return f"request body larger than {self.max_body} bytes"

    async def _refuse(self, send) -> None:
        body = json.dumps({"detail": self._detail()}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
