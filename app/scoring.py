"""The only place for worker processes, per-item deadlines and backpressure.

Design (why it is built this way):

* **Processes, started by a fork server.** Every sympy-touching check runs in a worker process that can be
  killed: ``signal.alarm`` only works in a main thread and a thread cannot be stopped. Workers come from
  multiprocessing's ``forkserver`` context with the scorer module preloaded there, so a replacement worker
  is a fork of a clean, single-threaded, already-imported process (tens of milliseconds instead of the
  second that importing sympy takes) and is never a fork of the threaded server (which can deadlock on
  locks held by other threads at fork time).
* **One dispatcher thread** owns the workers: it sends chunks, reads results with
  ``multiprocessing.connection.wait`` and enforces deadlines. The event loop only enqueues a batch and awaits
  one future per batch, resolved with ``call_soon_threadsafe``, so it never blocks on a worker.
* **Progress in shared memory.** Each worker writes ``(chunk seq, position, start time)`` into a small shared
  array before each item, so the dispatcher knows exactly which item a worker is on and since when, while
  results travel back in a few pickled messages per chunk (cheap IPC) instead of one per item.
* **Deadlines and crashes.** A worker past ``item_timeout_s`` on one item is SIGKILLed and replaced. That
  item is re-run in degraded mode (``rewards.timed_out_result``: accuracy null with outcome ``timeout``,
  format and language still scored) by another worker; the rest of the chunk is re-queued at the front. A
  worker that dies (segfault, OOM kill) is replaced the same way; its current item is tried once more alone
  (the death may have come from outside) and gets the item error ``worker_crashed`` if it kills that worker
  too. Only that current item is ever charged: its chunk-mates are re-queued uncharged however many times
  neighbours kill workers, so an innocent item is always scored. Nothing is lost: each batch resolves only
  once every item has a result.
* **Liveness.** While workers are being replaced the pool is still live (``live``): batches wait for the
  replacements. ``/health`` reports that as ``busy``, never as down.
* **Abandoned requests.** A cancelled ``score`` (its client disconnected) marks its batch cancelled; chunks
  not yet sent to a worker are dropped, so later requests do not wait behind them.
* **Memory** per worker is bounded with ``RLIMIT_AS``; runaway big-integer work becomes a ``MemoryError``
  inside the worker, which the scorer turns into that item's error.
* **Locality.** Items are grouped by reference answer so a GRPO group lands on one worker and its gold
  answer is parsed once there.
* **Scripts** that create a pool must guard their entry point with ``if __name__ == "__main__":``, as
  with any multiprocessing start method other than fork: the fork server imports the main module.
* **Backpressure.** ``score`` raises :class:`Saturated` when more than ``max_pending_items`` items would be
  queued or in flight (an idle pool always admits one batch, however large). ``admit`` takes the same
  decision ahead of time for one request whose items are scored later inside a larger micro-batch. Bytes
  in flight are bounded before any of this, when the request body is read (:mod:`app.body`).
* **A lane for code.** An item with ``tests`` (when the config asks for the code component) runs programs
  for up to seconds per case, so it travels alone in a chunk of its own, on a queue of its own, and at most
  ``code_workers`` workers hold code chunks at once (default: half the pool, at least one, never all of a
  pool of two or more): a batch of programs cannot take the workers math items need. A worker that has
  just judged a program takes a math chunk next when one is waiting. Each worker runs one sandbox at a
  time. A code chunk's deadline is the item deadline plus the code budget (``CodeLimits.item_budget_s``);
  the sandbox enforces its own, tighter limits, so this one is only a backstop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from app.records import ScoredResult, WireItem

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
_FLUSH_S = 0.002  # a worker sends its finished results at least this often
_CHUNK_CHARS = 8_000_000  # characters of text per chunk, so one message stays far below the memory bound
_MAX_ATTEMPTS = 3  # deaths no item can be blamed for (results lost in transit) an item survives
_WARMUP_ITEMS: tuple[WireItem, ...] = (
    WireItem(
        "<think>\nTwo plus two is four, so the sum is four.\n</think>\nThe answer is \\boxed{4}.",
        prompt="What is two plus two? Please think step by step and answer in English.",
        answer="4",
        id="warmup-1",
    ),
    WireItem(
        "<think>\nHalf.\n</think>\n\\boxed{\\frac{2}{4}}", answer="\\frac{1}{2}", lang="en", id="warmup-2"
    ),
    # symbolic, so sympy and the LaTeX parser are loaded before the first real item's deadline starts
    WireItem("<think>\nExpand.\n</think>\n\\boxed{(x+1)^2}", answer="x^2+2x+1", id="warmup-3"),
)
# Imported once in the fork server, so every worker (and every replacement) starts with them loaded.
PRELOAD: tuple[str, ...] = ("sympy", "latex2sympy2_extended")


class Saturated(Exception):
    """Too many items are queued or being scored; the caller should retry later (HTTP 503)."""


class PoolClosed(Exception):
    """The pool is stopping or stopped."""


# ---------------------------------------------------------------------------------------------- worker
def _worker_main(conn: Connection, progress: Any, scorer: str, memory_mb: int, log: tuple[str, bool]) -> None:
    """A worker process: score chunks sent by the dispatcher until told to stop or killed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the server, which stops us
    from app.logs import configure_logging

    configure_logging(*log)
    limit = memory_mb * MiB
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or hard > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not Linux, or limits locked
        logger.warning("could not bound worker memory")
    import importlib

    module = importlib.import_module(scorer)
    item_class, score_item, timed_out = module.Item, module.score_item, module.timed_out_result
    config_class = module.RewardConfig

    def run(item: WireItem, config: Any, degraded: bool) -> ScoredResult:
        try:
            obj = item_class(**item._asdict())
            res = timed_out(obj, config) if degraded else score_item(obj, config)
            return ScoredResult.of(res.to_dict())
        except MemoryError:
            return ScoredResult.error(
                item.id, "out_of_memory", "scoring this item exceeded the worker memory bound"
            )
        except Exception as exc:  # the scorer catches its own errors; this is the last line of defence
            return ScoredResult.error(
                item.id, "internal_error", f"{type(exc).__name__} while scoring this item"
            )

    warm_config = config_class()
    for item in _WARMUP_ITEMS:
        run(item, warm_config, False)
    conn.send(("ready", os.getpid()))

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] != "chunk":
            return
        _, seq, config, degraded, items = message
        progress[2] = time.monotonic()
        progress[1] = 0.0
        progress[0] = float(seq)
        out: list[tuple[int, ScoredResult]] = []
        last_flush = time.monotonic()
        for pos, item in enumerate(items):
            out.append((pos, run(item, config, degraded)))
            now = time.monotonic()
            progress[2] = now  # written before the position: a reader never sees a new item with an old time
            progress[1] = float(pos + 1)
            if now - last_flush >= _FLUSH_S and pos + 1 < len(items):
                conn.send(("results", seq, out))
                out = []
                last_flush = now
        conn.send(("results", seq, out))


