"""Connection attacks against candidate HTTP servers: which one keeps serving ``/health``?

    python -m bench.connections                   # every server found in this environment
    python -m bench.connections --servers guarded-httptools uvicorn-h11 --json

Each candidate serves the same minimal ASGI app (``/health`` answers at once, other paths read their
body) on 127.0.0.1 with its open-files limit set to ``--nofile`` (1024), as a small container would have.
Four attacks, each bounded in connections, bytes and time:

- **flood**: ``--flood`` connections that send half a request head and go silent; then a fresh
  ``GET /health`` must answer within 5 s (``flood_health``: its status, or the error);
- **big head**: one 16 MiB header sent at loopback speed while ``/health`` is probed every 20 ms
  (``big_head``: the answer the attacker got and after how long; ``health_max_ms``: the slowest probe);
- **slow head** / **slow body**: half a head, or a head and half a body, then silence; seconds until the
  server closes the connection (``never`` past ``--patience`` s).

Candidates: uvicorn with httptools (as ``vrewards serve`` ran before), uvicorn with h11 and its own limits
(``h11_max_incomplete_event_size``, ``limit_concurrency``), hypercorn and granian when installed, and
``app.protocol``'s guarded protocol over httptools and over h11.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.common import free_port

NOFILE = 1024
CAP = 512  # connection cap given to the servers that have one


async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    """The minimal ASGI app every candidate serves."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] != "/health":
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False) and message["type"] == "http.request"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})


def _uvicorn(http: str) -> str:
    extra = ""
    if http == "h11-limits":
        extra = f"http='h11', h11_max_incomplete_event_size=65536, limit_concurrency={CAP}"
    elif http == "httptools":
        extra = "http='httptools'"
    else:
        guarded_base = "h11_impl.H11Protocol" if http == "guarded-h11" else "httptools_impl.HttpToolsProtocol"
        module = "h11_impl" if http == "guarded-h11" else "httptools_impl"
        return (
            "import uvicorn, sys\n"
            f"from uvicorn.protocols.http import {module}\n"
            "from app.protocol import ConnectionLimits, guarded_protocol\n"
            f"limits = ConnectionLimits(max_connections={CAP}, header_timeout_s=10, body_timeout_s=10)\n"
            f"cls = guarded_protocol(limits, {guarded_base})\n"
            "uvicorn.run('bench.connections:app', host='127.0.0.1', port=int(sys.argv[1]), http=cls,"
            " log_level='error')\n"
        )
    return (
        "import uvicorn, sys\n"
        f"uvicorn.run('bench.connections:app', host='127.0.0.1', port=int(sys.argv[1]), {extra},"
        " log_level='error')\n"
    )


def commands() -> dict[str, Callable[[int], list[str]]]:
    """Candidate name -> command line for a port."""
    py = sys.executable
    out: dict[str, Callable[[int], list[str]]] = {
        "uvicorn-httptools": lambda port: [py, "-c", _uvicorn("httptools"), str(port)],
        "uvicorn-h11": lambda port: [py, "-c", _uvicorn("h11-limits"), str(port)],
        "guarded-httptools": lambda port: [py, "-c", _uvicorn("guarded-httptools"), str(port)],
        "guarded-h11": lambda port: [py, "-c", _uvicorn("guarded-h11"), str(port)],
    }
    if importlib.util.find_spec("hypercorn"):
        out["hypercorn"] = lambda port: [
            py, "-m", "hypercorn", "bench.connections:app", "-b", f"127.0.0.1:{port}",
            "--read-timeout", "10", "--keep-alive", "5", "--log-level", "error",
        ]  # fmt: skip
    if importlib.util.find_spec("granian"):
        out["granian"] = lambda port: [
            py, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
            "--http", "1", "--http1-header-read-timeout", "10000", "--backpressure", str(CAP),
            "--log-level", "error", "bench.connections:app",
        ]  # fmt: skip
    return out


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


def _start(command: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        command,
        preexec_fn=_limit_files,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: servers that fork workers are stopped whole
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError(f"{command[:3]} did not start")


def _health(port: int, timeout: float = 5.0) -> str:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=timeout)
        return str(r.status_code)
    except httpx.HTTPError as exc:
        return type(exc).__name__


def _until_closed(sock: socket.socket, patience: float) -> tuple[str, bytes]:
    sock.settimeout(patience)
    start = time.monotonic()
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        return "never", data
    except OSError:
        pass
    return f"{time.monotonic() - start:.1f}", data


def flood(port: int, n: int) -> str:
    """``n`` half-sent heads, then a fresh /health."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                sock.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n")
                socks.append(sock)
            except OSError:
                break
        time.sleep(0.5)
        return _health(port)
    finally:
        for sock in socks:
            sock.close()


def big_head(port: int, mib: int, patience: float) -> dict[str, Any]:
    """One ``mib`` MiB header while /health is probed every 20 ms."""
    worst = 0.0
    stop = threading.Event()

    def probe() -> None:
        nonlocal worst
        with httpx.Client(timeout=patience) as client:
            while not stop.is_set():
                t = time.monotonic()
                with contextlib.suppress(httpx.HTTPError):
                    client.get(f"http://127.0.0.1:{port}/health")
                worst = max(worst, time.monotonic() - t)
                stop.wait(0.02)

    thread = threading.Thread(target=probe)
    thread.start()
    start = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), timeout=patience)
    try:
        with contextlib.suppress(OSError):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (mib << 20) + b"\r\n\r\n")
        _, answer = _until_closed(sock, patience)
    finally:
        sock.close()
        stop.set()
        thread.join()
    first_line = answer.split(b"\r\n", 1)[0].decode(errors="replace") or "closed"
    return {
        "big_head": f"{first_line} after {time.monotonic() - start:.1f} s",
        "health_max_ms": round(worst * 1000),
    }


def slow(port: int, sent: bytes, patience: float) -> str:
    sock = socket.create_connection(("127.0.0.1", port), timeout=patience)
    try:
        sock.sendall(sent)
        seconds, _ = _until_closed(sock, patience)
        return seconds
    finally:
        sock.close()


def measure(name: str, command: Callable[[int], list[str]], args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    proc = _start(command(port), port)
    try:
        row: dict[str, Any] = {"server": name}
        row["flood_health"] = flood(port, args.flood)
        time.sleep(1)
        row.update(big_head(port, args.head_mib, args.patience))
        row["slow_head_s"] = slow(port, b"GET /health HTTP/1.1\r\nHost: x\r\n", args.patience)
        row["slow_body_s"] = slow(
            port, b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{", args.patience
        )
        row["alive_after"] = _health(port)
        return row
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def main(argv: list[str] | None = None) -> int:
    """Run the attacks against each candidate and print one row per server."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", nargs="*", help="candidates (default: every one installed)")
    parser.add_argument("--flood", type=int, default=2000, help="half-sent connections (default 2000)")
    parser.add_argument("--head-mib", type=int, default=16, help="size of the big header (default 16 MiB)")
    parser.add_argument("--patience", type=float, default=20.0, help="seconds before 'never' (default 20)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    candidates = commands()
    for name in args.servers or list(candidates):
        row = measure(name, candidates[name], args)
        print(json.dumps(row) if args.json else "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
