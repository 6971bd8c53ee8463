"""One evaluation for every stage: greedy completions of the same held-out prompts, scored by the service.

Accuracy and format are the service's scores (a null accuracy counts as wrong); language is the service's
language-consistency score of the reasoning, against the prompt's language; completion length is in tokens,
the end-of-sequence token not counted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainer_client.grpo.data import Prompt
from trainer_client.grpo.rewards import GroupScorer

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
    prompts: list[Prompt],
    scorer: GroupScorer,
    *,
    prefill_think: bool,
    max_new_tokens: int,
    batch_size: int = 64,
    tag: str = "eval",
    out: Path | None = None,
) -> dict[str, float]:
    """Greedy completions of ``prompts`` scored by the service: accuracy, format, language, completion_len.

    ``scorer`` must request every component (:data:`EVAL_REWARDS`). A prompt the service could not score
    fails the evaluation: counting it as wrong would make the figure a measure of the service's health.
    ``out``, when given, receives each completion with its scores as JSON lines.

    Example:
        >>> # evaluate(model, tok, prompts, scorer, prefill_think=True, max_new_tokens=80)["accuracy"]
    """
    from trainer_client.grpo.groups import sample_groups
    from trainer_client.grpo.rollout import Sampling, end_token_ids

    groups = sample_groups(
        model,
        tokenizer,
        prompts,
        n=1,
        sampling=Sampling(max_new_tokens=max_new_tokens, max_prompt_len=256, greedy=True),
        scorer=scorer,
        tag=tag,
        end_ids=end_token_ids(tokenizer, model),
        chunk=batch_size,
        prefill_think=prefill_think,
    )
    records: list[dict[str, Any]] = []
    lengths: list[float] = []
    for group in groups:
        scored = group.wait(scorer)
        if scored.failure is not None:
            raise RuntimeError(f"evaluation: the service did not score {group.key}: {scored.failure}")
        rollout = group.rollout
        lengths.append(float(rollout.lengths[0]) - float(not bool(rollout.truncated[0])))  # EOS not counted
        records.append(
            {
                "id": group.prompt.id,
                "lang": group.prompt.lang,
                "completion": rollout.texts[0],
                "scores": scored.scores[0],
            }
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    scores = [r["scores"] for r in records]
    return {
        "accuracy": mean([float(s.get("accuracy") or 0.0) for s in scores]),
        "format": mean([float(s.get("format") or 0.0) for s in scores]),
        "language": mean([float(v) for s in scores if (v := s.get("language")) is not None]),
        "completion_len": mean(lengths),
    }
