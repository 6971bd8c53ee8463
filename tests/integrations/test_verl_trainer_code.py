"""verl 0.9.1's own reward managers calling our adapter against a live service (issue 14 items 4, 5, 9).

- verl >= 0.9 (reward loop): ``load_reward_manager`` reads ``reward.custom_reward_function`` and
  ``reward.reward_manager``, loads the adapter file by path, and its ``NaiveRewardManager.run_single`` is
  awaited once per sample, concurrently; it awaits ``compute_score_async`` and runs ``compute_score`` in a
  thread. Its registry has no ``batch`` manager.
- verl <= 0.8 (legacy managers, still shipped in 0.9.1 as ``verl.workers.reward_manager``):
  ``NaiveRewardManager`` calls ``compute_score`` once per sample in a loop; ``BatchRewardManager`` calls
  ``compute_score_batch`` once per batch.

Every batch is a real ``DataProto`` as verl's rollout leaves it; list ground truths are numpy arrays.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.integrations.trainer_code import CharTokenizer, verl, verl_batch, verl_loop_config
from trainer_client.integrations import verl as adapter

# (response, ground_truth, extra_info, acc, outcome)
SAMPLES: list[tuple[str, Any, dict[str, Any] | None, float, str]] = [
    ("<think>6*7=42</think> \\boxed{42}", "42", {"question": "What is 6*7?"}, 1.0, "equivalent"),
    ("<think>6*7=42</think> \\boxed{41}", "42", {"index": 1}, 0.0, "not_equivalent"),
    ("<think>either</think> \\boxed{42}", ["7", "42"], None, 1.0, "equivalent"),  # numpy array in verl
    ("<think>either</think> \\boxed{8}", ["7", "42"], None, 0.0, "not_equivalent"),
    ("<think>half</think> \\boxed{0.5}", ["\\frac{1}{2}"], {}, 1.0, "equivalent"),
    ("<think>x</think> \\boxed{7}", 7, {"split": "train"}, 1.0, "equivalent"),
    ("<think>x</think> \\boxed{3}", None, {"lang": "en"}, 0.0, "no_reference"),
]


def batch() -> Any:
    return verl_batch([("Q: ", response, truth, info) for response, truth, info, *_ in SAMPLES])


def check(extra: dict[str, list[Any]]) -> None:
    assert list(extra["acc"]) == [s[3] for s in SAMPLES]
    assert list(extra["outcome"]) == [s[4] for s in SAMPLES]
    assert list(extra["masked"]) == [s[4] == "no_reference" for s in SAMPLES]


@pytest.fixture(autouse=True)
def point_at_the_service(live_url):
    adapter.configure(live_url, on_error="raise")
    yield
    adapter.configure()


# -- verl >= 0.9: the reward loop ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["compute_score_async", "compute_score"])
def test_reward_loop_as_verl_0_9_calls_it(name):
    config = verl_loop_config(adapter.__file__, name)
    data = batch()

    async def reward_loop() -> list[dict[str, Any]]:
        manager = verl().load_reward_manager(
            config, CharTokenizer()
        )  # built on the loop, as verl's worker does
        return await asyncio.gather(*(manager.run_single(data[i : i + 1]) for i in range(len(data))))

    outputs = asyncio.run(reward_loop())
    extra = {key: [o["reward_extra_info"][key] for o in outputs] for key in outputs[0]["reward_extra_info"]}
    check(extra)
    assert [o["reward_score"] for o in outputs] == [o["reward_extra_info"]["score"] for o in outputs]


def test_verl_0_9_has_no_batch_manager_to_name():
    """Why the batch set-up of verl <= 0.8 fails on 0.9: its reward loop registry has no ``batch``."""
    assert verl().loop_manager_cls("naive").__name__ == "NaiveRewardManager"
    with pytest.raises(ValueError, match="batch"):
        verl().loop_manager_cls("batch")


# -- verl <= 0.8: the legacy managers -----------------------------------------------------------------------------
LEGACY = [("naive", "compute_score"), ("batch", "compute_score_batch")]


@pytest.mark.parametrize(("manager", "function"), LEGACY)
def test_legacy_managers_as_verl_0_8_calls_them(manager, function):
    cls = verl().LegacyNaive if manager == "naive" else verl().LegacyBatch
    reward_manager = cls(CharTokenizer(), num_examine=0, compute_score=getattr(adapter, function))
    data = batch()
    out = reward_manager(data, return_dict=True)
    check(out["reward_extra_info"])
    lengths = data.batch["attention_mask"][:, data.batch["prompts"].shape[-1] :].sum(-1)
    placed = [float(out["reward_tensor"][i, n - 1]) for i, n in enumerate(lengths.tolist())]
    assert placed == pytest.approx(out["reward_extra_info"]["score"])


# -- item 5: an outage costs one call's retries, not one per sample -------------------------------------------------
class Switch(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The service behind a switch: ``up`` forwards to it, down refuses every connection; counts by path."""

    def __init__(self) -> None:
        self.up = False
        self.calls: dict[str, int] = {}
        self.sync = httpx.HTTPTransport()

    def _count(self, request: httpx.Request) -> None:
        self.calls[request.url.path] = self.calls.get(request.url.path, 0) + 1
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._count(request)
        return self.sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._count(request)
        async with httpx.AsyncHTTPTransport() as inner:  # the adapter runs each step on a new event loop
            response = await inner.handle_async_request(request)
            body = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    def close(self) -> None:  # shared by every client the adapter makes: closed by the fixture
        pass

    async def aclose(self) -> None:
        pass


