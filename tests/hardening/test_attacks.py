"""Attacks a client on loopback can mount, one family per test, against a real ``vrewards serve``.

Each attack runs while a probe thread keeps asking for ``GET /health`` and a trainer-sized ``POST /score``
(8 items) on fresh connections, each under a generous hang guard (:data:`HANG_S`): the attack must not
freeze, starve or refuse them. A sampler records the resident memory of the service (the server and all
its processes) every 50 ms; it must stay under :data:`MEMORY_BOUND_MB`, the bound the README states for
this configuration: 400 MiB + 4 x ``max_inflight_bytes`` + 2 workers x 160 MiB. Every attack is bounded in
connections, bytes and time, and talks to 127.0.0.1 only.

Families (issue: "no client can freeze, starve or bloat the service"):

1. work on the event loop proportional to the input (EOS tokens by the million);
2. connections (half-sent heads, huge heads, many headers, slow heads and bodies, a full house);
3. memory in bytes (a gzip body of millions of ``{}``; many concurrent bodies of 4 MB items);
4. innocent chunk-mates of killed workers are always scored;
5. the work of a client that disconnects is dropped (and what its idempotent retry gets);
6. ``/health`` stays 200 while every worker is being replaced;
7. admission per request in the ``/get_reward`` micro-batcher;
8. every number in the ``rewards`` block range-checked (422 naming the field, never 500 or null);
9. nothing echoed unbounded, nothing logged unescaped, two ``Authorization`` headers refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from bench.common import Server, gsm8k_cases, items_of, serve, server_rss_mb
from tests.hardening.test_faults import worker_pids

pytestmark = pytest.mark.slow

TOKEN = "attack-suite-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MiB = 1 << 20
INFLIGHT_MB = 64
MEMORY_BOUND_MB = 400 + 4 * INFLIGHT_MB + 2 * 160
HANG_S = 60.0  # a probe request that takes longer than this counts as a freeze
MAX_CONNECTIONS = 64
HEADER_TIMEOUT_S = 2.0
BODY_TIMEOUT_S = 8.0  # 12 concurrent 58 MB uploads on a loaded 2-core machine must fit
MAX_PENDING = 2048
ENV = {
    "VREWARDS_API_TOKEN": TOKEN,
    "VREWARDS_LOG_JSON": "false",  # text logs: the format where an unescaped newline would forge a line
    "VREWARDS_LOG_LEVEL": "info",
    "VREWARDS_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    "VREWARDS_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
    "VREWARDS_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
    "VREWARDS_MAX_INFLIGHT_BYTES": str(INFLIGHT_MB * MiB),
    "VREWARDS_MAX_PENDING_ITEMS": str(MAX_PENDING),
    "VREWARDS_MICROBATCH_WINDOW_MS": "200",  # wide windows: neighbours of family 7 share one
    "VREWARDS_ITEM_TIMEOUT_S": "5",
    "VREWARDS_WORKER_MEMORY_MB": "768",
}
THINK = "<think>\nTwo and two make four.\n</think>\n"
TRAINER_BATCH = {
    "items": [
        {"completion": THINK + f"\\boxed{{{i}}}", "answer": str(i), "id": f"t{i}", "group": "g"}
        for i in range(8)
    ]
}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve(workers=2, env=ENV) as running:
        yield running


# ---------------------------------------------------------------------------------------------------------
# The probe: /health and a trainer request keep being served, memory stays bounded
# ---------------------------------------------------------------------------------------------------------


class Probe:
    """Background probing during an attack; :meth:`check` asserts what it saw."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.rounds = 0
        self.failures: list[str] = []
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._probe), threading.Thread(target=self._sample)]

    def __enter__(self) -> Probe:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        # at least two full rounds while the attack ran or just after it (bounded by the hang guard)
        deadline = time.monotonic() + 2 * HANG_S
        start = self.rounds
        while self.rounds < start + 2 and time.monotonic() < deadline and not self.failures:
            time.sleep(0.05)
        self._stop.set()
        for thread in self._threads:
            thread.join(2 * HANG_S)

    def _probe(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)  # a fresh connection per request
        with httpx.Client(base_url=self.server.url, timeout=HANG_S, headers=AUTH, limits=limits) as client:
            while not self._stop.is_set():
                try:
                    health = client.get("/health")
                    if health.status_code != 200:
                        self.failures.append(f"/health {health.status_code}: {health.text[:200]}")
                    scored = client.post("/score", json=TRAINER_BATCH)
                    if scored.status_code != 200:
                        self.failures.append(f"/score {scored.status_code}: {scored.text[:200]}")
                    elif [r["scores"]["accuracy"] for r in scored.json()["results"]] != [1.0] * 8:
                        self.failures.append(f"/score wrong results: {scored.text[:300]}")
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                self.rounds += 1
                self._stop.wait(0.2)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, server_rss_mb(self.server.pid))
            self._stop.wait(0.05)

    def check(self) -> None:
        assert not self.failures, self.failures[:5]
        assert self.rounds >= 2
        assert self.peak_mb < MEMORY_BOUND_MB, f"service memory peaked at {self.peak_mb:.0f} MiB"


