"""The two recipes, stage by stage: R1-Zero (pure RL on a base model) and R1 (four stages and a control).

``r1-zero``: a base model is pretrained on text where R1's layout is one of five (``base``); GRPO with the
accuracy and format rewards and R1-Zero's plain template follows (``rl_zero``). Nothing but the reward
teaches the format.

``r1``: cold-start SFT on R1-format data whose reasoning often switches language mid-way
(``cold_start_sft``); GRPO with accuracy, format and language rewards (``rl_reasoning``) and, as a control,
the very same run with language weight 0 (``rl_reasoning_no_language``); rejection sampling from the
``rl_reasoning`` model and SFT on what it keeps, from the base model (R1's choice) or from the RL checkpoint
(``rejection_sampling_sft``); a final GRPO stage with every reward (``rl_all``).

Every stage is evaluated the same way (:mod:`.evaluate`) on the same held-out prompts, and the results
go to ``run_dir/summary.json``.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from trainer_client.grpo.recipe.evaluate import EVAL_REWARDS
from trainer_client.grpo.rewards import GroupScorer, http_client_factory

RECIPES = ("r1", "r1-zero")
START_FROM = ("base", "rl")
R1_ZERO_STAGES = ("base", "rl_zero")
R1_STAGES = (
    "cold_start_sft",
    "rl_reasoning",
    "rl_reasoning_no_language",
    "rejection_sampling_sft",
    "rl_all",
)


@dataclass(frozen=True)
class SFTStage:
    """One supervised stage (pretraining, cold start, rejection-sampling SFT)."""

    steps: int
    lr: float = 2e-3
    batch_size: int = 32
    warmup_steps: int = 10


@dataclass(frozen=True)
class RLStage:
    """One GRPO stage: the trainer's settings that differ from its defaults."""

    steps: int
    weights: dict[str, float]
    prompts_per_step: int = 8
    num_generations: int = 8
    lr: float = 1e-4
    temperature: float = 0.7  # a tiny model at 1.0 garbles the digits of most samples: no accuracy signal


@dataclass(frozen=True)
class Settings:
    """Everything a recipe run depends on; :data:`FULL` and :data:`QUICK` are the two shipped.

    Example:
        >>> QUICK.eval_size < FULL.eval_size
        True
    """

    train_size: int = 4000
    eval_size: int = 200
    tiny: dict[str, Any] = field(
        default_factory=lambda: {"hidden": 96, "layers": 3, "heads": 4, "intermediate": 256}
    )
    max_new_tokens: int = 80
    base: SFTStage = SFTStage(steps=500, lr=3e-3)
    base_shortcut_share: float = 0.0
    rl_zero: RLStage = RLStage(steps=50, weights={"accuracy": 1.0, "format": 0.5, "language": 0.0}, lr=2e-4)
    cold_start: SFTStage = SFTStage(steps=600, lr=3e-3)
    cold_switch_shares: tuple[float, float] = (0.15, 0.6)  # after the units, after the tens
    cold_shortcut_share: float = 0.3
    rl_reasoning: RLStage = RLStage(steps=60, weights={"accuracy": 2.0, "format": 0.5, "language": 1.0})
    rejection_prompts: int = 400
    rejection_samples: int = 8
    rejection_keep: int = 4
    rejection_sft_from_base: SFTStage = SFTStage(steps=600, lr=3e-3)  # as long as the cold start
    rejection_sft_from_rl: SFTStage = SFTStage(steps=100, lr=3e-4, warmup_steps=0)  # a gentle fine-tune
    # the last stage starts from a good model: twice the prompts per step, for less noisy steps
    rl_all: RLStage = RLStage(
        steps=40, weights={"accuracy": 1.0, "format": 0.5, "language": 1.0}, prompts_per_step=16
    )


