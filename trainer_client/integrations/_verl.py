"""Implementation of :mod:`trainer_client.integrations.verl` (see there).

Kept apart so that verl, which loads ``custom_reward_function.path`` as a fresh module object, gets a thin
file that re-exports these functions: the settings and the client stay shared with the installed module.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx

from trainer_client.client import DEFAULT_URL, AsyncRewardClient, RewardClient
from trainer_client.errors import RewardServiceError
from trainer_client.integrations._common import as_reference, as_text, code_tests_of, prompt_text
from trainer_client.integrations._outage import OutageGate, ServiceDownError
from trainer_client.types import RewardsSpec, ScoreResult

logger = logging.getLogger(__name__)

OnError = Literal["raise", "mask"]


@dataclass(frozen=True)
class Settings:
    """What :func:`configure` sets; ``url=None`` reads ``VREWARDS_URL`` when the client is created."""

    url: str | Sequence[str] | None = None
    api_token: str | None = None
    rewards: RewardsSpec | None = None
    prefill_think: bool = False
    on_error: OnError = "mask"
    timeout: float = 120.0
    max_retries: int = 6
    chunk_size: int = 256
    batch_window_s: float = 0.005
    probe_interval_s: float = 5.0
    probe_timeout_s: float = 2.0
    transport: httpx.BaseTransport | None = field(default=None, compare=False)
    async_transport: httpx.AsyncBaseTransport | None = field(default=None, compare=False)


_settings = Settings()
_lock = threading.Lock()
_client: RewardClient | None = None
_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _MicroBatcher] = weakref.WeakKeyDictionary()
_gate = OutageGate(_settings.probe_interval_s)


def configure(url: str | Sequence[str] | None = None, **options: Any) -> Settings:
    """Set the service URL and options for every later call in this process; returns the new settings.

    Options: ``api_token``, ``rewards`` (API.md block), ``prefill_think``, ``on_error`` (``"mask"`` or
    ``"raise"``), ``timeout``, ``max_retries``, ``chunk_size``, ``batch_window_s``, ``probe_interval_s``
    and ``probe_timeout_s`` (outages: see :mod:`trainer_client.integrations._outage`), ``transport`` and
    ``async_transport`` (tests).

    Example:
        >>> configure("http://reward-svc:8000", on_error="raise").on_error
        'raise'
        >>> _ = configure()  # back to the environment's defaults
    """
    global _settings, _client, _gate
    new = replace(Settings(), url=url, **options)
    if new.on_error not in ("raise", "mask"):
        raise ValueError("on_error must be 'raise' or 'mask'")
    with _lock:
        old_client, _client = _client, None
        _settings = new
        _batchers.clear()
        _gate = OutageGate(new.probe_interval_s)
    if old_client is not None:
        old_client.close()
    return new


def _urls(settings: Settings) -> str | Sequence[str]:
    if settings.url is not None:
        return settings.url
    raw = os.environ.get("VREWARDS_URL", DEFAULT_URL)
    urls = [u.strip() for u in raw.split(",") if u.strip()]
    return urls if len(urls) > 1 else urls[0]


def _token(settings: Settings) -> str | None:
    return settings.api_token if settings.api_token is not None else os.environ.get("VREWARDS_API_TOKEN")


def _sync_client() -> tuple[RewardClient, Settings]:
    global _client
    with _lock:
        if _client is None:
            _client = RewardClient(
                base_url=_urls(_settings),
                api_token=_token(_settings),
                timeout=_settings.timeout,
                max_retries=_settings.max_retries,
                chunk_size=_settings.chunk_size,
                transport=_settings.transport,
            )
        return _client, _settings


def make_item(
    solution_str: str, ground_truth: Any, extra_info: Mapping[str, Any] | None, *, prefill_think: bool = False
) -> dict[str, Any]:
    """The API.md item for one verl sample; ``extra_info`` may carry ``prompt`` (text or messages),
    ``question``, ``lang``/``language``, ``tests`` and ``prefill_think``.

    ``ground_truth`` is a reference answer, a list of acceptable answers (verl hands lists over as numpy
    arrays), or a code test spec as verl's code datasets store it (a JSON string or dict with
    ``inputs``/``outputs``, or ``kind``/``cases``), which becomes the item's ``tests``.

    Example:
        >>> make_item("<think>2+2=4</think> \\\\boxed{4}", "4", {"question": "What is 2+2?", "lang": "en"})["prompt"]
        'What is 2+2?'
        >>> make_item("\\\\boxed{4}", ("4", "four"), None)["answer"]
        ['4', 'four']
    """
    info = extra_info if isinstance(extra_info, Mapping) else {}
    item: dict[str, Any] = {
        "completion": solution_str if isinstance(solution_str, str) else str(solution_str)
    }
    prompt = info.get("prompt", info.get("question"))
    prefill = bool(info.get("prefill_think", prefill_think))
    text = prompt_text(prompt, prefill_think=prefill)
    if text is not None:
        item["prompt"] = text
    tests = code_tests_of(info.get("tests")) or code_tests_of(ground_truth)
    if tests is not None:
        item["tests"] = tests
    else:
        answer = as_reference(ground_truth)
        if answer is not None:
            item["answer"] = answer
    lang = as_text(info.get("lang", info.get("language")))
    if lang:
        item["lang"] = lang
    return item


def to_verl(result: ScoreResult | None) -> dict[str, Any]:
    """verl's dict for one result; ``None`` (the service failed) gives a masked zero.

    Example:
        >>> to_verl(ScoreResult(reward=1.6, scores={"accuracy": 1.0, "format": 1.0, "language": 1.0},
        ...                     details={"outcome": "equivalent", "extracted_answer": "4"}))["acc"]
        1.0
    """
    if result is None:
        return {
            "score": 0.0,
            "acc": 0.0,
            "format": 0.0,
            "language": 0.0,
            "code": 0.0,
            "outcome": "service_error",
            "pred": "",
            "masked": True,
        }
    failed = result.error is not None
    outcome = result.outcome or (result.error or {}).get("code") or ("error" if failed else "")
    code_outcome = result.details.get("code_outcome")
    if result.accuracy is None and isinstance(code_outcome, str):  # a code item: its tests' verdict
        outcome = code_outcome
    correctness = result.correctness
    judged = correctness is not None or not ({"accuracy", "code"} & set(result.scores))
    return {
        "score": _num(result.reward),
        "acc": _num(correctness),
        "format": _num(result.format),
        "language": _num(result.language),
        "code": _num(result.code),
        "outcome": outcome,
        "pred": result.extracted_answer or "",
        "masked": failed or not judged,
    }


def _num(value: float | None) -> float:
    return 0.0 if value is None or math.isnan(value) else float(value)


def _failed(exc: RewardServiceError, settings: Settings, n: int) -> list[dict[str, Any]]:
    if settings.on_error == "raise":
        raise exc
    if not isinstance(exc, ServiceDownError):  # one line per outage, not one per sample
        logger.warning(
            "reward service failed for %d sample(s); scoring them 0.0 with masked=True: %s", n, exc
        )
    return [to_verl(None) for _ in range(n)]


def _down() -> ServiceDownError:
    return ServiceDownError("reward service known down; failing fast until a /health probe sees it up")


def _probe(client: RewardClient, settings: Settings) -> bool:
    try:
        return client.health(timeout=settings.probe_timeout_s).get("status") == "ok"
    except RewardServiceError:
        return False


def _score_sync(items: list[dict[str, Any]]) -> tuple[list[ScoreResult] | None, Settings, Exception | None]:
    """Score through the process's client, unless the gate says the service is down."""
    client, settings = _sync_client()
    gate = _gate
    if not gate.admit(lambda: _probe(client, settings)):
        return None, settings, _down()
    try:
        results = client.score(items, rewards=settings.rewards)
    except RewardServiceError as exc:
        gate.failed(exc)
        return None, settings, exc
    gate.succeeded()
    return results, settings, None


