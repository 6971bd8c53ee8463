"""The TRL reward functions, called exactly as ``GRPOTrainer._calculate_rewards`` calls them (trl 1.16)."""

from __future__ import annotations

import asyncio
import json
import pickle
from collections import defaultdict
from typing import Any

import httpx
import numpy as np
import pytest

from trainer_client import ScoreResult
from trainer_client.integrations.trl import VRewardFunc, make_reward_funcs

PLAIN_BATCH = {
    "prompts": ["What is 2+2?", "What is 2+2?", "What is 3+3?", "What is 3+3?"],
    "completions": [
        "<think>2+2=4</think> \\boxed{4}",
        "<think>guess</think> \\boxed{5}",
        "<think>3+3=6</think> \\boxed{6}",
        "no tags \\boxed{6}",
    ],
    "answer": ["4", "4", "6", "6"],
}


def conversational(batch: dict[str, Any]) -> dict[str, Any]:
    return {
        **batch,
        "prompts": [
            [{"role": "system", "content": "Think first."}, {"role": "user", "content": p}]
            for p in batch["prompts"]
        ],
        "completions": [[{"role": "assistant", "content": c}] for c in batch["completions"]],
    }


class Recorder:
    """TRL's ``log_extra``/``log_metric`` hooks."""

    def __init__(self) -> None:
        self.extra: dict[str, list[Any]] = defaultdict(list)
        self.metrics: dict[str, list[float]] = defaultdict(list)

    def log_extra(self, column: str, values: list[Any]) -> None:
        self.extra[column].extend(values)

    def log_metric(self, name: str, value: float) -> None:
        self.metrics[name].append(value)


async def trl_step(
    funcs: list[VRewardFunc], batch: dict[str, Any], recorder: Recorder | None = None, **columns: Any
):
    """What ``_calculate_rewards`` does for async reward functions: one gather over all of them."""
    recorder = recorder or Recorder()
    kwargs: dict[str, Any] = {k: v for k, v in batch.items() if k not in ("prompts", "completions")}
    kwargs.update(columns)
    kwargs.update(trainer_state=object(), log_extra=recorder.log_extra, log_metric=recorder.log_metric)
    outputs = await asyncio.gather(
        *(
            f(
                prompts=batch["prompts"],
                completions=batch["completions"],
                completion_ids=[[1, 2]] * 4,
                **kwargs,
            )
            for f in funcs
        )
    )
    return dict(zip([f.__name__ for f in funcs], outputs, strict=True))


def funcs_for(stand_in, **kwargs: Any) -> list[VRewardFunc]:
    return make_reward_funcs("http://svc", transport=httpx.MockTransport(stand_in), **kwargs)


# -- what TRL sees -----------------------------------------------------------------------------------------------
def test_trl_detects_async_functions_and_their_names(stand_in):
    from trl.trainer.utils import get_callable_name, is_async_callable

    funcs = funcs_for(stand_in, components=("accuracy", "format", "language", "reward"))
    assert [get_callable_name(f) for f in funcs] == [
        "vrewards_accuracy",
        "vrewards_format",
        "vrewards_language",
        "vrewards_reward",
    ]
    assert all(is_async_callable(f) for f in funcs)


BATCHES = [("plain", PLAIN_BATCH), ("conversational", conversational(PLAIN_BATCH))]


@pytest.mark.parametrize(("name", "batch"), BATCHES, ids=[b[0] for b in BATCHES])
def test_one_service_call_serves_every_component(name, batch, stand_in):
    funcs = funcs_for(stand_in, components=("accuracy", "format", "language", "reward"))
    out = asyncio.run(trl_step(funcs, batch, lang=["en"] * 4))
    assert len(stand_in.bodies) == 1
    assert out["vrewards_accuracy"] == [1.0, 0.0, 1.0, 1.0]
    assert out["vrewards_format"] == [1.0, 1.0, 1.0, 0.0]
    assert out["vrewards_language"] == [1.0] * 4
    assert out["vrewards_reward"] == pytest.approx([1.6, 0.6, 1.6, 1.1])
    sent = stand_in.items
    assert [i["prompt"] for i in sent] == PLAIN_BATCH["prompts"]
    assert [i["completion"] for i in sent] == PLAIN_BATCH["completions"]
    assert [i["answer"] for i in sent] == PLAIN_BATCH["answer"]
    assert sent[0]["group"] == sent[1]["group"] != sent[2]["group"]


def test_only_the_requested_components_are_asked_for(stand_in):
    asyncio.run(trl_step(funcs_for(stand_in, components=("accuracy", "format")), PLAIN_BATCH))
    assert set(stand_in.bodies[0]["rewards"]) == {"accuracy", "format"}


