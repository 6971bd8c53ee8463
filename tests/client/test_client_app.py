"""Both client twins against the real service: over a loopback socket (uvicorn in a thread) and, for the async
twin, in-process through ``httpx.ASGITransport``, so the client and the app cannot drift apart."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from tests.client.conftest import MAX_BATCH, TOKEN, TWINS
from tests.client.live import QUIET
from trainer_client import (
    AsyncRewardClient,
    AuthenticationError,
    BadRequestError,
    PayloadTooLargeError,
    RewardClient,
    ScoreItem,
    ScoreResult,
)

# (item, accuracy, outcome)
ITEMS: list[tuple[ScoreItem | dict[str, Any], float | None, str]] = [
    (
        ScoreItem(completion="<think>6*7=42</think> The answer is \\boxed{42}.", answer="42", lang="en"),
        1.0,
        "equivalent",
    ),
    (ScoreItem(completion="<think>half</think> \\boxed{0.5}", answer="\\frac{1}{2}"), 1.0, "equivalent"),
    ({"completion": "<think>guess</think> \\boxed{41}", "answer": "42"}, 0.0, "not_equivalent"),
    ({"completion": "<think>never finished \\boxed{42}", "answer": "42"}, 0.0, "no_answer"),
    ({"completion": "<think>x</think> \\boxed{3}"}, None, "no_reference"),
    (
        {
            "completion": "2+2=4</think> \\boxed{4}",
            "answer": "4",
            "prompt": "<|User|>2+2?<|Assistant|><think>\n",
        },
        1.0,
        "equivalent",
    ),
]


def batch(repeat: int) -> list[Any]:
    return [item for item, _, _ in ITEMS] * repeat


def check(results: list[ScoreResult], repeat: int) -> None:
    assert len(results) == len(ITEMS) * repeat
    for k, result in enumerate(results):
        _, accuracy, outcome = ITEMS[k % len(ITEMS)]
        assert result.ok, result.error
        assert (result.accuracy, result.outcome) == (accuracy, outcome), k


def score_with(kind: str, url: str, items: list[Any], **kwargs: Any) -> list[ScoreResult]:
    score_kwargs = {k: kwargs.pop(k) for k in ("rewards", "request_id") if k in kwargs}
    if kind == "sync":
        with RewardClient(base_url=url, **kwargs) as client:
            return client.score(items, **score_kwargs)

    async def go() -> list[ScoreResult]:
        async with AsyncRewardClient(base_url=url, **kwargs) as client:
            return await client.score(items, **score_kwargs)

    return asyncio.run(go())


# -- over a real socket ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", TWINS)
def test_chunks_are_scored_in_order(kind, live_url):
    check(score_with(kind, live_url, batch(10), chunk_size=7, max_concurrency=3), repeat=10)


@pytest.mark.parametrize("kind", TWINS)
def test_a_batch_over_the_service_limit_needs_chunks(kind, live_url):
    items = batch(12)  # 72 items > MAX_BATCH
    assert len(items) > MAX_BATCH
    with pytest.raises(PayloadTooLargeError):
        score_with(kind, live_url, items, chunk_size=len(items))
    check(score_with(kind, live_url, items, chunk_size=MAX_BATCH), repeat=12)


BAD_REQUESTS = [
    # (rewards block, text the error must carry)
    ({"accuracy": {"weight": "heavy"}}, "weight"),
    ({"style": {"weight": 1.0}}, "style"),
    ({"format": {"mode": "xml"}}, "mode"),
]


@pytest.mark.parametrize("kind", TWINS)
@pytest.mark.parametrize(("rewards", "text"), BAD_REQUESTS)
def test_bad_requests_fail_fast_with_the_servers_message(kind, rewards, text, live_url):
    with pytest.raises(BadRequestError) as caught:
        score_with(kind, live_url, batch(1), rewards=rewards, max_retries=5)
    assert caught.value.status_code == 422
    assert text in caught.value.message


@pytest.mark.parametrize("kind", TWINS)
def test_only_requested_components_come_back(kind, live_url):
    results = score_with(kind, live_url, batch(1), rewards={"format": {"weight": 1.0}})
    assert all(set(r.scores) == {"format"} for r in results)
    assert [r.reward for r in results] == [r.format for r in results]


@pytest.mark.parametrize("kind", TWINS)
def test_retried_request_id_returns_the_same_results(kind, live_url):
    first = score_with(kind, live_url, batch(2), chunk_size=5, request_id="client-test-rid")
    again = score_with(kind, live_url, batch(2), chunk_size=5, request_id="client-test-rid")
    assert [r.to_dict() for r in again] == [r.to_dict() for r in first]


TOKENS = [(None, AuthenticationError), ("wrong-token-0123456789", AuthenticationError), (TOKEN, None)]


@pytest.mark.parametrize("kind", TWINS)
@pytest.mark.parametrize(("token", "error"), TOKENS)
def test_bearer_token(kind, token, error, live_token_url):
    if error is None:
        check(score_with(kind, live_token_url, batch(1), api_token=token), repeat=1)
    else:
        with pytest.raises(error):
            score_with(kind, live_token_url, batch(1), api_token=token)


def test_health(live_url):
    with RewardClient(base_url=["http://127.0.0.1:9", live_url]) as client:  # port 9: nothing listens
        assert client.health()["status"] == "ok"


def test_a_dead_replica_is_skipped(live_url):
    check(
        score_with("sync", ["http://127.0.0.1:9", live_url], batch(4), chunk_size=3, backoff_max=0.05),
        repeat=4,
    )


# -- in-process (ASGI) -----------------------------------------------------------------------------------------------
async def test_async_twin_in_process_matches_the_socket(live_url):
    app = create_app(Settings(workers=1, max_batch_items=MAX_BATCH, **QUIET))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with AsyncRewardClient(
            base_url="http://in-process", transport=transport, chunk_size=5
        ) as client:
            assert (await client.health())["status"] == "ok"
            in_process = await client.score(batch(3))
            with pytest.raises(BadRequestError, match="mode"):
                await client.score(batch(1), rewards={"format": {"mode": "xml"}})
    check(in_process, repeat=3)
    over_socket = await asyncio.to_thread(score_with, "sync", live_url, batch(3))
    assert [r.to_dict() for r in in_process] == [r.to_dict() for r in over_socket]
