"""Reward functions for TRL's ``GRPOTrainer`` backed by the reward service.

TRL calls every reward function with ``prompts``, ``completions``, ``completion_ids`` and, as keyword
arguments, each dataset column (one value per completion) plus ``trainer_state``, ``log_extra`` and
``log_metric``; it awaits all async functions together on its own event loop, weights each function's
output by ``GRPOConfig.reward_weights``, logs it as ``rewards/<__name__>/mean`` and turns ``None`` into NaN.
A NaN is left out of each function's logged mean, but the weighted sum counts it as 0 unless the whole row is
NaN; such a row is "unscorable": left out of its group's mean and std, and given advantage 0. So when a
row's accuracy (or code score) could not be judged, every function here returns ``None`` for it, and a
failed batch is ``None`` throughout with blank ``vrewards_answer``/``vrewards_outcome`` table columns. A row
with no reference keeps its other components (accuracy alone is ``None``), as the service's reward does.

:func:`make_reward_funcs` returns one async function per component (``vrewards_accuracy``,
``vrewards_format``, ``vrewards_language``, ``vrewards_code``, or ``vrewards_reward`` for the service's
weighted total), so TRL weights and charts each; all of them share ONE batched service call per step and
rank: the first function called for a batch starts it, the others await the same future, found by a digest
of the batch's prompts, completions and references.

Example::

    from trl import GRPOConfig, GRPOTrainer
    from trainer_client.integrations.trl import make_reward_funcs

    reward_funcs = make_reward_funcs(url="http://127.0.0.1:8000", answer_column="solution")
    trainer = GRPOTrainer(
        model="Qwen/Qwen2.5-0.5B-Instruct",
        reward_funcs=reward_funcs,
        args=GRPOConfig(reward_weights=[1.0, 0.5, 0.1]),
        train_dataset=dataset,  # columns: prompt, solution (and optionally lang)
    )
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import httpx

from trainer_client.client import DEFAULT_URL, AsyncRewardClient
from trainer_client.errors import RewardServiceError
from trainer_client.integrations._common import (
    ANSWER_COLUMNS,
    as_reference,
    as_text,
    code_tests_of,
    completion_text,
    prompt_text,
)
from trainer_client.types import COMPONENTS, RewardsSpec, ScoreResult

logger = logging.getLogger(__name__)

OnError = Literal["raise", "mask"]
_RECENT_BATCHES = 8


class SharedScorer:
    """Scores one trainer batch through the service once, however many component functions ask for it.

    Keeps the futures of the last few batches (TRL awaits its async reward functions together on a daemon
    event loop of its own). Pickles without its futures and any given client, so the reward functions can
    cross process boundaries (TRL's async rollout workers pickle them).
    """

    def __init__(
        self,
        *,
        url: str | Sequence[str] = DEFAULT_URL,
        client: AsyncRewardClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        api_token: str | None = None,
        rewards: RewardsSpec | None = None,
        answer_column: str | None = None,
        lang_column: str = "lang",
        tests_column: str = "tests",
        prefill_think: bool = False,
        on_error: OnError = "mask",
        timeout: float = 120.0,
        chunk_size: int = 256,
        max_retries: int = 6,
        log_columns: bool = True,
    ) -> None:
        if on_error not in ("raise", "mask"):
            raise ValueError("on_error must be 'raise' or 'mask'")
        self.url = url
        self.tests_column = tests_column
        self.api_token = api_token
        self.rewards = rewards
        self.answer_column = answer_column
        self.lang_column = lang_column
        self.prefill_think = prefill_think
        self.on_error = on_error
        self.timeout = timeout
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self.log_columns = log_columns
        self._given_client = client
        self._transport = transport
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._recent: OrderedDict[tuple[int, str], tuple[asyncio.Future[list[ScoreResult]], set[str]]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()
        self.calls = 0  # service calls made (for tests and logs)

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_") and k != "calls"}
        state["_given_client"] = None
        state["_transport"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    async def _score(self, items: list[dict[str, Any]]) -> list[ScoreResult]:
        if self._given_client is not None:
            return await self._given_client.score(items, rewards=self.rewards)
        # A client per call: one call per training step, and nothing left open when an event loop ends.
        async with AsyncRewardClient(
            base_url=self.url,
            transport=self._transport,
            api_token=self.api_token,
            timeout=self.timeout,
            chunk_size=self.chunk_size,
            max_retries=self.max_retries,
        ) as client:
            return await client.score(items, rewards=self.rewards)

    def items(
        self, prompts: Sequence[Any], completions: Sequence[Any], columns: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """API.md items for a TRL batch (prompts and completions plain or conversational)."""
        n = len(completions)
        names = [self.answer_column] if self.answer_column else ANSWER_COLUMNS
        answers = [as_reference(v) for v in self._column(columns, names, n)]
        if self.answer_column and self.answer_column not in columns:
            raise KeyError(
                f"answer column {self.answer_column!r} is not among the dataset columns {sorted(columns)}"
            )
        langs = [as_text(v) for v in self._column(columns, [self.lang_column], n)]
        tests = [code_tests_of(v) for v in self._column(columns, [self.tests_column], n)]
        out = []
        for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
            text = prompt_text(prompt, prefill_think=self.prefill_think)
            item: dict[str, Any] = {"id": str(i), "completion": completion_text(completion)}
            if text is not None:
                item["prompt"] = text
                item["group"] = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
            if tests[i] is not None:
                item["tests"] = tests[i]
            elif answers[i] is not None:
                item["answer"] = answers[i]
            if langs[i] is not None:
                item["lang"] = langs[i]
            out.append(item)
        return out

    @staticmethod
    def _column(columns: Mapping[str, Any], names: Sequence[str], n: int) -> list[Any]:
        for candidate in names:
            values = columns.get(candidate)
            if values is not None:
                values = list(values)
                if len(values) != n:
                    raise ValueError(f"column {candidate!r} has {len(values)} values for {n} completions")
                return values
        return [None] * n

    async def results(
        self, component: str, prompts: Sequence[Any], completions: Sequence[Any], columns: Mapping[str, Any]
    ) -> tuple[list[ScoreResult] | None, bool]:
        """The batch's results (``None`` when the service failed and ``on_error="mask"``), and whether this
        caller opened the batch's round (that caller logs the batch's extra columns, once per round).

        A round ends when a component asks again for a batch it already took: the next training step with
        identical completions opens a new round (reusing the finished results) so its logs stay aligned.
        """
        items = self.items(prompts, completions, columns)
        digest = hashlib.blake2b(
            json.dumps(items, ensure_ascii=False, sort_keys=True).encode(), digest_size=16
        ).hexdigest()
        loop = asyncio.get_running_loop()
        key = (id(loop), digest)
        with self._lock:
            entry = self._recent.get(key)
            owner = entry is None or component in entry[1]
            if entry is not None and not owner:
                entry[1].add(component)
                future = entry[0]
            else:
                old = entry[0] if entry is not None else None
                reuse = old is not None and old.done() and not old.cancelled() and old.exception() is None
                future = old if reuse and old is not None else loop.create_future()
                self._recent[key] = (future, {component})
                self._recent.move_to_end(key)
                while len(self._recent) > _RECENT_BATCHES:
                    self._recent.popitem(last=False)
        if owner and not future.done():
            try:
                self.calls += 1
                future.set_result(await self._score(items))
            except asyncio.CancelledError:
                future.cancel()
                raise
            except Exception as exc:  # the other components of this round get the same failure
                future.set_exception(exc)
        try:
            return await asyncio.shield(future), owner
        except RewardServiceError as exc:
            if self.on_error == "raise":
                raise
            if owner:
                logger.warning("reward service failed for a batch of %d; masking it: %s", len(items), exc)
            return None, owner


class VRewardFunc:
    """One component's async TRL reward function; ``__name__`` is what TRL logs it under."""

    def __init__(self, shared: SharedScorer, component: str) -> None:
        if component not in (*COMPONENTS, "reward"):
            raise ValueError(
                f"unknown component {component!r}; expected one of {', '.join((*COMPONENTS, 'reward'))}"
            )
        self.shared = shared
        self.component = component
        self.__name__ = f"vrewards_{component}"

    def __repr__(self) -> str:
        return f"<{self.__name__} url={self.shared.url!r}>"

    async def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        log_extra: Callable[[str, list[Any]], None] | None = kwargs.pop("log_extra", None)
        log_metric: Callable[[str, float], None] | None = kwargs.pop("log_metric", None)
        kwargs.pop("trainer_state", None)
        kwargs.pop("environments", None)
        results, owner = await self.shared.results(self.component, prompts, completions, kwargs)
        if results is None:
            if owner:
                if log_metric is not None:
                    log_metric("vrewards/failed_batches", 1.0)
                if log_extra is not None and self.shared.log_columns:
                    # TRL's table keeps a column's last values when a step logs none: blank them instead
                    _log_columns([None] * len(completions), [None] * len(completions), log_extra)
            return [None] * len(completions)
        if owner:
            _log_batch(results, log_extra if self.shared.log_columns else None, log_metric)
        return [self.value(r) for r in results]

    def value(self, result: ScoreResult) -> float | None:
        """This component's value in a result; ``None`` (masked by TRL) for a failed item, a null score, or
        any component of a row whose accuracy was asked for and could not be judged (a time limit, an
        unparseable reference): TRL masks a row only when every function gives ``None``, and otherwise
        counts a ``None`` as 0, which would score an unjudged answer like a wrong one. A row with no
        reference (``no_reference``) keeps its other components, as the service's reward does.

        Example:
            >>> f = VRewardFunc(SharedScorer(), "format")
            >>> f.value(ScoreResult(scores={"accuracy": None, "format": 1.0}, details={"outcome": "timeout"}))
            >>> f.value(ScoreResult(scores={"accuracy": None, "format": 1.0}, details={"outcome": "no_reference"}))
            1.0
        """
        if result.error is not None:
            return None
        if unjudged(result):
            return None
        if self.component == "reward":
            return result.reward
        return result.scores.get(self.component)


