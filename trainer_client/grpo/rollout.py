"""Sampling completions and computing per-token log-probs, without ever holding ``[batch, length, vocab]``.

Layout: prompts left-padded to ``[N, P]``, completions right-padded to ``[N, T]`` with a mask that covers the
tokens up to and including the first end id. Positions come from the attention mask, so left padding does not
shift them.

Two promises hold between sampling and the loss:

* The distribution the tokens are drawn from is the one the loss scores. Every sampling field is passed to
  ``generate`` explicitly (temperature, top-p, top-k with 0 meaning off, repetition penalty 1.0, no minimum
  length, no n-gram ban), over a neutral base config, so nothing leaks in from a checkpoint's
  ``generation_config.json`` or from transformers' own defaults (``top_k=50``). With ``top_k = 0`` and
  ``top_p = 1`` that distribution is ``softmax(logits / temperature)``, exactly what :func:`token_logps`
  computes.
* Generation stops on every end id (:func:`end_token_ids`: the tokenizer's EOS, the checkpoint's list, the
  chat template's end-of-turn token) and the completion mask ends at the first of them.

Memory: the log-probs of the sampled tokens (and the entropy) are computed from the decoder's last hidden
states through the output head in chunks of tokens (:class:`SelectedLogps`); the backward pass recomputes
each chunk's logits instead of storing them, so a 151,936-token vocabulary costs one chunk of float32 logits
at a time. Micro-batches are sized by padded tokens (:func:`token_micro_batches`) and trimmed to their own
longest prompt and completion.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)

LOGIT_CHUNK_BYTES = (
    128 * 2**20
)  # float32 logits alive at once in the log-prob passes (about 220 tokens of Qwen2.5)
END_OF_TURN_PROBE = (
    "\x00probe\x00"  # assistant content whose successor in the rendered template is the end token
)


@dataclass(frozen=True)
class Sampling:
    """How completions are drawn. Every field reaches ``generate`` explicitly.

    ``top_k = 0`` and ``top_p = 1.0`` leave the distribution untouched (then the sampled distribution is the
    one the loss scores); ``greedy`` takes the argmax (eval).

    Example:
        >>> Sampling(max_new_tokens=8, greedy=True).max_new_tokens
        8
    """

    max_new_tokens: int
    max_prompt_len: int = 512
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    greedy: bool = False


@dataclass
class Rollout:
    """Sampled completions for ``N`` prompt texts (a prompt repeated G times appears G times)."""

    prompt_ids: torch.Tensor  # [N, P] left-padded
    prompt_mask: torch.Tensor  # [N, P]
    completion_ids: torch.Tensor  # [N, T] right-padded
    completion_mask: torch.Tensor  # [N, T] 1 up to and including the first end id
    truncated: torch.Tensor  # [N] bool: no end id within max_new_tokens
    texts: list[str]  # decoded completions, special tokens removed
    prompt_truncated: torch.Tensor | None = None  # [N] bool: the prompt lost its start to max_prompt_len

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
            None if self.prompt_truncated is None else self.prompt_truncated.to(device),
        )


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast on ``device`` (CUDA or CPU) when asked, else nothing.

    Example:
        >>> with autocast(torch.device("cpu"), False): pass
    """
    if bf16:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


# ---- end ids ----------------------------------------------------------------------------------------------
def end_token_ids(tokenizer: PreTrainedTokenizerBase, model: Any = None) -> list[int]:
    """Every id that ends a completion: the tokenizer's EOS, the model's ``generation_config`` list, and the
    chat template's end-of-turn token (``<|im_end|>``, ``<|eot_id|>``, ...), found by rendering a reply.

    Example:
        >>> from trainer_client.grpo.model import build_tiny_tokenizer
        >>> tok = build_tiny_tokenizer(); end_token_ids(tok) == [tok.eos_token_id]
        True
    """
    ids: list[int] = []

    def add(value: Any) -> None:
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if v is not None and int(v) not in ids:
                ids.append(int(v))

    add(tokenizer.eos_token_id)
    config = getattr(model, "generation_config", None)
    if config is not None:
        add(config.eos_token_id)
    turn_end = _template_end_of_turn(tokenizer)
    if turn_end is not None:
        add(turn_end)
    if not ids:
        raise ValueError(
            "the tokenizer has no EOS and the model no eos_token_id: nothing would end a completion"
        )
    return ids


