"""The code component through the service (in-process app, real worker pool, real sandbox): every outcome in
one batch, the code lane that keeps math items moving, test sets over the server's bounds, and a sandbox
that cannot start."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.app.conftest import serve
from tests.code.conftest import completion

DOUBLE = {"kind": "stdin_stdout", "cases": [{"input": f"{n}\n", "output": f"{2 * n}\n"} for n in (1, 2, 3)]}
SQUARE = {"kind": "function", "fn_name": "square", "cases": [{"args": [n], "output": n * n} for n in (2, 3)]}
MATH = {"id": "math", "completion": "<think>\nTwo and two make four.\n</think>\n\\boxed{4}", "answer": "4"}
SETTINGS: dict[str, Any] = {"code_time_limit_s": 1.0, "code_memory_mb": 128, "code_output_bytes": 8192}

# (id, program or None for a completion without one, tests, code score, code_outcome)
SERVICE_CASES: list[tuple[str, str | None, Any, float | None, str]] = [
    ("correct", "print(int(input()) * 2)", DOUBLE, 1.0, "passed"),
    ("correct_fn", "def square(x):\n    return x * x", SQUARE, 1.0, "passed"),
    ("wrong", "print(int(input()) * 3)", DOUBLE, 0.0, "failed"),
    ("crashing", "raise ValueError('no')", DOUBLE, 0.0, "runtime_error"),
    ("syntax", "def square(x) return x", SQUARE, 0.0, "compile_error"),
    ("slow", "import time\ntime.sleep(5)", DOUBLE, 0.0, "timeout"),
    ("endless", "while True:\n    pass", SQUARE, 0.0, "timeout"),
    ("memory", "b = bytearray(1 << 30)", DOUBLE, 0.0, "memory_limit"),
    ("chatty", "while True:\n    print('x' * 100)", DOUBLE, 0.0, "output_limit"),
    ("no_program", None, DOUBLE, 0.0, "no_code"),
    ("bad_tests", "print(1)", {"kind": "stdin_stdout", "cases": [{"input": "1"}]}, None, "tests_invalid"),
    (
        "too_many_cases",
        "print(1)",
        {"kind": "stdin_stdout", "cases": [{"output": "1"}] * 65},
        None,
        "tests_invalid",
    ),
    (
        "too_slow_asked",
        "print(1)",
        {"kind": "stdin_stdout", "cases": [{"output": "1"}], "time_limit_s": 11},
        None,
        "tests_invalid",
    ),
]


def _item(case_id: str, program: str | None, tests: Any) -> dict[str, Any]:
    text = completion(program) if program is not None else "<think>\nHmm.\n</think>\nI cannot solve it."
    return {"id": case_id, "completion": text, "tests": tests}


@pytest.mark.usefixtures("bwrap_ready")
async def test_every_outcome_in_one_batch() -> None:
    items = [_item(*row[:3]) for row in SERVICE_CASES] + [MATH]
    async with serve(workers=2, **SETTINGS) as client:
        r = await client.post("/score", json={"items": items})
        assert r.status_code == 200
        results = r.json()["results"]
        health = (await client.get("/health")).json()
        metrics = (await client.get("/metrics")).text
    assert 'vrewards_code_outcomes_total{outcome="timeout"} 2.0' in metrics
    assert 'vrewards_code_outcomes_total{outcome="tests_invalid"} 3.0' in metrics
    assert [res["id"] for res in results] == [row[0] for row in SERVICE_CASES] + ["math"]
    for (case_id, _program, _tests, score, outcome), res in zip(SERVICE_CASES, results, strict=False):
        assert res["details"]["code_outcome"] == outcome, (case_id, res["details"])
        assert res["scores"]["code"] == score, case_id
        assert res["error"] is None
        # no math answer: accuracy is no_reference and left out; a null code score makes the reward null
        assert res["details"]["outcome"] == "no_reference"
        expected = (
            None
            if score is None
            else score + 0.5 * res["scores"]["format"] + 0.1 * (res["scores"]["language"] or 0)
        )
        assert res["reward"] == (pytest.approx(expected) if expected is not None else None), case_id
    assert results[-1]["scores"]["accuracy"] == 1.0 and "code" not in results[-1]["scores"]
    assert health["status"] == "ok" and health["code_sandbox"]["available"] is True


@pytest.mark.usefixtures("bwrap_ready")
async def test_fraction_mode_and_counts_over_http() -> None:
    item = _item("half", "n = int(input())\nprint(2 * n if n != 2 else 0)", DOUBLE)
    rewards = {"code": {"weight": 1.0, "mode": "fraction"}}
    async with serve(workers=2, **SETTINGS) as client:
        res = (await client.post("/score", json={"items": [item], "rewards": rewards})).json()["results"][0]
    assert res["scores"] == {"code": pytest.approx(2 / 3)}
    assert res["reward"] == pytest.approx(2 / 3)
    details = res["details"]
    assert (
        details["code_outcome"],
        details["code_passed"],
        details["code_total"],
        details["code_first_failure"],
    ) == (
        "failed",
        2,
        3,
        1,
    )


@pytest.mark.usefixtures("bwrap_ready")
async def test_code_items_cannot_starve_math_items() -> None:
    """Three workers, at most one running programs: a batch of slow programs sent first still leaves math
    batches sent after it to be scored while the programs wait their turn."""
    sleeper = {"kind": "stdin_stdout", "cases": [{"output": "ok"}], "time_limit_s": 3}
    slow = [_item(f"slow-{i}", "import time\ntime.sleep(1)\nprint('ok')", sleeper) for i in range(4)]
    async with serve(workers=3, code_workers=1, **SETTINGS) as client:
        pool = client.app.state.service.pool  # type: ignore[attr-defined]
        code_task = asyncio.create_task(client.post("/score", json={"items": slow}))
        while pool.code_busy == 0:
            await asyncio.sleep(0.01)
        for _ in range(5):
            r = await client.post("/score", json={"items": [MATH] * 8})
            assert [res["scores"]["accuracy"] for res in r.json()["results"]] == [1.0] * 8
            assert not code_task.done()  # the programs are still waiting for the one code worker
            assert pool.code_busy <= 1
        code_results = (await code_task).json()["results"]
    assert [res["details"]["code_outcome"] for res in code_results] == ["passed"] * 4


@pytest.mark.usefixtures("bwrap_ready")
async def test_one_worker_alternates_programs_and_math() -> None:
    """A pool of one worker has no worker to spare: after each program it takes waiting math first."""
    sleeper = {"kind": "stdin_stdout", "cases": [{"output": "ok"}], "time_limit_s": 3}
    slow = [_item(f"slow-{i}", "import time\ntime.sleep(0.5)\nprint('ok')", sleeper) for i in range(4)]
    async with serve(workers=1, **SETTINGS) as client:
        pool = client.app.state.service.pool  # type: ignore[attr-defined]
        assert pool.code_workers == 1
        code_task = asyncio.create_task(client.post("/score", json={"items": slow}))
        while pool.code_busy == 0:
            await asyncio.sleep(0.01)
        r = await client.post("/score", json={"items": [MATH] * 4})
        assert [res["scores"]["accuracy"] for res in r.json()["results"]] == [1.0] * 4
        assert not code_task.done()  # math went ahead of the three programs still queued
        code_results = (await code_task).json()["results"]
    assert [res["details"]["code_outcome"] for res in code_results] == ["passed"] * 4


FAKE_BWRAP = "#!/bin/sh\necho 'bwrap: No permissions to create a new namespace, likely because the kernel does not allow non-privileged user namespaces.' >&2\nexit 1\n"


@pytest.mark.parametrize("kind", ["missing", "no_user_namespaces"])
async def test_sandbox_unavailable(tmp_path: Path, kind: str) -> None:
    """Where the sandbox cannot start, code items get sandbox_unavailable and null, the program is never
    run some other way, /health says so, and math items are scored as usual."""
    bwrap = tmp_path / "bwrap"
    if kind == "no_user_namespaces":
        bwrap.write_text(FAKE_BWRAP)
        bwrap.chmod(bwrap.stat().st_mode | stat.S_IEXEC)
    marker = tmp_path / "ran"
    program = f"open({str(marker)!r}, 'w').write('ran')\nprint(int(input()) * 2)"
    async with serve(workers=2, code_bwrap=str(bwrap), **SETTINGS) as client:
        health = await client.get("/health")
        r = await client.post("/score", json={"items": [_item("code", program, DOUBLE), MATH]})
    assert health.status_code == 200
    sandbox = health.json()["code_sandbox"]
    assert sandbox["available"] is False and sandbox["backend"] == "bwrap"
    assert ("not installed" if kind == "missing" else "user namespaces") in sandbox["detail"]
    code, math = r.json()["results"]
    assert code["details"]["code_outcome"] == "sandbox_unavailable"
    assert code["scores"]["code"] is None and code["reward"] is None
    assert math["scores"]["accuracy"] == 1.0
    assert not marker.exists()


async def test_unsandboxed_setting_runs_programs() -> None:
    """``code_sandbox="none"``: the documented setting for containers isolated as a whole."""
    async with serve(workers=2, code_sandbox="none", **SETTINGS) as client:
        health = (await client.get("/health")).json()
        r = await client.post("/score", json={"items": [_item("code", "print(int(input()) * 2)", DOUBLE)]})
    assert health["code_sandbox"] == {"available": True, "backend": "none", "detail": "none (no isolation)"}
    assert r.json()["results"][0]["scores"]["code"] == 1.0


async def test_tests_field_is_optional_and_must_be_an_object() -> None:
    async with serve(workers=1, **SETTINGS) as client:
        bad = await client.post("/score", json={"items": [{"completion": "x", "tests": [1, 2]}]})
        none = await client.post("/score", json={"items": [{"completion": "x", "tests": None}]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"].startswith("items.0.tests")
    assert none.status_code == 200 and "code" not in none.json()["results"][0]["scores"]