def unjudged(result: ScoreResult) -> bool:
    """A judgement was due and could not be made: accuracy is null for a reason other than a missing
    reference, or a code item's tests could not be run to a verdict.

    Example:
        >>> unjudged(ScoreResult(scores={"accuracy": None}, details={"outcome": "timeout"}))
        True
    """
    if "code" in result.scores and result.code is None:
        return True
    return "accuracy" in result.scores and result.accuracy is None and result.outcome != "no_reference"


def _log_columns(
    answers: list[str | None], outcomes: list[str | None], log_extra: Callable[[str, list[Any]], None]
) -> None:
    log_extra("vrewards_answer", answers)
    log_extra("vrewards_outcome", outcomes)


def _log_batch(
    results: list[ScoreResult],
    log_extra: Callable[[str, list[Any]], None] | None,
    log_metric: Callable[[str, float], None] | None,
) -> None:
    if log_extra is not None:
        outcomes = [r.outcome or (r.error or {}).get("code") for r in results]
        _log_columns([r.extracted_answer for r in results], outcomes, log_extra)
    if log_metric is not None and results:
        n = float(len(results))
        log_metric("vrewards/item_errors", sum(r.error is not None for r in results) / n)
        log_metric("vrewards/accuracy_null", sum(r.error is None and r.accuracy is None for r in results) / n)
        log_metric("vrewards/masked_rows", sum(r.error is not None or unjudged(r) for r in results) / n)
        log_metric("vrewards/no_answer", sum(r.outcome == "no_answer" for r in results) / n)


