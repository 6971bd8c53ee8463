"""Rejection sampling (DeepSeek-R1's third stage): N samples per prompt, keep what the service accepts.

A sample is kept when its accuracy, format and language scores reach the thresholds (null counts as a
failure here: only judged, correct samples become training data); identical samples of a prompt are kept
once, and at most ``max_per_prompt`` per prompt. The kept samples form an SFT set (JSONL
with ``prompt``, ``response``, ``answer``, ``lang``) for :mod:`trainer_client.grpo.sft`.

Samples are drawn by the trainer's own sampler (:func:`trainer_client.grpo.groups.sample_groups`): every
sampling field explicit, stopped on every end id, in the training dtype (bf16 autocast on CUDA).
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from trainer_client.grpo.data import Prompt, builtin_task, load_prompts
from trainer_client.grpo.groups import sample_groups
from trainer_client.grpo.model import disable_dropout, load_model_and_tokenizer
from trainer_client.grpo.rewards import CircuitBreaker, GroupScorer, LocalService, http_client_factory
from trainer_client.grpo.rollout import Sampling, end_token_ids
from trainer_client.grpo.sft import write_jsonl


@dataclass
class RejectConfig:
    """Rejection-sampling settings.

    Example:
        >>> RejectConfig(num_samples=4).min_accuracy
        1.0
    """

    model: str = "runs/grpo/final"
    data: str | None = None
    prompt_column: str = "prompt"
    answer_column: str = "answer"
    lang_column: str | None = "lang"
    out: str = "runs/reject/sft.jsonl"
    num_samples: int = 8
    max_per_prompt: int = 1
    max_prompts: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0: off
    max_prompt_len: int = 512
    max_completion_len: int = 1024
    bf16: bool | None = None  # the training dtype: bf16 autocast; None: on CUDA only
    prefill_think: bool = True
    system_prompt: str | None = None
    min_accuracy: float = 1.0
    min_format: float = 1.0
    min_language: float = 0.9
    reward_urls: list[str] = field(default_factory=list)
    api_token: str | None = None
    seed: int = 0
    batch_prompts: int = 8
    task_size: int = 500
    task_seed: int = 2000
    task_kind: str = "mixed"


def accepted(scores: dict[str, Any], cfg: RejectConfig) -> bool:
    """Whether a sample passes every threshold (a null score fails).

    Example:
        >>> accepted({"accuracy": 1.0, "format": 1.0, "language": 0.95}, RejectConfig())
        True
    """
    need = {"accuracy": cfg.min_accuracy, "format": cfg.min_format, "language": cfg.min_language}
    return all(scores.get(k) is not None and float(scores[k]) >= v for k, v in need.items())


def run_reject_sampling(cfg: RejectConfig) -> dict[str, Any]:
    """Sample, score through the service, write the kept samples; return counts.

    Example:
        >>> # run_reject_sampling(RejectConfig(model="runs/grpo/final", out="runs/reject.jsonl"))
    """
    torch.manual_seed(cfg.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = device.type == "cuda" if cfg.bf16 is None else cfg.bf16
    model, tok = load_model_and_tokenizer(cfg.model)  # float32 weights, bf16 compute: as in training
    disable_dropout(model)
    model.to(device)  # type: ignore[arg-type]
    end_ids = end_token_ids(tok, model)
    sampling = Sampling(
        max_new_tokens=cfg.max_completion_len,
        max_prompt_len=cfg.max_prompt_len,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        top_k=cfg.top_k,
    )
    prompts: list[Prompt]
    if cfg.data:
        prompts = load_prompts(
            cfg.data,
            prompt_column=cfg.prompt_column,
            answer_column=cfg.answer_column,
            lang_column=cfg.lang_column,
        )
    else:
        prompts, _ = builtin_task(
            train_size=cfg.task_size, eval_size=0, seed=cfg.task_seed, kind=cfg.task_kind
        )
    prompts = prompts[: cfg.max_prompts] if cfg.max_prompts else prompts
    rows: list[dict[str, Any]] = []
    counts = {"prompts": len(prompts), "samples": 0, "kept": 0, "masked": 0}
    spec = {
        "accuracy": {"weight": 1.0},
        "format": {"weight": 0.5, "mode": "think"},
        "language": {"weight": 0.1},
    }
    with ExitStack() as stack:
        urls = list(cfg.reward_urls) or [stack.enter_context(LocalService())]
        scorer = GroupScorer(
            http_client_factory(urls, api_token=cfg.api_token), rewards=spec, breaker=CircuitBreaker()
        )
        stack.callback(scorer.close)
        for start in range(0, len(prompts), cfg.batch_prompts):
            groups = sample_groups(
                model,
                tok,
                prompts[start : start + cfg.batch_prompts],
                n=cfg.num_samples,
                sampling=sampling,
                scorer=scorer,
                tag=f"reject-{cfg.seed}-{start}",
                end_ids=end_ids,
                bf16=bf16,
                prefill_think=cfg.prefill_think,
                system_prompt=cfg.system_prompt,
            )
            for group in groups:
                scored = group.wait(scorer)
                completions = group.rollout.texts
                counts["samples"] += len(completions)
                counts["masked"] += sum(r is None for r in scored.rewards)
                seen: set[str] = set()  # identical samples teach nothing twice
                for completion, scores in zip(completions, scored.scores, strict=True):
                    if len(seen) < cfg.max_per_prompt and completion not in seen and accepted(scores, cfg):
                        p = group.prompt
                        rows.append(
                            {"prompt": p.prompt, "response": completion, "answer": p.answer, "lang": p.lang}
                        )
                        seen.add(completion)
                counts["kept"] += len(seen)
    write_jsonl(rows, cfg.out)
    Path(cfg.out).with_suffix(".counts.json").write_text(json.dumps(counts), encoding="utf-8")
    return counts
