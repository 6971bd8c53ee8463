"""Farming attempts: text built to win target-language credit it has not written. None may score above its
true share by more than 0.1 (issue 16)."""

from __future__ import annotations

import pytest

from rewards.config import LanguageConfig
from rewards.language import score_language
from rewards.regions import Regions
from tests.rewards.language_cases import LONG, NUMBER_END, SHORT, Case, build

CONFIG = LanguageConfig()

# Target-language crumbs a policy could sprinkle: one-word sentences and bare connectives.
CRUMBS: dict[str, tuple[str, ...]] = {
    "fr": ("Donc.", "Oui.", "Alors.", "Bon."),
    "de": ("Also.", "Gut.", "Ja.", "Dann."),
    "es": ("Bueno.", "Entonces.", "Sí.", "Vale."),
    "zh": ("好。", "所以。", "对。", "那么。"),
    "ru": ("Итак.", "Да.", "Хорошо.", "Значит."),
    "ar": ("إذن.", "نعم.", "حسناً.", "جيد."),
    "ko": ("네.", "좋아요.", "그러므로.", "자."),
    "en": ("So.", "Okay.", "Right.", "Well."),
}
TARGETS = tuple(CRUMBS)


def foreign(target: str) -> str:
    return "zh" if target == "en" else "en"


def attempts(target: str) -> list[Case]:
    """Farming shapes for one target, each with its true share."""
    other = foreign(target)
    longs = LONG[other]
    out = []
    for joiner in (" ", "\n"):
        parts: list[tuple[str, str]] = []
        for i, long in enumerate(longs):  # a short target sentence before each long foreign one
            parts += [(target, SHORT[target][i % len(SHORT[target])]), (other, long)]
        out.append(build("short-before", "farm", target, parts, joiner))
        parts = []
        for i, long in enumerate(longs):  # and after it
            parts += [(other, long), (target, SHORT[target][i % len(SHORT[target])])]
        out.append(build("short-after", "farm", target, parts, joiner))
        parts = []
        for i, long in enumerate(longs):  # one-word target sentences around every foreign one
            crumb = CRUMBS[target][i % len(CRUMBS[target])]
            parts += [(target, crumb), (other, long), (target, crumb)]
        out.append(build("crumbs", "farm", target, parts, joiner))
    parts = []
    for i, long in enumerate(longs):  # target sentences ending in a number, then a foreign one
        parts += [(target, NUMBER_END[target][i % len(NUMBER_END[target])]), (other, long)]
    out.append(build("number-end", "farm", target, parts))
    parts = []
    for i, long in enumerate(longs):  # a target connective glued to the start of each foreign sentence
        crumb = CRUMBS[target][i % len(CRUMBS[target])].rstrip(".。")
        parts += [(target, crumb + ","), (other, long)]
    out.append(build("glued-connective", "farm", target, parts))
    parts = [(other, long) for long in longs] + [(target, SHORT[target][0]), (target, SHORT[target][1])]
    out.append(build("tail", "farm", target, parts))  # a short target tail after a long foreign reasoning
    return out


CASES = [(target, case) for target in TARGETS for case in attempts(target)]


@pytest.mark.parametrize(
    ("target", "case"), CASES, ids=[f"{t}-{c.name}-{i}" for i, (t, c) in enumerate(CASES)]
)
def test_farming_gains_at_most_a_tenth(target: str, case: Case) -> None:
    value, _ = score_language(Regions(False, True, 1, 1, case.reasoning, " 4"), target, None, CONFIG)
    assert value is not None
    assert value - case.true_share <= 0.1


# English fillers for a non-English target are not target words: padding the reasoning with them lowers
# the share instead of being free.
@pytest.mark.parametrize("target", ["fr", "de", "es", "zh", "ru"])
def test_english_fillers_count_against_the_target(target: str) -> None:
    parts = []
    for long in LONG[target]:
        parts += [("en", "Wait, hmm."), (target, long), ("en", "Let me double-check.")]
    case = build("fillers", "farm", target, parts)
    value, _ = score_language(Regions(False, True, 1, 1, case.reasoning, " 4"), target, None, CONFIG)
    assert value is not None and value < 0.95 and abs(value - case.true_share) <= 0.05
