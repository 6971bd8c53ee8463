"""Scoring rollouts through the reward service without ever stalling or killing the run.

Each prompt group is sent as soon as its completions exist, as a task on an event loop that runs in a
background thread, so scoring overlaps the rest of generation and the log-prob passes. Failures never
reach the training loop as exceptions: the client bounds and retries each HTTP attempt; a circuit breaker
stops sending while the service keeps failing (and probes it again after a cooldown); a watchdog gives up on
a group whose deadline has passed. A group that cannot be scored comes back *masked*: every reward ``None``,
which the trainer turns into advantage 0 and counts in ``reward_masked_frac``.

With no URL, :class:`LocalService` starts ``vrewards serve`` on a free loopback port and stops it at the end.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class ScoreClient(Protocol):
    """What the scorer needs of a client: :class:`trainer_client.client.AsyncRewardClient` fits."""

    async def score(
        self,
        items: list[dict[str, Any]],
        rewards: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> list[Any]: ...

    async def aclose(self) -> None: ...


@dataclass
class GroupScores:
    """The scores of one group, or the reason it is masked.

    ``rewards[i]`` is ``None`` when item ``i`` has no usable reward (null accuracy, a per-item error, or the
    whole group masked).
    """

    rewards: list[float | None]
    scores: list[dict[str, float | None]]
    details: list[dict[str, Any]]
    latency_s: float
    failure: str | None = None  # why the whole group is masked, None when scored

    @classmethod
    def masked(cls, n: int, failure: str, latency_s: float = 0.0) -> GroupScores:
        """A group that could not be scored."""
        return cls([None] * n, [{} for _ in range(n)], [{} for _ in range(n)], latency_s, failure)


class CircuitBreaker:
    """Closed while calls succeed; open for ``cooldown_s`` after ``failures`` consecutive failures; then
    half-open: one probe goes through, and its outcome closes or re-opens the circuit.

    Example:
        >>> b = CircuitBreaker(failures=1, cooldown_s=60.0); b.record(False); b.allow()
        False
    """

    def __init__(
        self, failures: int = 3, cooldown_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures, self.cooldown_s, self.clock = max(1, failures), cooldown_s, clock
        self.consecutive = 0
        self.opened_at: float | None = None
        self.probing = False

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open``."""
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.cooldown_s else "open"

    def allow(self) -> bool:
        """Whether a call may go out now."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self.probing:
            self.probing = True
            return True
        return False

    def record(self, success: bool) -> None:
        """Record a call's outcome."""
        self.probing = False
        if success:
            self.consecutive, self.opened_at = 0, None
            return
        self.consecutive += 1
        if self.consecutive >= self.failures or self.opened_at is not None:
            self.opened_at = self.clock()


def _field(result: Any, name: str, default: Any) -> Any:
    if isinstance(result, dict):
        return result.get(name, default)
    return getattr(result, name, default)


def parse_results(results: Sequence[Any], ids: Sequence[str], latency_s: float) -> GroupScores:
    """Check one result per item in order (ids echoed) and turn them into :class:`GroupScores`.

    Example:
        >>> g = parse_results([{"id": "a", "reward": 1.0, "scores": {"accuracy": 1.0}}], ["a"], 0.1)
        >>> g.rewards, g.failure
        ([1.0], None)
    """
    if len(results) != len(ids):
        return GroupScores.masked(len(ids), f"result_count:{len(results)}!={len(ids)}", latency_s)
    rewards: list[float | None] = []
    scores, details = [], []
    for want, res in zip(ids, results, strict=True):
        if _field(res, "id", want) != want:
            return GroupScores.masked(len(ids), "result_order", latency_s)
        error = _field(res, "error", None)
        reward = _field(res, "reward", None)
        rewards.append(None if error is not None or reward is None else float(reward))
        scores.append(dict(_field(res, "scores", {}) or {}))
        details.append(dict(_field(res, "details", {}) or {}))
    return GroupScores(rewards, scores, details, latency_s)


@dataclass
class _Pending:
    future: concurrent.futures.Future[GroupScores]
    size: int
    deadline: float
    submitted: float = field(default_factory=time.monotonic)


