"""``create_app(settings) -> FastAPI``: the reward service as an ASGI app.

Example:
    >>> app = create_app(Settings(workers=2))  # doctest: +SKIP
    >>> uvicorn.run(app)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app import errors
from app.config import Settings
from app.middleware import OPEN_ROUTES, ServiceMiddleware
from app.routes import health, metrics, openrlhf, score
from app.schemas import openapi_schemas
from app.service import Service
from app.ui import routes as ui

VERSION = "0.1.0"
DESCRIPTION = (
    "DeepSeek-R1's rule-based rewards (math accuracy, `<think>` format, language consistency) for RL "
    "post-training. Every item is scored in a worker process under a hard deadline; one bad item never "
    "fails the batch."
)


def create_app(settings: Settings | None = None, *, scorer: str = "rewards") -> FastAPI:
    """Build the app; the lifespan starts (and warms) the scoring workers and stops them.

    Args:
        settings: service settings; default: read from ``VREWARDS_*`` environment variables.
        scorer: module providing the scoring API (``Item``, ``RewardConfig``, ``score_item``,
            ``timed_out_result``); ``rewards`` unless a test injects faults.

    Example:
        >>> app = create_app(Settings(workers=1))  # doctest: +SKIP
    """
    settings = settings or Settings()
    service = Service(settings, scorer)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="verifiable-rewards",
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by app.ui from packaged assets, not from a CDN
        redoc_url=None,
    )
    app.state.service = service
    errors.install(app, settings.retry_after_s)
    for module in (score, openrlhf, health, metrics, ui):
        app.include_router(module.router)
    token = settings.api_token.get_secret_value() if settings.api_token else None
    open_routes = OPEN_ROUTES | ui.UI_ROUTES  # the pages hold no data; they call the API with the token
    if settings.metrics_public:
        open_routes |= {"/metrics"}
    app.add_middleware(
        ServiceMiddleware,
        token=token,
        open_routes=open_routes,
        observe=service.metrics.observe_request,
        max_headers=settings.max_headers,
        budget=service.inflight,
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(openapi_schemas())
            if token is not None:
                schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
                schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