def _template_end_of_turn(tokenizer: PreTrainedTokenizerBase) -> int | None:
    """The special token the chat template writes right after an assistant message, if any."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": END_OF_TURN_PROBE}]
    try:
        text = str(tokenizer.apply_chat_template(messages, tokenize=False))
    except Exception:  # a template that refuses this shape (e.g. requires a system turn) has none to offer
        return None
    _, found, after = text.partition(END_OF_TURN_PROBE)
    if not found or not after:
        return None
    first = tokenizer(after, add_special_tokens=False)["input_ids"][:1]
    special = set(tokenizer.all_special_ids) | {
        i for i, t in tokenizer.added_tokens_decoder.items() if getattr(t, "special", False)
    }
    return int(first[0]) if first and first[0] in special else None


def completion_mask_from_ids(
    completion_ids: torch.Tensor, end_ids: int | list[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask up to and including the first end id, and whether each row had none (truncated).

    Example:
        >>> m, t = completion_mask_from_ids(torch.tensor([[5, 2, 0], [5, 7, 5], [5, 5, 5]]), [2, 7])
        >>> m.tolist(), t.tolist()
        ([[1, 1, 0], [1, 1, 0], [1, 1, 1]], [False, False, True])
    """
    ends = torch.tensor([end_ids] if isinstance(end_ids, int) else end_ids, device=completion_ids.device)
    is_end = torch.isin(completion_ids, ends)
    has_end = is_end.any(dim=-1)
    first = torch.where(
        has_end,
        is_end.int().argmax(dim=-1),
        torch.full_like(has_end, completion_ids.shape[1], dtype=torch.long),
    )
    positions = torch.arange(completion_ids.shape[1], device=completion_ids.device).unsqueeze(0)
    mask = (positions <= first.unsqueeze(-1)).long()
    return mask, ~has_end


# ---- generation -------------------------------------------------------------------------------------------
def generation_config(sampling: Sampling, end_ids: list[int], pad_token_id: int) -> GenerationConfig:
    """A config with every field that shapes the sampled distribution set explicitly.

    Example:
        >>> c = generation_config(Sampling(max_new_tokens=4), [2], 0)
        >>> c.top_k, c.repetition_penalty, c.no_repeat_ngram_size
        (0, 1.0, 0)
    """
    # greedy decoding applies no warper: temperature, top-p and top-k stay unset (transformers warns otherwise)
    return GenerationConfig(
        max_new_tokens=sampling.max_new_tokens,
        min_length=0,
        min_new_tokens=None,
        do_sample=not sampling.greedy,
        num_beams=1,
        temperature=None if sampling.greedy else sampling.temperature,
        top_p=None if sampling.greedy else sampling.top_p,
        top_k=None if sampling.greedy else sampling.top_k,
        typical_p=1.0,
        epsilon_cutoff=0.0,
        eta_cutoff=0.0,
        repetition_penalty=1.0,
        encoder_repetition_penalty=1.0,
        no_repeat_ngram_size=0,
        renormalize_logits=False,
        eos_token_id=list(end_ids),
        pad_token_id=pad_token_id,
    )


@contextlib.contextmanager
def _neutral_defaults(model: Any) -> Iterator[None]:
    """While generating, the model's own ``generation_config`` cannot fill a field we left at its "off" value
    of None (``min_p``, ``suppress_tokens``, ``bad_words_ids``, ...)."""
    saved = model.generation_config
    model.generation_config = GenerationConfig()
    try:
        yield
    finally:
        model.generation_config = saved


