"""Hostile programs against a real ``vrewards serve`` process, over HTTP.

Each program goes in a batch with a correct program and a math item. For each: the item gets an outcome
from its row, nothing outside the sandbox changes (a directory of ours, the host's /tmp), no connection
reaches the listeners we open (TCP, UDP, an abstract Unix socket), neither the service's token nor a secret
in its environment appears in the response, no process is left behind, no worker was killed or replaced,
/health stays 200 and the other two items get their normal results.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from bench.common import Server, serve
from tests.code.conftest import completion

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("bwrap_ready")]

TOKEN = "hostile-token-0123456789abcdef"
SECRET = "s3cr3t-" + uuid.uuid4().hex
MARKER = uuid.uuid4().hex[:12]
ECHO = {
    "kind": "stdin_stdout",
    "cases": [{"input": "5\n", "output": "5\n"}, {"input": "7\n", "output": "7\n"}],
}


def fn(name: str, output: Any) -> dict[str, Any]:
    return {"kind": "function", "fn_name": name, "cases": [{"args": [], "output": output}]}


# (name, program, tests, allowed outcomes). Placeholders: {tcp} {udp} {abstract} {outside} {secret_file}
# {marker} {source}. A row whose tests expect a value passes only when the attack was refused.
HOSTILE: list[tuple[str, str, dict[str, Any], set[str]]] = [
    # -- processes
    ("fork_bomb", "import os\nwhile True:\n    os.fork()", ECHO, {"runtime_error"}),
    (
        "fork_bomb_mp",
        "import multiprocessing as m\nwhile True:\n    m.Process(target=print).start()",
        ECHO,
        {"runtime_error"},
    ),
    ("shell", "import subprocess\nsubprocess.run(['/bin/sh', '-c', 'echo 5'])", ECHO, {"runtime_error"}),
    ("os_system", "import os\nprint(os.system('echo 5'))", ECHO, {"failed"}),  # -1/127: no shell ran
    (
        "thread_bomb",
        "import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()",
        ECHO,
        {"runtime_error", "memory_limit", "timeout"},
    ),
    (
        "sleep_with_children",
        "import threading, time\nfor _ in range(4):\n    threading.Thread(target=time.sleep, args=(600,)).start()\ntime.sleep(600)",
        ECHO,
        {"timeout"},
    ),
    # -- memory, output, time
    ("memory_bomb", "x = []\nwhile True:\n    x.append(bytearray(10 ** 7))", ECHO, {"memory_limit"}),
    ("string_bomb", "s = 'x' * (10 ** 10)", ECHO, {"memory_limit"}),
    (
        "recursion_bomb",
        "import sys\nsys.setrecursionlimit(10 ** 8)\ndef f(n):\n    return f(n + 1)\nf(0)",
        ECHO,
        {"runtime_error", "memory_limit", "timeout"},
    ),
    ("infinite_output", "while True:\n    print('y' * 10000)", ECHO, {"output_limit"}),
    ("infinite_stderr", "import sys\nwhile True:\n    sys.stderr.write('e' * 10000)", ECHO, {"timeout"}),
    (
        "fill_tmpfs",
        "i = 0\nwhile True:\n    open(f'/tmp/f{{i}}', 'w').write('z' * 60000)\n    i += 1",
        ECHO,
        {"runtime_error"},
    ),
    ("busy_loop", "while True:\n    pass", ECHO, {"timeout"}),
    ("close_stdout_and_hang", "import os, time\nos.close(1)\ntime.sleep(600)", ECHO, {"timeout"}),
    ("segfault", "import ctypes\nctypes.string_at(0)", ECHO, {"runtime_error"}),
    (
        "raise_limits",
        "import resource\nresource.setrlimit(resource.RLIMIT_AS, (-1, -1))",
        ECHO,
        {"runtime_error"},
    ),
    # -- network
    (
        "tcp_loopback",
        "import socket\nsocket.create_connection(('127.0.0.1', {tcp}), timeout=2).sendall(b'pwned')",
        ECHO,
        {"runtime_error"},
    ),
    (
        "udp_loopback",
        "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'pwned', ('127.0.0.1', {udp}))",
        ECHO,
        {"runtime_error"},
    ),
    (
        "ipv6_loopback",
        "import socket\nsocket.create_connection(('::1', {tcp}), timeout=2)",
        ECHO,
        {"runtime_error"},
    ),
    (
        "unix_abstract",
        "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect('\\0{abstract}')\ns.sendall(b'pwned')",
        ECHO,
        {"runtime_error"},
    ),
    (
        "raw_socket_call",
        "import ctypes\ndef f():\n    return ctypes.CDLL(None).socket(2, 1, 0)",
        fn("f", -1),
        {"passed"},
    ),
    # -- files
    ("read_secret_file", "print(open({secret_file!r}).read())", ECHO, {"runtime_error"}),
    ("read_service_source", "raise SystemExit(open({source!r}).read())", ECHO, {"runtime_error"}),
    ("read_etc", "print(open('/etc/passwd').read())", ECHO, {"runtime_error"}),
    (
        "root_view",
        "import os\ndef f():\n    return sorted({{'etc', 'home', 'proc', 'sys', 'work', 'var', 'run'}} & set(os.listdir('/')))",
        fn("f", []),
        {"passed"},
    ),
    ("write_outside", "open({outside!r} + '/pwned', 'w').write('x')", ECHO, {"runtime_error"}),
    (
        "write_host_tmp",
        "open('/tmp/vrewards-pwned-{marker}', 'w').write('x')\nprint(input())",
        ECHO,
        {"passed"},
    ),
    ("write_readonly_lib", "import os\nopen(os.__file__, 'a').write('#')", ECHO, {"runtime_error"}),
    (
        "devices",
        "import os\ndef f():\n    return sorted(n for n in os.listdir('/dev') if n.startswith(('sd', 'nvme', 'mem', 'kmsg', 'port')))",
        fn("f", []),
        {"passed"},
    ),
    # -- environment and /proc
    ("environment", "import os\ndef f():\n    return dict(os.environ)", fn("f", {}), {"passed"}),
    (
        "environment_exfiltration",
        "import os\nraise RuntimeError(repr(dict(os.environ)))",
        ECHO,
        {"runtime_error"},
    ),
    ("proc_snooping", "import os\ndef f():\n    return os.path.exists('/proc')", fn("f", False), {"passed"}),
    (
        "proc_parent_environ",
        "import os\nprint(open(f'/proc/{{os.getppid()}}/environ').read())",
        ECHO,
        {"runtime_error"},
    ),
    # -- the parent and other processes
    ("kill_parent", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", ECHO, {"runtime_error"}),
    ("kill_everything", "import os, signal\nos.kill(-1, signal.SIGKILL)", ECHO, {"runtime_error"}),
    ("kill_group", "import os, signal\nos.killpg(0, signal.SIGKILL)", ECHO, {"runtime_error"}),
    (
        "ptrace_parent",
        "import ctypes, os\ndef f():\n    return ctypes.CDLL(None).ptrace(16, os.getppid(), 0, 0)",
        fn("f", -1),
        {"passed"},
    ),
    (
        "namespaces_and_mounts",
        "import ctypes\ndef f():\n    c = ctypes.CDLL(None)\n    return [c.unshare(0x10000000), c.mount(b'none', b'/tmp', b'tmpfs', 0, None), c.chroot(b'/tmp')]",
        fn("f", [-1, -1, -1]),
        {"passed"},
    ),
]


@dataclass
class Hosted:
    """The running service (the shared launcher's record) and a client holding the token."""

    server: Server
    client: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.server.process


@pytest.fixture(scope="module")
def server() -> Iterator[Hosted]:
    # a secret in the service's own environment: no program may ever read it
    env = {
        "VREWARDS_API_TOKEN": TOKEN,
        "HOSTILE_SECRET": SECRET,
        "VREWARDS_CODE_TIME_LIMIT_S": "1",
        "VREWARDS_CODE_MEMORY_MB": "128",
        "VREWARDS_CODE_OUTPUT_BYTES": "65536",
        "VREWARDS_LOG_LEVEL": "warning",
    }
    with serve(workers=2, env=env, startup_timeout_s=90) as running:
        client = httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
        try:
            yield Hosted(running, client)
        finally:
            client.close()


@pytest.fixture(scope="module")
def listeners() -> Iterator[dict[str, Any]]:
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.setblocking(False)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    name = f"vrewards-hostile-{MARKER}"
    unix = socket.socket(socket.AF_UNIX)
    unix.bind("\0" + name)
    unix.listen(8)
    unix.setblocking(False)
    yield {
        "tcp": tcp,
        "udp": udp,
        "unix": unix,
        "ports": {"tcp": tcp.getsockname()[1], "udp": udp.getsockname()[1], "abstract": name},
    }
    for s in (tcp, udp, unix):
        s.close()


def _descendants(pid: int) -> set[int]:
    return {p.pid for p in psutil.Process(pid).children(recursive=True)}


def _restarts(client: httpx.Client) -> float:
    text = client.get("/metrics").text
    return sum(
        float(m) for m in re.findall(r"^vrewards_worker_restarts_total\{[^}]*\} (\S+)$", text, re.MULTILINE)
    )


def _nothing_arrived(listeners: dict[str, Any]) -> None:
    for kind in ("tcp", "unix"):
        with pytest.raises(BlockingIOError):
            listeners[kind].accept()
    with pytest.raises(BlockingIOError):
        listeners["udp"].recvfrom(64)


@pytest.mark.parametrize(("name", "program", "tests", "allowed"), HOSTILE, ids=[row[0] for row in HOSTILE])
def test_hostile_program_is_contained(
    server: Hosted,
    listeners: dict[str, Any],
    tmp_path: Path,
    name: str,
    program: str,
    tests: dict[str, Any],
    allowed: set[str],
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)
    source = str(Path(__file__).resolve().parents[2] / "app" / "config.py")
    text = program.format(
        outside=str(outside), secret_file=str(secret_file), marker=MARKER, source=source, **listeners["ports"]
    )
    before = _descendants(server.proc.pid)
    restarts = _restarts(server.client)
    items = [
        {"id": "hostile", "completion": completion(text), "tests": tests},
        {"id": "good", "completion": completion("print(input())"), "tests": ECHO},
        {"id": "math", "completion": "<think>\nTwo and two.\n</think>\n\\boxed{4}", "answer": "4"},
    ]
    r = server.client.post("/score", json={"items": items})
    assert r.status_code == 200
    hostile, good, math = r.json()["results"]
    assert hostile["details"]["code_outcome"] in allowed, hostile["details"]
    # the rest of the batch is unaffected
    assert good["scores"]["code"] == 1.0 and good["details"]["code_outcome"] == "passed"
    assert math["scores"]["accuracy"] == 1.0
    # nothing leaked, nothing changed outside, nothing arrived
    assert SECRET not in r.text and TOKEN not in r.text
    assert list(outside.iterdir()) == []
    assert not Path(f"/tmp/vrewards-pwned-{MARKER}").exists()
    assert secret_file.read_text() == SECRET
    _nothing_arrived(listeners)
    # the service is healthy, kept its workers, and no process of the sandbox is left
    health = server.client.get("/health")
    assert health.status_code == 200 and health.json()["workers"] == 2
    assert _restarts(server.client) == restarts
    for _ in range(100):  # the sandbox's last processes die with their namespace, just after the reply
        if _descendants(server.proc.pid) <= before:
            break
        time.sleep(0.05)
    assert _descendants(server.proc.pid) <= before


def test_health_reports_the_sandbox(server: Hosted) -> None:
    body = server.client.get("/health").json()
    assert body["code_sandbox"] == {"available": True, "backend": "bwrap", "detail": "bubblewrap"}
