"""Check a running reward-service container from outside it, over its published loopback port.

Standard library only, so that it runs with any Python 3.10+ on the host. Used by scripts/check-image.sh:

    python3 scripts/image/probe.py wait-healthy PORT STARTED_AT   # prints the seconds to a healthy /health
    python3 scripts/image/probe.py score PORT                     # a /score batch: math, format, language, code
    python3 scripts/image/probe.py get-reward PORT                # OpenRLHF's /get_reward

Each command prints one line per check and exits non-zero with the reason on the first one that fails.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any

HEALTH_DEADLINE_S = 120.0
REQUEST_TIMEOUT_S = 60.0

# A prompt as the R1 template ends it: the model's reasoning follows the prefilled <think>.
PROMPT_EN = "What is 2 + 2? Put the final answer in \\boxed{}.<think>"

ADD = "a, b = map(int, input().split())\nprint(a + b)"
SUB = "a, b = map(int, input().split())\nprint(a - b)"
ADD_TESTS = {
    "kind": "stdin_stdout",
    "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5", "output": "10"}],
}

# (id, item, expected scores): None means "must be null", a float an exact value, a (low, high) pair a range.
ScoreExpectation = dict[str, float | tuple[float, float] | None]
SCORE_CASES: list[tuple[str, dict[str, Any], ScoreExpectation]] = [
    # math: right, wrong, and equivalent in another notation
    (
        "math-right",
        {"completion": "<think>Two plus two makes four.</think> So \\boxed{4}", "answer": "4", "lang": "en"},
        {"accuracy": 1.0, "format": 1.0, "language": (0.9, 1.0)},
    ),
    (
        "math-wrong",
        {"completion": "<think>Two plus two makes five.</think> So \\boxed{5}", "answer": "4", "lang": "en"},
        {"accuracy": 0.0, "format": 1.0},
    ),
    (
        "math-equivalent",
        {"completion": "<think>Half of one is a half.</think> \\boxed{0.5}", "answer": "\\frac{1}{2}"},
        {"accuracy": 1.0},
    ),
    # format: the prefilled <think> opens the block; a second </think> or no block at all fails it
    (
        "format-prefilled",
        {"prompt": PROMPT_EN, "completion": "Two plus two makes four.</think> \\boxed{4}", "answer": "4"},
        {"accuracy": 1.0, "format": 1.0},
    ),
    (
        "format-no-think",
        {"completion": "The answer is \\boxed{4}", "answer": "4", "lang": "en"},
        {"accuracy": 1.0, "format": 0.0},
    ),
    (
        "format-two-closes",
        {"completion": "<think>four</think></think> \\boxed{4}", "answer": "4"},
        {"format": 0.0},
    ),
    # language: the reasoning in the target language, in another one, and no target at all
    (
        "language-zh",
        {"completion": "<think>二加二等于四,所以答案是四。</think> \\boxed{4}", "answer": "4", "lang": "zh"},
        {"accuracy": 1.0, "language": (0.9, 1.0)},
    ),
    (
        "language-mixed-up",
        {
            "completion": "<think>Two plus two makes four, so the answer is four.</think> \\boxed{4}",
            "answer": "4",
            "lang": "zh",
        },
        {"accuracy": 1.0, "language": (0.0, 0.1)},
    ),
    (
        "no-reference",
        {"completion": "<think>four</think> \\boxed{4}"},
        {"accuracy": None},
    ),
    # code: a program judged by its tests in the bubblewrap sandbox inside the container
    (
        "code-right",
        {"completion": f"<think>Add the two numbers.</think>\n```python\n{ADD}\n```", "tests": ADD_TESTS},
        {"code": 1.0},
    ),
    (
        "code-wrong",
        {"completion": f"<think>Subtract them.</think>\n```python\n{SUB}\n```", "tests": ADD_TESTS},
        {"code": 0.0},
    ),
]


def fail(message: str) -> None:
    """Print why a check failed and exit non-zero."""
    sys.exit(f"probe: {message}")


def request_json(port: int, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """GET (no body) or POST JSON to the service on 127.0.0.1 and return (status, decoded body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def score_matches(value: float | None, expected: float | tuple[float, float] | None) -> bool:
    """Whether one score is what the table expects.

    >>> score_matches(None, None), score_matches(0.95, (0.9, 1.0)), score_matches(0.0, 1.0)
    (True, True, False)
    """
    if expected is None or value is None:
        return expected is None and value is None
    if isinstance(expected, tuple):
        return expected[0] <= value <= expected[1]
    return value == expected


def wait_healthy(port: int, started_at: float) -> None:
    """Poll /health until it answers 200 with status ok; print the seconds since ``started_at``."""
    while True:
        try:
            status, body = request_json(port, "/health")
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            status, body = 0, None
        if status == 200 and isinstance(body, dict) and body.get("status") == "ok":
            print(f"/health: {json.dumps(body)} after {time.time() - started_at:.1f} s")
            return
        if time.time() - started_at > HEALTH_DEADLINE_S:
            fail(f"/health did not answer 200 within {HEALTH_DEADLINE_S:.0f} s (last: {status} {body!r})")
        time.sleep(0.2)


def check_score(port: int) -> None:
    """POST one /score batch holding every case of SCORE_CASES and check each result."""
    items = [{"id": case_id, **item} for case_id, item, _ in SCORE_CASES]
    status, body = request_json(port, "/score", {"items": items})
    if status != 200:
        fail(f"/score answered {status}: {body!r}")
    results = body["results"]
    if [result["id"] for result in results] != [case_id for case_id, _, _ in SCORE_CASES]:
        fail(f"/score results are not one per item in order: {results!r}")
    for (case_id, _, expected), result in zip(SCORE_CASES, results, strict=True):
        if result["error"] is not None:
            fail(f"/score item {case_id}: error {result['error']!r}")
        for name, want in expected.items():
            if not score_matches(result["scores"].get(name), want):
                fail(f"/score item {case_id}: {name} = {result['scores'].get(name)!r}, expected {want!r}")
    print(f"/score: {len(results)} items (math, format, language, code) scored as expected")


def check_get_reward(port: int) -> None:
    """POST OpenRLHF's /get_reward for a right and a wrong answer and check the rewards order them."""
    body = {
        "query": [
            f"{PROMPT_EN}Two plus two makes four.</think> \\boxed{{4}}",
            f"{PROMPT_EN}Two plus two makes five.</think> \\boxed{{5}}",
        ],
        "prompts": [PROMPT_EN, PROMPT_EN],
        "labels": ["4", "4"],
    }
    status, answer = request_json(port, "/get_reward", body)
    if status != 200:
        fail(f"/get_reward answered {status}: {answer!r}")
    rewards = answer.get("rewards")
    if not (isinstance(rewards, list) and len(rewards) == 2 and all(isinstance(r, float) for r in rewards)):
        fail(f"/get_reward did not give two numbers: {answer!r}")
    if not rewards[0] >= 1.0 > rewards[1]:
        fail(f"/get_reward rewards {rewards} do not rank the right answer (>= 1) above the wrong one (< 1)")
    print(f"/get_reward: rewards {rewards}")


def main(argv: list[str]) -> None:
    """Run the command named in ``argv``."""
    usage = "usage: probe.py wait-healthy PORT STARTED_AT | score PORT | get-reward PORT"
    if len(argv) < 2:
        fail(usage)
    command, port = argv[0], int(argv[1])
    if command == "wait-healthy" and len(argv) == 3:
        wait_healthy(port, float(argv[2]))
    elif command == "score":
        check_score(port)
    elif command == "get-reward":
        check_get_reward(port)
    else:
        fail(usage)


if __name__ == "__main__":
    main(sys.argv[1:])
