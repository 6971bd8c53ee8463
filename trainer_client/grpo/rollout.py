"""Sampling completions and computing per-token log-probs.

Layout: prompts left-padded to ``[N, P]``, completions right-padded to ``[N, T]`` with a mask that covers the
tokens up to and including the first EOS. Positions come from the attention mask, so left padding does not
shift them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase


@dataclass
class Rollout:
    """Sampled completions for ``N`` prompt texts (a prompt repeated G times appears G times)."""

    prompt_ids: torch.Tensor  # [N, P] left-padded
    prompt_mask: torch.Tensor  # [N, P]
    completion_ids: torch.Tensor  # [N, T] right-padded
    completion_mask: torch.Tensor  # [N, T] 1 up to and including the first EOS
    truncated: torch.Tensor  # [N] bool: no EOS within max_new_tokens
    texts: list[str]  # decoded completions, special tokens removed

    @property
    def lengths(self) -> torch.Tensor:
        """Completion lengths in tokens, ``[N]``."""
        return self.completion_mask.sum(dim=-1)

    def to(self, device: torch.device | str) -> Rollout:
        """The same rollout with its tensors on ``device``."""
        return Rollout(
            self.prompt_ids.to(device),
            self.prompt_mask.to(device),
            self.completion_ids.to(device),
            self.completion_mask.to(device),
            self.truncated.to(device),
            self.texts,
        )


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast on CUDA when asked, else nothing (CPU runs in float32).

    Example:
        >>> with autocast(torch.device("cpu"), True): pass
    """
    if device.type == "cuda" and bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def completion_mask_from_ids(
    completion_ids: torch.Tensor, eos_token_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask up to and including the first EOS, and whether each row had none (truncated).

    Example:
        >>> m, t = completion_mask_from_ids(torch.tensor([[5, 2, 0], [5, 5, 5]]), eos_token_id=2)
        >>> m.tolist(), t.tolist()
        ([[1, 1, 0], [1, 1, 1]], [False, True])
    """
    is_eos = completion_ids == eos_token_id
    has_eos = is_eos.any(dim=-1)
    first = torch.where(
        has_eos,
        is_eos.int().argmax(dim=-1),
        torch.full_like(has_eos, completion_ids.shape[1], dtype=torch.long),
    )
    positions = torch.arange(completion_ids.shape[1], device=completion_ids.device).unsqueeze(0)
    mask = (positions <= first.unsqueeze(-1)).long()
    return mask, ~has_eos


@torch.no_grad()
def generate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    *,
    max_new_tokens: int,
    max_prompt_len: int = 1024,
    do_sample: bool = True,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    bf16: bool = False,
) -> Rollout:
    """Sample (or greedily decode) one completion per prompt text.

    Example:
        >>> from trainer_client.grpo.model import build_tiny_tokenizer, build_tiny_model
        >>> tok = build_tiny_tokenizer(); m = build_tiny_model(tok, hidden=32, layers=1, heads=2, intermediate=64)
        >>> generate(m, tok, ["<|user|>1+1?\\n<|assistant|>"], max_new_tokens=4, do_sample=False).completion_ids.shape[0]
        1
    """
    device = next(model.parameters()).device
    enc = tokenizer(
        prompts,
        return_tensors="pt",
        padding=True,
        truncation=True,
        max_length=max_prompt_len,
        add_special_tokens=False,
    ).to(device)
    eos = int(tokenizer.eos_token_id)
    pad = int(tokenizer.pad_token_id) if tokenizer.pad_token_id is not None else eos
    gen_kwargs: dict[str, object] = {
        "max_new_tokens": max_new_tokens,
        "do_sample": do_sample,
        "eos_token_id": eos,
        "pad_token_id": pad,
    }
    if do_sample:
        gen_kwargs.update(temperature=temperature, top_p=top_p, top_k=top_k if top_k > 0 else None)
    config = GenerationConfig(**gen_kwargs)
    was_training = model.training
    model.eval()
    with autocast(device, bf16):
        out = cast(Any, model).generate(
            input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], generation_config=config
        )
    model.train(was_training)
    completion_ids = out[:, enc["input_ids"].shape[1] :]
    if completion_ids.shape[1] == 0:
        completion_ids = torch.full((len(prompts), 1), pad, dtype=torch.long, device=device)
    mask, truncated = completion_mask_from_ids(completion_ids, eos)
    completion_ids = torch.where(mask.bool(), completion_ids, torch.full_like(completion_ids, pad))
    texts = tokenizer.batch_decode(
        [row[: int(m.sum())] for row, m in zip(completion_ids, mask, strict=True)], skip_special_tokens=True
    )
    return Rollout(enc["input_ids"], enc["attention_mask"], completion_ids, mask, truncated, texts)


def _micro_slices(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def token_logps(
    model: PreTrainedModel,
    prompt_ids: torch.Tensor,
    prompt_mask: torch.Tensor,
    completion_ids: torch.Tensor,
    completion_mask: torch.Tensor,
    *,
    temperature: float = 1.0,
    with_entropy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-token log-probs of the completion tokens (and their entropies), with gradients if enabled.

    Logits are divided by the sampling temperature, so the log-probs are those of the distribution the
    tokens were drawn from.

    Example:
        >>> from trainer_client.grpo.model import build_tiny_tokenizer, build_tiny_model
        >>> tok = build_tiny_tokenizer(); m = build_tiny_model(tok, hidden=32, layers=1, heads=2, intermediate=64)
        >>> lp, _ = token_logps(m, torch.tensor([[5, 9]]), torch.ones(1, 2), torch.tensor([[3]]), torch.ones(1, 1))
        >>> lp.shape, bool(lp.item() < 0)
        (torch.Size([1, 1]), True)
    """
    input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
    attention = torch.cat([prompt_mask, completion_mask], dim=1).long()
    position_ids = (attention.cumsum(dim=-1) - 1).clamp(min=0)
    width = completion_ids.shape[1]
    logits = model(
        input_ids=input_ids,
        attention_mask=attention,
        position_ids=position_ids,
        logits_to_keep=width + 1,
        use_cache=False,
    ).logits
    logits = logits[:, :-1, :].float() / temperature
    logprobs = F.log_softmax(logits, dim=-1)
    logps = logprobs.gather(-1, completion_ids.unsqueeze(-1)).squeeze(-1)
    entropy = None
    if with_entropy:
        with torch.no_grad():
            entropy = -(logprobs.exp() * logprobs).sum(dim=-1)
    return logps, entropy


@torch.no_grad()
def batched_logps(
    model: PreTrainedModel,
    rollout: Rollout,
    *,
    micro_batch_size: int,
    temperature: float = 1.0,
    bf16: bool = False,
) -> torch.Tensor:
    """Log-probs of a whole rollout without gradients (old-policy or reference pass), micro-batched.

    Example:
        >>> from trainer_client.grpo.model import build_tiny_tokenizer, build_tiny_model
        >>> tok = build_tiny_tokenizer(); m = build_tiny_model(tok, hidden=32, layers=1, heads=2, intermediate=64)
        >>> r = generate(m, tok, ["<|user|>1\\n<|assistant|>"] * 2, max_new_tokens=3)
        >>> batched_logps(m, r, micro_batch_size=1).shape == r.completion_ids.shape
        True
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    parts = []
    for sl in _micro_slices(rollout.completion_ids.shape[0], micro_batch_size):
        with autocast(device, bf16):
            lp, _ = token_logps(
                model,
                rollout.prompt_ids[sl],
                rollout.prompt_mask[sl],
                rollout.completion_ids[sl],
                rollout.completion_mask[sl],
                temperature=temperature,
            )
        parts.append(lp.float())
    model.train(was_training)
    return torch.cat(parts, dim=0)


def concat_rollouts(parts: list[Rollout], pad_token_id: int) -> Rollout:
    """Join rollouts generated in chunks: prompts re-padded on the left, completions on the right.

    Example:
        >>> a = Rollout(torch.ones(1, 2, dtype=torch.long), torch.ones(1, 2), torch.ones(1, 1, dtype=torch.long),
        ...             torch.ones(1, 1), torch.tensor([False]), ["x"])
        >>> concat_rollouts([a, a], 0).prompt_ids.shape
        torch.Size([2, 2])
    """
    p = max(r.prompt_ids.shape[1] for r in parts)
    t = max(r.completion_ids.shape[1] for r in parts)

    def left(x: torch.Tensor, width: int, value: int) -> torch.Tensor:
        return F.pad(x, (width - x.shape[1], 0), value=value)

    def right(x: torch.Tensor, width: int, value: int) -> torch.Tensor:
        return F.pad(x, (0, width - x.shape[1]), value=value)

    return Rollout(
        prompt_ids=torch.cat([left(r.prompt_ids, p, pad_token_id) for r in parts]),
        prompt_mask=torch.cat([left(r.prompt_mask, p, 0) for r in parts]),
        completion_ids=torch.cat([right(r.completion_ids, t, pad_token_id) for r in parts]),
        completion_mask=torch.cat([right(r.completion_mask, t, 0) for r in parts]),
        truncated=torch.cat([r.truncated for r in parts]),
        texts=[x for r in parts for x in r.texts],
    )


def select(rollout: Rollout, index: list[int]) -> Rollout:
    """The rows ``index`` of a rollout.

    Example:
        >>> r = Rollout(torch.ones(2, 1), torch.ones(2, 1), torch.ones(2, 1), torch.ones(2, 1), torch.tensor([False, True]), ["a", "b"])
        >>> select(r, [1]).texts
        ['b']
    """
    idx = torch.tensor(index, dtype=torch.long)
    return Rollout(
        rollout.prompt_ids[idx],
        rollout.prompt_mask[idx],
        rollout.completion_ids[idx],
        rollout.completion_mask[idx],
        rollout.truncated[idx],
        [rollout.texts[i] for i in index],
    )