def compute_score(
    data_source: Any = None,
    solution_str: str = "",
    ground_truth: Any = None,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """verl's per-sample custom reward function (sync).

    Example:
        >>> compute_score("openai/gsm8k", "<think>6*7</think> \\\\boxed{42}", "42")["acc"]  # doctest: +SKIP
        1.0
    """
    item = make_item(solution_str, ground_truth, extra_info, prefill_think=_settings.prefill_think)
    results, settings, error = _score_sync([item])
    if results is None:
        assert isinstance(error, RewardServiceError)
        return _failed(error, settings, 1)[0]
    return to_verl(results[0])


def compute_score_batch(
    data_sources: Sequence[Any] | None = None,
    solution_strs: Sequence[str] = (),
    ground_truths: Sequence[Any] | None = None,
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """verl's ``BatchRewardManager`` form: one service call for the whole batch, one dict per sample.

    Example:
        >>> [r["acc"] for r in compute_score_batch(["gsm8k"] * 2, ["\\\\boxed{1}", "\\\\boxed{2}"], ["1", "1"])]  # doctest: +SKIP
        [1.0, 0.0]
    """
    n = len(solution_strs)
    truths = list(ground_truths) if ground_truths is not None else [None] * n
    infos = list(extra_infos) if extra_infos is not None else [None] * n
    if len(truths) != n or len(infos) != n:
        raise ValueError(f"{n} solution_strs but {len(truths)} ground_truths and {len(infos)} extra_infos")
    items = [
        make_item(s, t, e, prefill_think=_settings.prefill_think)
        for s, t, e in zip(solution_strs, truths, infos, strict=True)
    ]
    results, settings, error = _score_sync(items)
    if results is None:
        assert isinstance(error, RewardServiceError)
        return _failed(error, settings, n)
    return [to_verl(r) for r in results]


class _MicroBatcher:
    """Gathers the single-sample calls made on one event loop within ``window`` seconds into one request."""

    def __init__(self, settings: Settings, gate: OutageGate) -> None:
        self.settings = settings
        self.gate = gate
        self._queue: list[tuple[dict[str, Any], asyncio.Future[ScoreResult]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.requests = 0

    def submit(self, item: dict[str, Any]) -> asyncio.Future[ScoreResult]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ScoreResult] = loop.create_future()
        self._queue.append((item, future))
        if len(self._queue) >= self.settings.chunk_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.settings.batch_window_s, self._flush)
        return future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._queue = self._queue, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[dict[str, Any], asyncio.Future[ScoreResult]]]) -> None:
        self.requests += 1
        settings = self.settings
        try:
            # A client per batch: nothing is left open when the caller's event loop ends.
            async with AsyncRewardClient(
                base_url=_urls(settings),
                api_token=_token(settings),
                timeout=settings.timeout,
                max_retries=settings.max_retries,
                chunk_size=settings.chunk_size,
                transport=settings.async_transport,
            ) as client:
                results = await client.score([item for item, _ in batch], rewards=settings.rewards)
        except Exception as exc:
            if isinstance(exc, RewardServiceError):
                self.gate.failed(exc)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.gate.succeeded()
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


