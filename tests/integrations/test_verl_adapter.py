"""The verl adapter, called the way verl's reward managers call a custom reward function.

- ``NaiveRewardManager`` (legacy and reward-loop): keyword arguments ``data_source``, ``solution_str``,
  ``ground_truth``, ``extra_info``; the reward loop adds ``reward_router_address``/``reward_model_tokenizer``
  when a reward model router exists, awaits coroutine functions and runs plain ones in a thread pool.
- ``BatchRewardManager``: keyword arguments ``data_sources``, ``solution_strs``, ``ground_truths``,
  ``extra_infos``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from trainer_client.integrations import verl

KEYS_AND_TYPES = {
    "score": float,
    "acc": float,
    "format": float,
    "language": float,
    "code": float,
    "outcome": str,
    "pred": str,
    "masked": bool,
}

SAMPLES = [
    # (solution_str, ground_truth, extra_info, expected acc, score, outcome, pred, masked)
    (
        "<think>6*7=42</think> \\boxed{42}",
        "42",
        {"question": "What is 6*7?", "lang": "en"},
        1.0,
        1.6,
        "equivalent",
        "42",
        False,
    ),
    (
        "<think>hmm</think> \\boxed{41}",
        "42",
        {"question": "What is 6*7?"},
        0.0,
        0.5,
        "not_equivalent",
        "41",
        False,
    ),
    ("<think>no answer", "42", None, 0.0, 0.0, "no_answer", "", False),
    ("<think>x</think> \\boxed{3}", None, {"index": 3}, 0.0, 0.0, "no_reference", "", True),
    ("<think>x</think> \\boxed{7}", 7, {"split": "train"}, 1.0, 1.5, "equivalent", "7", False),
]


@pytest.fixture(autouse=True)
def stand_in_service(stand_in, monkeypatch):
    """Point the adapter at the stand-in and restore the defaults afterwards."""
    monkeypatch.delenv("VREWARDS_URL", raising=False)
    verl.configure(
        "http://svc",
        transport=httpx.MockTransport(stand_in),
        async_transport=httpx.MockTransport(stand_in),
        max_retries=0,
    )
    yield stand_in
    verl.configure()


def check_shape(result: dict) -> None:
    assert {k: type(v) for k, v in result.items()} == KEYS_AND_TYPES


@pytest.mark.parametrize(("solution", "truth", "info", "acc", "score", "outcome", "pred", "masked"), SAMPLES)
def test_compute_score_as_the_naive_manager_calls_it(
    solution, truth, info, acc, score, outcome, pred, masked
):
    result = verl.compute_score(
        data_source="openai/gsm8k", solution_str=solution, ground_truth=truth, extra_info=info
    )
    check_shape(result)
    assert (result["acc"], result["outcome"], result["pred"], result["masked"]) == (
        acc,
        outcome,
        pred,
        masked,
    )
    assert result["score"] == pytest.approx(score)


def test_reward_loop_extra_kwargs_are_accepted_and_sync_form_runs_in_threads(stand_in):
    def call(i: int) -> dict:
        return verl.compute_score(
            data_source="gsm8k",
            solution_str=f"<think>x</think> \\boxed{{{i}}}",
            ground_truth=str(i),
            extra_info={
                "prompt": [{"role": "user", "content": f"say {i}"}],
                "num_turns": None,
                "rollout_reward_scores": {},
            },
            reward_router_address="127.0.0.1:9999",
            reward_model_tokenizer=None,
        )

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(32)))
    assert [r["acc"] for r in results] == [1.0] * 32
    assert sorted(i["prompt"] for i in stand_in.items) == sorted(f"say {i}" for i in range(32))


def test_async_form_is_detected_and_concurrent_calls_share_requests(stand_in):
    assert inspect.iscoroutinefunction(verl.compute_score_async)
    assert not inspect.iscoroutinefunction(verl.compute_score)

    async def reward_loop() -> list[dict]:
        return await asyncio.gather(
            *(
                verl.compute_score_async(
                    data_source="gsm8k",
                    solution_str=f"\\boxed{{{i}}}",
                    ground_truth=str(i % 3),
                    extra_info={},
                )
                for i in range(100)
            )
        )

    results = asyncio.run(reward_loop())
    assert [r["acc"] for r in results] == [1.0 if i == i % 3 else 0.0 for i in range(100)]
    assert len(stand_in.bodies) == 1  # 100 single-sample calls, one request


def test_batch_form_as_the_batch_manager_calls_it(stand_in):
    results = verl.compute_score_batch(
        data_sources=["gsm8k"] * len(SAMPLES),
        solution_strs=[s[0] for s in SAMPLES],
        ground_truths=[s[1] for s in SAMPLES],
        extra_infos=[s[2] for s in SAMPLES],
    )
    assert len(stand_in.bodies) == 1
    for result, sample in zip(results, SAMPLES, strict=True):
        check_shape(result)
        assert result["acc"] == sample[3]
        assert result["score"] == pytest.approx(sample[4])


def test_batch_form_refuses_misaligned_lists():
    with pytest.raises(ValueError, match="ground_truths"):
        verl.compute_score_batch(
            data_sources=["a"] * 2, solution_strs=["x", "y"], ground_truths=["1"], extra_infos=None
        )


# -- failures: a masked zero by default, or an exception -------------------------------------------------------
def test_service_failure_gives_masked_zeros(stand_in):
    stand_in.fail_with = 503
    result = verl.compute_score(data_source="gsm8k", solution_str="\\boxed{1}", ground_truth="1")
    check_shape(result)
    assert (result["score"], result["masked"], result["outcome"]) == (0.0, True, "service_error")
    batch = verl.compute_score_batch(
        data_sources=["g"] * 3, solution_strs=["a", "b", "c"], ground_truths=["1"] * 3
    )
    assert [r["masked"] for r in batch] == [True] * 3


def test_on_error_raise(stand_in):
    from trainer_client import ServiceUnavailableError

    verl.configure("http://svc", transport=httpx.MockTransport(stand_in), max_retries=0, on_error="raise")
    stand_in.fail_with = 503
    with pytest.raises(ServiceUnavailableError):
        verl.compute_score(data_source="gsm8k", solution_str="\\boxed{1}", ground_truth="1")


# -- configuration ---------------------------------------------------------------------------------------------
def test_url_comes_from_the_environment(monkeypatch, stand_in):
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return stand_in(request)

    verl.configure(transport=httpx.MockTransport(record))
    monkeypatch.setenv("VREWARDS_URL", "http://replica-a:8000, http://replica-b:8000")
    verl.compute_score_batch(data_sources=["g"] * 2, solution_strs=["a", "b"], ground_truths=["1"] * 2)
    assert seen == ["http://replica-a:8000/score"]


def test_loading_the_file_by_path_shares_the_configuration(stand_in):
    """verl imports ``custom_reward_function.path`` with ``spec_from_file_location`` as a module of its own."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("custom_module", verl.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # deliberately not registered in sys.modules
    result = module.compute_score(
        data_source="gsm8k", solution_str="<think>x</think> \\boxed{5}", ground_truth="5"
    )
    assert result["acc"] == 1.0
    assert len(stand_in.bodies) == 1  # went through the configuration set on the installed module