# ----------------------------------------------------------------------------------------- bookkeeping
@dataclass(eq=False)
class _Batch:
    items: Sequence[WireItem]
    config: Any
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[ScoredResult]]
    results: list[ScoredResult | None]
    remaining: int
    attempts: dict[int, int] = field(default_factory=dict)
    crashed: set[int] = field(default_factory=set)  # items already blamed for one worker death
    cancelled: bool = False


@dataclass(eq=False)
class _Chunk:
    batch: _Batch
    positions: list[int]
    degraded: bool = False
    code: bool = field(init=False)  # runs programs: the code lane, with the code budget as extra deadline

    def __post_init__(self) -> None:
        self.code = getattr(self.batch.config, "code", None) is not None and any(
            self.batch.items[p].tests is not None for p in self.positions
        )


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Connection
    progress: Any
    ready: bool = False
    chunk: _Chunk | None = None
    seq: int = 0
    sent_at: float = 0.0
    received: set[int] = field(default_factory=set)
    last_code: bool = False  # its last chunk ran programs: take math next if any is waiting


@dataclass
class PoolStats:
    """Counters the /metrics route exposes (read without a lock: each is one int)."""

    timeouts: int = 0
    crashes: int = 0
    restarts: int = 0
    items_scored: int = 0
    chunks: int = 0


