"""``GET /metrics``: Prometheus text exposition of this app's registry."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.metrics import CONTENT_TYPE
from app.routes import service_of

router = APIRouter()


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
async def metrics(request: Request) -> Response:
    """Requests, items, latencies, reward distributions, outcomes, time-limit hits, restarts, queue depth."""
    return Response(service_of(request).metrics.render(), media_type=CONTENT_TYPE)
