"""One evaluation for every stage: greedy completions of the same held-out prompts, scored by the service.

Accuracy and format are the service's scores (a null accuracy counts as wrong); language is the service's
language-consistency score of the reasoning, against the prompt's language; completion length is in tokens,
the end-of-sequence token not counted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainer_client.client import RewardClient

# Every component is scored and reported; the weights only shape the total, which evaluation ignores.
EVAL_REWARDS: dict[str, Any] = {
    "accuracy": {"weight": 1.0},
    "format": {"weight": 0.5, "mode": "think"},
    "language": {"weight": 1.0},
}


def mean(values: list[float]) -> float:
    """The mean, or NaN for no values.

    Example:
        >>> mean([1.0, 0.0]), str(mean([]))
        (0.5, 'nan')
    """
    return sum(values) / len(values) if values else float("nan")


def evaluate(
    model: Any,
    tokenizer: Any,
    prompts: list[dict[str, Any]],
    client: RewardClient,
    *,
    prefill_think: bool,
    max_new_tokens: int,
    batch_size: int = 64,
    tag: str = "eval",
    out: Path | None = None,
) -> dict[str, float]:
    """Greedy completions of ``prompts`` scored by the service: accuracy, format, language, completion_len.

    ``out``, when given, receives each completion with its scores as JSON lines.

    Example:
        >>> # evaluate(model, tok, rows, client, prefill_think=True, max_new_tokens=96)["accuracy"]
    """
    from trainer_client.grpo.model import render_prompt
    from trainer_client.grpo.rollout import generate

    records: list[dict[str, Any]] = []
    lengths: list[float] = []
    for start in range(0, len(prompts), batch_size):
        part = prompts[start : start + batch_size]
        texts = [render_prompt(tokenizer, p["prompt"], prefill_think=prefill_think) for p in part]
        rollout = generate(model, tokenizer, texts, max_new_tokens=max_new_tokens, do_sample=False)
        ends = (~rollout.truncated).long()  # the EOS a finished completion ends with is not counted
        lengths += [float(n) for n in rollout.lengths - ends]
        items = [
            {"id": p["id"], "prompt": t, "completion": c, "answer": p["answer"], "lang": p["lang"]}
            for p, t, c in zip(part, texts, rollout.texts, strict=True)
        ]
        results = client.score(items, rewards=EVAL_REWARDS, request_id=f"{tag}-{start}")
        records += [
            {"id": item["id"], "lang": item["lang"], "completion": item["completion"], "scores": r.scores}
            for item, r in zip(items, results, strict=True)
        ]
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    scores = [r["scores"] for r in records]
    return {
        "accuracy": mean([float(s.get("accuracy") or 0.0) for s in scores]),
        "format": mean([float(s.get("format") or 0.0) for s in scores]),
        "language": mean([float(s["language"]) for s in scores if s.get("language") is not None]),
        "completion_len": mean(lengths),
    }