class GroupScorer:
    """Scores groups on a background event loop; :meth:`submit` returns at once, :meth:`result` never raises.

    Example:
        >>> # scorer = GroupScorer(lambda: AsyncRewardClient(base_url=url), rewards={"accuracy": {"weight": 1.0}})
        >>> # ticket = scorer.submit("run-s1-g0", items); ...; group = scorer.result(ticket)
    """

    def __init__(
        self,
        client_factory: Callable[[], ScoreClient],
        *,
        rewards: dict[str, Any] | None = None,
        deadline_s: float = 60.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.rewards, self.deadline_s = rewards, deadline_s
        self.breaker = breaker or CircuitBreaker()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="reward-scorer", daemon=True)
        self._thread.start()
        self.client: ScoreClient = self._call(self._make_client(client_factory))

    async def _make_client(self, factory: Callable[[], ScoreClient]) -> ScoreClient:
        return factory()  # created inside the loop: its connections belong to this loop

    def _call(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _score(self, request_id: str, items: list[dict[str, Any]]) -> GroupScores:
        if not self.breaker.allow():
            return GroupScores.masked(len(items), "circuit_open")
        start = time.monotonic()
        try:
            results = await asyncio.wait_for(
                self.client.score(items, rewards=self.rewards, request_id=request_id), timeout=self.deadline_s
            )
        except Exception as exc:  # every failure becomes a masked group, never a crash
            self.breaker.record(False)
            return GroupScores.masked(len(items), type(exc).__name__, time.monotonic() - start)
        group = parse_results(results, [str(item["id"]) for item in items], time.monotonic() - start)
        self.breaker.record(group.failure is None)
        return group

    def submit(self, request_id: str, items: list[dict[str, Any]]) -> _Pending:
        """Send one group (items carry unique ``id``s); returns a ticket for :meth:`result`."""
        future = asyncio.run_coroutine_threadsafe(self._score(request_id, items), self.loop)
        return _Pending(future, len(items), time.monotonic() + self.deadline_s + 1.0)

    def result(self, ticket: _Pending) -> GroupScores:
        """Wait for a group, at most until its deadline (the watchdog); masked on any failure."""
        try:
            return ticket.future.result(timeout=max(0.0, ticket.deadline - time.monotonic()))
        except concurrent.futures.TimeoutError:
            ticket.future.cancel()
            return GroupScores.masked(ticket.size, "watchdog", time.monotonic() - ticket.submitted)
        except Exception as exc:
            return GroupScores.masked(ticket.size, type(exc).__name__, time.monotonic() - ticket.submitted)

    def close(self) -> None:
        """Close the client and stop the loop thread."""
        with contextlib.suppress(Exception):
            self._call(self.client.aclose(), timeout=10.0)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10.0)
        with contextlib.suppress(Exception):
            self.loop.close()


def http_client_factory(
    urls: Sequence[str], *, timeout_s: float = 30.0, max_retries: int = 3, api_token: str | None = None
) -> Callable[[], ScoreClient]:
    """A factory of :class:`AsyncRewardClient` over one or several replicas.

    Example:
        >>> callable(http_client_factory(["http://127.0.0.1:8000"]))
        True
    """

    def make() -> ScoreClient:
        from trainer_client.client import AsyncRewardClient

        return AsyncRewardClient(
            base_url=list(urls) if len(urls) > 1 else urls[0],
            timeout=timeout_s,
            max_retries=max_retries,
            api_token=api_token,
            backoff_max=2.0,
        )

    return make


def free_port() -> int:
    """An unused TCP port on loopback.

    Example:
        >>> 0 < free_port() < 65536
        True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalService:
    """``vrewards serve`` as a subprocess on loopback; :meth:`stop` and :meth:`start` again keep the port.

    Example:
        >>> # with LocalService(workers=1) as url: ...  # url like "http://127.0.0.1:40123"
    """

    def __init__(
        self,
        *,
        workers: int = 1,
        port: int | None = None,
        startup_timeout_s: float = 120.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workers, self.port, self.startup_timeout_s = workers, port or free_port(), startup_timeout_s
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - the service's output, closed in close()

    @property
    def url(self) -> str:
        """The service's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        """Start the service and wait until ``/health`` answers 200; return its URL."""
        import httpx

        cmd = [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vrewards serve exited with {self.proc.returncode}: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health", timeout=2.0).status_code == 200:
                    return self.url
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"vrewards serve did not become healthy in {self.startup_timeout_s:.0f}s: {self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the service (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10.0)

    def log_tail(self, limit: int = 2000) -> str:
        """The end of the service's output."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-limit:]

    def close(self) -> None:
        """Stop the service and release its log."""
        self.stop()
        self._log.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
