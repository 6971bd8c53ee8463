"""Prompt groups: render, generate, send to the scorer. One sampler for training, eval and rejection sampling.

A :class:`Group` is one prompt with its ``n`` completions (G in training, 1 in greedy eval, N in rejection
sampling) and the ticket of its scoring request; its scores arrive later (:meth:`Group.wait`). Groups are
generated ``chunk`` prompts at a time and each chunk's groups are sent before the next chunk generates, so
scoring overlaps the rest of generation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from trainer_client.grpo.data import Prompt
from trainer_client.grpo.model import render_prompt
from trainer_client.grpo.rewards import GroupScorer, GroupScores
from trainer_client.grpo.rollout import Rollout, Sampling, generate, select


@dataclass
class Group:
    """One prompt, its completions and (once :meth:`wait` returned) their scores."""

    key: str  # the scoring request id
    prompt: Prompt
    prompt_text: str  # as the policy saw it (template and prefill), also what the service is sent
    rollout: Rollout
    ticket: Any
    scores: GroupScores | None = None
    old_logps: torch.Tensor | None = None  # [n, T] under the sampling policy (mu > 1 only)
    ref_logps: torch.Tensor | None = None  # [n, T] under the reference (beta > 0 only)

    def wait(self, scorer: GroupScorer) -> GroupScores:
        """The group's scores (masked on any failure; never raises)."""
        if self.scores is None:
            self.scores = scorer.result(self.ticket)
        return self.scores

    def scored(self) -> GroupScores:
        """The scores :meth:`wait` already fetched."""
        if self.scores is None:
            raise RuntimeError(f"group {self.key} has not been waited for")
        return self.scores


@dataclass
class SampleTiming:
    """Seconds spent generating, and how many prompts were cut to ``max_prompt_len``."""

    generate_s: float = 0.0
    prompts_truncated: int = 0


def sample_groups(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[Prompt],
    *,
    n: int,
    sampling: Sampling,
    scorer: GroupScorer,
    tag: str,
    end_ids: list[int],
    chunk: int = 0,
    bf16: bool = False,
    prefill_think: bool = True,
    system_prompt: str | None = None,
    timing: SampleTiming | None = None,
) -> list[Group]:
    """Generate ``n`` completions for each prompt and submit each group for scoring as soon as it exists.

    Args:
        prompts: the prompts, each rendered with the chat template (and R1's ``<think>`` prefill).
        n: completions per prompt.
        sampling: how to draw them (``Sampling(greedy=True)`` for eval).
        scorer: where each group is sent; the returned groups carry its tickets.
        tag: prefix of the request ids (unique per run and step, stable across the client's retries).
        end_ids: every id that ends a completion.
        chunk: prompts generated together; 0 generates all of them at once.
        timing: accumulates generation time and truncated prompts, when given.

    Example:
        >>> # groups = sample_groups(model, tok, prompts, n=8, sampling=Sampling(max_new_tokens=1024), ...)
        >>> # [g.wait(scorer).rewards for g in groups]
    """
    size = chunk if chunk > 0 else max(1, len(prompts))
    groups: list[Group] = []
    for start in range(0, len(prompts), size):
        part = prompts[start : start + size]
        texts = [
            render_prompt(tokenizer, p.prompt, prefill_think=prefill_think, system_prompt=system_prompt)
            for p in part
        ]
        t0 = time.perf_counter()
        rollout = generate(
            model, tokenizer, [t for t in texts for _ in range(n)], sampling, end_ids=end_ids, bf16=bf16
        )
        if timing is not None:
            timing.generate_s += time.perf_counter() - t0
            if rollout.prompt_truncated is not None:
                timing.prompts_truncated += int(rollout.prompt_truncated.sum()) // n
        rollout = rollout.to("cpu")
        for j, (p, text) in enumerate(zip(part, texts, strict=True)):
            rows = select(rollout, list(range(j * n, (j + 1) * n)))
            key = f"{tag}-{p.id}-{start + j}"
            items = [
                {
                    "id": str(k),
                    "prompt": text,
                    "completion": c,
                    "answer": p.answer,
                    "lang": p.lang,
                    "group": key,
                }
                for k, c in enumerate(rows.texts)
            ]
            groups.append(Group(key, p, text, rows, scorer.submit(key, items)))
    return groups
