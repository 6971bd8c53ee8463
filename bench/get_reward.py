"""OpenRLHF's calling pattern: 1,024 concurrent single-item ``POST /get_reward`` against one batch.

    python -m bench.get_reward              # 1,024 items, 3 rounds
    python -m bench.get_reward --quick      # 1 round
    python -m bench.get_reward --json

OpenRLHF's remote reward client sends one sample per request, N x G of them at once from several actors.
The service gathers concurrent requests into micro-batches, so they should cost about what one batch
costs. This starts ``vrewards serve`` on loopback and, for the same 1,024 GSM8K-style items (2 kB
reasoning; the query is prompt + completion as OpenRLHF sends it, the label is the reference), times:

- **single (raw)**: 1,024 concurrent ``/get_reward`` requests with one item each, sent by a minimal
  HTTP/1.1 client on asyncio streams over 1,024 keep-alive connections opened before the clock starts,
  so what is timed is the service, not the load generator;
- **single (httpx)**: the same through one ``httpx.AsyncClient`` with 1,024 connections, the way a Python
  trainer would send them (on a small machine this measures httpx's own CPU cost as much as the service);
- **batch**: one ``/score`` request with the 1,024 items;
- **get_reward batch**: one ``/get_reward`` request with the 1,024 items.

Each round uses new items (cold caches). It prints the wall time of each and the ratio single / batch,
and checks that the rewards agree item by item. The client's own CPU time is reported as well: on a
small machine the load generator competes with the service for the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

import httpx
import orjson

from bench.common import Case, gsm8k_cases, items_of, serve

JSON = {"Content-Type": "application/json"}


def openrlhf_body(cases: Sequence[Case]) -> bytes:
    """What OpenRLHF's client posts: queries (prompt + response), prompts and labels."""
    return orjson.dumps(
        {
            "query": [case.item["prompt"] + case.completion for case in cases],
            "prompts": [case.item["prompt"] for case in cases],
            "labels": [case.gold for case in cases],
        }
    )


class RawConnections:
    """Keep-alive HTTP/1.1 connections on asyncio streams: one request in flight per connection."""

    def __init__(self, url: str) -> None:
        parts = httpx.URL(url)
        self.host, self.port = parts.host, parts.port or 80
        self.streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def open(self, count: int) -> None:
        """Open ``count`` connections (not timed)."""
        self.streams += await asyncio.gather(
            *(asyncio.open_connection(self.host, self.port) for _ in range(count))
        )

    async def post(self, index: int, path: str, body: bytes) -> tuple[int, bytes]:
        """POST ``body`` on connection ``index``; (status, response body)."""
        reader, writer = self.streams[index]
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        writer.write(head + body)
        status_line, *header_lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        length = 0
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return int(status_line.split()[1]), await reader.readexactly(length)

    async def close(self) -> None:
        """Close every connection."""
        for _, writer in self.streams:
            writer.close()
        await asyncio.gather(*(writer.wait_closed() for _, writer in self.streams), return_exceptions=True)


async def raw_singles(url: str, cases: Sequence[Case]) -> tuple[float, list[float]]:
    """Wall seconds for one ``/get_reward`` request per item, each on its own connection opened just
    before the clock starts (the server closes idle keep-alive connections after a few seconds); the
    rewards."""
    bodies = [openrlhf_body([case]) for case in cases]
    connections = RawConnections(url)
    await connections.open(len(bodies))

    async def one(index: int, body: bytes) -> float:
        status, content = await connections.post(index, "/get_reward", body)
        if status != 200:
            raise RuntimeError(f"/get_reward answered {status}: {content[:300]!r}")
        return float(orjson.loads(content)["rewards"][0])

    started = time.perf_counter()
    rewards = await asyncio.gather(*(one(i, body) for i, body in enumerate(bodies)))
    elapsed = time.perf_counter() - started
    await connections.close()
    return elapsed, list(rewards)


async def concurrent_singles(
    client: httpx.AsyncClient, url: str, cases: Sequence[Case]
) -> tuple[float, list[float]]:
    """Wall seconds for one ``/get_reward`` request per item, all in flight at once; the rewards."""
    bodies = [openrlhf_body([case]) for case in cases]

    async def one(body: bytes) -> float:
        response = await client.post(f"{url}/get_reward", content=body, headers=JSON)
        if response.status_code != 200:
            raise RuntimeError(f"/get_reward answered {response.status_code}: {response.text[:300]}")
        return float(orjson.loads(response.content)["rewards"][0])

    started = time.perf_counter()
    rewards = await asyncio.gather(*(one(body) for body in bodies))
    return time.perf_counter() - started, list(rewards)


async def one_batch(
    client: httpx.AsyncClient, url: str, cases: Sequence[Case]
) -> tuple[float, list[float | None]]:
    """Wall seconds for the items as one ``/score`` batch (default rewards, as /get_reward uses); the rewards."""
    body = orjson.dumps({"items": items_of(cases)})
    started = time.perf_counter()
    response = await client.post(f"{url}/score", content=body, headers=JSON)
    if response.status_code != 200:
        raise RuntimeError(f"/score answered {response.status_code}: {response.text[:300]}")
    results = orjson.loads(response.content)["results"]
    return time.perf_counter() - started, [r["reward"] for r in results]


