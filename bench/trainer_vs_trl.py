"""Our GRPO trainer against TRL's ``GRPOTrainer`` (no vLLM): time per step and peak memory, same everything.

    python -m bench.trainer_vs_trl --json
    python -m bench.trainer_vs_trl --steps 3 --completion-len 512

Both trainers train the same tiny Qwen2 model (built from a config, saved once, loaded by both), whose
vocabulary has Qwen2.5's 151,936 tokens, on the same prompts (the built-in arithmetic task, rendered with the
same chat template and R1's ``<think>`` prefill), rewarded by the same ``vrewards serve`` (the weighted total of
accuracy, format and language), with the same GRPO settings: 2 prompts x 4 completions per step, at most
``--completion-len`` tokens each (the untrained model rarely ends earlier), temperature 1, no top-k/top-p,
one update per batch, no KL term, clip 0.2/0.28, token-level (DAPO) loss, AdamW at a constant learning rate,
float32 on the CPU with one torch thread. Each trainer runs in its own process, one after the other.

Per trainer: ``s_per_step`` is the mean wall time of the steps after the first (the first pays one-off
costs), ``peak_rss_mb`` the process's peak resident memory from the start of the first step to the end of the
last (``VmHWM`` after resetting it through ``/proc/self/clear_refs``), ``tokens_per_s`` the completion tokens
generated per second of those steps, and ``cpu_s_per_step`` the process's CPU time per step (all its
threads), the figure least moved by other work on a shared machine. TRL holds the logits of a micro-batch as a ``[rows, length, vocab]``
float32 tensor; ours takes the log-probs through the output head in chunks, so it fits micro-batches of all
8 rows where TRL is given 4 (its gradient accumulation over 2 micro-batches keeps the same step).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROMPTS_PER_STEP = 2
NUM_GENERATIONS = 4
LR = 1e-5
SEED = 0
VOCAB = 151_936
TINY = {"arch": "qwen2", "hidden": 64, "layers": 2, "heads": 4, "intermediate": 192, "max_positions": 2048}
WEIGHTS = {"accuracy": 1.0, "format": 0.5, "language": 0.1}


def peak_rss_mb() -> float:
    """This process's peak resident memory since the last :func:`reset_peak_rss` (``VmHWM``), in MiB.

    Example:
        >>> peak_rss_mb() > 0
        True
    """
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def reset_peak_rss() -> None:
    """Start :func:`peak_rss_mb` afresh from the current resident memory (Linux ``clear_refs``)."""
    Path("/proc/self/clear_refs").write_text("5", encoding="utf-8")


def build_model(model_dir: Path) -> None:
    """The tiny Qwen2 with a 151,936-token vocabulary and the character tokenizer, saved to ``model_dir``."""
    from trainer_client.grpo.model import build_tiny_model, build_tiny_tokenizer

    tok = build_tiny_tokenizer(vocab_size=VOCAB)
    model = build_tiny_model(tok, seed=SEED, **TINY)
    model.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)


def write_prompts(path: Path, n: int) -> None:
    """``n`` prompts of the built-in arithmetic task (question, answer, language) as JSONL."""
    from trainer_client.grpo.data import builtin_task

    train, _ = builtin_task(train_size=n, eval_size=0, seed=SEED, kind="arithmetic")
    rows = [{"prompt": p.prompt, "answer": p.answer, "lang": p.lang} for p in train]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def summarise(step_s: list[float], cpu_s: list[float], tokens: list[float], peak: float) -> dict[str, float]:
    """The figures of one trainer from its per-step wall and CPU times and completion-token counts.

    Example:
        >>> summarise([9.0, 2.0, 4.0], [8.0, 1.0, 3.0], [100, 40, 80], 512.0)
        {'s_per_step': 3.0, 'peak_rss_mb': 512.0, 'tokens_per_s': 20.0, 'cpu_s_per_step': 2.0}
    """
    timed, counted, cpu = step_s[1:] or step_s, tokens[1:] or tokens, cpu_s[1:] or cpu_s
    return {
        "s_per_step": sum(timed) / len(timed),
        "peak_rss_mb": peak,
        "tokens_per_s": sum(counted) / sum(timed),
        "cpu_s_per_step": sum(cpu) / len(cpu),
    }


# ---- the two sides, each in its own process ---------------------------------------------------------------
def run_ours(
    model_dir: Path, data: Path, url: str, steps: int, completion_len: int, run_dir: Path
) -> dict[str, float]:
    """Our trainer for ``steps`` steps; its figures."""
    import torch

    from trainer_client.grpo.config import GRPOConfig
    from trainer_client.grpo.trainer import train

    torch.set_num_threads(1)
    cfg = GRPOConfig(
        model=str(model_dir),
        data=str(data),
        run_dir=str(run_dir),
        reward_urls=[url],
        reward_weights=WEIGHTS,
        steps=steps,
        prompts_per_step=PROMPTS_PER_STEP,
        num_generations=NUM_GENERATIONS,
        max_completion_len=completion_len,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        lr=LR,
        warmup_steps=0,
        lr_schedule="constant",
        adam_beta2=0.999,
        eps_low=0.2,
        eps_high=0.28,
        beta=0.0,
        mu=1,
        loss_aggregation="token",
        advantage_scaling="group",
        eval_every=0,
        table_every=0,
        checkpoint_every=0,
        seed=SEED,
        threads=1,
        bf16=False,
        gradient_checkpointing=False,
    )
    step_s: list[float] = []
    cpu_s: list[float] = []
    tokens: list[float] = []
    peak = [0.0]
    cpu_mark = [0.0]

    def on_step_end(m: dict[str, Any]) -> None:  # the step's own clock: rollouts, scoring, update
        step_s.append(m["step_s"])
        cpu_s.append(time.process_time() - cpu_mark[0])  # from the previous step's end: nothing else runs
        cpu_mark[0] = time.process_time()
        tokens.append(m["completion_len_mean"] * PROMPTS_PER_STEP * NUM_GENERATIONS)
        peak[0] = peak_rss_mb()

    reset_peak_rss()  # after imports; setup (model load) counts in the first step, which is not timed
    cpu_mark[0] = time.process_time()
    train(cfg, on_step_end=on_step_end)
    return summarise(step_s, cpu_s, tokens, peak[0])


def run_trl(
    model_dir: Path, data: Path, url: str, steps: int, completion_len: int, run_dir: Path
) -> dict[str, float]:
    """TRL's GRPOTrainer for ``steps`` steps on the same model, prompts, service and settings; its figures."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from trainer_client.grpo.model import render_prompt
    from trainer_client.integrations.trl import make_reward_funcs

    torch.set_num_threads(1)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]
    dataset = Dataset.from_list(
        [{"prompt": render_prompt(tok, r["prompt"]), "answer": r["answer"], "lang": r["lang"]} for r in rows]
    )
    spec = {
        "accuracy": {"weight": 1.0},
        "format": {"weight": 0.5, "mode": "think"},
        "language": {"weight": 0.1},
    }
    args = GRPOConfig(
        output_dir=str(run_dir),
        max_steps=steps,
        per_device_train_batch_size=NUM_GENERATIONS,
        gradient_accumulation_steps=PROMPTS_PER_STEP,
        num_generations=NUM_GENERATIONS,
        max_completion_length=completion_len,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        repetition_penalty=1.0,
        learning_rate=LR,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        max_grad_norm=1.0,
        beta=0.0,
        num_iterations=1,
        epsilon=0.2,
        epsilon_high=0.28,
        loss_type="dapo",
        scale_rewards="group",
        shuffle_dataset=False,
        bf16=False,
        use_cpu=True,
        gradient_checkpointing=False,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=SEED,
        dataloader_num_workers=0,
        disable_dropout=True,
        log_completions=False,
    )
    step_s: list[float] = []
    cpu_s: list[float] = []
    tokens: list[float] = []
    peak = [0.0]
    started = [0.0, 0.0]

    class Clock(TrainerCallback):
        def on_step_begin(self, *a: Any, **k: Any) -> None:
            if not step_s and not started[0]:
                reset_peak_rss()
            started[:] = [time.perf_counter(), time.process_time()]

        def on_step_end(self, *a: Any, **k: Any) -> None:
            step_s.append(time.perf_counter() - started[0])
            cpu_s.append(time.process_time() - started[1])
            peak[0] = peak_rss_mb()

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **k: Any
        ) -> None:
            if logs and "completions/mean_length" in logs:
                tokens.append(logs["completions/mean_length"] * PROMPTS_PER_STEP * NUM_GENERATIONS)

    trainer = GRPOTrainer(
        model=model,
        reward_funcs=make_reward_funcs(url, components=("reward",), rewards=spec, prefill_think=True),
        args=args,
        train_dataset=dataset,
        processing_class=tok,
        callbacks=[Clock()],
    )
    trainer.train()
    return summarise(step_s, cpu_s, tokens, peak[0])


