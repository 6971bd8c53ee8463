"""Both client twins against a fake service behind ``httpx.MockTransport``: retries, errors, chunking, replicas."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from tests.client.conftest import TWINS, FakeService, echo_results, items, run_score
from trainer_client import (
    AuthenticationError,
    BadRequestError,
    HTTPStatusError,
    PayloadTooLargeError,
    ProtocolError,
    RetryPolicy,
    ScoreItem,
    ServiceUnavailableError,
    TransportError,
)
from trainer_client.client import parse_retry_after, server_message


def status(code: int, body: Any = None, headers: dict[str, str] | None = None):
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            code, json=body if body is not None else {"detail": f"status {code}"}, headers=headers
        )

    return answer


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def time_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("read timed out", request=request)


def results_of(transform):
    """An answer built from the echo results, then changed by ``transform``."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=transform(echo_results(json.loads(request.content))))

    return answer


# -- transient failures are retried, then the call succeeds --------------------------------------------------
RECOVERED = [
    # (name, script of failing answers, expected recorded delays (None: any jittered value))
    ("503 with Retry-After", [status(503, headers={"Retry-After": "2"})], [2.0]),
    ("429 with fractional Retry-After", [status(429, headers={"Retry-After": "0.5"})], [0.5]),
    ("503 without Retry-After", [status(503)], [None]),
    ("connection refused", [refuse], [None]),
    ("read timeout", [time_out], [None]),
    ("500 then 502", [status(500), status(502)], [None, None]),
    ("408 request timeout", [status(408)], [None]),
]


@pytest.mark.parametrize("kind", TWINS)
@pytest.mark.parametrize(("name", "script", "delays"), RECOVERED, ids=[c[0] for c in RECOVERED])
def test_transient_failures_are_retried(kind, name, script, delays, sleeps):
    service = FakeService(script=list(script))
    results = run_score(kind, service, items(3), backoff_base=0.1, backoff_max=0.4)
    assert [r.reward for r in results] == [0.0, 1.0, 2.0]
    assert len(service.requests) == len(script) + 1
    assert len(sleeps) == len(delays)
    for got, want in zip(sleeps, delays, strict=True):
        if want is None:
            assert 0.0 <= got <= 0.4
        else:
            assert got == want


# -- failures that must surface, with the server's message ---------------------------------------------------
FAILURES = [
    # (name, script, exception, attempts made, text in the message)
    (
        "400 fails fast",
        [status(400, {"detail": "items.0.completion: field required"})],
        BadRequestError,
        1,
        "items.0.completion",
    ),
    (
        "422 fails fast",
        [status(422, {"message": "rewards.format.mode: must be one of think"})],
        BadRequestError,
        1,
        "rewards.format.mode",
    ),
    (
        "401 is authentication",
        [status(401, {"detail": "missing or wrong bearer token"})],
        AuthenticationError,
        1,
        "bearer token",
    ),
    (
        "413 is payload too large",
        [status(413, {"detail": "batch over 1024 items"})],
        PayloadTooLargeError,
        1,
        "1024 items",
    ),
    (
        "503 until retries run out",
        [status(503, headers={"Retry-After": "0"})] * 3,
        ServiceUnavailableError,
        3,
        "status 503",
    ),
    ("500 until retries run out", [status(500)] * 3, HTTPStatusError, 3, "status 500"),
    ("refused until retries run out", [refuse] * 3, TransportError, 3, "after 3 attempts"),
    ("timeouts until retries run out", [time_out] * 3, TransportError, 3, "timed out"),
]


@pytest.mark.parametrize("kind", TWINS)
@pytest.mark.parametrize(
    ("name", "script", "error", "attempts", "text"), FAILURES, ids=[c[0] for c in FAILURES]
)
def test_failures_raise_the_right_error(kind, name, script, error, attempts, text, sleeps):
    service = FakeService(script=list(script))
    with pytest.raises(error) as caught:
        run_score(kind, service, items(2), max_retries=2)
    assert text in str(caught.value)
    assert len(service.requests) == attempts


# -- responses that break the contract ------------------------------------------------------------------------
BROKEN = [
    ("one result too few", results_of(lambda r: {"results": r[:-1]}), "2 results received"),
    ("one result too many", results_of(lambda r: {"results": [*r, r[0]]}), "4 results received"),
    ("ids out of order", results_of(lambda r: {"results": [r[1], r[0], r[2]]}), "does not echo"),
    ("no results key", status(200, {"items": []}), "no 'results' list"),
    ("not JSON", lambda req: httpx.Response(200, content=b"<html>proxy</html>"), "not JSON"),
    (
        "reward is a string",
        results_of(lambda r: {"results": [{**r[0], "reward": "1"}, *r[1:]]}),
        "result.reward",
    ),
    (
        "score is NaN",
        lambda req: httpx.Response(
            200, content=b'{"results": [{"id": "0", "scores": {"accuracy": NaN}}, {"id": "1"}, {"id": "2"}]}'
        ),
        "scores.accuracy",
    ),
]


