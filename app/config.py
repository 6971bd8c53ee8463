"""Service settings: one :class:`Settings` class read from ``VREWARDS_*`` environment variables.

Every limit has a safe default and a validator that refuses values that would disable it (a zero timeout, a
negative size, a memory bound too small to load sympy and fastText). Settings are immutable once built.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rewards.config import CodeLimits

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

    # -- code execution (the "code" reward component; items with "tests")
    code_weight: float = Field(default=1.0, description="Default weight of the code reward.")
    code_mode: Literal["all", "fraction"] = Field(default="all", description="Default code mode.")
    code_sandbox: Literal["bwrap", "none"] = Field(
        default="bwrap",
        description="bwrap: every program in a bubblewrap sandbox (needs user namespaces). none: no "
        "namespaces (rlimits and seccomp only), for containers that are isolated as a whole.",
    )
    code_bwrap: str = Field(default="bwrap", description="The bubblewrap executable (name on PATH, or path).")
    code_workers: int | None = Field(
        default=None,
        ge=1,
        le=512,
        description="Most workers running programs at once (default: half the workers, at least 1); "
        "the others stay free for math items. Each worker runs one sandbox at a time.",
    )
    code_time_limit_s: float = Field(default=2.0, gt=0, le=60, description="Per-case time limit by default.")
    code_max_time_limit_s: float = Field(
        default=10.0, gt=0, le=60, description="Largest per-case time limit a test set may ask for."
    )
    code_memory_mb: int = Field(default=256, ge=32, description="Per-case memory limit by default (MiB).")
    code_max_memory_mb: int = Field(
        default=512, ge=32, description="Largest per-case memory limit a test set may ask for (MiB)."
    )
    code_max_cases: int = Field(default=64, ge=1, le=10_000, description="Most cases in one test set.")
    code_max_tests_chars: int = Field(
        default=1_000_000, ge=1, description="Most characters of inputs and outputs in one test set."
    )
    code_max_total_s: float = Field(
        default=60.0, gt=0, le=3600, description="Most seconds of per-case limits summed over one test set."
    )
    code_output_bytes: int = Field(
        default=1 << 20, ge=1024, le=256 << 20, description="Stdout cap of one case (bytes)."
    )

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
    get_reward_max_items: int = Field(
        default=32_768,
        ge=1,
        le=1_000_000,
        description="Most queries in one /get_reward request (else 413): a whole OpenRLHF <= 0.9 rollout.",
    )
    get_reward_max_body_bytes: int = Field(
        default=256 * MiB,
        ge=1024,
        le=4096 * MiB,
        description="Largest /get_reward body, after gzip decoding (else 413).",
    )
    get_reward_chunk_items: int = Field(
        default=1024,
        ge=1,
        le=65_536,
        description="A large /get_reward request is scored in pool calls of at most this many items.",
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

    @model_validator(mode="after")
    def _code_bounds(self) -> Settings:
        if self.code_time_limit_s > self.code_max_time_limit_s:
            raise ValueError("code_time_limit_s must be at most code_max_time_limit_s")
        if self.code_memory_mb > self.code_max_memory_mb:
            raise ValueError("code_memory_mb must be at most code_max_memory_mb")
        return self

    def code_limits(self) -> CodeLimits:
        """The code component's bounds and sandbox, as the workers apply them. A program's memory limit
        stays 128 MiB below ``worker_memory_mb`` (the worker's own bound, which the sandbox inherits).

        Example:
            >>> Settings(code_sandbox="none").code_limits().sandbox
            'none'
        """
        max_memory = max(32, min(self.code_max_memory_mb, self.worker_memory_mb - 128))
        return CodeLimits(
            sandbox=self.code_sandbox,
            bwrap=self.code_bwrap,
            time_limit_s=self.code_time_limit_s,
            max_time_limit_s=self.code_max_time_limit_s,
            memory_mb=min(self.code_memory_mb, max_memory),
            max_memory_mb=max_memory,
            max_cases=self.code_max_cases,
            max_tests_chars=self.code_max_tests_chars,
            max_total_s=self.code_max_total_s,
            output_bytes=self.code_output_bytes,
        )

    @field_validator("accuracy_weight", "format_weight", "language_weight", "code_weight", "null_reward")
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
            "code": {"weight": self.code_weight, "mode": self.code_mode},
        }
