"""DeepSeek-R1's rule-based rewards: math accuracy, ``<think>`` format, language consistency and code tests.

Pure library: no web framework, no HTTP client, no torch. The entry points are :func:`score` for a batch and
:func:`score_item` for one item; each component is also usable alone.
"""

from rewards.code import CODE_OUTCOMES, sandbox_status
from rewards.config import (
    AccuracyConfig,
    CodeConfig,
    CodeLimits,
    ConfigError,
    FormatConfig,
    LanguageConfig,
    RewardConfig,
)
from rewards.registry import has_reference, score, score_item, timed_out_result, weighted_reward
from rewards.types import OUTCOMES, Item, ItemResult

__all__ = [
    "CODE_OUTCOMES",
    "OUTCOMES",
    "AccuracyConfig",
    "CodeConfig",
    "CodeLimits",
    "ConfigError",
    "FormatConfig",
    "Item",
    "ItemResult",
    "LanguageConfig",
    "RewardConfig",
    "has_reference",
    "sandbox_status",
    "score",
    "score_item",
    "timed_out_result",
    "weighted_reward",
]