@pytest.mark.parametrize("kind", TWINS)
@pytest.mark.parametrize(("name", "answer", "text"), BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_responses_raise_protocol_error(kind, name, answer, text, sleeps):
    with pytest.raises(ProtocolError, match=text):
        run_score(kind, FakeService(script=[answer]), items(3))


# -- chunking keeps order -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", TWINS)
def test_large_batch_is_chunked_and_kept_in_order(kind):
    service = FakeService()
    results = run_score(kind, service, items(1000), chunk_size=64, max_concurrency=4)
    assert [r.reward for r in results] == [float(i) for i in range(1000)]
    sizes = sorted(len(body["items"]) for body in service.bodies())
    assert sizes == [40] + [64] * 15
    assert all(r.id is None for r in results)  # ids the client made up are not handed back


@pytest.mark.parametrize("kind", TWINS)
def test_user_ids_are_echoed_and_returned(kind):
    batch = [ScoreItem(completion=str(i), id=f"item-{i}") for i in range(5)]
    results = run_score(kind, FakeService(), batch, chunk_size=2)
    assert [r.id for r in results] == [f"item-{i}" for i in range(5)]


@pytest.mark.parametrize("kind", TWINS)
def test_a_chunk_that_breaks_the_contract_fails_the_call(kind, sleeps):
    service = FakeService(script=[results_of(lambda r: {"results": r[:-1]})])
    with pytest.raises(ProtocolError):
        run_score(kind, service, items(256), chunk_size=64, max_concurrency=1)


@pytest.mark.parametrize("kind", TWINS)
def test_empty_batch_sends_nothing(kind):
    service = FakeService()
    assert run_score(kind, service, []) == []
    assert service.requests == []


# -- request ids ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", TWINS)
def test_request_id_is_derived_per_chunk_and_stable_across_retries(kind, sleeps):
    service = FakeService(script=[status(503, headers={"Retry-After": "0"})])
    run_score(kind, service, items(10), chunk_size=4, max_concurrency=1, request_id="step-7")
    ids = [body["request_id"] for body in service.bodies()]
    assert ids == ["step-7:0", "step-7:0", "step-7:1", "step-7:2"]


@pytest.mark.parametrize("kind", TWINS)
def test_request_id_is_generated_once_per_call(kind):
    service = FakeService()
    run_score(kind, service, items(6), chunk_size=3)
    run_score(kind, service, items(6), chunk_size=3)
    ids = [body["request_id"] for body in service.bodies()]
    prefixes = {rid.rsplit(":", 1)[0] for rid in ids}
    assert sorted(rid.rsplit(":", 1)[1] for rid in ids) == ["0", "0", "1", "1"]
    assert len(prefixes) == 2


@pytest.mark.parametrize("kind", TWINS)
def test_rewards_block_and_token_are_sent(kind):
    service = FakeService()
    rewards = {"accuracy": {"weight": 1.0}, "format": {"weight": 0.0, "mode": "think"}}
    run_score(kind, service, items(1), rewards=rewards, api_token="s3cret")
    assert service.bodies()[0]["rewards"] == rewards
    assert service.requests[0].headers["authorization"] == "Bearer s3cret"


# -- several replicas -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", TWINS)
def test_chunks_spread_over_replicas_and_skip_a_dead_one(kind, sleeps):
    service = FakeService(dead_hosts={"b"})
    results = run_score(
        kind, service, items(400), base_url=["http://a", "http://b", "http://c"], chunk_size=50, max_retries=3
    )
    assert [r.reward for r in results] == [float(i) for i in range(400)]
    served = [r.url.host for r in service.requests if r.url.host != "b"]
    assert {"a", "c"} <= set(served)
    assert len(served) == 8  # every chunk answered exactly once by a live replica


@pytest.mark.parametrize("kind", TWINS)
def test_all_replicas_dead_is_a_transport_error(kind, sleeps):
    service = FakeService(dead_hosts={"a", "b"})
    with pytest.raises(TransportError):
        run_score(kind, service, items(3), base_url=["http://a", "http://b"], max_retries=2)
    assert len(service.requests) == 3


# -- inputs the client refuses before sending ---------------------------------------------------------------
BAD_ITEMS = [
    ("no completion", {"answer": "4"}, "completion"),
    ("unknown field", {"completion": "4", "solution": "4"}, "unknown item field 'solution'"),
    ("non-string answer", {"completion": "4", "answer": 4}, "'answer' must be a string"),
    ("empty answer list", {"completion": "4", "answer": []}, "non-empty list of strings"),
    ("answer list of numbers", {"completion": "4", "answer": [4, 5]}, "non-empty list of strings"),
    ("tests not a mapping", {"completion": "4", "tests": "[1]"}, "'tests' must be a mapping"),
]

# -- what the wire gets -----------------------------------------------------------------------------------------
SENT_ITEMS = [
    # (item, its wire form)
    ({"completion": "4", "answer": ("4", "four")}, {"completion": "4", "answer": ["4", "four"]}),
    (ScoreItem("4", answer=["4", "four"]), {"completion": "4", "answer": ["4", "four"]}),
    (
        ScoreItem("1", tests={"kind": "stdin_stdout", "cases": [{"input": "", "output": "1"}]}),
        {"completion": "1", "tests": {"kind": "stdin_stdout", "cases": [{"input": "", "output": "1"}]}},
    ),
]


@pytest.mark.parametrize(("item", "wire"), SENT_ITEMS)
def test_list_answers_and_tests_reach_the_wire(item, wire):
    service = FakeService()
    run_score("sync", service, [item])
    [sent] = service.bodies()[0]["items"]
    assert {k: v for k, v in sent.items() if k != "id"} == wire


@pytest.mark.parametrize(("name", "item", "text"), BAD_ITEMS, ids=[c[0] for c in BAD_ITEMS])
def test_bad_items_are_refused_before_sending(name, item, text):
    service = FakeService()
    with pytest.raises(ValueError, match=text):
        run_score("sync", service, [item])
    assert service.requests == []


BAD_URLS = [[], ["svc:8000"], "ftp://svc"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_base_urls_are_refused(url):
    with pytest.raises(ValueError, match="base_url"):
        run_score("sync", FakeService(), items(1), base_url=url)


# -- health ---------------------------------------------------------------------------------------------------
def test_health_uses_the_first_live_replica():
    import asyncio

    from trainer_client import AsyncRewardClient, RewardClient

    service = FakeService(dead_hosts={"a"})
    with RewardClient(base_url=["http://a", "http://b"], transport=httpx.MockTransport(service)) as client:
        assert client.health() == {"status": "ok"}

    async def go() -> dict[str, Any]:
        async with AsyncRewardClient(base_url="http://b", transport=httpx.MockTransport(service)) as client:
            return await client.health()

    assert asyncio.run(go()) == {"status": "ok"}


# -- pure helpers -----------------------------------------------------------------------------------------------
RETRY_AFTER = [
    ("2", 2.0),
    ("0.25", 0.25),
    ("-3", 0.0),
    ("soon", None),
    ("", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: retry now
]


@pytest.mark.parametrize(("header", "seconds"), RETRY_AFTER)
def test_parse_retry_after(header, seconds):
    assert parse_retry_after(header) == seconds


def test_backoff_is_full_jitter_under_a_growing_ceiling():
    import random

    policy = RetryPolicy(backoff_base=0.5, backoff_max=4.0, retry_after_max=30.0)
    rng = random.Random(0)
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (9, 4.0)]:
        draws = [policy.delay(attempt, rng=rng) for _ in range(200)]
        assert min(draws) >= 0.0 and max(draws) <= ceiling
        assert max(draws) > ceiling * 0.8  # spread over the whole range, not a fixed delay
    assert policy.delay(0, retry_after=120.0) == 30.0


MESSAGES = [
    (b'{"detail": "too big"}', "too big"),
    (
        b'{"error": {"code": "bad", "message": "items.3.lang: not an ISO code"}}',
        "items.3.lang: not an ISO code",
    ),
    (b'{"detail": [{"loc": ["body", "items"], "msg": "field required"}]}', "body.items: field required"),
    (b"plain text failure", "plain text failure"),
    (b"", "(empty body)"),
]


@pytest.mark.parametrize(("body", "message"), MESSAGES)
def test_server_message(body, message):
    assert server_message(body) == message


LIGHT_MODULES = [
    "trainer_client",
    "trainer_client.score_file",
    "trainer_client.integrations.trl",
    "trainer_client.integrations.verl",
]


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_import_does_not_pull_torch(module):
    code = f"import {module}, sys; heavy = {{'torch', 'trl', 'transformers'}} & set(sys.modules); assert not heavy, heavy"
    subprocess.run([sys.executable, "-c", code], check=True)
