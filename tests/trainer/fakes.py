"""An in-process stand-in for the reward service, for tests that need no HTTP (maths, resume, masking).

It follows API.md's semantics closely enough for the built-in task: the answer is the last ``\\boxed{}``
after the last ``</think>``; format is 1.0 for one closed, non-empty think block and a non-empty answer.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

BOXED = re.compile(r"\\boxed\{([^{}]*)\}")


def fake_score(item: dict[str, Any], weights: dict[str, float]) -> dict[str, Any]:
    """Score one item the way the service would for the built-in task."""
    completion, prompt = item["completion"], item.get("prompt") or ""
    prefilled = prompt.rstrip().endswith("<think>")
    body = (
        completion if prefilled else completion.split("<think>", 1)[-1] if "<think>" in completion else None
    )
    closed = body is not None and body.count("</think>") == 1
    answer = body.split("</think>", 1)[1] if closed and body is not None else None
    reasoning = body.split("</think>", 1)[0] if closed and body is not None else ""
    boxed = BOXED.findall(answer or "")
    extracted = boxed[-1].strip() if boxed else None
    gold = item.get("answer")
    accuracy = None if gold is None else float(extracted == gold)
    fmt = 1.0 if closed and reasoning.strip() and (answer or "").strip() else 0.0
    scores = {"accuracy": accuracy, "format": fmt, "language": 1.0}
    reward = (
        None if accuracy is None else sum(weights.get(k, 0.0) * v for k, v in scores.items() if v is not None)
    )
    details = {
        "outcome": "no_reference" if gold is None else "equivalent" if accuracy else "not_equivalent",
        "extracted_answer": extracted,
        "format_check": "ok" if fmt else "no_close",
    }
    return {"id": item.get("id"), "reward": reward, "scores": scores, "details": details, "error": None}


class FakeRewardClient:
    """``AsyncRewardClient``'s ``score``/``aclose`` with local scoring; ``fail`` makes every call raise."""

    def __init__(self, *, delay_s: float = 0.0, digit_bonus: bool = False) -> None:
        self.delay_s = delay_s
        self.digit_bonus = digit_bonus  # add the share of digits: a signal even an untrained model gets
        self.fail = False
        self.calls = 0

    async def score(
        self,
        items: list[dict[str, Any]],
        rewards: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> list[dict[str, Any]]:
        self.calls += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail:
            raise ConnectionError("service down")
        weights = {k: float(v.get("weight", 0.0)) for k, v in (rewards or {}).items()} or {"accuracy": 1.0}
        out = [fake_score(item, weights) for item in items]
        if self.digit_bonus:
            for item, res in zip(items, out, strict=True):
                text = item["completion"]
                res["reward"] = (res["reward"] or 0.0) + sum(c.isdigit() for c in text) / max(len(text), 1)
        return out

    async def aclose(self) -> None:
        return None
