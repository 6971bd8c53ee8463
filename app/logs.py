"""Structured logs: one JSON object per line, with the request's fields at the top level.

Example line: ``{"ts": "2026-11-24T09:00:00.123Z", "level": "info", "logger": "vrewards.access",
"msg": "request", "request_id": "4f2c...", "route": "/score", "status": 200, "items": 1024,
"latency_ms": 183.2}``
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

ACCESS = logging.getLogger("vrewards.access")

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line; ``extra={...}`` fields become top-level keys.

    Example:
        >>> handler.setFormatter(JsonFormatter())  # doctest: +SKIP
    """

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        out: dict[str, Any] = {
            "ts": f"{ts}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    """Plain text with the ``extra`` fields appended as ``key=value``; whatever a client could have sent
    (the message, every field) is escaped, so a newline in a request id cannot forge a log line.

    Example:
        >>> TextFormatter("%(message)s").format(logging.makeLogRecord({"msg": "m", "rid": "a\\nb"}))
        'm rid=a\\\\nb'
    """

    def format(self, record: logging.LogRecord) -> str:
        record.message = escape(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        base = self.formatMessage(record)
        extras = " ".join(
            f"{k}={escape(str(v))}"
            for k, v in record.__dict__.items()
            if k not in _STANDARD and not k.startswith("_")
        )
        line = f"{base} {extras}" if extras else base
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"  # our own traceback: kept multi-line
        return line


def escape(text: str, limit: int = 2048) -> str:
    """``text`` on one line: control characters and backslashes escaped, at most ``limit`` characters kept.

    Example:
        >>> escape("a\\nb\\x1b")
        'a\\\\nb\\\\x1b'
    """
    if len(text) > limit:
        text = f"{text[:limit]}...(+{len(text) - limit} chars)"
    if text.isprintable() and "\\" not in text:
        return text
    return text.encode("unicode_escape").decode("ascii")


def configure_logging(level: str = "info", json_lines: bool = True) -> None:
    """Send every log record (ours and uvicorn's) to stderr, as JSON lines or plain text.

    Example:
        >>> configure_logging("warning", json_lines=True)
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # one access line per request comes from us
