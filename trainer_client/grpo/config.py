"""Every knob of the GRPO trainer in one flat dataclass, loadable from JSON and overridable from flags.

No torch import here, so the CLI can build and validate a config before torch loads.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

AdvantageScaling = Literal["group", "batch", "none"]
KLEstimator = Literal["k1", "k2", "k3"]
LossAggregation = Literal["sequence", "token", "constant"]

_CHOICES: dict[str, tuple[str, ...]] = {
    "advantage_scaling": ("group", "batch", "none"),
    "kl_estimator": ("k1", "k2", "k3"),
    "loss_aggregation": ("sequence", "token", "constant"),
    "lr_schedule": ("cosine", "constant"),
    "task_kind": ("mixed", "arithmetic", "word"),
    "tiny_arch": ("llama", "qwen2"),
    "format_mode": ("think", "think_answer"),
}


@dataclass
class GRPOConfig:
    """The GRPO trainer's configuration. Defaults fit a real run of a 0.5B-1.5B checkpoint on one GPU (the tiny
    CPU model's settings live with the demo, :mod:`trainer_client.grpo.demo`).

    Example:
        >>> GRPOConfig.from_dict({"num_generations": 4}).num_generations
        4
    """

    # --- model and template
    model: str = "tiny"  # a local path or hub name of a causal LM, or "tiny" for the in-code model
    tokenizer: str | None = None  # defaults to the model's
    prefill_think: bool = True  # the R1 template: the prompt ends with "<think>\n"
    system_prompt: str | None = None
    tiny_arch: str = "llama"  # the tiny_* fields shape model="tiny" only
    tiny_hidden: int = 128
    tiny_layers: int = 4
    tiny_heads: int = 4
    tiny_intermediate: int = 384
    # --- data
    data: str | None = None  # JSONL or Parquet of prompts; None uses the built-in task
    eval_data: str | None = None
    prompt_column: str = "prompt"
    answer_column: str = "answer"
    lang_column: str | None = "lang"
    task_kind: str = "mixed"
    task_langs: list[str] = field(default_factory=lambda: ["en", "fr", "de", "es", "zh"])
    task_digits: int = 2
    task_ops: list[str] = field(default_factory=lambda: ["+"])
    task_train_size: int = 4000
    task_eval_size: int = 128
    # --- GRPO
    steps: int = 500
    prompts_per_step: int = 16
    num_generations: int = 8  # G
    max_prompt_len: int = 512  # longer prompts lose their start (a warning and ``prompt_truncated_frac``)
    max_completion_len: int = 1024
    temperature: float = 1.0
    top_p: float = 1.0  # < 1 or top_k > 0 samples from a truncated distribution the loss does not score
    top_k: int = 0  # 0: off
    advantage_scaling: AdvantageScaling = "group"  # group (GRPO), batch, none (Dr. GRPO)
    advantage_eps: float = 1e-4
    eps_low: float = 0.2
    eps_high: float = 0.28  # DAPO's clip-higher; equal to eps_low for PPO's symmetric clip
    beta: float = 0.0  # KL coefficient; 0 loads no reference model
    kl_estimator: KLEstimator = "k3"
    mu: int = 1  # policy updates per rollout batch
    loss_aggregation: LossAggregation = "token"  # sequence (GRPO), token (DAPO), constant (Dr. GRPO)
    loss_constant: float | None = None  # the constant of "constant"; None means max_completion_len
    dynamic_sampling: bool = False  # drop groups whose raw accuracy is all equal, refilling the batch
    dynamic_sampling_max_rounds: int = 3
    overlong_buffer: int = 0  # DAPO soft overlong punishment over the last N tokens; 0 is off
    overlong_penalty: float = 1.0
    mask_truncated: bool = False  # leave completions that hit max_completion_len out of the loss
    # prompts generated together (0: the whole step); each chunk's groups are scored while the next generates.
    # Smaller chunks only pay when scoring is slow next to generation: measure before lowering it.
    generation_chunk: int = 0
    # --- optimisation
    lr: float = 1e-6
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.99
    warmup_steps: int = 10
    lr_schedule: str = "cosine"
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0
    micro_batch_tokens: int = 16384  # padded tokens per forward/backward; gradients accumulate over the batch
    bf16: bool | None = None  # autocast and a bf16 reference model; None: on CUDA only
    gradient_checkpointing: bool | None = None  # None: on CUDA only
    # --- rewards
    reward_urls: list[str] = field(default_factory=list)  # empty: start `vrewards serve` on loopback
    reward_weights: dict[str, float] = field(
        default_factory=lambda: {"accuracy": 1.0, "format": 0.5, "language": 0.1}
    )
    format_mode: str = "think"
    reward_timeout_s: float = 30.0  # per HTTP attempt
    reward_max_retries: int = 3
    reward_group_deadline_s: float = 60.0  # watchdog: a group still unscored after this is masked
    breaker_failures: int = 3  # consecutive failed groups that open the circuit
    breaker_cooldown_s: float = 5.0
    service_workers: int = 1
    api_token: str | None = None
    # --- bookkeeping
    run_dir: str = "runs/grpo"
    seed: int = 0
    eval_every: int = 25
    eval_size: int | None = None  # None: the whole eval split
    checkpoint_every: int = 50
    table_every: int = 10
    deterministic: bool = True
    threads: int | None = None  # torch.set_num_threads; None leaves torch's default
    device: str = "auto"

    def __post_init__(self) -> None:
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, not {getattr(self, name)!r}")
        positive = (
            "steps",
            "prompts_per_step",
            "num_generations",
            "max_completion_len",
            "mu",
            "micro_batch_tokens",
            "max_prompt_len",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.num_generations < 2:
            raise ValueError("num_generations must be at least 2: advantages are relative to the group")
        if not 0 <= self.eps_low < 1 or self.eps_high < 0:
            raise ValueError("eps_low must be in [0, 1) and eps_high non-negative")
        if self.beta < 0:
            raise ValueError("beta must be non-negative")
        if self.temperature <= 0 or not 0 < self.top_p <= 1 or self.top_k < 0:
            raise ValueError("temperature must be positive, top_p in (0, 1] and top_k non-negative (0: off)")
        if self.generation_chunk < 0:
            raise ValueError("generation_chunk must be non-negative (0: the whole step)")
        if self.loss_constant is not None and self.loss_constant <= 0:
            raise ValueError("loss_constant must be positive")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GRPOConfig:
        """Build from a mapping, refusing unknown keys (a typo must not be silently ignored)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config key: {unknown[0]}")
        return cls(**data)

    @classmethod
    def from_json(cls, path: str | Path, **overrides: Any) -> GRPOConfig:
        """Load a JSON file, then apply ``overrides`` (those that are not None)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)

    @property
    def loss_normaliser(self) -> float:
        """The constant of ``constant`` aggregation: ``loss_constant``, or ``max_completion_len``."""
        return float(self.loss_constant or self.max_completion_len)

    @property
    def batch_size(self) -> int:
        """Completions per step: prompts_per_step * G."""
        return self.prompts_per_step * self.num_generations
