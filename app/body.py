"""Read a request body under a size limit, decoding ``Content-Encoding: gzip`` with the same limit.

The limit applies twice: to the bytes on the wire (Content-Length, then counted while streaming, since a
chunked body has no length) and to the decompressed bytes, so a decompression bomb stops at the limit
instead of filling memory.
"""

from __future__ import annotations

import asyncio
import zlib

from starlette.requests import Request

_THREAD_BYTES = 1 << 20  # decompress bodies larger than this in a thread (zlib releases the GIL)


class BodyTooLarge(Exception):
    """The body, raw or decompressed, is over ``max_body_bytes`` (HTTP 413)."""


class BadEncoding(Exception):
    """An unsupported Content-Encoding (HTTP 415) or a corrupt gzip stream (HTTP 400)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, decompressed, at most ``limit`` bytes.

    Raises:
        BodyTooLarge: over the limit before or after decompression.
        BadEncoding: an encoding other than gzip/identity, or a corrupt gzip stream.

    Example:
        >>> body = await read_body(request, 64 << 20)  # doctest: +SKIP
    """
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip"):
        raise BadEncoding(f"unsupported Content-Encoding {encoding[:32]!r}; use gzip or none", 415)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body of {declared} bytes; at most {limit}")
    parts: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(f"body over {limit} bytes")
        parts.append(chunk)
    body = b"".join(parts)
    if encoding in ("gzip", "x-gzip"):
        if len(body) > _THREAD_BYTES:
            return await asyncio.to_thread(gunzip, body, limit)
        return gunzip(body, limit)
    return body


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip ``data``, refusing more than ``limit`` bytes of output.

    Example:
        >>> import gzip
        >>> gunzip(gzip.compress(b"hello"), 10)
        b'hello'
    """
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decoder.decompress(data, limit + 1)
    except zlib.error:
        raise BadEncoding("corrupt gzip body", 400) from None
    if len(out) > limit:
        raise BodyTooLarge(f"body over {limit} bytes once decompressed")
    if not decoder.eof:
        raise BadEncoding("truncated gzip body", 400)
    return out
