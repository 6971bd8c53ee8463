"""A scorer with the ``rewards`` API whose items misbehave on request, to test the pool's isolation.

Completions starting with a command do what it says in the worker: ``sleep:S`` sleeps S seconds (only in
the full check; ``sleepall:S`` also in the degraded one), ``crash`` kills the worker with SIGSEGV, ``hog``
allocates past the worker's memory bound, ``raise`` raises. Any other completion scores accuracy 1.0 when it
ends with the reference answer. The records (Item, ItemResult, ConfigError) are the library's own;
only the scoring and its configuration are faked.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any

from rewards.config import ConfigError
from rewards.types import Item, ItemResult

__all__ = ["ConfigError", "Item", "ItemResult", "RewardConfig", "score_item", "timed_out_result"]


@dataclass(frozen=True)
class RewardConfig:
    weight: float = 1.0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RewardConfig:
        if data is None:
            return cls()
        unknown = set(data) - {"accuracy", "format", "language", "code"}
        if unknown:
            raise ConfigError(f"rewards.{sorted(unknown)[0]}: unknown reward component")
        accuracy = data.get("accuracy") or {}
        weight = accuracy.get("weight", 1.0)
        if not isinstance(weight, int | float):
            raise ConfigError("rewards.accuracy.weight: must be a number")
        return cls(weight=float(weight))


def _act(completion: str, degraded: bool) -> None:
    command, _, arg = completion.partition(":")
    if command == "sleepall" or (command == "sleep" and not degraded):
        time.sleep(float(arg))
    elif command == "crash" and not degraded:
        os.kill(os.getpid(), signal.SIGSEGV)
    elif command == "hog" and not degraded:
        blob = bytearray(8 * 1024**3)
        blob[-1] = 1
    elif command == "raise" and not degraded:
        raise ValueError("boom")


def score_item(item: Item, config: RewardConfig | None = None) -> ItemResult:
    _act(item.completion, degraded=False)
    accuracy = 1.0 if item.answer is not None and item.completion.endswith(item.answer) else 0.0
    outcome = "equivalent" if accuracy else "not_equivalent"
    weight = (config or RewardConfig()).weight
    return ItemResult(
        item.id, weight * accuracy, {"accuracy": accuracy}, {"outcome": outcome, "pid": os.getpid()}
    )


def timed_out_result(item: Item, config: RewardConfig | None = None) -> ItemResult:
    _act(item.completion, degraded=True)
    return ItemResult(item.id, None, {"accuracy": None}, {"outcome": "timeout"})
