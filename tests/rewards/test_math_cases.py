"""The accuracy checker against the table of math cases in :mod:`tests.rewards.math_cases`."""

from __future__ import annotations

from collections import Counter

import pytest

import rewards
from tests.rewards.math_cases import CASES, SECTIONS, MathCase

CONFIG = rewards.RewardConfig()

# The accuracy score each outcome must come with (gold_unparseable follows the config: null by default).
SCORE_OF: dict[str, float | None] = {
    "equivalent": 1.0,
    "not_equivalent": 0.0,
    "no_answer": 0.0,
    "ambiguous": 0.0,
    "gold_unparseable": None,
    "no_reference": None,
}

# Every answer form issue 2 and API.md name must have its own section.
REQUIRED_SECTIONS = (
    "integers",
    "negative numbers",
    "thousands separators",
    "decimals",
    "fractions",
    "mixed numbers",
    "percentages",
    "scientific notation",
    "tiny values",
    "radicals",
    "pi",
    "powers",
    "factorials",
    "polynomials",
    "sign-dependent expressions",
    "small-value traps",
    "functions",
    "equations",
    "inequalities",
    "sets",
    "plus minus",
    "intervals",
    "tuples",
    "matrices",
    "complex numbers",
    "units",
    "multiple choice",
    "plain text",
    "extraction",
    "answer regions",
    "ambiguity",
    "partial answers",
    "tolerance",
    "every option",
    # issue 10: each family as rows in both directions (the farmable form refused, the right form accepted)
    "percent readings",
    "ellipsis",
    "hedges without a box",
    "decimal commas",
    "references with several boxes",
    "answers in parts",
    "final-answer sentence",
    "named quantities",
    "number words",
    "masked reference forms",
    "approximations and matrices",
)


def _case_id(index: int, case: MathCase) -> str:
    return f"{case.section.replace(' ', '_')}-{index}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(i, c) for i, c in enumerate(CASES)])
def test_math_case(case: MathCase) -> None:
    result = rewards.score_item(
        rewards.Item(completion=case.completion, prompt=case.prompt, answer=case.gold), CONFIG
    )
    assert result.error is None, result.error
    outcome = result.details.get("outcome")
    assert outcome == case.expected, (
        f"gold={case.gold!r} completion={case.completion[-120:]!r} -> {outcome!r} "
        f"(extracted {result.details.get('extracted_answer')!r}), expected {case.expected!r}"
    )
    assert result.scores["accuracy"] == SCORE_OF[case.expected]


def test_table_shape() -> None:
    counts = Counter(case.expected for case in CASES)
    assert len(CASES) >= 300
    not_equivalent = counts["not_equivalent"] + counts["no_answer"] + counts["ambiguous"]
    assert not_equivalent >= counts["equivalent"], counts
    assert counts["not_equivalent"] >= counts["equivalent"], counts
    assert set(counts) <= set(SCORE_OF), counts
    assert set(REQUIRED_SECTIONS) <= set(SECTIONS), set(REQUIRED_SECTIONS) - set(SECTIONS)
    per_section = Counter(case.section for case in CASES)
    thin = {name: n for name, n in per_section.items() if n < 2 and name != "no reference"}
    assert not thin, thin
    # Every section but "no reference" holds both a right and a wrong answer.
    for name in REQUIRED_SECTIONS:
        outcomes = {case.expected for case in CASES if case.section == name}
        assert "equivalent" in outcomes and outcomes - {"equivalent"}, name


def test_table_has_no_duplicates() -> None:
    keys = [(case.gold, case.completion, case.prompt) for case in CASES]
    duplicated = [key for key, n in Counter(keys).items() if n > 1]
    assert not duplicated, duplicated
