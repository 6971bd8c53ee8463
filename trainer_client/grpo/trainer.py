"""GRPO, DeepSeek-R1's RL algorithm, on any Hugging Face causal LM, rewarded by the verifiable-rewards service.

The choices, each a knob of :class:`GRPOConfig` (defaults in brackets):

* Rollouts: each step draws ``prompts_per_step`` [16] prompts and samples ``num_generations`` (G) [8]
  completions per prompt, at most ``max_completion_len`` [1024] tokens each, from ``softmax(logits /
  temperature)`` [1.0] (``top_k`` [0: off] and ``top_p`` [1.0] truncate it; every sampling field is passed to
  ``generate`` explicitly, so a checkpoint's ``generation_config`` changes nothing). Generation stops on every
  end id (EOS, the checkpoint's list, the chat template's end-of-turn token) and the loss mask ends there.
  Prompts go through the chat template (R1-Zero's plain template for a tokenizer without one) and are cut on
  the left to ``max_prompt_len`` [512] tokens, with a warning; ``prefill_think`` ends the prompt with R1's
  ``<think>\\n``, and the prompt text sent to the service carries it, so the format check knows.
* Rewards: one request per prompt group, sent as soon as its chunk of ``generation_chunk`` prompts [0: the
  whole step] is generated, scored while later chunks generate and the log-prob passes run. The reward is the
  service's weighted sum of accuracy, format and language (``reward_weights``).
* Null rewards are masked, never counted as 0: an item whose reward is null (accuracy not judgeable, a
  per-item error) or whose group could not be scored (service down, slow, circuit open, wrong result
  count or order) gets advantage 0, is left out of the group statistics and of the loss, and is counted in
  ``reward_masked_frac``.
* Overlong shaping [off]: DAPO's soft punishment over the last ``overlong_buffer`` tokens is added to the
  reward; ``mask_truncated`` leaves completions that hit the length limit out of the loss (DAPO's filter).
* Dynamic sampling [off]: groups whose raw accuracy (``scores.accuracy``, not the shaped reward) is all equal
  carry no signal; they are dropped and the batch is refilled with fresh prompts, up to
  ``dynamic_sampling_max_rounds`` rounds.
* Advantages: reward minus the group mean, divided by the group std (GRPO), the batch std, or nothing
  (Dr. GRPO) (``advantage_scaling`` [group]); NaN-aware.
* Loss: PPO's clipped surrogate per token with ratio clip ``[1 - eps_low, 1 + eps_high]`` (DAPO's clip-higher
  [0.2, 0.28]) and the log-ratio clamped to ±20, plus ``beta`` times a per-token KL estimate (k3 by default)
  to a frozen reference, which is only loaded when ``beta > 0`` [0] (in bf16 when ``bf16``, without
  gradients). Aggregated per token over the batch (DAPO, [token]), per sequence (GRPO) or by a constant
  (Dr. GRPO: ``loss_constant``, default ``max_completion_len``); the last two divide by every row of the
  batch, masked rows included, as TRL and verl do.
* Updates: ``mu`` [1] optimiser steps per rollout batch, each over the whole batch in micro-batches of at most
  ``micro_batch_tokens`` padded tokens with accumulated gradients. Dropout is off (old and new log-probs come
  from the same function). With ``mu = 1`` the old log-probs are the current ones, detached (ratio 1, as in
  TRL); with ``mu > 1`` they are computed once after generation. Log-probs and entropy go through the output
  head in chunks, never as a ``[batch, length, vocab]`` float32 tensor. AdamW, linear warmup then cosine
  decay, gradient-norm clipping; bf16 autocast and gradient checkpointing [on CUDA, off on CPU unless asked].
* Observability: one JSON line per step in ``metrics.jsonl`` and a console line; ``eval_accuracy`` (greedy,
  held-out prompts, scored by the service) at step 0 and every ``eval_every`` steps; a completions table
  every ``table_every`` steps; a checkpoint every ``checkpoint_every`` steps. ``reward_wait_fraction`` is the
  share of the step spent blocked on scores after generation and the log-prob passes were done: the scoring
  latency the overlap did not hide.
* Resumption: the checkpoint holds model, optimiser, scheduler, RNG states (python, torch, CUDA) and the
  prompt sampler's position; ``resume=True`` continues exactly where it stopped.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from trainer_client.grpo.checkpoint import load_checkpoint, save_checkpoint, seed_everything
from trainer_client.grpo.config import GRPOConfig
from trainer_client.grpo.data import Prompt, PromptSampler, builtin_task, load_prompts
from trainer_client.grpo.groups import Group, SampleTiming, sample_groups
from trainer_client.grpo.losses import (
    aggregate,
    clipped_surrogate,
    group_advantages,
    kl_penalty,
    overlong_penalty,
)
from trainer_client.grpo.metrics import (
    COMPONENTS,
    log_metrics,
    progress_line,
    reward_metrics,
    truncate_metrics,
    write_table,
)
from trainer_client.grpo.model import disable_dropout, load_model_and_tokenizer
from trainer_client.grpo.rewards import (
    CircuitBreaker,
    GroupScorer,
    LocalService,
    ScoreClient,
    http_client_factory,
)
from trainer_client.grpo.rollout import (
    Rollout,
    Sampling,
    autocast,
    batched_logps,
    concat_rollouts,
    end_token_ids,
    token_logps,
    token_micro_batches,
    trimmed,
)
from trainer_client.grpo.sft import lr_lambda

NAN = float("nan")


@dataclass
class Batch:
    """One step's scored groups, joined: ``rollout`` rows are the groups' completions in order."""

    groups: list[Group]
    rollout: Rollout  # on the CPU; the update moves one micro-batch at a time to the device
    rewards: torch.Tensor  # [groups, G], NaN where null
    old_logps: torch.Tensor | None  # [rows, T]
    ref_logps: torch.Tensor | None  # [rows, T]
    timing: dict[str, float]
    latencies: list[float] = field(default_factory=list)
    masked_groups: int = 0
    dropped_groups: int = 0
    prompts_truncated: int = 0


@dataclass
class Run:
    """Everything the loop needs, built by :func:`setup`."""

    model: Any
    ref_model: Any
    tokenizer: Any
    end_ids: list[int]
    device: torch.device
    bf16: bool
    checkpointing: bool
    train_prompts: list[Prompt]
    eval_prompts: list[Prompt]
    sampler: PromptSampler
    optimizer: torch.optim.Optimizer
    scheduler: Any
    start_step: int


def train(
    cfg: GRPOConfig,
    *,
    resume: bool = False,
    client_factory: Any = None,
    stop_after: int | None = None,
    on_step_end: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run GRPO as configured; return the per-step metrics (also in ``run_dir/metrics.jsonl``).

    Args:
        cfg: the configuration.
        resume: continue from ``run_dir/checkpoint`` if it exists.
        client_factory: a callable returning a scoring client (tests); default: HTTP to ``cfg.reward_urls``,
            or to a ``vrewards serve`` started on loopback when there are none.
        stop_after: stop (after checkpointing) once this step is done, as a preempted job would; the
            schedule still spans ``cfg.steps``, and ``resume=True`` continues.
        on_step_end: called with each step's metrics after they are logged (custom loggers, tests).

    Example:
        >>> # train(GRPOConfig(model="runs/sft", steps=100, run_dir="runs/grpo"))
    """
    run_dir = Path(cfg.run_dir)
    run = setup(cfg, resume=resume)
    history: list[dict[str, Any]] = []
    with ExitStack() as stack:
        scorer = open_scorer(cfg, stack, client_factory)
        run_tag = uuid.uuid4().hex[:8]  # request ids: unique per run, stable across the client's retries
        if run.start_step == 0 and cfg.eval_every > 0:  # the starting point (e.g. right after SFT)
            history.append(log_metrics(run_dir, {"step": 0, **evaluate(cfg, run, scorer, f"{run_tag}-e0")}))

        for step in range(run.start_step, cfg.steps):
            t_step = time.perf_counter()
            # 1. rollouts, each group scored as soon as it exists; dynamic sampling refills dropped groups
            batch = collect_batch(cfg, run, scorer, f"{run_tag}-s{step + 1}")

            # 2. advantages from the raw rewards (+ overlong shaping); null rewards masked
            rollout, g = batch.rollout, cfg.num_generations
            rewards = batch.rewards
            if cfg.overlong_buffer > 0:
                shaping = overlong_penalty(
                    rollout.lengths, cfg.max_completion_len, cfg.overlong_buffer, cfg.overlong_penalty
                )
                rewards = rewards + shaping.view(-1, g)
            advantages, valid = group_advantages(rewards, cfg.advantage_scaling, cfg.advantage_eps)
            loss_mask = rollout.completion_mask * valid.reshape(-1, 1)
            if cfg.mask_truncated:
                loss_mask = loss_mask * (~rollout.truncated).reshape(-1, 1)

            # 3. mu policy updates over the batch, micro-batched with accumulated gradients
            t_train = time.perf_counter()
            update = policy_update(
                cfg, run, rollout, advantages.reshape(-1), loss_mask, batch.old_logps, batch.ref_logps
            )
            train_s = time.perf_counter() - t_train
            step_s = time.perf_counter() - t_step

            # 4. metrics, eval, completions table, checkpoint
            metrics: dict[str, Any] = {"step": step + 1, **batch.timing, "train_s": train_s, **update}
            metrics.update(reward_metrics(batch, rewards, valid, rollout))
            metrics.update(
                step_s=step_s,
                lr=run.scheduler.get_last_lr()[0],
                tokens_per_s=float(rollout.lengths.sum()) / step_s,
                reward_wait_fraction=batch.timing["score_wait_s"] / step_s,
            )
            done = step + 1 == cfg.steps
            if cfg.eval_every > 0 and ((step + 1) % cfg.eval_every == 0 or done):
                metrics.update(evaluate(cfg, run, scorer, f"{run_tag}-e{step + 1}"))
            if cfg.table_every > 0 and ((step + 1) % cfg.table_every == 0 or done):
                write_table(run_dir / "completions" / f"step_{step + 1:06d}.jsonl", batch.groups)
            history.append(log_metrics(run_dir, metrics))
            print(progress_line(metrics, cfg.steps), flush=True)
            if on_step_end is not None:
                on_step_end(history[-1])
            stopping = stop_after is not None and step + 1 >= stop_after
            if stopping or done or (cfg.checkpoint_every > 0 and (step + 1) % cfg.checkpoint_every == 0):
                save_checkpoint(
                    run_dir / "checkpoint" / "state.pt",
                    step + 1,
                    run.model,
                    run.optimizer,
                    run.scheduler,
                    run.sampler,
                )
            if stopping:
                break

    if run.checkpointing:
        run.model.gradient_checkpointing_disable()
    if not history or history[-1]["step"] >= cfg.steps:  # finished (not stopped early): the model to use next
        run.model.save_pretrained(run_dir / "final")
        run.tokenizer.save_pretrained(run_dir / "final")
    return history


