"""Programs per second through the code sandbox, against the same programs run by a bare ``subprocess``.

The set: ``--programs`` solutions to small stdin/stdout tasks (sum, sort, reverse, count words), three cases
each: most pass, some print a wrong answer, some raise, some loop past the time limit (``--time-limit``).
Both sides run every case (the judge in ``"fraction"`` mode) one program at a time, in this process:

- **sandbox**: ``rewards.code.score_code`` as a scoring worker runs it: a fresh bubblewrap sandbox per
  program (namespaces, read-only binds, tmpfs, seccomp), the runner forked once per case with rlimits and
  the per-case filter;
- **floor**: no isolation at all, ``subprocess.run([python, -I, -S, -c, program])`` once per case with the
  input on stdin and the same time limit, output compared the same way.

It prints programs per second of each, the ratio sandbox/floor (the issue asks for at least 0.5), and
whether both sides reached the same verdict on every case (they must).

Usage:
    python -m bench.code [--programs N] [--time-limit S] [--backend bwrap|none] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from rewards.code import score_code
from rewards.code.runner import normalize_output
from rewards.code.sandbox import sandbox_status
from rewards.config import CodeConfig, CodeLimits

_TASKS: list[tuple[str, str, list[tuple[str, str]]]] = [
    # (name, correct program, cases)
    ("sum", "print(sum(map(int, input().split())))", [("1 2 3", "6"), ("10 -4", "6"), ("7", "7")]),
    (
        "sort",
        "input()\nprint(*sorted(map(int, input().split())))",
        [("3\n3 1 2", "1 2 3"), ("1\n5", "5"), ("4\n9 9 1 0", "0 1 9 9")],
    ),
    ("reverse", "print(input()[::-1])", [("abc", "cba"), ("x", "x"), ("racecar", "racecar")]),
    (
        "words",
        "import sys\nprint(len(sys.stdin.read().split()))",
        [("a b c", "3"), ("one\ntwo", "2"), ("", "0")],
    ),
]
_WRONG = "print(0)"
_CRASH = "raise ValueError('bad input')"
_LOOP = "while True:\n    pass"


@dataclass(frozen=True, slots=True)
class Program:
    """One solution and the test set it is judged by."""

    kind: str  # passing, failing, crashing, timeout
    source: str
    cases: list[tuple[str, str]]


def programs(n: int) -> list[Program]:
    """``n`` programs: of every ten, six pass, two print wrong answers, one raises, one loops.

    Example:
        >>> [p.kind for p in programs(10)].count("passing")
        6
    """
    out: list[Program] = []
    for i in range(n):
        _name, source, cases = _TASKS[i % len(_TASKS)]
        slot = i % 10
        if slot < 6:
            out.append(Program("passing", source, cases))
        elif slot < 8:
            out.append(Program("failing", _WRONG, cases))
        elif slot == 8:
            out.append(Program("crashing", _CRASH, cases))
        else:
            out.append(Program("timeout", _LOOP, cases))
    return out


def _tests(program: Program, time_limit: float) -> dict[str, Any]:
    cases = [{"input": stdin, "output": out} for stdin, out in program.cases]
    return {"kind": "stdin_stdout", "cases": cases, "time_limit_s": time_limit}


@dataclass
class Run:
    """One side's figures: seconds per program kind and per-case verdicts (passed or not)."""

    seconds: dict[str, float]
    verdicts: list[list[bool]]

    @property
    def total_s(self) -> float:
        """Seconds for the whole set."""
        return sum(self.seconds.values())


def run_sandbox(progs: list[Program], limits: CodeLimits) -> Run:
    """Every program through the sandbox, one after another."""
    config = CodeConfig(mode="fraction", limits=limits)
    run = Run({}, [])
    for prog in progs:
        start = time.perf_counter()
        answer = f"```python\n{prog.source}\n```"
        score, details = score_code(answer, _tests(prog, limits.time_limit_s), config)
        if score is None:
            raise SystemExit(f"the sandbox did not judge a program: {details}")
        passed = round(score * len(prog.cases))
        run.seconds[prog.kind] = run.seconds.get(prog.kind, 0.0) + time.perf_counter() - start
        run.verdicts.append([True] * passed + [False] * (len(prog.cases) - passed))
    return run


def run_floor(progs: list[Program], time_limit: float) -> Run:
    """Every program with a bare ``subprocess.run`` per case (no isolation), one after another."""
    run = Run({}, [])
    for prog in progs:
        start = time.perf_counter()
        row = []
        for stdin, expected in prog.cases:
            try:
                done = subprocess.run(
                    [sys.executable, "-I", "-S", "-B", "-X", "utf8", "-c", prog.source],
                    input=stdin.encode(),
                    capture_output=True,
                    timeout=time_limit,
                    env={},
                )
                ok = (
                    done.returncode == 0
                    and normalize_output(done.stdout.decode("utf-8", "replace")) == expected
                )
            except subprocess.TimeoutExpired:
                ok = False
            row.append(ok)
        run.seconds[prog.kind] = run.seconds.get(prog.kind, 0.0) + time.perf_counter() - start
        run.verdicts.append(sorted(row, reverse=True))
    return run


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures (``--json`` for one JSON object)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=100)
    parser.add_argument("--time-limit", type=float, default=0.5)
    parser.add_argument("--backend", choices=["bwrap", "none"], default="bwrap")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    limits = CodeLimits(sandbox=args.backend, time_limit_s=args.time_limit)
    available, detail = sandbox_status(limits)
    if not available:
        raise SystemExit(f"the sandbox cannot run here: {detail}")
    progs = programs(args.programs)
    run_sandbox(progs[:4], limits)  # warm the page cache and the filters
    floor = run_floor(progs, args.time_limit)
    sandbox = run_sandbox(progs, limits)
    counts = {kind: sum(1 for p in progs if p.kind == kind) for kind in sandbox.seconds}
    finished = len(progs) - counts.get("timeout", 0)  # programs that end on their own

    def side(run: Run) -> dict[str, Any]:
        ended = run.total_s - run.seconds.get("timeout", 0.0)
        return {
            "seconds": round(run.total_s, 3),
            "programs_per_s": round(len(progs) / run.total_s, 2),
            "programs_per_s_without_timeouts": round(finished / ended, 2),
            "ms_per_program_by_kind": {k: round(1000 * v / counts[k], 1) for k, v in run.seconds.items()},
        }

    result = {
        "programs": len(progs),
        "cases": sum(len(p.cases) for p in progs),
        "time_limit_s": args.time_limit,
        "backend": args.backend,
        "sandbox": side(sandbox),
        "floor": side(floor),
        "ratio_sandbox_over_floor": round(floor.total_s / sandbox.total_s, 3),
        "ratio_without_timeouts": round(
            (floor.total_s - floor.seconds.get("timeout", 0.0))
            / (sandbox.total_s - sandbox.seconds.get("timeout", 0.0)),
            3,
        ),
        "same_verdicts": sandbox.verdicts == floor.verdicts,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:26s} {value}")


if __name__ == "__main__":
    main()
