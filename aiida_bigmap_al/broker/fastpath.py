"""The fast path for the two hot writes, ``POST /requests/`` and ``POST /results/``: an ASGI middleware.

Through FastAPI a post costs about three times what the store needs for it (routing, dependency
resolution, parsing the body with Python's ``json`` and then validating it): measured in-process,
1.1 ms of CPU per post against 0.33 ms in the store. On a 2-core machine that is the difference
between ~500 and >1,000 posted items per second. So the middleware serves these two paths itself
when all goes well: token from the cache of :class:`.auth.Accounts`, body parsed and validated by
pydantic from the raw bytes, the store's own ``create_request`` / ``create_result``, the UUID as
JSON. Anything else (a refused token, an invalid body, a refusal of the store) is handed, with the
body it already read, to the FastAPI routes, which give the documented answer: the rules live in one
place (:mod:`.store`), and the routes remain what OpenAPI documents.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from .auth import AuthError
from .errors import BrokerError
from .schemas import Request, Result
from .store import fingerprint

__all__ = ["FastPath"]

_ROUTES = {"/requests/": "request", "/requests": "request", "/results/": "result", "/results": "result"}


class FastPath:
    def __init__(self, app, state):
        self.app = app
        self.state = state  # the FastAPI app's state: store and accounts

    async def __call__(self, scope, receive, send):
        kind = _ROUTES.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        headers = dict(scope["headers"]) if kind else {}
        token = headers.get(b"authorization", b"")
        if kind is None or not token.startswith(b"Bearer ") or not headers.get(b"content-type", b"").startswith(
                b"application/json"):
            return await self.app(scope, receive, send)
        body, more = await _read(receive)
        if more is None:  # the client went away
            return
        answer = await self._serve(kind, token[7:].decode("latin-1"), headers.get(b"idempotency-key"), body)
        if answer is None:
            return await self.app(scope, _replay(body, more, receive), send)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    async def _serve(self, kind: str, token: str, key: bytes | None, body: bytes) -> bytes | None:
        """The new object's UUID as JSON, or ``None``: let the routes answer."""
        idempotency_key = None if key is None else key.decode("latin-1")
        if idempotency_key is not None and not 0 < len(idempotency_key) <= 200:
            return None
        try:
            account = self.state.accounts.from_token(token)
            body_hash = fingerprint(body) if idempotency_key is not None else ""
            store = self.state.store
            if kind == "request":
                operation, document = store.create_request, Request.model_validate_json(body)
            else:
                operation, document = store.create_result, Result.model_validate_json(body)
            new = await store.run(operation, account, document, idempotency_key, body_hash)
        except (AuthError, BrokerError, ValidationError, ValueError):
            return None
        return json.dumps(new).encode()


async def _read(receive) -> tuple[bytes, bool | None]:
    """The whole body (the body limit, outside this middleware, has capped it); ``None``: disconnected."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, more: bool, receive):
    """A ``receive`` that gives the routes the body already read, then waits like the real one."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay
