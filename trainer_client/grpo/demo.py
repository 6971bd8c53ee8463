"""``vrewards demo --recipe arithmetic --run-dir DIR``: the first demo, one SFT and one GRPO stage on digit
reasoning, on a CPU in minutes, with no download.

R1's recipes, every stage evaluated and each reward shown at work, are ``--recipe r1`` (the default) and
``--recipe r1-zero``: :mod:`trainer_client.grpo.recipe`. This one stays for its single claim (GRPO raises
accuracy after a cold start) and because it is the quickest.

1. The reward service is started on loopback (``vrewards serve`` as a subprocess).
2. A tiny Llama (about 0.8M parameters) with a character-level tokenizer is built from a config, and a
   cold-start SFT teaches it the R1 format (reasoning in ``<think>``, answer in ``\\boxed{}``) on two-digit
   additions asked in five languages. Half of the cold-start solutions work column by column
   (``5+8=13 4+2+1=7``), half jump to the sum in one line (``45+28=73``): both correct, as careful and sloppy
   reasoning are mixed in real cold-start data, but the tiny model only executes the careful one reliably.
   After SFT its greedy accuracy is partial (about 0.5).
3. GRPO then trains it on fresh prompts with the service's rewards (accuracy + format + language), evaluating
   greedy accuracy on held-out prompts every few steps. Nothing tells it which habit to keep but the
   reward: the rise in ``eval_accuracy`` is RL learning to reason step by step.
4. ``DIR/metrics.jsonl``, ``DIR/curves.png``, ``DIR/eval_accuracy.png`` and ``DIR/summary.json`` are written.

Same seed, same curve: seeds are fixed, kernels deterministic and the service is deterministic.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

TINY = {"hidden": 128, "layers": 4, "heads": 4, "intermediate": 384}
SFT_SETTINGS: dict[str, Any] = {
    "steps": 600,
    "batch_size": 32,
    "lr": 2e-3,
    "warmup_steps": 10,
    "task_kind": "arithmetic",
    "task_shortcut_fraction": 0.5,
}
GRPO_SETTINGS: dict[str, Any] = {
    "steps": 60,
    "prompts_per_step": 16,
    "num_generations": 8,
    "generation_chunk": 4,
    "lr": 1e-4,
    "warmup_steps": 0,
    "max_completion_len": 32,
    "eval_every": 10,
    "task_kind": "arithmetic",
    "task_eval_size": 128,
    "checkpoint_every": 0,
    "table_every": 20,
    "micro_batch_tokens": 6144,
}
QUICK = {
    "sft_steps": 20,
    "grpo_steps": 2,
    "eval_every": 1,
    "task_eval_size": 8,
    "prompts_per_step": 2,
    "num_generations": 4,
}


def run_demo(
    run_dir: str | Path,
    *,
    seed: int = 0,
    quick: bool = False,
    threads: int | None = 1,
    reward_urls: list[str] | None = None,
) -> dict[str, Any]:
    """Run the demo; return its summary (also written to ``run_dir/summary.json``).

    ``quick`` shrinks every stage to seconds (what the tests run); the figures then mean nothing.

    Example:
        >>> # run_demo("runs/demo")["eval_accuracy_last"]
    """
    from trainer_client.grpo.config import GRPOConfig
    from trainer_client.grpo.plot import plot_run
    from trainer_client.grpo.rewards import LocalService
    from trainer_client.grpo.sft import SFTConfig, run_sft
    from trainer_client.grpo.trainer import train

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sft = {**SFT_SETTINGS, **({"steps": QUICK["sft_steps"]} if quick else {})}
    grpo = dict(GRPO_SETTINGS)
    if quick:
        grpo.update(
            steps=QUICK["grpo_steps"],
            eval_every=QUICK["eval_every"],
            task_eval_size=QUICK["task_eval_size"],
            prompts_per_step=QUICK["prompts_per_step"],
            num_generations=QUICK["num_generations"],
            table_every=1,
        )
    with ExitStack() as stack:
        urls = list(reward_urls or [])
        if not urls:
            urls = [stack.enter_context(LocalService(workers=1))]
        t_sft = time.perf_counter()
        sft_dir = run_sft(
            SFTConfig(
                model="tiny",
                out_dir=str(run_dir / "sft"),
                seed=seed,
                tiny=TINY,
                threads=threads,
                log_every=50,
                **sft,
            )
        )
        sft_s = time.perf_counter() - t_sft
        cfg = GRPOConfig(
            model=str(sft_dir), run_dir=str(run_dir), reward_urls=urls, seed=seed, threads=threads, **grpo
        )
        t_rl = time.perf_counter()
        history = train(cfg)
        rl_s = time.perf_counter() - t_rl
    curves = plot_run(run_dir)
    evals = [m["eval_accuracy"] for m in history if m.get("eval_accuracy") is not None]
    waits = [m["reward_wait_fraction"] for m in history if "reward_wait_fraction" in m]
    summary = {
        "seed": seed,
        "quick": quick,
        "eval_accuracy_first": evals[0] if evals else None,
        "eval_accuracy_last": evals[-1] if evals else None,
        "eval_accuracy_rise": (evals[-1] - evals[0]) if evals else None,
        "eval_accuracy_curve": evals,
        "reward_wait_fraction_mean": sum(waits) / len(waits) if waits else None,
        "reward_masked_frac_mean": sum(
            m.get("reward_masked_frac", 0.0) for m in history if "reward_masked_frac" in m
        )
        / max(1, len(waits)),
        "sft_s": sft_s,
        "grpo_s": rl_s,
        "wall_s": time.perf_counter() - t0,
        "curves": [str(p) for p in curves],
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
