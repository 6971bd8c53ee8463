"""The recipe's figures: every stage's held-out metrics, and the RL curves that show each reward at work.

- ``stages.png``: accuracy, format rate and language consistency of every stage (held-out, greedy), with
  the mean completion length.
- ``r1-zero``: ``rl_zero_curve.png``, format and accuracy of the sampled completions per GRPO step: the
  format emerges from the reward alone.
- ``r1``: ``language_curve.png``, the language consistency of the sampled completions per GRPO step with
  and without the language reward (same seed, same start), next to their accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

METRICS = ("accuracy", "format", "language")


def _curve(run_dir: Path, stage: str, key: str) -> tuple[list[int], list[float]]:
    path = run_dir / stage / "metrics.jsonl"
    if not path.exists():
        return [], []
    steps, values = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get(key) is not None and row.get("step", 0) > 0:
            steps.append(int(row["step"]))
            values.append(float(row[key]))
    return steps, values


def plot_recipe(run_dir: str | Path, summary: dict[str, Any]) -> list[Path]:
    """Write the recipe's PNGs into ``run_dir``; return their paths.

    Example:
        >>> import tempfile
        >>> s = {"recipe": "r1-zero", "stages": [{"name": "base", "accuracy": 0.3, "format": 0.1,
        ...      "language": 1.0, "completion_len": 30.0}]}
        >>> [p.name for p in plot_recipe(tempfile.mkdtemp(), s)]
        ['stages.png', 'rl_zero_curve.png']
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    recipe, stages = summary["recipe"], summary["stages"]
    names = [s["name"] for s in stages]
    paths = []

    fig, (bars, lengths) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / len(METRICS)
    for i, metric in enumerate(METRICS):
        xs = [k + (i - 1) * width for k in range(len(stages))]
        bars.bar(xs, [s[metric] for s in stages], width, label=metric)
    bars.set_xticks(range(len(stages)), [n.replace("_", "\n") for n in names], fontsize=8)
    bars.set_ylim(0, 1.2)
    bars.set_title(f"{recipe}: held-out metrics after each stage (greedy)")
    bars.legend(loc="upper center", ncol=3, fontsize=8)
    lengths.bar(range(len(stages)), [s["completion_len"] for s in stages], color="grey")
    lengths.set_xticks(range(len(stages)), [n.replace("_", "\n") for n in names], fontsize=7)
    lengths.set_title("mean completion length (tokens)")
    fig.tight_layout()
    paths.append(run_dir / "stages.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    by_name = {s["name"]: s for s in stages}

    def held_out(ax: Any, start: str, end: str, metric: str, x_end: int, color: str) -> None:
        # the greedy held-out figures of the stage's start and end model, as two big markers
        if start in by_name and end in by_name:
            ax.plot(
                [0, x_end], [by_name[start][metric], by_name[end][metric]], "o", color=color, markersize=8
            )

    if recipe == "r1-zero":
        for ax, key, title in (
            (axes[0], "format", "format rate"),
            (axes[1], "accuracy", "accuracy"),
        ):
            steps, values = _curve(run_dir, "rl_zero", f"{key}_mean")
            ax.plot(steps, values, label="sampled completions", color="C0")
            held_out(ax, "base", "rl_zero", key, max(steps, default=1), "C0")
            ax.plot([], [], "o", color="C0", label="held-out, greedy (base, rl_zero)")
            ax.set_title(f"R1-Zero GRPO: {title}")
            ax.set_xlabel("GRPO step")
            ax.set_ylim(0, 1.05)
            ax.legend(fontsize=8, loc="lower right")
        paths.append(run_dir / "rl_zero_curve.png")
    else:
        for ax, key, title in (
            (axes[0], "language", "language consistency"),
            (axes[1], "accuracy", "accuracy"),
        ):
            for stage, label, color in (
                ("rl_reasoning", "with the language reward", "C0"),
                ("rl_reasoning_no_language", "language weight 0 (control)", "C1"),
            ):
                steps, values = _curve(run_dir, stage, f"{key}_mean")
                ax.plot(steps, values, label=f"{label}: sampled", color=color)
                held_out(ax, "cold_start_sft", stage, key, max(steps, default=1), color)
            ax.plot([], [], "o", color="grey", label="held-out, greedy (start, end)")
            ax.set_title(f"GRPO for reasoning: {title}", fontsize=9)
            ax.set_xlabel("GRPO step")
            ax.set_ylim(0, 1.05)
            ax.legend(fontsize=8, loc="lower right")
        paths.append(run_dir / "language_curve.png")
    fig.tight_layout()
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths
