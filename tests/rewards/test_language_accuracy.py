"""Language consistency against true shares known by construction (tests/rewards/language_cases.py)."""

from __future__ import annotations

import pytest

from rewards.config import LanguageConfig
from rewards.language import score_language
from rewards.regions import Regions
from tests.rewards.language_cases import CASES, TARGETS, Case

CONFIG = LanguageConfig()


def share(case: Case) -> float:
    value, _ = score_language(Regions(False, True, 1, 1, case.reasoning, " 4"), case.target, None, CONFIG)
    assert value is not None
    return value


# ---------------------------------------------------------------------------------------------------------
# The tables cover every family of issue 16 for every language of the built-in task (and ru, ar, ko)
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["merge", "number"])
@pytest.mark.parametrize("target", TARGETS)
def test_tables_cover_family_and_target(family: str, target: str) -> None:
    assert any(case.family == family and case.target == target for case in CASES)


@pytest.mark.parametrize("family", ["switch", "units", "clean"])
def test_tables_cover_other_families(family: str) -> None:
    targets = {case.target for case in CASES if case.family == family}
    assert targets >= ({"zh", "ko"} if family == "units" else {"zh", "fr", "de", "es", "ru", "ar", "ko"})


def test_case_names_are_unique() -> None:
    assert len({case.name for case in CASES}) == len(CASES)


# ---------------------------------------------------------------------------------------------------------
# Each case close to its true share; all of them together within issue 16's bound
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_share_is_close_to_truth(case: Case) -> None:
    assert abs(share(case) - case.true_share) <= 0.1


def test_mean_absolute_error() -> None:
    errors = [abs(share(case) - case.true_share) for case in CASES]
    assert sum(errors) / len(errors) <= 0.02
    assert sum(error > 0.15 for error in errors) == 0
