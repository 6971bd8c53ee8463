"""Service throughput and latency over HTTP against Math-Verify in-process, measured in one run.

    python -m bench.service                 # full run (about 3-4 minutes on 2 cores)
    python -m bench.service --quick         # smaller batches and fewer repeats (under a minute)
    python -m bench.service --json          # also print one JSON line with every figure
    python -m bench.service --scaling       # also throughput with 1, 2, 4, ... workers
    python -m bench.service --components accuracy   # what the service costs without format/language

What it does:

1. starts ``vrewards serve --workers N`` (default: every core) on a free loopback port;
2. for GSM8K-style items (2 kB of reasoning, integer answers) and MATH-style LaTeX items (fractions,
   radicals, intervals, matrices, pi; a distinct reference in every request, so the answer cache is
   cold), posts batches of 256 and 1024 to ``/score`` with all three rewards on and reports completions/s
   (request bodies are encoded before the clock starts; response decoding is timed);
3. runs Math-Verify (``parse`` the reference, ``parse`` the completion, ``verify``) in this process, main
   thread, on the same items, and prints the service's speed-up over it;
4. reports p50/p99 latency of a 1024-item GSM8K batch over repeated requests;
5. checks both scorers' verdicts against the generators' labels (a fast wrong answer is no answer).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import orjson

from bench.common import (
    Case,
    agreement,
    gsm8k_cases,
    items_of,
    latex_cases,
    math_verify_verdicts,
    percentile,
    serve,
)

ALL_REWARDS: dict[str, Any] = {
    "accuracy": {"weight": 1.0},
    "format": {"weight": 0.5, "mode": "think"},
    "language": {"weight": 0.1},
}
# The components every request asks for (--components narrows it, to show what each one costs).
REWARDS: dict[str, Any] = dict(ALL_REWARDS)
Generator = Callable[..., list[Case]]
DATASETS: dict[str, Generator] = {"gsm8k": gsm8k_cases, "latex": latex_cases}


@dataclass
class Row:
    """One measured configuration."""

    dataset: str
    batch: int
    requests: int
    service_per_s: float
    math_verify_per_s: float
    speedup: float
    service_agreement: float
    math_verify_agreement: float


def encode(cases: Sequence[Case]) -> bytes:
    """The request body for ``cases`` with every reward on."""
    return orjson.dumps({"items": items_of(cases), "rewards": REWARDS})


def post_score(client: httpx.Client, url: str, body: bytes) -> tuple[float, list[dict[str, Any]]]:
    """POST one encoded batch; (seconds, results). Raises on anything but 200."""
    started = time.perf_counter()
    response = client.post(f"{url}/score", content=body, headers={"Content-Type": "application/json"})
    if response.status_code != 200:
        raise RuntimeError(f"/score answered {response.status_code}: {response.text[:300]}")
    results = orjson.loads(response.content)["results"]
    return time.perf_counter() - started, results


def verdicts_of(results: Sequence[dict[str, Any]]) -> list[bool | None]:
    """Accuracy verdicts from wire results (None where accuracy is null)."""
    out: list[bool | None] = []
    for result in results:
        accuracy = (result.get("scores") or {}).get("accuracy")
        out.append(None if accuracy is None else accuracy == 1.0)
    return out


def measure_throughput(
    client: httpx.Client, url: str, dataset: str, batch: int, requests: int, mv_items: int
) -> Row:
    """Completions/s of ``requests`` sequential batches, and Math-Verify on the first ``mv_items`` items."""
    generate = DATASETS[dataset]
    # A distinct slice of indices per request (and per batch size): every LaTeX reference is new.
    offset = 1_000_000 * (1 + batch)
    batches = [generate(batch, start=offset + r * batch) for r in range(requests)]
    bodies = [encode(cases) for cases in batches]
    seconds = 0.0
    service_verdicts: list[bool | None] = []
    for body in bodies:
        elapsed, results = post_score(client, url, body)
        seconds += elapsed
        service_verdicts += verdicts_of(results)
    all_cases = [case for cases in batches for case in cases]
    anchor_cases = all_cases[:mv_items]
    mv_seconds, mv_verdicts = math_verify_verdicts(anchor_cases)
    service_rate = len(all_cases) / seconds
    mv_rate = len(anchor_cases) / mv_seconds
    return Row(
        dataset=dataset,
        batch=batch,
        requests=requests,
        service_per_s=service_rate,
        math_verify_per_s=mv_rate,
        speedup=service_rate / mv_rate,
        service_agreement=agreement(service_verdicts, all_cases),
        math_verify_agreement=agreement(mv_verdicts, anchor_cases),
    )


def measure_latency(client: httpx.Client, url: str, batch: int, requests: int) -> dict[str, float]:
    """p50/p99/max seconds of ``requests`` sequential ``batch``-item GSM8K requests (distinct items)."""
    bodies = [encode(gsm8k_cases(batch, start=5_000_000 + r * batch)) for r in range(requests)]
    times = [post_score(client, url, body)[0] for body in bodies]
    return {
        "batch": batch,
        "requests": requests,
        "p50_s": percentile(times, 50),
        "p99_s": percentile(times, 99),
        "max_s": max(times),
    }


def measure_scaling(max_workers: int, requests: int) -> list[dict[str, float]]:
    """GSM8K batch-1024 items/s with 1, 2, 4, ... workers (a fresh server for each count)."""
    counts = sorted({min(2**k, max_workers) for k in range(max_workers.bit_length() + 1)})
    rows: list[dict[str, float]] = []
    for workers in counts:
        with serve(workers=workers) as server, httpx.Client(timeout=600.0) as client:
            post_score(client, server.url, encode(gsm8k_cases(64, start=9_000_000)))
            bodies = [
                encode(gsm8k_cases(1024, start=7_000_000 + (workers * 100 + r) * 1024))
                for r in range(requests)
            ]
            seconds = sum(post_score(client, server.url, body)[0] for body in bodies)
        rate = requests * 1024 / seconds
        rows.append(
            {
                "workers": workers,
                "items_per_s": rate,
                "speedup": rate / rows[0]["items_per_s"] if rows else 1.0,
            }
        )
    return rows


def print_table(rows: Sequence[Row], workers: int) -> None:
    """The throughput table, one line per configuration."""
    print(f"\nThroughput over HTTP, vrewards serve --workers {workers}, rewards: {', '.join(REWARDS)}")
    header = f"{'dataset':8} {'batch':>6} {'reqs':>5} {'service/s':>10} {'Math-Verify/s':>14} {'ratio':>7} {'agree svc':>10} {'agree MV':>9}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.dataset:8} {row.batch:>6} {row.requests:>5} {row.service_per_s:>10.0f} "
            f"{row.math_verify_per_s:>14.0f} {row.speedup:>6.1f}x {row.service_agreement:>10.1%} "
            f"{row.math_verify_agreement:>9.1%}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="service worker processes")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, Math-Verify on fewer items")
    parser.add_argument("--json", action="store_true", help="print one JSON line with every figure")
    parser.add_argument("--url", help="benchmark an already running service instead of starting one")
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="also GSM8K batch-1024 throughput for 1, 2, 4, ... workers up to --workers",
    )
    parser.add_argument(
        "--components",
        default="accuracy,format,language",
        help="comma-separated reward components to request (default: all three)",
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.components.split(",") if name.strip()]
    unknown = set(chosen) - set(ALL_REWARDS)
    if not chosen or unknown:
        parser.error(f"--components: choose from {', '.join(ALL_REWARDS)}")
    REWARDS.clear()
    REWARDS.update({name: ALL_REWARDS[name] for name in chosen})

    repeats = {256: 2, 1024: 1} if args.quick else {256: 8, 1024: 4}
    mv_items = {"gsm8k": 256, "latex": 128} if args.quick else {"gsm8k": 1024, "latex": 512}
    latency_requests = 5 if args.quick else 30

    def run(url: str) -> dict[str, Any]:
        with httpx.Client(timeout=600.0) as client:
            post_score(client, url, encode(gsm8k_cases(64, start=9_000_000)))  # warm-up: imports, caches
            rows = [
                measure_throughput(client, url, dataset, batch, repeats[batch], mv_items[dataset])
                for dataset in DATASETS
                for batch in (256, 1024)
            ]
            latency = measure_latency(client, url, 1024, latency_requests)
        return {"rows": rows, "latency": latency}

    started = time.perf_counter()
    if args.url:
        figures = run(args.url.rstrip("/"))
    else:
        with serve(workers=args.workers) as server:
            figures = run(server.url)
    print_table(figures["rows"], args.workers)
    latency = figures["latency"]
    print(
        f"\nLatency of a {latency['batch']}-item GSM8K batch over {latency['requests']} requests: "
        f"p50 {latency['p50_s'] * 1000:.0f} ms, p99 {latency['p99_s'] * 1000:.0f} ms, "
        f"max {latency['max_s'] * 1000:.0f} ms"
    )
    scaling = measure_scaling(args.workers, 2 if args.quick else 4) if args.scaling and not args.url else []
    if scaling:
        print("\nGSM8K batch 1024 by worker count (items/s; speed-up over 1 worker)")
        for row in scaling:
            print(f"  workers {row['workers']:>3}: {row['items_per_s']:>7.0f}/s  {row['speedup']:.2f}x")
    print(f"(cores: {os.cpu_count()}, wall time {time.perf_counter() - started:.0f} s)")
    if args.json:
        record = {
            "bench": "service",
            "workers": args.workers,
            "cores": os.cpu_count(),
            "quick": args.quick,
            "components": chosen,
            "rows": [asdict(row) for row in figures["rows"]],
            "latency": latency,
            "scaling": scaling,
        }
        print(json.dumps(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