@torch.no_grad()
def generate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    sampling: Sampling,
    *,
    end_ids: list[int] | None = None,
    bf16: bool = False,
) -> Rollout:
    """Sample (or greedily decode) one completion per prompt text.

    Prompts longer than ``sampling.max_prompt_len`` lose their start (the tokenizer truncates on the left,
    keeping the generation prompt); they are flagged in ``prompt_truncated`` and a warning is logged.

    Example:
        >>> from trainer_client.grpo.model import build_tiny_tokenizer, build_tiny_model
        >>> tok = build_tiny_tokenizer(); m = build_tiny_model(tok, hidden=32, layers=1, heads=2, intermediate=64)
        >>> r = generate(m, tok, ["<|user|>1+1?\\n<|assistant|>"], Sampling(max_new_tokens=4, greedy=True))
        >>> r.completion_ids.shape[0]
        1
    """
    device = next(model.parameters()).device
    ends = end_ids if end_ids is not None else end_token_ids(tokenizer, model)
    full_lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
    prompt_truncated = torch.tensor([n > sampling.max_prompt_len for n in full_lengths])
    if bool(prompt_truncated.any()):
        log.warning(
            "%d of %d prompts are longer than max_prompt_len=%d tokens (longest %d) and lose their start",
            int(prompt_truncated.sum()),
            len(prompts),
            sampling.max_prompt_len,
            max(full_lengths),
        )
    enc = tokenizer(
        prompts,
        return_tensors="pt",
        padding=True,
        truncation=True,
        max_length=sampling.max_prompt_len,
        add_special_tokens=False,
    ).to(device)
    pad = int(tokenizer.pad_token_id) if tokenizer.pad_token_id is not None else ends[0]
    config = generation_config(sampling, ends, pad)
    was_training = model.training
    model.eval()
    with autocast(device, bf16), _neutral_defaults(model):
        out = cast(Any, model).generate(
            input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], generation_config=config
        )
    model.train(was_training)
    completion_ids = out[:, enc["input_ids"].shape[1] :]
    if completion_ids.shape[1] == 0:
        completion_ids = torch.full((len(prompts), 1), pad, dtype=torch.long, device=device)
    mask, truncated = completion_mask_from_ids(completion_ids, ends)
    completion_ids = torch.where(mask.bool(), completion_ids, torch.full_like(completion_ids, pad))
    texts = tokenizer.batch_decode(
        [row[: int(m.sum())] for row, m in zip(completion_ids, mask, strict=True)], skip_special_tokens=True
    )
    return Rollout(
        enc["input_ids"], enc["attention_mask"], completion_ids, mask, truncated, texts, prompt_truncated
    )


# ---- log-probs of the sampled tokens, chunked over the vocabulary's logits --------------------------------
def _chunk_logits(
    hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, inv_temp: float, dtype: torch.dtype
) -> torch.Tensor:
    logits = hidden.to(dtype) @ weight.to(dtype).T
    if bias is not None:
        logits = logits + bias.to(dtype)
    return logits.float().mul_(inv_temp)


class SelectedLogps(torch.autograd.Function):
    """``log softmax(h W^T / T)[target]`` (and the entropy) for ``M`` hidden states, ``chunk`` rows of logits
    at a time; the backward recomputes each chunk's logits instead of keeping them.

    Matmuls run in ``dtype`` (bf16 under autocast), the softmax in float32.
    """

    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        targets: torch.Tensor,
        inv_temp: float,
        chunk: int,
        with_entropy: bool,
        dtype: torch.dtype,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        m = hidden.shape[0]
        logps = torch.empty(m, dtype=torch.float32, device=hidden.device)
        lse = torch.empty(m, dtype=torch.float32, device=hidden.device)
        entropy = torch.empty(m if with_entropy else 0, dtype=torch.float32, device=hidden.device)
        for s in range(0, m, chunk):
            e = min(s + chunk, m)
            logits = _chunk_logits(hidden[s:e], weight, bias, inv_temp, dtype)
            lse[s:e] = torch.logsumexp(logits, dim=-1)
            logps[s:e] = logits.gather(1, targets[s:e].unsqueeze(1)).squeeze(1) - lse[s:e]
            if with_entropy:  # H = lse - sum(p * logits)
                probs = (logits - lse[s:e].unsqueeze(1)).exp_()
                entropy[s:e] = lse[s:e] - (probs * logits).sum(dim=-1)
        ctx.save_for_backward(hidden, weight, bias, targets, lse)
        ctx.inv_temp, ctx.chunk, ctx.dtype = inv_temp, chunk, dtype
        ctx.mark_non_differentiable(entropy)
        return logps, entropy

    @staticmethod
    def backward(ctx: Any, grad_logps: torch.Tensor, _grad_entropy: torch.Tensor) -> tuple[Any, ...]:
        hidden, weight, bias, targets, lse = ctx.saved_tensors
        need_h, need_w, need_b = ctx.needs_input_grad[:3]
        grad_h = torch.zeros_like(hidden) if need_h else None
        grad_w = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) if need_w else None
        grad_b = torch.zeros(weight.shape[0], dtype=torch.float32, device=weight.device) if need_b else None
        w = weight.to(ctx.dtype)
        for s in range(0, hidden.shape[0], ctx.chunk):
            e = min(s + ctx.chunk, hidden.shape[0])
            logits = _chunk_logits(hidden[s:e], weight, bias, ctx.inv_temp, ctx.dtype)
            # d logp[target] / d logits = onehot(target) - softmax, times the upstream gradient and 1/T
            g = (logits - lse[s:e].unsqueeze(1)).exp_().mul_(-grad_logps[s:e].unsqueeze(1))
            g.scatter_add_(1, targets[s:e].unsqueeze(1), grad_logps[s:e].unsqueeze(1).float())
            g.mul_(ctx.inv_temp)
            if grad_b is not None:
                grad_b += g.sum(dim=0)
            g_c = g.to(ctx.dtype)
            if grad_h is not None:
                grad_h[s:e] = (g_c @ w).to(hidden.dtype)
            if grad_w is not None:
                grad_w += (g_c.T @ hidden[s:e].to(ctx.dtype)).float()
        return (
            grad_h,
            None if grad_w is None else grad_w.to(weight.dtype),
            None if grad_b is None else grad_b.to(bias.dtype),
            None,
            None,
            None,
            None,
            None,
        )


