"""Light client of the reward service: typed items and results, sync and async clients, one exception tree.

Importing this package imports httpx and the standard library only (never torch); the GRPO trainer lives in
``trainer_client.grpo`` and the trainer adapters in ``trainer_client.integrations``, both imported on demand.

Example:
    >>> from trainer_client import RewardClient, ScoreItem
    >>> with RewardClient(base_url="http://127.0.0.1:8000") as client:  # doctest: +SKIP
    ...     client.score([ScoreItem(completion="<think>2+2=4</think> \\\\boxed{4}", answer="4")])[0].reward
    1.6
"""

from trainer_client.client import AsyncRewardClient, RetryPolicy, RewardClient
from trainer_client.errors import (
    AuthenticationError,
    BadRequestError,
    HTTPStatusError,
    PayloadTooLargeError,
    ProtocolError,
    RewardServiceError,
    ServiceUnavailableError,
    TransportError,
)
from trainer_client.types import RewardsSpec, ScoreItem, ScoreResult, rewards_spec

__all__ = [
    "AsyncRewardClient",
    "AuthenticationError",
    "BadRequestError",
    "HTTPStatusError",
    "PayloadTooLargeError",
    "ProtocolError",
    "RetryPolicy",
    "RewardClient",
    "RewardServiceError",
    "RewardsSpec",
    "ScoreItem",
    "ScoreResult",
    "ServiceUnavailableError",
    "TransportError",
    "rewards_spec",
]