async def one_get_reward_batch(
    client: httpx.AsyncClient, url: str, cases: Sequence[Case]
) -> tuple[float, list[float]]:
    """Wall seconds for the items as one multi-item ``/get_reward`` request; the rewards."""
    started = time.perf_counter()
    response = await client.post(f"{url}/get_reward", content=openrlhf_body(cases), headers=JSON)
    if response.status_code != 200:
        raise RuntimeError(f"/get_reward answered {response.status_code}: {response.text[:300]}")
    rewards = orjson.loads(response.content)["rewards"]
    return time.perf_counter() - started, [float(r) for r in rewards]


def mismatches(a: Sequence[float | None], b: Sequence[float | None], null_reward: float = 0.0) -> int:
    """Items whose rewards differ by more than 1e-9 (a null counts as ``null_reward``, as /get_reward sends it)."""
    count = 0
    for x, y in zip(a, b, strict=True):
        xv = null_reward if x is None else x
        yv = null_reward if y is None else y
        count += abs(xv - yv) > 1e-9
    return count


async def run(url: str, n: int, rounds: int) -> dict[str, Any]:
    """``rounds`` rounds of the measurements, on new items each time."""
    limits = httpx.Limits(max_connections=n + 8, max_keepalive_connections=n + 8)
    times: dict[str, list[float]] = {"raw": [], "httpx": [], "score": [], "get_reward": []}
    cpu: dict[str, list[float]] = {"raw": [], "httpx": []}
    disagree = 0
    async with httpx.AsyncClient(timeout=300.0, limits=limits) as client:
        await raw_singles(url, gsm8k_cases(n, start=9_000_000))  # warm-up
        await concurrent_singles(client, url, gsm8k_cases(64, start=9_100_000))
        for r in range(rounds):
            base = 30_000_000 + 4 * r * n
            raw_cases = gsm8k_cases(n, start=base)
            clock = time.process_time()
            seconds, raw_rewards = await raw_singles(url, raw_cases)
            cpu["raw"].append(time.process_time() - clock)
            times["raw"].append(seconds)
            clock = time.process_time()
            seconds, _ = await concurrent_singles(client, url, gsm8k_cases(n, start=base + n))
            cpu["httpx"].append(time.process_time() - clock)
            times["httpx"].append(seconds)
            times["score"].append((await one_batch(client, url, gsm8k_cases(n, start=base + 2 * n)))[0])
            times["get_reward"].append(
                (await one_get_reward_batch(client, url, gsm8k_cases(n, start=base + 3 * n)))[0]
            )
            # The same items through /score: every reward must match what /get_reward answered.
            _, check = await one_batch(client, url, raw_cases)
            disagree += mismatches(raw_rewards, check)
    median = {name: statistics.median(values) for name, values in times.items()}
    return {
        "bench": "get_reward",
        "items": n,
        "rounds": rounds,
        "single_requests_raw_s": median["raw"],
        "single_requests_httpx_s": median["httpx"],
        "score_batch_s": median["score"],
        "get_reward_batch_s": median["get_reward"],
        "ratio_single_over_batch": median["raw"] / median["score"],
        "ratio_single_httpx_over_batch": median["httpx"] / median["score"],
        "client_cpu_raw_s": statistics.median(cpu["raw"]),
        "client_cpu_httpx_s": statistics.median(cpu["httpx"]),
        "reward_mismatches": disagree,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="service worker processes")
    parser.add_argument("--items", type=int, default=1024, help="items (and concurrent requests)")
    parser.add_argument("--quick", action="store_true", help="one round")
    parser.add_argument("--json", action="store_true", help="print one JSON line with every figure")
    parser.add_argument("--url", help="benchmark an already running service instead of starting one")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else 3
    if args.url:
        figures = asyncio.run(run(args.url.rstrip("/"), args.items, rounds))
    else:
        with serve(workers=args.workers, env={"VREWARDS_LOG_LEVEL": "warning"}) as server:
            figures = asyncio.run(run(server.url, args.items, rounds))
    n = figures["items"]
    print(f"\n{n} items, GSM8K-style, median of {figures['rounds']} round(s), workers {args.workers}")
    for label, key, cpu in (
        ("concurrent single-item /get_reward, raw client", "single_requests_raw_s", "client_cpu_raw_s"),
        ("concurrent single-item /get_reward, httpx", "single_requests_httpx_s", "client_cpu_httpx_s"),
    ):
        print(f"  {n} {label:47} {figures[key] * 1000:8.0f} ms  (client CPU {figures[cpu] * 1000:.0f} ms)")
    print(f"  one {n}-item /score batch{'':30} {figures['score_batch_s'] * 1000:8.0f} ms")
    print(f"  one {n}-item /get_reward request{'':23} {figures['get_reward_batch_s'] * 1000:8.0f} ms")
    print(
        f"  ratio singles / batch: {figures['ratio_single_over_batch']:.2f}x (raw client), "
        f"{figures['ratio_single_httpx_over_batch']:.2f}x (httpx)"
    )
    print(f"  rewards that differ between /get_reward and /score: {figures['reward_mismatches']}")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
