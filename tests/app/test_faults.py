"""Faults the pool must survive: hangs, crashes, memory blow-ups, saturation, unexpected errors.

Most cases use ``tests.app.fake_scorer`` (the scoring API with items that hang, segfault or allocate on
request) so each fault is deterministic; one case drives a real slow item through the real library.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import string
import time
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from app.records import WireItem
from tests.app.conftest import FAKE_SCORER, serve

FAULTS = [
    # (completion, expected error code, expected outcome): the item's own result
    ("sleep:30", None, "timeout"),  # hangs in the full check: degraded re-run gives accuracy null
    ("sleepall:30", "timeout", "timeout"),  # hangs in the degraded re-run too: an error, still answered
    ("crash", "worker_crashed", None),  # SIGSEGV kills the worker, and its replacement on the retry
    ("hog", "out_of_memory", None),  # 8 GiB allocation under RLIMIT_AS
    ("raise", "internal_error", None),
]


@pytest.mark.parametrize(("completion", "code", "outcome"), FAULTS)
async def test_fault_is_isolated_to_its_item(completion: str, code: str | None, outcome: str | None) -> None:
    async with serve(FAKE_SCORER, item_timeout_s=0.5, worker_memory_mb=512) as client:
        items = [{"completion": f"ok {i}", "answer": str(i), "id": f"g{i}"} for i in range(30)]
        items.insert(7, {"completion": completion, "answer": "1", "id": "bad"})
        # Answered within two deadlines at most, plus slack for a loaded machine.
        r = await asyncio.wait_for(client.post("/score", json={"items": items}), timeout=3 * 0.5 + 2.0)
        assert r.status_code == 200
        results = r.json()["results"]
        assert [x["id"] for x in results] == [i["id"] for i in items]
        bad = results.pop(7)
        assert all(x["scores"]["accuracy"] == 1.0 and x["error"] is None for x in results)
        assert (bad["error"] or {}).get("code") == code
        assert bad["details"].get("outcome") == outcome
        service = client.app.state.service  # type: ignore[attr-defined]
        await asyncio.sleep(0.3)  # the replacement worker warms up
        assert (await client.get("/health")).json()["workers"] == 2
        if code in ("worker_crashed", "timeout") or outcome == "timeout":
            assert service.pool.stats.restarts >= 1


async def test_many_faults_in_concurrent_batches_lose_nothing() -> None:
    async with serve(FAKE_SCORER, item_timeout_s=0.3, workers=2) as client:

        async def batch(b: int) -> list[dict[str, Any]]:
            items = [{"completion": f"ok {i}", "answer": str(i), "id": f"{b}-{i}"} for i in range(50)]
            items[b * 3] = {"completion": "crash" if b % 2 else "sleep:10", "answer": "x", "id": f"{b}-bad"}
            r = await client.post("/score", json={"items": items})
            assert r.status_code == 200
            return r.json()["results"]

        outs = await asyncio.gather(*(batch(b) for b in range(6)))
        for b, results in enumerate(outs):
            assert len(results) == 50
            good = [x for x in results if x["id"] != f"{b}-bad"]
            assert all(x["scores"]["accuracy"] == 1.0 for x in good)
        metrics = (await client.get("/metrics")).text
        assert 'vrewards_worker_restarts_total{reason="crash"} 6.0' in metrics  # each crash item tried twice
        assert "vrewards_item_timeouts_total 3.0" in metrics


async def test_worker_killed_from_outside_loses_nothing() -> None:
    """SIGKILL from outside (OOM killer, operator) mid-batch: the item it was on is retried, none is lost."""
    async with serve(FAKE_SCORER, item_timeout_s=5) as client:
        pool = client.app.state.service.pool  # type: ignore[attr-defined]
        items = [{"completion": "sleep:0.05", "answer": "0.05", "id": str(i)} for i in range(40)]
        task = asyncio.create_task(client.post("/score", json={"items": items}))
        await asyncio.sleep(0.3)
        os.kill(pool._workers[0].process.pid, signal.SIGKILL)
        results = (await task).json()["results"]
        assert [x["id"] for x in results] == [str(i) for i in range(40)]
        assert all(x["error"] is None and x["scores"]["accuracy"] == 1.0 for x in results)
        assert pool.stats.crashes == 1


async def test_saturated_gives_503_with_retry_after() -> None:
    async with serve(FAKE_SCORER, max_pending_items=4, retry_after_s=2, item_timeout_s=5) as client:
        slow = asyncio.create_task(client.post("/score", json={"items": [{"completion": "sleep:0.5"}] * 4}))
        await asyncio.sleep(0.1)
        r = await client.post("/score", json={"items": [{"completion": "ok"}]})
        assert r.status_code == 503 and r.headers["retry-after"] == "2"
        assert (await slow).status_code == 200
        r = await client.post(
            "/score", json={"items": [{"completion": "ok"}] * 10}
        )  # idle: a big batch is admitted
        assert r.status_code == 200


async def test_real_library_item_past_deadline() -> None:
    """The real scorer: an item that takes far longer than the others overruns a deadline set between them.

    The library keeps getting faster, so the deadline is calibrated here: a quarter of the slow item's time
    in this process, which must still be many times a normal item's.
    """
    import rewards

    rng = random.Random(0)
    vocabulary = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9))) for _ in range(5000)
    ]
    words = " ".join(rng.choice(vocabulary) for _ in range(600_000))
    slow = {
        "completion": f"<think>\n{words}\n</think>\n\\boxed{{4}}",
        "answer": "4",
        "lang": "en",
        "id": "slow",
    }
    items = [
        {"completion": f"<think>\nfour\n</think>\n\\boxed{{{i}}}", "answer": str(i), "id": str(i)}
        for i in range(8)
    ]

    def seconds(it: dict[str, Any]) -> float:
        start = time.perf_counter()
        rewards.score_item(rewards.Item(it["completion"], answer=it["answer"], lang=it.get("lang")))
        return time.perf_counter() - start

    slow_s, normal_s = seconds(slow), max(seconds(it) for it in items)
    deadline = slow_s / 4
    assert deadline > 10 * normal_s, (slow_s, normal_s)
    items.insert(3, slow)
    async with serve(item_timeout_s=deadline) as client:
        r = await client.post("/score", json={"items": items})
    results = {x["id"]: x for x in r.json()["results"]}
    assert results["slow"]["scores"]["accuracy"] is None, results["slow"]
    assert results["slow"]["details"]["outcome"] == "timeout"
    assert all(results[str(i)]["scores"]["accuracy"] == 1.0 for i in range(8))


async def test_health_503_before_start_and_after_stop() -> None:
    app = create_app(Settings(workers=1), scorer=FAKE_SCORER)
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/health")).status_code == 503
        r = await client.post("/score", json={"items": [{"completion": "ok"}]})
        assert r.status_code == 503 and "retry-after" in r.headers
        async with app.router.lifespan_context(app):
            assert (await client.get("/health")).status_code == 200
        assert (await client.get("/health")).status_code == 503


async def test_unexpected_error_is_a_bare_500() -> None:
    async with serve(FAKE_SCORER, workers=1) as client:
        service = client.app.state.service  # type: ignore[attr-defined]

        def broken(*_: Any) -> None:
            raise RuntimeError("secret internals")

        service.metrics.observe_results = broken
        r = await client.post("/score", json={"items": [{"completion": "ok"}]})
        assert r.status_code == 500
        assert r.json() == {"detail": "internal error"}
        assert "secret" not in r.text and "Traceback" not in r.text


# ---------------------------------------------------------------------------------------------------------
# Issue 17: innocent neighbours, liveness while respawning, per-request admission, abandoned work
# ---------------------------------------------------------------------------------------------------------


async def test_overrunning_items_never_charge_their_chunk_mates() -> None:
    """Four items of one chunk overrun the deadline, one after the other: each kill charges only the item
    its worker was on, so the chunk's sixty innocent items are all scored (none ``worker_crashed``)."""
    async with serve(FAKE_SCORER, item_timeout_s=0.3, chunk_items=64) as client:
        items = [{"completion": "ok 1", "answer": "1", "id": str(i)} for i in range(64)]
        for pos in (1, 4, 8, 12):  # one group: the first chunk holds all four
            items[pos] = {"completion": "sleep:30", "answer": "1", "id": f"slow{pos}"}
        r = await asyncio.wait_for(client.post("/score", json={"items": items}), timeout=60)
        results = r.json()["results"]
        slow = [x for x in results if x["id"].startswith("slow")]
        innocent = [x for x in results if not x["id"].startswith("slow")]
        assert all(x["details"]["outcome"] == "timeout" for x in slow)
        assert len(innocent) == 60 and all(x["error"] is None for x in innocent), innocent
        assert all(x["scores"]["accuracy"] == 1.0 for x in innocent)


