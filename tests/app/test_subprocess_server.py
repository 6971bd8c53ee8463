"""``vrewards serve`` as a real process on 127.0.0.1, spoken to over real HTTP, stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

pytestmark = pytest.mark.slow

THINK = "<think>\nTwo and two make four.\n</think>\n"
BATCH = [
    ({"completion": THINK + "\\boxed{4}", "answer": "4", "id": "right"}, 1.0),
    ({"completion": THINK + "\\boxed{5}", "answer": "4", "id": "wrong"}, 0.0),
    ({"completion": THINK + "\\boxed{\\dfrac{1}{2}}", "answer": "0.5", "id": "frac"}, 1.0),
    ({"completion": THINK + "no answer", "answer": "4", "id": "none"}, 0.0),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    exe = shutil.which("vrewards") or os.path.join(os.path.dirname(sys.executable), "vrewards")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VREWARDS_")}
    env["VREWARDS_API_TOKEN"] = "subprocess-token-0123456789"
    proc = subprocess.Popen(
        [exe, "serve", "--port", str(port), "--workers", "2", "--log-level", "info"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("the server did not become healthy in 90 s")
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_scores_a_batch_over_http(server: tuple[str, subprocess.Popen[str]]) -> None:
    url, _ = server
    headers = {"Authorization": "Bearer subprocess-token-0123456789", "X-Request-ID": "subprocess-test"}
    r = httpx.post(f"{url}/score", json={"items": [item for item, _ in BATCH]}, headers=headers, timeout=30)
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "subprocess-test"
    results = r.json()["results"]
    assert [x["id"] for x in results] == [item["id"] for item, _ in BATCH]
    assert [x["scores"]["accuracy"] for x in results] == [accuracy for _, accuracy in BATCH]
    assert httpx.post(f"{url}/score", json={"items": []}, timeout=10).status_code == 401


def test_sigterm_stops_cleanly_with_json_logs(server: tuple[str, subprocess.Popen[str]]) -> None:
    _url, proc = server
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=40)
    assert proc.returncode == 0, stderr[-3000:]
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    access = [
        line for line in lines if line.get("logger") == "vrewards.access" and line.get("route") == "/score"
    ]
    assert any(
        line["request_id"] == "subprocess-test" and line["status"] == 200 and line["items"] == 4
        for line in access
    )
    assert all("latency_ms" in line for line in access)
    assert "Traceback" not in stderr
