"""The adversarial corpus (``tests/hardening/corpus.py``) posted to a real ``vrewards serve`` subprocess.

The service runs with 2 workers, a 3 s per-item deadline, a 768 MiB address-space bound per worker and a
completion limit raised to 16 M characters (so the 10 MB completions are scored, not refused). The corpus
goes out in batches of at most 24 items (the 10 MB completions in batches of one); cases whose strings
hold lone surrogates go as raw JSON with ``\\ud800``-style escapes, exactly what a byte-level tokenizer's
output can produce. Checked:

- every batch answers 200 (zero 5xx) with one result per item, in order, and no item error (but
  ``answer_too_long`` for a reference past the service's documented limit);
- every batch returns within the deadline's bound: each item gets at most one full attempt and one
  degraded re-run, each under the deadline, so a batch of n items on w workers takes at most
  ceil(n / w) x 2 x deadline (plus start-up slack); a hang would blow it;
- the required verdict wherever ``expected_outcome`` names one. ``timeout`` (accuracy null, masked from
  the policy gradient) is accepted instead only for the families built to make the math engine's work
  unbounded: towers, factorials, nested braces, deep chains, huge matrices, 10 MB texts, nested ``\\text``,
  long numbers and regex-backtracking probes. There the deadline *is* the defense, and a masked item
  cannot earn reward. Everywhere else (look-alikes, surrogates, NUL bytes, many boxes, repeated
  ``</think>``, injection, every option, hidden answers, code payloads) the input is cheap to judge and a
  timeout would itself be a bug;
- no code payload ran (the marker file never appears);
- every worker's resident memory, sampled every 50 ms, stays under the configured bound;
- the server is still healthy afterwards with all its workers.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import psutil
import pytest

from app.schemas import MAX_ANSWER_CHARS
from bench.common import Server, serve
from tests.hardening.corpus import PWNED_PATH, AdversarialCase, build_corpus, needs_json_escapes

pytestmark = pytest.mark.slow

WORKERS = 2
DEADLINE_S = 3.0
WORKER_MEMORY_MB = 768
BATCH_ITEMS = 24
BIG_CHARS = 1_000_000  # completions at least this long travel alone
DEADLINE_FAMILIES = frozenset(
    {
        "exponent_tower",
        "huge_factorial",
        "nested_braces",
        "deep_chains",
        "huge_matrix",
        "huge",
        "nested_text",
        "long_number",
        "regex_probe",
    }
)
CORPUS = build_corpus()


def batches(cases: list[AdversarialCase]) -> list[list[AdversarialCase]]:
    """Consecutive cases of one family, at most ``BATCH_ITEMS`` per batch, big completions alone; the
    corpus order is kept, so result ``i`` belongs to case ``i``."""
    out: list[list[AdversarialCase]] = []
    current: list[AdversarialCase] = []
    for case in cases:
        if len(case.completion) >= BIG_CHARS:
            if current:
                out.append(current)
                current = []
            out.append([case])
            continue
        if current and (len(current) >= BATCH_ITEMS or current[0].family != case.family):
            out.append(current)
            current = []
        current.append(case)
    if current:
        out.append(current)
    return out


def encode(batch: list[AdversarialCase], offset: int) -> bytes:
    """The /score body; with ``\\uXXXX`` escapes (stdlib json, ASCII output) when a string cannot be UTF-8."""
    items = [
        {"id": f"adv-{offset + n}", "completion": c.completion, "answer": c.answer, "prompt": c.prompt}
        for n, c in enumerate(batch)
    ]
    if any(needs_json_escapes(c) for c in batch):
        return json.dumps({"items": items}, ensure_ascii=True).encode("ascii")
    return orjson.dumps({"items": items})


class MemoryWatch:
    """Samples the resident memory of every worker (descendant processes of the server) in a thread."""

    def __init__(self, server_pid: int, interval_s: float = 0.05) -> None:
        self.server_pid = server_pid
        self.interval_s = interval_s
        self.max_rss_mb = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        root = psutil.Process(self.server_pid)
        while not self._stop.is_set():
            try:
                children = root.children(recursive=True)
            except psutil.Error:
                return
            for child in children:
                try:
                    self.max_rss_mb = max(self.max_rss_mb, child.memory_info().rss / 2**20)
                except psutil.Error:
                    continue
            self.samples += 1
            self._stop.wait(self.interval_s)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    env = {
        "VREWARDS_ITEM_TIMEOUT_S": str(DEADLINE_S),
        "VREWARDS_WORKER_MEMORY_MB": str(WORKER_MEMORY_MB),
        "VREWARDS_MAX_COMPLETION_CHARS": "16000000",
        "VREWARDS_LOG_LEVEL": "warning",
    }
    with serve(workers=WORKERS, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def answered(server: Server) -> dict[str, Any]:
    """Post the whole corpus once; the results, per-batch timings and the memory high-water mark."""
    if os.path.exists(PWNED_PATH):
        os.remove(PWNED_PATH)
    results: list[dict[str, Any]] = []
    timings: list[tuple[str, int, float, float]] = []
    statuses: Counter[int] = Counter()
    offset = 0
    with MemoryWatch(server.pid) as watch, httpx.Client(timeout=600.0) as client:
        for batch in batches(CORPUS):
            body = encode(batch, offset)
            bound = math.ceil(len(batch) / WORKERS) * 2 * DEADLINE_S + 10.0
            started = time.perf_counter()
            response = client.post(
                f"{server.url}/score", content=body, headers={"Content-Type": "application/json"}
            )
            elapsed = time.perf_counter() - started
            statuses[response.status_code] += 1
            assert response.status_code == 200, (batch[0].family, response.status_code, response.text[:300])
            batch_results = response.json()["results"]
            assert [r["id"] for r in batch_results] == [f"adv-{offset + n}" for n in range(len(batch))]
            results += batch_results
            timings.append((batch[0].family, len(batch), elapsed, bound))
            offset += len(batch)
    outcomes = Counter(r["details"].get("outcome") for r in results)
    slowest = sorted(timings, key=lambda t: t[2], reverse=True)[:5]
    print(
        f"\nadversarial corpus over HTTP: {len(CORPUS)} cases in {len(timings)} batches, "
        f"{sum(t[2] for t in timings):.1f} s; statuses {dict(statuses)}; outcomes {dict(outcomes)}; "
        f"worker RSS max {watch.max_rss_mb:.0f} MiB over {watch.samples} samples; slowest batches {slowest}"
    )
    return {"results": results, "timings": timings, "max_rss_mb": watch.max_rss_mb, "samples": watch.samples}


def _ids() -> list[str]:
    seen: Counter[str] = Counter()
    ids = []
    for case in CORPUS:
        seen[case.family] += 1
        ids.append(f"{case.family}-{seen[case.family]}")
    return ids


# ---------------------------------------------------------------------------------------------------------
# Per item: answered, as data, with the right verdict
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(CORPUS)), ids=_ids())
def test_case_is_answered_with_the_right_verdict(answered: dict[str, Any], index: int) -> None:
    case = CORPUS[index]
    result = answered["results"][index]
    if case.answer is not None and len(case.answer) > MAX_ANSWER_CHARS:
        # A documented limit: the item gets its own error, the rest of its batch is scored.
        assert result["error"] is not None and result["error"]["code"] == "answer_too_long", result
        return
    assert result["error"] is None, result["error"]
    accuracy = result["scores"]["accuracy"]
    outcome = result["details"].get("outcome")
    assert accuracy in (0.0, 1.0, None)
    if outcome == "timeout":
        assert case.family in DEADLINE_FAMILIES, f"{case.family} is cheap to judge: a timeout is a bug"
        assert accuracy is None
        return
    if case.expected_outcome is not None:
        assert outcome == case.expected_outcome, (
            case.family,
            case.completion[:120],
            case.answer and case.answer[:60],
        )
    for name in ("format", "language"):
        value = result["scores"].get(name)
        assert value is None or 0.0 <= value <= 1.0


# ---------------------------------------------------------------------------------------------------------
# Whole run: deadlines, memory, no code ran, still healthy
# ---------------------------------------------------------------------------------------------------------


def test_every_batch_returned_within_the_deadline_bound(answered: dict[str, Any]) -> None:
    late = [
        (family, n, round(elapsed, 1), bound)
        for family, n, elapsed, bound in answered["timings"]
        if elapsed > bound
    ]
    assert not late, late


def test_worker_memory_stayed_under_its_bound(answered: dict[str, Any]) -> None:
    assert answered["samples"] > 10
    assert 0 < answered["max_rss_mb"] < WORKER_MEMORY_MB


def test_no_payload_ran(answered: dict[str, Any]) -> None:
    assert answered["results"]
    assert not os.path.exists(PWNED_PATH)


def test_server_is_healthy_afterwards(answered: dict[str, Any], server: Server) -> None:
    assert answered["results"]
    health = httpx.get(f"{server.url}/health", timeout=10).json()
    assert health["status"] == "ok" and health["workers"] == WORKERS, health
