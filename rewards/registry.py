"""Compose the reward components into API.md's result: ``score(items, config) -> results``.

Each component is a function ``(item, regions, config) -> (score, details)``; this module runs the ones the
config asks for, merges their details and computes the weighted total. A component that raises does not
take the item down with it: the item gets an ``internal_error`` of its own and the batch goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, cast

from rewards.accuracy import score_accuracy
from rewards.code import score_code
from rewards.config import AccuracyConfig, CodeConfig, FormatConfig, LanguageConfig, RewardConfig
from rewards.explain import explain
from rewards.format import score_format
from rewards.language import score_language
from rewards.regions import Regions, split_regions
from rewards.types import Item, ItemResult

logger = logging.getLogger(__name__)

Score = tuple[float | None, dict[str, Any]]
Component = Callable[[Item, Regions, Any], Score]


def _accuracy(item: Item, regions: Regions, config: AccuracyConfig) -> Score:
    # Any: a list of acceptable answers is handled by the accuracy module (API.md's list references)
    return score_accuracy(regions.answer, cast(Any, item.answer), config, prompt=item.prompt)


def _format(item: Item, regions: Regions, config: FormatConfig) -> Score:
    return score_format(item.completion, item.prompt, config, regions=regions)


def _language(item: Item, regions: Regions, config: LanguageConfig) -> Score:
    return score_language(regions, item.lang, item.prompt, config)


def _code(item: Item, regions: Regions, config: CodeConfig) -> Score:
    return score_code(regions.answer, item.tests, config)


REGISTRY: dict[str, Component] = {
    "accuracy": _accuracy,
    "format": _format,
    "language": _language,
    "code": _code,
}
# Components whose null makes the reward null when they are weighted: a judgement was due and could not be
# made (a time limit, an unparseable reference, invalid tests, no sandbox). Language's null (no target) is not.
_JUDGED: frozenset[str] = frozenset({"accuracy", "code"})


def weighted_reward(
    scores: dict[str, float | None], config: RewardConfig, details: dict[str, Any] | None = None
) -> float | None:
    """API.md's ``reward``: the weighted sum of the non-null scores, or ``None`` when accuracy or code is
    weighted and null. An accuracy that is null only because the item has no reference
    (``details["outcome"] == "no_reference"``) is left out instead: the other components still count.

    Example:
        >>> weighted_reward({"accuracy": 1.0, "format": 1.0, "language": None}, RewardConfig())
        1.5
        >>> weighted_reward({"accuracy": None, "format": 1.0}, RewardConfig(), {"outcome": "no_reference"})
        0.5
    """
    no_reference = details is not None and details.get("outcome") == "no_reference"
    total = 0.0
    for name, value in scores.items():
        part = getattr(config, name)
        if value is None:
            if name in _JUDGED and part.weight != 0 and not (name == "accuracy" and no_reference):
                return None
            continue
        total += part.weight * value
    return total


def has_reference(answer: str | list[str] | None) -> bool:
    """Whether an item carries a reference answer (``None``, blank text and an empty list do not).

    Example:
        >>> has_reference(""), has_reference(["", "4"]), has_reference([])
        (False, True, False)
    """
    if isinstance(answer, list):
        return any(isinstance(a, str) and a.strip() for a in answer)
    return answer is not None and bool(answer.strip())


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
            if part is None or (name == "code" and item.tests is None):
                continue  # not requested, or not a code item
            value, info = component(item, regions, part)
            scores[name] = value
            details.update(info)
        if config.explain:
            details["explanation"] = _explanation(item, config)
        reward = weighted_reward(scores, config, details)
        return ItemResult(id=item.id, reward=reward, scores=scores, details=details)
    except Exception as exc:  # one item's failure must never fail the batch
        logger.exception("scoring failed for item %r", item.id)
        return ItemResult.failed(item.id, "internal_error", f"{type(exc).__name__} while scoring this item")


def _explanation(item: Item, config: RewardConfig) -> dict[str, Any]:
    try:
        return explain(item, config)
    except Exception as exc:  # an explanation must never cost the item its scores
        logger.exception("explaining item %r failed", item.id)
        return {"error": f"{type(exc).__name__} while explaining this item"}


def timed_out_result(item: Item, config: RewardConfig | None = None) -> ItemResult:
    """The result for an item whose accuracy check ran past its time limit: ``accuracy`` is null with
    ``details.outcome = "timeout"``; the other components are still scored (format and language are cheap,
    code runs under its own limits). An item without a reference had no accuracy check to blame: it is
    scored as usual.

    Example:
        >>> timed_out_result(Item("<think>x</think> 4", answer="4")).scores["accuracy"] is None
        True
    """
    config = config or RewardConfig()
    if config.accuracy is None or not has_reference(item.answer):
        return score_item(item, config)
    partial = score_item(item, replace(config, accuracy=None))
    if partial.error is not None:
        return partial
    scores: dict[str, float | None] = {"accuracy": None, **partial.scores}
    details = {"outcome": "timeout", "extracted_answer": None, **partial.details}
    return ItemResult(
        id=item.id, reward=weighted_reward(scores, config, details), scores=scores, details=details
    )


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
