"""Rejection sampling as DeepSeek-R1 did it: sample the RL model, keep only correct, well-formed,
readable reasoning, several distinct samples per prompt.

A sample is kept when the service finds it correct (accuracy 1) and well-formed (format 1), and when it is
not filtered out as R1 filtered its data: mixed-language reasoning (language score under
``min_language``), over-long completions (more than ``max_tokens`` tokens, or cut off), and code blocks.
Identical samples of a prompt count once; at most ``keep_per_prompt`` are kept per prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trainer_client.grpo.data import Prompt
from trainer_client.grpo.rewards import GroupScorer

REASONS = (
    "unscored",
    "incorrect",
    "bad_format",
    "mixed_language",
    "over_long",
    "code_block",
    "duplicate",
    "surplus",
)


@dataclass(frozen=True)
class RejectionSettings:
    """How many samples to draw and what to keep.

    Example:
        >>> RejectionSettings().keep_per_prompt
        4
    """

    num_samples: int = 8
    keep_per_prompt: int = 4
    temperature: float = 1.0
    max_new_tokens: int = 96
    max_tokens: int = 80
    min_language: float = 0.95
    batch_prompts: int = 16


def verdict(
    scores: dict[str, Any], completion: str, tokens: int, truncated: bool, s: RejectionSettings
) -> str:
    """``"keep"`` or the first reason to drop one sample (see :data:`REASONS`).

    Example:
        >>> ok = {"accuracy": 1.0, "format": 1.0, "language": 1.0}
        >>> verdict(ok, "x", 10, False, RejectionSettings()), verdict({**ok, "language": 0.5}, "x", 10, False, RejectionSettings())
        ('keep', 'mixed_language')
    """
    if scores.get("accuracy") != 1.0:
        return "incorrect"
    if scores.get("format") != 1.0:
        return "bad_format"
    language = scores.get("language")
    if language is None or float(language) < s.min_language:
        return "mixed_language"
    if truncated or tokens > s.max_tokens:
        return "over_long"
    if "```" in completion:
        return "code_block"
    return "keep"


def rejection_sample(
    model: Any,
    tokenizer: Any,
    prompts: list[Prompt],
    scorer: GroupScorer,
    settings: RejectionSettings,
    *,
    prefill_think: bool,
    tag: str = "rs",
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Sample ``settings.num_samples`` completions per prompt; return the kept SFT rows and the counts.

    ``scorer`` must request every component (:data:`~.evaluate.EVAL_REWARDS`). Rows have ``prompt``,
    ``response`` (the completion as generated, after the prompt's ``<think>``), ``answer`` and ``lang``;
    counts have ``prompts``, ``samples``, ``kept``, ``prompts_kept`` and one entry per reason in
    :data:`REASONS` (a sample the service could not score counts as ``unscored``).

    Example:
        >>> # rows, counts = rejection_sample(model, tok, prompts, scorer, RejectionSettings(), prefill_think=True)
    """
    from trainer_client.grpo.groups import sample_groups
    from trainer_client.grpo.rollout import Sampling, end_token_ids

    n = settings.num_samples
    counts = {
        "prompts": len(prompts),
        "samples": 0,
        "kept": 0,
        "prompts_kept": 0,
        **dict.fromkeys(REASONS, 0),
    }
    rows: list[dict[str, Any]] = []
    end_ids = end_token_ids(tokenizer, model)
    sampling = Sampling(
        max_new_tokens=settings.max_new_tokens, max_prompt_len=256, temperature=settings.temperature
    )
    for start in range(0, len(prompts), settings.batch_prompts):
        part = prompts[start : start + settings.batch_prompts]
        groups = sample_groups(
            model,
            tokenizer,
            part,
            n=n,
            sampling=sampling,
            scorer=scorer,
            tag=f"{tag}-{start}",
            end_ids=end_ids,
            prefill_think=prefill_think,
        )
        for group in groups:
            scored = group.wait(scorer)
            rollout = group.rollout
            ends = (~rollout.truncated).long()
            tokens = (rollout.lengths - ends).tolist()  # the EOS is not counted
            kept: list[str] = []
            for k, completion in enumerate(rollout.texts):
                if scored.failure is not None:
                    why = "unscored"
                else:
                    why = verdict(
                        scored.scores[k], completion, tokens[k], bool(rollout.truncated[k]), settings
                    )
                if why == "keep" and completion in kept:
                    why = "duplicate"
                if why == "keep" and len(kept) >= settings.keep_per_prompt:
                    why = "surplus"
                if why == "keep":
                    kept.append(completion)
                    p = group.prompt
                    rows.append(
                        {"prompt": p.prompt, "response": completion, "answer": p.answer, "lang": p.lang}
                    )
                else:
                    counts[why] += 1
            counts["samples"] += n
            counts["kept"] += len(kept)
            counts["prompts_kept"] += bool(kept)
    return rows, counts
