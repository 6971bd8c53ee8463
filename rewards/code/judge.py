"""The code component: extract the program, check the tests, run them in the sandbox, compare.

``details`` (API.md): ``code_outcome`` (``passed``, ``failed``, ``compile_error``, ``runtime_error``,
``timeout``, ``memory_limit``, ``output_limit``, ``no_code``, ``tests_invalid``, ``sandbox_unavailable``),
``code_passed`` and ``code_total`` (cases), ``code_first_failure`` (the index of the first case that did not
pass, or null) and ``code_message`` (a short reason: an exception's type and text, a bound exceeded).

Scores: ``mode="all"``: 1.0 when every case passes, else 0.0 (the run stops at the first failing case, so
``code_passed`` then counts the cases before it); ``mode="fraction"``: the share of cases passed (every case
runs). A program that does not compile, or an answer without a program, scores 0.0. Tests that break the
server's bounds and a sandbox that cannot start give null: nothing was judged.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from rewards.code.extract import extract_program
from rewards.code.runner import normalize_output
from rewards.code.sandbox import SandboxUnavailable, run_program
from rewards.code.spec import CodeTests, InvalidTests, parse_tests
from rewards.config import CodeConfig

CODE_OUTCOMES: tuple[str, ...] = (
    "passed",
    "failed",
    "compile_error",
    "runtime_error",
    "timeout",
    "memory_limit",
    "output_limit",
    "no_code",
    "tests_invalid",
    "sandbox_unavailable",
)
_REL_TOL = 1e-6
_ABS_TOL = 1e-9


def values_equal(got: Any, expected: Any) -> bool:
    """A ``function`` case's returned value against the expected one: JSON values, numbers with a relative
    tolerance of 1e-6 when either is a float, booleans never equal to numbers, lists in order.

    Example:
        >>> values_equal([1, 0.30000000000000004], [1, 0.3]), values_equal(True, 1)
        (True, False)
    """
    if isinstance(got, bool) or isinstance(expected, bool):
        return type(got) is type(expected) and got == expected
    if isinstance(got, int | float) and isinstance(expected, int | float):
        if isinstance(got, int) and isinstance(expected, int):
            return got == expected
        return math.isclose(got, expected, rel_tol=_REL_TOL, abs_tol=_ABS_TOL)
    if isinstance(got, list) and isinstance(expected, list):
        return len(got) == len(expected) and all(
            values_equal(g, e) for g, e in zip(got, expected, strict=True)
        )
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(values_equal(got[k], expected[k]) for k in got)
    return bool(got == expected) and type(got) is type(expected)


def _digest(text: str) -> str:
    return hashlib.sha256(normalize_output(text).encode("utf-8", "replace")).hexdigest()


def _details(
    outcome: str, total: int | None, passed: int | None, first: int | None, message: str | None
) -> dict[str, Any]:
    return {
        "code_outcome": outcome,
        "code_passed": passed,
        "code_total": total,
        "code_first_failure": first,
        "code_message": message,
    }


def score_code(
    answer_region: str | None, tests: Any, config: CodeConfig
) -> tuple[float | None, dict[str, Any]]:
    """Judge the last Python block of ``answer_region`` by ``tests`` (the wire ``tests`` object).

    Example:
        >>> tests = {"kind": "stdin_stdout", "cases": [{"input": "2", "output": "4"}]}
        >>> score_code("no program here", tests, CodeConfig())
        (0.0, {'code_outcome': 'no_code', 'code_passed': 0, 'code_total': 1, 'code_first_failure': None, 'code_message': None})
    """
    try:
        spec = parse_tests(tests, config.limits)
    except InvalidTests as exc:
        return None, _details("tests_invalid", None, None, None, str(exc))
    total = len(spec.cases)
    program = extract_program(answer_region)
    if program is None:
        return 0.0, _details("no_code", total, 0, None, None)
    return _judge(program, spec, config)


def _judge(program: str, spec: CodeTests, config: CodeConfig) -> tuple[float | None, dict[str, Any]]:
    total = len(spec.cases)
    expected = [_digest(c.output) for c in spec.cases] if spec.kind == "stdin_stdout" else None
    verdicts: dict[int, str] = {}
    failure: dict[str, Any] = {}

    def on_case(record: dict[str, Any]) -> bool:
        index, status = record.get("case"), record.get("status")
        if not isinstance(index, int) or not 0 <= index < total or index in verdicts:
            failure.setdefault("broken", "an unexpected case record")
            return False
        if status == "ok":
            if expected is not None:
                ok = record.get("digest") == expected[index]
            else:
                ok = "value" in record and values_equal(record["value"], spec.cases[index].output)
            verdict = "passed" if ok else "failed"
        elif status in ("runtime_error", "timeout", "memory_limit", "output_limit"):
            verdict = str(status)
        else:
            failure.setdefault("broken", "the sandbox could not confine a test case")
            failure.setdefault("sandbox", True)
            return False
        verdicts[index] = verdict
        if verdict != "passed" and "index" not in failure:
            failure.update(index=index, outcome=verdict, message=record.get("message"))
        return config.mode == "fraction" or verdict == "passed"

    try:
        ran = run_program(program, spec, config.limits, on_case)
    except SandboxUnavailable as exc:
        return None, _details("sandbox_unavailable", total, None, None, str(exc))
    if ran.setup_failed is not None or failure.get("sandbox"):
        return None, _details("sandbox_unavailable", total, None, None, ran.setup_failed or failure["broken"])
    if ran.compile_error is not None:
        return 0.0, _details("compile_error", total, 0, 0, ran.compile_error)
    passed = sum(1 for v in verdicts.values() if v == "passed")
    if "index" not in failure and len(verdicts) < total:
        # the runner died or the deadline came before every case reported: the first missing case failed
        missing = min(i for i in range(total) if i not in verdicts)
        outcome = "timeout" if ran.deadline_hit else "runtime_error"
        failure.update(index=missing, outcome=outcome, message=ran.broken or failure.get("broken"))
    if "index" not in failure:
        return 1.0, _details("passed", total, passed, None, None)
    score = passed / total if config.mode == "fraction" else 0.0
    return score, _details(failure["outcome"], total, passed, failure["index"], failure.get("message"))
