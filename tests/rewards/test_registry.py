"""Composition of the components into API.md's result object."""

from __future__ import annotations

import pytest

from rewards import Item, RewardConfig, score, score_item, timed_out_result, weighted_reward
from rewards.config import AccuracyConfig, FormatConfig, LanguageConfig

DEFAULT = RewardConfig()
ACC_ONLY = RewardConfig(format=None, language=None)
ACC_ZERO = RewardConfig(accuracy=AccuracyConfig(weight=0.0))

# (scores, config, expected reward)
WEIGHT_CASES = [
    ({"accuracy": 1.0, "format": 1.0, "language": 1.0}, DEFAULT, 1.6),
    ({"accuracy": 0.0, "format": 1.0, "language": 0.5}, DEFAULT, 0.55),
    ({"accuracy": 1.0, "format": 0.0, "language": None}, DEFAULT, 1.0),
    ({"accuracy": None, "format": 1.0, "language": 1.0}, DEFAULT, None),
    ({"accuracy": None, "format": 1.0, "language": 1.0}, ACC_ZERO, 0.6),
    ({"accuracy": 1.0}, ACC_ONLY, 1.0),
    ({"format": 1.0}, RewardConfig(accuracy=None, format=FormatConfig(weight=2.0), language=None), 2.0),
    ({"language": 0.25}, RewardConfig(accuracy=None, format=None, language=LanguageConfig(weight=4.0)), 1.0),
]


@pytest.mark.parametrize(("scores", "config", "expected"), WEIGHT_CASES)
def test_weighted_reward(
    scores: dict[str, float | None], config: RewardConfig, expected: float | None
) -> None:
    got = weighted_reward(scores, config)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


THINK = "<think>\nTwo plus two is four. That is simple addition.\n</think>\n"

# (item, config, expected scores subset, expected outcome)
ITEM_CASES = [
    (Item(THINK + "\\boxed{4}", answer="4"), DEFAULT, {"accuracy": 1.0, "format": 1.0}, "equivalent"),
    (Item(THINK + "\\boxed{5}", answer="4"), DEFAULT, {"accuracy": 0.0, "format": 1.0}, "not_equivalent"),
    (Item(THINK + "\\boxed{4}"), DEFAULT, {"accuracy": None, "format": 1.0}, "no_reference"),
    (Item("<think>\\boxed{4}", answer="4"), DEFAULT, {"accuracy": 0.0, "format": 0.0}, "no_answer"),
    (Item(THINK + "\\boxed{4}", answer="4"), ACC_ONLY, {"accuracy": 1.0}, "equivalent"),
]


@pytest.mark.parametrize(("item", "config", "expected", "outcome"), ITEM_CASES)
def test_score_item(
    item: Item, config: RewardConfig, expected: dict[str, float | None], outcome: str
) -> None:
    result = score_item(item, config)
    assert result.error is None
    for name, value in expected.items():
        assert result.scores[name] == value
    assert set(result.scores) == {
        n for n in ("accuracy", "format", "language") if getattr(config, n) is not None
    }
    assert result.details["outcome"] == outcome
    assert result.reward == weighted_reward(result.scores, config, result.details)


def test_batch_keeps_order_and_ids() -> None:
    items = [Item(THINK + f"\\boxed{{{n}}}", answer="3", id=f"i{n}") for n in range(6)]
    results = score(items)
    assert [r.id for r in results] == [f"i{n}" for n in range(6)]
    assert [r.scores["accuracy"] for r in results] == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0]


def test_timed_out_result_keeps_cheap_components() -> None:
    result = timed_out_result(Item(THINK + "\\boxed{4}", answer="4", id="x"))
    assert result.id == "x"
    assert result.scores["accuracy"] is None
    assert result.scores["format"] == 1.0
    assert result.details["outcome"] == "timeout"
    assert result.reward is None


def test_results_are_json_shaped() -> None:
    import json

    payload = score_item(Item(THINK + "\\boxed{4}", answer="4", id="a")).to_dict()
    assert set(payload) == {"id", "reward", "scores", "details", "error"}
    json.dumps(payload)
