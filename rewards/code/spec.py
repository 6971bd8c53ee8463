"""Test sets: the ``tests`` field of an item, checked against the server's bounds.

Two kinds (API.md):

* ``{"kind": "stdin_stdout", "cases": [{"input": "...", "output": "..."}, ...]}``: the program reads the
  input on stdin; its stdout, whitespace-normalised at line ends, must equal the output.
* ``{"kind": "function", "fn_name": "f", "cases": [{"args": [...], "output": ...}, ...]}``: the program
  defines ``f`` (or a class ``Solution`` with a method ``f``); ``f(*args)`` must return the output.

Optional ``"time_limit_s"`` and ``"memory_mb"`` apply to every case and must lie within the bounds. Anything
else (a missing field, a wrong type, more cases or characters than allowed) raises :class:`InvalidTests`,
which the judge reports as ``tests_invalid``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from rewards.config import CodeLimits

TestsKind = Literal["stdin_stdout", "function"]
_MAX_DEPTH = 32  # nesting of a function case's arguments and output
_MAX_NAME = 128


class InvalidTests(ValueError):
    """A test set that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class CodeCase:
    """One case: ``stdin`` (a string) or ``args`` (a list) in, ``output`` expected."""

    stdin: str | None
    args: list[Any] | None
    output: Any


@dataclass(frozen=True, slots=True)
class CodeTests:
    """A checked test set.

    Example:
        >>> spec = parse_tests({"kind": "stdin_stdout", "cases": [{"input": "2", "output": "4"}]}, CodeLimits())
        >>> spec.kind, len(spec.cases), spec.time_limit_s
        ('stdin_stdout', 1, 2.0)
    """

    kind: TestsKind
    cases: tuple[CodeCase, ...]
    fn_name: str | None
    time_limit_s: float
    memory_mb: int


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidTests(f"{where} must be a number")
    if not low < value <= high:
        raise InvalidTests(f"{where} must be in ({low:g}, {high:g}]")
    return float(value)


def _json_size(value: Any, where: str) -> int:
    """Characters of ``value`` as JSON, refusing anything JSON cannot carry or that nests too deeply."""

    def depth(v: Any, level: int) -> None:
        if level > _MAX_DEPTH:
            raise InvalidTests(f"{where} nests more than {_MAX_DEPTH} levels")
        if isinstance(v, list):
            for x in v:
                depth(x, level + 1)
        elif isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    raise InvalidTests(f"{where} has a non-string key")
                depth(x, level + 1)
        elif not (v is None or isinstance(v, str | int | float | bool)):
            raise InvalidTests(f"{where} is not JSON")
        elif isinstance(v, float) and not math.isfinite(v):
            raise InvalidTests(f"{where} is not a finite number")

    depth(value, 0)
    return len(json.dumps(value, ensure_ascii=False))


def parse_tests(raw: Any, limits: CodeLimits) -> CodeTests:
    """Check a wire ``tests`` object against ``limits``.

    Raises:
        InvalidTests: the object is malformed or over a bound; the message names the field.

    Example:
        >>> try:
        ...     parse_tests({"kind": "function", "fn_name": "f", "cases": []}, CodeLimits())
        ... except InvalidTests as exc:
        ...     print(exc)
        tests.cases must hold at least one case
    """
    if not isinstance(raw, dict):
        raise InvalidTests("tests must be an object")
    kind = raw.get("kind")
    if kind not in ("stdin_stdout", "function"):
        raise InvalidTests("tests.kind must be stdin_stdout or function")
    fn_name = raw.get("fn_name")
    if kind == "function":
        if not isinstance(fn_name, str) or not fn_name.isidentifier() or len(fn_name) > _MAX_NAME:
            raise InvalidTests("tests.fn_name must be a Python identifier")
    else:
        fn_name = None
    time_limit = limits.time_limit_s
    if raw.get("time_limit_s") is not None:
        time_limit = _number(raw["time_limit_s"], "tests.time_limit_s", 0.0, limits.max_time_limit_s)
    memory = limits.memory_mb
    if raw.get("memory_mb") is not None:
        value = raw["memory_mb"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidTests("tests.memory_mb must be an integer")
        memory = int(_number(value, "tests.memory_mb", 31, limits.max_memory_mb))
    cases = raw.get("cases")
    if not isinstance(cases, list) or not cases:
        raise InvalidTests("tests.cases must hold at least one case")
    if len(cases) > limits.max_cases:
        raise InvalidTests(f"tests.cases has {len(cases)} cases; at most {limits.max_cases}")
    if len(cases) * time_limit > limits.max_total_s:
        raise InvalidTests(
            f"tests ask for {len(cases) * time_limit:g} s in all; at most {limits.max_total_s:g}"
        )
    parsed: list[CodeCase] = []
    chars = 0
    for i, case in enumerate(cases):
        where = f"tests.cases.{i}"
        if not isinstance(case, dict) or "output" not in case:
            raise InvalidTests(f"{where} must be an object with an output")
        if kind == "stdin_stdout":
            stdin, output = case.get("input", ""), case["output"]
            if not isinstance(stdin, str) or not isinstance(output, str):
                raise InvalidTests(f"{where}: input and output must be strings")
            chars += len(stdin) + len(output)
            parsed.append(CodeCase(stdin=stdin, args=None, output=output))
        else:
            args = case.get("args", [])
            if not isinstance(args, list):
                raise InvalidTests(f"{where}.args must be a list")
            chars += _json_size(args, f"{where}.args") + _json_size(case["output"], f"{where}.output")
            parsed.append(CodeCase(stdin=None, args=args, output=case["output"]))
        if chars > limits.max_tests_chars:
            raise InvalidTests(f"tests hold more than {limits.max_tests_chars} characters")
    return CodeTests(
        kind=kind, cases=tuple(parsed), fn_name=fn_name, time_limit_s=time_limit, memory_mb=memory
    )
