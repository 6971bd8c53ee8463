"""Compose the reward components into API.md's result: ``score(items, config) -> results``.

Each component is a function ``(item, regions, config) -> (score, details)``; this module runs the ones the
config asks for, merges their details and computes the weighted total. A component that raises does not
take the item down with it: the item gets an ``internal_error`` of its own and the batch goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from rewards.accuracy import score_accuracy
from rewards.config import AccuracyConfig, FormatConfig, LanguageConfig, RewardConfig
from rewards.format import score_format
from rewards.language import score_language
from rewards.regions import Regions, split_regions
from rewards.types import Item, ItemResult

logger = logging.getLogger(__name__)

Score = tuple[float | None, dict[str, Any]]
Component = Callable[[Item, Regions, Any], Score]


def _accuracy(item: Item, regions: Regions, config: AccuracyConfig) -> Score:
    return score_accuracy(regions.answer, item.answer, config, prompt=item.prompt)


def _format(item: Item, regions: Regions, config: FormatConfig) -> Score:
    return score_format(item.completion, item.prompt, config, regions=regions)


def _language(item: Item, regions: Regions, config: LanguageConfig) -> Score:
    return score_language(regions, item.lang, item.prompt, config)


REGISTRY: dict[str, Component] = {
    "accuracy": _accuracy,
    "format": _format,
    "language": _language,
}


def weighted_reward(scores: dict[str, float | None], config: RewardConfig) -> float | None:
    """API.md's ``reward``: the weighted sum of the non-null scores, or ``None`` when accuracy is weighted
    and null.

    Example:
        >>> weighted_reward({"accuracy": 1.0, "format": 1.0, "language": None}, RewardConfig())
        1.5
    """
    total = 0.0
    for name, value in scores.items():
        part = getattr(config, name)
        if value is None:
            if name == "accuracy" and part.weight != 0:
                return None
            continue
        total += part.weight * value
    return total


def score_item(item: Item, config: RewardConfig | None = None) -> ItemResult:
    """Score one item with every component the config asks for.

    Example:
        >>> r = score_item(Item(completion="<think>2+2=4</think> \\\\boxed{4}", answer="4"))
        >>> r.scores["accuracy"], r.scores["format"]
        (1.0, 1.0)
    """
    config = config or RewardConfig()
    try:
        regions = split_regions(item.completion, item.prompt)
        scores: dict[str, float | None] = {}
        details: dict[str, Any] = {}
        for name, component in REGISTRY.items():
            part = getattr(config, name)
            if part is None:
                continue
            value, info = component(item, regions, part)
            scores[name] = value
            details.update(info)
        return ItemResult(id=item.id, reward=weighted_reward(scores, config), scores=scores, details=details)
    except Exception as exc:  # one item's failure must never fail the batch
        logger.exception("scoring failed for item %r", item.id)
        return ItemResult.failed(item.id, "internal_error", f"{type(exc).__name__} while scoring this item")


def timed_out_result(item: Item, config: RewardConfig | None = None) -> ItemResult:
    """The result for an item whose accuracy check ran past its time limit: ``accuracy`` is null with
    ``details.outcome = "timeout"``; the cheap components (format, language) are still scored.

    Example:
        >>> timed_out_result(Item("<think>x</think> 4", answer="4")).scores["accuracy"] is None
        True
    """
    config = config or RewardConfig()
    if config.accuracy is None:
        return score_item(item, config)
    partial = score_item(item, replace(config, accuracy=None))
    if partial.error is not None:
        return partial
    scores: dict[str, float | None] = {"accuracy": None, **partial.scores}
    details = {"outcome": "timeout", "extracted_answer": None, **partial.details}
    return ItemResult(id=item.id, reward=weighted_reward(scores, config), scores=scores, details=details)


def score(items: Iterable[Item] | Sequence[Item], config: RewardConfig | None = None) -> list[ItemResult]:
    """Score a batch; one result per item, in order.

    Gold answers are parsed once per distinct reference and identical (reference, answer) pairs are judged
    once, through the accuracy module's bounded caches.

    Example:
        >>> [r.scores["accuracy"] for r in score([Item("\\\\boxed{1}", answer="1"), Item("\\\\boxed{2}", answer="1")])]
        [1.0, 0.0]
    """
    config = config or RewardConfig()
    return [score_item(item, config) for item in items]
