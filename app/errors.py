"""Exception handlers: every refusal is a short JSON body that never echoes the input or a stack trace."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.body import BadEncoding, BodyTooLarge, BytesBusy
from app.idempotency import IdConflict
from app.schemas import BatchTooLarge, RequestInvalid, error_entry
from app.scoring import PoolClosed, Saturated

logger = logging.getLogger(__name__)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response serialised with orjson.

    Example:
        >>> json_response(413, {"detail": "too big"}).status_code
        413
    """
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def install(app: FastAPI, retry_after: int) -> None:
    """Register the handlers on ``app``."""

    async def invalid(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestInvalid)
        return json_response(422, {"detail": exc.errors})

    async def fastapi_invalid(_: Request, exc: Exception) -> Response:
        # FastAPI's default handler echoes the whole input back (60 kB for a 60 kB field): never that.
        assert isinstance(exc, RequestValidationError)
        entries = [
            error_entry(tuple(e.get("loc", ())), str(e.get("msg", "")), str(e.get("type", "")))
            for e in exc.errors()
        ]
        return json_response(422, {"detail": entries[:10]})

    # The body may be left unread on the connection: close it, or its bytes would be read as the next request.
    async def too_large(_: Request, exc: Exception) -> Response:
        return json_response(413, {"detail": str(exc)}, {"Connection": "close"})

    async def bad_encoding(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadEncoding)
        return json_response(exc.status, {"detail": str(exc)}, {"Connection": "close"})

    async def saturated(_: Request, exc: Exception) -> Response:
        return json_response(
            503,
            {"detail": "saturated: too many items pending, retry later"},
            {"Retry-After": str(retry_after)},
        )

    async def bytes_busy(_: Request, exc: Exception) -> Response:
        return json_response(
            503,
            {"detail": "saturated: too many request bytes in flight, retry later"},
            {"Retry-After": str(retry_after)},
        )

    async def closed(_: Request, exc: Exception) -> Response:
        return json_response(503, {"detail": "the service is not ready"}, {"Retry-After": str(retry_after)})

    async def conflict(_: Request, exc: Exception) -> Response:
        return json_response(409, {"detail": str(exc)})

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return json_response(exc.status_code, {"detail": str(exc.detail)[:200]}, dict(exc.headers or {}))

    app.add_exception_handler(RequestInvalid, invalid)
    app.add_exception_handler(RequestValidationError, fastapi_invalid)
    app.add_exception_handler(BodyTooLarge, too_large)
    app.add_exception_handler(BatchTooLarge, too_large)
    app.add_exception_handler(BadEncoding, bad_encoding)
    app.add_exception_handler(Saturated, saturated)
    app.add_exception_handler(BytesBusy, bytes_busy)
    app.add_exception_handler(PoolClosed, closed)
    app.add_exception_handler(IdConflict, conflict)
    app.add_exception_handler(StarletteHTTPException, http_error)
