"""A bounded load test on loopback: saturation held with zero errors, 503 beyond it, memory flat.

    python -m bench.load                    # 300 s in all
    python -m bench.load --duration 60      # a shorter run
    python -m bench.load --json

Starts ``vrewards serve`` on 127.0.0.1 with ``VREWARDS_MAX_PENDING_ITEMS`` set (``--max-pending``) and
runs three phases against ``/score`` with GSM8K-style batches (``--batch`` items, 2 kB reasoning, all
rewards on, distinct items in every request):

1. **hold** (80% of the time): closed loop, ``--concurrency`` senders each posting its next batch as soon
   as the last one is answered. This keeps the service saturated (every worker busy, a short queue), so
   the completed request rate is the saturating rate. Expected: zero errors, every item answered.
2. **overload** (15%): open loop at ``--overload`` times the held rate. Expected: the excess is shed with
   503 and a Retry-After header, never another 5xx, and the requests admitted still complete.
3. **recover** (5%): the closed loop again. Expected: zero errors.

Server memory (RSS of the server and all its child processes, via psutil) is sampled every second; the
report compares the start and the end of the hold phase. Every loop is bounded in time and in count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import orjson

from bench.common import gsm8k_cases, percentile, serve, server_rss_mb

ALL_REWARDS: dict[str, Any] = {
    "accuracy": {"weight": 1.0},
    "format": {"weight": 0.5, "mode": "think"},
    "language": {"weight": 0.1},
}
MAX_IN_FLIGHT = 512  # the open-loop phase never holds more requests than this


@dataclass
class Phase:
    """What one phase saw."""

    name: str
    seconds: float = 0.0
    sent: int = 0
    ok: int = 0
    shed_503: int = 0
    shed_without_retry_after: int = 0
    other_errors: int = 0
    short_batches: int = 0
    wrong_verdicts: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def summary(self, batch: int) -> dict[str, Any]:
        """The phase's figures (latencies of successful requests only)."""
        return {
            "phase": self.name,
            "seconds": round(self.seconds, 1),
            "sent": self.sent,
            "ok": self.ok,
            "requests_per_s": round(self.ok / self.seconds, 2) if self.seconds else 0.0,
            "items_per_s": round(self.ok * batch / self.seconds, 1) if self.seconds else 0.0,
            "shed_503": self.shed_503,
            "shed_without_retry_after": self.shed_without_retry_after,
            "other_errors": self.other_errors,
            "short_batches": self.short_batches,
            "wrong_verdicts": self.wrong_verdicts,
            "statuses": dict(self.statuses),
            "p50_ms": round(percentile(self.latencies, 50) * 1000, 1),
            "p99_ms": round(percentile(self.latencies, 99) * 1000, 1),
        }


class Bodies:
    """Request bodies whose items are all distinct (new reference, answer and reasoning text in every
    request, so no cache ever answers), built cheaply from a pool of pre-generated reasoning."""

    def __init__(self, batch: int, pool: int = 256) -> None:
        self.batch = batch
        self._reasoning = [c.completion.split("\n")[1] for c in gsm8k_cases(pool, start=60_000_000)]
        self._count = itertools.count()

    def next(self) -> tuple[bytes, list[bool]]:
        """The next body and whether each of its items is right."""
        r = next(self._count)
        items, correct = [], []
        for k in range(self.batch):
            n = r * self.batch + k
            gold = 1000 + n
            right = n % 2 == 0
            given = gold if right else gold + 7
            reasoning = self._reasoning[n % len(self._reasoning)]
            items.append(
                {
                    "id": f"load-{n}",
                    "prompt": f"Solve problem {n} and give the final answer.",
                    "completion": f"<think>\nProblem {n}. {reasoning}\n</think>\nThe answer is {given}.\n#### {given}",
                    "answer": str(gold),
                    "lang": "en",
                }
            )
            correct.append(right)
        return orjson.dumps({"items": items, "rewards": ALL_REWARDS}), correct


