"""Python client of the reward service: :class:`RewardClient` and :class:`AsyncRewardClient`.

The twins share one I/O-free base (:class:`_BaseClient`) that builds requests, splits large batches into
chunks, picks a replica for each attempt, decides what an answer means (results, retry after a delay, or an
exception) and checks the results against the items. The twins only send bytes and sleep: ``RewardClient``
over ``httpx.Client`` (chunks in a small thread pool), ``AsyncRewardClient`` over ``httpx.AsyncClient``
(chunks under ``asyncio.gather`` with a concurrency bound). httpx exceptions are translated into
:mod:`trainer_client.errors` in one place (``_BaseClient._on_transport_error``).

Retries: connection errors, timeouts, 408/429/5xx, up to ``max_retries`` times per chunk, with full-jitter
exponential backoff (``uniform(0, min(backoff_max, backoff_base * 2**attempt))``) or the server's
``Retry-After``; a retry goes to another replica when there is one. Other 4xx fail at once with the server's
message. Each chunk carries the request id ``f"{request_id}:{chunk_index}"`` (one is generated per call when
the caller gives none), so a retried chunk is answered from the service's cache, never scored twice.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from trainer_client.errors import (
    ProtocolError,
    RewardServiceError,
    TransportError,
    error_for_status,
)
from trainer_client.types import ItemLike, RewardsSpec, ScoreResult, item_to_dict

DEFAULT_URL = "http://127.0.0.1:8000"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_MESSAGE_LIMIT = 500


def _sleep(seconds: float) -> None:  # indirection so tests can record the delays
    time.sleep(seconds)


async def _asleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait before retry number ``attempt`` (0-based).

    Example:
        >>> RetryPolicy(backoff_base=0.5, backoff_max=4.0).delay(10, retry_after=2.0)
        2.0
    """

    max_retries: int = 4
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    retry_after_max: float = 60.0

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Full jitter, unless the server said when to come back (capped at ``retry_after_max``)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_base * (2.0**attempt))
        return (rng or random).uniform(0.0, ceiling)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds, fractional accepted, or an HTTP date).

    Example:
        >>> parse_retry_after("3"), parse_retry_after("soon")
        (3.0, None)
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(seconds, 0.0)


def server_message(body: bytes) -> str:
    """The server's own message from an error body: JSON ``detail``/``message``/``error``, else the text.

    Example:
        >>> server_message(b'{"detail": "items.0.completion: field required"}')
        'items.0.completion: field required'
    """
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:_MESSAGE_LIMIT] or "(empty body)"
    message = _message_of(data)
    return (message or text.strip())[:_MESSAGE_LIMIT]


def _message_of(data: Any) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, list):
        return "; ".join(filter(None, (_message_of(part) for part in data)))
    if isinstance(data, dict):
        for key in ("message", "detail", "error", "msg"):
            if key in data:
                inner = _message_of(data[key])
                loc = data.get("loc")
                if key == "msg" and isinstance(loc, list):
                    return ".".join(map(str, loc)) + ": " + inner
                if inner:
                    return inner
    return ""


@dataclass(slots=True)
class _Chunk:
    index: int
    start: int
    sent_ids: list[str]
    user_ids: list[str | None]
    body: bytes


@dataclass(frozen=True, slots=True)
class _Retry:
    delay: float


class _Replicas:
    """Chooses a base URL per attempt: least in-flight among the healthy ones, round-robin on ties."""

    def __init__(self, urls: Sequence[str], cooldown: float) -> None:
        self.urls = list(urls)
        self._inflight = dict.fromkeys(self.urls, 0)
        self._down_until = dict.fromkeys(self.urls, 0.0)
        self._cooldown = cooldown
        self._turn = 0
        self._lock = threading.Lock()

    def acquire(self, avoid: str | None = None) -> str:
        with self._lock:
            now = time.monotonic()
            order = self.urls[self._turn :] + self.urls[: self._turn]
            self._turn = (self._turn + 1) % len(self.urls)
            candidates = [u for u in order if u != avoid] or order
            healthy = [u for u in candidates if self._down_until[u] <= now]
            pool = healthy or sorted(candidates, key=lambda u: self._down_until[u])[:1]
            url = min(pool, key=lambda u: self._inflight[u])
            self._inflight[url] += 1
            return url

    def release(self, url: str, *, healthy: bool) -> None:
        with self._lock:
            self._inflight[url] -= 1
            self._down_until[url] = 0.0 if healthy else time.monotonic() + self._cooldown


