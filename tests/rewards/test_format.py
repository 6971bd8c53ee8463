"""Format reward: a table of completions with the score and the name of the first failed check."""

from __future__ import annotations

import pytest

from rewards.config import FormatConfig
from rewards.format import CHECKS, check_format, score_format
from rewards.regions import split_regions

R1_PROMPT = "<｜begin▁of▁sentence｜><｜User｜>What is 2+2?<｜Assistant｜><think>\n"
PLAIN_PROMPT = "What is 2+2? Think step by step."

# (completion, prompt, expected check)
THINK_CASES: list[tuple[str, str | None, str]] = [
    # accepted: canonical layouts and whitespace variants
    ("<think>\n2+2 is 4.\n</think>\nThe answer is 4.", None, "ok"),
    ("<think>2+2 is 4.</think>The answer is 4.", None, "ok"),  # single-line reasoning
    ("<think>2+2=4</think> \\boxed{4}", PLAIN_PROMPT, "ok"),
    ("  \n\t<think>  2+2 is 4  </think>  4  ", None, "ok"),  # whitespace before <think> is fine
    ("<think>\r\nadd\r\n</think>\r\n4", None, "ok"),  # CRLF line ends
    ("<think>first\n\n\nsecond</think>\n\n\n**4**", None, "ok"),
    ("<think>2+2=4</think><answer>4</answer>", None, "ok"),  # answer tags are not required in mode think
    ("<think>ok</think>4", None, "ok"),
    # accepted: the R1 chat template prefills <think> in the prompt
    ("2+2 is 4.\n</think>\n\nThe answer is \\boxed{4}.", R1_PROMPT, "ok"),
    ("2+2 is 4.</think>4", "<|im_start|>assistant\n<think>", "ok"),
    ("   reasoning   </think>  4", R1_PROMPT, "ok"),
    # accepted: no prompt sent (verl passes none), a block closed but never opened was opened by the template
    ("2+2 is 4.</think>4", None, "ok"),
    ("2+2 is 4.\n</think>\n\n\\boxed{4}", "", "ok"),
    # ... and then held to the prefilled rules
    ("a</think>b</think> 4", None, "multiple_closing_tags"),
    ("</think> 4", None, "empty_reasoning"),
    ("2+2 is 4.</think>", None, "empty_answer"),
    ("4</think><think>2+2=4</think> 4", "", "text_before_think"),
    # rejected: missing or misplaced opening tag
    ("The answer is 4.", None, "no_opening_tag"),
    ("2+2 is 4.</think>4", PLAIN_PROMPT, "no_opening_tag"),  # a prompt was sent and did not prefill
    ("The answer is 4.", PLAIN_PROMPT, "no_opening_tag"),
    ("Sure! <think>2+2=4</think> 4", None, "text_before_think"),
    ("4</think><think>2+2=4</think>4", None, "text_before_think"),
    ("</think><think>2+2=4</think> 4", None, "text_before_think"),
    # rejected: two blocks, nested blocks (open-r1 accepts these)
    ("<think>a</think><think>b</think> 4", None, "multiple_opening_tags"),
    ("<think>a</think>\n4\n<think>b</think>\n4", None, "multiple_opening_tags"),
    ("<think>a<think>b</think>c</think> 4", None, "nested_think"),
    ("<think>a<think>b</think> 4", None, "nested_think"),
    ("<think>reasoning</think> 4", R1_PROMPT, "nested_think"),  # prefilled + opened again
    ("a <think>b</think> c</think> 4", R1_PROMPT, "nested_think"),
    # rejected: closing tag missing or doubled
    ("<think>2+2 is 4 and the answer is 4", None, "no_closing_tag"),
    ("2+2 is 4 and the answer is 4", R1_PROMPT, "no_closing_tag"),
    ("<think>2+2=4</think></think> 4", None, "multiple_closing_tags"),
    ("<think>2+2=4</think> 4 </think> 4", None, "multiple_closing_tags"),
    ("a</think>b</think> 4", R1_PROMPT, "multiple_closing_tags"),
    # rejected: empty parts (TRL's think_format_reward accepts an empty think block)
    ("<think></think> 4", None, "empty_reasoning"),
    ("<think>\n\n</think>\nThe answer is 4.", None, "empty_reasoning"),
    ("<think> ... </think> 4", None, "empty_reasoning"),
    ("<think>…— –</think> 4", None, "empty_reasoning"),
    ("<think>\u3000。</think> 4", None, "empty_reasoning"),  # ideographic space and full stop
    ("<think>2+2=4</think> $$", None, "empty_answer"),
    ("</think> 4", R1_PROMPT, "empty_reasoning"),
    ("<think>2+2=4</think>", None, "empty_answer"),
    ("<think>2+2=4</think>  \n ", None, "empty_answer"),
    ("<think>2+2=4</think> .", None, "empty_answer"),
    ("<think>The answer is \\boxed{4}.</think>", None, "empty_answer"),  # answer only inside the think block
    ("The answer is \\boxed{4}.</think>\n", R1_PROMPT, "empty_answer"),
    # rejected: think tags spelled differently inside the answer
    ("<think>2+2=4</think> 4 </Think>", None, "tag_in_answer"),
    ("<think>2+2=4</think> 4 < think > more", None, "tag_in_answer"),
]

