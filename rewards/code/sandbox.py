"""Run a program against test inputs in a fresh sandbox, and only there.

The sandbox is bubblewrap (Debian's ``bubblewrap``): new user, PID, IPC, UTS, network, cgroup and mount
namespaces (``--unshare-all`` with the user namespace required, so the program is uid 65534 in a namespace
of its own even when the service runs as root); no network at all (a new network namespace has only a
loopback of its own); a read-only view of the interpreter, its standard library (site-packages hidden) and
the system's shared-library directories, nothing else (no ``/etc``, ``/home``, ``/proc``, ``/sys``, no
project files); a private ``/tmp`` tmpfs of bounded size; a minimal ``/dev``; an empty environment;
``--die-with-parent`` and ``--new-session``; the seccomp filter of :func:`sandbox_filter`. Inside, the
runner (:mod:`rewards.code.runner`) applies rlimits and a stricter filter to each test case's child.

Outside, this module writes the job (program, inputs, limits; never the expected outputs), reads one JSON
line per case with a size cap, and kills the sandbox's whole process group at the wall-clock deadline
(``startup_s`` plus each case's limit and overhead). One sandbox runs at a time per calling thread.

``sandbox="none"`` runs the same runner without bubblewrap (rlimits and both seccomp filters still apply,
in a temporary directory, with an empty environment): only for deployments that isolate the whole
container themselves.
"""

from __future__ import annotations

import contextlib
import functools
import json
import marshal
import os
import selectors
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewards.code.seccomp_filter import case_filter, sandbox_filter
from rewards.code.spec import CodeTests
from rewards.config import CodeLimits

_RUNNER_SOURCE = (Path(__file__).with_name("runner.py")).read_text(encoding="utf-8")
_STDERR_CAP = 4096
_LINE_SLACK = 65_536  # a case line beyond its output cap
_SANDBOX_UID = "65534"
_TMPFS_SLACK = 16 << 20
_SYSTEM_LIBS = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/lib32", "/usr/lib32")
_INTERPRETER_FLAGS = ("-I", "-S", "-B", "-X", "utf8")
_PROCESSES = 16


class SandboxUnavailable(Exception):
    """The sandbox cannot start here (no bubblewrap, no user namespaces, no libseccomp)."""


@dataclass(slots=True)
class SandboxExit:
    """How a sandbox run ended (the per-case records went to the caller's callback)."""

    compile_error: str | None = None  # the program did not compile (the message)
    finished: bool = False  # the runner reported every case (or the caller stopped it on purpose)
    deadline_hit: bool = False  # killed at the wall-clock deadline
    broken: str | None = None  # the runner died or misbehaved before finishing (why)
    setup_failed: str | None = None  # the runner could not confine a case: the sandbox is broken here


@functools.cache
def _interpreter() -> str:
    return os.path.realpath(sys.executable)


@functools.cache
def _bwrap(name: str) -> str | None:
    return shutil.which(name)


@functools.cache
def _mounts() -> tuple[str, ...]:
    """bubblewrap arguments for a read-only view of the interpreter and the system libraries only."""
    args: list[str] = []
    covered: list[str] = []
    for path in _SYSTEM_LIBS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
            covered.append(path + "/")
    stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
    pieces = [_interpreter(), stdlib]
    libdir, soname = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME")
    if libdir and soname and os.path.exists(os.path.join(libdir, soname)):
        pieces.append(os.path.realpath(os.path.join(libdir, soname)))
    for piece in pieces:
        if not any((piece + "/").startswith(root) for root in covered):
            args += ["--ro-bind", piece, piece]
    for hidden in ("site-packages", "dist-packages"):
        if os.path.isdir(os.path.join(stdlib, hidden)):
            args += ["--tmpfs", os.path.join(stdlib, hidden)]
    return tuple(args)


def _tmpfs_bytes(limits: CodeLimits, spec: CodeTests) -> int:
    largest = max((len(c.stdin or "") for c in spec.cases), default=0) * 4
    return 2 * limits.output_bytes + largest + _TMPFS_SLACK