async def _one(client: httpx.AsyncClient, url: str, bodies: Bodies, phase: Phase) -> None:
    body, correct = bodies.next()
    phase.sent += 1
    started = time.perf_counter()
    try:
        response = await client.post(
            f"{url}/score", content=body, headers={"Content-Type": "application/json"}
        )
    except httpx.HTTPError as exc:
        phase.other_errors += 1
        phase.statuses[type(exc).__name__] += 1
        return
    elapsed = time.perf_counter() - started
    phase.statuses[str(response.status_code)] += 1
    if response.status_code == 200:
        results = orjson.loads(response.content).get("results", [])
        if len(results) != len(correct) or any(r.get("error") for r in results):
            phase.short_batches += 1
        else:
            expected = [1.0 if right else 0.0 for right in correct]
            phase.wrong_verdicts += sum(
                r["scores"].get("accuracy") != e for r, e in zip(results, expected, strict=True)
            )
        phase.ok += 1
        phase.latencies.append(elapsed)
    elif response.status_code == 503:
        phase.shed_503 += 1
        if "retry-after" not in response.headers:
            phase.shed_without_retry_after += 1
    else:
        phase.other_errors += 1


async def closed_loop(
    client: httpx.AsyncClient, url: str, bodies: Bodies, concurrency: int, seconds: float, name: str
) -> Phase:
    """``concurrency`` senders, each posting again as soon as it is answered, for ``seconds``."""
    phase = Phase(name)
    started = time.perf_counter()
    deadline = started + seconds

    async def sender() -> None:
        while time.perf_counter() < deadline:
            await _one(client, url, bodies, phase)

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    phase.seconds = time.perf_counter() - started
    return phase


async def open_loop(
    client: httpx.AsyncClient, url: str, bodies: Bodies, rate: float, seconds: float, name: str
) -> Phase:
    """Requests started at ``rate`` per second whatever the answers, for ``seconds`` (bounded in flight)."""
    phase = Phase(name)
    started = time.perf_counter()
    tasks: set[asyncio.Task[None]] = set()
    for n in range(int(rate * seconds)):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(tasks) >= MAX_IN_FLIGHT:
            phase.statuses["client_in_flight_cap"] += 1
            continue
        task = asyncio.create_task(_one(client, url, bodies, phase))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=120)
    phase.seconds = time.perf_counter() - started
    return phase