def healthy_afterwards(server: Server) -> None:
    r = httpx.get(f"{server.url}/health", timeout=HANG_S)
    assert r.status_code == 200 and r.json()["status"] in ("ok", "busy")


def post_raw(server: Server, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", content=body, headers={**AUTH, **headers}, timeout=HANG_S)


def connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=HANG_S)
    return sock


def read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by the hang guard)."""
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def full_log(server: Server) -> str:
    return server.log_tail(1 << 30)


def metric(server: Server, name: str) -> float:
    text = httpx.get(f"{server.url}/metrics", headers=AUTH, timeout=HANG_S).text
    found = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    assert found, name
    return float(found.group(1))


# ---------------------------------------------------------------------------------------------------------
# 1. Work on the event loop proportional to the input
# ---------------------------------------------------------------------------------------------------------

EOS_FLOODS = [
    # (tokens, how many such requests at once)
    ("</s>", 400_000, 2),
    ("<|im_end|>\n", 2_000_000, 1),  # 22 MB of query from a 100 kB gzip body
    ("<|endoftext|>", 1_000_000, 2),
]


@pytest.mark.parametrize(("token", "count", "concurrent"), EOS_FLOODS)
def test_eos_flood_does_not_freeze_the_service(
    server: Server, token: str, count: int, concurrent: int
) -> None:
    query = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n" + THINK + "\\boxed{4}"
    body = gzip.compress(orjson.dumps({"query": [query + token * count], "labels": ["4"]}))
    answers: list[httpx.Response] = []
    with Probe(server) as probe:
        threads = [
            threading.Thread(
                target=lambda: answers.append(
                    post_raw(server, "/get_reward", body, {"Content-Encoding": "gzip"})
                )
            )
            for _ in range(concurrent)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HANG_S)
    probe.check()
    assert [a.status_code for a in answers] == [200] * concurrent
    assert all(a.json()["scores"] == [1.0] for a in answers)  # the tokens were stripped, the answer found


# ---------------------------------------------------------------------------------------------------------
# 2. Connections
# ---------------------------------------------------------------------------------------------------------


def test_half_sent_requests_never_lock_out_real_clients(server: Server) -> None:
    """Ten times the connection cap in half-sent heads: the oldest are closed to make room, so the probe
    (fresh connections) is always served; the cap holds (the server never has more sockets open)."""
    socks: list[socket.socket] = []
    with Probe(server) as probe:
        for i in range(10 * MAX_CONNECTIONS):
            sock = connect(server)
            sock.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n")  # never finished
            socks.append(sock)
            if i % 16 == 0:
                time.sleep(0.05)
        # most of them were closed by the server already
        open_fds = len(os.listdir(f"/proc/{server.pid}/fd"))
    probe.check()
    assert open_fds < MAX_CONNECTIONS + 256
    for sock in socks:
        sock.close()
    assert "limit=max_connections_evicted" in full_log(server)


HEAD_ATTACKS = [
    # (name, head bytes after the request line, expected status, limit logged (None: the access line))
    ("one 1 MiB header", b"X-Big: " + b"a" * MiB + b"\r\n", b"431", "max_header_bytes"),
    ("150 kB cookie", b"Cookie: " + b"c=1; " * 30_000 + b"\r\n", b"431", "max_header_bytes"),
    ("500 small headers", b"".join(b"X-H%d: v\r\n" % i for i in range(500)), b"431", None),
]


@pytest.mark.parametrize(("name", "head", "status", "logged"), HEAD_ATTACKS, ids=[a[0] for a in HEAD_ATTACKS])
def test_oversized_heads_are_refused_early(
    server: Server, name: str, head: bytes, status: bytes, logged: str | None
) -> None:
    with Probe(server) as probe:
        sock = connect(server)
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
        answer = read_answer(sock)
        sock.close()
    probe.check()
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
    if logged is not None:
        assert f"limit={logged}" in full_log(server)


SLOW_REQUESTS = [
    # (name, what is sent before going silent, expected answer line, limit logged)
    ("slow head", b"POST /score HTTP/1.1\r\nHost: x\r\n", b"HTTP/1.1 408", "header_timeout"),
    (
        "slow body",
        b"POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + TOKEN.encode()
        + b'\r\nContent-Length: 1000\r\n\r\n{"items"',
        b"HTTP/1.1 408",
        "body_timeout",
    ),
    ("idle socket", b"", b"", None),  # closed without an answer: nothing was asked
]


@pytest.mark.parametrize(
    ("name", "sent", "expected", "logged"), SLOW_REQUESTS, ids=[s[0] for s in SLOW_REQUESTS]
)
def test_slow_requests_are_timed_out(
    server: Server, name: str, sent: bytes, expected: bytes, logged: str | None
) -> None:
    with Probe(server) as probe:
        socks = [connect(server) for _ in range(MAX_CONNECTIONS // 2)]
        for sock in socks:
            sock.sendall(sent)
        answers = [read_answer(sock) for sock in socks]  # returns once the server closes (hang guard)
        for sock in socks:
            sock.close()
    probe.check()
    assert all(a.startswith(expected) for a in answers), answers[:2]
    if logged is not None:
        assert f"limit={logged}" in full_log(server)
    healthy_afterwards(server)


def test_beyond_the_cap_of_busy_connections_is_a_clear_503(server: Server) -> None:
    """Every connection busy with a request (bodies still arriving): a new one is answered 503 +
    Retry-After; once the slow bodies time out the service serves again."""
    busy = [connect(server) for _ in range(MAX_CONNECTIONS)]
    for sock in busy:
        sock.sendall(f"POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n".encode())
        sock.sendall(b"Content-Length: 100\r\n\r\n{")
    time.sleep(0.3)  # let the server read every head
    extra = connect(server)
    answer = read_answer(extra)
    extra.close()
    for sock in busy:
        read_answer(sock)
        sock.close()
    assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
    assert b"retry-after: 1" in answer.lower()
    healthy_afterwards(server)
    assert "limit=max_connections_refused" in full_log(server)


def test_a_client_that_stops_reading_is_cut_off(server: Server) -> None:
    """A request whose ~6 MB response (each extracted answer is echoed in ``details``) the client never
    reads, with a tiny receive window: the server gives up after the body timeout and closes the
    connection; the probe is served meanwhile."""
    items = [{"completion": "\\boxed{" + "x" * 6000 + "}", "answer": "1", "id": str(i)} for i in range(1000)]
    body = orjson.dumps({"items": items})
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(HANG_S)
    sock.connect((host, int(port)))
    with Probe(server) as probe:
        sock.sendall(
            b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        deadline = time.monotonic() + 4 * HANG_S
        while "limit=slow_reader" not in full_log(server):
            assert time.monotonic() < deadline, "the slow reader was never cut off"
            time.sleep(0.2)
    answer = read_answer(sock)
    sock.close()
    probe.check()
    assert answer.startswith(b"HTTP/1.1 200")
    assert len(answer) < 1000 * 6000  # cut off: the whole response never went out


# ---------------------------------------------------------------------------------------------------------
# 3. Memory is bounded in bytes
# ---------------------------------------------------------------------------------------------------------


def test_structure_bomb_is_refused_before_parsing(server: Server) -> None:
    """64 kB of gzip expanding to 22 million ``{},`` in an ignored field: 422, memory flat."""
    raw = b'{"items": [], "ignored": [' + b"{}," * 21_000_000 + b"{}]}"
    body = gzip.compress(raw, 9)
    del raw
    with Probe(server) as probe:
        answers = [post_raw(server, "/score", body, {"Content-Encoding": "gzip"}) for _ in range(3)]
    probe.check()
    assert [a.status_code for a in answers] == [422] * 3
    assert answers[0].json()["detail"][0]["type"] == "too_many_values"


def test_concurrent_large_bodies_are_shed_by_bytes(server: Server) -> None:
    """Twelve concurrent requests of 15 items of 3.9 MB: the bytes-in-flight bound answers some with 503 +
    Retry-After instead of holding them all; those admitted are scored."""
    filler = "The sum of two and two is four. " * (3_900_000 // 32)
    items = [{"completion": THINK + filler + "\\boxed{4}", "answer": "4", "id": str(i)} for i in range(15)]
    body = orjson.dumps({"items": items})
    answers: list[httpx.Response] = []
    with Probe(server) as probe:
        threads = [
            threading.Thread(target=lambda: answers.append(post_raw(server, "/score", body, {})))
            for _ in range(12)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(4 * HANG_S)
    probe.check()
    statuses = sorted(a.status_code for a in answers)
    assert len(statuses) == 12 and set(statuses) <= {200, 503} and 503 in statuses and 200 in statuses
    for answer in answers:
        if answer.status_code == 503:
            assert answer.headers["retry-after"] == "1"
        else:
            assert [r["scores"]["accuracy"] for r in answer.json()["results"]] == [1.0] * 15


# ---------------------------------------------------------------------------------------------------------
# 4 and 6. Workers killed again and again: chunk-mates always scored, /health never 503
# ---------------------------------------------------------------------------------------------------------


def test_killed_workers_charge_only_their_current_item_and_health_stays_up(server: Server) -> None:
    kills = 10
    items = [
        {"completion": THINK + f"Adding step by step gives \\boxed{{{7}}}.", "answer": "7", "id": str(i)}
        for i in range(1500)  # one group: one answer, so one worker's chunks are all its mates
    ]
    health: list[int] = []
    stop = threading.Event()

    def watch_health() -> None:
        with httpx.Client(timeout=HANG_S) as client:
            while not stop.is_set():
                health.append(client.get(f"{server.url}/health").status_code)
                stop.wait(0.02)

    def kill_workers() -> None:
        done = 0
        deadline = time.monotonic() + HANG_S
        while done < kills and time.monotonic() < deadline:
            pids = worker_pids(server.pid)
            if len(pids) < 2:  # replacements still starting
                time.sleep(0.05)
                continue
            for pid in list(pids)[: kills - done]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                done += 1
            time.sleep(0.25)

    results: list[dict[str, Any]] = []

    def score() -> None:
        with httpx.Client(timeout=4 * HANG_S, headers=AUTH) as client:
            r = client.post(f"{server.url}/score", json={"items": items})
            assert r.status_code == 200, r.text[:300]
            results.extend(r.json()["results"])

    threads = [threading.Thread(target=watch_health), threading.Thread(target=score)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    kill_workers()
    threads[1].join(4 * HANG_S)
    stop.set()
    threads[0].join(HANG_S)
    assert len(results) == len(items), "the batch was not answered"
    crashed = [r for r in results if (r["error"] or {}).get("code") == "worker_crashed"]
    # each kill charges the one item its worker was on; an item needs two charges to be given up
    assert len(crashed) <= kills // 2, len(crashed)
    scored = [r for r in results if r["error"] is None]
    assert all(r["scores"]["accuracy"] == 1.0 for r in scored)
    assert health and set(health) == {200}, sorted(set(health))
    healthy_afterwards(server)


# ---------------------------------------------------------------------------------------------------------
# 5. Abandoned work
# ---------------------------------------------------------------------------------------------------------


def _big_batch(tag: str, n: int = 2000) -> dict[str, Any]:
    """``n`` distinct GSM8K-style items (4 kB of reasoning each, all rewards on)."""
    items = items_of(gsm8k_cases(n, reasoning_bytes=4096))
    for i, item in enumerate(items):
        item["id"] = f"{tag}{i}"
    return {"items": items, "request_id": f"abandoned-{tag}"}


def _post_and_leave(server: Server, batch: dict[str, Any], queued: int) -> None:
    """Send ``batch``, wait until at least ``queued`` of its items are pending, then hang up."""
    body = orjson.dumps(batch)
    sock = connect(server)
    sock.sendall(
        b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    deadline = time.monotonic() + HANG_S
    while httpx.get(f"{server.url}/health", timeout=HANG_S).json()["pending_items"] < queued:
        assert time.monotonic() < deadline, "the batch never reached the pool"
        time.sleep(0.01)
    sock.close()


def test_work_of_a_client_that_left_is_dropped(server: Server) -> None:
    batch = _big_batch("a")
    n = len(batch["items"])
    before = metric(server, "vrewards_pool_items_total")
    with Probe(server) as probe:
        _post_and_leave(server, batch, queued=n * 9 // 10)  # at most a tenth scored when it leaves
        deadline = time.monotonic() + HANG_S
        while httpx.get(f"{server.url}/health", timeout=HANG_S).json()["pending_items"]:
            assert time.monotonic() < deadline, "the abandoned items never drained"
            time.sleep(0.05)
    probe.check()
    scored = metric(server, "vrewards_pool_items_total") - before
    probe_items = 8 * (probe.rounds + 1)
    assert scored - probe_items < n / 2, scored


def test_idempotent_retry_after_a_disconnect_is_scored_afresh(server: Server) -> None:
    batch = _big_batch("r", n=512)
    _post_and_leave(server, batch, queued=256)
    r = httpx.post(f"{server.url}/score", json=batch, headers=AUTH, timeout=4 * HANG_S)
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["id"] for x in results] == [f"r{i}" for i in range(512)]
    assert all(x["error"] is None for x in results)


# ---------------------------------------------------------------------------------------------------------
# 7. Micro-batch neighbours
# ---------------------------------------------------------------------------------------------------------


def test_one_oversized_get_reward_does_not_refuse_its_neighbours(server: Server) -> None:
    """With the pool nearly full, one /get_reward too big to fit (but under the micro-batch size, so it
    does not flush alone) and ten one-sample ones arrive in the same 200 ms window: the big one gets 503,
    each small one is admitted on its own and scored."""
    query = "<|im_start|>assistant\n" + THINK + "\\boxed{4}<|im_end|>"
    big_size = 1000  # < microbatch_max_items (1024); 1000 + the filler's pending > MAX_PENDING

    async def attack() -> tuple[httpx.Response, list[httpx.Response]]:
        async with httpx.AsyncClient(base_url=server.url, timeout=4 * HANG_S, headers=AUTH) as client:
            filler = asyncio.create_task(client.post("/score", json=_big_batch("f", n=2000)))
            while (await client.get("/health")).json()["pending_items"] < 1900:
                await asyncio.sleep(0.01)
            labels = ["4"] * big_size
            big = client.post("/get_reward", json={"query": [query] * big_size, "labels": labels})
            small = [client.post("/get_reward", json={"query": [query], "labels": ["4"]}) for _ in range(10)]
            answers = await asyncio.gather(big, *small)
            assert (await filler).status_code == 200
            return answers[0], list(answers[1:])

    big, small = asyncio.run(attack())
    assert big.status_code == 503 and big.headers["retry-after"] == "1"
    assert [s.status_code for s in small] == [200] * 10
    assert all(s.json()["rewards"] == [1.5] for s in small)


# ---------------------------------------------------------------------------------------------------------
# 8. Bad numbers in the rewards block
# ---------------------------------------------------------------------------------------------------------

BIG = "1" + "0" * 400
BAD_NUMBERS = [
    # (rewards block as raw JSON, the field the 422 must name)
    ('{"accuracy": {"weight": ' + BIG + "}}", "rewards.accuracy.weight"),
    ('{"accuracy": {"weight": 1e400}}', "rewards.accuracy.weight"),
    ('{"accuracy": {"rel_tol": ' + BIG + "}}", "rewards.accuracy.rel_tol"),
    ('{"accuracy": {"rel_tol": -0.5}}', "rewards.accuracy.rel_tol"),
    ('{"language": {"no_words_value": 1e308}}', "rewards.language.no_words_value"),
    ('{"language": {"no_words_value": -1}}', "rewards.language.no_words_value"),
    ('{"language": {"min_prompt_words": ' + BIG + "}}", "rewards.language.min_prompt_words"),
    ('{"language": {"min_prompt_confidence": 2}}', "rewards.language.min_prompt_confidence"),
    ('{"format": {"weight": -1e7}}', "rewards.format.weight"),
    ('{"format": {"weight": NaN}}', "rewards.format.weight"),
]


@pytest.mark.parametrize(("rewards", "field"), BAD_NUMBERS)
@pytest.mark.parametrize("route", ["/score", "/get_reward"])
def test_out_of_range_numbers_get_422_naming_the_field(
    server: Server, route: str, rewards: str, field: str
) -> None:
    if route == "/score":
        body = '{"items": [{"completion": "\\\\boxed{4}", "answer": "4"}], "rewards": ' + rewards + "}"
    else:
        body = '{"query": ["\\\\boxed{4}"], "labels": ["4"], "rewards": ' + rewards + "}"
    r = post_raw(server, route, body.encode(), {"Content-Type": "application/json"})
    assert r.status_code == 422, r.text[:300]
    assert r.json()["detail"][0]["field"] == field


EXTREME_BUT_VALID = [
    {
        "accuracy": {"weight": 1e6},
        "format": {"weight": 1e6},
        "language": {"weight": 1e6, "no_words_value": 1},
    },
    {"accuracy": {"weight": -1e6}, "language": {"weight": -1e6, "no_words_value": 0}},
]


@pytest.mark.parametrize("rewards", EXTREME_BUT_VALID)
def test_get_reward_rewards_are_finite_numbers_at_the_extremes(
    server: Server, rewards: dict[str, Any]
) -> None:
    queries = ["<think>\n$x$\n</think>\n\\boxed{4}", "no answer at all", "\\boxed{5}"]
    r = httpx.post(
        f"{server.url}/get_reward",
        json={"query": queries, "labels": ["4", None, "4"], "rewards": rewards},
        headers=AUTH,
        timeout=HANG_S,
    )
    assert r.status_code == 200
    body = r.json()
    for values in [body["rewards"], body["scores"], *body["extra_logs"].values()]:
        assert all(isinstance(v, float) and abs(v) <= 3e6 for v in values), values


# ---------------------------------------------------------------------------------------------------------
# 9. Echo and logs
# ---------------------------------------------------------------------------------------------------------


def test_unknown_keys_are_not_echoed_unbounded(server: Server) -> None:
    key = "k" * (16 * MiB)
    with Probe(server) as probe:
        r = post_raw(
            server,
            "/score",
            orjson.dumps({"items": [{"completion": "4"}], "rewards": {key: {}}}),
            {"Content-Type": "application/json"},
        )
    probe.check()
    assert r.status_code == 422
    assert len(r.content) < 2048


def test_a_newline_in_a_request_id_cannot_forge_a_log_line(server: Server) -> None:
    forged = "x\n2026-01-01 00:00:00,000 CRITICAL vrewards.access FORGED-LINE"
    batch = {**TRAINER_BATCH, "request_id": forged}
    r = httpx.post(f"{server.url}/score", json=batch, headers=AUTH, timeout=HANG_S)
    assert r.status_code == 200
    deadline = time.monotonic() + HANG_S
    while "FORGED-LINE" not in server.log_tail(200_000):
        assert time.monotonic() < deadline, "the access line never appeared"
        time.sleep(0.05)
    lines = server.log_tail(200_000).splitlines()
    assert not any(line.startswith("2026-01-01 00:00:00,000 CRITICAL") for line in lines)
    assert any("FORGED-LINE" in line and "\\n" in line for line in lines)


AUTH_HEADERS = [
    # (Authorization headers in order, expected status)
    ([f"Bearer {TOKEN}"], 200),
    ([f"Bearer {TOKEN}", "Bearer wrong-token-0123456789"], 401),
    (["Bearer wrong-token-0123456789", f"Bearer {TOKEN}"], 401),
    ([f"Bearer {TOKEN}", f"Bearer {TOKEN}"], 401),
    ([], 401),
]


@pytest.mark.parametrize(("values", "status"), AUTH_HEADERS)
def test_two_authorization_headers_are_refused(server: Server, values: list[str], status: int) -> None:
    headers = [("Authorization", v) for v in values] + [("Content-Type", "application/json")]
    r = httpx.post(
        f"{server.url}/score", content=orjson.dumps(TRAINER_BATCH), headers=headers, timeout=HANG_S
    )
    assert r.status_code == status