class WorkerPool:
    """Worker processes scoring items under a hard per-item deadline.

    Example:
        >>> async def main():  # doctest: +SKIP
        ...     pool = WorkerPool(workers=2, item_timeout_s=5.0)
        ...     await pool.start()
        ...     results = await pool.score([WireItem("\\\\boxed{4}", answer="4", id="a")], RewardConfig())
        ...     await pool.close()
    """

    def __init__(
        self,
        *,
        workers: int,
        item_timeout_s: float,
        memory_mb: int = 1024,
        max_pending_items: int = 65_536,
        chunk_items: int = 64,
        scorer: str = "rewards",
        start_timeout_s: float = 120.0,
        log_level: str = "warning",
        log_json: bool = True,
        code_limits: Any = None,
        code_workers: int | None = None,
    ) -> None:
        self.size = workers
        self.item_timeout_s = item_timeout_s
        self.memory_mb = memory_mb
        self.max_pending_items = max_pending_items
        self.chunk_items = chunk_items
        self.scorer = scorer
        self.start_timeout_s = start_timeout_s
        self.stats = PoolStats()
        self.code_limits = code_limits  # rewards.CodeLimits applied to every config (None: the scorer's own)
        default_code = max(1, workers // 2)
        self.code_workers = min(code_workers or default_code, max(1, workers - 1))
        self.sandbox: dict[str, Any] | None = None  # what the start-up probe found (GET /health)
        self._log = (log_level, log_json)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            # Workers are single-threaded by design; a BLAS thread pool would only eat the memory bound.
            os.environ.setdefault(var, "1")
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(["app.scoring", *PRELOAD, scorer])
        self._workers: list[_Worker] = []
        self._queue: deque[_Chunk] = deque()
        self._code_queue: deque[_Chunk] = deque()
        self._lock = threading.Lock()
        self._pending = 0
        self._seq = itertools.count(1)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._active: set[_Batch] = set()
        self._spawn_failures = 0
        self._started = threading.Event()
        self._start_error: BaseException | None = None

    # -- public API (event loop side) ---------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Items admitted and not yet resolved (the queue depth)."""
        return self._pending

    @property
    def alive(self) -> int:
        """Workers up and warmed."""
        return sum(1 for w in self._workers if w.ready)

    @property
    def code_busy(self) -> int:
        """Workers judging a program now."""
        return sum(1 for w in self._workers if w.chunk is not None and w.chunk.code)

    @property
    def ready(self) -> bool:
        """True once every worker has warmed up, until the pool stops."""
        return self._started.is_set() and not self._stopping and self.alive > 0

    @property
    def live(self) -> bool:
        """True while the pool can score: started, not stopping, its dispatcher running (workers may be
        being replaced; batches then wait for them)."""
        thread = self._thread
        return self._started.is_set() and not self._stopping and thread is not None and thread.is_alive()

    def admit(self, n: int) -> None:
        """Reserve room for ``n`` items that a later ``score(..., admitted=True)`` brings (the micro-batcher
        admits each request on its own, so one big request never gets its neighbours refused).

        Raises:
            Saturated: the pool already holds too many items.
        """
        with self._lock:
            if self._pending and self._pending + n > self.max_pending_items:
                raise Saturated(f"{self._pending} items pending")
            self._pending += n

    def release(self, n: int) -> None:
        """Give back room reserved with :meth:`admit` for items that will not be scored after all."""
        with self._lock:
            self._pending -= n

    async def start(self) -> None:
        """Start and warm up the workers; returns once all of them can score."""
        self._thread = threading.Thread(target=self._run, name="vrewards-dispatcher", daemon=True)
        self._thread.start()
        ok = await asyncio.get_running_loop().run_in_executor(None, self._started.wait, self.start_timeout_s)
        if self._start_error is not None or not ok:
            await self.close()
            raise RuntimeError(f"scoring workers failed to start: {self._start_error or 'timed out'}")
        self.sandbox = await asyncio.get_running_loop().run_in_executor(None, self._probe_sandbox)

    def _probe_sandbox(self) -> dict[str, Any] | None:
        """Run a trivial program of ours through the code sandbox once, so /health can say if it works."""
        import importlib

        probe = getattr(importlib.import_module(self.scorer), "sandbox_status", None)
        if self.code_limits is None or probe is None:
            return None
        available, detail = probe(self.code_limits)
        if not available:
            logger.warning("code sandbox unavailable: %s", detail)
        return {"available": available, "backend": self.code_limits.sandbox, "detail": detail}

    async def close(self) -> None:
        """Stop the workers; batches still pending fail with :class:`PoolClosed`."""
        self._stopping = True
        self._wake()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 30.0)
            self._thread = None

    async def score(
        self, items: Sequence[WireItem], config: Any, *, admitted: bool = False
    ) -> list[ScoredResult]:
        """Score ``items`` with ``config`` (a ``rewards.RewardConfig``); one result per item, in order.

        Cancelling the call (the client went away) drops the items not yet sent to a worker.

        Raises:
            Saturated: the pool already holds too many items.
            PoolClosed: the pool is stopping.
        """
        return await self.submit(items, config, admitted=admitted)

    def submit(
        self, items: Sequence[WireItem], config: Any, *, admitted: bool = False
    ) -> asyncio.Future[list[ScoredResult]]:
        """Queue ``items`` now; the future resolves to their results. Cancelling it abandons the batch.

        ``admitted``: room for the items was reserved with :meth:`admit` (it is given back if the pool
        refuses them).

        Raises:
            Saturated: the pool already holds too many items (never when ``admitted``).
            PoolClosed: the pool is stopping.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[ScoredResult]] = loop.create_future()
        if not items:
            future.set_result([])
            return future
        if self._stopping or not self._started.is_set():
            if admitted:
                self.release(len(items))
            raise PoolClosed("the scoring pool is not running")
        if self.code_limits is not None and getattr(config, "code", None) is not None:
            config = config.with_code_limits(self.code_limits)
        batch = _Batch(
            items=items,
            config=config,
            loop=loop,
            future=future,
            results=[None] * len(items),
            remaining=len(items),
        )
        chunks = self._chunks(batch)
        with self._lock:
            if not admitted:
                if self._pending and self._pending + len(items) > self.max_pending_items:
                    raise Saturated(f"{self._pending} items pending")
                self._pending += len(items)
            for chunk in chunks:
                (self._code_queue if chunk.code else self._queue).append(chunk)
            self._active.add(batch)
        future.add_done_callback(lambda f: _abandon(batch) if f.cancelled() else None)
        self._wake()
        return future

    # -- chunking -----------------------------------------------------------------------------------
    def _chunks(self, batch: _Batch) -> list[_Chunk]:
        items = batch.items
        target = max(1, min(self.chunk_items, math.ceil(len(items) / (2 * self.size))))
        judges_code = getattr(batch.config, "code", None) is not None
        chunks: list[_Chunk] = []
        groups: dict[Any, list[int]] = {}
        for pos, item in enumerate(items):
            if judges_code and item.tests is not None:
                chunks.append(_Chunk(batch, [pos]))  # a program alone: the code lane
                continue
            answer = item.answer
            groups.setdefault(tuple(answer) if isinstance(answer, list) else answer, []).append(pos)
        current: list[int] = []
        chars = 0
        for positions in groups.values():
            if len(current) + len(positions) > target and current:
                chunks.append(_Chunk(batch, current))
                current, chars = [], 0
            for pos in positions:
                size = len(items[pos].completion) + len(items[pos].prompt or "")
                if current and (len(current) >= target or chars + size > _CHUNK_CHARS):
                    chunks.append(_Chunk(batch, current))
                    current, chars = [], 0
                current.append(pos)
                chars += size
        if current:
            chunks.append(_Chunk(batch, current))
        return chunks

    # -- dispatcher thread ----------------------------------------------------------------------------
    def _wake(self) -> None:
        if self._wake_w < 0:  # closed: never write to a descriptor number the process may have reused
            return
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"x")

    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        progress = self._ctx.RawArray("d", 3)
        process = self._ctx.Process(
            target=_worker_main,
            args=(child_conn, progress, self.scorer, self.memory_mb, self._log),
            name="vrewards-worker",
            daemon=True,
        )
        process.start()
        child_conn.close()
        worker = _Worker(process=process, conn=parent_conn, progress=progress)
        self._workers.append(worker)
        return worker

    def _run(self) -> None:
        try:
            for _ in range(self.size):
                self._spawn()
            self._loop()
        except BaseException as exc:  # pragma: no cover - logged, and start() reports it
            self._start_error = exc
            self._started.set()
            logger.exception("scoring dispatcher failed")
        finally:
            self._shutdown()

    def _loop(self) -> None:
        start_deadline = time.monotonic() + self.start_timeout_s
        while not self._stopping:
            if not self._started.is_set():
                if self._workers and all(w.ready for w in self._workers):
                    self._started.set()
                elif time.monotonic() > start_deadline:
                    raise TimeoutError("workers did not warm up in time")
            self._assign()
            waitables: list[Any] = [self._wake_r]
            for w in self._workers:
                waitables.append(w.conn)
                waitables.append(w.process.sentinel)
            timeout = self._next_deadline()
            for obj in wait(waitables, timeout):
                if obj == self._wake_r:
                    os.read(self._wake_r, 4096)
                    continue
                worker = self._owner(obj)
                if worker is not None:
                    self._receive(worker)
            self._enforce_deadlines()

    def _owner(self, obj: Any) -> _Worker | None:
        for w in self._workers:
            if obj is w.conn or obj == w.process.sentinel:
                return w
        return None

    def _next_deadline(self) -> float:
        timeout = 1.0
        now = time.monotonic()
        for w in self._workers:
            if w.chunk is not None:
                _pos, since = self._position(w)
                timeout = min(timeout, max(0.0, since + self._deadline_s(w.chunk) - now))
        return timeout + 0.001

    def _deadline_s(self, chunk: _Chunk) -> float:
        """Seconds one item of ``chunk`` may take: the item deadline, plus the code budget in the code lane."""
        if not chunk.code:
            return self.item_timeout_s
        return self.item_timeout_s + float(chunk.batch.config.code.limits.item_budget_s)

    def _position(self, w: _Worker) -> tuple[int, float]:
        """Which item of its chunk ``w`` is on, and since when (from the shared progress array)."""
        if int(w.progress[0]) != w.seq:
            return 0, w.sent_at
        pos = int(w.progress[1])
        since = w.progress[2]
        return pos, max(since, w.sent_at)

    def _assign(self) -> None:
        for w in list(self._workers):
            if not w.ready or w.chunk is not None:
                continue
            chunk = self._next_chunk(prefer_math=w.last_code)
            if chunk is None:
                return
            w.chunk, w.seq, w.received, w.last_code = chunk, next(self._seq), set(), chunk.code
            w.sent_at = time.monotonic()
            items = [chunk.batch.items[p] for p in chunk.positions]
            self.stats.chunks += 1
            try:
                w.conn.send(("chunk", w.seq, chunk.batch.config, chunk.degraded, items))
            except (OSError, ValueError):
                self._replace(w, blame=None)

    def _next_chunk(self, prefer_math: bool = False) -> _Chunk | None:
        with self._lock:
            self._drop_cancelled(self._queue)
            while self._queue and self._queue[0].code:  # a code item re-queued after a crash: its lane
                self._code_queue.appendleft(self._queue.popleft())
                self._drop_cancelled(self._queue)
            self._drop_cancelled(self._code_queue)
            code_ok = bool(self._code_queue) and self.code_busy < self.code_workers
            if code_ok and not (prefer_math and self._queue):
                return self._code_queue.popleft()
            if self._queue:
                return self._queue.popleft()
        return None

    def _drop_cancelled(self, queue: deque[_Chunk]) -> None:
        """Drop the chunks of abandoned requests from the head of ``queue`` (the lock is held)."""
        while queue and queue[0].batch.cancelled:
            chunk = queue.popleft()
            self._pending -= len(chunk.positions)
            chunk.batch.remaining -= len(chunk.positions)
            if chunk.batch.remaining <= 0:
                self._active.discard(chunk.batch)

    def _receive(self, w: _Worker) -> None:
        try:
            message = w.conn.recv()
        except (EOFError, OSError):
            self._replace(w, blame="crash")
            return
        except Exception:  # an unpicklable message: treat the worker as broken
            logger.exception("bad message from a worker")
            self._replace(w, blame="crash")
            return
        if message[0] == "ready":
            w.ready = True
            self._spawn_failures = 0
            return
        _, seq, results = message
        chunk = w.chunk
        if chunk is None or seq != w.seq:
            return
        for pos, result in results:
            w.received.add(pos)
            self._resolve(chunk.batch, chunk.positions[pos], result)
        if len(w.received) == len(chunk.positions):
            w.chunk = None

    def _resolve(self, batch: _Batch, pos: int, result: ScoredResult) -> None:
        if batch.results[pos] is not None:
            return
        batch.results[pos] = result
        batch.remaining -= 1
        self.stats.items_scored += 1
        with self._lock:
            self._pending -= 1
            if batch.remaining == 0:
                self._active.discard(batch)
        if batch.remaining == 0:
            batch.loop.call_soon_threadsafe(_set_result, batch.future, batch.results)

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for w in list(self._workers):
            if w.chunk is None or not w.ready:
                continue
            _pos, since = self._position(w)
            if now - since > self._deadline_s(w.chunk):
                self._replace(w, blame="timeout")

    def _replace(self, w: _Worker, blame: str | None) -> None:
        """Kill ``w``, settle its chunk (the current item blamed, the rest re-queued) and start another."""
        chunk = w.chunk
        pos, _since = self._position(w) if chunk is not None else (0, 0.0)
        with contextlib.suppress(ProcessLookupError, TypeError):
            os.kill(w.process.pid, signal.SIGKILL)
        w.process.join(5.0)
        w.conn.close()
        self._workers.remove(w)
        self.stats.restarts += 1
        if blame == "timeout":
            self.stats.timeouts += 1
        elif blame == "crash":
            self.stats.crashes += 1
        if chunk is not None:
            self._settle(chunk, w, pos, blame)
        if not self._stopping:
            if not w.ready:
                if not self._started.is_set():
                    raise RuntimeError(f"a worker died while starting (exit code {w.process.exitcode})")
                self._spawn_failures += 1
                logger.error("a replacement worker died while starting (exit code %s)", w.process.exitcode)
                time.sleep(min(5.0, 0.1 * 2**self._spawn_failures))  # do not spin on a broken environment
            self._spawn()

    def _settle(self, chunk: _Chunk, w: _Worker, pos: int, blame: str | None) -> None:
        """Resolve or re-queue the unanswered items of a killed worker's chunk.

        Only the item the worker was on (``pos``) is charged for a timeout or a crash; its chunk-mates are
        re-queued uncharged, however often that happens, so they are always scored. Deaths are bounded:
        each one charges an item, and an item is charged at most twice. Only when no item can be named
        (the chunk was never started, or every item was done and the results were lost on the way) does
        every unanswered item count an attempt, and :data:`_MAX_ATTEMPTS` of those end in ``worker_crashed``.
        """
        batch = chunk.batch
        identified = blame is not None and pos < len(chunk.positions)
        requeue: list[int] = []
        for i, batch_pos in enumerate(chunk.positions):
            if i in w.received or batch.results[batch_pos] is not None:
                continue
            if identified and i != pos:
                requeue.append(batch_pos)  # an innocent neighbour
            elif not identified:
                tries = batch.attempts.get(batch_pos, 0) + 1
                batch.attempts[batch_pos] = tries
                if tries >= _MAX_ATTEMPTS:
                    item_id = batch.items[batch_pos].id
                    self._resolve(
                        batch, batch_pos, ScoredResult.error(item_id, "worker_crashed", _CRASH_MESSAGE)
                    )
                else:
                    requeue.append(batch_pos)
            else:
                self._charge(chunk, batch_pos, blame)
        if requeue:
            with self._lock:
                self._queue.appendleft(_Chunk(batch, requeue, degraded=chunk.degraded))

    def _charge(self, chunk: _Chunk, batch_pos: int, blame: str | None) -> None:
        """The item a worker was on when it overran its deadline or died."""
        batch = chunk.batch
        item_id = batch.items[batch_pos].id
        if blame == "timeout" and not chunk.degraded:
            with self._lock:
                self._queue.appendleft(_Chunk(batch, [batch_pos], degraded=True))
        elif blame == "timeout":
            self._resolve(batch, batch_pos, _timeout_fallback(item_id, self.item_timeout_s))
        elif batch_pos not in batch.crashed:
            # One more try, alone, in case the worker was killed from outside (OOM killer, operator).
            batch.crashed.add(batch_pos)
            with self._lock:
                self._queue.appendleft(_Chunk(batch, [batch_pos], degraded=chunk.degraded))
        else:
            self._resolve(batch, batch_pos, ScoredResult.error(item_id, "worker_crashed", _CRASH_MESSAGE))

    def _shutdown(self) -> None:
        for w in self._workers:
            with contextlib.suppress(OSError, ValueError):
                w.conn.send(("stop",))
        deadline = time.monotonic() + 2.0
        for w in self._workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(w.process.pid, signal.SIGKILL)
                w.process.join(5.0)
            w.conn.close()
        self._workers.clear()
        with self._lock:
            batches, self._active = list(self._active), set()
            self._queue.clear()
            self._code_queue.clear()
        for batch in batches:
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                batch.loop.call_soon_threadsafe(_set_closed, batch.future)
        wake_r, wake_w = self._wake_r, self._wake_w
        self._wake_r = self._wake_w = -1
        for fd in (wake_r, wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


_CRASH_MESSAGE = "the worker scoring this item died (crash or memory limit); it was replaced"


def _timeout_fallback(item_id: str | None, timeout_s: float) -> ScoredResult:
    return ScoredResult.of(
        {
            "id": item_id,
            "reward": None,
            "scores": {"accuracy": None},
            "details": {"outcome": "timeout"},
            "error": {"code": "timeout", "message": f"scoring this item took longer than {timeout_s:g} s"},
        }
    )


def _abandon(batch: _Batch) -> None:
    batch.cancelled = True  # queued chunks of an abandoned request are dropped when they come up


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _set_closed(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(PoolClosed("the scoring pool stopped"))
