"""Per-step metrics, the console line, ``metrics.jsonl`` and the completions table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from trainer_client.grpo.rollout import Rollout

if TYPE_CHECKING:
    from trainer_client.grpo.groups import Group
    from trainer_client.grpo.trainer import Batch

NAN = float("nan")
COMPONENTS = ("accuracy", "format", "language")


def reward_metrics(
    batch: Batch, rewards: torch.Tensor, valid: torch.Tensor, rollout: Rollout
) -> dict[str, float]:
    """Reward, per-component and reliability statistics of one batch."""
    out: dict[str, float] = {}
    flat = rewards[valid]
    out["reward_mean"] = float(flat.mean()) if flat.numel() else NAN
    out["reward_std"] = float(flat.std()) if flat.numel() > 1 else 0.0
    for name in COMPONENTS:
        values = torch.tensor(
            [
                NAN if (v := s.get(name)) is None else float(v)
                for group in batch.groups
                for s in group.scored().scores
            ]
        )
        ok = values[~torch.isnan(values)]
        out[f"{name}_mean"] = float(ok.mean()) if ok.numel() else NAN
        out[f"{name}_std"] = float(ok.std()) if ok.numel() > 1 else 0.0
    zero_std = [bool(torch.unique(row[~torch.isnan(row)]).numel() <= 1) for row in rewards]
    out["frac_reward_zero_std"] = sum(zero_std) / max(len(zero_std), 1)
    out["reward_masked_frac"] = float((~valid).float().mean())
    out["masked_groups"] = float(batch.masked_groups)
    out["dropped_groups"] = float(batch.dropped_groups)
    out["prompt_truncated_frac"] = batch.prompts_truncated / max(len(batch.groups), 1)
    lat = sorted(batch.latencies)
    out["reward_latency_p50"] = percentile(lat, 50)
    out["reward_latency_p99"] = percentile(lat, 99)
    out["completion_len_mean"] = float(rollout.lengths.float().mean())
    out["truncated_frac"] = float(rollout.truncated.float().mean())
    return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (0.0 when empty).

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
        2.0
    """
    if not values:
        return 0.0
    rank = max(0, min(len(values) - 1, int(-(-q * len(values) // 100)) - 1))
    return float(values[rank])


def progress_line(m: dict[str, Any], total: int) -> str:
    """The console line of one step."""
    line = (
        f"step {m['step']}/{total} | reward {m['reward_mean']:.3f} ± {m['reward_std']:.3f} | acc {m['accuracy_mean']:.3f} "
        f"| fmt {m['format_mean']:.3f} | kl {m.get('kl', 0.0):.4f} | clip {m.get('clip_fraction', 0.0):.3f} "
        f"| len {m['completion_len_mean']:.1f} | masked {m['reward_masked_frac']:.2f} "
        f"| wait {100 * m['reward_wait_fraction']:.1f}% | {m['step_s']:.2f}s"
    )
    if "eval_accuracy" in m:
        line += f" | eval_accuracy {m['eval_accuracy']:.3f}"
    return line


def log_metrics(run_dir: Path, metrics: dict[str, Any]) -> dict[str, Any]:
    """Append one JSON line to ``metrics.jsonl`` (NaN written as null)."""
    clean = {k: (None if isinstance(v, float) and v != v else v) for k, v in metrics.items()}
    with (run_dir / "metrics.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(clean) + "\n")
    return clean


def truncate_metrics(path: Path, step: int) -> None:
    """Drop metric lines after ``step`` (written after the checkpoint we resume from)."""
    if not path.exists():
        return
    keep = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and json.loads(line)["step"] <= step
    ]
    path.write_text("".join(line + "\n" for line in keep), encoding="utf-8")


def write_table(path: Path, groups: list[Group]) -> None:
    """The completions table: prompt, completion, extracted answer, gold, verdicts, detected language."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for entry in groups:
            group = entry.scored()
            for text, reward, scores, details in zip(
                entry.rollout.texts, group.rewards, group.scores, group.details, strict=True
            ):
                row = {
                    "prompt": entry.prompt.prompt,
                    "completion": text,
                    "gold": entry.prompt.answer,
                    "extracted_answer": details.get("extracted_answer"),
                    "reward": reward,
                    "scores": scores,
                    "outcome": details.get("outcome"),
                    "format_check": details.get("format_check"),
                    "language_target": details.get("language_target"),
                    "language_detected": detected_language(details),
                    "language_shares": details.get("language_top"),
                    "failure": group.failure,
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def detected_language(details: dict[str, Any]) -> str | None:
    """The language most of the reasoning's words were written in, from the service's ``language_top``.

    Example:
        >>> detected_language({"language_top": {"fr": 0.8, "en": 0.2}})
        'fr'
    """
    top = details.get("language_top")
    if isinstance(top, dict) and top:
        return str(max(top.items(), key=lambda kv: kv[1])[0])
    return None
