"""The client's exception tree. httpx exceptions are translated once, in :mod:`trainer_client.client`.

::

    RewardServiceError                  anything the client raises on purpose
    ├── TransportError                  connection failures and timeouts, after every retry
    ├── HTTPStatusError                 the service answered with an error status (.status_code, .message)
    │   ├── BadRequestError             4xx the caller must fix (400, 404, 422, ...): the server's message
    │   ├── AuthenticationError         401/403: token missing or wrong
    │   ├── PayloadTooLargeError        413: body or batch over the service's limits (lower chunk_size)
    │   └── ServiceUnavailableError     503/429 (and 408) still refused after every retry
    └── ProtocolError                   a 2xx response the client cannot trust: malformed JSON, wrong number
                                        of results, ids not echoed in order

Per-item failures are not exceptions: they arrive as ``ScoreResult.error``.
"""

from __future__ import annotations


class RewardServiceError(Exception):
    """Base class of every error the client raises."""


class TransportError(RewardServiceError):
    """The service could not be reached (connection refused, reset, timed out) after every retry."""


class ProtocolError(RewardServiceError):
    """The service answered 2xx, but the body breaks the wire contract."""


class HTTPStatusError(RewardServiceError):
    """The service answered with an error status.

    Attributes:
        status_code: the HTTP status.
        message: the server's own message (its JSON ``detail``/``message``, else the start of the body).
        url: the URL that answered.
    """

    def __init__(self, status_code: int, message: str, url: str = "") -> None:
        self.status_code = status_code
        self.message = message
        self.url = url
        where = f" from {url}" if url else ""
        super().__init__(f"HTTP {status_code}{where}: {message}")


class BadRequestError(HTTPStatusError):
    """A 4xx the caller must fix: retrying the same request cannot succeed."""


class AuthenticationError(HTTPStatusError):
    """401/403: the bearer token is missing or wrong."""


class PayloadTooLargeError(HTTPStatusError):
    """413: the body or batch is over the service's limits; lower ``chunk_size``."""


class ServiceUnavailableError(HTTPStatusError):
    """503/429/408 (the service shed load) and still refused after every retry."""


def error_for_status(status_code: int, message: str, url: str = "") -> HTTPStatusError:
    """The exception class that matches an error status.

    Example:
        >>> type(error_for_status(413, "too many items")).__name__
        'PayloadTooLargeError'
    """
    if status_code in (401, 403):
        return AuthenticationError(status_code, message, url)
    if status_code == 413:
        return PayloadTooLargeError(status_code, message, url)
    if status_code in (408, 429, 503):
        return ServiceUnavailableError(status_code, message, url)
    if 400 <= status_code < 500:
        return BadRequestError(status_code, message, url)
    return HTTPStatusError(status_code, message, url)


__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "HTTPStatusError",
    "PayloadTooLargeError",
    "ProtocolError",
    "RewardServiceError",
    "ServiceUnavailableError",
    "TransportError",
    "error_for_status",
]
