"""The code component end to end in the library: every outcome, both test kinds, both modes, both backends."""

from __future__ import annotations

from typing import Any

import pytest

from rewards import CODE_OUTCOMES, Item, RewardConfig, score_item
from rewards.code import score_code
from rewards.config import CodeConfig, CodeLimits
from tests.code.conftest import completion

pytestmark = pytest.mark.usefixtures("bwrap_ready")

LIMITS = CodeLimits(time_limit_s=1.0, memory_mb=128, output_bytes=4096)
DOUBLE = {"kind": "stdin_stdout", "cases": [{"input": f"{n}\n", "output": f"{2 * n}\n"} for n in (1, 2, 3)]}
ADD = {
    "kind": "function",
    "fn_name": "add",
    "cases": [
        {"args": [1, 2], "output": 3},
        {"args": [0.1, 0.2], "output": 0.3},
        {"args": [[1], [2]], "output": [1, 2]},
    ],
}

# (program, tests, mode, score, outcome, passed, first failing case)
OUTCOME_CASES: list[tuple[str, dict[str, Any], str, float | None, str, int | None, int | None]] = [
    # -- correct
    ("print(int(input()) * 2)", DOUBLE, "all", 1.0, "passed", 3, None),
    ("import sys\nfor line in sys.stdin: print(2 * int(line), '  ')", DOUBLE, "all", 1.0, "passed", 3, None),
    ("def add(a, b):\n    return a + b", ADD, "all", 1.0, "passed", 3, None),
    ("class Solution:\n    def add(self, a, b):\n        return a + b", ADD, "all", 1.0, "passed", 3, None),
    (
        "import threading\ndef main(): print(int(input()) * 2)\nt = threading.Thread(target=main)\nt.start()",
        DOUBLE,
        "all",
        1.0,
        "passed",
        3,
        None,
    ),
    # -- wrong on some cases
    ("n = int(input())\nprint(2 * n if n < 3 else 0)", DOUBLE, "all", 0.0, "failed", 2, 2),
    ("n = int(input())\nprint(2 * n if n == 2 else 0)", DOUBLE, "all", 0.0, "failed", 0, 0),  # stops there
    ("n = int(input())\nprint(2 * n if n == 2 else 0)", DOUBLE, "fraction", 1 / 3, "failed", 1, 0),
    (
        "def add(a, b):\n    return [a, b] if isinstance(a, int) else a + b",
        ADD,
        "fraction",
        2 / 3,
        "failed",
        2,
        0,
    ),
    ("def add(a, b):\n    return str(a + b)", ADD, "all", 0.0, "failed", 0, 0),
    # -- crashing
    ("print(1 / 0)", DOUBLE, "all", 0.0, "runtime_error", 0, 0),
    (
        "n = int(input())\nif n == 3: raise SystemExit(2)\nprint(2 * n)",
        DOUBLE,
        "fraction",
        2 / 3,
        "runtime_error",
        2,
        2,
    ),
    ("def sub(a, b):\n    return a - b", ADD, "all", 0.0, "runtime_error", 0, 0),  # no function named add
    ("def add(a, b):\n    return {1, 2}", ADD, "all", 0.0, "runtime_error", 0, 0),  # not JSON
    ("import os\nos._exit(0)", ADD | {"fn_name": "add"}, "all", 0.0, "runtime_error", 0, 0),
    ("print(", DOUBLE, "all", 0.0, "compile_error", 0, 0),
    ("x = (" * 300 + ")" * 300, DOUBLE, "all", 0.0, "compile_error", 0, 0),
    # -- slow and non-terminating
    (
        "import time\nn = int(input())\nif n == 2: time.sleep(30)\nprint(2 * n)",
        DOUBLE,
        "all",
        0.0,
        "timeout",
        1,
        1,
    ),
    ("while True: pass", DOUBLE, "fraction", 0.0, "timeout", 0, 0),
    # -- over a bound
    ("x = bytearray(512 * 1024 * 1024)", DOUBLE, "all", 0.0, "memory_limit", 0, 0),
    ("while True: print('y' * 1000)", DOUBLE, "all", 0.0, "output_limit", 0, 0),
    ("def add(a, b):\n    return 'z' * 100000", ADD, "all", 0.0, "output_limit", 0, 0),
    # -- nothing to run, or nothing to run it by
    ("", DOUBLE, "all", 0.0, "no_code", 0, None),
    ("print(1)", {"kind": "stdin_stdout", "cases": []}, "all", None, "tests_invalid", None, None),
]


@pytest.mark.parametrize(("program", "tests", "mode", "score", "outcome", "passed", "first"), OUTCOME_CASES)
def test_outcomes(
    program: str,
    tests: dict[str, Any],
    mode: str,
    score: float | None,
    outcome: str,
    passed: int | None,
    first: int | None,
) -> None:
    answer = completion(program).split("</think>")[1] if program else "I could not write it."
    got, details = score_code(answer, tests, CodeConfig(mode=mode, limits=LIMITS))  # type: ignore[arg-type]
    assert details["code_outcome"] == outcome, details
    assert got == (pytest.approx(score) if score is not None else None)
    assert (details["code_passed"], details["code_first_failure"]) == (passed, first)
    assert details["code_total"] == (None if outcome == "tests_invalid" else len(tests["cases"]))


def test_every_outcome_is_covered() -> None:
    covered = {row[4] for row in OUTCOME_CASES} | {"sandbox_unavailable"}  # that one: test_code_service.py
    assert covered == set(CODE_OUTCOMES)


@pytest.mark.parametrize("backend", ["bwrap", "none"])
def test_both_backends_judge_alike(backend: str) -> None:
    limits = CodeLimits(sandbox=backend, time_limit_s=1.0)  # type: ignore[arg-type]
    config = RewardConfig(accuracy=None, format=None, language=None, code=CodeConfig(limits=limits))
    right = score_item(Item(completion("print(int(input()) * 2)"), tests=DOUBLE), config)
    wrong = score_item(Item(completion("print(int(input()) * 3)"), tests=DOUBLE), config)
    assert (right.scores, wrong.scores) == ({"code": 1.0}, {"code": 0.0})


def test_default_reward_of_a_code_item() -> None:
    """Tests and no math answer: accuracy says no_reference and is left out; code, format, language count."""
    config = RewardConfig(code=CodeConfig(limits=LIMITS))
    result = score_item(
        Item(completion("print(int(input()) * 2)"), prompt="Double the number.", lang="en", tests=DOUBLE),
        config,
    )
    assert result.scores["accuracy"] is None and result.details["outcome"] == "no_reference"
    assert result.scores["code"] == 1.0 and result.scores["format"] == 1.0
    assert result.reward == pytest.approx(1.0 + 0.5 + 0.1 * result.scores["language"])


def test_items_without_tests_get_no_code_score() -> None:
    config = RewardConfig(code=CodeConfig(limits=LIMITS))
    result = score_item(Item("<think>\nadd\n</think>\n\\boxed{4}", answer="4"), config)
    assert "code" not in result.scores and "code_outcome" not in result.details
    assert result.reward == pytest.approx(1.5 + 0.1 * (result.scores["language"] or 0.0))
