"""``GET /health``: 200 once the workers (and so sympy and the fastText model) are up, 503 otherwise.

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
    """Readiness and liveness: ``{"status": "ok", "workers": n, ...}``; no token needed."""
    pool = service_of(request).pool
    body: dict[str, Any] = {
        "status": "ok" if pool.ready else "unavailable",
        "workers": pool.alive,
        "workers_configured": pool.size,
        "pending_items": pool.pending,
    }
    if pool.sandbox is not None:  # None: a scorer without the code component
        body["code_sandbox"] = pool.sandbox
    return json_response(200 if pool.ready else 503, body)
