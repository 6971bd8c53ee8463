"""Service settings: one :class:`Settings` class read from ``VREWARDS_*`` environment variables.

Every limit has a safe default and a validator that refuses values that would disable it (a zero timeout, a
negative size, a memory bound too small to load sympy and fastText). Settings are immutable once built.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["critical", "error", "warning", "info", "debug"]

MiB = 1024 * 1024


def _default_workers() -> int:
    """CPUs this process may run on (its affinity mask, which containers often narrow), else all CPUs."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    """Everything the service can be configured with; see the README's settings table.

    Example:
        >>> Settings(workers=2, item_timeout_s=2.0).workers
        2
    """

    model_config = SettingsConfigDict(env_prefix="VREWARDS_", frozen=True, extra="ignore")

    # -- network
    host: str = Field(default="127.0.0.1", description="Interface to bind.")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port (0 picks a free one).")

    # -- scoring workers
    workers: int = Field(
        default_factory=_default_workers,
        ge=1,
        le=512,
        description="Scoring worker processes (default: CPUs).",
    )
    item_timeout_s: float = Field(
        default=5.0, gt=0, le=600, description="Hard deadline for one item in a worker."
    )
    worker_memory_mb: int = Field(
        default=1024,
        ge=256,
        le=1024 * 1024,
        description="Address-space limit (RLIMIT_AS) of each worker, in MiB.",
    )
    chunk_items: int = Field(
        default=64, ge=1, le=65536, description="Most items sent to a worker in one message."
    )

    # -- request limits
    max_batch_items: int = Field(
        default=4096, ge=1, le=1_000_000, description="Most items in one request (else 413)."
    )
    max_body_bytes: int = Field(
        default=64 * MiB,
        ge=1024,
        le=4096 * MiB,
        description="Largest request body, after gzip decoding (else 413).",
    )
    max_completion_chars: int = Field(
        default=4_000_000,
        ge=1,
        description="Longest completion scored; a longer one gets the item error completion_too_long.",
    )
    max_pending_items: int = Field(
        default=65_536,
        ge=1,
        description="Items queued or being scored beyond which requests get 503 + Retry-After.",
    )
    retry_after_s: int = Field(
        default=1, ge=1, le=3600, description="Retry-After sent with 503 when saturated."
    )

    # -- connections and bytes in flight (what no client may exceed; see the README's reliability section)
    max_connections: int = Field(
        default=1024,
        ge=8,
        le=1_000_000,
        description="Open connections; beyond it the oldest idle one is closed, or the new one gets 503.",
    )
    max_header_bytes: int = Field(
        default=64 * 1024, ge=1024, le=MiB, description="Largest request head (line + headers), else 431."
    )
    max_headers: int = Field(default=100, ge=8, le=10_000, description="Most request headers, else 431.")
    header_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="Time for a request's head to arrive, else 408 and close."
    )
    body_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Time for a request's body to arrive (else 408 and close) and for the client to take "
        "its response (else the connection is aborted).",
    )
    max_inflight_bytes: int = Field(
        default=128 * MiB,
        ge=MiB,
        le=64 * 1024 * MiB,
        description="Request body bytes held by unanswered requests beyond which new ones get 503.",
    )
    http_parser: Literal["httptools", "h11"] = Field(
        default="httptools", description="HTTP/1.1 parser under the connection limits."
    )

    # -- auth
    api_token: SecretStr | None = Field(
        default=None,
        description="Bearer token required on /score, /get_reward and /metrics (/health, /docs, /openapi.json stay open).",
    )
    metrics_public: bool = Field(default=False, description="Serve /metrics without the token.")

    # -- default rewards (used when a request has no "rewards" block)
    accuracy_weight: float = Field(default=1.0, description="Default weight of the accuracy reward.")
    format_weight: float = Field(default=0.5, description="Default weight of the format reward.")
    language_weight: float = Field(
        default=0.1, description="Default weight of the language-consistency reward."
    )
    format_mode: Literal["think", "think_answer"] = Field(default="think", description="Default format mode.")

    # -- OpenRLHF /get_reward
    microbatch_window_ms: float = Field(
        default=5.0,
        ge=0,
        le=1000,
        description="How long /get_reward collects concurrent requests into one batch.",
    )
    microbatch_max_items: int = Field(
        default=1024, ge=1, description="A micro-batch is sent as soon as it has this many."
    )
    null_reward: float = Field(
        default=0.0, description="Number /get_reward sends where a reward or score is null."
    )

    # -- idempotency (request_id)
    idempotency_cache_size: int = Field(
        default=1024, ge=0, description="Responses kept for request_id retries (0: off)."
    )
    idempotency_cache_mb: int = Field(
        default=256, ge=0, description="Most MiB of stored responses kept for request_id retries."
    )
    idempotency_ttl_s: float = Field(
        default=600.0, gt=0, description="How long a response is kept for retries."
    )

    # -- logging
    log_level: LogLevel = Field(default="info", description="Log level.")
    log_json: bool = Field(default=True, description="One JSON object per log line.")

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("accuracy_weight", "format_weight", "language_weight", "null_reward")
    @classmethod
    def _finite(cls, value: float) -> float:
        if value != value or abs(value) > 1e6:
            raise ValueError("must be a finite number of magnitude at most 1e6")
        return value

    @field_validator("api_token")
    @classmethod
    def _token_strength(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if secret == "":
            return None  # VREWARDS_API_TOKEN= (empty) means "no token", as unset does
        if len(secret) < 16 or secret.strip() != secret:
            raise ValueError("must be at least 16 characters without surrounding whitespace")
        return value

    def default_rewards(self) -> dict[str, Any]:
        """The ``rewards`` block used for a request that sends none (API.md's default unless overridden).

        Example:
            >>> Settings(format_weight=0.0).default_rewards()["format"]
            {'weight': 0.0, 'mode': 'think'}
        """
        return {
            "accuracy": {"weight": self.accuracy_weight},
            "format": {"weight": self.format_weight, "mode": self.format_mode},
            "language": {"weight": self.language_weight},
        }
