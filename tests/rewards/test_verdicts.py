"""Issue 10's reading rules, module by module: list references, the prompt's percent reading, number words,
doubled backslashes and references that stay unreadable. The end-to-end rows of each family are in the case
table (``tests/rewards/math_cases.py``); these tables pin down the parts those rows rely on.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from rewards.accuracy import asks_for_percentage, cache_stats, clear_caches, score_accuracy
from rewards.config import AccuracyConfig
from rewards.math.normalize import undouble_backslashes
from rewards.math.words import number_from_words
from rewards.registry import score_item
from rewards.types import Item

CONFIG = AccuracyConfig()
UNREADABLE = r"2^{2^{2^{2^{2^{2}}}}}"  # refused by the text guards: never parsed

# ------------------------------------------------------------------------------------------ list references
# (answer region, reference or list of acceptable references, outcome): any one matching is right.
LIST_REFERENCES = [
    (r"\boxed{6}", ["3", "6"], "equivalent"),
    (r"\boxed{0.5}", [r"\frac{1}{2}", "50\\%"], "equivalent"),
    (r"\boxed{x = 6}", ("6", "six"), "equivalent"),
    (r"\boxed{4}", ["3", "6"], "not_equivalent"),
    (r"\boxed{3, 6}", ["3", "6"], "not_equivalent"),  # each element is one whole answer, not a part
    (r"\boxed{3} or \boxed{6}", ["3", "6"], "ambiguous"),
    (r"\boxed{4}", [UNREADABLE, "4"], "equivalent"),  # an unreadable element does not spoil the others
    (r"\boxed{5}", [UNREADABLE, "4"], "not_equivalent"),
    (r"\boxed{4}", [UNREADABLE], "gold_unparseable"),  # every element unreadable: as one unreadable gold
    (r"\boxed{4}", [UNREADABLE, r"2^{2^{2^{2^{2^{3}}}}}"], "gold_unparseable"),
    (r"\boxed{4}", [], "no_reference"),
    (r"\boxed{4}", ["", "  "], "no_reference"),
    ("no answer here", ["4"], "no_answer"),
    (r"\boxed{4}", "4", "equivalent"),  # a plain string is still one reference
]
SCORES = {
    "equivalent": 1.0,
    "not_equivalent": 0.0,
    "ambiguous": 0.0,
    "no_answer": 0.0,
    "gold_unparseable": None,
    "no_reference": None,
}


@pytest.mark.parametrize(("region", "reference", "outcome"), LIST_REFERENCES)
def test_list_references(region: str, reference: str | list[str] | tuple[str, ...], outcome: str) -> None:
    score, details = score_accuracy(region, reference, CONFIG)
    assert (score, details["outcome"]) == (SCORES[outcome], outcome), details
    json.dumps(details)


def test_list_reference_through_the_registry() -> None:
    item = Item.from_dict({"completion": "<think>3 or 6?</think> \\boxed{6}", "answer": ["3", "6"]})
    result = score_item(item)
    assert (result.scores["accuracy"], result.details["outcome"]) == (1.0, "equivalent")


def test_each_listed_reference_is_parsed_once() -> None:
    clear_caches()
    references = [r"\frac{1}{2}", "0.5", "x + 1"]
    for answer in ("0.5", "2", "0.5", "x+1"):
        score_accuracy(f"\\boxed{{{answer}}}", references, CONFIG)
    assert cache_stats()["gold"]["misses"] == len(references)


# ------------------------------------------------------------------------------------------ percent prompts
PROMPTS = [
    ("What percent of the class passed?", True),
    ("By what percentage did the price rise?", True),
    ("Express the answer as a percentage.", True),
    ("Give the probability in %.", True),
    ("<|im_start|>user\nWhat per cent of 80 is 20?<|im_end|>", True),
    ("A 20 percent tip is added to a $200 bill. How many dollars is the tip?", False),
    ("The price falls by 15 \\text{ percent}. What is the new price?", False),
    ("¿Qué porcentaje de los alumnos aprobó?", True),
    ("及格的学生占百分之几？", True),
    ("Die Jacke ist um 20 Prozent reduziert. Was kostet sie jetzt?", False),
    ("Compute 2 + 2.", False),
    ("", False),
    (None, False),
]


@pytest.mark.parametrize(("prompt", "asks"), PROMPTS)
def test_asks_for_percentage(prompt: str | None, asks: bool) -> None:
    assert asks_for_percentage(prompt) is asks


# (answer region, reference, prompt, outcome): x% is x/100 unless the prompt asks for a percentage.
PERCENT_BY_PROMPT = [
    (r"\boxed{25\%}", "25", "What percent of 40 is 10?", "equivalent"),
    (r"\boxed{25\%}", "25", "What is 10 divided by 40?", "not_equivalent"),
    (r"\boxed{25\%}", "0.25", "What is 10 divided by 40?", "equivalent"),
    (r"\boxed{25\%}", "0.25", "What percent of 40 is 10?", "not_equivalent"),  # one reading: 25
    (r"\boxed{25\%}", r"25\%", "What percent of 40 is 10?", "equivalent"),
    (r"\boxed{0.25\%}", r"25\%", "What percent of 40 is 10?", "not_equivalent"),
    (r"\boxed{25, 50\%}", "25, 50", "What percents are shown?", "equivalent"),
]


@pytest.mark.parametrize(("region", "reference", "prompt", "outcome"), PERCENT_BY_PROMPT)
def test_percent_reading_follows_the_prompt(region: str, reference: str, prompt: str, outcome: str) -> None:
    _, details = score_accuracy(region, reference, CONFIG, prompt=prompt)
    assert details["outcome"] == outcome, details


# ------------------------------------------------------------------------------------------ number words
NUMBER_WORDS = [
    ("forty two", Fraction(42)),
    ("Forty-Two", Fraction(42)),
    ("one hundred and five", Fraction(105)),
    ("a hundred", Fraction(100)),
    ("two thousand and twenty-six", Fraction(2026)),
    ("three million", Fraction(3_000_000)),
    ("minus seven", Fraction(-7)),
    ("zero", Fraction(0)),
    ("one half", Fraction(1, 2)),
    ("two thirds", Fraction(2, 3)),
    ("three quarters", Fraction(3, 4)),
    ("many", None),
    ("forty apples", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "value"), NUMBER_WORDS)
def test_number_words(text: str, value: Fraction | None) -> None:
    assert number_from_words(text) == value


# ------------------------------------------------------------------------------------------ doubled backslashes
DOUBLED = [
    ("\\\\frac{1}{2}", "\\frac{1}{2}"),
    ("\\\\begin{pmatrix}1 \\\\\\\\ 2\\\\end{pmatrix}", "\\begin{pmatrix}1 \\\\ 2\\end{pmatrix}"),
    (
        "\\begin{pmatrix}a\\\\b\\end{pmatrix}",
        "\\begin{pmatrix}a\\\\b\\end{pmatrix}",
    ),  # a single \begin: as is
    ("1 \\\\ 2", "1 \\\\ 2"),  # no doubled command: a row break, left alone
    ("\\frac{1}{2}", "\\frac{1}{2}"),
]


@pytest.mark.parametrize(("text", "undoubled"), DOUBLED)
def test_doubled_backslashes(text: str, undoubled: str) -> None:
    assert undouble_backslashes(text) == undoubled


# ------------------------------------------------------------------------------------------ unreadable references
# A reference that stays unreadable is judged only by its very text: a different answer is never a quiet 1.
UNREADABLE_REFERENCES = [
    (UNREADABLE, rf"\boxed{{{UNREADABLE}}}", "equivalent"),
    (UNREADABLE, r"\boxed{2^{2^{2^{2^{2^{3}}}}}}", "gold_unparseable"),
    (UNREADABLE, r"\boxed{65536}", "gold_unparseable"),
]


@pytest.mark.parametrize(("reference", "region", "outcome"), UNREADABLE_REFERENCES)
def test_unreadable_references_never_match_by_accident(reference: str, region: str, outcome: str) -> None:
    for rule in ("null", "zero"):
        score, details = score_accuracy(region, reference, AccuracyConfig(unparseable_gold=rule))
        assert details["outcome"] == outcome
        assert score != 1.0 or outcome == "equivalent"


# ------------------------------------------------------------------------------------------ matrix arithmetic
# (reference, boxed answer, outcome): evaluated within the bounds; sizes that do not fit, or a power past the
# bound, leave the reference unparseable (null), never matched by accident.
MATRIX_ARITHMETIC = [
    (
        r"\begin{pmatrix}1&2\end{pmatrix}\begin{pmatrix}3\\4\end{pmatrix}",
        r"\begin{pmatrix}11\end{pmatrix}",
        "equivalent",
    ),
    (r"\begin{pmatrix}x&0\\0&x\end{pmatrix}^{2}", r"\begin{pmatrix}x^2&0\\0&x^2\end{pmatrix}", "equivalent"),
    (
        r"\begin{pmatrix}x&0\\0&x\end{pmatrix}^{2}",
        r"\begin{pmatrix}2x&0\\0&2x\end{pmatrix}",
        "not_equivalent",
    ),
    (r"-\begin{pmatrix}1\\2\end{pmatrix}", r"\begin{pmatrix}-1\\-2\end{pmatrix}", "equivalent"),
    (
        r"\begin{pmatrix}1&2\end{pmatrix} + \begin{pmatrix}1\\2\end{pmatrix}",
        r"\begin{pmatrix}2&4\end{pmatrix}",
        "gold_unparseable",
    ),
    (
        r"\begin{pmatrix}1&1\\0&1\end{pmatrix}^{9}",
        r"\begin{pmatrix}1&9\\0&1\end{pmatrix}",
        "gold_unparseable",
    ),
]


@pytest.mark.parametrize(("reference", "answer", "outcome"), MATRIX_ARITHMETIC)
def test_matrix_arithmetic_in_references(reference: str, answer: str, outcome: str) -> None:
    _, details = score_accuracy(f"\\boxed{{{answer}}}", reference, CONFIG)
    assert details["outcome"] == outcome, details