# -- references as verl's datasets store them (issue 14 item 9, issue 13) -------------------------------------------
STDIN_SPEC = {"kind": "stdin_stdout", "cases": [{"input": "1 2\n", "output": "3\n"}]}
REFERENCES = [
    # (ground_truth, extra_info, the item's answer, the item's tests)
    ("42", None, "42", None),
    (np.array(["7", "42"], dtype=object), None, ["7", "42"], None),
    (np.array([7, 42]), None, ["7", "42"], None),
    (np.array([]), None, None, None),
    (np.int64(42), None, "42", None),
    (["7", " "], None, ["7"], None),
    (json.dumps({"inputs": ["1 2\n"], "outputs": ["3\n"]}), None, None, STDIN_SPEC),
    ({"inputs": ["1 2\n"], "outputs": ["3\n"]}, None, None, STDIN_SPEC),
    (STDIN_SPEC, None, None, STDIN_SPEC),
    (
        json.dumps({"fn_name": "add", "inputs": [[1, 2]], "outputs": [[3]]}),
        None,
        None,
        {"kind": "function", "fn_name": "add", "cases": [{"args": [1, 2], "output": 3}]},
    ),
    ("unused", {"tests": STDIN_SPEC}, None, STDIN_SPEC),
    ('{"not": "a spec"}', None, '{"not": "a spec"}', None),
]


@pytest.mark.parametrize(("truth", "info", "answer", "tests"), REFERENCES)
def test_references_reach_the_service_as_lists_or_tests(truth, info, answer, tests, stand_in):
    verl.compute_score(data_source="x", solution_str="\\boxed{42}", ground_truth=truth, extra_info=info)
    [item] = stand_in.items
    assert (item.get("answer"), item.get("tests")) == (answer, tests)


def test_a_list_ground_truth_accepts_any_of_its_answers(stand_in):
    result = verl.compute_score(
        data_source="x", solution_str="<think>x</think> \\boxed{42}", ground_truth=np.array(["7", "42"])
    )
    assert result["acc"] == 1.0