async def sample_memory(pid: int, samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """Append (seconds since start, RSS MiB of the server tree) once a second until ``stop`` is set."""
    started = time.perf_counter()
    while not stop.is_set():
        samples.append((time.perf_counter() - started, server_rss_mb(pid)))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


@dataclass
class LoadReport:
    """The figures of one load run."""

    duration_s: float
    batch: int
    concurrency: int
    workers: int | None
    max_pending_items: int
    phases: list[dict[str, Any]]
    saturating_requests_per_s: float
    saturating_items_per_s: float
    rss_start_mb: float
    rss_end_mb: float
    rss_max_mb: float
    rss_samples: int

    @property
    def hold(self) -> dict[str, Any]:
        """The hold phase's figures."""
        return self.phases[0]


async def run_load(
    url: str,
    pid: int,
    *,
    duration_s: float,
    batch: int,
    concurrency: int,
    overload: float,
    workers: int | None,
    max_pending_items: int,
) -> LoadReport:
    """The three phases against a running server; see the module docstring."""
    bodies = Bodies(batch)
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT + concurrency, max_keepalive_connections=64)
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=120.0, limits=limits) as client:
        await _one(client, url, bodies, Phase("warmup"))
        sampler = asyncio.create_task(sample_memory(pid, samples, stop))
        hold = await closed_loop(client, url, bodies, concurrency, 0.80 * duration_s, "hold")
        hold_samples = list(samples)
        rate = max(hold.ok / hold.seconds, 0.5)
        over = await open_loop(client, url, bodies, overload * rate, 0.15 * duration_s, "overload")
        recover = await closed_loop(client, url, bodies, concurrency, 0.05 * duration_s, "recover")
        stop.set()
        await sampler
    tenth = max(1, len(hold_samples) // 10)
    head = [rss for _, rss in hold_samples[tenth : 2 * tenth]] or [0.0]  # skip the first tenth: warm-up
    tail = [rss for _, rss in hold_samples[-tenth:]] or [0.0]
    return LoadReport(
        duration_s=duration_s,
        batch=batch,
        concurrency=concurrency,
        workers=workers,
        max_pending_items=max_pending_items,
        phases=[p.summary(batch) for p in (hold, over, recover)],
        saturating_requests_per_s=round(rate, 2),
        saturating_items_per_s=round(rate * batch, 1),
        rss_start_mb=round(sum(head) / len(head), 1),
        rss_end_mb=round(sum(tail) / len(tail), 1),
        rss_max_mb=round(max((rss for _, rss in samples), default=0.0), 1),
        rss_samples=len(samples),
    )


def print_report(report: LoadReport) -> None:
    """A human-readable summary."""
    print(
        f"\nLoad test: {report.duration_s:.0f} s on loopback, batches of {report.batch}, "
        f"{report.concurrency} concurrent senders, workers {report.workers}, max pending items "
        f"{report.max_pending_items}"
    )
    header = f"{'phase':9} {'s':>6} {'sent':>6} {'ok':>6} {'req/s':>7} {'items/s':>8} {'503':>5} {'no R-A':>6} {'errors':>6} {'short':>5} {'wrong':>5} {'p50 ms':>7} {'p99 ms':>7}"
    print(header)
    print("-" * len(header))
    for p in report.phases:
        print(
            f"{p['phase']:9} {p['seconds']:>6.0f} {p['sent']:>6} {p['ok']:>6} {p['requests_per_s']:>7.1f} "
            f"{p['items_per_s']:>8.0f} {p['shed_503']:>5} {p['shed_without_retry_after']:>6} "
            f"{p['other_errors']:>6} {p['short_batches']:>5} {p['wrong_verdicts']:>5} {p['p50_ms']:>7.0f} {p['p99_ms']:>7.0f}"
        )
    print(
        f"saturating rate: {report.saturating_requests_per_s} requests/s = {report.saturating_items_per_s} items/s; "
        f"server RSS (all processes): {report.rss_start_mb} MiB early in the hold phase, "
        f"{report.rss_end_mb} MiB at its end, max {report.rss_max_mb} MiB ({report.rss_samples} samples)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the load test; see the module docstring."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=300.0, help="seconds in all (default 300)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="service worker processes")
    parser.add_argument("--batch", type=int, default=64, help="items per request")
    parser.add_argument(
        "--concurrency", type=int, default=0, help="closed-loop senders (default 4 x workers)"
    )
    parser.add_argument(
        "--overload", type=float, default=3.0, help="open-loop rate as a multiple of the held one"
    )
    parser.add_argument(
        "--max-pending",
        type=int,
        default=0,
        help="VREWARDS_MAX_PENDING_ITEMS (default 8 x concurrency x batch)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line with every figure")
    args = parser.parse_args(argv)
    concurrency = args.concurrency or 4 * args.workers
    max_pending = args.max_pending or 8 * concurrency * args.batch
    env = {"VREWARDS_MAX_PENDING_ITEMS": str(max_pending), "VREWARDS_LOG_LEVEL": "warning"}
    with serve(workers=args.workers, env=env) as server:
        report = asyncio.run(
            run_load(
                server.url,
                server.pid,
                duration_s=args.duration,
                batch=args.batch,
                concurrency=concurrency,
                overload=args.overload,
                workers=args.workers,
                max_pending_items=max_pending,
            )
        )
    print_report(report)
    if args.json:
        print(json.dumps({"bench": "load", **asdict(report)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
