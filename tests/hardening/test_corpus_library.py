"""The scoring library, in process, against every case of the adversarial corpus.

Each case must come back within its own time limit, as data (no exception, no ``error``), with scores in
range, the required verdict where one is right, and without running any code it carries.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator

import pytest

import rewards
from tests.hardening.corpus import FAMILIES, PWNED_PATH, AdversarialCase, build_corpus

CONFIG = rewards.RewardConfig()
CORPUS = build_corpus()
SCORE_OF: dict[str, float | None] = {
    "equivalent": 1.0,
    "not_equivalent": 0.0,
    "no_answer": 0.0,
    "ambiguous": 0.0,
    "gold_unparseable": None,
    "no_reference": None,
}


def _ids() -> list[str]:
    seen: dict[str, int] = {}
    ids = []
    for case in CORPUS:
        seen[case.family] = seen.get(case.family, 0) + 1
        ids.append(f"{case.family}-{seen[case.family]}")
    return ids


@pytest.fixture(scope="module", autouse=True)
def _no_stale_marker() -> Iterator[None]:
    # A marker left by an earlier run would make every case fail; start from a clean slate.
    if os.path.exists(PWNED_PATH):
        os.remove(PWNED_PATH)
    yield


@pytest.mark.timeout(20)
@pytest.mark.parametrize("case", CORPUS, ids=_ids())
def test_adversarial_case(case: AdversarialCase) -> None:
    item = rewards.Item(completion=case.completion, prompt=case.prompt, answer=case.answer)
    result = rewards.score_item(item, CONFIG)

    assert not os.path.exists(PWNED_PATH), "a payload ran"
    assert result.error is None, result.error
    for name, value in result.scores.items():
        assert value is None or (math.isfinite(value) and 0.0 <= value <= 1.0), (name, value)
    assert result.scores["accuracy"] in (0.0, 1.0, None)
    outcome = result.details.get("outcome")
    assert outcome in rewards.OUTCOMES, outcome
    assert result.scores["accuracy"] == SCORE_OF.get(outcome, result.scores["accuracy"])
    json.dumps(result.details)  # details travel on the wire: plain JSON values only
    if case.expected_outcome is not None:
        extracted = result.details.get("extracted_answer")
        shown = extracted[:80] if isinstance(extracted, str) else extracted
        assert outcome == case.expected_outcome, f"got {outcome!r} (extracted {shown!r})"


def test_corpus_shape() -> None:
    assert len(CORPUS) >= 200
    per_family = {family: sum(case.family == family for case in CORPUS) for family in FAMILIES}
    assert all(n >= 3 for n in per_family.values()), per_family
    assert sum(case.expected_outcome is not None for case in CORPUS) >= 150
    assert sum(len(case.completion) >= 10 * 1024 * 1024 for case in CORPUS) >= 2
    assert sum(len(case.completion) >= 100_000 for case in CORPUS) >= 40