async def test_health_stays_200_while_every_worker_is_replaced() -> None:
    async with serve(FAKE_SCORER, item_timeout_s=5) as client:
        pool = client.app.state.service.pool  # type: ignore[attr-defined]
        seen = []
        for _ in range(3):
            for worker in list(pool._workers):
                os.kill(worker.process.pid, signal.SIGKILL)
            for _ in range(40):  # across the replacement (about a second, bounded)
                r = await client.get("/health")
                seen.append((r.status_code, r.json()["status"]))
                await asyncio.sleep(0.025)
        assert {code for code, _ in seen} == {200}
        assert {status for _, status in seen} <= {"ok", "busy"}


async def test_micro_batch_admits_each_request_on_its_own() -> None:
    """One /get_reward too big for the room left and three small ones in the same window: only the big
    one gets 503."""
    async with serve(FAKE_SCORER, max_pending_items=10, microbatch_window_ms=200, item_timeout_s=5) as client:
        busy = asyncio.create_task(
            client.post("/score", json={"items": [{"completion": "sleep:0.5", "answer": "x"}] * 6})
        )
        await asyncio.sleep(0.1)
        big = client.post("/get_reward", json={"query": ["ok 1"] * 8, "labels": ["1"] * 8})
        small = [client.post("/get_reward", json={"query": ["ok 1"], "labels": ["1"]}) for _ in range(3)]
        answers = await asyncio.gather(big, *small)
        assert [a.status_code for a in answers] == [503, 200, 200, 200]
        assert all(a.json()["scores"] == [1.0] for a in answers[1:])
        assert (await busy).status_code == 200


async def test_abandoned_batch_drops_its_queued_items() -> None:
    async with serve(FAKE_SCORER, item_timeout_s=5) as client:
        pool = client.app.state.service.pool  # type: ignore[attr-defined]
        before = pool.stats.items_scored
        items = [WireItem("sleep:0.02", answer="x", id=str(i)) for i in range(400)]  # chunks of 64
        future = pool.submit(items, None)
        await asyncio.sleep(0.3)
        future.cancel()
        for _ in range(200):  # drained: the chunks in flight finish, the queued ones are dropped
            if pool.pending == 0:
                break
            await asyncio.sleep(0.05)
        assert pool.pending == 0
        assert pool.stats.items_scored - before <= 2 * 64  # only the two chunks the workers had
        r = await client.post("/score", json={"items": [{"completion": "ok 1", "answer": "1"}]})
        assert r.json()["results"][0]["scores"]["accuracy"] == 1.0
