"""``vrewards plot RUN_DIR``: PNG curves from ``metrics.jsonl`` (matplotlib, Agg backend, no display)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PANELS: list[tuple[str, list[str]]] = [
    ("eval accuracy (greedy, held-out)", ["eval_accuracy"]),
    ("reward", ["reward_mean"]),
    ("components", ["accuracy_mean", "format_mean", "language_mean"]),
    ("KL and entropy", ["kl", "entropy"]),
    ("clipping", ["clip_ratio_low", "clip_ratio_high"]),
    ("completion length", ["completion_len_mean"]),
    ("reward reliability", ["reward_masked_frac", "frac_reward_zero_std"]),
    ("time split (s)", ["generate_s", "logp_s", "score_wait_s", "train_s"]),
    ("reward wait fraction", ["reward_wait_fraction"]),
]


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``metrics.jsonl``.

    Example:
        >>> import tempfile; p = Path(tempfile.mkdtemp()) / "m.jsonl"
        >>> _ = p.write_text('{"step": 1, "reward_mean": 0.5}\\n')
        >>> read_metrics(p)[0]["reward_mean"]
        0.5
    """
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def series(rows: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of the rows that have a non-null ``key``.

    Example:
        >>> series([{"step": 1, "x": 2.0}, {"step": 2}], "x")
        ([1.0], [2.0])
    """
    pts = [(float(r["step"]), float(r[key])) for r in rows if r.get(key) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_run(run_dir: str | Path) -> list[Path]:
    """Write ``curves.png`` (every panel) and ``eval_accuracy.png`` into ``run_dir``; return their paths.

    Example:
        >>> # plot_run("runs/demo")  -> [Path("runs/demo/curves.png"), Path("runs/demo/eval_accuracy.png")]
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    rows = read_metrics(run_dir / "metrics.jsonl")
    cols = 3
    nrows = -(-len(PANELS) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.2 * nrows), squeeze=False)
    for ax, (title, keys) in zip(axes.flat, PANELS, strict=False):
        for key in keys:
            xs, ys = series(rows, key)
            if xs:
                ax.plot(xs, ys, marker="o" if key == "eval_accuracy" else None, markersize=3, label=key)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if len(keys) > 1 and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(PANELS) :]:
        ax.axis("off")
    fig.tight_layout()
    out = [run_dir / "curves.png", run_dir / "eval_accuracy.png"]
    fig.savefig(out[0], dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    xs, ys = series(rows, "eval_accuracy")
    ax.plot(xs, ys, marker="o", label="eval_accuracy (greedy)")
    xs, ys = series(rows, "accuracy_mean")
    ax.plot(xs, ys, alpha=0.6, label="train accuracy (sampled)")
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out[1], dpi=90)
    plt.close(fig)
    return out
