"""The library's input and output records, mirroring API.md's item and result objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# details.outcome values of the accuracy check (API.md).
OUTCOMES: tuple[str, ...] = (
    "equivalent",
    "not_equivalent",
    "no_answer",
    "ambiguous",
    "gold_unparseable",
    "timeout",
    "no_reference",
)


@dataclass(frozen=True, slots=True)
class Item:
    """One completion to score.

    Example:
        >>> Item(completion="<think>2+2</think> \\\\boxed{4}", answer="4").answer
        '4'
    """

    completion: str
    prompt: str | None = None
    answer: str | list[str] | None = None  # a list: any one of several acceptable answers
    lang: str | None = None
    id: str | None = None
    group: str | None = None
    tests: Any = None  # the wire ``tests`` object of a code item (checked by rewards.code.spec)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Item:
        """Build from a wire item (already validated by the caller)."""
        return cls(
            completion=data["completion"],
            prompt=data.get("prompt"),
            answer=data.get("answer"),
            lang=data.get("lang"),
            id=data.get("id"),
            group=data.get("group"),
            tests=data.get("tests"),
        )


@dataclass(slots=True)
class ItemResult:
    """One item's result: the weighted ``reward``, per-component ``scores``, ``details`` and ``error``."""

    id: str | None = None
    reward: float | None = None
    scores: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form (API.md's result object)."""
        return {
            "id": self.id,
            "reward": self.reward,
            "scores": self.scores,
            "details": self.details,
            "error": self.error,
        }

    @classmethod
    def failed(cls, item_id: str | None, code: str, message: str) -> ItemResult:
        """A result for an item that could not be scored."""
        return cls(id=item_id, reward=None, scores={}, details={}, error={"code": code, "message": message})
