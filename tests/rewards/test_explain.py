"""The explanation mode: regions, candidate answers, the format check's position and language segments."""

from __future__ import annotations

from typing import Any

import pytest

from rewards import Item, RewardConfig, score_item
from rewards.config import AccuracyConfig
from rewards.explain import explain

R1_PROMPT = "<｜User｜>What is 2 + 2?<｜Assistant｜><think>\n"

# ------------------------------------------------------------------------------------------- regions
REGIONS = [
    # (completion, prompt, reasoning region, answer region)
    ("<think>add</think> 4", None, [7, 10], [18, 20]),
    ("just 4", None, None, [0, 6]),
    ("<think>still thinking", None, [7, 21], None),
    ("two and two.</think>\\boxed{4}", R1_PROMPT, [0, 12], [20, 29]),
    ("two and two.</think>4", None, [0, 12], [20, 21]),  # a stray </think>: the template opened it
    ("<think>a</think><think>b</think> 4", None, [7, 24], [32, 34]),
]


@pytest.mark.parametrize(("completion", "prompt", "reasoning", "answer"), REGIONS)
def test_regions(completion: str, prompt: str | None, reasoning: Any, answer: Any) -> None:
    ex = explain(Item(completion, prompt=prompt, answer="4"), RewardConfig())
    assert ex["reasoning_region"] == reasoning
    assert ex["answer_region"] == answer


# ---------------------------------------------------------------------------------------- candidates
CANDIDATES = [
    # (completion, chosen method, chosen text, methods seen in order)
    ("<think>x</think> First \\boxed{3}, then \\boxed{4}.", "boxed", "4", ["boxed", "boxed"]),
    ("<think>x</think> <answer>7</answer>", "answer_tag", "7", ["answer_tag"]),
    ("<think>x</think> So **12** apples.\n#### 12", "gsm8k", "12", ["bold", "gsm8k"]),
    ("<think>x</think> The final answer is 9.", "phrase", "9", ["phrase"]),
    ("<think>x</think> It is about 5 or so, maybe 6", "last_number", "6", ["last_number"]),
]


@pytest.mark.parametrize(("completion", "method", "text", "methods"), CANDIDATES)
def test_candidates(completion: str, method: str, text: str, methods: list[str]) -> None:
    ex = explain(Item(completion, answer="4"), RewardConfig())
    chosen = [c for c in ex["candidates"] if c["chosen"]]
    assert [(c["method"], c["text"]) for c in chosen] == [(method, text)]
    assert [c["method"] for c in ex["candidates"]] == methods
    assert chosen[0]["why"].startswith("chosen: ")
    start, end = chosen[0]["start"], chosen[0]["end"]
    assert completion[start:end] == text  # the offsets point at the answer in the completion


def test_unclosed_block_has_no_candidates() -> None:
    ex = explain(Item("<think>\\boxed{4}", answer="4"), RewardConfig())
    assert ex["candidates"] == [] and ex["compared"]["answer"] is None


def test_compared_forms_are_the_normalised_texts() -> None:
    ex = explain(Item("<think>x</think> \\boxed{\\dfrac{1}{2}}", answer="0.5"), RewardConfig())
    assert ex["compared"] == {"answer": "\\frac{1}{2}", "reference": "0.5"}


# -------------------------------------------------------------------------------------------- format
FORMAT = [
    # (completion, prompt, check, position)
    ("<think>a</think> 4", None, "ok", None),
    ("Sure. <think>a</think> 4", None, "text_before_think", 0),
    ("<think>a</think></think> 4", None, "multiple_closing_tags", 16),
    ("<think>a", None, "no_closing_tag", 8),
    ("<think>a</think>   ", None, "empty_answer", 19),
    ("<think>a</think><think>b</think> 4", None, "multiple_opening_tags", 16),
    # a stray </think>: opened by the template when no prompt was sent, never opened when one was
    ("two.</think> 4", None, "ok", None),
    ("two.</think> 4", "What is 2 + 2?", "no_opening_tag", 0),
]


@pytest.mark.parametrize(("completion", "prompt", "check", "position"), FORMAT)
def test_format_position(completion: str, prompt: str | None, check: str, position: int | None) -> None:
    item = Item(completion, prompt=prompt, answer="4")
    assert explain(item, RewardConfig())["format"] == {"check": check, "position": position}
    assert score_item(item).details["format_check"] == check  # the explanation reads it as the score does


# ------------------------------------------------------------------------------------------ language
def test_language_segments_carry_labels_and_words() -> None:
    reasoning = "We add the two numbers first. Ensuite nous vérifions le résultat avec soin."
    ex = explain(Item(f"<think>{reasoning}</think> 4", lang="en"), RewardConfig())
    labels = [(s["label"], s["words"]) for s in ex["language"]["segments"]]
    assert ex["language"]["target"] == "en"
    assert labels == [("en", 6), ("fr", 7)]
    assert all(0 < s["prob"] <= 1 for s in ex["language"]["segments"])


# --------------------------------------------------------------------------------------- the registry
def test_only_requested_parts_and_only_when_asked() -> None:
    item = Item("<think>a</think> \\boxed{4}", answer="4")
    assert "explanation" not in score_item(item).details
    only_accuracy = RewardConfig(accuracy=AccuracyConfig(), format=None, language=None, explain=True)
    ex = score_item(item, only_accuracy).details["explanation"]
    assert set(ex) == {"reasoning_region", "answer_region", "candidates", "compared"}
