"""The real service in-process (``httpx.ASGITransport``), with the real scoring library in its workers."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from tests.app.conftest import TOKEN, serve

pytestmark = pytest.mark.asyncio(loop_scope="module")

AUTH = {"Authorization": f"Bearer {TOKEN}"}
THINK = "<think>\nWe add two and two, which gives four.\n</think>\n"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with serve(
        api_token=TOKEN,
        max_batch_items=64,
        max_body_bytes=4 * 1024 * 1024,
        max_completion_chars=2_000_000,
        headers=AUTH,
    ) as client:
        yield client


def item(completion: str, answer: str | None = "4", **extra: Any) -> dict[str, Any]:
    return {"completion": completion, "answer": answer, **extra}


# -------------------------------------------------------------------------------------------- scoring
SCORE_CASES = [
    # (item, expected accuracy, expected outcome)
    (item(THINK + "The answer is \\boxed{4}."), 1.0, "equivalent"),
    (item(THINK + "The answer is \\boxed{5}."), 0.0, "not_equivalent"),
    (item(THINK + "\\boxed{\\frac{1}{2}}", answer="0.5"), 1.0, "equivalent"),
    (item(THINK + "I am not sure."), 0.0, "no_answer"),
    (item(THINK + "\\boxed{4}", answer=None), None, "no_reference"),
]


@pytest.mark.parametrize(("it", "accuracy", "outcome"), SCORE_CASES)
async def test_score_verdicts(
    client: httpx.AsyncClient, it: dict[str, Any], accuracy: float | None, outcome: str
) -> None:
    r = await client.post("/score", json={"items": [it]})
    assert r.status_code == 200
    (result,) = r.json()["results"]
    assert result["scores"]["accuracy"] == accuracy
    assert result["details"]["outcome"] == outcome
    assert result["error"] is None


async def test_score_keeps_order_and_ids(client: httpx.AsyncClient) -> None:
    items = [item(THINK + f"\\boxed{{{i}}}", answer=str(i % 3), id=f"i{i}") for i in range(40)]
    r = await client.post("/score", json={"items": items})
    results = r.json()["results"]
    assert [x["id"] for x in results] == [f"i{i}" for i in range(40)]
    assert [x["scores"]["accuracy"] for x in results] == [1.0 if i < 3 else 0.0 for i in range(40)]


async def test_custom_rewards_block(client: httpx.AsyncClient) -> None:
    body = {"items": [item(THINK + "\\boxed{4}")], "rewards": {"accuracy": {"weight": 2.0}}}
    (result,) = (await client.post("/score", json=body)).json()["results"]
    assert result["reward"] == 2.0 and set(result["scores"]) == {"accuracy"}


async def test_gzip_body(client: httpx.AsyncClient) -> None:
    body = gzip.compress(orjson.dumps({"items": [item(THINK + "\\boxed{4}")]}))
    r = await client.post(
        "/score", content=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
    )
    assert r.status_code == 200 and r.json()["results"][0]["scores"]["accuracy"] == 1.0


async def test_batch_isolation(client: httpx.AsyncClient) -> None:
    """An exponent tower, a 1 MB completion, malformed content and an oversized item beside good items."""
    words = " ".join(["we count the apples again"] * 40_000)  # 1 MB of reasoning
    items = [
        item(THINK + "\\boxed{4}", id="good-1"),
        item(THINK + "\\boxed{2^{2^{2^{2^{2^{100}}}}}}", id="tower"),
        item(f"<think>\n{words}\n</think>\n\\boxed{{4}}", id="1MB"),
        item(THINK + "\\boxed{\\frac{1}{" + "{" * 5000, id="unbalanced"),
        item(THINK + "\\boxed{4\x00} LONE", id="nul-surrogate"),
        item("x" * 2_000_001, id="too-long"),
        item(THINK + "\\boxed{\\sqrt{16}}", id="good-2"),
    ]
    # A lone surrogate goes over the wire as a JSON escape, as Python's json module writes it.
    raw = orjson.dumps({"items": items}).replace(b"LONE", b"\\ud800")
    r = await client.post("/score", content=raw)
    assert r.status_code == 200
    results = {x["id"]: x for x in r.json()["results"]}
    assert list(results) == [i["id"] for i in items]
    assert results["good-1"]["scores"]["accuracy"] == 1.0
    assert results["good-2"]["scores"]["accuracy"] == 1.0
    assert results["1MB"]["scores"]["accuracy"] == 1.0
    assert results["tower"]["scores"]["accuracy"] == 0.0
    assert results["unbalanced"]["error"] is None and results["unbalanced"]["scores"]["accuracy"] in (
        0.0,
        None,
    )
    assert results["nul-surrogate"]["error"] is None
    assert results["too-long"]["error"]["code"] == "completion_too_long"


# ----------------------------------------------------------------------------------- refused requests
INVALID = [
    # (body bytes, field named)
    (b'{"items": [{"completion": 1}]}', "items.0.completion"),
    (b'{"items": [{"completion": "a"}, {"prompt": "p"}]}', "items.1.completion"),
    (b'{"items": [], "rewards": {"accuracy": {"weight": "heavy"}}}', "rewards.accuracy.weight"),
    (b'{"items": [], "rewards": {"style": {}}}', "rewards.style"),
    (b'{"items": [], "rewards": {"format": {"mode": "xml"}}}', "rewards.format.mode"),
    (b"{not json", "body"),
]


@pytest.mark.parametrize(("body", "field"), INVALID)
async def test_422_names_the_field(client: httpx.AsyncClient, body: bytes, field: str) -> None:
    r = await client.post("/score", content=body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == field


async def test_422_never_echoes_the_input(client: httpx.AsyncClient) -> None:
    secret = "S" * 60_000
    r = await client.post("/score", json={"items": [{"completion": "a", "answer": {"text": secret}}]})
    assert r.status_code == 422
    assert secret[:100] not in r.text and len(r.content) < 1000


TOO_LARGE = [
    ("body", lambda: (b'{"items": [{"completion": "' + b"a" * (5 * 1024 * 1024) + b'"}]}', {})),
    ("batch", lambda: (orjson.dumps({"items": [{"completion": "a"}] * 65}), {})),
    (
        "gzip bomb",
        lambda: (
            gzip.compress(b'{"items": [{"completion": "' + b"a" * (64 * 1024 * 1024) + b'"}]}'),
            {"Content-Encoding": "gzip"},
        ),
    ),
    ("declared length", lambda: (b"{}", {"Content-Length": str(10**9)})),
]


@pytest.mark.parametrize(("name", "make"), TOO_LARGE, ids=[c[0] for c in TOO_LARGE])
async def test_413(client: httpx.AsyncClient, name: str, make: Any) -> None:
    body, headers = make()
    if "Content-Length" in headers:  # a lying header: the body must not even be read
        request = client.build_request("POST", "/score", content=body)
        request.headers["Content-Length"] = headers["Content-Length"]
        r = await client.send(request)
    else:
        r = await client.post("/score", content=body, headers=headers)
    assert r.status_code == 413


AUTH_CASES = [
    ({}, "/score", 401),
    ({"Authorization": "Bearer wrong-token-0123456789"}, "/score", 401),
    ({"Authorization": f"Basic {TOKEN}"}, "/score", 401),
    ({"Authorization": f"Bearer {TOKEN}x"}, "/get_reward", 401),
    ({}, "/metrics", 401),
    ({}, "/health", 200),
    ({}, "/openapi.json", 200),
    ({}, "/docs", 200),
]


@pytest.mark.parametrize(("headers", "path", "status"), AUTH_CASES)
async def test_bearer_token(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, status: int
) -> None:
    transport = httpx.ASGITransport(client.app)  # type: ignore[attr-defined]  # the same app, no token header
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as bare:
        if path in ("/score", "/get_reward"):
            r = await bare.post(path, json={"items": [], "query": []}, headers=headers)
        else:
            r = await bare.get(path, headers=headers)
    assert r.status_code == status
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


# ---------------------------------------------------------------------------------- /health, /metrics
async def test_health(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert set(body.pop("code_sandbox")) == {"available", "backend", "detail"}
    assert body == {"status": "ok", "workers": 2, "workers_configured": 2, "pending_items": 0}


async def test_request_id_header_echoed(client: httpx.AsyncClient) -> None:
    r = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert len((await client.get("/health")).headers["x-request-id"]) == 32


async def test_metrics(client: httpx.AsyncClient) -> None:
    await client.post("/score", json={"items": [item(THINK + "\\boxed{4}")]})
    text = (await client.get("/metrics")).text
    for needle in (
        'vrewards_requests_total{route="/score",status="200"}',
        "vrewards_request_latency_seconds_bucket",
        'vrewards_reward_score_bucket{component="accuracy"',
        'vrewards_accuracy_outcomes_total{outcome="equivalent"}',
        "vrewards_item_timeouts_total",
        'vrewards_worker_restarts_total{reason="timeout"}',
        "vrewards_queue_depth",
        "vrewards_workers 2.0",
    ):
        assert needle in text, needle


async def test_openapi_documents_bodies(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "ScoreRequest" in spec["components"]["schemas"]
    assert spec["paths"]["/get_reward"]["post"]["requestBody"]["content"]["application/json"]


# ------------------------------------------------------------------------------------------ idempotency
async def test_request_id_makes_retries_idempotent(client: httpx.AsyncClient) -> None:
    body = {"items": [item(THINK + "\\boxed{4}")], "request_id": "step-7-rank-0"}
    first, second = await asyncio.gather(client.post("/score", json=body), client.post("/score", json=body))
    third = await client.post("/score", json=body)
    assert first.content == second.content == third.content
    assert client.app.state.service.cache.hits >= 2  # type: ignore[attr-defined]
    conflict = await client.post("/score", json={**body, "items": [item("other")]})
    assert conflict.status_code == 409


# ----------------------------------------------------------------------------------------- /get_reward
CHATML = "<|im_start|>user\nWhat is 2+2? Answer in English please.<|im_end|>\n<|im_start|>assistant\n"


async def test_get_reward_openrlhf_body(client: httpx.AsyncClient) -> None:
    """Exactly what OpenRLHF's remote_rm client posts: query = prompt + response, special tokens kept."""
    queries = [
        CHATML + THINK + "The answer is \\boxed{4}.<|im_end|>",
        CHATML + THINK + "The answer is \\boxed{5}.<|im_end|><|endoftext|>",
        CHATML + "no reasoning block, \\boxed{4}<|im_end|>",
    ]
    body = {"query": queries, "prompts": [CHATML] * 3, "labels": ["4", "4", "4"]}
    r = await client.post("/get_reward", json=body)
    assert r.status_code == 200
    out = r.json()
    assert out["scores"] == [1.0, 0.0, 1.0]
    assert out["rewards"][0] > out["rewards"][2] > out["rewards"][1] >= 0.0
    assert out["extra_logs"]["format"] == [1.0, 1.0, 0.0]
    assert set(out["extra_logs"]) == {
        "accuracy",
        "format",
        "language",
        "code",
        "accuracy_null",
        "language_null",
        "code_null",
        "masked",
    }


