"""A small stand-in for the service (API.md semantics, naive scoring) behind ``httpx.MockTransport``.

Its rules are deliberately simple so the adapters' plumbing is what the tests check: accuracy is 1.0 when
``\\boxed{answer}`` is in the completion after ``</think>``, null without a reference; format is 1.0 when
the completion closes one think block; language is null without ``lang``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

WEIGHTS = {"accuracy": 1.0, "format": 0.5, "language": 0.1}


def fake_result(item: dict[str, Any], rewards: dict[str, Any] | None) -> dict[str, Any]:
    requested = list(rewards) if rewards else list(WEIGHTS)
    completion = item["completion"]
    answer_region = completion.rsplit("</think>", 1)[-1]
    scores: dict[str, float | None] = {}
    details: dict[str, Any] = {}
    if "accuracy" in requested:
        gold = item.get("answer")
        if gold is None:
            scores["accuracy"], details["outcome"] = None, "no_reference"
        elif "\\boxed{" in answer_region:
            found = answer_region.rsplit("\\boxed{", 1)[1].split("}", 1)[0]
            details["extracted_answer"] = found
            ok = found in (gold if isinstance(gold, list) else [gold])  # a list: any acceptable answer
            scores["accuracy"], details["outcome"] = (
                (1.0 if ok else 0.0),
                ("equivalent" if ok else "not_equivalent"),
            )
        else:
            scores["accuracy"], details["outcome"] = 0.0, "no_answer"
    if "format" in requested:
        prefilled = (item.get("prompt") or "").rstrip().endswith("<think>")
        opened = prefilled or completion.startswith("<think>")
        scores["format"] = 1.0 if opened and completion.count("</think>") == 1 else 0.0
    if "language" in requested:
        scores["language"] = None if item.get("lang") is None else 1.0
    if scores.get("accuracy", 0.0) is None:
        reward = None
    else:
        reward = sum(WEIGHTS[k] * v for k, v in scores.items() if v is not None)
    return {"id": item.get("id"), "reward": reward, "scores": scores, "details": details, "error": None}


@dataclass
class StandIn:
    """Counts /score requests; ``fail_with`` answers every request with that status."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    fail_with: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with self.lock:
            self.bodies.append(body)
        if self.fail_with is not None:
            return httpx.Response(self.fail_with, json={"detail": "stand-in failure"})
        return httpx.Response(
            200, json={"results": [fake_result(i, body.get("rewards")) for i in body["items"]]}
        )

    @property
    def items(self) -> list[dict[str, Any]]:
        return [item for body in self.bodies for item in body["items"]]


@pytest.fixture
def stand_in() -> StandIn:
    return StandIn()


@pytest.fixture(scope="session")
def live_url() -> Iterator[str]:
    """The real service on a loopback port (uvicorn in a background thread)."""
    from tests.client.live import live_service

    with live_service() as url:
        yield url


TOKEN = "integration-test-token-0123456789"


@pytest.fixture(scope="session")
def openrlhf_url() -> Iterator[str]:
    """The real service as an OpenRLHF run would use it: a token, and whole rollouts scored in chunks."""
    from tests.client.live import live_service

    with live_service(api_token=TOKEN, workers=2, get_reward_chunk_items=512) as url:
        yield url
