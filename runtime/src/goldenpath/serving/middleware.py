"""The service's middleware, plain ASGI (cheaper than `@app.middleware("http")`).

Added with `app.add_middleware`, so it wraps every route, /predict included.
"""

import hashlib
import hmac
import time
from collections.abc import Collection
from functools import cache

from prometheus_client import Counter, Histogram
from pydantic_core import to_json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("http_requests_total", "HTTP requests", ["path", "status"])
LATENCY = Histogram("http_request_seconds", "Time to answer a request", ["path"])


class Observe:
    """Counts and times every request, by path (`unmatched` for unknown ones)."""

    def __init__(self, app: ASGIApp, paths: Collection[str]) -> None:
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"] if scope["path"] in self.paths else "unmatched"
        status = 500

        async def send_and_observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            _latency(path).observe(time.perf_counter() - start)
            _requests(path, status).inc()


class RequireApiKey:
    """401 unless the request has `Authorization: Bearer <key>`; `open_paths` need none.

    The comparison takes the same time whatever the key sent (digests compared
    with hmac.compare_digest), so timing tells an attacker nothing about the key.
    """

    def __init__(self, app: ASGIApp, key: str, open_paths: Collection[str]) -> None:
        self.app = app
        self.expected = _digest(b"Bearer " + key.encode())
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        if hmac.compare_digest(_digest(given), self.expected):
            await self.app(scope, receive, send)
            return
        body = to_json({"detail": "missing or wrong API key: send Authorization: Bearer <key>"})
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            (b"www-authenticate", b"Bearer"),
        ]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})


# A metric's labelled child, found once per label values (a few paths and statuses).
@cache
def _latency(path: str) -> Histogram:
    return LATENCY.labels(path)


@cache
def _requests(path: str, status: int) -> Counter:
    return REQUESTS.labels(path, str(status))


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()
