"""Regressions named by where they came from: the wrong verdicts of the graders in ``docs/COMPARISON.md``.

Each row is a pair that Math-Verify 0.9.0 (as TRL and open-r1 call it), Qwen2.5-Math's grader, verl's
prime_math or verl's math_dapo judges wrongly, with the verdict docs/API.md requires of ours.
"""

from __future__ import annotations

import pytest

import rewards

CONFIG = rewards.RewardConfig()
R1_PROMPT = "<｜User｜>Compute 2 + 2.<｜Assistant｜><think>\n"

# (gold, completion, prompt, expected outcome)
Row = tuple[str, str, str | None, str]

ANCHOR_CASES: list[Row] = [
    # ---- Math-Verify 0.9.0, "Wrong verdicts seen": tiny values equal under absolute 6-digit rounding
    ("10^{-20}", r"\boxed{10^{-21}}", None, "not_equivalent"),
    ("10^{-21}", r"The probability is $\boxed{10^{-20}}$.", None, "not_equivalent"),
    ("1/2^99", r"\boxed{1/2^98}", None, "not_equivalent"),
    (r"\frac{1}{2^{99}}", r"\boxed{\frac{1}{2^{98}}}", None, "not_equivalent"),
    (r"\frac{1}{2^{99}}", r"\boxed{\frac{1}{2^{99}}}", None, "equivalent"),
    # ---- Math-Verify 0.9.0: a boxed \mathrm{e} cut short so that a prefix matches
    ("e", r"\boxed{\mathrm{e}^{2}}", None, "not_equivalent"),
    ("e", r"\boxed{\mathrm{e}^{-1}}", None, "not_equivalent"),
    ("e^{2}", r"\boxed{\mathrm{e}^{2}}", None, "equivalent"),
    # ---- Math-Verify 0.9.0: 1.0e-7 read as 1.0*e - 7 (false positive against e - 7, false negative below)
    ("e - 7", r"\boxed{1.0e-7}", None, "not_equivalent"),
    ("10^{-7}", r"\boxed{1.0e-7}", None, "equivalent"),
    ("0.0000001", r"The rate constant is $1.0e-7$.", None, "equivalent"),
    # ---- Math-Verify 0.9.0: a plain mixed number 4 4/9 read as 8/9
    (r"\frac{8}{9}", r"\boxed{4 4/9}", None, "not_equivalent"),
    (r"\frac{40}{9}", r"\boxed{4 4/9}", None, "equivalent"),
    (r"4\frac{4}{9}", r"\boxed{\frac{40}{9}}", None, "equivalent"),
    # ---- Math-Verify 0.9.0: gold given without $ or \boxed collapsing to one number (2\sqrt{2} -> 2)
    (r"2\sqrt{2}", r"\boxed{2}", None, "not_equivalent"),
    (r"2\sqrt{2}", r"\boxed{2\sqrt{2}}", None, "equivalent"),
    (r"3\pi", r"\boxed{3}", None, "not_equivalent"),
    (r"\frac{\sqrt{3}}{2}", r"\boxed{\frac{1}{2}}", None, "not_equivalent"),
    # ---- Math-Verify, newer upstream test files it fails: trailing punctuation inside math
    (r"\frac{1}{3}", r"So the probability is $\frac{1}{3}.$", None, "equivalent"),
    (r"\frac{1}{3}", r"$\boxed{\frac{1}{3}.}$", None, "equivalent"),
    ("5", r"The total is $5,$ as required.", None, "equivalent"),
    # ---- Math-Verify 0.9.0 as TRL calls it: a \boxed{4} inside an unfinished <think>
    ("4", "<think>2 + 2 = \\boxed{4}", None, "no_answer"),
    ("4", "2 + 2 = \\boxed{4}", R1_PROMPT, "no_answer"),
    # ---- Math-Verify 0.9.0 as TRL calls it: \boxed{5 = 4} for gold 4 (right-hand side only)
    ("4", r"\boxed{5 = 4}", None, "not_equivalent"),
    # ---- Math-Verify 0.9.0 as TRL calls it: a partial answer 1728 for the gold "1331 and 1728"
    ("1331 and 1728", r"\boxed{1728}", None, "not_equivalent"),
    ("1331 and 1728", r"\boxed{1331}", None, "not_equivalent"),
    # ---- Qwen2.5-Math math_equal and verl prime_math: relative tolerance and percent rescaling (3 for 300)
    ("300", r"\boxed{3}", None, "not_equivalent"),
    ("3", r"\boxed{300}", None, "not_equivalent"),
    ("3", r"\boxed{0.03}", None, "not_equivalent"),
    ("10000", r"\boxed{10001}", None, "not_equivalent"),
    ("300", r"\boxed{300}", None, "equivalent"),
    # ---- verl math_dapo: only the text after the last "=" is kept
    ("4", r"\boxed{x = 3 = 4}", None, "not_equivalent"),
    ("4", r"\boxed{2 + 2 = 5 = 4}", None, "not_equivalent"),
    ("4", r"\boxed{x = 4}", None, "equivalent"),
    # ---- R1 chat template (prefilled <think>): checks anchored at ^<think> give 0 to right answers
    ("4", "2 + 2 = 4.\n</think>\n\n\\boxed{4}", R1_PROMPT, "equivalent"),
]


@pytest.mark.parametrize(("gold", "completion", "prompt", "expected"), ANCHOR_CASES)
def test_anchor_regression(gold: str, completion: str, prompt: str | None, expected: str) -> None:
    result = rewards.score_item(rewards.Item(completion=completion, prompt=prompt, answer=gold), CONFIG)
    assert result.error is None, result.error
    assert result.details.get("outcome") == expected, result.details
    assert result.scores["accuracy"] == (1.0 if expected == "equivalent" else 0.0)
