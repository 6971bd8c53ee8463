"""The program runner: the one piece of this project that runs model code, and only inside the sandbox.

The sandbox (:mod:`rewards.code.sandbox`) starts a fresh interpreter as
``python -I -S -B -X utf8 -c <this file's source> WORKDIR`` and writes one JSON job to its stdin: the
program, the test inputs (never the expected outputs: those stay outside) and the limits. This module uses
the standard library only, so the sandbox needs nothing but the interpreter and its standard library.

What it does (a prepared interpreter: started once per program, forked once per test case):

1. Compiles the program once (a ``SyntaxError`` is reported as ``compile_error``).
2. For each case forks a child, which moves into its own process group, arms ``PR_SET_PDEATHSIG``, points
   stdin at the case input and stdout at a file on the sandbox's private tmpfs, sets the rlimits (address
   space, CPU time, file size = the output cap, open files, processes, no core dumps), closes every other
   descriptor, stacks the per-case seccomp filter (no ``fork``/``execve``/sockets, see
   :mod:`rewards.code.seccomp_filter`) and only then runs the program (for ``function`` tests it then
   calls the named function with the case's arguments).
3. Waits for the child up to the wall-clock limit (a pidfd), kills its process group when it is over, and
   reports one JSON line per case: a status, the SHA-256 of the whitespace-normalised stdout (or, for
   ``function`` tests, the returned value as JSON), the time taken.

The judge outside compares digests and values with the expected outputs, so a program that tampers with
this runner (it runs as the same user) can only lose its own cases: it never sees what would pass.

Example:
    >>> normalize_output("1 2  \\n3\\r\\n\\n\\n")
    '1 2\\n3'
"""

from __future__ import annotations

# Only what the interpreter loads fast: json and threading are imported when a job needs them, signal
# numbers are Linux's (the ``signal`` module would import ``enum``), the digest is the built-in SHA-256.
import builtins
import ctypes
import io
import marshal
import os
import resource
import select
import sys
import time

try:
    from _sha256 import sha256
except ImportError:  # pragma: no cover - Python >= 3.12 renamed it
    from hashlib import sha256

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Child exit statuses (the program's own exit status is folded onto these).
EXIT_OK = 0
EXIT_RUNTIME_ERROR = 1
EXIT_MEMORY = 2
EXIT_OUTPUT = 3
EXIT_SETUP = 4  # the child could not apply its limits or its filter: the sandbox is broken

_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_MAX_MESSAGE = 200
_OPEN_FILES = 32
_SIGKILL, _SIGXCPU, _SIGXFSZ = 9, 24, 25


def normalize_output(text: str) -> str:
    """Stdout as the judge compares it: trailing whitespace of each line and trailing blank lines removed."""
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def output_digest(text: str) -> str:
    """SHA-256 of the normalised output (what crosses the sandbox boundary instead of the output).

    Example:
        >>> output_digest("4\\n") == output_digest("4")
        True
    """
    return sha256(normalize_output(text).encode("utf-8", "replace")).hexdigest()


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _json_string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    out.append('"')
    return "".join(out)


def _encode(value: Any) -> str:
    """JSON for the runner's own records (str, int, float, bool, None, dict); ``value`` (a function
    case's result) goes through the json module, imported only for function tests."""
    if isinstance(value, str):
        return _json_string(value)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int) or (isinstance(value, float) and value - value == 0):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_json_string(k)}:{_encode(v)}" for k, v in value.items()) + "}"
    return _result_json(value)


def _emit(out: Any, record: dict[str, Any]) -> None:
    out.write(_encode(record) + "\n")
    out.flush()


def _message(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text[:_MAX_MESSAGE]


def _set_limits(job: dict[str, Any]) -> None:
    memory = int(job["memory_mb"]) * 1024 * 1024
    cpu = int(job["time_limit_s"]) + 1
    output = int(job["output_bytes"])
    for limit, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, output),
        (resource.RLIMIT_NOFILE, _OPEN_FILES),
        (resource.RLIMIT_NPROC, int(job["processes"])),
        (resource.RLIMIT_CORE, 0),
    ):
        if limit == resource.RLIMIT_NPROC and not value:
            continue  # no user namespace of our own: the count would include the service's own tasks
        _soft, hard = resource.getrlimit(limit)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        hard_value = value + 1 if limit == resource.RLIMIT_CPU else value
        if hard != resource.RLIM_INFINITY:
            hard_value = min(hard_value, hard)
        resource.setrlimit(limit, (value, hard_value))