def _job(program: str, spec: CodeTests, limits: CodeLimits, self_filter: bytes | None) -> bytes:
    bpf = case_filter()
    if bpf is None:
        raise SandboxUnavailable("libseccomp is not available")
    job = {
        "program": program,
        "kind": spec.kind,
        "fn_name": spec.fn_name,
        "cases": [c.stdin if spec.kind == "stdin_stdout" else c.args for c in spec.cases],
        "time_limit_s": spec.time_limit_s,
        "memory_mb": spec.memory_mb,
        "output_bytes": limits.output_bytes,
        "filter": bpf.hex(),
        # tasks (threads too) a case may hold: counted per user namespace, so only with bubblewrap's
        "processes": _PROCESSES if limits.sandbox == "bwrap" else 0,
        "self_filter": self_filter.hex() if self_filter else "",
    }
    return marshal.dumps(job)  # read by the runner with the interpreter's fastest loader


def _command(limits: CodeLimits, spec: CodeTests, workdir: str, seccomp_fd: int | None) -> list[str]:
    runner = [_interpreter(), *_INTERPRETER_FLAGS, "-c", _RUNNER_SOURCE]
    if limits.sandbox == "none":
        return [*runner, workdir]
    bwrap = _bwrap(limits.bwrap)
    if bwrap is None:
        raise SandboxUnavailable(f"bubblewrap ({limits.bwrap}) is not installed")
    return [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--uid",
        _SANDBOX_UID,
        "--gid",
        _SANDBOX_UID,
        # no --hostname: sethostname is refused by container runtimes' seccomp profiles once capabilities are
        # dropped (podman --cap-drop ALL), and the UTS namespace is private either way
        "--die-with-parent",
        "--new-session",
        *_mounts(),
        "--dev",
        "/dev",
        "--size",
        str(_tmpfs_bytes(limits, spec)),
        "--tmpfs",
        "/tmp",
        "--chdir",
        "/tmp",
        "--seccomp",
        str(seccomp_fd),
        "--",
        *runner,
        "/tmp",
    ]


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def run_program(
    program: str, spec: CodeTests, limits: CodeLimits, on_case: Callable[[dict[str, Any]], bool]
) -> SandboxExit:
    """Run ``program`` on every case of ``spec``; ``on_case`` gets each case's record as it arrives and
    returns False to stop the run there.

    A record is ``{"case": i, "status": s, "time_s": t}`` plus ``digest`` (stdin_stdout) or ``value``
    (function) when ``s == "ok"``, else maybe ``message``. ``s`` is one of ``ok``, ``runtime_error``,
    ``timeout``, ``memory_limit``, ``output_limit``, ``sandbox_error``.

    Raises:
        SandboxUnavailable: the sandbox could not start.

    Example:
        >>> from rewards.code.spec import parse_tests
        >>> spec = parse_tests({"kind": "stdin_stdout", "cases": [{"input": "2", "output": "4"}]}, CodeLimits())
        >>> from rewards.code.runner import output_digest
        >>> seen = []
        >>> keep = lambda record: seen.append(record) is None
        >>> run_program("print(int(input()) * 2)", spec, CodeLimits(sandbox="none"), keep).finished
        True
        >>> seen[0]["status"], seen[0]["digest"] == output_digest("4")
        ('ok', True)
    """
    workdir = tempfile.mkdtemp(prefix="vrewards-code-") if limits.sandbox == "none" else ""
    read_fd = write_fd = -1
    try:
        if limits.sandbox == "none":
            job = _job(program, spec, limits, sandbox_filter())
            command, pass_fds = _command(limits, spec, workdir, None), tuple[int, ...]()
        else:
            bpf = sandbox_filter()
            if bpf is None:
                raise SandboxUnavailable("libseccomp is not available")
            job = _job(program, spec, limits, None)
            read_fd, write_fd = os.pipe()
            os.write(write_fd, bpf)  # far below a pipe's buffer
            os.close(write_fd)
            write_fd = -1
            command, pass_fds = _command(limits, spec, workdir, read_fd), (read_fd,)
        budget = limits.startup_s + len(spec.cases) * (spec.time_limit_s + limits.case_overhead_s)
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={},
                cwd=workdir or "/",
                pass_fds=pass_fds,
                start_new_session=True,
            )
        except OSError as exc:
            raise SandboxUnavailable(f"could not start the sandbox: {exc.strerror}") from None
        if read_fd >= 0:
            os.close(read_fd)
            read_fd = -1
        try:
            return _drive(proc, job, time.monotonic() + budget, limits.output_bytes + _LINE_SLACK, on_case)
        finally:
            _kill(proc)
            proc.wait()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
    finally:
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _drive(
    proc: subprocess.Popen[bytes],
    job: bytes,
    deadline: float,
    line_cap: int,
    on_case: Callable[[dict[str, Any]], bool],
) -> SandboxExit:
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    result = SandboxExit()
    ready = False
    pending = memoryview(job)
    buffer = bytearray()
    stderr = bytearray()
    with selectors.DefaultSelector() as selector:
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            os.set_blocking(pipe.fileno(), False)
        selector.register(proc.stdin, selectors.EVENT_WRITE)
        selector.register(proc.stdout, selectors.EVENT_READ)
        selector.register(proc.stderr, selectors.EVENT_READ)
        open_streams = 2
        while open_streams:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result.deadline_hit = True
                break
            for key, _events in selector.select(remaining):
                stream: Any = key.fileobj
                if stream is proc.stdin:
                    try:
                        pending = pending[os.write(proc.stdin.fileno(), pending[:65536]) :]
                    except (BrokenPipeError, OSError):
                        pending = pending[:0]
                    if not pending:
                        selector.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                fd = stream.fileno()
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(stream)
                    open_streams -= 1
                    continue
                if stream is proc.stderr:
                    stderr += chunk[: max(0, _STDERR_CAP - len(stderr))]
                    continue
                buffer += chunk
                while True:
                    newline = buffer.find(b"\n")
                    if newline < 0:
                        break
                    line = bytes(buffer[:newline])
                    del buffer[: newline + 1]
                    stop = _handle(line, result, on_case)
                    if line.startswith(b'{"ready"'):
                        ready = True
                    if stop:
                        return result
                if len(buffer) > line_cap:
                    result.broken = "a result line over the cap"
                    return result
    if not ready and not result.deadline_hit:
        text = stderr.decode("utf-8", "replace").strip()
        raise SandboxUnavailable(text.splitlines()[0][:300] if text else "the sandbox exited before starting")
    if not result.finished and result.compile_error is None and not result.deadline_hit:
        result.broken = "the runner stopped before reporting every case"
    return result