# ---- setup ------------------------------------------------------------------------------------------------
def setup(cfg: GRPOConfig, *, resume: bool = False) -> Run:
    """Seeds, model (dropout off), reference model, data, optimiser and schedule; restored from the
    checkpoint when resuming. Writes ``run_dir/config.json``.

    Example:
        >>> # run = setup(GRPOConfig(model="tiny", run_dir="runs/x")); run.start_step
    """
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed, cfg.deterministic)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    auto = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(auto if cfg.device == "auto" else cfg.device)
    cuda = device.type == "cuda"
    bf16 = cuda if cfg.bf16 is None else cfg.bf16
    checkpointing = cuda if cfg.gradient_checkpointing is None else cfg.gradient_checkpointing
    tiny = {
        "arch": cfg.tiny_arch,
        "hidden": cfg.tiny_hidden,
        "layers": cfg.tiny_layers,
        "heads": cfg.tiny_heads,
        "intermediate": cfg.tiny_intermediate,
        "seed": cfg.seed,
    }
    model, tokenizer = load_model_and_tokenizer(cfg.model, tokenizer_name=cfg.tokenizer, tiny=tiny)
    disable_dropout(model)
    model.to(device)  # type: ignore[arg-type]
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    ref_model = None
    if cfg.beta > 0:  # the frozen reference is the starting policy, loaded afresh (also on resume)
        ref_model, _ = load_model_and_tokenizer(
            cfg.model,
            tokenizer_name=cfg.tokenizer,
            tiny=tiny,
            dtype=torch.bfloat16 if bf16 else torch.float32,
        )
        disable_dropout(ref_model)
        ref_model.to(device).eval().requires_grad_(False)  # type: ignore[arg-type]
    train_prompts, eval_prompts = load_splits(cfg)
    sampler = PromptSampler(len(train_prompts), seed=cfg.seed)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, betas=(cfg.adam_beta1, cfg.adam_beta2), weight_decay=cfg.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: lr_lambda(
            s,
            warmup=cfg.warmup_steps,
            total=cfg.steps * cfg.mu,
            min_ratio=cfg.min_lr_ratio,
            cosine=cfg.lr_schedule == "cosine",
        ),
    )
    start_step = 0
    if resume and (run_dir / "checkpoint" / "state.pt").exists():
        start_step = load_checkpoint(
            run_dir / "checkpoint" / "state.pt", model, optimizer, scheduler, sampler
        )
        truncate_metrics(run_dir / "metrics.jsonl", start_step)
        print(f"resumed from step {start_step}", flush=True)
    elif (run_dir / "metrics.jsonl").exists():
        (run_dir / "metrics.jsonl").unlink()
    (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2), encoding="utf-8")
    return Run(
        model=model,
        ref_model=ref_model,
        tokenizer=tokenizer,
        end_ids=end_token_ids(tokenizer, model),
        device=device,
        bf16=bf16,
        checkpointing=checkpointing,
        train_prompts=train_prompts,
        eval_prompts=eval_prompts,
        sampler=sampler,
        optimizer=optimizer,
        scheduler=scheduler,
        start_step=start_step,
    )


