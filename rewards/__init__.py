"""DeepSeek-R1's rule-based rewards: math accuracy, ``<think>`` format and language consistency.

Pure library: no web framework, no HTTP client, no torch. The entry points are :func:`score` for a batch and
:func:`score_item` for one item; each component is also usable alone.
"""

from rewards.config import AccuracyConfig, ConfigError, FormatConfig, LanguageConfig, RewardConfig
from rewards.registry import score, score_item, timed_out_result, weighted_reward
from rewards.types import OUTCOMES, Item, ItemResult

__all__ = [
    "OUTCOMES",
    "AccuracyConfig",
    "ConfigError",
    "FormatConfig",
    "Item",
    "ItemResult",
    "LanguageConfig",
    "RewardConfig",
    "score",
    "score_item",
    "timed_out_result",
    "weighted_reward",
]