FULL = Settings()
QUICK = Settings(
    train_size=64,
    eval_size=10,
    tiny={"hidden": 32, "layers": 1, "heads": 2, "intermediate": 64},
    max_new_tokens=24,
    base=SFTStage(steps=3),
    rl_zero=RLStage(steps=1, weights=FULL.rl_zero.weights, prompts_per_step=2, num_generations=2),
    cold_start=SFTStage(steps=3),
    rl_reasoning=RLStage(steps=1, weights=FULL.rl_reasoning.weights, prompts_per_step=2, num_generations=2),
    rejection_prompts=4,
    rejection_samples=2,
    rejection_keep=2,
    rejection_sft_from_base=SFTStage(steps=2),
    rejection_sft_from_rl=SFTStage(steps=2),
    rl_all=RLStage(steps=1, weights=FULL.rl_all.weights, prompts_per_step=2, num_generations=2),
)


class Recipe:
    """A run's shared state: the service client, the data, the tokenizer, the stage results."""

    def __init__(
        self,
        recipe: str,
        run_dir: Path,
        urls: list[str],
        settings: Settings,
        *,
        seed: int,
        threads: int | None,
    ) -> None:
        from trainer_client.grpo.data import load_prompts
        from trainer_client.grpo.recipe.data import prompt_rows, vocabulary_texts
        from trainer_client.grpo.recipe.task import split_problems
        from trainer_client.grpo.recipe.tokenizer import R1_ZERO_TEXT, build_word_tokenizer
        from trainer_client.grpo.sft import write_jsonl

        self.recipe, self.run_dir, self.urls, self.s = recipe, run_dir, urls, settings
        self.seed, self.threads = seed, threads
        self.zero = recipe == "r1-zero"
        self.prefill_think = not self.zero  # R1-Zero's template leaves the opening <think> to the model
        self.scorer = GroupScorer(
            http_client_factory(urls, timeout_s=120.0), rewards=EVAL_REWARDS, deadline_s=600.0
        )
        self.train_problems, self.eval_problems = split_problems(
            train_size=settings.train_size, eval_size=settings.eval_size, seed=seed
        )
        self.train_rows = prompt_rows(self.train_problems, "train-")
        self.eval_rows = prompt_rows(self.eval_problems, "eval-")
        self.data = run_dir / "data"
        write_jsonl(self.train_rows, self.data / "train.jsonl")
        write_jsonl(self.eval_rows, self.data / "eval.jsonl")
        self.train_prompts = load_prompts(self.data / "train.jsonl")
        self.eval_prompts = load_prompts(self.data / "eval.jsonl")
        template = R1_ZERO_TEXT if self.zero else "{question}"
        self.tokenizer = build_word_tokenizer(
            vocabulary_texts(self.train_problems + self.eval_problems, template), r1_zero=self.zero
        )
        self.stages: list[dict[str, Any]] = []

    def close(self) -> None:
        """Close the scorer and its client."""
        self.scorer.close()

    # ---- building blocks ------------------------------------------------------------------------------------
    def fresh_model(self) -> Any:
        """The tiny model built from its config, random weights fixed by the seed (the "base" of ``r1``)."""
        from trainer_client.grpo.model import build_tiny_model

        return build_tiny_model(self.tokenizer, **self.s.tiny, max_positions=256, seed=self.seed)

    def sft(self, name: str, rows: list[dict[str, Any]], stage: SFTStage, model: Any) -> Path:
        """Fine-tune ``model`` on ``rows``; save model and tokenizer to ``run_dir/name``."""
        from trainer_client.grpo.sft import SFTConfig, run_sft, write_jsonl

        write_jsonl(rows, self.data / f"{name}.jsonl")
        cfg = SFTConfig(
            model=name,
            data=str(self.data / f"{name}.jsonl"),
            out_dir=str(self.run_dir / name),
            prefill_think=self.prefill_think,
            steps=stage.steps,
            batch_size=stage.batch_size,
            lr=stage.lr,
            warmup_steps=stage.warmup_steps,
            max_len=256,
            seed=self.seed,
            threads=self.threads,
            log_every=max(1, stage.steps // 4),
        )
        return run_sft(cfg, model=model, tokenizer=self.tokenizer)

    def rl(self, name: str, start: Path, stage: RLStage) -> Path:
        """GRPO from the model in ``start`` with ``stage``'s weights; return the final model's directory."""
        from trainer_client.grpo.config import GRPOConfig
        from trainer_client.grpo.trainer import train

        cfg = GRPOConfig(
            model=str(start),
            data=str(self.data / "train.jsonl"),
            prefill_think=self.prefill_think,
            steps=stage.steps,
            prompts_per_step=stage.prompts_per_step,
            num_generations=stage.num_generations,
            max_completion_len=self.s.max_new_tokens,
            lr=stage.lr,
            temperature=stage.temperature,
            warmup_steps=0,
            max_prompt_len=256,
            micro_batch_tokens=8192,
            reward_urls=self.urls,
            reward_weights=dict(stage.weights),
            run_dir=str(self.run_dir / name),
            seed=self.seed,
            eval_every=0,
            checkpoint_every=0,
            table_every=max(1, stage.steps // 3),
            threads=self.threads,
            generation_chunk=0,
        )
        train(cfg)
        return self.run_dir / name / "final"

    def record(self, name: str, model_dir: Path, t0: float) -> dict[str, Any]:
        """Evaluate the model in ``model_dir`` as stage ``name``; its wall time runs from ``t0``."""
        from trainer_client.grpo.model import load_model_and_tokenizer
        from trainer_client.grpo.recipe.evaluate import evaluate

        model, tok = load_model_and_tokenizer(str(model_dir))
        metrics = evaluate(
            model,
            tok,
            self.eval_prompts,
            self.scorer,
            prefill_think=self.prefill_think,
            max_new_tokens=self.s.max_new_tokens,
            tag=f"{self.recipe}-{self.seed}-{name}-{time.time_ns()}",
            out=self.run_dir / name / "eval_completions.jsonl",
        )
        entry = {"name": name, **{k: round(v, 4) for k, v in metrics.items()}}
        entry["wall_s"] = round(time.perf_counter() - t0, 1)
        self.stages.append(entry)
        print(json.dumps(entry), flush=True)
        return entry

    # ---- the recipes ----------------------------------------------------------------------------------------
    def run_r1_zero(self) -> dict[str, Any]:
        """Pretrain the base model, then pure RL."""
        from trainer_client.grpo.recipe.data import base_rows

        t0 = time.perf_counter()
        rows = base_rows(self.train_problems, shortcut_share=self.s.base_shortcut_share, seed=self.seed)
        base = self.sft("base", rows, self.s.base, self.fresh_model())
        self.record("base", base, t0)
        t0 = time.perf_counter()
        self.record("rl_zero", self.rl("rl_zero", base, self.s.rl_zero), t0)
        return {}

    def run_r1(self, start_from: str) -> dict[str, Any]:
        """Cold start, RL for reasoning (and its control), rejection sampling + SFT, RL for all."""
        from trainer_client.grpo.model import load_model_and_tokenizer
        from trainer_client.grpo.recipe.data import cold_start_rows
        from trainer_client.grpo.recipe.rejection import RejectionSettings, rejection_sample

        s = self.s
        t0 = time.perf_counter()
        rows = cold_start_rows(
            self.train_problems,
            switch_shares=s.cold_switch_shares,
            shortcut_share=s.cold_shortcut_share,
            seed=self.seed,
        )
        cold = self.sft("cold_start_sft", rows, s.cold_start, self.fresh_model())
        self.record("cold_start_sft", cold, t0)
        t0 = time.perf_counter()
        reasoning = self.rl("rl_reasoning", cold, s.rl_reasoning)
        self.record("rl_reasoning", reasoning, t0)
        t0 = time.perf_counter()
        control = replace(s.rl_reasoning, weights={**s.rl_reasoning.weights, "language": 0.0})
        self.record("rl_reasoning_no_language", self.rl("rl_reasoning_no_language", cold, control), t0)

        t0 = time.perf_counter()
        rl_model, _ = load_model_and_tokenizer(str(reasoning))
        rs = RejectionSettings(
            num_samples=s.rejection_samples,
            keep_per_prompt=s.rejection_keep,
            temperature=s.rl_reasoning.temperature,  # the RL model's own sampling distribution
            max_new_tokens=s.max_new_tokens,
            max_tokens=max_reasoning_tokens(self.tokenizer, rows, s.max_new_tokens),
        )
        kept, counts = rejection_sample(
            rl_model,
            self.tokenizer,
            self.train_prompts[: s.rejection_prompts],
            self.scorer,
            rs,
            prefill_think=True,
            tag=f"rs-{self.seed}-{time.time_ns()}",
        )
        print(f"rejection sampling: {json.dumps(counts)}", flush=True)
        model = self.fresh_model() if start_from == "base" else rl_model
        if kept:
            stage = s.rejection_sft_from_base if start_from == "base" else s.rejection_sft_from_rl
            rs_sft = self.sft("rejection_sampling_sft", kept, stage, model)
        else:  # nothing to learn from (a quick run's untrained model): the stage leaves its start unchanged
            print("rejection sampling kept no sample: no SFT", flush=True)
            rs_sft = self.run_dir / "rejection_sampling_sft"
            model.save_pretrained(rs_sft)
            self.tokenizer.save_pretrained(rs_sft)
        self.record("rejection_sampling_sft", rs_sft, t0)
        t0 = time.perf_counter()
        self.record("rl_all", self.rl("rl_all", rs_sft, s.rl_all), t0)
        return {"rejection_sampling": {"from": start_from, **counts, "settings": asdict(rs)}}


def max_reasoning_tokens(tokenizer: Any, rows: list[dict[str, Any]], limit: int) -> int:
    """The over-long threshold: the longest cold-start response in tokens, capped at ``limit``.

    Example:
        >>> from trainer_client.grpo.recipe.tokenizer import build_word_tokenizer
        >>> max_reasoning_tokens(build_word_tokenizer(["a b c"]), [{"response": "a b c"}], 96)
        3
    """
    longest = max(len(tokenizer(r["response"], add_special_tokens=False)["input_ids"]) for r in rows)
    return min(limit, longest)


def run_recipe(
    recipe: str,
    run_dir: str | Path,
    *,
    seed: int = 0,
    quick: bool = False,
    threads: int | None = 1,
    reward_urls: list[str] | None = None,
    start_from: str = "rl",
) -> dict[str, Any]:
    """Run ``recipe`` ("r1" or "r1-zero"); return the summary (also in ``run_dir/summary.json``).

    ``quick`` shrinks every stage to seconds (what the tests run; the figures then mean nothing);
    ``start_from`` is where rejection-sampling SFT starts: the base model ("base", as R1 did) or the RL
    checkpoint ("rl").

    Example:
        >>> # run_recipe("r1-zero", "runs/r1-zero")["stages"][-1]["format"]
    """
    from trainer_client.grpo.recipe.plots import plot_recipe
    from trainer_client.grpo.rewards import LocalService

    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, not {recipe!r}")
    if start_from not in START_FROM:
        raise ValueError(f"start_from must be one of {', '.join(START_FROM)}, not {start_from!r}")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    settings = QUICK if quick else FULL
    t0 = time.perf_counter()
    with ExitStack() as stack:
        urls = list(reward_urls or [])
        if not urls:
            urls = [stack.enter_context(LocalService(workers=1))]
        state = Recipe(recipe, run_dir, urls, settings, seed=seed, threads=threads)
        stack.callback(state.close)
        extra = state.run_r1_zero() if state.zero else state.run_r1(start_from)
    summary: dict[str, Any] = {
        "recipe": recipe,
        "stages": state.stages,
        "seed": seed,
        "quick": quick,
        "threads": threads,
        "wall_s": round(time.perf_counter() - t0, 1),
        **extra,
    }
    summary["images"] = [str(p) for p in plot_recipe(run_dir, summary)]
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