def _fresh_streams() -> None:
    def text(fd: int, mode: str) -> io.TextIOWrapper:
        raw = io.FileIO(fd, mode, closefd=False)
        buffered: Any = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
        return io.TextIOWrapper(buffered, encoding="utf-8", errors="replace")

    for name, fd, mode in (("stdin", 0, "r"), ("stdout", 1, "w"), ("stderr", 2, "w")):
        stream = text(fd, mode)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _result_json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=True, allow_nan=True)


def _call(namespace: dict[str, Any], fn_name: str, args: list[Any]) -> Any:
    fn: Any = namespace.get(fn_name)
    if not callable(fn):
        holder: Any = namespace.get("Solution")
        if not isinstance(holder, type) or getattr(holder, fn_name, None) is None:
            raise NameError(f"no function named {fn_name!r}")
        fn = getattr(holder(), fn_name)
    return fn(*args)


def _join_threads() -> None:
    threading = sys.modules.get("threading")  # no module, no threads to wait for
    if threading is None:
        return
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()


def _child(code: Any, job: dict[str, Any], paths: dict[str, str], prog: _SockFprog, libc: Any) -> int:
    """Runs in the forked child: confine, then run the program. Returns the exit status."""
    try:
        os.setpgid(0, 0)
        if libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0) != 0 or os.getppid() == 1:
            return EXIT_SETUP
        fds = (
            os.open(paths["in"], os.O_RDONLY),
            os.open(paths["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
            os.open(os.devnull, os.O_WRONLY),
            os.open(paths["result"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        )
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(len(fds), 1 << 16)
        _set_limits(job)
        if job["filter"]:
            if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                return EXIT_SETUP
            if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
                return EXIT_SETUP
        _fresh_streams()
        sys.argv = ["solution.py"]
    except BaseException:
        return EXIT_SETUP
    status, report = EXIT_OK, None
    function = job["kind"] == "function"
    namespace: dict[str, Any] = {"__name__": "solution" if function else "__main__", "__builtins__": builtins}
    try:
        try:
            exec(code, namespace)  # noqa: S102 - model code, confined above (this process is the sandbox)
            if function:
                report = {"value": _call(namespace, job["fn_name"], job["case"])}
            _join_threads()
        except SystemExit as exc:
            if exc.code not in (None, 0):
                status, report = EXIT_RUNTIME_ERROR, {"error": f"SystemExit: {exc.code!r}"[:_MAX_MESSAGE]}
        sys.stdout.flush()
    except MemoryError:
        status, report = EXIT_MEMORY, {"error": "MemoryError"}
    except OSError as exc:
        if exc.errno == 27:  # EFBIG: the output cap (RLIMIT_FSIZE)
            status, report = EXIT_OUTPUT, {"error": "output limit"}
        else:
            status, report = EXIT_RUNTIME_ERROR, {"error": _message(exc)}
    except BaseException as exc:
        status, report = EXIT_RUNTIME_ERROR, {"error": _message(exc)}
    if report is not None:
        # the report file: b"V" + the returned value as JSON, or b"E" + an error message
        try:
            data = b"V" + _result_json(report["value"]).encode("ascii") if "value" in report else b""
        except (TypeError, ValueError, RecursionError, MemoryError) as exc:
            status, report = EXIT_RUNTIME_ERROR, {"error": "the value is not JSON: " + _message(exc)}
        if "error" in report:
            data = b"E" + report["error"].encode("utf-8", "replace")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(3, view) :]
        except OSError as exc:  # the cap (EFBIG), or a tmpfs the program filled: the report is lost
            if exc.errno == 27:
                status = EXIT_OUTPUT
    return status


def _decode_report(data: bytes) -> dict[str, Any]:
    """The child's report file (which the program could also have written: checked, never trusted)."""
    if data[:1] == b"E":
        return {"error": data[1:].decode("utf-8", "replace")}
    if data[:1] == b"V":
        import json

        try:
            return {"value": json.loads(data[1:])}
        except (ValueError, RecursionError):
            return {}
    return {}


def _wait(pid: int, limit_s: float) -> tuple[int, float, bool]:
    """Wait for ``pid`` at most ``limit_s`` seconds of wall time; kill its group when over."""
    start = time.monotonic()
    timed_out = False
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], limit_s)
        if not ready:
            timed_out = True
    finally:
        os.close(pidfd)
    if timed_out:
        for kill in (os.killpg, os.kill):
            try:  # noqa: SIM105 - contextlib would cost this interpreter's start-up an import
                kill(pid, _SIGKILL)
            except OSError:  # already gone
                pass
    _pid, status, _usage = os.wait4(pid, 0)
    return status, time.monotonic() - start, timed_out


def _read(path: str, limit: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(limit)
    except OSError:
        return b""


def _status(wait_status: int, timed_out: bool, output_size: int, job: dict[str, Any]) -> str:
    if timed_out:
        return "timeout"
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        if sig in (_SIGXCPU, _SIGKILL):
            return "timeout"  # the CPU-time rlimit (soft SIGXCPU, hard SIGKILL)
        if sig == _SIGXFSZ:
            return "output_limit"
        return "runtime_error"
    code = os.WEXITSTATUS(wait_status)
    if output_size >= int(job["output_bytes"]):
        return "output_limit"
    return {
        EXIT_OK: "ok",
        EXIT_MEMORY: "memory_limit",
        EXIT_OUTPUT: "output_limit",
        EXIT_SETUP: "sandbox_error",
    }.get(code, "runtime_error")


def _clear(workdir: str) -> None:
    for name in os.listdir(workdir):
        path = os.path.join(workdir, name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                for root, dirs, files in os.walk(path, topdown=False):
                    for entry in files:
                        os.unlink(os.path.join(root, entry))
                    for entry in dirs:
                        os.rmdir(os.path.join(root, entry))
                os.rmdir(path)
            else:
                os.unlink(path)
        except OSError:
            pass


def run(job: dict[str, Any], workdir: str, out: Any) -> None:
    """Run every case of ``job`` and write one JSON line per case to ``out`` (see the module docstring)."""
    try:
        code = compile(job["program"], "solution.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        _emit(out, {"compile_error": _message(exc)})
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)  # a killed worker takes its runner with it
    if job.get("self_filter"):  # no bubblewrap to load the sandbox-wide filter: the runner loads it
        own = bytes.fromhex(job["self_filter"])
        own_buffer = ctypes.create_string_buffer(own, len(own))
        own_prog = _SockFprog(len(own) // 8, ctypes.addressof(own_buffer))
        if (
            libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            or libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(own_prog), 0, 0) != 0
        ):
            _emit(out, {"sandbox_error": "could not load the seccomp filter"})
            return
    bpf = bytes.fromhex(job["filter"])
    buffer = ctypes.create_string_buffer(bpf, len(bpf))
    prog = _SockFprog(len(bpf) // 8, ctypes.addressof(buffer))
    paths = {name: os.path.join(workdir, name) for name in ("in", "out", "result")}
    if job["kind"] == "function":
        import json  # noqa: F401 - loaded once here, so each case's child has it already
    limit_s = float(job["time_limit_s"])
    for index, case in enumerate(job["cases"]):
        _clear(workdir)
        with open(paths["in"], "w", encoding="utf-8", errors="replace") as handle:
            handle.write(case if isinstance(case, str) else "")
        job["case"] = case
        pid = os.fork()
        if pid == 0:  # the child never returns into the runner
            exit_status = EXIT_SETUP
            try:
                exit_status = _child(code, job, paths, prog, libc)
            finally:
                os._exit(exit_status)
        wait_status, elapsed, timed_out = _wait(pid, limit_s)
        output = _read(paths["out"], int(job["output_bytes"]))
        status = _status(wait_status, timed_out, len(output), job)
        record: dict[str, Any] = {"case": index, "status": status, "time_s": round(elapsed, 4)}
        result = _read(paths["result"], int(job["output_bytes"]) + 1)
        report = _decode_report(result)
        if status == "ok":
            if job["kind"] == "function":
                if "value" in report:
                    record["value"] = report["value"]
                else:
                    record["status"] = "runtime_error"
                    record["message"] = "the function returned no value"
            else:
                record["digest"] = output_digest(output.decode("utf-8", "replace"))
        elif isinstance(report.get("error"), str):
            record["message"] = report["error"][:_MAX_MESSAGE]
        elif status == "runtime_error" and os.WIFSIGNALED(wait_status):
            record["message"] = f"killed by signal {os.WTERMSIG(wait_status)}"
        _emit(out, record)
    _emit(out, {"done": True})


def main() -> None:
    """Entry point inside the sandbox: the job on stdin, one JSON line per event on stdout."""
    out = sys.stdout
    os.environ.clear()  # started with none; the interpreter's own locale coercion added LC_CTYPE
    _emit(out, {"ready": True})
    job = marshal.loads(sys.stdin.buffer.read())
    sys.stdin.close()
    run(job, sys.argv[1], out)


if __name__ == "__main__":
    main()
