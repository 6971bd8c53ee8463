"""Typed items and results of the wire contract (docs/API.md), with no dependency beyond the standard library."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trainer_client.errors import ProtocolError

ITEM_FIELDS: tuple[str, ...] = ("id", "prompt", "completion", "answer", "lang", "group", "tests")
COMPONENTS: tuple[str, ...] = ("accuracy", "format", "language", "code")

# A ``rewards`` block as API.md spells it: {"accuracy": {"weight": 1.0}, "format": {"weight": 0.5, ...}}.
RewardsSpec = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class ScoreItem:
    """One completion to score.

    Example:
        >>> ScoreItem(completion="<think>2+2</think> \\\\boxed{4}", answer="4").to_dict()
        {'completion': '<think>2+2</think> \\\\boxed{4}', 'answer': '4'}
    """

    completion: str
    prompt: str | None = None
    answer: str | Sequence[str] | None = None  # a list: several acceptable answers, any one is right
    lang: str | None = None
    id: str | None = None
    group: str | None = None
    tests: Mapping[str, Any] | None = None  # a code test spec: {"kind": ..., "cases": [...]}

    def to_dict(self) -> dict[str, Any]:
        """The wire form, without the fields left as ``None``."""
        out: dict[str, Any] = {"completion": self.completion}
        for name in ("prompt", "answer", "lang", "id", "group", "tests"):
            value = getattr(self, name)
            if value is not None:
                out[name] = _wire_value(name, value)
        return out


ItemLike = ScoreItem | Mapping[str, Any]


def item_to_dict(item: ItemLike) -> dict[str, Any]:
    """A :class:`ScoreItem` or a plain mapping as a wire item; ``None`` fields dropped, unknown keys refused.

    Example:
        >>> item_to_dict({"completion": "4", "answer": "4", "lang": None})
        {'completion': '4', 'answer': '4'}
        >>> item_to_dict({"completion": "4", "answer": ("4", "four")})
        {'completion': '4', 'answer': ['4', 'four']}
    """
    if isinstance(item, ScoreItem):
        return item.to_dict()
    if not isinstance(item, Mapping):
        raise TypeError(f"an item must be a ScoreItem or a mapping, not {type(item).__name__}")
    unknown = set(item) - set(ITEM_FIELDS)
    if unknown:
        raise ValueError(
            f"unknown item field {sorted(unknown)[0]!r}; expected some of {', '.join(ITEM_FIELDS)}"
        )
    if not isinstance(item.get("completion"), str):
        raise ValueError("an item needs a string 'completion'")
    out: dict[str, Any] = {}
    for key, value in item.items():
        if value is not None:
            out[key] = _wire_value(key, value)
    return out


def _wire_value(key: str, value: Any) -> Any:
    if key == "answer" and not isinstance(value, str) and isinstance(value, Sequence):
        if not value or not all(isinstance(a, str) for a in value):
            raise ValueError("item field 'answer' must be a string or a non-empty list of strings")
        return list(value)
    if key == "tests":
        if not isinstance(value, Mapping):
            raise ValueError(f"item field 'tests' must be a mapping, not {type(value).__name__}")
        return dict(value)
    if not isinstance(value, str):
        raise ValueError(f"item field {key!r} must be a string, not {type(value).__name__}")
    return value


@dataclass(slots=True)
class ScoreResult:
    """One item's result, as the service returned it.

    Attributes:
        id: the item's id (``None`` when the item had none).
        reward: weighted total, or ``None`` when accuracy is weighted and could not be judged.
        scores: per-component scores; a value is ``None`` when it cannot be judged.
        details: why: ``outcome``, ``extracted_answer``, ``format_check``, ...
        error: ``{"code", "message"}`` when the item could not be scored at all.

    Example:
        >>> r = ScoreResult(reward=1.5, scores={"accuracy": 1.0, "format": 1.0}, details={"outcome": "equivalent"})
        >>> r.ok, r.accuracy, r.outcome
        (True, 1.0, 'equivalent')
    """

    id: str | None = None
    reward: float | None = None
    scores: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: dict[str, str] | None = None

    @property
    def ok(self) -> bool:
        """True when the item was scored (no per-item error)."""
        return self.error is None

    @property
    def accuracy(self) -> float | None:
        """``scores["accuracy"]`` (``None`` when not requested or not judged)."""
        return self.scores.get("accuracy")

    @property
    def format(self) -> float | None:
        """``scores["format"]``."""
        return self.scores.get("format")

    @property
    def language(self) -> float | None:
        """``scores["language"]``."""
        return self.scores.get("language")

    @property
    def code(self) -> float | None:
        """``scores["code"]``: the share of a code item's tests its program passed (``None`` when not judged)."""
        return self.scores.get("code")

    @property
    def correctness(self) -> float | None:
        """The raw correctness: ``accuracy``, or for a code item (no reference, tests) its ``code`` score.

        Example:
            >>> ScoreResult(scores={"accuracy": None, "code": 1.0}, details={"outcome": "no_reference"}).correctness
            1.0
        """
        return self.accuracy if self.accuracy is not None else self.code

    @property
    def outcome(self) -> str | None:
        """``details["outcome"]``: what happened to the accuracy check (API.md lists the values)."""
        value = self.details.get("outcome")
        return value if isinstance(value, str) else None

    @property
    def extracted_answer(self) -> str | None:
        """``details["extracted_answer"]``: the final answer the service found, if any."""
        value = self.details.get("extracted_answer")
        return value if isinstance(value, str) else None

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return {
            "id": self.id,
            "reward": self.reward,
            "scores": dict(self.scores),
            "details": dict(self.details),
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ScoreResult:
        """Validate one wire result; raises :class:`ProtocolError` when it breaks the contract.

        Example:
            >>> ScoreResult.from_dict({"id": "a", "reward": None, "scores": {"accuracy": None}}).accuracy is None
            True
        """
        if not isinstance(data, Mapping):
            raise ProtocolError(f"a result must be an object, got {type(data).__name__}")
        item_id = data.get("id")
        if item_id is not None and not isinstance(item_id, str):
            raise ProtocolError("result.id must be a string or null")
        reward = _number_or_none(data.get("reward"), "result.reward")
        scores_raw = data.get("scores") or {}
        if not isinstance(scores_raw, Mapping):
            raise ProtocolError("result.scores must be an object")
        scores = {str(k): _number_or_none(v, f"result.scores.{k}") for k, v in scores_raw.items()}
        details = data.get("details") or {}
        if not isinstance(details, Mapping):
            raise ProtocolError("result.details must be an object")
        error = data.get("error")
        if error is not None:
            if not isinstance(error, Mapping):
                raise ProtocolError("result.error must be an object or null")
            error = {"code": str(error.get("code", "error")), "message": str(error.get("message", ""))}
        return cls(id=item_id, reward=reward, scores=scores, details=dict(details), error=error)


def _number_or_none(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ProtocolError(f"{where} must be a number or null, got {value!r}")
    return float(value)


def rewards_spec(
    accuracy: float | None = 1.0,
    format: float | None = 0.5,
    language: float | None = 0.1,
    *,
    format_mode: str | None = None,
    unparseable_gold: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Build a ``rewards`` block from weights; ``None`` leaves a component out (not scored, not reported).

    Example:
        >>> rewards_spec(language=None, format_mode="think_answer")
        {'accuracy': {'weight': 1.0}, 'format': {'weight': 0.5, 'mode': 'think_answer'}}
    """
    spec: dict[str, dict[str, Any]] = {}
    if accuracy is not None:
        spec["accuracy"] = {"weight": float(accuracy)}
        if unparseable_gold is not None:
            spec["accuracy"]["unparseable_gold"] = unparseable_gold
    if format is not None:
        spec["format"] = {"weight": float(format)}
        if format_mode is not None:
            spec["format"]["mode"] = format_mode
    if language is not None:
        spec["language"] = {"weight": float(language)}
    return spec


__all__ = [
    "COMPONENTS",
    "ITEM_FIELDS",
    "ItemLike",
    "RewardsSpec",
    "ScoreItem",
    "ScoreResult",
    "item_to_dict",
    "rewards_spec",
]
