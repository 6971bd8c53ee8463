"""Reward configuration from the wire's ``rewards`` block."""

from __future__ import annotations

from typing import Any

import pytest

from rewards.config import AccuracyConfig, ConfigError, FormatConfig, LanguageConfig, RewardConfig

VALID_CASES: list[tuple[dict[str, Any] | None, RewardConfig]] = [
    (None, RewardConfig()),
    ({}, RewardConfig(accuracy=None, format=None, language=None)),
    ({"accuracy": {"weight": 1.0}}, RewardConfig(format=None, language=None)),
    (
        {"accuracy": {"weight": 2}},
        RewardConfig(accuracy=AccuracyConfig(weight=2.0), format=None, language=None),
    ),
    (
        {"format": {"weight": 0.5, "mode": "think_answer"}},
        RewardConfig(accuracy=None, format=FormatConfig(mode="think_answer"), language=None),
    ),
    (
        {"accuracy": {"unparseable_gold": "zero"}},
        RewardConfig(AccuracyConfig(unparseable_gold="zero"), None, None),
    ),
    ({"language": {"weight": 0}}, RewardConfig(None, None, LanguageConfig(weight=0.0))),
]


@pytest.mark.parametrize(("block", "expected"), VALID_CASES)
def test_from_dict(block: dict[str, Any] | None, expected: RewardConfig) -> None:
    assert RewardConfig.from_dict(block) == expected


INVALID_CASES: list[tuple[Any, str]] = [
    ({"speed": {}}, "rewards.speed"),
    ({"accuracy": 1.0}, "rewards.accuracy"),
    ({"accuracy": {"weight": "high"}}, "rewards.accuracy.weight"),
    ({"accuracy": {"weight": True}}, "rewards.accuracy.weight"),
    ({"accuracy": {"weight": float("nan")}}, "rewards.accuracy.weight"),
    ({"accuracy": {"weight": 1e300}}, "rewards.accuracy.weight"),
    ({"accuracy": {"unparseable_gold": "maybe"}}, "rewards.accuracy.unparseable_gold"),
    ({"format": {"mode": "xml"}}, "rewards.format.mode"),
    ({"format": {"colour": "red"}}, "rewards.format.colour"),
    ({"language": {"min_prompt_words": -1}}, "rewards.language.min_prompt_words"),
    ({"language": {"min_prompt_words": 2.5}}, "rewards.language.min_prompt_words"),
    ([1, 2], "rewards"),
]


@pytest.mark.parametrize(("block", "field"), INVALID_CASES)
def test_from_dict_names_the_field(block: Any, field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        RewardConfig.from_dict(block)


def test_round_trip_and_hashable() -> None:
    config = RewardConfig.from_dict({"accuracy": {"weight": 1.0}, "format": {"mode": "think_answer"}})
    assert RewardConfig.from_dict(config.to_dict()) == config
    assert hash(config) == hash(RewardConfig.from_dict(config.to_dict()))


def test_with_weights_touches_only_requested_components() -> None:
    config = RewardConfig(language=None).with_weights(accuracy=2.0, language=5.0)
    assert config.accuracy is not None and config.accuracy.weight == 2.0
    assert config.language is None
