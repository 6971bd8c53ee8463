"""How the service's time per completion grows with completion length and with batch size.

    python -m bench.throughput              # lengths 1, 4, 16, 64 kB at batch 256; batches 64..4096 at 2 kB
    python -m bench.throughput --quick      # fewer repeats
    python -m bench.throughput --json

Starts ``vrewards serve --workers N`` on loopback and posts GSM8K-style items (all three rewards on,
distinct items in every request) to ``/score``. Each point is the median over its repeats of the request's
wall time divided by its item count. Writes a table to stdout and ``bench/out/throughput.png`` and
``bench/out/throughput.json``. Flat lines mean the cost per completion does not depend on the batch size
(no per-batch overhead left) and grows with length only as fast as the unavoidable reading of the text.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.common import KB, gsm8k_cases, serve, sized_cases
from bench.service import encode, post_score

OUT_DIR = Path(__file__).resolve().parent / "out"
LENGTHS_KB = (1, 4, 16, 64)
BATCHES = (64, 256, 1024, 4096)


def point(client: httpx.Client, url: str, bodies: Sequence[tuple[int, bytes]]) -> dict[str, float]:
    """Median and min microseconds per completion over the given (item count, body) requests."""
    per_item = []
    for count, body in bodies:
        seconds, results = post_score(client, url, body)
        if len(results) != count:
            raise RuntimeError(f"asked for {count} results, got {len(results)}")
        per_item.append(seconds / count * 1e6)
    return {"median_us": statistics.median(per_item), "min_us": min(per_item), "requests": len(per_item)}


def by_length(client: httpx.Client, url: str, batch: int, repeats: int) -> list[dict[str, Any]]:
    """Time per completion at each length of ``LENGTHS_KB``, ``batch`` items per request."""
    rows = []
    for size_kb in LENGTHS_KB:
        bodies = []
        for r in range(repeats):
            cases = sized_cases(batch, size_kb * KB, start=10_000_000 + (size_kb * 100 + r) * batch)
            bodies.append((batch, encode(cases)))
        rows.append({"length_kb": size_kb, "batch": batch, **point(client, url, bodies)})
    return rows


def by_batch(client: httpx.Client, url: str, repeats: int) -> list[dict[str, Any]]:
    """Time per completion at each batch size of ``BATCHES``, 2 kB of reasoning per item."""
    rows = []
    for batch in BATCHES:
        # Repeat small batches more, so every point covers at least ~1,000 items.
        count = max(repeats, -(-1024 // batch))
        bodies = [
            (batch, encode(gsm8k_cases(batch, start=20_000_000 + batch * 1000 + r * batch)))
            for r in range(count)
        ]
        rows.append({"batch": batch, "length_kb": 2, **point(client, url, bodies)})
    return rows


def plot(lengths: Sequence[dict[str, Any]], batches: Sequence[dict[str, Any]], path: Path) -> None:
    """Two panels: microseconds per completion against length and against batch size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot([r["length_kb"] for r in lengths], [r["median_us"] for r in lengths], marker="o")
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set_xlabel("completion length (kB)")
    left.set_ylabel("time per completion (µs, median)")
    left.set_title(f"vs length (batch {lengths[0]['batch']})")
    left.grid(True, which="both", alpha=0.3)
    right.plot([r["batch"] for r in batches], [r["median_us"] for r in batches], marker="o")
    right.set_xscale("log", base=2)
    right.set_ylim(bottom=0)
    right.set_xlabel("batch size (items)")
    right.set_ylabel("time per completion (µs, median)")
    right.set_title("vs batch size (2 kB completions)")
    right.grid(True, which="both", alpha=0.3)
    fig.suptitle("vrewards /score over HTTP, all three rewards")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="service worker processes")
    parser.add_argument("--quick", action="store_true", help="one repeat per point, batch 128 for lengths")
    parser.add_argument("--json", action="store_true", help="print one JSON line with every figure")
    parser.add_argument("--url", help="benchmark an already running service instead of starting one")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where the PNG and JSON go")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    length_batch = 128 if args.quick else 256

    def run(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with httpx.Client(timeout=600.0) as client:
            post_score(client, url, encode(gsm8k_cases(64, start=9_000_000)))  # warm-up
            return by_length(client, url, length_batch, repeats), by_batch(client, url, repeats)

    started = time.perf_counter()
    if args.url:
        lengths, batches = run(args.url.rstrip("/"))
    else:
        with serve(workers=args.workers) as server:
            lengths, batches = run(server.url)

    print(f"\nTime per completion, vrewards serve --workers {args.workers} ({os.cpu_count()} cores)")
    print(f"{'length':>8} {'batch':>6} {'median µs':>10} {'min µs':>8} {'MB/s':>7}")
    for row in lengths:
        mb_per_s = row["length_kb"] * KB / (row["median_us"] / 1e6) / 1e6
        print(
            f"{row['length_kb']:>6}kB {row['batch']:>6} {row['median_us']:>10.0f} {row['min_us']:>8.0f} {mb_per_s:>7.1f}"
        )
    print(f"\n{'batch':>6} {'length':>8} {'median µs':>10} {'min µs':>8} {'items/s':>8}")
    for row in batches:
        print(
            f"{row['batch']:>6} {row['length_kb']:>6}kB {row['median_us']:>10.0f} {row['min_us']:>8.0f} "
            f"{1e6 / row['median_us']:>8.0f}"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / "throughput.png"
    plot(lengths, batches, png)
    record = {"bench": "throughput", "workers": args.workers, "by_length": lengths, "by_batch": batches}
    (args.out / "throughput.json").write_text(json.dumps(record, indent=2))
    print(f"\nplot: {png} (wall time {time.perf_counter() - started:.0f} s)")
    if args.json:
        print(json.dumps(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