def make_reward_funcs(
    url: str | Sequence[str] = DEFAULT_URL,
    components: Sequence[str] = ("accuracy", "format", "language"),
    *,
    answer_column: str | None = None,
    lang_column: str = "lang",
    tests_column: str = "tests",
    prefill_think: bool = False,
    rewards: RewardsSpec | None = None,
    api_token: str | None = None,
    client: AsyncRewardClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    on_error: OnError = "mask",
    timeout: float = 120.0,
    chunk_size: int = 256,
    max_retries: int = 6,
    log_columns: bool = True,
) -> list[VRewardFunc]:
    """One TRL reward function per component, all sharing one service call per batch.

    Args:
        url: the service URL, or several replicas.
        components: any of ``accuracy``, ``format``, ``language``, ``code`` and ``reward`` (the weighted
            total).
        answer_column: dataset column with the reference answer (default: the first of ``answer``,
            ``solution``, ``ground_truth`` present).
        lang_column: dataset column with the target language (optional; else inferred from the prompt).
        tests_column: dataset column with a code test spec (``{"kind", "cases"}``, or APPS-style
            ``{"inputs", "outputs"}``, as a dict or JSON string); a row with one is sent as ``tests``.
        prefill_think: the chat template ends the prompt with ``<think>`` (DeepSeek-R1 style), so the
            completion starts inside the reasoning block.
        rewards: API.md ``rewards`` block sent with each call (default: only the requested components, with
            the service's default settings; with ``reward`` in ``components``, the service's default block).
        api_token: bearer token.
        client: an :class:`AsyncRewardClient` to use instead of one per event loop (not picklable).
        transport: an httpx async transport for the clients this creates (tests).
        on_error: ``"mask"`` (default) returns ``None`` for the whole batch when the service still fails after
            its retries, so TRL masks it and logs ``vrewards/failed_batches``; ``"raise"`` stops training.
        timeout, chunk_size, max_retries: passed to the client.
        log_columns: add ``vrewards_answer`` and ``vrewards_outcome`` to TRL's completions table.

    Example:
        >>> funcs = make_reward_funcs("http://127.0.0.1:8000")
        >>> [f.__name__ for f in funcs]
        ['vrewards_accuracy', 'vrewards_format', 'vrewards_language']
    """
    components = list(components)
    if not components:
        raise ValueError("components: give at least one")
    if rewards is None and "reward" not in components:
        rewards = {name: {} for name in components}
    shared = SharedScorer(
        url=client.urls if client is not None else url,
        client=client,
        transport=transport,
        api_token=api_token,
        rewards=rewards,
        answer_column=answer_column,
        lang_column=lang_column,
        tests_column=tests_column,
        prefill_think=prefill_think,
        on_error=on_error,
        timeout=timeout,
        chunk_size=chunk_size,
        max_retries=max_retries,
        log_columns=log_columns,
    )
    return [VRewardFunc(shared, name) for name in components]


__all__ = ["SharedScorer", "VRewardFunc", "make_reward_funcs"]