def side_main(argv: list[str]) -> int:
    """Run one side (``ours`` or ``trl``) and print its figures as JSON (the parent process reads them)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("side", choices=["ours", "trl"])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--completion-len", type=int, required=True)
    parser.add_argument("--run-dir", type=Path, required=True)
    a = parser.parse_args(argv)
    run = run_ours if a.side == "ours" else run_trl
    figures = run(a.model_dir, a.data, a.url, a.steps, a.completion_len, a.run_dir)
    print("FIGURES " + json.dumps(figures), flush=True)
    return 0


def run_side(side: str, work: Path, url: str, steps: int, completion_len: int) -> dict[str, float]:
    """One side in a fresh Python process; its figures."""
    cmd = [
        sys.executable,
        "-m",
        "bench.trainer_vs_trl",
        "--side",
        side,
        "--model-dir",
        str(work / "model"),
        "--data",
        str(work / "prompts.jsonl"),
        "--url",
        url,
        "--steps",
        str(steps),
        "--completion-len",
        str(completion_len),
        "--run-dir",
        str(work / side),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("FIGURES ")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(
            f"{side} failed (exit {out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        )
    return dict(json.loads(lines[-1][len("FIGURES ") :]))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--side"]:
        return side_main(argv[1:])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=4, help="steps per trainer (the first is not timed)")
    parser.add_argument(
        "--completion-len", type=int, default=512, help="max completion tokens (at least 512)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object with every figure")
    parser.add_argument("--url", help="use an already running service instead of starting one")
    args = parser.parse_args(argv)

    from bench.common import serve

    with tempfile.TemporaryDirectory(prefix="trainer-vs-trl-") as tmp:
        work = Path(tmp)
        build_model(work / "model")
        write_prompts(work / "prompts.jsonl", args.steps * PROMPTS_PER_STEP)

        def both(url: str) -> dict[str, dict[str, float]]:
            return {
                side: run_side(side, work, url, args.steps, args.completion_len) for side in ("ours", "trl")
            }

        if args.url:
            figures = both(args.url.rstrip("/"))
        else:
            with serve(workers=1) as server:
                figures = both(server.url)
    result: dict[str, Any] = {**figures, "completion_len": args.completion_len, "vocab_size": VOCAB}
    result["ratios"] = {
        f"trl_over_ours_{k}": figures["trl"][k] / figures["ours"][k]
        for k in ("s_per_step", "cpu_s_per_step", "peak_rss_mb")
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"completion_len {args.completion_len}, vocabulary {VOCAB:,}")
        print(f"{'':6} {'s/step':>8} {'CPU s/step':>10} {'peak RSS MB':>12} {'tokens/s':>9}")
        for side in ("ours", "trl"):
            f = figures[side]
            print(
                f"{side:6} {f['s_per_step']:8.2f} {f['cpu_s_per_step']:10.2f} {f['peak_rss_mb']:12.0f}"
                f" {f['tokens_per_s']:9.1f}"
            )
        print(json.dumps(result["ratios"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
