"""The verl adapter against the real service, called with verl's keyword conventions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from trainer_client.integrations import verl

R1_PROMPT = "<｜User｜>What is 6*7?<｜Assistant｜><think>\n"

# (solution_str, ground_truth, extra_info, acc, format, outcome, pred, masked)
SAMPLES: list[tuple[str, Any, dict[str, Any] | None, float, float, str, str, bool]] = [
    (
        "<think>6*7=42</think> The answer is \\boxed{42}.",
        "42",
        {"question": "What is 6*7?"},
        1.0,
        1.0,
        "equivalent",
        "42",
        False,
    ),
    ("6*7=42</think> \\boxed{42}", "42", {"prompt": R1_PROMPT}, 1.0, 1.0, "equivalent", "42", False),
    ("<think>half</think> \\boxed{0.5}", "\\frac{1}{2}", None, 1.0, 1.0, "equivalent", "0.5", False),
    ("<think>guess</think> \\boxed{41}", 42, {"index": 0}, 0.0, 1.0, "not_equivalent", "41", False),
    ("<think>still thinking \\boxed{42}", "42", {}, 0.0, 0.0, "no_answer", "", False),
    ("<think>x</think> \\boxed{3}", None, {"lang": "en"}, 0.0, 1.0, "no_reference", "", True),
]


@pytest.fixture(autouse=True)
def point_at_the_service(live_url):
    verl.configure(live_url, on_error="raise")
    yield
    verl.configure()


def check(results: list[dict[str, Any]]) -> None:
    for result, sample in zip(results, SAMPLES, strict=True):
        _, _, _, acc, fmt, outcome, pred, masked = sample
        assert (result["acc"], result["format"], result["outcome"], result["masked"]) == (
            acc,
            fmt,
            outcome,
            masked,
        )
        if pred:
            assert result["pred"] == pred
        assert isinstance(result["score"], float)


def test_naive_manager_convention():
    check(
        [
            verl.compute_score(data_source="openai/gsm8k", solution_str=s, ground_truth=t, extra_info=e)
            for s, t, e, *_ in SAMPLES
        ]
    )


def test_batch_manager_convention():
    check(
        verl.compute_score_batch(
            data_sources=["math"] * len(SAMPLES),
            solution_strs=[s[0] for s in SAMPLES],
            ground_truths=[s[1] for s in SAMPLES],
            extra_infos=[s[2] for s in SAMPLES],
        )
    )


def test_reward_loop_convention():
    async def reward_loop() -> list[dict[str, Any]]:
        return await asyncio.gather(
            *(
                verl.compute_score_async(data_source="math", solution_str=s, ground_truth=t, extra_info=e)
                for s, t, e, *_ in SAMPLES
            )
        )

    check(asyncio.run(reward_loop()))
