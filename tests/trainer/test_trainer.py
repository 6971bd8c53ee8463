"""The training loop without a service: a step's direction, masking of null rewards, resume exactness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.trainer.conftest import tiny_config
from tests.trainer.fakes import FakeRewardClient, fake_score
from trainer_client.grpo.config import GRPOConfig
from trainer_client.grpo.data import PromptSampler
from trainer_client.grpo.losses import group_advantages
from trainer_client.grpo.model import build_tiny_model, build_tiny_tokenizer, render_prompt
from trainer_client.grpo.rollout import Rollout, token_logps
from trainer_client.grpo.sft import lr_lambda
from trainer_client.grpo.trainer import Run, policy_update, train

TIMING = (
    "generate_s",
    "logp_s",
    "score_wait_s",
    "train_s",
    "step_s",
    "tokens_per_s",
    "reward_wait_fraction",
    "reward_latency_p50",
    "reward_latency_p99",
    "eval_s",
)


def _rollout(completions: list[str]) -> tuple[Any, Any, Rollout]:
    tok = build_tiny_tokenizer()
    model = build_tiny_model(tok, hidden=32, layers=1, heads=2, intermediate=64, seed=3)
    prompt = tok(render_prompt(tok, "What is 2 + 2?"), add_special_tokens=False, return_tensors="pt")
    enc = [tok(c, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for c in completions]
    width = max(len(e) for e in enc)
    ids = torch.tensor([e + [tok.pad_token_id] * (width - len(e)) for e in enc])
    mask = torch.tensor([[1] * len(e) + [0] * (width - len(e)) for e in enc])
    n = len(completions)
    rollout = Rollout(
        prompt["input_ids"].repeat(n, 1),
        prompt["attention_mask"].repeat(n, 1),
        ids,
        mask,
        torch.zeros(n, dtype=torch.bool),
        completions,
    )
    return model, tok, rollout


def _seq_logp(model: Any, r: Rollout) -> torch.Tensor:
    with torch.no_grad():
        lp, _ = token_logps(model, r.prompt_ids, r.prompt_mask, r.completion_ids, r.completion_mask)
    return (lp * r.completion_mask).sum(dim=-1)


def run_of(model: Any, lr: float, *, bf16: bool = False) -> Run:
    """What policy_update needs of a run: the model, an optimiser with a constant schedule, the device."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    return Run(
        model=model,
        ref_model=None,
        tokenizer=None,
        end_ids=[],
        device=torch.device("cpu"),
        bf16=bf16,
        checkpointing=False,
        train_prompts=[],
        eval_prompts=[],
        sampler=PromptSampler(1),
        optimizer=opt,
        scheduler=sched,
        start_step=0,
    )


def _update(cfg: GRPOConfig, model: Any, r: Rollout, rewards: list[float]) -> dict[str, float]:
    adv, valid = group_advantages(torch.tensor([rewards]), cfg.advantage_scaling)
    loss_mask = r.completion_mask * valid.reshape(-1, 1)
    return policy_update(cfg, run_of(model, cfg.lr), r, adv.reshape(-1), loss_mask, None, None)


# --- one step moves probability towards the rewarded completion, in every aggregation mode
@pytest.mark.parametrize("aggregation", ["sequence", "token", "constant"])
def test_step_raises_logprob_of_rewarded_completion(tmp_path: Path, aggregation: str) -> None:
    model, _, r = _rollout(["2+2=4\n</think>\n\\boxed{4}", "2+2=5\n</think>\n\\boxed{5}"])
    cfg = tiny_config(tmp_path, lr=1e-2, loss_aggregation=aggregation, micro_batch_tokens=1)
    before = _seq_logp(model, r)
    stats = _update(cfg, model, r, [1.6, 0.6])
    after = _seq_logp(model, r)
    assert after[0] > before[0]
    assert after[1] < before[1]
    assert stats["clip_fraction"] == 0.0  # mu = 1: ratio 1, nothing clipped


# --- mu > 1: later updates see ratios away from 1 and the clip bites (against the sampling policy)
def test_mu_updates_clip_against_the_sampling_policy(tmp_path: Path) -> None:
    model, _, r = _rollout(["2+2=4\n</think>\n\\boxed{4}", "2+2=5\n</think>\n\\boxed{5}"])
    cfg = tiny_config(tmp_path, lr=5e-2, mu=4, eps_low=0.01, eps_high=0.01)
    stats = _update(cfg, model, r, [1.0, 0.0])
    assert 0.0 < stats["clip_fraction"] <= 1.0
    assert stats["clip_fraction"] == pytest.approx(stats["clip_ratio_low"] + stats["clip_ratio_high"])


# --- null rewards: masked (advantage 0, out of the loss), not counted as 0
def test_null_reward_is_masked_not_zero(tmp_path: Path) -> None:
    texts = ["2+2=4\n</think>\n\\boxed{4}", "2+2=5\n</think>\n\\boxed{5}", "1\n</think>\n\\boxed{1}"]
    cfg = tiny_config(tmp_path, lr=1e-2)
    masked_model, _, r = _rollout(texts)
    _update(cfg, masked_model, r, [1.0, 0.0, float("nan")])
    dropped_model, _, r2 = _rollout(texts[:2])
    _update(cfg, dropped_model, r2, [1.0, 0.0])
    zero_model, _, r3 = _rollout(texts)
    _update(cfg, zero_model, r3, [1.0, 0.0, 0.0])
    for a, b in zip(masked_model.parameters(), dropped_model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)  # the null item changed nothing: as if it were absent
    assert any(
        not torch.allclose(a, b, atol=1e-6)
        for a, b in zip(masked_model.parameters(), zero_model.parameters(), strict=True)
    )