def open_scorer(cfg: GRPOConfig, stack: ExitStack, client_factory: Any = None) -> GroupScorer:
    """The group scorer over ``cfg.reward_urls`` (or a ``vrewards serve`` on loopback), closed with ``stack``."""
    if client_factory is None:
        urls = list(cfg.reward_urls)
        if not urls:  # no URL: our own service on loopback, stopped when the run ends
            urls = [stack.enter_context(LocalService(workers=cfg.service_workers))]
        client_factory = http_client_factory(
            urls, timeout_s=cfg.reward_timeout_s, max_retries=cfg.reward_max_retries, api_token=cfg.api_token
        )
    scorer = GroupScorer(
        client_factory,
        rewards=reward_spec(cfg),
        deadline_s=cfg.reward_group_deadline_s,
        breaker=CircuitBreaker(cfg.breaker_failures, cfg.breaker_cooldown_s),
    )
    stack.callback(scorer.close)
    return scorer


def sampling_of(cfg: GRPOConfig, *, greedy: bool = False) -> Sampling:
    """The training (or greedy eval) sampling settings of ``cfg``.

    Example:
        >>> sampling_of(GRPOConfig(top_k=20)).top_k
        20
    """
    return Sampling(
        max_new_tokens=cfg.max_completion_len,
        max_prompt_len=cfg.max_prompt_len,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        top_k=cfg.top_k,
        greedy=greedy,
    )


