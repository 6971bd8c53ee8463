"""The service's pure pieces: settings, body decoding, parsing, chat templates, idempotency, responses."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import pytest
from pydantic import ValidationError

from app.body import BadEncoding, BodyTooLarge, gunzip
from app.chat import split_query, strip_eos
from app.cli import build_parser
from app.config import Settings
from app.idempotency import IdConflict, IdempotencyCache
from app.records import ScoredResult, WireItem
from app.routes.openrlhf import openrlhf_response
from app.schemas import (
    BatchTooLarge,
    RequestInvalid,
    parse_get_reward_request,
    parse_json,
    parse_score_request,
)

# ---------------------------------------------------------------------------------------------- settings
SETTINGS_OK = [
    ({}, "item_timeout_s", 5.0),
    ({}, "max_batch_items", 4096),
    ({}, "max_body_bytes", 64 * 1024 * 1024),
    ({}, "worker_memory_mb", 1024),
    ({}, "format_mode", "think"),
    ({"VREWARDS_PORT": "9001"}, "port", 9001),
    ({"VREWARDS_WORKERS": "3"}, "workers", 3),
    ({"VREWARDS_LOG_LEVEL": "DEBUG"}, "log_level", "debug"),
    ({"VREWARDS_API_TOKEN": ""}, "api_token", None),
    ({"VREWARDS_FORMAT_WEIGHT": "0"}, "format_weight", 0.0),
]

SETTINGS_REFUSED = [
    {"VREWARDS_ITEM_TIMEOUT_S": "0"},
    {"VREWARDS_ITEM_TIMEOUT_S": "-1"},
    {"VREWARDS_WORKERS": "0"},
    {"VREWARDS_MAX_BATCH_ITEMS": "0"},
    {"VREWARDS_MAX_BODY_BYTES": "10"},
    {"VREWARDS_MAX_PENDING_ITEMS": "0"},
    {"VREWARDS_WORKER_MEMORY_MB": "64"},  # too small for sympy + fastText
    {"VREWARDS_API_TOKEN": "short"},
    {"VREWARDS_ACCURACY_WEIGHT": "nan"},
    {"VREWARDS_FORMAT_MODE": "xml"},
    {"VREWARDS_LOG_LEVEL": "loud"},
]


@pytest.mark.parametrize(("env", "name", "expected"), SETTINGS_OK)
def test_settings_from_env(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str, expected: Any
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert getattr(Settings(), name) == expected


@pytest.mark.parametrize("env", SETTINGS_REFUSED)
def test_settings_refuse_unsafe_values(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError):
        Settings()


def test_default_rewards_follow_settings() -> None:
    assert Settings(language_weight=0.0).default_rewards()["language"] == {"weight": 0.0}


# ------------------------------------------------------------------------------------------ body / gzip
GUNZIP_CASES = [
    # (data, limit, expected bytes or exception)
    (gzip.compress(b"hello"), 5, b"hello"),
    (gzip.compress(b"a" * 1000), 999, BodyTooLarge),  # one byte over
    (gzip.compress(b"\0" * 50_000_000), 1_000_000, BodyTooLarge),  # a bomb stops at the limit
    (b"not gzip at all", 100, BadEncoding),
    (gzip.compress(b"hello")[:-8][:12], 100, BadEncoding),  # truncated stream
]


@pytest.mark.parametrize(("data", "limit", "expected"), GUNZIP_CASES)
def test_gunzip(data: bytes, limit: int, expected: Any) -> None:
    if isinstance(expected, bytes):
        assert gunzip(data, limit) == expected
    else:
        with pytest.raises(expected):
            gunzip(data, limit)


# ------------------------------------------------------------------------------------------- JSON input
JSON_CASES = [
    (b'{"a": "x"}', {"a": "x"}),
    (b'{"a": "x\\ud800y"}', {"a": "x\ufffdy"}),  # lone high surrogate escape
    (b'{"a": "\\udfff"}', {"a": "\ufffd"}),  # lone low surrogate escape
    (b'{"a": "\\ud83d\\ude00"}', {"a": "\U0001f600"}),  # a valid pair stays
    (b'{"a": "\xff\xfe"}', {"a": "\ufffd\ufffd"}),  # invalid UTF-8 bytes
    (b'{"a": "nul\\u0000"}', {"a": "nul\x00"}),
]


@pytest.mark.parametrize(("body", "expected"), JSON_CASES)
def test_parse_json(body: bytes, expected: Any) -> None:
    assert parse_json(body) == expected


@pytest.mark.parametrize("body", [b"", b"{", b"[1,]", b"[" * 100_000 + b"]" * 100_000, b"\x1f\x8b\x08"])
def test_parse_json_refuses_invalid(body: bytes) -> None:
    with pytest.raises(RequestInvalid) as info:
        parse_json(body)
    assert info.value.errors[0]["field"] == "body"


# ------------------------------------------------------------------------------------- /score requests
SCORE_INVALID = [
    # (body, field named by the first error)
    ({}, "items"),
    ([], ""),
    ({"items": "x"}, "items"),
    ({"items": [{}]}, "items.0.completion"),
    ({"items": [{"completion": "a"}, {"completion": 3}]}, "items.1.completion"),
    ({"items": [{"completion": "a", "answer": 4}]}, "items.0.answer"),
    ({"items": [{"completion": "a", "lang": "x" * 36}]}, "items.0.lang"),
    ({"items": [{"completion": "a", "id": "i" * 1025}]}, "items.0.id"),
    ({"items": [{"completion": "a", "group": ["g"]}]}, "items.0.group"),
    ({"items": [], "request_id": 7}, "request_id"),
    ({"items": [], "rewards": "all"}, "rewards"),
]


@pytest.mark.parametrize(("body", "field"), SCORE_INVALID)
def test_score_request_invalid_names_field(body: Any, field: str) -> None:
    with pytest.raises(RequestInvalid) as info:
        parse_score_request(body, max_items=8, max_chars=100)
    assert info.value.errors[0]["field"] == field
    assert "input" not in info.value.errors[0]


def test_score_request_ignores_unknown_fields_and_builds_tuples() -> None:
    body = {"items": [{"completion": "c", "answer": "4", "id": "x", "extra": {"deep": 1}}], "more": 1}
    job = parse_score_request(body, max_items=8, max_chars=100)
    assert job.items == [WireItem("c", answer="4", id="x")]


def test_score_request_batch_limit() -> None:
    with pytest.raises(BatchTooLarge):
        parse_score_request({"items": [{"completion": "a"}] * 9}, max_items=8, max_chars=100)


ITEM_LIMITS = [
    ({"completion": "a" * 101}, "completion_too_long"),
    ({"completion": "a", "prompt": "p" * 101}, "prompt_too_long"),
    ({"completion": "a", "answer": "1" * 100_001}, "answer_too_long"),
]


@pytest.mark.parametrize(("item", "code"), ITEM_LIMITS)
def test_oversized_item_is_an_item_error(item: dict[str, Any], code: str) -> None:
    job = parse_score_request({"items": [{"completion": "ok"}, item]}, max_items=8, max_chars=100)
    assert len(job.items) == 1 and job.positions == [0]
    assert job.errors[1].error_code == code
    merged = job.merge(
        [ScoredResult.of({"id": None, "reward": 1.0, "scores": {}, "details": {}, "error": None})]
    )
    assert [r.error_code for r in merged] == [None, code]


# -------------------------------------------------------------------------------- /get_reward requests
GET_REWARD_INVALID = [
    ({}, "query"),
    ({"query": "one string"}, "query"),
    ({"query": ["a", "b"], "prompts": ["a"]}, "prompts"),
    ({"query": ["a"], "labels": ["1", "2"]}, "labels"),
    ({"query": ["a"], "labels": [[{"x": 1}]]}, "labels.0"),
]


@pytest.mark.parametrize(("body", "field"), GET_REWARD_INVALID)
def test_get_reward_invalid_names_field(body: Any, field: str) -> None:
    with pytest.raises(RequestInvalid) as info:
        parse_get_reward_request(body, max_items=8)
    assert info.value.errors[0]["field"] == field


# -------------------------------------------------------------------------------------- chat templates
SPLIT_CASES = [
    # (query, prompt, expected completion)
    ("PROMPT then answer</s>", "PROMPT", " then answer"),
    (
        "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>r</think> 4<|im_end|>\n<|endoftext|>",
        None,
        "<think>r</think> 4",
    ),
    (
        "<｜begin▁of▁sentence｜><｜User｜>q<｜Assistant｜><think>\nr</think> 4<｜end▁of▁sentence｜>",
        None,
        "<think>\nr</think> 4",
    ),
    (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nq<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>",
        None,
        "4",
    ),
    ("<s>[INST] q [/INST] The answer is 4</s>", None, " The answer is 4"),
    ("User: q\nAssistant: 4", None, " 4"),
    ("no template at all<eos>", None, "no template at all"),
    ("PROMPT but the prompt differs", "OTHER<|im_start|>assistant\n", "PROMPT but the prompt differs"),
]


@pytest.mark.parametrize(("query", "prompt", "completion"), SPLIT_CASES)
def test_split_query(query: str, prompt: str | None, completion: str) -> None:
    assert split_query(query, prompt)[1] == completion


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4<|im_end|>", "4"), ("4<|endoftext|><|endoftext|>", "4"), ("4 \n", "4 \n"), ("", ""), ("</s>", "")],
)
def test_strip_eos(text: str, expected: str) -> None:
    assert strip_eos(text) == expected


# ------------------------------------------------------------------------------------------ responses
def test_openrlhf_response_never_null() -> None:
    results = [
        ScoredResult.of(
            {
                "id": None,
                "reward": 1.6,
                "scores": {"accuracy": 1.0, "format": 1.0, "language": 1.0},
                "details": {},
                "error": None,
            }
        ),
        ScoredResult.of(
            {
                "id": None,
                "reward": None,
                "scores": {"accuracy": None, "format": 0.0},
                "details": {"outcome": "timeout"},
                "error": None,
            }
        ),
        ScoredResult.error(None, "worker_crashed", "died"),
    ]
    body = openrlhf_response(results, -1.0)
    assert body["rewards"] == [1.6, -1.0, -1.0]
    assert body["scores"] == [1.0, -1.0, -1.0]
    assert body["extra_logs"]["format"] == [1.0, 0.0, -1.0]
    assert body["extra_logs"]["masked"] == [0.0, 1.0, 1.0]


def test_scored_result_survives_lone_surrogates() -> None:
    payload = ScoredResult.of(
        {"id": "\ud800", "reward": None, "scores": {}, "details": {"x": "\udfff"}, "error": None}
    ).payload
    assert payload.decode("utf-8")  # valid UTF-8 JSON


# ---------------------------------------------------------------------------------------- idempotency
async def test_idempotency_cache_computes_once_and_refuses_conflicts() -> None:
    cache = IdempotencyCache(max_size=2, ttl_s=60)
    calls = 0

    async def compute() -> bytes:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return b"result"

    results = await asyncio.gather(*(cache.run("k", b"body", compute) for _ in range(5)))
    assert results == [b"result"] * 5 and calls == 1
    with pytest.raises(IdConflict):
        await cache.run("k", b"other body", compute)
    for key in ("a", "b", "c"):  # evicts "k"
        await cache.run(key, b"body", compute)
    assert len(cache) == 2
    await cache.run("k", b"other body", compute)  # no conflict once evicted


async def test_idempotency_cache_bounds_bytes() -> None:
    cache = IdempotencyCache(max_size=100, ttl_s=60, max_bytes=25)

    async def ten_bytes() -> bytes:
        return b"0123456789"

    for key in "abcd":
        await cache.run(key, b"body", ten_bytes)
    assert len(cache) == 2  # 20 bytes kept, the oldest dropped


async def test_idempotency_failed_attempt_is_not_stored() -> None:
    cache = IdempotencyCache(max_size=8, ttl_s=60)

    async def fail() -> bytes:
        raise RuntimeError("boom")

    async def ok() -> bytes:
        return b"ok"

    with pytest.raises(RuntimeError):
        await cache.run("k", b"b", fail)
    assert await cache.run("k", b"b", ok) == b"ok"


# ------------------------------------------------------------------------------------------------- CLI
CLI_CASES = [
    (["serve"], {"host": None, "port": None, "workers": None}),
    (
        ["serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "3"],
        {"host": "0.0.0.0", "port": 9000, "workers": 3},
    ),
    (["serve", "--log-level", "debug"], {"log_level": "debug"}),
]


@pytest.mark.parametrize(("argv", "expected"), CLI_CASES)
def test_cli_serve_flags(argv: list[str], expected: dict[str, Any]) -> None:
    args = build_parser().parse_args(argv)
    assert {key: getattr(args, key) for key in expected} == expected
    assert callable(args.func)
