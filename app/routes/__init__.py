"""HTTP routes: thin handlers that translate the wire format, call the pool and return."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request

from app.schemas import ErrorResponse
from app.service import Service

T = TypeVar("T")
BIG_BODY = 1 << 20  # bodies larger than this are parsed in a thread, so /health stays responsive


async def parse_off_loop(parse: Callable[[bytes], T], body: bytes) -> T:
    """``parse(body)``, in a worker thread when the body is large (the GIL is shared, but the event loop
    gets its turn every switch interval instead of waiting for the whole parse)."""
    if len(body) > BIG_BODY:
        return await asyncio.to_thread(parse, body)
    return parse(body)


def service_of(request: Request) -> Service:
    """The :class:`~app.service.Service` of the app serving ``request``."""
    service: Service = request.app.state.service
    return service


def request_body(component: str) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON (optionally gzip-encoded) body of schema ``component``."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
            "description": "JSON; may be sent with `Content-Encoding: gzip`.",
        }
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "model": ErrorResponse}
    for status, text in (
        (400, "Corrupt or truncated gzip body."),
        (401, "Missing or wrong bearer token."),
        (409, "request_id reused with a different body."),
        (413, "Body or batch over the configured limits."),
        (415, "Unsupported Content-Encoding."),
        (422, "Body breaks the schema; `detail` names the fields."),
        (503, "Saturated or not ready; retry after `Retry-After` seconds."),
    )
}
