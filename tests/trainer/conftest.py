"""Shared fixtures of the trainer tests: a tiny GRPO config, the in-process fake service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from trainer_client.grpo.config import GRPOConfig  # noqa: E402

TINY: dict[str, Any] = {"tiny_hidden": 32, "tiny_layers": 1, "tiny_heads": 2, "tiny_intermediate": 64}


def tiny_config(run_dir: Path, **overrides: Any) -> GRPOConfig:
    """A GRPO config that trains the in-code tiny model for a few fast steps."""
    base: dict[str, Any] = {
        "model": "tiny",
        "run_dir": str(run_dir),
        "steps": 3,
        "prompts_per_step": 2,
        "num_generations": 4,
        "max_completion_len": 8,
        "task_train_size": 32,
        "task_eval_size": 4,
        "task_kind": "arithmetic",
        "eval_every": 0,
        "checkpoint_every": 0,
        "table_every": 0,
        "lr": 1e-3,
        "micro_batch_tokens": 96,
        "threads": 1,
        **TINY,
    }
    base.update(overrides)
    return GRPOConfig.from_dict(base)


@pytest.fixture(autouse=True)
def _one_thread() -> Any:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)
