"""A fake service behind ``httpx.MockTransport`` and a runner that drives either client twin."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

import trainer_client.client as client_module
from trainer_client import AsyncRewardClient, RewardClient, ScoreResult

Handler = Callable[[httpx.Request], httpx.Response]


def echo_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """One result per item: the reward is the item's completion read as a number."""
    return [
        {
            "id": item.get("id"),
            "reward": float(item["completion"]),
            "scores": {"accuracy": 1.0, "format": 0.0},
            "details": {"outcome": "equivalent"},
            "error": None,
        }
        for item in body["items"]
    ]


@dataclass
class FakeService:
    """Records every request; ``script`` answers the first requests, the echo service answers the rest."""

    script: list[Callable[[httpx.Request], httpx.Response]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    dead_hosts: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            step = self.script.pop(0) if self.script else None
        if request.url.host in self.dead_hosts:
            raise httpx.ConnectError("connection refused", request=request)
        if step is not None:
            return step(request)
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        return httpx.Response(200, json={"results": echo_results(json.loads(request.content))})

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == "/score"]


def items(n: int) -> list[dict[str, str]]:
    return [{"completion": str(i)} for i in range(n)]


TWINS = ["sync", "async"]


def run_score(kind: str, service: Handler, items: list[Any], /, **kwargs: Any) -> list[ScoreResult]:
    """Score ``items`` with the named twin over a mock transport."""
    score_kwargs = {k: kwargs.pop(k) for k in ("rewards", "request_id") if k in kwargs}
    kwargs.setdefault("base_url", "http://svc")
    transport = httpx.MockTransport(service)
    if kind == "sync":
        with RewardClient(transport=transport, **kwargs) as client:
            return client.score(items, **score_kwargs)

    async def go() -> list[ScoreResult]:
        async with AsyncRewardClient(transport=transport, **kwargs) as client:
            return await client.score(items, **score_kwargs)

    return asyncio.run(go())


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the client's backoff delays instead of sleeping."""
    recorded: list[float] = []

    async def fake_asleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(client_module, "_sleep", recorded.append)
    monkeypatch.setattr(client_module, "_asleep", fake_asleep)
    return recorded


TOKEN = "client-test-token-0123456789"
MAX_BATCH = 64


@pytest.fixture(scope="session")
def live_url() -> Iterator[str]:
    """The real service (no token, batches of at most MAX_BATCH items) on a loopback port."""
    from tests.client.live import live_service

    with live_service(max_batch_items=MAX_BATCH) as url:
        yield url


@pytest.fixture(scope="session")
def live_token_url() -> Iterator[str]:
    """The real service requiring TOKEN."""
    from tests.client.live import live_service

    with live_service(api_token=TOKEN) as url:
        yield url
