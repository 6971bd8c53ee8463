"""``POST /get_reward``: OpenRLHF's remote reward-model protocol (``--remote_rm_url``), micro-batched.

Request ``{"query": [...], "prompts": [...], "labels": [...]}`` (``prompts`` and ``labels`` optional);
response ``{"rewards": [...], "scores": [...], "extra_logs": {...}}``, one number per query in each list.
``rewards`` is the weighted reward, ``scores`` the raw accuracy (what OpenRLHF's dynamic filtering
averages per group); a null (accuracy that cannot be judged, an item error) becomes ``null_reward``
(default 0.0) and ``extra_logs.masked`` is 1.0 for that sample.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.body import read_body
from app.chat import split_query
from app.records import ScoredResult, WireItem
from app.routes import ERRORS, parse_off_loop, request_body, service_of
from app.schemas import (
    GetRewardRequest,
    GetRewardResponse,
    ScoreJob,
    json_values_limit,
    make_job,
    parse_get_reward_request,
    parse_json,
)

router = APIRouter()


def openrlhf_response(results: list[ScoredResult], fallback: float) -> dict[str, Any]:
    """OpenRLHF's response body from our results; nulls become ``fallback``.

    Example:
        >>> openrlhf_response([ScoredResult(b"", None, None, 1.0, None, "timeout", None)], 0.0)["extra_logs"]["masked"]
        [1.0]
    """

    def column(values: list[float | None]) -> list[float]:
        # never null, never inf/NaN (which JSON cannot carry): the fallback instead
        return [fallback if v is None or not math.isfinite(v) else float(v) for v in values]

    accuracy = column([r.accuracy for r in results])
    return {
        "rewards": column([r.reward for r in results]),
        "scores": accuracy,
        "extra_logs": {
            "accuracy": accuracy,
            "format": column([r.format for r in results]),
            "language": column([r.language for r in results]),
            "masked": [1.0 if r.reward is None else 0.0 for r in results],
        },
    }


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
    body = await read_body(request, settings.max_body_bytes)

    def parse(raw: bytes) -> tuple[GetRewardRequest, ScoreJob]:
        # Splitting and EOS stripping are linear but proportional to the body: with the parse, off the
        # event loop when the body is large.
        req = parse_get_reward_request(
            parse_json(raw, json_values_limit(settings.max_batch_items)), max_items=settings.max_batch_items
        )
        queries = req["query"]
        none: list[None] = [None] * len(queries)
        prompts: list[str | None] = [*(req.get("prompts") or none)]
        labels: list[str | int | float | None] = [*(req.get("labels") or none)]
        rows: list[WireItem] = []
        for query, given_prompt, label in zip(queries, prompts, labels, strict=True):
            prompt, completion = split_query(query, given_prompt)
            rows.append(WireItem(completion, prompt, None if label is None else str(label)))
        return req, make_job(rows, settings.max_completion_chars)

    req, job = await parse_off_loop(parse, body)
    config = service.reward_config(req.get("rewards"))
    request.state.items = job.size
    request.state.body_request_id = req.get("request_id")

    async def compute() -> bytes:
        results = job.merge(await service.batcher.score(job.items, config))
        service.metrics.observe_results("/get_reward", results)
        return orjson.dumps(openrlhf_response(results, settings.null_reward))

    request_id = req.get("request_id")
    key = f"get_reward:{request_id}" if request_id is not None else None
    payload = await service.cache.run(key, body, compute)
    return Response(payload, media_type="application/json")
