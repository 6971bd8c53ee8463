"""Prometheus metrics of one app instance (its own ``CollectorRegistry``, so tests can build several apps).

Request counts and latencies are recorded by the middleware; item-level figures (reward distributions,
accuracy outcomes, item errors) by the routes once a batch is scored; pool figures (worker restarts,
time-limit hits, queue depth, live workers) are read from the pool at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.records import ScoredResult
from app.scoring import WorkerPool

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_SCORE_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99, 1.0, 1.5, 2.0)
_SIZE_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384)


class _PoolCollector(Collector):
    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool

    def collect(self) -> Iterator[Metric]:
        stats = self.pool.stats
        yield CounterMetricFamily(
            "vrewards_item_timeouts", "Items whose worker ran past the deadline.", stats.timeouts
        )
        restarts = CounterMetricFamily(
            "vrewards_worker_restarts", "Workers killed and replaced.", labels=["reason"]
        )
        restarts.add_metric(["timeout"], stats.timeouts)
        restarts.add_metric(["crash"], stats.crashes)
        restarts.add_metric(["other"], stats.restarts - stats.timeouts - stats.crashes)
        yield restarts
        yield CounterMetricFamily(
            "vrewards_pool_items", "Items the pool resolved (abandoned ones are not).", stats.items_scored
        )
        yield GaugeMetricFamily("vrewards_queue_depth", "Items queued or being scored.", self.pool.pending)
        yield GaugeMetricFamily("vrewards_workers", "Scoring workers up and warmed.", self.pool.alive)


class Metrics:
    """The app's metrics.

    Example:
        >>> m = Metrics()
        >>> m.observe_request("/score", 200, 0.01)
        >>> b"vrewards_requests_total" in m.render()
        True
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("vrewards_requests", "HTTP requests.", ["route", "status"], registry=r)
        self.latency = Histogram(
            "vrewards_request_latency_seconds",
            "HTTP request latency.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.items = Counter(
            "vrewards_items", "Items answered (scored or item error).", ["route"], registry=r
        )
        self.batch_size = Histogram(
            "vrewards_batch_items",
            "Items per request (before micro-batching; see vrewards_pool_call_items).",
            ["route"],
            buckets=_SIZE_BUCKETS,
            registry=r,
        )
        self.pool_call_items = Histogram(
            "vrewards_pool_call_items",
            "Items per pool call after micro-batching (several /get_reward requests share one call).",
            ["route"],
            buckets=_SIZE_BUCKETS,
            registry=r,
        )
        self.scores = Histogram(
            "vrewards_reward_score",
            "Per-component scores (null scores are not observed).",
            ["component"],
            buckets=_SCORE_BUCKETS,
            registry=r,
        )
        self.outcomes = Counter(
            "vrewards_accuracy_outcomes", "Accuracy outcomes by reason.", ["outcome"], registry=r
        )
        self.code_outcomes = Counter(
            "vrewards_code_outcomes", "Code outcomes (code items only).", ["outcome"], registry=r
        )
        self.item_errors = Counter(
            "vrewards_item_errors", "Items that could not be scored, by code.", ["code"], registry=r
        )
        # (ScoredResult field, histogram child) per component; label children cached (labels() takes a lock)
        self._columns: list[tuple[str, Any]] = [
            (name, self.scores.labels(name)) for name in ("reward", "accuracy", "format", "language", "code")
        ]
        self._per_route: dict[str, tuple[Any, Any]] = {}
        self._outcomes: dict[str, Any] = {}
        self._code_outcomes: dict[str, Any] = {}
        self._errors: dict[str, Any] = {}

    def attach(self, pool: WorkerPool) -> None:
        """Expose ``pool``'s counters and gauges."""
        self.registry.register(_PoolCollector(pool))

    def pool_call_observer(self, route: str) -> Callable[[int], None]:
        """A callback recording the items of each pool call made for ``route``.

        Example:
            >>> m = Metrics()
            >>> m.pool_call_observer("/get_reward")(48)
            >>> b'vrewards_pool_call_items_sum{route="/get_reward"} 48.0' in m.render()
            True
        """
        return self.pool_call_items.labels(route).observe

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """Count one HTTP request."""
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_results(self, route: str, results: Sequence[ScoredResult]) -> None:
        """Record the scores, outcomes and errors of a scored batch (a few microseconds per item)."""
        per_route = self._per_route.get(route)
        if per_route is None:
            per_route = self._per_route[route] = (self.items.labels(route), self.batch_size.labels(route))
        per_route[0].inc(len(results))
        per_route[1].observe(len(results))
        columns = self._columns
        for r in results:
            for name, hist in columns:
                value = getattr(r, name)
                if value is not None:
                    hist.observe(value)
            if r.outcome is not None:
                self._child(self.outcomes, self._outcomes, r.outcome).inc()
            if r.code_outcome is not None:
                self._child(self.code_outcomes, self._code_outcomes, r.code_outcome).inc()
            if r.error_code is not None:
                self._child(self.item_errors, self._errors, r.error_code).inc()

    @staticmethod
    def _child(metric: Counter, cache: dict[str, Any], label: str) -> Any:
        child = cache.get(label)
        if child is None:
            child = cache[label] = metric.labels(str(label)[:32])
        return child

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
