"""GRPO, DeepSeek-R1's RL algorithm, on any Hugging Face causal LM, rewarded by the verifiable-rewards service.

The choices, each a knob of :class:`GRPOConfig` (defaults in brackets):

* Rollouts: each step draws ``prompts_per_step`` prompts and samples ``num_generations`` (G) completions per
  prompt at ``temperature`` [1.0], at most ``max_completion_len`` tokens each. Prompts go through the model's
  chat template (R1-Zero's plain template for a tokenizer without one); ``prefill_think`` ends the prompt
  with R1's ``<think>\\n``, and the prompt text sent to the service carries it, so the format check knows.
* Rewards: one request per prompt group, sent as soon as the group's completions exist (generation runs in
  chunks of ``generation_chunk`` prompts) and scored while the next chunks generate and the log-prob passes
  run. The reward is the service's weighted sum of accuracy, format and language (``reward_weights``).
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
  [0.2, 0.28]), plus ``beta`` times a per-token KL estimate (k3 by default) to a frozen reference, which is
  only loaded when ``beta > 0`` [0]. Aggregated per sequence (GRPO), per token over the batch (DAPO, [token])
  or by a constant (Dr. GRPO: ``loss_constant``, default ``max_completion_len``).
* Updates: ``mu`` [1] optimiser steps per rollout batch, each over the whole batch in micro-batches with
  accumulated gradients. With ``mu = 1`` the old log-probs are the current ones, detached (ratio 1, as in
  TRL); with ``mu > 1`` they are computed once after generation. AdamW, linear warmup then cosine decay,
  gradient-norm clipping; bf16 autocast and gradient checkpointing on CUDA only.
* Observability: one JSON line per step in ``metrics.jsonl`` and a console line; ``eval_accuracy`` (greedy,
  held-out prompts, scored by the service) at step 0 and every ``eval_every`` steps; a completions table
  every ``table_every`` steps; a checkpoint every ``checkpoint_every`` steps.
* Resumption: the checkpoint holds model, optimiser, scheduler, RNG states (python, torch, CUDA) and the
  prompt sampler's position; ``resume=True`` continues exactly where it stopped.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import torch

from trainer_client.grpo.checkpoint import load_checkpoint, save_checkpoint, seed_everything
from trainer_client.grpo.config import GRPOConfig
from trainer_client.grpo.data import Prompt, PromptSampler, builtin_task, load_prompts
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
from trainer_client.grpo.model import load_model_and_tokenizer, render_prompt
from trainer_client.grpo.rewards import (
    CircuitBreaker,
    GroupScorer,
    GroupScores,
    LocalService,
    ScoreClient,
    http_client_factory,
)
from trainer_client.grpo.rollout import (
    Rollout,
    autocast,
    batched_logps,
    concat_rollouts,
    generate,
    select,
    token_logps,
)
from trainer_client.grpo.sft import lr_lambda

NAN = float("nan")


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
    # ---- setup: determinism, model, data, reward service --------------------------------------------------
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed, cfg.deterministic)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    auto = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(auto if cfg.device == "auto" else cfg.device)
    cuda = device.type == "cuda"
    tiny = {
        "arch": cfg.tiny_arch,
        "hidden": cfg.tiny_hidden,
        "layers": cfg.tiny_layers,
        "heads": cfg.tiny_heads,
        "intermediate": cfg.tiny_intermediate,
        "seed": cfg.seed,
    }
    model, tokenizer = load_model_and_tokenizer(cfg.model, tokenizer_name=cfg.tokenizer, tiny=tiny)
    model.to(device)  # type: ignore[arg-type]
    model.config.use_cache = True
    if cuda and cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    ref_model = None
    if cfg.beta > 0:  # the frozen reference is the starting policy, loaded afresh (also on resume)
        ref_model, _ = load_model_and_tokenizer(cfg.model, tokenizer_name=cfg.tokenizer, tiny=tiny)
        ref_model.to(device).eval().requires_grad_(False)  # type: ignore[arg-type]
    train_prompts, eval_prompts = load_splits(cfg)
    sampler = PromptSampler(len(train_prompts), seed=cfg.seed)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, betas=(cfg.adam_beta1, cfg.adam_beta2), weight_decay=cfg.weight_decay
    )
    total_updates = cfg.steps * cfg.mu
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: lr_lambda(
            s,
            warmup=cfg.warmup_steps,
            total=total_updates,
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

    rewards_spec = reward_spec(cfg)
    history: list[dict[str, Any]] = []
    with ExitStack() as stack:
        if client_factory is None:
            urls = list(cfg.reward_urls)
            if not urls:  # no URL: our own service on loopback, stopped when the run ends
                urls = [stack.enter_context(LocalService(workers=cfg.service_workers))]
            client_factory = http_client_factory(
                urls,
                timeout_s=cfg.reward_timeout_s,
                max_retries=cfg.reward_max_retries,
                api_token=cfg.api_token,
            )
        scorer = GroupScorer(
            client_factory,
            rewards=rewards_spec,
            deadline_s=cfg.reward_group_deadline_s,
            breaker=CircuitBreaker(cfg.breaker_failures, cfg.breaker_cooldown_s),
        )
        stack.callback(scorer.close)
        run_tag = uuid.uuid4().hex[:8]  # request ids: unique per run, stable across the client's retries

        # ---- the loop -------------------------------------------------------------------------------------
        for step in range(start_step, cfg.steps):
            metrics: dict[str, Any] = {"step": step + 1}
            if step == start_step == 0 and cfg.eval_every > 0:  # the starting point (e.g. right after SFT)
                history.append(
                    log_metrics(
                        run_dir,
                        {"step": 0, **evaluate(cfg, model, tokenizer, eval_prompts, scorer, run_tag, 0)},
                    )
                )
            t_step = time.perf_counter()

            # 1. rollouts, each group scored as soon as it exists; dynamic sampling refills dropped groups
            batch = collect_batch(
                cfg, model, ref_model, tokenizer, train_prompts, sampler, scorer, f"{run_tag}-s{step + 1}"
            )
            metrics.update(batch["timing"])

            # 2. advantages from the raw rewards (+ overlong shaping); null rewards masked
            rollout: Rollout = batch["rollout"]
            g = cfg.num_generations
            rewards = batch["rewards"]  # [groups, G], NaN where null
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
                cfg,
                model,
                optimizer,
                scheduler,
                rollout,
                advantages.reshape(-1),
                loss_mask,
                batch["old_logps"],
                batch["ref_logps"],
                device,
            )
            metrics["train_s"] = time.perf_counter() - t_train
            step_s = time.perf_counter() - t_step

            # 4. metrics, eval, completions table, checkpoint
            metrics.update(update)
            metrics.update(reward_metrics(batch, rewards, valid, rollout))
            metrics.update(
                step_s=step_s,
                lr=scheduler.get_last_lr()[0],
                tokens_per_s=float(rollout.lengths.sum()) / step_s,
                reward_wait_fraction=metrics["score_wait_s"] / step_s,
            )
            if cfg.eval_every > 0 and ((step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps):
                metrics.update(evaluate(cfg, model, tokenizer, eval_prompts, scorer, run_tag, step + 1))
            if cfg.table_every > 0 and ((step + 1) % cfg.table_every == 0 or step + 1 == cfg.steps):
                write_table(run_dir / "completions" / f"step_{step + 1:06d}.jsonl", batch)
            history.append(log_metrics(run_dir, metrics))
            print(progress_line(metrics, cfg.steps), flush=True)
            stopping = stop_after is not None and step + 1 >= stop_after
            periodic = cfg.checkpoint_every > 0 and (step + 1) % cfg.checkpoint_every == 0
            if periodic or stopping or step + 1 == cfg.steps:
                save_checkpoint(
                    run_dir / "checkpoint" / "state.pt", step + 1, model, optimizer, scheduler, sampler
                )
            if on_step_end is not None:
                on_step_end(history[-1])
            if stopping:
                break

    if cuda and cfg.gradient_checkpointing:
        model.gradient_checkpointing_disable()
    if not history or history[-1]["step"] >= cfg.steps:  # finished (not stopped early): the model to use next
        model.save_pretrained(run_dir / "final")
        tokenizer.save_pretrained(run_dir / "final")
    return history


# ---- rollouts and scoring ---------------------------------------------------------------------------------
def collect_batch(
    cfg: GRPOConfig,
    model: Any,
    ref_model: Any,
    tokenizer: Any,
    prompts: list[Prompt],
    sampler: PromptSampler,
    scorer: GroupScorer,
    tag: str,
) -> dict[str, Any]:
    """Generate and score ``prompts_per_step`` groups (refilling dropped ones under dynamic sampling).

    Per chunk of prompts: generate, send each group to the scorer, then run the old/reference log-prob
    passes while scoring proceeds; only after every chunk does it wait for the scores.
    """
    g = cfg.num_generations
    timing = {"generate_s": 0.0, "logp_s": 0.0, "score_wait_s": 0.0}
    kept: list[dict[str, Any]] = []  # one entry per group
    masked_groups = dropped = 0
    latencies: list[float] = []

    def logps_of(which: Any, rollout: Any) -> Any:
        return batched_logps(
            which, rollout, micro_batch_size=cfg.micro_batch_size, temperature=cfg.temperature, bf16=cfg.bf16
        )

    for round_ in range(cfg.dynamic_sampling_max_rounds if cfg.dynamic_sampling else 1):
        need = cfg.prompts_per_step - len(kept)
        if need <= 0:
            break
        indices = sampler.take(need)
        pending: list[dict[str, Any]] = []
        for start in range(0, len(indices), cfg.generation_chunk):
            chunk = [prompts[i] for i in indices[start : start + cfg.generation_chunk]]
            texts = [
                render_prompt(
                    tokenizer, p.prompt, prefill_think=cfg.prefill_think, system_prompt=cfg.system_prompt
                )
                for p in chunk
            ]
            t0 = time.perf_counter()
            part = generate(
                model,
                tokenizer,
                [t for t in texts for _ in range(g)],
                max_new_tokens=cfg.max_completion_len,
                max_prompt_len=cfg.max_prompt_len,
                temperature=cfg.temperature,
                top_p=cfg.top_p,
                top_k=cfg.top_k,
                bf16=cfg.bf16,
            )
            timing["generate_s"] += time.perf_counter() - t0
            for j, (p, text) in enumerate(zip(chunk, texts, strict=True)):
                group = select(part, list(range(j * g, (j + 1) * g)))
                key = f"{tag}-r{round_}-{p.id}-{start + j}"
                items = [
                    {
                        "id": f"{k}",
                        "prompt": text,
                        "completion": c,
                        "answer": p.answer,
                        "lang": p.lang,
                        "group": key,
                    }
                    for k, c in enumerate(group.texts)
                ]
                pending.append(
                    {"prompt": p, "prompt_text": text, "rollout": group, "ticket": scorer.submit(key, items)}
                )
            t0 = time.perf_counter()  # log-prob passes of this chunk overlap the scoring of its groups
            for entry in pending[-len(chunk) :]:
                rollout = entry["rollout"]
                entry["old_logps"] = logps_of(model, rollout) if cfg.mu > 1 else None
                entry["ref_logps"] = logps_of(ref_model, rollout) if ref_model is not None else None
            timing["logp_s"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        for entry in pending:
            scores: GroupScores = scorer.result(entry["ticket"])
            entry["scores"] = scores
            latencies.append(scores.latency_s)
            masked_groups += scores.failure is not None
            accuracy = [s.get("accuracy") for s in scores.scores]
            if (
                cfg.dynamic_sampling
                and scores.failure is None
                and len({a for a in accuracy if a is not None}) <= 1
            ):
                dropped += 1  # no signal in raw accuracy: drop, refill in the next round
                continue
            kept.append(entry)
        timing["score_wait_s"] += time.perf_counter() - t0
    if not kept:  # every round dropped everything: train on nothing rather than on filtered groups
        kept = pending[:1]
    # the batch lives on the CPU; the update moves one micro-batch at a time to the device
    rollout = concat_rollouts([e["rollout"].to("cpu") for e in kept], int(tokenizer.pad_token_id))
    width = rollout.completion_ids.shape[1]

    def stacked(name: str) -> torch.Tensor | None:
        if kept[0][name] is None:
            return None
        return torch.cat(
            [torch.nn.functional.pad(e[name].cpu(), (0, width - e[name].shape[1])) for e in kept]
        )

    rewards = torch.tensor(
        [[NAN if r is None else r for r in e["scores"].rewards] for e in kept], dtype=torch.float32
    )
    return {
        "rollout": rollout,
        "groups": kept,
        "rewards": rewards,
        "old_logps": stacked("old_logps"),
        "ref_logps": stacked("ref_logps"),
        "timing": timing,
        "latencies": latencies,
        "masked_groups": masked_groups,
        "dropped_groups": dropped,
    }


# ---- the policy update ------------------------------------------------------------------------------------
def policy_update(
    cfg: GRPOConfig,
    model: Any,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    rollout: Rollout,
    advantages: torch.Tensor,
    loss_mask: torch.Tensor,
    old_logps: torch.Tensor | None,
    ref_logps: torch.Tensor | None,
    device: torch.device,
) -> dict[str, float]:
    """``mu`` optimiser steps on the clipped surrogate (+ beta * KL).

    Loss, KL, entropy and grad norm are those of the first step (the policy that sampled); clip ratios are
    averaged over all ``mu`` steps (with ``mu = 1`` the ratio is 1 and nothing is ever clipped).
    """
    n = rollout.completion_ids.shape[0]
    mask = loss_mask.float()
    num_tokens = float(mask.sum())
    num_sequences = float((mask.sum(dim=-1) > 0).sum())
    constant = float(cfg.loss_constant or cfg.max_completion_len)
    stats: dict[str, float] = {}
    clipped_low = clipped_high = 0.0
    if old_logps is None and cfg.mu > 1:  # the ratio must be against the sampling policy, fixed for all mu
        old_logps = batched_logps(
            model,
            rollout.to(device),
            micro_batch_size=cfg.micro_batch_size,
            temperature=cfg.temperature,
            bf16=cfg.bf16,
        ).cpu()
    model.train()
    for it in range(cfg.mu):
        sums = {"loss": 0.0, "kl": 0.0, "entropy": 0.0, "clip_low": 0.0, "clip_high": 0.0}
        for start in range(0, n, cfg.micro_batch_size):
            sl = slice(start, min(start + cfg.micro_batch_size, n))
            m = mask[sl].to(device)
            if float(m.sum()) == 0:
                continue
            with autocast(device, cfg.bf16):
                logps, entropy = token_logps(
                    model,
                    rollout.prompt_ids[sl].to(device),
                    rollout.prompt_mask[sl].to(device),
                    rollout.completion_ids[sl].to(device),
                    rollout.completion_mask[sl].to(device),
                    temperature=cfg.temperature,
                    with_entropy=it == 0,
                )
            old = old_logps[sl].to(device) if old_logps is not None else logps.detach()
            per_token, low, high = clipped_surrogate(
                logps, old, advantages[sl].to(device), cfg.eps_low, cfg.eps_high
            )
            kl = None
            if ref_logps is not None:
                kl = kl_penalty(logps, ref_logps[sl].to(device), cfg.kl_estimator)
                per_token = per_token + cfg.beta * kl
            loss = aggregate(
                per_token,
                m,
                cfg.loss_aggregation,
                constant=constant,
                num_sequences=num_sequences,
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
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        denom = max(num_tokens, 1.0)
        clipped_low, clipped_high = (
            clipped_low + sums["clip_low"] / denom,
            clipped_high + sums["clip_high"] / denom,
        )
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


# ---- evaluation and the completions table -----------------------------------------------------------------
def evaluate(
    cfg: GRPOConfig,
    model: Any,
    tokenizer: Any,
    prompts: list[Prompt],
    scorer: GroupScorer,
    run_tag: str,
    step: int,
) -> dict[str, float]:
    """Greedy accuracy on the held-out prompts, scored by the service (masked items left out of the mean)."""
    prompts = prompts[: cfg.eval_size] if cfg.eval_size else prompts
    if not prompts:
        return {}
    t0 = time.perf_counter()
    tickets = []
    chunk = max(1, cfg.micro_batch_size)
    for start in range(0, len(prompts), chunk):
        part = prompts[start : start + chunk]
        texts = [
            render_prompt(
                tokenizer, p.prompt, prefill_think=cfg.prefill_think, system_prompt=cfg.system_prompt
            )
            for p in part
        ]
        out = generate(
            model,
            tokenizer,
            texts,
            max_new_tokens=cfg.max_completion_len,
            max_prompt_len=cfg.max_prompt_len,
            do_sample=False,
            bf16=cfg.bf16,
        )
        items = [
            {"id": str(i), "prompt": t, "completion": c, "answer": p.answer, "lang": p.lang}
            for i, (p, t, c) in enumerate(zip(part, texts, out.texts, strict=True))
        ]
        tickets.append(scorer.submit(f"{run_tag}-eval{step}-{start}", items))
    acc, fmt, masked = [], [], 0
    for ticket in tickets:
        group = scorer.result(ticket)
        for s in group.scores:
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


# ---- data, config and checkpoints -------------------------------------------------------------------------
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


__all__ = ["GRPOConfig", "ScoreClient", "train"]
