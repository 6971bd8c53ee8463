"""Connection limits for ``vrewards serve``: uvicorn's HTTP protocol with the bounds it lacks.

uvicorn has no timeout for a request's headers or body, no bound on header size with httptools (whose
parser grows a long header by concatenation: quadratic) and no connection cap that spares real clients
(``limit_concurrency`` answers 503 to everyone once idle sockets fill it). :func:`guarded_protocol`
subclasses uvicorn's protocol class and adds, per connection:

* **header bytes**: counted *before* they reach the parser; past ``max_header_bytes`` the request gets
  431 and the connection is closed;
* **header timeout**: a request's head must be complete within ``header_timeout_s`` of the connection
  opening (or of the previous response): else 408 and close (slow-header attacks, idle sockets);
* **body timeout**: the whole body must arrive within ``body_timeout_s`` of the head: else 408 (when no
  response has started) and close; the handler waiting for the body sees a disconnect;
* **slow readers**: a response the client has not taken ``body_timeout_s`` after it was written is
  dropped and the connection aborted (uvicorn writes a whole response into the socket buffer at once, and
  its keep-alive close would wait for the client forever);
* **connection cap**: at ``max_connections`` open connections, a new one closes the oldest connection
  that is *waiting for a request* (a half-sent head, an idle keep-alive); a connection in the middle of a
  request is never closed for this. When every connection is busy with a request, the new one is
  answered 503 + Retry-After and closed.

Every limit hit is counted and logged as a warning at most once per :data:`LOG_EVERY_S` per kind, with the
count since the last line, so a flood cannot flood the log.

Example:
    >>> limits = ConnectionLimits(max_connections=1024)
    >>> cls = guarded_protocol(limits)  # doctest: +SKIP
    >>> uvicorn.Config(app, http=cls)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

logger = logging.getLogger("vrewards.connections")

LOG_EVERY_S = 5.0
_HEAD_END = b"\r\n\r\n"


class ConnectionLimits(NamedTuple):
    """The per-connection bounds (defaults as in :class:`app.config.Settings`).

    Example:
        >>> ConnectionLimits().max_header_bytes
        65536
    """

    max_connections: int = 1024
    max_header_bytes: int = 64 * 1024
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    retry_after_s: int = 1


def _response(status: str, detail: str, retry_after: int | None = None) -> bytes:
    body = b'{"detail":"' + detail.encode() + b'"}'
    head = [
        f"HTTP/1.1 {status}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
    ]
    if retry_after is not None:
        head.append(f"retry-after: {retry_after}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@dataclass(eq=False)
class ConnectionRegistry:
    """What all connections of one server share: who is open, who waits for a request, limit hits."""

    limits: ConnectionLimits
    open: set[Any] = field(default_factory=set)
    waiting: dict[Any, None] = field(default_factory=dict)  # insertion order: oldest first
    hits: Counter[str] = field(default_factory=Counter)  # totals since start
    _unlogged: Counter[str] = field(default_factory=Counter)
    _logged_at: dict[str, float] = field(default_factory=dict)

    def hit(self, kind: str) -> None:
        """Count one limit hit and log it, at most once per :data:`LOG_EVERY_S` per kind."""
        self.hits[kind] += 1
        self._unlogged[kind] += 1
        now = time.monotonic()
        if now - self._logged_at.get(kind, -LOG_EVERY_S) >= LOG_EVERY_S:
            logger.warning(
                "connection limit hit",
                extra={"limit": kind, "count": self._unlogged[kind], "total": self.hits[kind]},
            )
            self._unlogged[kind] = 0
            self._logged_at[kind] = now


def guarded_protocol(limits: ConnectionLimits, base: type | None = None) -> type:
    """A subclass of uvicorn's HTTP protocol ``base`` (default: the httptools one) enforcing ``limits``;
    its ``registry`` attribute holds the shared state.

    Example:
        >>> guarded_protocol(ConnectionLimits()).registry.limits.max_connections
        1024
    """
    if base is None:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    registry = ConnectionRegistry(limits)
    refused = _response("503 Service Unavailable", "too many connections", limits.retry_after_s)
    too_large = _response("431 Request Header Fields Too Large", "request head too large")
    too_slow = _response("408 Request Timeout", "request not received in time")

    class Guarded(base):  # type: ignore[valid-type, misc]
        def connection_made(self, transport: asyncio.Transport) -> None:
            self._refused = False
            self._timer: asyncio.TimerHandle | None = None
            self._head_bytes = 0
            self._head_tail = b""
            self._counting = True  # bytes arriving belong to a request head
            self._body_cycle: Any = None
            self._draining_since = 0.0
            if len(registry.open) >= limits.max_connections:
                victim = next(iter(registry.waiting), None)
                if victim is None:
                    registry.hit("max_connections_refused")
                    self._refused = True
                    transport.write(refused)
                    transport.close()
                    return
                registry.hit("max_connections_evicted")
                victim._close(None)
            super().connection_made(transport)
            registry.open.add(self)
            self._await_head()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._refused:
                return
            registry.open.discard(self)
            registry.waiting.pop(self, None)
            self._stop_timer()
            super().connection_lost(exc)

        # -- states
        def _await_head(self) -> None:
            """Waiting for a request's head: evictable, under the header timeout."""
            registry.waiting[self] = None
            self._draining_since = 0.0
            self._counting = True
            self._head_bytes = 0
            self._head_tail = b""
            self._set_timer(limits.header_timeout_s, self._head_timed_out)

        def _head_done(self) -> None:
            registry.waiting.pop(self, None)
            self._counting = False
            self._stop_timer()

        def _set_timer(self, seconds: float, callback: Any) -> None:
            self._stop_timer()
            self._timer = self.loop.call_later(seconds, callback)

        def _stop_timer(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _close(self, answer: bytes | None) -> None:
            transport = self.transport
            if transport is None:
                return
            if answer is None and transport.get_write_buffer_size():
                transport.abort()  # a response the client is not taking: close() would wait for it
                return
            if transport.is_closing():
                return
            if answer is not None:
                transport.write(answer)
            transport.close()

        # -- events
        def data_received(self, data: bytes) -> None:
            if self._counting:
                seen = self._head_tail + data
                end = seen.find(_HEAD_END)
                head_part = len(data) if end < 0 else max(0, end + len(_HEAD_END) - len(self._head_tail))
                self._head_bytes += head_part
                if self._head_bytes > limits.max_header_bytes:
                    registry.hit("max_header_bytes")
                    self._head_done()
                    self._close(too_large)
                    return
                if end < 0:
                    self._head_tail = seen[-3:]
                else:
                    self._head_done()
            super().data_received(data)
            self._track_body()

        def _track_body(self) -> None:
            cycle = self.cycle
            if (
                cycle is None
                or self._counting
                or (self.transport is not None and self.transport.is_closing())
            ):
                return
            if cycle.more_body:
                if self._body_cycle is not cycle:
                    self._body_cycle = cycle
                    self._set_timer(limits.body_timeout_s, self._body_timed_out)
            else:
                if self._body_cycle is cycle:
                    self._stop_timer()
                    self._body_cycle = None
                # what arrives now is the next (pipelined) request's head: bounded the same way
                self._counting = True
                self._head_bytes = 0
                self._head_tail = b""

        def on_response_complete(self) -> None:
            super().on_response_complete()
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:
                return  # a pipelined request is already in progress
            if self.transport is not None and not self.transport.is_closing():
                self._await_head()

        def _head_timed_out(self) -> None:
            self._timer = None
            unsent = self.transport.get_write_buffer_size() if self.transport is not None else 0
            if unsent and self in registry.waiting:
                # the last response is still being taken: the client gets body_timeout_s for that
                now = self.loop.time()
                started = self._draining_since = self._draining_since or now
                if now - started < limits.body_timeout_s:
                    wait = min(limits.header_timeout_s, started + limits.body_timeout_s - now)
                    self._set_timer(wait, self._head_timed_out)
                    return
                registry.hit("slow_reader")
                registry.waiting.pop(self, None)
                self._close(None)
                return
            if self in registry.waiting:
                registry.waiting.pop(self, None)
                if self._head_bytes:
                    registry.hit("header_timeout")
                    self._close(too_slow)
                else:
                    self._close(None)  # an idle connection: nothing to answer

        def _body_timed_out(self) -> None:
            self._timer = None
            cycle = self.cycle
            if cycle is None or not cycle.more_body:
                return
            registry.hit("body_timeout")
            self._close(None if cycle.response_started else too_slow)

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    Guarded.registry = registry
    return Guarded
