"""The demo's whole path (service on loopback, SFT, GRPO, plots), shortened to seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer_client.grpo.demo import run_demo

pytestmark = pytest.mark.slow


def test_quick_demo_writes_metrics_curves_and_summary(tmp_path: Path) -> None:
    summary = run_demo(tmp_path, quick=True)
    rows = [
        json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [r["step"] for r in rows] == [0, 1, 2]
    assert all(r.get("eval_accuracy") is not None for r in rows)  # eval at 0 and every step in quick mode
    assert all(r["reward_masked_frac"] == 0.0 for r in rows[1:])  # the service answered every group
    assert (tmp_path / "sft" / "config.json").exists() and (tmp_path / "final" / "config.json").exists()
    assert (tmp_path / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert summary["eval_accuracy_first"] == rows[0]["eval_accuracy"]
    assert json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["quick"] is True
