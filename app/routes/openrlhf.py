"""``POST /get_reward``: OpenRLHF's remote reward-model protocol (``--reward.remote_url``), micro-batched.

Request ``{"query": [...], "prompts": [...], "labels": [...]}`` (``prompts`` and ``labels`` optional);
response ``{"rewards": [...], "scores": [...], "extra_logs": {...}}``, one number per query in each list.
``rewards`` is the weighted reward, ``scores`` the raw correctness (what OpenRLHF's dynamic filtering
averages per group): the accuracy, or for a code item (one with ``tests``) the code score. A null (a
judgement that could not be made, an item error) becomes ``null_reward`` (default 0.0), and
``extra_logs.masked`` is 1.0 where the reward itself was null.

Every ``extra_logs`` value is a number, and every response has the same keys: OpenRLHF (0.9 and 0.11) turns
each value into a tensor (a null there stops its rollout) and concatenates them per key across samples. A
null component is therefore sent as ``null_reward`` with its own flag beside it (``accuracy_null``,
``language_null``, ``code_null``: 1.0 when that score is null), so a chart can leave it out.

Labels: ``""`` (what OpenRLHF sends without ``--label_key``) or ``null`` is no reference; a number is its
text; a list is several acceptable answers; a JSON object (or a string holding one) with ``kind`` and
``cases`` is a code test spec, sent to the scorer as the item's ``tests``.

One request may hold a whole rollout (OpenRLHF <= 0.9 sends every sample of a step at once): it is scored
in pool calls of ``get_reward_chunk_items``, at most :data:`CHUNKS_IN_FLIGHT` at a time, so requests from
other actors still get their turn in the pool.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.body import read_body
from app.chat import split_query
from app.microbatch import MicroBatcher
from app.records import ScoredResult, WireItem
from app.routes import ERRORS, parse_off_loop, request_body, service_of
from app.schemas import (
    GetRewardRequest,
    GetRewardResponse,
    ScoreJob,
    as_reference,
    json_values_limit,
    make_job,
    parse_get_reward_request,
    parse_json,
)

router = APIRouter()

CHUNKS_IN_FLIGHT = 2

Label = str | int | float | list[str | int | float] | dict[str, Any] | None


def label_reference(label: Label) -> tuple[str | list[str] | None, dict[str, Any] | None]:
    """``(answer, tests)`` of one OpenRLHF label.

    Example:
        >>> label_reference(""), label_reference(42), label_reference(["12", 12.5])
        ((None, None), ('42', None), (['12', '12.5'], None))
        >>> label_reference('{"kind": "stdin_stdout", "cases": [{"input": "1", "output": "1"}]}')[1]["kind"]
        'stdin_stdout'
    """
    if label is None:
        return None, None
    if isinstance(label, dict):
        return (None, label) if _is_test_spec(label) else (orjson.dumps(label).decode(), None)
    if isinstance(label, list):
        return as_reference([_text(v) for v in label if _text(v).strip()] or None), None
    text = _text(label)
    if not text.strip():
        return None, None
    if text.lstrip().startswith("{"):
        try:
            spec = orjson.loads(text)
        except orjson.JSONDecodeError:
            spec = None
        if isinstance(spec, dict) and _is_test_spec(spec):
            return None, spec
    return text, None


def _text(value: str | int | float) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _is_test_spec(value: dict[str, Any]) -> bool:
    return isinstance(value.get("kind"), str) and isinstance(value.get("cases"), list)


def wire_item(completion: str, prompt: str | None, label: Label) -> WireItem:
    """The item for one query: the label as its reference answer(s), or as its ``tests``.

    Example:
        >>> wire_item("print(1)", None, {"kind": "stdin_stdout", "cases": []}).tests["kind"]
        'stdin_stdout'
    """
    answer, tests = label_reference(label)
    return WireItem(completion, prompt, answer, tests=tests)


def openrlhf_response(results: list[ScoredResult], fallback: float) -> dict[str, Any]:
    """OpenRLHF's response body from our results; nulls become ``fallback`` and are flagged.

    Example:
        >>> body = openrlhf_response([ScoredResult(b"", None, None, 1.0, None, "timeout", None)], 0.0)
        >>> body["extra_logs"]["masked"], body["extra_logs"]["language_null"]
        ([1.0], [1.0])
    """

    def column(values: list[float | None]) -> list[float]:
        # never null, never inf/NaN (which JSON cannot carry): the fallback instead
        return [fallback if v is None or not math.isfinite(v) else float(v) for v in values]

    def nulls(values: list[float | None]) -> list[float]:
        return [1.0 if v is None else 0.0 for v in values]

    accuracy = [r.accuracy for r in results]
    language = [r.language for r in results]
    code = [r.code for r in results]
    return {
        "rewards": column([r.reward for r in results]),
        "scores": column([a if a is not None else c for a, c in zip(accuracy, code, strict=True)]),
        "extra_logs": {
            "accuracy": column(accuracy),
            "format": column([r.format for r in results]),
            "language": column(language),
            "code": column(code),
            "accuracy_null": nulls(accuracy),
            "language_null": nulls(language),
            "code_null": nulls(code),
            "masked": nulls([r.reward for r in results]),
        },
    }


async def score_in_chunks(
    batcher: MicroBatcher, items: list[WireItem], config: Any, chunk_items: int
) -> list[ScoredResult]:
    """Score ``items`` through the micro-batcher in calls of at most ``chunk_items``, a few at a time."""
    if len(items) <= chunk_items:
        return await batcher.score(items, config)
    gate = asyncio.Semaphore(CHUNKS_IN_FLIGHT)

    async def one(start: int) -> list[ScoredResult]:
        async with gate:
            return await batcher.score(items[start : start + chunk_items], config)

    tasks = [asyncio.ensure_future(one(start)) for start in range(0, len(items), chunk_items)]
    try:
        parts = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return [result for part in parts for result in part]


@router.post(
    "/get_reward",
    response_model=GetRewardResponse,
    responses=ERRORS,
    openapi_extra=request_body("GetRewardRequest"),
    summary="OpenRLHF remote reward model",
)
async def get_reward(request: Request) -> Response:
    """Score OpenRLHF queries; concurrent requests are scored together in one pool batch."""
    service = service_of(request)
    settings = service.settings
    body = await read_body(request, settings.get_reward_max_body_bytes)

    def parse(raw: bytes) -> tuple[GetRewardRequest, ScoreJob]:
        # Splitting and EOS stripping are linear but proportional to the body: with the parse, off the
        # event loop when the body is large.
        limit = settings.get_reward_max_items
        req = parse_get_reward_request(parse_json(raw, json_values_limit(limit)), max_items=limit)
        queries = req["query"]
        none: list[None] = [None] * len(queries)
        prompts: list[str | None] = [*(req.get("prompts") or none)]
        labels: list[Label] = [*(req.get("labels") or none)]
        rows: list[WireItem] = []
        for query, given_prompt, label in zip(queries, prompts, labels, strict=True):
            prompt, completion = split_query(query, given_prompt)
            rows.append(wire_item(completion, prompt, label))
        return req, make_job(rows, settings.max_completion_chars)

    req, job = await parse_off_loop(parse, body)
    config = service.reward_config(req.get("rewards"))
    request.state.items = job.size
    request.state.body_request_id = req.get("request_id")

    async def compute() -> bytes:
        scored = await score_in_chunks(service.batcher, job.items, config, settings.get_reward_chunk_items)
        results = job.merge(scored)
        service.metrics.observe_results("/get_reward", results)
        return orjson.dumps(openrlhf_response(results, settings.null_reward))

    request_id = req.get("request_id")
    key = f"get_reward:{request_id}" if request_id is not None else None
    payload = await service.cache.run(key, body, compute)
    return Response(payload, media_type="application/json")


__all__ = ["label_reference", "openrlhf_response", "router", "score_in_chunks"]
