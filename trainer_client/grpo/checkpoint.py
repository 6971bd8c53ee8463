"""Seeds, RNG states and checkpoints: what ``--resume`` needs to continue exactly."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch

from trainer_client.grpo.data import PromptSampler


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed python, numpy (if present) and torch; ask torch for deterministic kernels (the cuBLAS workspace
    setting they need is made when :mod:`trainer_client.grpo` is imported, before CUDA starts)."""
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover - numpy ships with torch's usual installs
        pass
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


def rng_state() -> dict[str, Any]:
    """Every RNG state the run depends on."""
    import numpy as np

    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore :func:`rng_state`."""
    import numpy as np

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    path: Path, step: int, model: Any, optimizer: Any, scheduler: Any, sampler: PromptSampler
) -> None:
    """Write model, optimiser, scheduler, sampler position and RNG states (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "step": step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "sampler": sampler.state(),
            "rng": rng_state(),
        },
        tmp,
    )
    tmp.replace(path)


def load_checkpoint(path: Path, model: Any, optimizer: Any, scheduler: Any, sampler: PromptSampler) -> int:
    """Restore :func:`save_checkpoint`'s state; return the step it was taken at."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    sampler.load_state(state["sampler"])
    set_rng_state(state["rng"])
    return int(state["step"])