THINK_ANSWER_CASES: list[tuple[str, str | None, str]] = [
    # accepted
    ("<think>\n2+2=4\n</think>\n<answer>\n4\n</answer>", None, "ok"),
    ("<think>2+2=4</think><answer>4</answer>", None, "ok"),
    ("<think>2+2=4</think>  <answer> \\frac{1}{2} </answer>  \n", None, "ok"),
    ("2+2=4</think>\n<answer>4</answer>", R1_PROMPT, "ok"),
    # inherited think-mode failures come first
    ("<think>a</think><think>b</think><answer>4</answer>", None, "multiple_opening_tags"),
    ("<think></think><answer>4</answer>", None, "empty_reasoning"),
    ("<think>2+2=4</think>", None, "empty_answer"),
    # rejected: answer tags missing, repeated, misplaced
    ("<think>2+2=4</think> 4", None, "no_answer_tag"),
    ("<think>so <answer>4</answer></think> 4", None, "answer_tag_in_think"),  # answer only inside think
    ("<think>so <answer>4</answer></think><answer>4</answer>", None, "answer_tag_in_think"),
    ("<think>2+2=4</think><answer>4</answer><answer>5</answer>", None, "multiple_answer_tags"),
    ("<think>2+2=4</think><answer>4<answer>5</answer></answer>", None, "tag_in_answer"),
    ("<think>2+2=4</think><answer>4</answer></answer>", None, "multiple_answer_tags"),
    ("<think>2+2=4</think><answer>4", None, "no_closing_answer_tag"),
    ("<think>2+2=4</think></answer>4<answer>", None, "no_closing_answer_tag"),
    ("<think>2+2=4</think> So: <answer>4</answer>", None, "text_before_answer"),
    ("<think>2+2=4</think><answer>4</answer> Hope this helps!", None, "text_after_answer"),
    ("<think>2+2=4</think><answer>4</answer>\n<think>more</think>", None, "multiple_opening_tags"),
    ("<think>2+2=4</think><answer>4 </Think></answer>", None, "tag_in_answer"),
    ("<think>2+2=4</think><answer>4 <ANSWER> 5</answer>", None, "tag_in_answer"),
    ("<think>2+2=4</think><answer>  </answer>", None, "empty_answer_tag"),
    ("<think>2+2=4</think><answer></answer>", None, "empty_answer_tag"),
]


@pytest.mark.parametrize(("completion", "prompt", "expected"), THINK_CASES)
def test_think_mode(completion: str, prompt: str | None, expected: str) -> None:
    score, details = score_format(completion, prompt, FormatConfig(mode="think"))
    assert details["format_check"] == expected
    assert details["format_mode"] == "think"
    assert score == (1.0 if expected == "ok" else 0.0)


@pytest.mark.parametrize(("completion", "prompt", "expected"), THINK_ANSWER_CASES)
def test_think_answer_mode(completion: str, prompt: str | None, expected: str) -> None:
    score, details = score_format(completion, prompt, FormatConfig(mode="think_answer"))
    assert details["format_check"] == expected
    assert score == (1.0 if expected == "ok" else 0.0)


OPENINGS: list[tuple[str, str | None, str | None]] = [
    ("<think>a</think> 4", None, "completion"),
    ("<think>a</think> 4", PLAIN_PROMPT, "completion"),
    ("a</think> 4", R1_PROMPT, "prompt"),
    ("<think>a</think> 4", R1_PROMPT, "prompt"),
    ("a</think> 4", None, "assumed"),
    ("a</think> 4", "", "assumed"),
    ("a</think> 4", PLAIN_PROMPT, None),
    ("just an answer", None, None),
]


@pytest.mark.parametrize(("completion", "prompt", "opening"), OPENINGS)
def test_opening_is_reported(completion: str, prompt: str | None, opening: str | None) -> None:
    assert score_format(completion, prompt, FormatConfig())[1]["format_opening"] == opening


@pytest.mark.parametrize(("completion", "prompt", "expected"), THINK_CASES + THINK_ANSWER_CASES[:4])
def test_regions_given_agree(completion: str, prompt: str | None, expected: str) -> None:
    """Passing precomputed regions gives the same verdict as letting score_format read the prompt."""
    config = FormatConfig(mode="think")
    regions = split_regions(completion, prompt)
    assert score_format(completion, prompt, config, regions=regions) == score_format(
        completion, prompt, config
    )


# every check name is reachable and documented
@pytest.mark.parametrize("check", CHECKS)
def test_every_check_is_exercised(check: str) -> None:
    expected = {case[2] for case in THINK_CASES + THINK_ANSWER_CASES}
    assert check in expected


def test_check_format_is_pure_on_huge_input() -> None:
    completion = "<think>" + "step. " * 200_000 + "</think> 4"
    assert check_format(completion, prefilled=False) == "ok"
