"""Data, model, rollout, scoring plumbing and CLI of the trainer, piece by piece."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.trainer.fakes import FakeRewardClient
from trainer_client.grpo.data import PromptSampler, builtin_task, column_solution, load_prompts
from trainer_client.grpo.model import build_tiny_model, build_tiny_tokenizer, render_prompt
from trainer_client.grpo.rewards import CircuitBreaker, GroupScorer, parse_results
from trainer_client.grpo.rollout import Sampling, completion_mask_from_ids, generate
from trainer_client.grpo.sft import solution_response, task_sft_rows

# --- column solutions: (a, b, op, expected)
SOLUTION_CASES = [
    (45, 28, "+", "5+8=13 4+2+1=7"),
    (99, 99, "+", "9+9=18 9+9+1=19"),
    (40, 7, "+", "0+7=7"),  # a lone digit with no carry is not written
    (52, 17, "-", "12-7=5 5-1-1=3"),
    (90, 9, "-", "10-9=1 9-1=8"),
    (50, 50, "-", "0-0=0 5-5=0"),
    (7, 3, "+", "7+3=10"),
    (36, 8, "*", "36×8=288"),
]


@pytest.mark.parametrize(("a", "b", "op", "expected"), SOLUTION_CASES)
def test_column_solution(a: int, b: int, op: str, expected: str) -> None:
    assert column_solution(a, b, op) == expected


def test_builtin_task_is_deterministic_and_disjoint() -> None:
    train_a, eval_a = builtin_task(train_size=200, eval_size=50, seed=3, ops=["+", "-", "*"])
    train_b, eval_b = builtin_task(train_size=200, eval_size=50, seed=3, ops=["+", "-", "*"])
    assert train_a == train_b and eval_a == eval_b
    assert {p.prompt for p in train_a}.isdisjoint({p.prompt for p in eval_a})
    assert {p.lang for p in train_a} == {"en", "fr", "de", "es", "zh"}
    for p in train_a + eval_a:
        assert p.answer is not None and p.answer.lstrip("-").isdigit()
        assert p.shortcut is not None and p.shortcut.endswith("=" + p.answer)
    assert builtin_task(train_size=5, eval_size=5, seed=4)[0] != train_a[:5]


@pytest.mark.parametrize("bad", [{"langs": ["xx"]}, {"ops": ["/"]}])
def test_builtin_task_refuses_unknown(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        builtin_task(train_size=1, eval_size=1, **bad)


def test_load_prompts_jsonl_and_parquet(tmp_path: Path) -> None:
    rows = [{"question": "1+1?", "gold": 2, "language": "en"}, {"question": "2+2?", "gold": None}]
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = tmp_path / "p.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    for path in (jsonl, parquet):
        got = load_prompts(path, prompt_column="question", answer_column="gold", lang_column="language")
        assert [(p.prompt, p.answer, p.lang) for p in got] == [("1+1?", "2", "en"), ("2+2?", None, None)]
    with pytest.raises(ValueError, match="no column"):
        load_prompts(jsonl, prompt_column="prompt")


def test_sampler_position_round_trips() -> None:
    a = PromptSampler(5, seed=1)
    first = a.take(7)
    assert sorted(first[:5]) == [0, 1, 2, 3, 4]  # one full pass before any repeat
    b = PromptSampler(5, seed=1)
    b.load_state(a.state())
    assert a.take(6) == b.take(6)


def test_shortcut_fraction_mixes_styles() -> None:
    train, _ = builtin_task(train_size=400, eval_size=0, seed=0)
    rows = task_sft_rows(train, prefill_think=True, shortcut_fraction=0.5, seed=0)
    short = sum(r["response"].startswith(p.shortcut) for r, p in zip(rows, train, strict=True))
    assert 150 < short < 250
    assert task_sft_rows(train[:3], prefill_think=True) == task_sft_rows(
        train[:3], prefill_think=True, seed=9
    )


# --- model, template, tokenizer
def test_tiny_tokenizer_round_trips_every_task_character() -> None:
    tok = build_tiny_tokenizer()
    train, _ = builtin_task(train_size=300, eval_size=0, seed=0, kind="word", ops=["+", "-", "*"])
    for p in train[:60]:
        text = render_prompt(tok, p.prompt) + solution_response(
            p.solution or "", p.answer or "", prefill_think=True
        )
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.unk_token_id not in ids
        assert tok.decode(ids) == text
    assert len(tok("<think></think>\\boxed{", add_special_tokens=False)["input_ids"]) == 3


class NoTemplate:
    chat_template = None


@pytest.mark.parametrize(("prefill", "suffix"), [(True, "<|assistant|><think>\n"), (False, "<|assistant|>")])
def test_render_prompt_chat_template(prefill: bool, suffix: str) -> None:
    text = render_prompt(
        build_tiny_tokenizer(), "What is 1 + 1?", prefill_think=prefill, system_prompt="Be brief."
    )
    assert text.startswith("<|system|>Be brief.\n<|user|>What is 1 + 1?\n")
    assert text.endswith(suffix)


def test_render_prompt_without_chat_template_uses_r1_zero() -> None:
    text = render_prompt(NoTemplate(), "What is 1 + 1?")  # type: ignore[arg-type]
    assert "User: What is 1 + 1?" in text and text.endswith("Assistant: <think>\n")


def test_generate_masks_after_eos_and_flags_truncation() -> None:
    tok = build_tiny_tokenizer()
    model = build_tiny_model(tok, hidden=32, layers=1, heads=2, intermediate=64)
    torch.manual_seed(0)
    out = generate(
        model, tok, [render_prompt(tok, "a"), render_prompt(tok, "bbbb")], Sampling(max_new_tokens=6)
    )
    assert out.completion_ids.shape[0] == 2 and out.prompt_ids.shape[1] == out.prompt_mask.shape[1]
    assert out.truncated.tolist() == [
        bool(m.sum() == 6 and row[-1] != tok.eos_token_id)
        for row, m in zip(out.completion_ids, out.completion_mask, strict=True)
    ]


@pytest.mark.parametrize(
    ("ids", "mask", "truncated"),
    [([[7, 2, 9, 9]], [[1, 1, 0, 0]], [False]), ([[2, 9]], [[1, 0]], [False]), ([[7, 7]], [[1, 1]], [True])],
)
def test_completion_mask(ids: list[list[int]], mask: list[list[int]], truncated: list[bool]) -> None:
    m, t = completion_mask_from_ids(torch.tensor(ids), [2])
    assert m.tolist() == mask and t.tolist() == truncated


# --- scoring plumbing: circuit breaker, result checks, watchdog
class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_circuit_breaker_opens_probes_and_closes() -> None:
    clock = Clock()
    b = CircuitBreaker(failures=2, cooldown_s=5.0, clock=clock)
    b.record(False)
    assert b.state == "closed" and b.allow()
    b.record(False)
    assert b.state == "open" and not b.allow()
    clock.now = 5.0
    assert b.state == "half_open" and b.allow() and not b.allow()  # exactly one probe
    b.record(False)
    assert b.state == "open"  # a failed probe re-opens at once
    clock.now = 10.0
    assert b.allow()
    b.record(True)
    assert b.state == "closed" and b.allow()


PARSE_CASES = [
    # (results, ids, rewards, failure)
    ([{"id": "0", "reward": 1.5, "scores": {"accuracy": 1.0}}], ["0"], [1.5], None),
    ([{"id": "0", "reward": None, "scores": {"accuracy": None}}], ["0"], [None], None),
    ([{"id": "0", "reward": 1.0, "error": {"code": "timeout", "message": "x"}}], ["0"], [None], None),
    ([{"id": "0", "reward": 1.0}], ["0", "1"], [None, None], "result_count:1!=2"),
    ([{"id": "1", "reward": 1.0}, {"id": "0", "reward": 0.0}], ["0", "1"], [None, None], "result_order"),
]


@pytest.mark.parametrize(("results", "ids", "rewards", "failure"), PARSE_CASES)
def test_parse_results(
    results: list[dict[str, Any]], ids: list[str], rewards: list[Any], failure: str | None
) -> None:
    group = parse_results(results, ids, 0.0)
    assert group.rewards == rewards and group.failure == failure


class Hanging(FakeRewardClient):
    async def score(self, items: Any, rewards: Any = None, request_id: Any = None) -> Any:
        await asyncio.sleep(3600)


def _items(n: int) -> list[dict[str, Any]]:
    return [{"id": str(i), "completion": "<think>1</think>\\boxed{2}", "answer": "2"} for i in range(n)]


def test_scorer_masks_hanging_and_failing_groups() -> None:
    scorer = GroupScorer(Hanging, deadline_s=0.2)
    try:
        group = scorer.result(scorer.submit("g", _items(3)))
        assert group.rewards == [None, None, None] and group.failure in {"TimeoutError", "watchdog"}
    finally:
        scorer.close()
    client = FakeRewardClient()
    client.fail = True
    scorer = GroupScorer(lambda: client, breaker=CircuitBreaker(failures=1, cooldown_s=60.0))
    try:
        assert scorer.result(scorer.submit("a", _items(2))).failure == "ConnectionError"
        assert scorer.result(scorer.submit("b", _items(2))).failure == "circuit_open"
        assert client.calls == 1  # the open circuit sent nothing
    finally:
        scorer.close()


def test_scorer_scores_in_order() -> None:
    scorer = GroupScorer(FakeRewardClient, rewards={"accuracy": {"weight": 1.0}})
    try:
        items = _items(2)
        items[1]["answer"] = "3"
        group = scorer.result(scorer.submit("g", items))
        assert group.rewards == [1.0, 0.0] and group.failure is None
    finally:
        scorer.close()


# --- CLI: registration, and no torch at import time
def test_cli_import_does_not_load_torch() -> None:
    code = "import sys, trainer_client.cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("argv", "key", "value"),
    [
        (["train", "--model", "tiny", "--num-generations", "4"], "num_generations", 4),
        (
            ["train", "--reward-url", "http://a:1", "--reward-url", "http://b:2"],
            "reward_url",
            ["http://a:1", "http://b:2"],
        ),
        (["train", "--weights", "accuracy=1,format=0.25"], "weights", {"accuracy": 1.0, "format": 0.25}),
        (["train", "--loss-aggregation", "constant", "--resume"], "resume", True),
        (["train", "--loss-constant", "2048"], "loss_constant", 2048.0),
        (["train", "--max-prompt-len", "1024", "--top-k", "20"], "max_prompt_len", 1024),
        (["train", "--top-k", "20"], "top_k", 20),
        (["train", "--top-p", "0.95"], "top_p", 0.95),
        (["train", "--micro-batch-tokens", "8192"], "micro_batch_tokens", 8192),
        (["sft", "--max-len", "8192"], "max_len", 8192),
        (["reject-sample", "--top-k", "0"], "top_k", 0),
        (["sft", "--data", "cot.jsonl", "--out", "runs/sft"], "out_dir", "runs/sft"),
        (["reject-sample", "--num-samples", "16", "--min-language", "0.8"], "min_language", 0.8),
        (["demo", "--run-dir", "d"], "threads", 1),
        (["plot", "runs/x"], "run_dir", Path("runs/x")),
    ],
)
def test_cli_parses(argv: list[str], key: str, value: Any) -> None:
    import argparse

    from trainer_client.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    assert getattr(args, key) == value and callable(args.func)


def test_plot_writes_pngs(tmp_path: Path) -> None:
    from trainer_client.grpo.plot import plot_run

    rows = [{"step": 0, "eval_accuracy": 0.4}] + [
        {
            "step": s,
            "reward_mean": 0.1 * s,
            "accuracy_mean": 0.05 * s,
            "kl": 0.01,
            "reward_wait_fraction": 0.01,
        }
        for s in range(1, 4)
    ]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    paths = plot_run(tmp_path)
    assert [p.name for p in paths] == ["curves.png", "eval_accuracy.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)


def test_over_long_prompt_loses_its_start_not_its_generation_prompt() -> None:
    tok = build_tiny_tokenizer()
    ids = tok("x" * 10 + "<|assistant|><think>\n", truncation=True, max_length=4, add_special_tokens=False)[
        "input_ids"
    ]
    assert tok.convert_ids_to_tokens(ids) == ["x", "<|assistant|>", "<think>", "\n"]
