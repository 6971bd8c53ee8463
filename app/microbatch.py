"""Micro-batching: many small concurrent scoring calls become one pool submission.

OpenRLHF's client sends one sample per request, N x G of them at once. Each call waits at most
``window_s`` (or until ``max_items`` items have gathered) and the gathered items go to the pool as one
batch per reward configuration, so GRPO groups share a worker and its gold-answer cache and the pool pays
its per-batch cost once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from app.records import ScoredResult, WireItem
from app.scoring import WorkerPool


@dataclass
class _Waiter:
    items: list[WireItem]
    future: asyncio.Future[list[ScoredResult]]


@dataclass
class _Pending:
    waiters: list[_Waiter] = field(default_factory=list)
    size: int = 0
    timer: asyncio.TimerHandle | None = None


class MicroBatcher:
    """Gather concurrent :meth:`score` calls into one :meth:`WorkerPool.score` call per window.

    Admission is decided per call, before it joins a window (:meth:`WorkerPool.admit`): a call that does not
    fit gets :class:`~app.scoring.Saturated` alone, its neighbours are unaffected. A call cancelled before
    its window is sent (the client went away) is left out of it; a sent submission whose callers are all
    gone is cancelled, which drops its queued items in the pool.

    Example:
        >>> batcher = MicroBatcher(pool, window_s=0.005, max_items=1024)  # doctest: +SKIP
        >>> results = await batcher.score(items, config)  # doctest: +SKIP
    """

    def __init__(
        self,
        pool: WorkerPool,
        window_s: float,
        max_items: int,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        self.pool = pool
        self.observe = observe  # called with the items of each pool call (the /metrics histogram)
        self.window_s = window_s
        self.max_items = max_items
        self._pending: dict[Hashable, _Pending] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.flushes = 0

    async def score(self, items: list[WireItem], config: Any) -> list[ScoredResult]:
        """Results for ``items``, scored together with whatever else arrives within the window.

        Raises:
            Saturated: these items do not fit in the pool now.
        """
        if not items:
            return []
        self.pool.admit(len(items))
        loop = asyncio.get_running_loop()
        pending = self._pending.get(config)
        if pending is None:
            pending = self._pending[config] = _Pending()
            pending.timer = loop.call_later(self.window_s, self._flush, config)
        waiter = _Waiter(items, loop.create_future())
        pending.waiters.append(waiter)
        pending.size += len(items)
        if pending.size >= self.max_items:
            self._flush(config)
        return await waiter.future

    def _flush(self, config: Hashable) -> None:
        pending = self._pending.pop(config, None)
        if pending is None:
            return
        if pending.timer is not None:
            pending.timer.cancel()
        self.flushes += 1
        task = asyncio.get_running_loop().create_task(self._run(pending, config))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, pending: _Pending, config: Any) -> None:
        live = [w for w in pending.waiters if not w.future.done()]
        gone = sum(len(w.items) for w in pending.waiters if w.future.done())
        if gone:
            self.pool.release(gone)  # callers that left before the window closed: never sent
        if not live:
            return
        items = [item for w in live for item in w.items]
        if self.observe is not None:
            self.observe(len(items))
        try:
            submission = self.pool.submit(items, config, admitted=True)
        except Exception as exc:  # PoolClosed (the room reserved was given back)
            for w in live:
                if not w.future.done():
                    w.future.set_exception(exc)
            return
        for w in live:
            w.future.add_done_callback(lambda _f: _cancel_if_abandoned(submission, live))
        try:
            results = await asyncio.shield(submission)
        except asyncio.CancelledError:
            if submission.cancelled():
                return  # every caller left; the pool drops what it had not started
            submission.cancel()
            raise
        except Exception as exc:
            for w in live:
                if not w.future.done():
                    w.future.set_exception(exc)
            return
        start = 0
        for w in live:
            end = start + len(w.items)
            if not w.future.done():
                w.future.set_result(results[start:end])
            start = end

    async def close(self) -> None:
        """Flush what is waiting and wait for the submissions in flight."""
        for config in list(self._pending):
            self._flush(config)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _cancel_if_abandoned(submission: asyncio.Future[Any], waiters: list[_Waiter]) -> None:
    if not submission.done() and all(w.future.cancelled() for w in waiters):
        submission.cancel()