async def test_get_reward_without_prompts_or_labels(client: httpx.AsyncClient) -> None:
    r = await client.post("/get_reward", json={"query": [CHATML + THINK + "\\boxed{4}<|im_end|>"]})
    out = r.json()
    # no label: accuracy is null (no_reference) and sent as the fallback; format and language still count
    assert out["scores"] == [0.0] and out["extra_logs"]["accuracy_null"] == [1.0]
    assert out["rewards"] == [out["extra_logs"]["format"][0] * 0.5 + out["extra_logs"]["language"][0] * 0.1]
    assert out["extra_logs"]["masked"] == [0.0]


async def test_get_reward_single_requests_are_micro_batched(client: httpx.AsyncClient) -> None:
    service = client.app.state.service  # type: ignore[attr-defined]
    before = service.batcher.flushes
    n = 200

    async def one(i: int) -> float:
        body = {
            "query": [CHATML + THINK + f"\\boxed{{{i % 5}}}<|im_end|>"],
            "prompts": [CHATML],
            "labels": ["4"],
        }
        r = await client.post("/get_reward", json=body)
        return float(r.json()["scores"][0])

    scores = await asyncio.gather(*(one(i) for i in range(n)))
    assert scores == [1.0 if i % 5 == 4 else 0.0 for i in range(n)]
    assert service.batcher.flushes - before < n / 4  # far fewer pool submissions than requests
