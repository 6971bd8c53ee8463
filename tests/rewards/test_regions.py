"""Where the reasoning ends and the answer region begins (API.md, "Answer region")."""

from __future__ import annotations

import pytest

from rewards.regions import prompt_prefills_think, split_regions

R1_PROMPT = "<｜User｜>What is 2+2?<｜Assistant｜><think>\n"

# (completion, prompt, expected answer region, expected reasoning, opened)
REGION_CASES = [
    # no reasoning block: everything is both reasoning and answer
    ("The answer is 4.", None, "The answer is 4.", "The answer is 4.", False),
    ("", None, "", "", False),
    # a block opened and closed in the completion
    ("<think>2+2=4</think> \\boxed{4}", None, " \\boxed{4}", "2+2=4", True),
    ("<think>a</think>b</think>c", None, "c", "a b", True),
    # a block opened and never closed: no final answer
    ("<think>so \\boxed{4}", None, None, "so \\boxed{4}", True),
    # the R1 template prefills <think> in the prompt
    ("2+2=4</think>\n\\boxed{4}", R1_PROMPT, "\n\\boxed{4}", "2+2=4", True),
    ("2+2=4 so \\boxed{4}", R1_PROMPT, None, "2+2=4 so \\boxed{4}", True),
    # a stray </think> closes a block the caller's template opened
    ("thinking</think>5", None, "5", "thinking", True),
    # a closed block in the prompt is no prefill
    ("\\boxed{4}", "<think>x</think> answer:", "\\boxed{4}", "\\boxed{4}", False),
]


@pytest.mark.parametrize(("completion", "prompt", "answer", "reasoning", "opened"), REGION_CASES)
def test_split_regions(
    completion: str, prompt: str | None, answer: str | None, reasoning: str, opened: bool
) -> None:
    regions = split_regions(completion, prompt)
    assert regions.answer == answer
    assert regions.reasoning.strip() == reasoning.strip()
    assert regions.opened is opened


PREFILL_CASES = [
    (None, False),
    ("", False),
    ("plain prompt", False),
    (R1_PROMPT, True),
    ("<think>done</think>", False),
    ("<think>a</think> again <think>", True),
    ("<think>\n\n  ", True),
    # an instruction that mentions the tag opens nothing
    ("Begin your reply with <think>.", False),
    ("Think inside <think> tags, then answer.", False),
]


@pytest.mark.parametrize(("prompt", "expected"), PREFILL_CASES)
def test_prompt_prefills_think(prompt: str | None, expected: bool) -> None:
    assert prompt_prefills_think(prompt) is expected


def test_counts_tags() -> None:
    regions = split_regions("<think>a<think>b</think></think>c")
    assert (regions.open_tags, regions.close_tags) == (2, 2)
