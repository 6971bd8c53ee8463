"""``POST /score``: a batch of items in, one result per item out, in order (API.md)."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.body import read_body
from app.routes import ERRORS, parse_off_loop, request_body, service_of
from app.schemas import ScoreJob, ScoreResponse, json_values_limit, parse_json, parse_score_request

router = APIRouter()


@router.post(
    "/score",
    response_model=ScoreResponse,
    responses=ERRORS,
    openapi_extra=request_body("ScoreRequest"),
    summary="Score a batch of completions",
)
async def score(request: Request) -> Response:
    """Score every item; an item that cannot be scored gets its own ``error`` and the others are unaffected."""
    service = service_of(request)
    settings = service.settings
    body = await read_body(request, settings.max_body_bytes)

    def parse(raw: bytes) -> ScoreJob:
        data = parse_json(raw, json_values_limit(settings.max_batch_items))
        return parse_score_request(
            data, max_items=settings.max_batch_items, max_chars=settings.max_completion_chars
        )

    job = await parse_off_loop(parse, body)
    config = service.reward_config(job.rewards)
    if job.explain:
        config = dataclasses.replace(config, explain=True)
    request.state.items = job.size
    request.state.body_request_id = job.request_id

    async def compute() -> bytes:
        results = job.merge(await service.pool.score(job.items, config))
        service.metrics.observe_results("/score", results)
        return b'{"results":[' + b",".join(r.payload for r in results) + b"]}"

    key = f"score:{job.request_id}" if job.request_id is not None else None
    payload = await service.cache.run(key, body, compute)
    return Response(payload, media_type="application/json")
