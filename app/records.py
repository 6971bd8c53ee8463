"""The service's two records: an item on its way to a worker, and its result on the way back.

Both are ``NamedTuple`` s: they pickle as plain tuples (cheap IPC to the workers) and every module reads
them by field name, so adding a field is one edit here and one where it is filled.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson


class WireItem(NamedTuple):
    """One item as the request gave it, ready for a worker (API.md's item object).

    Example:
        >>> WireItem("\\\\boxed{4}", answer="4").answer
        '4'
    """

    completion: str
    prompt: str | None = None
    answer: str | list[str] | None = None  # a list: several acceptable answers, any one is right
    lang: str | None = None
    id: str | None = None
    group: str | None = None
    tests: Any = None  # the wire ``tests`` object of a code item (checked in the worker)


class ScoredResult(NamedTuple):
    """One item's result: the JSON of the wire result, plus the figures metrics and ``/get_reward`` read.

    Example:
        >>> ScoredResult.of({"id": "a", "reward": 1.0, "scores": {"accuracy": 1.0}, "details": {}, "error": None}).reward
        1.0
    """

    payload: bytes  # the wire result object, serialised once in the worker
    reward: float | None
    accuracy: float | None
    format: float | None
    language: float | None
    outcome: str | None  # details.outcome
    error_code: str | None  # error.code, when the item could not be scored
    code: float | None = None  # scores.code
    code_outcome: str | None = None  # details.code_outcome

    @classmethod
    def of(cls, result: dict[str, Any]) -> ScoredResult:
        """Encode one wire result dict (never fails on odd text in ``details``)."""
        try:
            payload = orjson.dumps(result)
        except TypeError:  # lone surrogates or an unexpected type in details: never lose the item for it
            payload = orjson.dumps(_sanitize(result), default=repr)
        scores = result.get("scores") or {}
        details = result.get("details") or {}
        error = result.get("error")
        return cls(
            payload,
            result.get("reward"),
            scores.get("accuracy"),
            scores.get("format"),
            scores.get("language"),
            details.get("outcome"),
            error.get("code") if error else None,
            scores.get("code"),
            details.get("code_outcome"),
        )

    @classmethod
    def error(cls, item_id: str | None, code: str, message: str, **details: Any) -> ScoredResult:
        """The result of an item that could not be scored (``error`` set, the batch unaffected).

        Example:
            >>> ScoredResult.error("a", "worker_crashed", "the worker died").error_code
            'worker_crashed'
        """
        return cls.of(
            {
                "id": item_id,
                "reward": None,
                "scores": {},
                "details": details,
                "error": {"code": code, "message": message},
            }
        )


def _sanitize(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_sanitize(k): _sanitize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_sanitize(v) for v in value]
    return value
