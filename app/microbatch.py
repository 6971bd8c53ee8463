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
class _Pending:
    items: list[WireItem] = field(default_factory=list)
    waiters: list[tuple[int, int, asyncio.Future[list[ScoredResult]]]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class MicroBatcher:
    """Gather concurrent :meth:`score` calls into one :meth:`WorkerPool.score` call per window.

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
        """Results for ``items``, scored together with whatever else arrives within the window."""
        if not items:
            return []
        loop = asyncio.get_running_loop()
        pending = self._pending.get(config)
        if pending is None:
            pending = self._pending[config] = _Pending()
            pending.timer = loop.call_later(self.window_s, self._flush, config)
        future: asyncio.Future[list[ScoredResult]] = loop.create_future()
        start = len(pending.items)
        pending.items.extend(items)
        pending.waiters.append((start, start + len(items), future))
        if len(pending.items) >= self.max_items:
            self._flush(config)
        return await future

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
        live = [w for w in pending.waiters if not w[2].done()]
        if not live:
            return
        if self.observe is not None:
            self.observe(len(pending.items))
        try:
            results = await self.pool.score(pending.items, config)
        except Exception as exc:
            for _start, _end, future in live:
                if not future.done():
                    future.set_exception(exc)
            return
        for start, end, future in live:
            if not future.done():
                future.set_result(results[start:end])

    async def close(self) -> None:
        """Flush what is waiting and wait for the submissions in flight."""
        for config in list(self._pending):
            self._flush(config)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
