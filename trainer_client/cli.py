"""The trainer's ``vrewards`` commands: ``sft``, ``reject-sample``, ``train``, ``demo``, ``plot``.

``register(subparsers)`` is called by :mod:`app.cli`. Nothing here imports torch at import time: each
command imports the trainer when it runs, so ``vrewards serve`` starts without it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _weights(text: str) -> dict[str, float]:
    """``accuracy=1,format=0.5,language=0.1`` -> a dict."""
    out = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in ("accuracy", "format", "language") or not value:
            raise argparse.ArgumentTypeError(
                f"bad weight {part!r}: expected accuracy=1,format=0.5,language=0.1"
            )
        out[name.strip()] = float(value)
    return out


def _overrides(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _load_config(path: Path | None) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path else {}


# ---- train ------------------------------------------------------------------------------------------------
_TRAIN_FLAGS: list[tuple[str, type, str]] = [
    ("steps", int, "GRPO steps"),
    ("prompts_per_step", int, "prompts per step"),
    ("num_generations", int, "G: completions per prompt"),
    ("max_prompt_len", int, "maximum prompt tokens (longer prompts lose their start, with a warning)"),
    ("max_completion_len", int, "maximum completion tokens"),
    ("temperature", float, "sampling temperature"),
    (
        "top_p",
        float,
        "nucleus sampling (1.0: off; below 1 the loss no longer scores the sampled distribution)",
    ),
    ("top_k", int, "top-k sampling (0: off; above 0 the loss no longer scores the sampled distribution)"),
    ("lr", float, "learning rate"),
    ("warmup_steps", int, "linear warmup steps"),
    ("beta", float, "KL coefficient (0: no reference model)"),
    ("eps_low", float, "lower clip range"),
    ("eps_high", float, "upper clip range (clip-higher)"),
    ("mu", int, "policy updates per rollout batch"),
    ("loss_constant", float, "the divisor of --loss-aggregation constant (default: max completion len)"),
    ("micro_batch_tokens", int, "padded tokens per forward/backward (gradient accumulation over the batch)"),
    ("generation_chunk", int, "prompts generated together (0: the whole step)"),
    ("overlong_buffer", int, "DAPO soft overlong punishment buffer in tokens (0: off)"),
    ("eval_every", int, "evaluate every N steps (0: never)"),
    ("checkpoint_every", int, "checkpoint every N steps"),
    ("table_every", int, "write a completions table every N steps"),
    ("seed", int, "random seed"),
    ("threads", int, "torch CPU threads"),
    ("prompt_column", str, "prompt column of --data"),
    ("answer_column", str, "answer column of --data"),
    ("lang_column", str, "language column of --data"),
    ("tokenizer", str, "tokenizer path or hub name (default: the model's)"),
    ("system_prompt", str, "system prompt"),
    ("api_token", str, "bearer token for the reward service"),
]
_TRAIN_CHOICES: list[tuple[str, list[str], str]] = [
    ("advantage_scaling", ["group", "batch", "none"], "std scaling of advantages (none: Dr. GRPO)"),
    ("kl_estimator", ["k1", "k2", "k3"], "KL estimator"),
    ("loss_aggregation", ["sequence", "token", "constant"], "loss aggregation (GRPO, DAPO, Dr. GRPO)"),
]


def _add_model_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help='path or hub name of a causal LM, or "tiny" for the in-code model')
    p.add_argument("--data", help="JSONL or Parquet of prompts (default: the built-in task)")
    p.add_argument("--task", choices=["builtin"], help="use the built-in multilingual arithmetic task")
    p.add_argument(
        "--no-prefill-think",
        dest="prefill_think",
        action="store_false",
        default=None,
        help="do not end the prompt with R1's <think>",
    )


def _cmd_train(args: argparse.Namespace) -> int:
    from trainer_client.grpo.config import GRPOConfig
    from trainer_client.grpo.trainer import train

    data = _load_config(args.config)
    data.update(
        _overrides(
            args,
            [n for n, _, _ in _TRAIN_FLAGS]
            + [n for n, _, _ in _TRAIN_CHOICES]
            + ["model", "data", "eval_data", "run_dir", "prefill_think"],
        )
    )
    if args.task == "builtin":
        data["data"] = None
    if args.reward_url:
        data["reward_urls"] = args.reward_url
    if args.weights:
        data["reward_weights"] = args.weights
    for flag in ("dynamic_sampling", "mask_truncated"):
        if getattr(args, flag):
            data[flag] = True
    history = train(GRPOConfig.from_dict(data), resume=args.resume)
    evals = [m["eval_accuracy"] for m in history if m.get("eval_accuracy") is not None]
    if evals:
        print(f"eval_accuracy: first {evals[0]:.3f}, last {evals[-1]:.3f}")
    return 0


def _register_train(subparsers: Any) -> None:
    p = subparsers.add_parser("train", help="GRPO with rewards from the service (R1-Zero or R1's RL stages)")
    p.add_argument("--config", type=Path, help="JSON file of GRPOConfig fields; flags override it")
    _add_model_flags(p)
    p.add_argument("--eval-data", help="held-out JSONL or Parquet for eval_accuracy")
    p.add_argument("--run-dir", help="output directory (metrics.jsonl, checkpoints, tables)")
    p.add_argument(
        "--reward-url",
        action="append",
        help="reward service URL; repeat for replicas (default: start vrewards serve on loopback)",
    )
    p.add_argument("--weights", type=_weights, help="reward weights, e.g. accuracy=1,format=0.5,language=0.1")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoint")
    p.add_argument(
        "--dynamic-sampling", action="store_true", help="drop groups whose raw accuracy is all equal"
    )
    p.add_argument(
        "--mask-truncated", action="store_true", help="leave truncated completions out of the loss"
    )
    for name, kind, text in _TRAIN_FLAGS:
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, help=text)
    for name, choices, text in _TRAIN_CHOICES:
        p.add_argument("--" + name.replace("_", "-"), dest=name, choices=choices, help=text)
    p.set_defaults(func=_cmd_train)


# ---- sft --------------------------------------------------------------------------------------------------
def _cmd_sft(args: argparse.Namespace) -> int:
    from trainer_client.grpo.sft import SFTConfig, run_sft, task_sft_rows, write_jsonl

    data = _load_config(args.config)
    data.update(
        _overrides(
            args,
            [
                "model",
                "data",
                "prefill_think",
                "steps",
                "batch_size",
                "lr",
                "seed",
                "threads",
                "prompt_column",
                "response_column",
                "out_dir",
                "max_len",
                "micro_batch_tokens",
            ],
        )
    )
    if args.task == "builtin":
        data["data"] = None
    cfg = SFTConfig(**data)
    if args.export_task:
        from trainer_client.grpo.data import builtin_task

        train, _ = builtin_task(train_size=cfg.task_size, eval_size=0, seed=cfg.task_seed, kind=cfg.task_kind)
        write_jsonl(task_sft_rows(train, prefill_think=False), args.export_task)
        print(f"wrote {len(train)} cold-start rows to {args.export_task}")
        return 0
    print(f"saved to {run_sft(cfg)}")
    return 0


def _register_sft(subparsers: Any) -> None:
    p = subparsers.add_parser("sft", help="cold-start SFT on long-CoT JSONL (prompt/response columns)")
    p.add_argument("--config", type=Path, help="JSON file of SFTConfig fields; flags override it")
    _add_model_flags(p)
    p.add_argument("--out", dest="out_dir", help="where the fine-tuned model and tokenizer are saved")
    p.add_argument("--prompt-column", help="prompt column (default prompt)")
    p.add_argument("--response-column", help="response column (default response)")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument(
        "--max-len", type=int, help="rows longer than this many tokens are dropped and counted (default 4096)"
    )
    p.add_argument("--micro-batch-tokens", type=int, help="padded tokens per forward/backward")
    p.add_argument("--seed", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--export-task", type=Path, help="write the built-in cold-start set as JSONL and exit")
    p.set_defaults(func=_cmd_sft)


# ---- reject-sample ----------------------------------------------------------------------------------------
def _cmd_reject(args: argparse.Namespace) -> int:
    from trainer_client.grpo.reject_sample import RejectConfig, run_reject_sampling

    data = _overrides(
        args,
        [
            "model",
            "data",
            "prefill_think",
            "out",
            "num_samples",
            "max_per_prompt",
            "max_prompts",
            "temperature",
            "top_p",
            "top_k",
            "max_prompt_len",
            "max_completion_len",
            "min_accuracy",
            "min_format",
            "min_language",
            "seed",
            "prompt_column",
            "answer_column",
            "lang_column",
        ],
    )
    if args.reward_url:
        data["reward_urls"] = args.reward_url
    counts = run_reject_sampling(RejectConfig(**data))
    print(json.dumps(counts))
    return 0


def _register_reject(subparsers: Any) -> None:
    p = subparsers.add_parser("reject-sample", help="N samples per prompt; keep those the service accepts")
    _add_model_flags(p)
    p.add_argument("--out", help="output SFT JSONL")
    p.add_argument("--reward-url", action="append")
    p.add_argument("--num-samples", type=int, help="samples per prompt")
    p.add_argument("--max-per-prompt", type=int, help="kept samples per prompt at most")
    p.add_argument("--max-prompts", type=int)
    p.add_argument("--temperature", type=float)
    p.add_argument("--top-p", type=float)
    p.add_argument("--top-k", type=int, help="0: off")
    p.add_argument("--max-prompt-len", type=int)
    p.add_argument("--max-completion-len", type=int)
    p.add_argument("--min-accuracy", type=float)
    p.add_argument("--min-format", type=float)
    p.add_argument("--min-language", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--prompt-column")
    p.add_argument("--answer-column")
    p.add_argument("--lang-column")
    p.set_defaults(func=_cmd_reject)


# ---- demo and plot ----------------------------------------------------------------------------------------
def _cmd_demo(args: argparse.Namespace) -> int:
    if args.recipe == "arithmetic":
        from trainer_client.grpo.demo import run_demo

        summary = run_demo(
            args.run_dir, seed=args.seed, quick=args.quick, threads=args.threads, reward_urls=args.reward_url
        )
        print(json.dumps({k: v for k, v in summary.items() if k != "eval_accuracy_curve"}, indent=2))
        return 0
    from trainer_client.grpo.recipe.run import run_recipe

    summary = run_recipe(
        args.recipe,
        args.run_dir,
        seed=args.seed,
        quick=args.quick,
        threads=args.threads,
        reward_urls=args.reward_url,
        start_from=args.start_from,
    )
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from trainer_client.grpo.plot import plot_run

    for path in plot_run(args.run_dir):
        print(path)
    return 0


def register(subparsers: Any) -> None:
    """Add ``sft``, ``reject-sample``, ``train``, ``demo`` and ``plot`` to ``vrewards``' subparsers.

    Example:
        >>> parser = argparse.ArgumentParser(prog="vrewards")
        >>> register(parser.add_subparsers())
        >>> parser.parse_args(["train", "--model", "tiny", "--beta", "0.04"]).beta
        0.04
    """
    _register_sft(subparsers)
    _register_reject(subparsers)
    _register_train(subparsers)
    demo = subparsers.add_parser(
        "demo", help="DeepSeek-R1's recipe on CPU with a tiny model, every stage evaluated (minutes)"
    )
    demo.add_argument(
        "--recipe",
        choices=["r1", "r1-zero", "arithmetic"],
        default="r1",
        help="r1: cold start, RL (and its control), rejection sampling + SFT, RL for all; r1-zero: pure RL "
        "on a pretrained base; arithmetic: the earlier one-stage demo (SFT then GRPO on digit reasoning)",
    )
    demo.add_argument("--run-dir", required=True, type=Path)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--threads", type=int, default=1, help="torch threads (1 leaves a core to the service)")
    demo.add_argument("--quick", action="store_true", help="a seconds-long smoke run (figures meaningless)")
    demo.add_argument("--reward-url", action="append", help="use a running service instead of starting one")
    demo.add_argument(
        "--from",
        dest="start_from",
        choices=["base", "rl"],
        default="rl",
        help="r1: rejection-sampling SFT starts from the RL checkpoint (a short fine-tune) or from the base "
        "model, as R1 did (as long as the cold start)",
    )
    demo.set_defaults(func=_cmd_demo)
    plot = subparsers.add_parser("plot", help="PNG curves from RUN_DIR/metrics.jsonl")
    plot.add_argument("run_dir", type=Path)
    plot.set_defaults(func=_cmd_plot)