def _handle(line: bytes, result: SandboxExit, on_case: Callable[[dict[str, Any]], bool]) -> bool:
    """Apply one runner line to ``result``; True when the run is over."""
    try:
        record = json.loads(line)
    except ValueError:
        result.broken = "an unreadable line from the runner"
        return True
    if not isinstance(record, dict):
        result.broken = "an unreadable line from the runner"
        return True
    if "sandbox_error" in record:
        result.setup_failed = str(record["sandbox_error"])[:300]
        return True
    if "compile_error" in record:
        result.compile_error = str(record["compile_error"])[:300]
        return True
    if record.get("done"):
        result.finished = True
        return True
    if "case" in record and not on_case(record):
        result.finished = True
        return True
    return False


def sandbox_status(limits: CodeLimits) -> tuple[bool, str]:
    """Whether programs can run here under ``limits`` (a trivial program through the real sandbox).

    Example:
        >>> sandbox_status(CodeLimits(sandbox="none"))
        (True, 'none (no isolation)')
    """
    from rewards.code.spec import parse_tests

    spec = parse_tests({"kind": "stdin_stdout", "cases": [{"input": "20", "output": "21"}]}, limits)
    seen: list[dict[str, Any]] = []

    def keep(record: dict[str, Any]) -> bool:
        seen.append(record)
        return True

    try:
        outcome = run_program("print(int(input()) + 1)", spec, limits, keep)
    except SandboxUnavailable as exc:
        return False, str(exc)
    if not seen or seen[0].get("status") != "ok":
        why = seen[0].get("message") or seen[0].get("status") if seen else outcome.broken or "no result"
        return False, f"the probe program did not run: {why}"
    return True, "bubblewrap" if limits.sandbox == "bwrap" else "none (no isolation)"
