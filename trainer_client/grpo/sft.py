"""Supervised fine-tuning: the cold start of DeepSeek-R1 (and the rejection-sampling SFT stage).

Data: JSONL with a prompt and a response column (long chain-of-thought ending with the answer), or the
built-in task's worked solutions. The loss is the token cross-entropy on the response and its EOS only,
averaged over the batch's response tokens. A row whose prompt + response + EOS exceeds ``max_len`` is dropped
and counted, never cut (a cut row would teach the model never to stop); raise ``max_len`` to keep it. Each
step's ``batch_size`` rows run in micro-batches of at most ``micro_batch_tokens`` padded tokens with
accumulated gradients, and the log-probs go through the output head in chunks (as in GRPO), so a long
chain of thought over a 151,936-token vocabulary fits. The result is saved with ``save_pretrained`` (model and
tokenizer), so GRPO loads it by path.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from trainer_client.grpo.data import Prompt, builtin_task
from trainer_client.grpo.model import THINK_PREFILL, load_model_and_tokenizer, render_prompt
from trainer_client.grpo.rollout import Rollout, autocast, token_logps, token_micro_batches, trimmed


@dataclass
class SFTConfig:
    """Cold-start SFT settings (defaults for a real 0.5B-1.5B checkpoint; the demo sets the tiny model's).

    Example:
        >>> SFTConfig(steps=10).steps
        10
    """

    model: str = "tiny"
    data: str | None = None  # JSONL with prompt/response columns; None: the built-in task's solutions
    prompt_column: str = "prompt"
    response_column: str = "response"
    out_dir: str = "runs/sft"
    prefill_think: bool = True
    system_prompt: str | None = None
    steps: int = 1000
    batch_size: int = 32  # rows per optimiser step
    micro_batch_tokens: int = 16384  # padded tokens per forward/backward (gradient accumulation)
    lr: float = 1e-5
    warmup_steps: int = 20
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    max_len: int = 4096  # longer rows (prompt + response + EOS) are dropped and counted, never cut
    seed: int = 0
    bf16: bool | None = None  # None: on CUDA only
    gradient_checkpointing: bool | None = None  # None: on CUDA only
    threads: int | None = None
    tiny: dict[str, Any] = field(default_factory=dict)
    task_size: int = 2000
    task_seed: int = 1000  # a seed distinct from the GRPO task's, so the cold start is its own set
    task_digits: int = 2
    task_ops: list[str] = field(default_factory=lambda: ["+"])
    task_kind: str = "mixed"
    task_langs: list[str] = field(default_factory=lambda: ["en", "fr", "de", "es", "zh"])
    task_shortcut_fraction: float = 0.0  # share of cold-start rows reasoning in one line (see task_sft_rows)
    log_every: int = 10


def solution_response(solution: str, answer: str, *, prefill_think: bool) -> str:
    """The R1 cold-start response for a worked solution: reasoning, ``</think>``, then the boxed answer.

    Example:
        >>> solution_response("5+8=13 4+2+1=7", "73", prefill_think=True)
        '5+8=13 4+2+1=7\\n</think>\\n\\\\boxed{73}'
    """
    body = f"{solution}\n</think>\n\\boxed{{{answer}}}"
    return body if prefill_think else THINK_PREFILL + body


def task_sft_rows(
    prompts: list[Prompt], *, prefill_think: bool, shortcut_fraction: float = 0.0, seed: int = 0
) -> list[dict[str, Any]]:
    """Cold-start rows (prompt, response, answer, lang) from the built-in task's worked solutions.

    A ``shortcut_fraction`` of the rows (drawn by ``seed``) reason in one line (``45+28=73``) instead of
    column by column: both are correct, but a small model copies the shortcut far less reliably, so the
    reward can tell the two habits apart.

    Example:
        >>> rows = task_sft_rows(builtin_task(train_size=1, eval_size=0)[0], prefill_think=True)
        >>> rows[0]["response"].endswith("}")
        True
    """
    rng = random.Random(f"shortcut-{seed}")
    rows = []
    for p in prompts:
        short = p.shortcut is not None and rng.random() < shortcut_fraction
        reasoning = (p.shortcut if short else p.solution) or ""
        rows.append(
            {
                "prompt": p.prompt,
                "response": solution_response(reasoning, p.answer or "", prefill_think=prefill_think),
                "answer": p.answer,
                "lang": p.lang,
            }
        )
    return rows


def write_jsonl(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Write rows as JSON lines (UTF-8, non-ASCII kept)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def encode_pair(
    tokenizer: PreTrainedTokenizerBase, prompt_text: str, response: str
) -> tuple[list[int], list[int]]:
    """Token ids of the prompt, and of the response followed by EOS (what the loss trains).

    Example:
        >>> from trainer_client.grpo.model import build_tiny_tokenizer
        >>> tok = build_tiny_tokenizer(); p, r = encode_pair(tok, "ab", "c")
        >>> len(p), r[-1] == tok.eos_token_id
        (2, True)
    """
    p = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    r = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return p, r


def fitting_rows(
    pairs: list[tuple[list[int], list[int]]], max_len: int
) -> tuple[list[tuple[list[int], list[int]]], int]:
    """The pairs whose prompt + response fit in ``max_len`` tokens, and how many were dropped.

    Example:
        >>> fitting_rows([([1, 2], [3]), ([1] * 5, [3])], max_len=4)
        ([([1, 2], [3])], 1)
    """
    kept = [(p, r) for p, r in pairs if len(p) + len(r) <= max_len]
    return kept, len(pairs) - len(kept)


def collate(pairs: list[tuple[list[int], list[int]]], pad_id: int) -> Rollout:
    """Pairs as a rollout: prompts left-padded, responses right-padded with their mask.

    Example:
        >>> r = collate([([1, 2], [3]), ([4], [5, 6])], 0)
        >>> r.prompt_ids.tolist(), r.completion_mask.tolist()
        ([[1, 2], [0, 4]], [[1, 0], [1, 1]])
    """
    p_w = max(len(p) for p, _ in pairs)
    r_w = max(len(r) for _, r in pairs)
    prompt_ids = torch.full((len(pairs), p_w), pad_id, dtype=torch.long)
    prompt_mask = torch.zeros((len(pairs), p_w), dtype=torch.long)
    ids = torch.full((len(pairs), r_w), pad_id, dtype=torch.long)
    mask = torch.zeros((len(pairs), r_w), dtype=torch.long)
    for i, (p, r) in enumerate(pairs):
        prompt_ids[i, p_w - len(p) :] = torch.tensor(p)
        prompt_mask[i, p_w - len(p) :] = 1
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return Rollout(
        prompt_ids, prompt_mask, ids, mask, torch.zeros(len(pairs), dtype=torch.bool), [""] * len(pairs)
    )


def sft_step(
    model: PreTrainedModel,
    batch: Rollout,
    *,
    micro_batch_tokens: int,
    device: torch.device,
    bf16: bool,
) -> float:
    """Accumulate the gradient of the batch's mean response-token cross-entropy; return that loss.

    Every micro-batch is divided by the whole batch's token count, so the accumulated gradient is the one of
    the full batch at once.
    """
    total = float(batch.completion_mask.sum())
    loss_sum = 0.0
    for index in token_micro_batches(batch, micro_batch_tokens):
        part = trimmed(batch, index).to(device)
        with autocast(device, bf16):
            logps, _ = token_logps(
                model, part.prompt_ids, part.prompt_mask, part.completion_ids, part.completion_mask
            )
        loss = -(logps * part.completion_mask).sum() / total
        loss.backward()
        loss_sum += loss.item()
    return loss_sum


def lr_lambda(step: int, *, warmup: int, total: int, min_ratio: float, cosine: bool = True) -> float:
    """Linear warmup then cosine decay to ``min_ratio`` (or constant): the LR multiplier at ``step``.

    Example:
        >>> [round(lr_lambda(s, warmup=2, total=10, min_ratio=0.0), 2) for s in (0, 1, 2, 10)]
        [0.5, 1.0, 1.0, 0.0]
    """
    if step < warmup:
        return (step + 1) / warmup
    if not cosine:
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def load_sft_rows(cfg: SFTConfig) -> list[dict[str, Any]]:
    """The SFT rows of ``cfg``: its JSONL, or the built-in task's cold-start set."""
    if cfg.data is None:
        train, _ = builtin_task(
            train_size=cfg.task_size,
            eval_size=0,
            seed=cfg.task_seed,
            langs=cfg.task_langs,
            digits=cfg.task_digits,
            ops=cfg.task_ops,
            kind=cfg.task_kind,
        )
        return task_sft_rows(
            train,
            prefill_think=cfg.prefill_think,
            shortcut_fraction=cfg.task_shortcut_fraction,
            seed=cfg.seed,
        )
    rows = []
    with Path(cfg.data).open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if not line.strip():
                continue
            row = json.loads(line)
            if cfg.prompt_column not in row or cfg.response_column not in row:
                raise ValueError(
                    f"{cfg.data}: row {i} lacks {cfg.prompt_column!r} or {cfg.response_column!r}"
                )
            response = str(row[cfg.response_column])
            if cfg.prefill_think and response.startswith("<think>"):
                response = response[len("<think>") :].lstrip("\n")  # the prompt already holds it
            rows.append({"prompt": str(row[cfg.prompt_column]), "response": response})
    return rows


def run_sft(
    cfg: SFTConfig, *, model: PreTrainedModel | None = None, tokenizer: PreTrainedTokenizerBase | None = None
) -> Path:
    """Fine-tune on the SFT rows and save model and tokenizer to ``cfg.out_dir``; return that path.

    Rows longer than ``cfg.max_len`` tokens are dropped; the count is printed and saved in
    ``sft_config.json`` (``dropped_over_max_len``).

    Example:
        >>> # run_sft(SFTConfig(steps=100, out_dir="runs/sft"))  -> Path("runs/sft")
    """
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = device.type == "cuda" if cfg.bf16 is None else cfg.bf16
    checkpointing = (
        device.type == "cuda" if cfg.gradient_checkpointing is None else cfg.gradient_checkpointing
    )
    if model is None or tokenizer is None:
        model, tokenizer = load_model_and_tokenizer(cfg.model, tiny={**cfg.tiny, "seed": cfg.seed})
    model.to(device)  # type: ignore[arg-type]
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    rows = load_sft_rows(cfg)
    pairs = [
        encode_pair(
            tokenizer,
            render_prompt(
                tokenizer, r["prompt"], prefill_think=cfg.prefill_think, system_prompt=cfg.system_prompt
            ),
            r["response"],
        )
        for r in rows
    ]
    encoded, dropped = fitting_rows(pairs, cfg.max_len)
    if dropped:
        print(
            f"sft: dropped {dropped} of {len(pairs)} rows longer than max_len={cfg.max_len} tokens",
            flush=True,
        )
    if not encoded:
        raise ValueError(f"every SFT row is longer than max_len={cfg.max_len} tokens: raise --max-len")
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_lambda(s, warmup=cfg.warmup_steps, total=cfg.steps, min_ratio=cfg.min_lr_ratio)
    )
    rng = random.Random(f"sft-{cfg.seed}")
    order: list[int] = []
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pad_id = int(tokenizer.pad_token_id)
    model.train()
    t0 = time.perf_counter()
    with (out / "sft_metrics.jsonl").open("w", encoding="utf-8") as log:
        for step in range(cfg.steps):
            if len(order) < cfg.batch_size:
                fresh = list(range(len(encoded)))
                rng.shuffle(fresh)
                order += fresh
            idx, order = order[: cfg.batch_size], order[cfg.batch_size :]
            opt.zero_grad(set_to_none=True)
            loss = sft_step(
                model,
                collate([encoded[i] for i in idx], pad_id),
                micro_batch_tokens=cfg.micro_batch_tokens,
                device=device,
                bf16=bf16,
            )
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            record = {
                "step": step + 1,
                "loss": loss,
                "grad_norm": float(grad_norm),
                "lr": sched.get_last_lr()[0],
                "elapsed_s": time.perf_counter() - t0,
            }
            log.write(json.dumps(record) + "\n")
            if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
                print(
                    f"sft step {step + 1}/{cfg.steps} loss {record['loss']:.4f} lr {record['lr']:.2e}",
                    flush=True,
                )
    if checkpointing:
        model.gradient_checkpointing_disable()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    summary = {**asdict(cfg), "rows": len(pairs), "dropped_over_max_len": dropped}
    (out / "sft_config.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return out