# -- columns and prompts -----------------------------------------------------------------------------------------
ANSWER_COLUMNS = [
    # (answer_column given, dataset columns, references sent)
    (None, {"solution": ["4", "4", "6", "6"]}, ["4", "4", "6", "6"]),
    (None, {"ground_truth": [4, 4, 6, 6]}, ["4", "4", "6", "6"]),
    ("gold", {"gold": ["4", "4", "6", "6"], "answer": ["x"] * 4}, ["4", "4", "6", "6"]),
]


@pytest.mark.parametrize(("column", "columns", "sent"), ANSWER_COLUMNS)
def test_answer_column(column, columns, sent, stand_in):
    batch = {"prompts": PLAIN_BATCH["prompts"], "completions": PLAIN_BATCH["completions"], **columns}
    asyncio.run(trl_step(funcs_for(stand_in, answer_column=column), batch))
    assert [i["answer"] for i in stand_in.items] == sent


def test_a_missing_answer_column_is_named(stand_in):
    with pytest.raises(KeyError, match="gold"):
        asyncio.run(trl_step(funcs_for(stand_in, answer_column="gold"), PLAIN_BATCH))


def test_no_reference_gives_none_which_trl_masks(stand_in):
    batch = {"prompts": PLAIN_BATCH["prompts"], "completions": PLAIN_BATCH["completions"]}
    out = asyncio.run(trl_step(funcs_for(stand_in), batch))
    assert out["vrewards_accuracy"] == [None] * 4
    assert out["vrewards_language"] == [None] * 4  # no lang column: the stand-in cannot infer one


PREFILL = [
    ("plain prompt", "Solve 2+2.", "Solve 2+2.\n<think>\n"),
    (
        "already prefilled",
        "<|User|>Solve 2+2.<|Assistant|><think>\n",
        "<|User|>Solve 2+2.<|Assistant|><think>\n",
    ),
    (
        "messages",
        [{"role": "user", "content": [{"type": "text", "text": "Solve 2+2."}]}],
        "Solve 2+2.\n<think>\n",
    ),
]


@pytest.mark.parametrize(("name", "prompt", "sent"), PREFILL, ids=[p[0] for p in PREFILL])
def test_prefilled_think_reaches_the_service(name, prompt, sent, stand_in):
    batch = {"prompts": [prompt] * 4, "completions": ["2+2=4</think> \\boxed{4}"] * 4, "answer": ["4"] * 4}
    out = asyncio.run(trl_step(funcs_for(stand_in, prefill_think=True), batch))
    assert stand_in.items[0]["prompt"] == sent
    assert out["vrewards_format"] == [1.0] * 4


# -- logging ------------------------------------------------------------------------------------------------------
def test_extra_columns_are_logged_once_per_step_even_for_a_repeated_batch(stand_in):
    funcs = funcs_for(stand_in)
    recorder = Recorder()

    async def two_steps() -> None:
        await trl_step(funcs, PLAIN_BATCH, recorder)
        await trl_step(funcs, PLAIN_BATCH, recorder)

    asyncio.run(two_steps())
    assert recorder.extra["vrewards_answer"] == ["4", "5", "6", "6"] * 2
    assert (
        recorder.extra["vrewards_outcome"] == ["equivalent", "not_equivalent", "equivalent", "equivalent"] * 2
    )
    assert recorder.metrics["vrewards/item_errors"] == [0.0, 0.0]
    assert len(stand_in.bodies) == 1  # identical completions: the finished results are reused


# -- service failures ---------------------------------------------------------------------------------------------
def test_a_failed_service_masks_the_batch_by_default(stand_in):
    stand_in.fail_with = 400
    recorder = Recorder()
    out = asyncio.run(trl_step(funcs_for(stand_in), PLAIN_BATCH, recorder))
    assert all(values == [None] * 4 for values in out.values())
    assert recorder.metrics["vrewards/failed_batches"] == [1.0]
    assert len(stand_in.bodies) == 1


def test_on_error_raise_stops_training(stand_in):
    from trainer_client import BadRequestError

    stand_in.fail_with = 400
    with pytest.raises(BadRequestError):
        asyncio.run(trl_step(funcs_for(stand_in, on_error="raise"), PLAIN_BATCH))


# -- pickling (TRL's async rollout workers pickle reward functions) ------------------------------------------------
def test_functions_pickle_and_keep_sharing_one_scorer(stand_in):
    funcs = funcs_for(stand_in)
    asyncio.run(trl_step(funcs, PLAIN_BATCH))
    copies = pickle.loads(pickle.dumps(funcs))
    assert [f.__name__ for f in copies] == [f.__name__ for f in funcs]
    assert copies[0].shared is copies[1].shared is copies[2].shared
    assert copies[0].shared.url == "http://svc"


BAD_COMPONENTS = [("nothing", ()), ("unknown", ("accuracy", "style"))]


@pytest.mark.parametrize(("name", "components"), BAD_COMPONENTS, ids=[b[0] for b in BAD_COMPONENTS])
def test_bad_components_are_refused(name, components):
    with pytest.raises(ValueError):
        make_reward_funcs("http://svc", components=components)


