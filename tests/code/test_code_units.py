"""The code component's pure parts: test-set bounds, program extraction, value comparison, configuration."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rewards.code import extract_program, parse_tests, values_equal
from rewards.code.runner import _encode as runner_encode
from rewards.code.runner import normalize_output
from rewards.code.spec import InvalidTests
from rewards.config import CodeConfig, CodeLimits, ConfigError, RewardConfig
from rewards.registry import has_reference, weighted_reward

LIMITS = CodeLimits(
    max_cases=4, max_tests_chars=100, max_time_limit_s=3.0, max_memory_mb=300, max_total_s=6.0
)
STDIN_CASE = {"input": "1", "output": "2"}

# ------------------------------------------------------------------------------------- valid test sets
VALID_TESTS: list[tuple[dict[str, Any], tuple[str, int, float, int]]] = [
    ({"kind": "stdin_stdout", "cases": [STDIN_CASE]}, ("stdin_stdout", 1, 2.0, 256)),
    ({"kind": "stdin_stdout", "cases": [{"output": "x"}]}, ("stdin_stdout", 1, 2.0, 256)),  # no input
    ({"kind": "stdin_stdout", "cases": [STDIN_CASE] * 4, "time_limit_s": 1.5}, ("stdin_stdout", 4, 1.5, 256)),
    ({"kind": "stdin_stdout", "cases": [STDIN_CASE], "memory_mb": 300}, ("stdin_stdout", 1, 2.0, 300)),
    (
        {"kind": "function", "fn_name": "f", "cases": [{"args": [1, [2]], "output": 3}]},
        ("function", 1, 2.0, 256),
    ),
    ({"kind": "function", "fn_name": "f", "cases": [{"output": None}]}, ("function", 1, 2.0, 256)),  # no args
    ({"kind": "stdin_stdout", "cases": [STDIN_CASE], "time_limit_s": None}, ("stdin_stdout", 1, 2.0, 256)),
]


@pytest.mark.parametrize(("raw", "expected"), VALID_TESTS)
def test_valid_tests(raw: dict[str, Any], expected: tuple[str, int, float, int]) -> None:
    spec = parse_tests(raw, LIMITS)
    assert (spec.kind, len(spec.cases), spec.time_limit_s, spec.memory_mb) == expected


# ------------------------------------------------------------------------------ invalid: tests_invalid
INVALID_TESTS: list[tuple[Any, str]] = [
    ("cases", "must be an object"),
    ({"cases": [STDIN_CASE]}, "tests.kind"),
    ({"kind": "shell", "cases": [STDIN_CASE]}, "tests.kind"),
    ({"kind": "stdin_stdout"}, "at least one case"),
    ({"kind": "stdin_stdout", "cases": []}, "at least one case"),
    ({"kind": "stdin_stdout", "cases": [STDIN_CASE] * 5}, "at most 4"),
    ({"kind": "stdin_stdout", "cases": [{"input": "x" * 99, "output": "yy"}]}, "more than 100 characters"),
    ({"kind": "stdin_stdout", "cases": [{"input": 1, "output": "2"}]}, "must be strings"),
    ({"kind": "stdin_stdout", "cases": [{"input": "1"}]}, "with an output"),
    ({"kind": "stdin_stdout", "cases": ["1"]}, "with an output"),
    ({"kind": "stdin_stdout", "cases": [STDIN_CASE], "time_limit_s": 4}, "time_limit_s"),
    ({"kind": "stdin_stdout", "cases": [STDIN_CASE], "time_limit_s": 0}, "time_limit_s"),
    ({"kind": "stdin_stdout", "cases": [STDIN_CASE], "time_limit_s": "1"}, "time_limit_s"),
    ({"kind": "stdin_stdout", "cases": [STDIN_CASE], "time_limit_s": True}, "time_limit_s"),
    ({"kind": "stdin_stdout", "cases": [STDIN_CASE] * 3, "time_limit_s": 2.5}, "in all"),
    ({"kind": "stdin_stdout", "cases": [STDIN_CASE], "memory_mb": 301}, "memory_mb"),
    ({"kind": "stdin_stdout", "cases": [STDIN_CASE], "memory_mb": 100.5}, "memory_mb"),
    ({"kind": "stdin_stdout", "cases": [STDIN_CASE], "memory_mb": 8}, "memory_mb"),
    ({"kind": "function", "cases": [{"args": [], "output": 1}]}, "fn_name"),
    ({"kind": "function", "fn_name": "not a name", "cases": [{"output": 1}]}, "fn_name"),
    ({"kind": "function", "fn_name": "f", "cases": [{"args": 1, "output": 1}]}, "args must be a list"),
    (
        {
            "kind": "function",
            "fn_name": "f",
            "cases": [
                {
                    "args": [[[[[[1]]]]]] * 1,
                    "output": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
                }
            ],
        },
        "nests",
    ),
    ({"kind": "function", "fn_name": "f", "cases": [{"args": ["x" * 200], "output": 1}]}, "more than 100"),
]


@pytest.mark.parametrize(("raw", "reason"), INVALID_TESTS)
def test_invalid_tests_name_the_reason(raw: Any, reason: str) -> None:
    with pytest.raises(InvalidTests, match=reason):
        parse_tests(raw, LIMITS)


# --------------------------------------------------------------------------------- program extraction
EXTRACT_CASES: list[tuple[str | None, str | None]] = [
    (None, None),
    ("", None),
    ("no code at all", None),
    ("```python\nprint(1)\n```", "print(1)\n"),
    ("```py\nprint(1)\n```", "print(1)\n"),
    ("```Python3\nprint(1)\n```", "print(1)\n"),
    ("```\nprint(1)\n```", "print(1)\n"),  # untagged counts
    ("```cpp\nint main(){}\n```", None),  # another language is not a program to run
    ("```python\na()\n```\ntext\n```python\nb()\n```", "b()\n"),  # the last block
    ("```python\na()\n```\n```cpp\nx\n```", "a()\n"),  # the last Python block
    ("````python\nx = '```'\n````", "x = '```'\n"),  # a longer fence holds a shorter one
    ("~~~python\nprint(2)\n~~~", "print(2)\n"),
    ("```python\nprint(3)", "print(3)"),  # unclosed: judged as it stands
    ("```python\n\n```", None),  # empty
    ("x ```python print(1)```", None),  # not a fence at the start of a line
]


@pytest.mark.parametrize(("text", "program"), EXTRACT_CASES)
def test_extract_program(text: str | None, program: str | None) -> None:
    assert extract_program(text) == program


# --------------------------------------------------------------------------------- output comparison
NORMALIZE_CASES: list[tuple[str, str]] = [
    ("4\n", "4"),
    ("1 2  \n3\r\n\n\n", "1 2\n3"),
    ("  lead\n", "  lead"),  # leading spaces are kept
    ("", ""),
]


@pytest.mark.parametrize(("text", "normal"), NORMALIZE_CASES)
def test_normalize_output(text: str, normal: str) -> None:
    assert normalize_output(text) == normal


VALUE_CASES: list[tuple[Any, Any, bool]] = [
    (3, 3, True),
    (3, 4, False),
    (0.1 + 0.2, 0.3, True),
    (1.0, 1, True),
    (1.001, 1, False),
    (True, 1, False),
    (True, True, True),
    ([1, 2], [1, 2], True),
    ([2, 1], [1, 2], False),
    ([1], [1, 2], False),
    ({"a": [1.0]}, {"a": [1]}, True),
    ({"a": 1}, {"b": 1}, False),
    ("1", 1, False),
    (None, None, True),
    (None, 0, False),
]


@pytest.mark.parametrize(("got", "expected", "equal"), VALUE_CASES)
def test_values_equal(got: Any, expected: Any, equal: bool) -> None:
    assert values_equal(got, expected) is equal


# ------------------------------------------------------------------------------------- configuration
def test_code_config_from_the_wire() -> None:
    config = RewardConfig.from_dict({"code": {"weight": 2, "mode": "fraction"}})
    assert config.code == CodeConfig(weight=2.0, mode="fraction")
    assert config.to_dict() == {"code": {"weight": 2.0, "mode": "fraction"}}  # limits never on the wire


CONFIG_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"code": {"mode": "some"}}, "rewards.code.mode"),
    ({"code": {"limits": {}}}, "rewards.code.limits"),  # the server's bounds cannot be set by a request
    ({"code": {"weight": "1"}}, "rewards.code.weight"),
]


@pytest.mark.parametrize(("block", "field"), CONFIG_ERRORS)
def test_code_config_errors(block: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        RewardConfig.from_dict(block)


# -------------------------------------------------------------- the reward with missing references
CODE = RewardConfig(code=CodeConfig())
REWARD_CASES: list[tuple[dict[str, float | None], dict[str, Any], float | None]] = [
    # no reference: accuracy is left out, the rest counts (never null for that reason alone)
    ({"accuracy": None, "format": 1.0, "language": 1.0}, {"outcome": "no_reference"}, 0.6),
    ({"accuracy": None, "format": 0.0, "language": None}, {"outcome": "no_reference"}, 0.0),
    ({"accuracy": None, "format": 1.0, "code": 1.0}, {"outcome": "no_reference"}, 1.5),
    # a judgement that was due and failed still makes the reward null
    ({"accuracy": None, "format": 1.0}, {"outcome": "timeout"}, None),
    ({"accuracy": None, "format": 1.0}, {"outcome": "gold_unparseable"}, None),
    ({"accuracy": None, "format": 1.0, "code": None}, {"outcome": "no_reference"}, None),
    ({"accuracy": 1.0, "format": 1.0, "code": 0.5}, {"outcome": "equivalent"}, 2.0),
]


@pytest.mark.parametrize(("scores", "details", "reward"), REWARD_CASES)
def test_reward_without_reference(
    scores: dict[str, float | None], details: dict[str, Any], reward: float | None
) -> None:
    got = weighted_reward(scores, CODE, details)
    assert got == (pytest.approx(reward) if reward is not None else None)


REFERENCE_CASES: list[tuple[Any, bool]] = [
    (None, False),
    ("", False),
    ("  ", False),
    ([], False),
    (["", " "], False),
    ("4", True),
    (["", "4"], True),
]


@pytest.mark.parametrize(("answer", "present"), REFERENCE_CASES)
def test_has_reference(answer: Any, present: bool) -> None:
    assert has_reference(answer) is present


# ------------------------------------------------------------------ the runner's records are valid JSON
RECORD_CASES: list[dict[str, Any]] = [
    {"case": 0, "status": "ok", "time_s": 0.0123, "digest": "ab" * 32},
    {"case": 1, "status": "runtime_error", "message": 'quote " backslash \\ newline \n tab \t'},
    {"message": "nul \x00 del \x7f line sep \u2028 emoji \U0001f600 surrogate \ud800"},
    {"value": [1, 2.5, None, True, {"k": "v"}]},
    {"value": float("inf"), "other": float("nan")},
    {"done": True, "ready": False},
]


@pytest.mark.parametrize("record", RECORD_CASES)
def test_runner_records_round_trip(record: dict[str, Any]) -> None:
    line = runner_encode(record)
    assert "\n" not in line and line.isascii()
    decoded = json.loads(line)
    assert json.dumps(decoded, sort_keys=True) == json.dumps(record, sort_keys=True)
