"""Bounded time-limited cache of responses keyed by the body's ``request_id``.

A retry with the same ``request_id`` gets the stored response without rescoring; a retry that arrives while
the first attempt is still being scored waits for it instead of scoring twice. Reusing an id with a different
body is refused (:class:`IdConflict`, HTTP 409) rather than answered with another batch's results. Failed
attempts are not stored, so the retry scores again.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


class IdConflict(Exception):
    """The ``request_id`` was already used with a different body."""


@dataclass
class _Entry:
    digest: bytes
    expires: float
    size: int
    future: asyncio.Future[bytes | None]  # None: the first attempt failed; compute again


class IdempotencyCache:
    """``await cache.run(key, body, compute)``: compute once per key within the TTL.

    Bounded three ways: entries (``max_size``), age (``ttl_s``) and the bytes of the stored responses
    (``max_bytes``), the oldest going first.

    Example:
        >>> cache = IdempotencyCache(max_size=1024, ttl_s=600, max_bytes=256 << 20)
        >>> body = await cache.run("score:abc", raw_body, compute)  # doctest: +SKIP
    """

    def __init__(self, max_size: int, ttl_s: float, max_bytes: int = 256 << 20) -> None:
        self.max_size = max_size
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _expire(self, now: float) -> None:
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.expires > now and len(self._entries) <= self.max_size and self._bytes <= self.max_bytes:
                break
            self._drop(key)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        self._bytes -= entry.size

    async def run(self, key: str | None, body: bytes, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        """The stored response for ``key``, or ``compute()``'s, stored when it succeeds."""
        if key is None or self.max_size == 0:
            return await compute()
        digest = hashlib.blake2b(body, digest_size=16).digest()
        while True:
            now = time.monotonic()
            self._expire(now)
            entry = self._entries.get(key)
            if entry is None:
                break
            if entry.digest != digest:
                raise IdConflict("request_id was already used with a different body")
            result = await asyncio.shield(entry.future)
            if result is not None:
                self.hits += 1
                return result
            # the attempt we waited for failed: loop, and become the one that computes
        loop = asyncio.get_running_loop()
        entry = _Entry(
            digest=digest, expires=time.monotonic() + self.ttl_s, size=0, future=loop.create_future()
        )
        self._entries[key] = entry
        self._expire(time.monotonic())
        try:
            value = await compute()
        except BaseException:
            if self._entries.get(key) is entry:
                self._drop(key)
            entry.future.set_result(None)
            raise
        entry.future.set_result(value)
        if self._entries.get(key) is entry:
            entry.size = len(value)
            self._bytes += entry.size
            self._expire(time.monotonic())
        return value