# -- references as datasets hold them (issue 14 item 9, issue 13) ----------------------------------------------
STDIN_SPEC = {"kind": "stdin_stdout", "cases": [{"input": "1\n", "output": "1\n"}]}
REFERENCE_COLUMNS = [
    # (dataset columns, answers sent, tests sent)
    ({"answer": [["4", "four"]] * 4}, [["4", "four"]] * 4, [None] * 4),
    ({"answer": [np.array(["4", "four"])] * 4}, [["4", "four"]] * 4, [None] * 4),
    ({"answer": [np.int64(4)] * 4}, ["4"] * 4, [None] * 4),
    ({"tests": [json.dumps({"inputs": ["1\n"], "outputs": ["1\n"]})] * 4}, [None] * 4, [STDIN_SPEC] * 4),
    (
        {"tests": [STDIN_SPEC, None, None, STDIN_SPEC], "answer": ["4"] * 4},
        [None, "4", "4", None],
        [STDIN_SPEC, None, None, STDIN_SPEC],
    ),
]


@pytest.mark.parametrize(("columns", "answers", "tests"), REFERENCE_COLUMNS)
def test_list_answers_and_code_tests_reach_the_service(columns, answers, tests, stand_in):
    batch = {"prompts": PLAIN_BATCH["prompts"], "completions": PLAIN_BATCH["completions"], **columns}
    asyncio.run(trl_step(funcs_for(stand_in), batch))
    assert [i.get("answer") for i in stand_in.items] == answers
    assert [i.get("tests") for i in stand_in.items] == tests


# -- issue 14 item 7: a row whose accuracy cannot be judged is None in every function -------------------------------
UNJUDGED = [
    # (accuracy, outcome, format, what every component function returns for the row)
    (None, "timeout", 1.0, {"accuracy": None, "format": None, "language": None, "reward": None}),
    (None, "gold_unparseable", 1.0, {"accuracy": None, "format": None, "language": None, "reward": None}),
    (None, "no_reference", 1.0, {"accuracy": None, "format": 1.0, "language": 0.5, "reward": 0.55}),
    (0.0, "not_equivalent", 1.0, {"accuracy": 0.0, "format": 1.0, "language": 0.5, "reward": 0.55}),
]


@pytest.mark.parametrize(("accuracy", "outcome", "fmt", "values"), UNJUDGED)
def test_a_null_accuracy_masks_the_whole_row_unless_there_is_no_reference(accuracy, outcome, fmt, values):
    reward = None if accuracy is None and outcome != "no_reference" else 0.55
    result = ScoreResult(
        reward=reward,
        scores={"accuracy": accuracy, "format": fmt, "language": 0.5},
        details={"outcome": outcome},
    )
    funcs = make_reward_funcs("http://svc", components=("accuracy", "format", "language", "reward"))
    assert {f.component: f.value(result) for f in funcs} == values


# -- issue 14 item 8: a failed step logs blank columns -----------------------------------------------------------------
def test_a_failed_step_blanks_the_extra_columns(stand_in):
    funcs = funcs_for(stand_in, max_retries=0)
    recorder = Recorder()

    async def two_steps() -> None:
        await trl_step(funcs, PLAIN_BATCH, recorder)
        stand_in.fail_with = 503
        await trl_step(funcs, {**PLAIN_BATCH, "completions": ["other"] * 4}, recorder)

    asyncio.run(two_steps())
    assert recorder.extra["vrewards_answer"] == ["4", "5", "6", "6", None, None, None, None]
    assert recorder.extra["vrewards_outcome"][4:] == [None] * 4


# -- over the live service: a dataset with list answers and a tests column -------------------------------------------
PROGRAM = "<think>Read, add, print.</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
LIVE_BATCH = {
    "prompts": ["What is 6*7?", "What is 6*7?", "Print the sum.", "Print the sum."],
    "completions": [
        "<think>6*7=42</think> \\boxed{42}",
        "<think>6*7=41</think> \\boxed{41}",
        PROGRAM,
        PROGRAM.replace("+", "-"),
    ],
    "answer": [np.array(["7", "42"]), np.array(["7", "42"]), None, None],
    "tests": [None, None, json.dumps({"inputs": ["1 2\n"], "outputs": ["3\n"]}), STDIN_SPEC],
}


def test_list_answers_and_a_tests_column_against_the_service(live_url):
    funcs = make_reward_funcs(live_url, components=("accuracy", "code", "format"), on_error="raise")
    out = asyncio.run(trl_step(funcs, LIVE_BATCH))
    assert out["vrewards_accuracy"] == [1.0, 0.0, None, None]  # code rows: no reference
    assert out["vrewards_code"] == [None, None, 1.0, 0.0]  # math rows: no tests
    assert out["vrewards_format"] == [1.0, 1.0, 1.0, 1.0]