def _timeout_kw(timeout: float | None) -> dict[str, Any]:
    return {} if timeout is None else {"timeout": timeout}


def _normalize_urls(base_url: str | Sequence[str]) -> list[str]:
    urls = [base_url] if isinstance(base_url, str) else list(base_url)
    if not urls:
        raise ValueError("base_url: give at least one URL")
    out = []
    for url in urls:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"base_url: {url!r} is not an http(s) URL")
        out.append(url.rstrip("/"))
    return out


class _BaseClient:
    """Everything but I/O: request building, chunking, replica choice, retry decisions, result checks."""

    def __init__(
        self,
        *,
        base_url: str | Sequence[str] = DEFAULT_URL,
        timeout: float | httpx.Timeout = 60.0,
        api_token: str | None = None,
        chunk_size: int = 256,
        max_concurrency: int = 4,
        max_retries: int = 4,
        backoff_base: float = 0.25,
        backoff_max: float = 8.0,
        retry_after_max: float = 60.0,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if max_retries < 0:
            raise ValueError("max_retries must be non-negative")
        self.urls = _normalize_urls(base_url)
        self.chunk_size = chunk_size
        self.max_concurrency = max_concurrency
        self.retry = RetryPolicy(max_retries, backoff_base, backoff_max, retry_after_max)
        self._timeout = timeout
        self._replicas = _Replicas(self.urls, cooldown=max(backoff_max, 1.0))
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        if api_token:
            self._headers["authorization"] = f"Bearer {api_token}"

    # -- requests -------------------------------------------------------------------------------------------
    def _plan(
        self, items: Iterable[ItemLike], rewards: RewardsSpec | None, request_id: str | None
    ) -> tuple[list[_Chunk], int]:
        wire = [item_to_dict(item) for item in items]
        base_id = request_id if request_id is not None else uuid.uuid4().hex
        chunks = []
        for index, start in enumerate(range(0, len(wire), self.chunk_size)):
            part = wire[start : start + self.chunk_size]
            user_ids = [item.get("id") for item in part]
            sent_ids = [uid if uid is not None else str(start + k) for k, uid in enumerate(user_ids)]
            body: dict[str, Any] = {
                "items": [{**item, "id": sid} for item, sid in zip(part, sent_ids, strict=True)],
                "request_id": f"{base_id}:{index}",
            }
            if rewards is not None:
                body["rewards"] = {name: dict(block) for name, block in rewards.items()}
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            chunks.append(_Chunk(index, start, sent_ids, user_ids, raw))
        return chunks, len(wire)

    # -- answers --------------------------------------------------------------------------------------------
    def _on_response(
        self, chunk: _Chunk, url: str, status: int, headers: httpx.Headers, body: bytes, attempt: int
    ) -> list[ScoreResult] | _Retry:
        if 200 <= status < 300:
            return self._parse_results(chunk, body)
        if status in RETRY_STATUSES and attempt < self.retry.max_retries:
            return _Retry(self.retry.delay(attempt, parse_retry_after(headers.get("retry-after"))))
        raise error_for_status(status, server_message(body), url)

    def _on_transport_error(self, url: str, exc: Exception, attempt: int) -> _Retry:
        """The one place where httpx's exceptions become ours."""
        if isinstance(exc, httpx.TransportError):
            if attempt < self.retry.max_retries:
                return _Retry(self.retry.delay(attempt))
            kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
            raise TransportError(
                f"request to {url} {kind} after {attempt + 1} attempts: {type(exc).__name__}: {exc}"
            ) from exc
        raise exc

    def _parse_results(self, chunk: _Chunk, body: bytes) -> list[ScoreResult]:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ProtocolError(f"response is not JSON: {body[:200]!r}") from exc
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise ProtocolError("response has no 'results' list")
        if len(results) != len(chunk.sent_ids):
            raise ProtocolError(
                f"chunk {chunk.index}: {len(chunk.sent_ids)} items sent, {len(results)} results received"
            )
        parsed = []
        for position, (raw, sent, user) in enumerate(
            zip(results, chunk.sent_ids, chunk.user_ids, strict=True)
        ):
            result = ScoreResult.from_dict(raw)
            if result.id != sent:
                raise ProtocolError(
                    f"item {chunk.start + position}: result id {result.id!r} does not echo the item id {sent!r}"
                )
            result.id = user
            parsed.append(result)
        return parsed

    @staticmethod
    def _assemble(parts: list[list[ScoreResult]], expected: int) -> list[ScoreResult]:
        results = [result for part in parts for result in part]
        if len(results) != expected:  # cannot happen unless a chunk was lost: refuse rather than misalign
            raise ProtocolError(f"{expected} items sent, {len(results)} results assembled")
        return results

    def _health_answer(self, url: str, status: int, body: bytes) -> dict[str, Any]:
        if status != 200:
            raise error_for_status(status, server_message(body), url)
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ProtocolError(f"/health answered non-JSON: {body[:200]!r}") from exc
        if not isinstance(data, dict):
            raise ProtocolError("/health must answer a JSON object")
        return data


class RewardClient(_BaseClient):
    """Blocking client; chunks of a large batch go out concurrently from a small thread pool.

    Args:
        base_url: the service URL, or several replicas' URLs (chunks are spread over them).
        timeout: seconds per request (or an ``httpx.Timeout``).
        transport: an httpx transport (tests: ``httpx.MockTransport``).
        api_token: bearer token, when the service requires one.
        chunk_size: items per request.
        max_concurrency: chunks in flight at once.
        max_retries: retries per chunk after the first attempt.
        backoff_base: first backoff ceiling in seconds (doubles per retry, full jitter).
        backoff_max: largest backoff ceiling in seconds.

    Example:
        >>> with RewardClient(base_url="http://127.0.0.1:8000") as client:  # doctest: +SKIP
        ...     client.score([{"completion": "<think>2+2=4</think> \\\\boxed{4}", "answer": "4"}])[0].reward
        1.6
    """

    def __init__(
        self,
        *,
        base_url: str | Sequence[str] = DEFAULT_URL,
        timeout: float | httpx.Timeout = 60.0,
        transport: httpx.BaseTransport | None = None,
        api_token: str | None = None,
        chunk_size: int = 256,
        max_concurrency: int = 4,
        max_retries: int = 4,
        backoff_base: float = 0.25,
        backoff_max: float = 8.0,
        retry_after_max: float = 60.0,
    ) -> None:
        super().__init__(
            base_url=base_url,
            timeout=timeout,
            api_token=api_token,
            chunk_size=chunk_size,
            max_concurrency=max_concurrency,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            retry_after_max=retry_after_max,
        )
        limits = httpx.Limits(max_connections=max(max_concurrency * 2, 10))
        self._http = httpx.Client(timeout=timeout, transport=transport, headers=self._headers, limits=limits)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def score(
        self,
        items: Iterable[ItemLike],
        rewards: RewardsSpec | None = None,
        request_id: str | None = None,
    ) -> list[ScoreResult]:
        """Score items; one :class:`ScoreResult` per item, in order.

        Args:
            items: :class:`ScoreItem` objects or plain dicts with API.md's item fields.
            rewards: API.md's ``rewards`` block (``None``: the service's default).
            request_id: makes the call idempotent; chunk ``i`` is sent as ``f"{request_id}:{i}"``.

        Example:
            >>> client.score([ScoreItem(completion="\\\\boxed{4}", answer="4")])[0].accuracy  # doctest: +SKIP
            1.0
        """
        chunks, total = self._plan(items, rewards, request_id)
        if len(chunks) <= 1 or self.max_concurrency == 1:
            return self._assemble([self._send(chunk) for chunk in chunks], total)
        pool = self._executor()
        futures: list[Future[list[ScoreResult]]] = [pool.submit(self._send, chunk) for chunk in chunks]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f in done and f.exception() is not None), None)
        if failed is not None:
            for future in futures:
                future.cancel()
            raise failed.exception()  # type: ignore[misc]
        return self._assemble([future.result() for future in futures], total)

    def health(self, timeout: float | None = None) -> dict[str, Any]:
        """``GET /health`` of the first replica that answers (``timeout``: seconds per replica, else the
        client's).

        Example:
            >>> client.health()["status"]  # doctest: +SKIP
            'ok'
        """
        last: Exception | None = None
        for url in self.urls:
            try:
                response = self._http.get(f"{url}/health", **_timeout_kw(timeout))
            except httpx.TransportError as exc:
                last = exc
                continue
            return self._health_answer(url, response.status_code, response.content)
        raise TransportError(f"no replica answered /health: {type(last).__name__}: {last}") from last

    def close(self) -> None:
        """Close connections and the chunk thread pool."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
        self._http.close()

    def __enter__(self) -> RewardClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="vrewards-chunk")
            return self._pool

    def _send(self, chunk: _Chunk) -> list[ScoreResult]:
        avoid: str | None = None
        attempt = 0
        while True:
            url = self._replicas.acquire(avoid)
            healthy = False
            try:
                response = self._http.post(f"{url}/score", content=chunk.body)
            except Exception as exc:
                outcome: list[ScoreResult] | _Retry = self._on_transport_error(url, exc, attempt)
            else:
                healthy = response.status_code < 500
                outcome = self._on_response(
                    chunk, url, response.status_code, response.headers, response.content, attempt
                )
            finally:
                self._replicas.release(url, healthy=healthy)
            if not isinstance(outcome, _Retry):
                return outcome
            _sleep(outcome.delay)
            avoid, attempt = url, attempt + 1


class AsyncRewardClient(_BaseClient):
    """Asyncio client; chunks of a large batch go out under ``asyncio.gather`` with a concurrency bound.

    Same arguments as :class:`RewardClient` (``transport`` is an ``httpx.AsyncBaseTransport``, e.g.
    ``httpx.ASGITransport(app)`` in tests).

    Example:
        >>> async with AsyncRewardClient(base_url="http://127.0.0.1:8000") as client:  # doctest: +SKIP
        ...     (await client.score([{"completion": "\\\\boxed{4}", "answer": "4"}]))[0].accuracy
        1.0
    """

    def __init__(
        self,
        *,
        base_url: str | Sequence[str] = DEFAULT_URL,
        timeout: float | httpx.Timeout = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        api_token: str | None = None,
        chunk_size: int = 256,
        max_concurrency: int = 4,
        max_retries: int = 4,
        backoff_base: float = 0.25,
        backoff_max: float = 8.0,
        retry_after_max: float = 60.0,
    ) -> None:
        super().__init__(
            base_url=base_url,
            timeout=timeout,
            api_token=api_token,
            chunk_size=chunk_size,
            max_concurrency=max_concurrency,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            retry_after_max=retry_after_max,
        )
        limits = httpx.Limits(max_connections=max(max_concurrency * 2, 10))
        self._http = httpx.AsyncClient(
            timeout=timeout, transport=transport, headers=self._headers, limits=limits
        )

    async def score(
        self,
        items: Iterable[ItemLike],
        rewards: RewardsSpec | None = None,
        request_id: str | None = None,
    ) -> list[ScoreResult]:
        """Score items; one :class:`ScoreResult` per item, in order (see :meth:`RewardClient.score`).

        Example:
            >>> (await client.score([ScoreItem(completion="\\\\boxed{4}", answer="4")]))[0].accuracy  # doctest: +SKIP
            1.0
        """
        chunks, total = self._plan(items, rewards, request_id)
        if len(chunks) <= 1:
            return self._assemble([await self._send(chunk) for chunk in chunks], total)
        bound = asyncio.Semaphore(self.max_concurrency)

        async def bounded(chunk: _Chunk) -> list[ScoreResult]:
            async with bound:
                return await self._send(chunk)

        tasks = [asyncio.ensure_future(bounded(chunk)) for chunk in chunks]
        try:
            parts = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return self._assemble(list(parts), total)

    async def health(self, timeout: float | None = None) -> dict[str, Any]:
        """``GET /health`` of the first replica that answers (see :meth:`RewardClient.health`).

        Example:
            >>> (await client.health())["status"]  # doctest: +SKIP
            'ok'
        """
        last: Exception | None = None
        for url in self.urls:
            try:
                response = await self._http.get(f"{url}/health", **_timeout_kw(timeout))
            except httpx.TransportError as exc:
                last = exc
                continue
            return self._health_answer(url, response.status_code, response.content)
        raise TransportError(f"no replica answered /health: {type(last).__name__}: {last}") from last

    async def aclose(self) -> None:
        """Close connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRewardClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _send(self, chunk: _Chunk) -> list[ScoreResult]:
        avoid: str | None = None
        attempt = 0
        while True:
            url = self._replicas.acquire(avoid)
            healthy = False
            try:
                response = await self._http.post(f"{url}/score", content=chunk.body)
            except Exception as exc:
                outcome: list[ScoreResult] | _Retry = self._on_transport_error(url, exc, attempt)
            else:
                healthy = response.status_code < 500
                outcome = self._on_response(
                    chunk, url, response.status_code, response.headers, response.content, attempt
                )
            finally:
                self._replicas.release(url, healthy=healthy)
            if not isinstance(outcome, _Retry):
                return outcome
            await _asleep(outcome.delay)
            avoid, attempt = url, attempt + 1


__all__ = ["DEFAULT_URL", "AsyncRewardClient", "RetryPolicy", "RewardClient", "RewardServiceError"]