async def _probe_async(settings: Settings) -> bool:
    try:
        async with AsyncRewardClient(
            base_url=_urls(settings),
            api_token=_token(settings),
            timeout=settings.probe_timeout_s,
            max_retries=0,
            transport=settings.async_transport,
        ) as client:
            return (await client.health()).get("status") == "ok"
    except RewardServiceError:
        return False


def _batcher() -> _MicroBatcher:
    loop = asyncio.get_running_loop()
    with _lock:
        batcher = _batchers.get(loop)
        if batcher is None:
            batcher = _batchers[loop] = _MicroBatcher(_settings, _gate)
        return batcher


async def compute_score_async(
    data_source: Any = None,
    solution_str: str = "",
    ground_truth: Any = None,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """verl's per-sample custom reward function for its async reward loop; concurrent calls share requests.

    Example:
        >>> (await compute_score_async("gsm8k", "\\\\boxed{42}", "42"))["acc"]  # doctest: +SKIP
        1.0
    """
    batcher = _batcher()
    settings = batcher.settings
    item = make_item(solution_str, ground_truth, extra_info, prefill_think=settings.prefill_think)
    if not await batcher.gate.admit_async(lambda: _probe_async(settings)):
        return _failed(_down(), settings, 1)[0]
    try:
        result = await batcher.submit(item)
    except RewardServiceError as exc:
        return _failed(exc, batcher.settings, 1)[0]
    return to_verl(result)


__all__ = [
    "Settings",
    "compute_score",
    "compute_score_async",
    "compute_score_batch",
    "configure",
    "make_item",
    "to_verl",
]
