"""The running service's parts, shared by the routes: settings, pool, micro-batcher, caches and metrics."""

from __future__ import annotations

import importlib
from typing import Any

from app.body import BytesInFlight
from app.config import Settings
from app.idempotency import IdempotencyCache
from app.metrics import Metrics
from app.microbatch import MicroBatcher
from app.schemas import RequestInvalid, error_entry
from app.scoring import WorkerPool


class Service:
    """Everything a request handler needs, built by :func:`app.main.create_app`.

    Example:
        >>> service = Service(Settings(workers=1))  # doctest: +SKIP
        >>> await service.start()  # doctest: +SKIP
    """

    def __init__(self, settings: Settings, scorer: str = "rewards") -> None:
        self.settings = settings
        module = importlib.import_module(scorer)  # the parent validates configs; it never scores
        self._config_class = module.RewardConfig
        self._config_error: type[Exception] = getattr(module, "ConfigError", ValueError)
        self.default_config = self._config_class.from_dict(settings.default_rewards())
        self.pool = WorkerPool(
            workers=settings.workers,
            item_timeout_s=settings.item_timeout_s,
            memory_mb=settings.worker_memory_mb,
            max_pending_items=settings.max_pending_items,
            chunk_items=settings.chunk_items,
            scorer=scorer,
            log_level=settings.log_level,
            log_json=settings.log_json,
            code_limits=settings.code_limits(),
            code_workers=settings.code_workers,
        )

        self.cache = IdempotencyCache(
            settings.idempotency_cache_size, settings.idempotency_ttl_s, settings.idempotency_cache_mb << 20
        )
        self.inflight = BytesInFlight(settings.max_inflight_bytes)
        self.metrics = Metrics()
        self.metrics.attach(self.pool)
        self.batcher = MicroBatcher(
            self.pool,
            window_s=settings.microbatch_window_ms / 1000,
            max_items=settings.microbatch_max_items,
            observe=self.metrics.pool_call_observer("/get_reward"),
        )

    async def start(self) -> None:
        """Start and warm the workers."""
        await self.pool.start()

    async def stop(self) -> None:
        """Finish what is in flight, then stop the workers."""
        await self.batcher.close()
        await self.pool.close()

    def reward_config(self, block: Any) -> Any:
        """The ``RewardConfig`` of a request's ``rewards`` block (None: the service default).

        Raises:
            RequestInvalid: the block names an unknown component or an invalid setting.
        """
        if block is None:
            return self.default_config
        try:
            return self._config_class.from_dict(block)
        except self._config_error as exc:
            where, _, msg = str(exc).partition(": ")
            loc: list[str | int] = list(where.split(".", 2)) if msg else ["rewards"]
            if loc[0] != "rewards":
                loc.insert(0, "rewards")
            raise RequestInvalid([error_entry(loc, msg or str(exc), "config_invalid")]) from None
