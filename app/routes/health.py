"""``GET /health``: liveness and readiness in one answer.

200 while the service is live: ``status`` is ``ok`` when every worker is up and the queue has room, and
``busy`` while workers are being replaced or the queue is full (requests then wait or get 503 +
Retry-After). 503 (``unavailable``) only before the workers first come up and once the service is
stopping, so an orchestrator never restarts a live service because its workers are being replaced.

``code_sandbox`` says whether programs can be judged here (``available``), under which ``backend``
(``bwrap`` or ``none``) and why not (``detail``); a service whose sandbox cannot start still scores math,
so it stays 200, and its code items get ``sandbox_unavailable``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.errors import json_response
from app.routes import service_of
from app.schemas import HealthResponse

router = APIRouter()


@router.get("/health", response_model=HealthResponse, responses={503: {"description": "Not ready."}})
async def health(request: Request) -> Response:
    """``{"status": "ok" | "busy" | "unavailable", "workers": n, ...}``; no token needed."""
    pool = service_of(request).pool
    if not pool.live:
        status = "unavailable"
    elif pool.alive < pool.size or pool.pending >= pool.max_pending_items:
        status = "busy"
    else:
        status = "ok"
    body: dict[str, Any] = {
        "status": status,
        "workers": pool.alive,
        "workers_configured": pool.size,
        "pending_items": pool.pending,
    }
    if pool.sandbox is not None:  # None: a scorer without the code component
        body["code_sandbox"] = pool.sandbox
    return json_response(503 if status == "unavailable" else 200, body)
