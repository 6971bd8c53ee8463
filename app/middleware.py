"""One pure-ASGI middleware for what every request needs: request id, bearer token, a catch-all 500,
the access log line, the request metrics, and cancelling the work of a client that went away.

Pure ASGI (not ``BaseHTTPMiddleware``) so it adds microseconds, not a task per request.

A client that disconnects after sending its whole body has its request cancelled (logged with status 499):
the scoring it was waiting for is abandoned, so its queued items are dropped rather than scored while the
next trainer request waits. A request with more than one ``Authorization`` header is refused (401): no
header wins, so a proxy's header and a client's can never be confused.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import orjson
from starlette.requests import ClientDisconnect

from app.body import RESERVATION, BytesInFlight
from app.logs import ACCESS

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ROUTES = frozenset({"/score", "/get_reward", "/health", "/metrics", "/docs", "/openapi.json", "/redoc"})
OPEN_ROUTES = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"})
# OpenRLHF cannot send headers: it may carry the token as the last path segment, POST /get_reward/<token>.
TOKEN_PATH_PREFIX = "/get_reward/"


def _request_id(raw: bytes | None) -> str:
    if raw and len(raw) <= 128 and raw.isascii() and all(33 <= b < 127 for b in raw):
        return raw.decode()
    return uuid.uuid4().hex


class ServiceMiddleware:
    """Request id, auth, catch-all 500, access log and request metrics.

    Args:
        app: the wrapped ASGI app.
        token: the bearer token every route outside ``open_routes`` requires, or None for none.
        open_routes: paths served without the token.
        observe: called with ``(route, status, seconds)`` once per request.
        max_headers: most request headers (else 431).
        budget: request body bytes in flight, shared by all requests (each gets a reservation, released
            once it is answered); None for no bound.

    Example:
        >>> app.add_middleware(ServiceMiddleware, token=None, open_routes=OPEN_ROUTES, observe=print)  # doctest: +SKIP
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        open_routes: frozenset[str],
        observe: Callable[[str, int, float], None],
        max_headers: int = 100,
        budget: BytesInFlight | None = None,
    ) -> None:
        self.app = app
        self.budget = budget
        self.max_headers = max_headers
        self.token = token.encode() if token else None
        self.open_routes = open_routes
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        raw_headers = scope.get("headers") or ()
        headers = dict(raw_headers)
        request_id = _request_id(headers.get(b"x-request-id"))
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        reservation = self.budget.reservation() if self.budget is not None else None
        state[RESERVATION] = reservation
        path: str = scope.get("path", "")
        path_token: bytes | None = None
        if self.token is not None and path.startswith(TOKEN_PATH_PREFIX):
            # Route and log it as /get_reward: the token never reaches a log line, a metric or the router.
            path_token = path[len(TOKEN_PATH_PREFIX) :].encode()
            path = scope["path"] = TOKEN_PATH_PREFIX[:-1]
            scope["raw_path"] = path.encode()
        route = path if path in ROUTES else "other"
        status = 500
        started = False
        task = asyncio.current_task()
        watcher: asyncio.Future[Message] | None = None
        gone = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        async def watch() -> Message:
            nonlocal gone
            message = await receive()
            if message["type"] == "http.disconnect" and not started and task is not None:
                gone = True
                task.cancel()
            return message

        async def receive_wrapper() -> Message:
            nonlocal watcher
            if watcher is not None:  # the body is in: the next message can only be the disconnect
                return await asyncio.shield(watcher)
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                watcher = asyncio.ensure_future(watch())
            return message

        try:
            if len(raw_headers) > self.max_headers:
                await _send_json(send_wrapper, 431, {"detail": f"more than {self.max_headers} headers"})
            elif (
                self.token is not None
                and path not in self.open_routes
                and not self._authorized(raw_headers, path_token)
            ):
                await _send_json(
                    send_wrapper,
                    401,
                    {"detail": "missing or invalid bearer token"},
                    [(b"www-authenticate", b"Bearer")],
                )
            else:
                await self.app(scope, receive_wrapper, send_wrapper)
        except asyncio.CancelledError:
            if not gone or task is None:
                raise
            task.uncancel()
            status = 499  # the client closed the connection; its work was cancelled
        except ClientDisconnect:
            status = 499  # the client left while sending its body
        except Exception:
            logger.exception("unhandled error", extra={"request_id": request_id, "route": route})
            if not started:
                await _send_json(send_wrapper, 500, {"detail": "internal error"})
        finally:
            if reservation is not None:
                reservation.release()
            if watcher is not None and not watcher.done():
                watcher.cancel()
            seconds = time.perf_counter() - start
            self.observe(route, status, seconds)
            ACCESS.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "route": route,
                    "status": status,
                    "items": state.get("items"),
                    "body_request_id": state.get("body_request_id"),
                    "latency_ms": round(seconds * 1000, 2),
                },
            )

    def _authorized(self, headers: Iterable[tuple[bytes, bytes]], path_token: bytes | None) -> bool:
        assert self.token is not None
        if path_token is not None:  # constant time, like the header
            return hmac.compare_digest(path_token, self.token)
        values = [value for name, value in headers if name == b"authorization"]
        if len(values) != 1:  # none, or ambiguous: refused whichever would be right
            return False
        scheme, _, credential = values[0].partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        return hmac.compare_digest(credential.strip(), self.token)


async def _send_json(
    send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
