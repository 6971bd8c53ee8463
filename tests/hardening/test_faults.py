"""Fault injection against a real ``vrewards serve`` subprocess: nothing is lost when processes die.

- A scoring worker is SIGKILLed (twice) in the middle of a batch: the response still has one result per
  item, in order, each item either scored or carrying its own error, and every scored item has the right
  verdict; the pool replaces the dead workers.
- The server process is SIGKILLed (with its workers) between two batches and restarted on the same port
  a little later: a client call made while it is down retries until it gets through, and its batch is
  complete.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import psutil
import pytest

from bench.common import (
    Server,
    free_port,
    gsm8k_cases,
    items_of,
    latex_cases,
    serve,
    start_server,
    stop_server,
    wait_healthy,
)
from trainer_client.client import RewardClient

pytestmark = pytest.mark.slow

ENV = {"VREWARDS_ITEM_TIMEOUT_S": "5", "VREWARDS_LOG_LEVEL": "warning"}


def worker_pids(server_pid: int) -> set[int]:
    """Scoring workers: the children of the server's multiprocessing fork server."""
    root = psutil.Process(server_pid)
    pids: set[int] = set()
    for child in root.children(recursive=False):
        try:
            cmdline = " ".join(child.cmdline())
            if "forkserver" in cmdline:
                pids.update(grandchild.pid for grandchild in child.children(recursive=False))
        except psutil.Error:
            continue
    return pids


def wait_for_workers(server_pid: int, count: int, timeout_s: float = 30.0) -> set[int]:
    """The worker pids once ``count`` are up."""
    deadline = time.monotonic() + timeout_s
    while True:
        pids = worker_pids(server_pid)
        if len(pids) >= count or time.monotonic() > deadline:
            return pids
        time.sleep(0.1)


def wait_until_scoring(client: httpx.Client, url: str, timeout_s: float = 30.0) -> None:
    """Return once /health reports items pending (the batch is inside the pool)."""
    deadline = time.monotonic() + timeout_s
    while client.get(f"{url}/health").json()["pending_items"] == 0:
        assert time.monotonic() < deadline, "the batch never reached the workers"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve(workers=2, env=ENV) as running:
        yield running


# ---------------------------------------------------------------------------------------------------------
# A worker dies in the middle of a batch
# ---------------------------------------------------------------------------------------------------------


def test_killed_workers_lose_no_item(server: Server) -> None:
    before = wait_for_workers(server.pid, 2)
    assert len(before) == 2, f"expected 2 workers, found {before}"
    # LaTeX references, all distinct (the slow path) and as many items as the service takes in one batch,
    # so the batch is still running when the kills land however fast scoring gets.
    cases = latex_cases(3000, start=40_000_000) + gsm8k_cases(1000, start=40_000_000)
    body = orjson.dumps({"items": items_of(cases)})
    outcome: dict[str, httpx.Response] = {}

    def post() -> None:
        with httpx.Client(timeout=120.0) as client:
            outcome["response"] = client.post(
                f"{server.url}/score", content=body, headers={"Content-Type": "application/json"}
            )

    sender = threading.Thread(target=post)
    sender.start()
    killed: list[int] = []
    with httpx.Client(timeout=10.0) as probe:
        for _ in range(2):
            wait_until_scoring(probe, server.url)
            victim = sorted(worker_pids(server.pid) - set(killed))[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            assert sender.is_alive(), "the batch finished before a worker could be killed: make it larger"
            time.sleep(0.2)
    sender.join(120)
    assert not sender.is_alive()

    response = outcome["response"]
    assert response.status_code == 200, response.text[:500]
    results = response.json()["results"]
    assert [r["id"] for r in results] == [case.item["id"] for case in cases]  # none missing, none moved
    crashed = [r for r in results if r["error"] is not None]
    print(
        f"killed workers {killed}; {len(crashed)} of {len(results)} items got worker_crashed, the rest were scored"
    )
    assert len(crashed) <= len(killed)
    assert all(r["error"]["code"] == "worker_crashed" for r in crashed)
    for result, case in zip(results, cases, strict=True):
        if result["error"] is None:
            assert result["scores"]["accuracy"] == (1.0 if case.correct else 0.0), (case.item, result)

    after = wait_for_workers(server.pid, 2)
    assert len(after) == 2 and not after & set(killed), (before, killed, after)
    health = httpx.get(f"{server.url}/health", timeout=10)
    assert health.status_code == 200 and health.json()["workers"] == 2


# ---------------------------------------------------------------------------------------------------------
# The server dies between two batches
# ---------------------------------------------------------------------------------------------------------


def test_client_retries_across_a_server_restart(tmp_path: Path) -> None:
    port = free_port()
    first = start_server(workers=1, env=ENV, port=port, log_path=tmp_path / "first.log")
    replacement: list[Server] = []
    try:
        wait_healthy(first)
        batch_one = gsm8k_cases(300, start=41_000_000)
        batch_two = gsm8k_cases(300, start=41_100_000)
        with RewardClient(
            base_url=first.url,
            timeout=60.0,
            chunk_size=100,
            max_retries=30,
            backoff_base=0.2,
            backoff_max=1.0,
        ) as client:
            results = client.score(items_of(batch_one))
            assert [r.accuracy for r in results] == [1.0 if c.correct else 0.0 for c in batch_one]

            os.killpg(first.pid, signal.SIGKILL)  # the server and its workers, with no goodbye
            first.process.wait(10)

            def restart() -> None:
                time.sleep(1.5)  # the client's first attempts meet a closed port
                replacement.append(
                    start_server(workers=1, env=ENV, port=port, log_path=tmp_path / "replacement.log")
                )

            restarter = threading.Thread(target=restart)
            restarter.start()
            started = time.monotonic()
            results = client.score(items_of(batch_two))
            waited = time.monotonic() - started
            restarter.join()

        assert waited > 1.0, "the second batch cannot have been scored by the killed server"
        assert len(results) == len(batch_two)
        assert [r.id for r in results] == [c.item["id"] for c in batch_two]
        assert all(r.ok for r in results)
        assert [r.accuracy for r in results] == [1.0 if c.correct else 0.0 for c in batch_two]
    finally:
        stop_server(first)
        for server in replacement:
            stop_server(server)
