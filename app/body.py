"""Read a request body under a size limit, decoding ``Content-Encoding: gzip`` with the same limit.

The limit applies twice: to the bytes on the wire (Content-Length, then counted while streaming, since a
chunked body has no length) and to the decompressed bytes, so a decompression bomb stops at the limit
instead of filling memory.

Bytes in flight are bounded too (:class:`BytesInFlight`): every body, raw and decompressed, is reserved
against one service-wide budget before it is read, and held until its response is sent, so many
concurrent large requests get 503 + Retry-After instead of growing the process. One request is always
admitted when nothing else holds the budget.
"""

from __future__ import annotations

import asyncio
import zlib

from starlette.requests import Request

_THREAD_BYTES = 1 << 20  # decompress bodies larger than this in a thread (zlib releases the GIL)


class BytesBusy(Exception):
    """Too many request bytes are in flight; retry later (HTTP 503)."""


class BytesInFlight:
    """The service-wide budget of request body bytes held by requests not yet answered.

    Example:
        >>> budget = BytesInFlight(6400)
        >>> first, second = budget.reservation(), budget.reservation()
        >>> first.take(6000); second.take(500)
        Traceback (most recent call last):
        ...
        app.body.BytesBusy: 6000 request bytes in flight; at most 6400
        >>> second.take(100); budget.used  # a small body fits in the headroom
        6100
        >>> first.release(); second.take(500); budget.used
        600
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def reservation(self) -> Reservation:
        """A new, empty reservation for one request."""
        return Reservation(self)


class Reservation:
    """The bytes one request holds in a :class:`BytesInFlight` budget."""

    def __init__(self, budget: BytesInFlight) -> None:
        self.budget = budget
        self.held = 0

    def take(self, n: int) -> None:
        """Hold ``n`` more bytes; refused when others hold bytes and the total would pass the limit (a
        quarter more for a body of at most 1/64 of the limit).

        Raises:
            BytesBusy: the budget is spent.
        """
        budget = self.budget
        others = budget.used - self.held
        # small bodies (a trainer's usual batch) get a quarter more room, so a flood of large ones never
        # shuts them out
        small = self.held + n <= budget.limit // 64
        cap = budget.limit + budget.limit // 4 if small else budget.limit
        if others and budget.used + n > cap:
            raise BytesBusy(f"{budget.used} request bytes in flight; at most {budget.limit}")
        budget.used += n
        self.held += n

    def room(self) -> int:
        """Bytes this request could still take (when others hold bytes)."""
        if self.budget.used == self.held:
            return 1 << 62
        return max(0, self.budget.limit - self.budget.used)

    def release(self) -> None:
        """Give everything back (once the response is sent)."""
        self.budget.used -= self.held
        self.held = 0


RESERVATION = "body_reservation"  # key of the request's Reservation in the ASGI scope's state


class BodyTooLarge(Exception):
    """The body, raw or decompressed, is over ``max_body_bytes`` (HTTP 413)."""


class BadEncoding(Exception):
    """An unsupported Content-Encoding (HTTP 415) or a corrupt gzip stream (HTTP 400)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, decompressed, at most ``limit`` bytes, held against the bytes-in-flight budget
    when the middleware gave the request a reservation.

    Raises:
        BodyTooLarge: over the limit before or after decompression.
        BadEncoding: an encoding other than gzip/identity, or a corrupt gzip stream.
        BytesBusy: too many request bytes in flight.

    Example:
        >>> body = await read_body(request, 64 << 20)  # doctest: +SKIP
    """
    reservation: Reservation | None = request.scope.get("state", {}).get(RESERVATION)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip"):
        raise BadEncoding(f"unsupported Content-Encoding {encoding[:32]!r}; use gzip or none", 415)
    declared = request.headers.get("content-length")
    reserved = 0
    if declared is not None and declared.isdigit():
        if len(declared) > 18 or int(declared) > limit:
            raise BodyTooLarge(f"body of {declared[:24]} bytes; at most {limit}")
        if reservation is not None:
            reservation.take(int(declared))
            reserved = int(declared)
    parts: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(f"body over {limit} bytes")
        if reservation is not None and total > reserved:
            reservation.take(total - reserved)
            reserved = total
        parts.append(chunk)
    body = b"".join(parts)
    if encoding in ("gzip", "x-gzip"):
        cap = limit if reservation is None else min(limit, reservation.room())
        try:
            if len(body) > _THREAD_BYTES:
                out = await asyncio.to_thread(gunzip, body, cap)
            else:
                out = gunzip(body, cap)
        except BodyTooLarge:
            if cap < limit:  # within the limit, but not within what is left of the budget now
                raise BytesBusy("too many request bytes in flight to decompress this body now") from None
            raise
        if reservation is not None:
            reservation.take(len(out))
        return out
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