def _has_plain_head(model: Any) -> bool:
    """Whether logits are exactly ``head(last hidden state)`` (no soft-capping or scaling after the head)."""
    config = model.config
    for name in ("final_logit_softcapping", "logit_scale", "logits_scaling"):
        value = getattr(config, name, None)
        if value not in (None, 1, 1.0):
            return False
    head = model.get_output_embeddings()
    return isinstance(head, torch.nn.Linear)


def _compute_dtype(hidden: torch.Tensor) -> torch.dtype:
    device_type = hidden.device.type
    if torch.is_autocast_enabled(device_type):
        return torch.get_autocast_dtype(device_type)
    return hidden.dtype


def token_logps(
    model: PreTrainedModel,
    prompt_ids: torch.Tensor,
    prompt_mask: torch.Tensor,
    completion_ids: torch.Tensor,
    completion_mask: torch.Tensor,
    *,
    temperature: float = 1.0,
    with_entropy: bool = False,
    chunk_bytes: int = LOGIT_CHUNK_BYTES,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-token log-probs of the completion tokens (and their entropies), with gradients if enabled.

    Logits are divided by the sampling temperature, so the log-probs are those of the distribution the
    tokens were drawn from. Only positions under ``completion_mask`` are computed (0 elsewhere), through the
    output head in chunks: no ``[N, T, vocab]`` tensor is ever built.

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
    select = completion_mask.bool()
    targets = completion_ids[select]
    vocab = int(model.get_output_embeddings().weight.shape[0])
    chunk = max(1, chunk_bytes // (4 * vocab))
    if _has_plain_head(model):
        hidden = model.base_model(
            input_ids=input_ids, attention_mask=attention, position_ids=position_ids, use_cache=False
        ).last_hidden_state[:, -width - 1 : -1]
        head = model.get_output_embeddings()
        h = hidden[select]
        lp, ent = SelectedLogps.apply(
            h, head.weight, head.bias, targets, 1.0 / temperature, chunk, with_entropy, _compute_dtype(h)
        )
    else:  # the model post-processes its logits: take them from forward (model dtype), softmax in chunks
        logits = model(
            input_ids=input_ids,
            attention_mask=attention,
            position_ids=position_ids,
            logits_to_keep=width + 1,
            use_cache=False,
        ).logits[:, :-1][select]
        parts, ents = [], []
        for s in range(0, logits.shape[0], chunk):
            part = logits[s : s + chunk].float() / temperature
            lse = torch.logsumexp(part, dim=-1)
            parts.append(part.gather(1, targets[s : s + chunk].unsqueeze(1)).squeeze(1) - lse)
            if with_entropy:
                with torch.no_grad():
                    ents.append(lse - (torch.softmax(part, dim=-1) * part).sum(dim=-1))
        lp = torch.cat(parts) if parts else logits.new_zeros(0, dtype=torch.float32)
        ent = torch.cat(ents) if ents else logits.new_zeros(0, dtype=torch.float32)
    logps = torch.zeros(completion_ids.shape, dtype=torch.float32, device=completion_ids.device)
    logps = logps.masked_scatter(select, lp)
    entropy = None
    if with_entropy:
        entropy = torch.zeros_like(logps).masked_scatter(select, ent.detach())
    return logps, entropy


# ---- micro-batches sized by tokens ------------------------------------------------------------------------
def token_micro_batches(rollout: Rollout, max_tokens: int) -> list[list[int]]:
    """Rows grouped so that each group's padded size (rows x (longest prompt + longest completion)) stays
    within ``max_tokens`` (a single longer row goes alone). Rows are sorted by length first, so little
    padding is computed.

    Example:
        >>> r = Rollout(torch.ones(3, 2), torch.ones(3, 2), torch.ones(3, 4), torch.tensor([[1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0]]),
        ...             torch.zeros(3, dtype=torch.bool), ["a", "b", "c"])
        >>> token_micro_batches(r, 8)
        [[1, 2], [0]]
    """
    prompt_len = rollout.prompt_mask.sum(dim=-1).tolist()
    comp_len = rollout.completion_mask.sum(dim=-1).tolist()
    order = sorted(range(len(comp_len)), key=lambda i: (prompt_len[i] + comp_len[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    p_max = c_max = 0
    for i in order:
        p, c = max(p_max, int(prompt_len[i])), max(c_max, int(comp_len[i]))
        if current and (len(current) + 1) * (p + c) > max_tokens:
            batches.append(current)
            current, p, c = [], int(prompt_len[i]), int(comp_len[i])
        current.append(i)
        p_max, c_max = p, c
    if current:
        batches.append(current)
    return batches


def trimmed(rollout: Rollout, index: list[int]) -> Rollout:
    """The rows ``index``, with the padding columns no row of them uses cut away.

    Example:
        >>> r = Rollout(torch.tensor([[0, 5], [6, 7]]), torch.tensor([[0, 1], [1, 1]]), torch.tensor([[3, 0], [3, 4]]),
        ...             torch.tensor([[1, 0], [1, 1]]), torch.zeros(2, dtype=torch.bool), ["a", "b"])
        >>> t = trimmed(r, [0]); t.prompt_ids.tolist(), t.completion_ids.tolist()
        ([[5]], [[3]])
    """
    part = select(rollout, index)
    p = max(1, int(part.prompt_mask.sum(dim=-1).max()))
    t = max(1, int(part.completion_mask.sum(dim=-1).max()))
    return Rollout(
        part.prompt_ids[:, -p:],
        part.prompt_mask[:, -p:],
        part.completion_ids[:, :t],
        part.completion_mask[:, :t],
        part.truncated,
        part.texts,
        part.prompt_truncated,
    )


@torch.no_grad()
def batched_logps(
    model: PreTrainedModel,
    rollout: Rollout,
    *,
    max_tokens: int,
    temperature: float = 1.0,
    bf16: bool = False,
) -> torch.Tensor:
    """Log-probs of a whole rollout without gradients (old-policy or reference pass), in token-sized
    micro-batches; ``[N, T]`` float32 on the rollout's device.

    Example:
        >>> from trainer_client.grpo.model import build_tiny_tokenizer, build_tiny_model
        >>> tok = build_tiny_tokenizer(); m = build_tiny_model(tok, hidden=32, layers=1, heads=2, intermediate=64)
        >>> r = generate(m, tok, ["<|user|>1\\n<|assistant|>"] * 2, Sampling(max_new_tokens=3))
        >>> batched_logps(m, r, max_tokens=8).shape == r.completion_ids.shape
        True
    """
    device = next(model.parameters()).device
    out = torch.zeros(rollout.completion_ids.shape, dtype=torch.float32)
    for index in token_micro_batches(rollout, max_tokens):
        part = trimmed(rollout, index).to(device)
        with autocast(device, bf16):
            lp, _ = token_logps(
                model,
                part.prompt_ids,
                part.prompt_mask,
                part.completion_ids,
                part.completion_mask,
                temperature=temperature,
            )
        out[index, : lp.shape[1]] = lp.cpu()
    return out.to(rollout.completion_ids.device)


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

    flags = [r.prompt_truncated for r in parts]
    return Rollout(
        prompt_ids=torch.cat([left(r.prompt_ids, p, pad_token_id) for r in parts]),
        prompt_mask=torch.cat([left(r.prompt_mask, p, 0) for r in parts]),
        completion_ids=torch.cat([right(r.completion_ids, t, pad_token_id) for r in parts]),
        completion_mask=torch.cat([right(r.completion_mask, t, 0) for r in parts]),
        truncated=torch.cat([r.truncated for r in parts]),
        texts=[x for r in parts for x in r.texts],
        prompt_truncated=None
        if any(f is None for f in flags)
        else torch.cat(cast(list[torch.Tensor], flags)),
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
        None if rollout.prompt_truncated is None else rollout.prompt_truncated[idx],
    )
