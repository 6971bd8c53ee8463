"""The trainer against the real service over HTTP (``vrewards serve`` as a subprocess on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.trainer.conftest import tiny_config
from trainer_client.grpo.rewards import LocalService
from trainer_client.grpo.trainer import train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    svc = LocalService(workers=1)
    try:
        yield svc.start()
    finally:
        svc.close()


def test_trains_against_the_service(tmp_path: Path, service: str) -> None:
    cfg = tiny_config(tmp_path, steps=2, reward_urls=[service], eval_every=2, task_eval_size=4, table_every=2)
    history = train(cfg)
    assert [m["step"] for m in history] == [0, 1, 2]
    last = history[-1]
    assert last["reward_masked_frac"] == 0.0
    assert last["reward_mean"] is not None and last["format_mean"] is not None
    assert last["reward_latency_p50"] > 0.0
    assert 0.0 <= last["reward_wait_fraction"] < 1.0
    assert last["eval_accuracy"] is not None and last["eval_masked_frac"] == 0.0
    table = (tmp_path / "completions" / "step_000002.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(table) == cfg.batch_size
    assert '"outcome": "' in table[0]  # the service's verdicts reached the table


def test_run_goes_on_through_an_outage(tmp_path: Path) -> None:
    svc = LocalService(workers=1)
    url = svc.start()
    seen: list[dict[str, Any]] = []

    def chaos(metrics: dict[str, Any]) -> None:
        seen.append(metrics)
        if metrics["step"] == 1:
            svc.stop()  # the service dies after step 1 ...
        if metrics["step"] == 3:
            svc.start()  # ... and is back (same port) after step 3

    cfg = tiny_config(
        tmp_path,
        steps=6,
        reward_urls=[url],
        reward_timeout_s=2.0,
        reward_max_retries=1,
        breaker_failures=1,
        breaker_cooldown_s=0.2,
        reward_group_deadline_s=10.0,
    )
    try:
        history = train(cfg, on_step_end=chaos)
    finally:
        svc.close()
    masked = [m["reward_masked_frac"] for m in history]
    assert [m["step"] for m in history] == [1, 2, 3, 4, 5, 6]
    assert masked[0] == 0.0
    assert masked[1] == 1.0 and masked[2] == 1.0  # during the outage: masked, logged, not fatal
    assert masked[-1] == 0.0  # scored again once the service is back
    assert history[1]["loss"] == 0.0  # nothing to learn from a masked step


def test_reject_sampling_writes_what_the_service_accepts(tmp_path: Path, service: str) -> None:
    from trainer_client.grpo.model import build_tiny_model, build_tiny_tokenizer
    from trainer_client.grpo.reject_sample import RejectConfig, run_reject_sampling

    tok = build_tiny_tokenizer()
    build_tiny_model(tok, hidden=32, layers=1, heads=2, intermediate=64).save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    out = tmp_path / "kept.jsonl"
    # thresholds at 0 keep every judged sample; accuracy must still be judged (not null) to be kept
    cfg = RejectConfig(
        model=str(tmp_path / "m"),
        out=str(out),
        num_samples=3,
        max_per_prompt=2,
        max_prompts=4,
        max_completion_len=8,
        min_accuracy=0.0,
        min_format=0.0,
        min_language=0.0,
        reward_urls=[service],
        task_kind="arithmetic",
    )
    counts = run_reject_sampling(cfg)
    rows = out.read_text(encoding="utf-8").splitlines()
    assert counts["samples"] == 12 and counts["masked"] == 0
    assert len(rows) == counts["kept"] <= 8
    strict = run_reject_sampling(
        RejectConfig(**{**cfg.__dict__, "min_accuracy": 1.0, "out": str(tmp_path / "s.jsonl")})
    )
    assert strict["kept"] <= counts["kept"]


def test_cli_train_against_the_service(tmp_path: Path, service: str) -> None:
    from app.cli import main

    config = tmp_path / "grpo.json"
    config.write_text(
        '{"tiny_hidden": 32, "tiny_layers": 1, "tiny_heads": 2, "tiny_intermediate": 64, '
        '"task_train_size": 16, "task_eval_size": 2, "max_completion_len": 6}',
        encoding="utf-8",
    )
    code = main(
        [
            "train",
            "--config",
            str(config),
            "--model",
            "tiny",
            "--task",
            "builtin",
            "--reward-url",
            service,
            "--run-dir",
            str(tmp_path / "run"),
            "--steps",
            "1",
            "--prompts-per-step",
            "2",
            "--num-generations",
            "2",
            "--eval-every",
            "1",
            "--threads",
            "1",
            "--loss-aggregation",
            "constant",
        ]
    )
    assert code == 0
    assert (tmp_path / "run" / "metrics.jsonl").read_text(encoding="utf-8").count("\n") == 2