# ---- rollouts and scoring ---------------------------------------------------------------------------------
def collect_batch(cfg: GRPOConfig, run: Run, scorer: GroupScorer, tag: str) -> Batch:
    """Generate and score ``prompts_per_step`` groups (refilling dropped ones under dynamic sampling).

    Each round generates its groups (sent for scoring chunk by chunk), runs the old/reference log-prob
    passes while scoring proceeds, and only then waits for the scores.
    """
    gen = SampleTiming()
    timing = {"generate_s": 0.0, "logp_s": 0.0, "score_wait_s": 0.0}
    kept: list[Group] = []
    masked_groups = dropped = 0
    latencies: list[float] = []
    pending: list[Group] = []
    for round_ in range(cfg.dynamic_sampling_max_rounds if cfg.dynamic_sampling else 1):
        need = cfg.prompts_per_step - len(kept)
        if need <= 0:
            break
        pending = sample_groups(
            run.model,
            run.tokenizer,
            [run.train_prompts[i] for i in run.sampler.take(need)],
            n=cfg.num_generations,
            sampling=sampling_of(cfg),
            scorer=scorer,
            tag=f"{tag}-r{round_}",
            end_ids=run.end_ids,
            chunk=cfg.generation_chunk,
            bf16=run.bf16,
            prefill_think=cfg.prefill_think,
            system_prompt=cfg.system_prompt,
            timing=gen,
        )
        t0 = time.perf_counter()  # the log-prob passes overlap the scoring of this round's groups
        if cfg.mu > 1 or run.ref_model is not None:
            joined = concat_rollouts([grp.rollout for grp in pending], int(run.tokenizer.pad_token_id))
            old = logps_of(cfg, run, run.model, joined) if cfg.mu > 1 else None
            ref = logps_of(cfg, run, run.ref_model, joined) if run.ref_model is not None else None
            for k, grp in enumerate(pending):
                rows, width = (
                    slice(k * cfg.num_generations, (k + 1) * cfg.num_generations),
                    grp.rollout.completion_ids.shape[1],
                )
                grp.old_logps = None if old is None else old[rows, :width]
                grp.ref_logps = None if ref is None else ref[rows, :width]
        timing["logp_s"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        for grp in pending:
            scores = grp.wait(scorer)
            latencies.append(scores.latency_s)
            masked_groups += scores.failure is not None
            accuracy = {s.get("accuracy") for s in scores.scores} - {None}
            if cfg.dynamic_sampling and scores.failure is None and len(accuracy) <= 1:
                dropped += 1  # no signal in raw accuracy: drop, refill in the next round
                continue
            kept.append(grp)
        timing["score_wait_s"] += time.perf_counter() - t0
    if not kept:  # every round dropped everything: train on nothing rather than on filtered groups
        kept = pending[:1]
    timing["generate_s"] = gen.generate_s
    rollout = concat_rollouts([grp.rollout for grp in kept], int(run.tokenizer.pad_token_id))
    width = rollout.completion_ids.shape[1]

    def stacked(parts: list[torch.Tensor | None]) -> torch.Tensor | None:
        if any(p is None for p in parts):
            return None
        return torch.cat(
            [torch.nn.functional.pad(p, (0, width - p.shape[1])) for p in parts if p is not None]
        )

    rewards = torch.tensor(
        [[NAN if r is None else r for r in grp.wait(scorer).rewards] for grp in kept], dtype=torch.float32
    )
    return Batch(
        groups=kept,
        rollout=rollout,
        rewards=rewards,
        old_logps=stacked([grp.old_logps for grp in kept]),
        ref_logps=stacked([grp.ref_logps for grp in kept]),
        timing=timing,
        latencies=latencies,
        masked_groups=masked_groups,
        dropped_groups=dropped,
        prompts_truncated=gen.prompts_truncated,
    )


def logps_of(cfg: GRPOConfig, run: Run, model: Any, rollout: Rollout) -> torch.Tensor:
    """Log-probs of ``rollout`` under ``model`` without gradients (old policy or reference), on the CPU."""
    return batched_logps(
        model, rollout, max_tokens=cfg.micro_batch_tokens, temperature=cfg.temperature, bf16=run.bf16
    )


# ---- the policy update ------------------------------------------------------------------------------------
def policy_update(
    cfg: GRPOConfig,
    run: Run,
    rollout: Rollout,
    advantages: torch.Tensor,
    loss_mask: torch.Tensor,
    old_logps: torch.Tensor | None,
    ref_logps: torch.Tensor | None,
) -> dict[str, float]:
    """``mu`` optimiser steps on the clipped surrogate (+ beta * KL).

    Loss, KL, entropy and grad norm are those of the first step (the policy that sampled); clip ratios are
    averaged over all ``mu`` steps (with ``mu = 1`` the ratio is 1 and nothing is ever clipped). The
    normalisers are the whole batch's: every row for ``sequence``/``constant``, every unmasked token for
    ``token``.
    """
    model, device = run.model, run.device
    n = rollout.completion_ids.shape[0]
    mask = loss_mask.float()
    num_tokens = float(mask.sum())
    stats: dict[str, float] = {}
    clipped_low = clipped_high = 0.0
    if old_logps is None and cfg.mu > 1:  # the ratio must be against the sampling policy, fixed for all mu
        old_logps = logps_of(cfg, run, model, rollout)
    micro_batches = token_micro_batches(rollout, cfg.micro_batch_tokens)
    model.train()  # dropout is off (setup): train mode only switches gradient checkpointing on
    for it in range(cfg.mu):
        sums = {"loss": 0.0, "kl": 0.0, "entropy": 0.0, "clip_low": 0.0, "clip_high": 0.0}
        for index in micro_batches:
            part = trimmed(rollout, index).to(device)
            width = part.completion_ids.shape[1]
            m = mask[index, :width].to(device)
            if float(m.sum()) == 0:
                continue  # nothing to learn from these rows; they still count in the normaliser
            with autocast(device, run.bf16):
                logps, entropy = token_logps(
                    model,
                    part.prompt_ids,
                    part.prompt_mask,
                    part.completion_ids,
                    part.completion_mask,
                    temperature=cfg.temperature,
                    with_entropy=it == 0,
                )
            old = old_logps[index, :width].to(device) if old_logps is not None else logps.detach()
            per_token, low, high = clipped_surrogate(
                logps, old, advantages[index].to(device), cfg.eps_low, cfg.eps_high
            )
            kl = None
            if ref_logps is not None:
                kl = kl_penalty(logps, ref_logps[index, :width].to(device), cfg.kl_estimator)
                per_token = per_token + cfg.beta * kl
            loss = aggregate(
                per_token,
                m,
                cfg.loss_aggregation,
                constant=cfg.loss_normaliser,
                num_sequences=float(n),
                num_tokens=num_tokens,
            )
            loss.backward()
            sums["loss"] += loss.item()
            sums["clip_low"] += float((low.float() * m).sum())
            sums["clip_high"] += float((high.float() * m).sum())
            if kl is not None:
                sums["kl"] += float((kl.detach() * m).sum())
            if entropy is not None:
                sums["entropy"] += float((entropy * m).sum())
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        run.optimizer.step()
        run.optimizer.zero_grad(set_to_none=True)
        run.scheduler.step()
        denom = max(num_tokens, 1.0)
        clipped_low += sums["clip_low"] / denom
        clipped_high += sums["clip_high"] / denom
        if it == 0:
            stats = {
                "loss": sums["loss"],
                "grad_norm": float(grad_norm),
                "kl": sums["kl"] / denom,
                "entropy": sums["entropy"] / denom,
            }
    stats.update(
        clip_ratio_low=clipped_low / cfg.mu,
        clip_ratio_high=clipped_high / cfg.mu,
        clip_fraction=(clipped_low + clipped_high) / cfg.mu,
    )
    return stats


# ---- evaluation -------------------------------------------------------------------------------------------
def evaluate(cfg: GRPOConfig, run: Run, scorer: GroupScorer, tag: str) -> dict[str, float]:
    """Greedy accuracy on the held-out prompts, scored by the service (masked items left out of the mean).

    Generated in chunks of a training step's rows (``prompts_per_step * num_generations``), in the training
    dtype.
    """
    prompts = run.eval_prompts[: cfg.eval_size] if cfg.eval_size else run.eval_prompts
    if not prompts:
        return {}
    t0 = time.perf_counter()
    groups = sample_groups(
        run.model,
        run.tokenizer,
        prompts,
        n=1,
        sampling=sampling_of(cfg, greedy=True),
        scorer=scorer,
        tag=tag,
        end_ids=run.end_ids,
        chunk=cfg.batch_size,
        bf16=run.bf16,
        prefill_think=cfg.prefill_think,
        system_prompt=cfg.system_prompt,
    )
    acc, fmt, masked = [], [], 0
    for grp in groups:
        for s in grp.wait(scorer).scores:
            if s.get("accuracy") is None:
                masked += 1
            else:
                acc.append(float(s["accuracy"]))  # type: ignore[arg-type]
            if s.get("format") is not None:
                fmt.append(float(s["format"]))  # type: ignore[arg-type]
    return {
        "eval_accuracy": sum(acc) / len(acc) if acc else NAN,
        "eval_format": sum(fmt) / len(fmt) if fmt else NAN,
        "eval_masked_frac": masked / len(prompts),
        "eval_s": time.perf_counter() - t0,
    }


# ---- data and the wire spec -------------------------------------------------------------------------------
def load_splits(cfg: GRPOConfig) -> tuple[list[Prompt], list[Prompt]]:
    """Train and held-out prompts: the configured files, or the built-in task."""
    if cfg.data:
        files = [cfg.data] + ([cfg.eval_data] if cfg.eval_data else [])
        train, *held = [
            load_prompts(
                f,
                prompt_column=cfg.prompt_column,
                answer_column=cfg.answer_column,
                lang_column=cfg.lang_column,
            )
            for f in files
        ]
        return train, held[0] if held else []
    return builtin_task(
        train_size=cfg.task_train_size,
        eval_size=cfg.task_eval_size,
        seed=cfg.seed,
        langs=cfg.task_langs,
        digits=cfg.task_digits,
        ops=cfg.task_ops,
        kind=cfg.task_kind,
    )


def reward_spec(cfg: GRPOConfig) -> dict[str, Any]:
    """The wire ``rewards`` block: every component with its weight (a 0 weight is still scored and logged)."""
    spec: dict[str, Any] = {name: {"weight": float(cfg.reward_weights.get(name, 0.0))} for name in COMPONENTS}
    spec["format"]["mode"] = cfg.format_mode
    return spec


__all__ = ["Batch", "GRPOConfig", "Run", "ScoreClient", "evaluate", "setup", "train"]