class NullEveryOther(FakeRewardClient):
    """Answers null rewards for the odd items (as the service does when accuracy cannot be judged)."""

    async def score(
        self, items: list[dict[str, Any]], rewards: Any = None, request_id: Any = None
    ) -> list[dict[str, Any]]:
        out = [fake_score(item, {"accuracy": 1.0, "format": 0.5}) for item in items]
        for res in out[1::2]:
            res.update(reward=None, scores={"accuracy": None, "format": 1.0, "language": None})
        return out


def test_loop_counts_null_rewards_in_masked_fraction(tmp_path: Path) -> None:
    history = train(tiny_config(tmp_path, steps=1), client_factory=NullEveryOther)
    assert history[-1]["reward_masked_frac"] == pytest.approx(0.5)


def test_loop_survives_a_dead_service(tmp_path: Path) -> None:
    def dead() -> FakeRewardClient:
        client = FakeRewardClient()
        client.fail = True
        return client

    cfg = tiny_config(tmp_path, steps=2, breaker_failures=1, breaker_cooldown_s=60.0)
    history = train(cfg, client_factory=dead)
    assert [m["reward_masked_frac"] for m in history] == [1.0, 1.0]
    assert history[-1]["masked_groups"] == 2.0
    assert all(m["loss"] == 0.0 for m in history)


def test_metrics_file_and_table(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, steps=2, eval_every=2, table_every=2, task_eval_size=3)
    train(cfg, client_factory=FakeRewardClient)
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2]
    assert "eval_accuracy" in rows[0] and "eval_accuracy" in rows[2]
    required = [
        "reward_mean",
        "reward_std",
        "accuracy_mean",
        "format_mean",
        "language_mean",
        "kl",
        "clip_fraction",
        "entropy",
        "completion_len_mean",
        "accuracy_std",
        "frac_reward_zero_std",
        "clip_ratio_low",
        "clip_ratio_high",
        "reward_latency_p50",
        "reward_latency_p99",
        "reward_masked_frac",
        "tokens_per_s",
        "generate_s",
        "score_wait_s",
        "train_s",
        "reward_wait_fraction",
    ]
    assert [k for k in required if k not in rows[2]] == []
    table = [json.loads(x) for x in (tmp_path / "completions" / "step_000002.jsonl").read_text().splitlines()]
    assert len(table) == 8
    assert {"prompt", "completion", "extracted_answer", "gold", "scores", "outcome"} <= set(table[0])
    assert (tmp_path / "final" / "config.json").exists()


# --- dynamic sampling filters on raw accuracy
class ConstantAccuracy(FakeRewardClient):
    """Accuracy 0 for every item, but a format reward that varies: only raw accuracy must decide."""

    async def score(
        self, items: list[dict[str, Any]], rewards: Any = None, request_id: Any = None
    ) -> list[dict[str, Any]]:
        return [
            {
                "id": it["id"],
                "reward": 0.5 * (i % 2),
                "scores": {"accuracy": 0.0, "format": float(i % 2)},
                "details": {},
                "error": None,
            }
            for i, it in enumerate(items)
        ]


def test_dynamic_sampling_uses_raw_accuracy(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, steps=1, dynamic_sampling=True, dynamic_sampling_max_rounds=2)
    history = train(cfg, client_factory=ConstantAccuracy)
    assert history[-1]["dropped_groups"] == 4.0  # 2 groups per round, 2 rounds, all without accuracy signal


# --- resume: 2 steps, checkpoint, resume to 3 == 3 uninterrupted steps
def test_resume_is_exact(tmp_path: Path) -> None:
    def client() -> FakeRewardClient:
        return FakeRewardClient(digit_bonus=True)

    def cfg(where: str) -> GRPOConfig:
        return tiny_config(
            tmp_path / where, steps=3, beta=0.05, mu=2, warmup_steps=2, eval_every=2, task_eval_size=2
        )

    straight = train(cfg("a"), client_factory=client)
    assert straight[-1]["reward_std"] > 0 and straight[-1]["grad_norm"] > 0  # a real update happened
    interrupted = train(cfg("b"), client_factory=client, stop_after=2)
    assert [m["step"] for m in interrupted] == [0, 1, 2]
    resumed = train(cfg("b"), client_factory=client, resume=True)
    assert [m["step"] for m in resumed] == [3]

    def strip(m: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in m.items() if k not in TIMING}

    assert strip(resumed[0]) == strip(straight[-1])
    a = torch.load(tmp_path / "a" / "checkpoint" / "state.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "checkpoint" / "state.pt", weights_only=False)
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [0, 1, 2, 3]


# --- schedule
@pytest.mark.parametrize(("step", "expected"), [(0, 0.25), (3, 1.0), (4, 1.0), (14, 0.1), (9, 0.55)])
def test_warmup_cosine(step: int, expected: float) -> None:
    assert lr_lambda(step, warmup=4, total=14, min_ratio=0.1) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("key", "value"), [("advantage_scaling", "median"), ("num_generations", 1), ("beta", -1.0)]
)
def test_config_rejects_bad_values(key: str, value: Any) -> None:
    with pytest.raises(ValueError):
        GRPOConfig.from_dict({key: value})


def test_config_rejects_unknown_key() -> None:
    with pytest.raises(ValueError, match="unknown config key"):
        GRPOConfig.from_dict({"num_generation": 4})
