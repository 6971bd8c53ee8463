"""OpenRLHF's calling pattern: 1,024 concurrent single-item ``POST /get_reward`` against one batch.

    python -m bench.get_reward              # 1,024 items, 3 rounds
    python -m bench.get_reward --quick      # 1 round
    python -m bench.get_reward --json

OpenRLHF's remote reward client sends one sample per request, N x G of them at once from several actors.
The service gathers concurrent requests into micro-batches, so they should cost about what one batch
costs. This starts ``vrewards serve`` on loopback and, for the same 1,024 GSM8K-style items (2 kB
reasoning; the query is prompt + completion as OpenRLHF sends it, the label is the reference), times:

- **single**: 1,024 concurrent ``/get_reward`` requests with one item each (one httpx.AsyncClient with
  1,024 connections; all requests started at once);
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
    """``rounds`` rounds of the three measurements on new items each round."""
    limits = httpx.Limits(max_connections=n + 8, max_keepalive_connections=n + 8)
    single_s: list[float] = []
    batch_s: list[float] = []
    gr_batch_s: list[float] = []
    disagree = 0
    cpu_single: list[float] = []
    async with httpx.AsyncClient(timeout=300.0, limits=limits) as client:
        await concurrent_singles(client, url, gsm8k_cases(64, start=9_000_000))  # warm-up: open connections
        for r in range(rounds):
            cases = gsm8k_cases(n, start=30_000_000 + 3 * r * n)
            cpu = time.process_time()
            seconds, single_rewards = await concurrent_singles(client, url, cases)
            cpu_single.append(time.process_time() - cpu)
            single_s.append(seconds)
            seconds, batch_rewards = await one_batch(
                client, url, gsm8k_cases(n, start=30_000_000 + (3 * r + 1) * n)
            )
            batch_s.append(seconds)
            seconds, _ = await one_get_reward_batch(
                client, url, gsm8k_cases(n, start=30_000_000 + (3 * r + 2) * n)
            )
            gr_batch_s.append(seconds)
            # Same items through both paths, timed above on distinct items; compare rewards on these.
            _, check = await one_batch(client, url, cases)
            disagree += mismatches(single_rewards, check)
            del batch_rewards
    return {
        "bench": "get_reward",
        "items": n,
        "rounds": rounds,
        "single_requests_s": statistics.median(single_s),
        "score_batch_s": statistics.median(batch_s),
        "get_reward_batch_s": statistics.median(gr_batch_s),
        "ratio_single_over_batch": statistics.median(single_s) / statistics.median(batch_s),
        "client_cpu_single_s": statistics.median(cpu_single),
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
    print(f"  {n} concurrent single-item /get_reward: {figures['single_requests_s'] * 1000:8.0f} ms")
    print(f"  one {n}-item /score batch:             {figures['score_batch_s'] * 1000:8.0f} ms")
    print(f"  one {n}-item /get_reward request:      {figures['get_reward_batch_s'] * 1000:8.0f} ms")
    print(f"  ratio singles / batch: {figures['ratio_single_over_batch']:.2f}x")
    print(
        f"  client CPU for the singles: {figures['client_cpu_single_s'] * 1000:.0f} ms (same cores as the service)"
    )
    print(f"  rewards that differ between /get_reward and /score: {figures['reward_mismatches']}")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