@pytest.fixture
def switch() -> Any:
    transport = Switch()
    yield transport
    transport.sync.close()


def test_an_outage_fails_fast_until_a_probe_sees_the_service_up(live_url, switch):
    adapter.configure(live_url, transport=switch, async_transport=switch, max_retries=2, probe_interval_s=0.0)
    manager = verl().LegacyNaive(CharTokenizer(), num_examine=0, compute_score=adapter.compute_score)
    data = verl_batch([("Q: ", "<think>x</think> \\boxed{4}", "4", None)] * 32)

    down = manager(data, return_dict=True)["reward_extra_info"]
    assert down["masked"] == [True] * 32 and down["outcome"] == ["service_error"] * 32
    # the first sample spent its retries; the 31 others each cost one refused /health probe, no /score
    assert switch.calls == {"/score": 3, "/health": 31}

    switch.up = True
    up = manager(data, return_dict=True)["reward_extra_info"]
    assert up["acc"] == [1.0] * 32 and not any(up["masked"])
    assert switch.calls == {"/score": 3 + 32, "/health": 32}  # one probe saw it up; then plain calls


def test_an_outage_is_shared_by_the_reward_loop_calls(live_url, switch):
    adapter.configure(live_url, async_transport=switch, max_retries=1, probe_interval_s=3600.0)
    config = verl_loop_config(adapter.__file__, "compute_score_async")
    data = verl_batch([("Q: ", "<think>x</think> \\boxed{4}", "4", None)] * 16)

    async def step() -> list[dict[str, Any]]:
        manager = verl().load_reward_manager(config, CharTokenizer())
        return await asyncio.gather(*(manager.run_single(data[i : i + 1]) for i in range(len(data))))

    first = asyncio.run(step())
    second = asyncio.run(step())
    for outputs in (first, second):
        assert [o["reward_extra_info"]["outcome"] for o in outputs] == ["service_error"] * 16
    assert switch.calls == {"/score": 2}  # one micro-batched request and its retry; the next step failed fast


# -- issue 13: verl's code datasets keep the tests in ground_truth --------------------------------------------------
PROGRAM = "<think>Read, add, print.</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
FUNCTION = "<think>Add.</think>\n```python\ndef add(a, b):\n    return a + b\n```"
CODE_SAMPLES = [
    # (response, ground_truth as the dataset stores it, acc, outcome)
    (PROGRAM, json.dumps({"inputs": ["1 2\n", "5 5\n"], "outputs": ["3\n", "10\n"]}), 1.0, "passed"),
    (PROGRAM.replace("+", "-"), json.dumps({"inputs": ["1 2\n"], "outputs": ["3\n"]}), 0.0, "failed"),
    (FUNCTION, {"fn_name": "add", "inputs": [[1, 2]], "outputs": [[3]]}, 1.0, "passed"),
    (
        FUNCTION,
        {"kind": "function", "fn_name": "add", "cases": [{"args": [2, 2], "output": 4}]},
        1.0,
        "passed",
    ),
]


def test_code_ground_truths_are_judged_by_their_tests():
    config = verl_loop_config(adapter.__file__, "compute_score_async")
    data = verl_batch([("Q: ", response, truth, None) for response, truth, *_ in CODE_SAMPLES])

    async def reward_loop() -> list[dict[str, Any]]:
        manager = verl().load_reward_manager(config, CharTokenizer())
        return await asyncio.gather(*(manager.run_single(data[i : i + 1]) for i in range(len(data))))

    extra = [o["reward_extra_info"] for o in asyncio.run(reward_loop())]
    assert [(e["acc"], e["code"], e["outcome"], e["masked"]) for e in extra] == [
        (acc, acc, outcome, False) for *_, acc, outcome in CODE_SAMPLES
    ]
