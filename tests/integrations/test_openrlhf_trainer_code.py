"""OpenRLHF 0.11.2's own reward path against a live service (issue 14 items 1, 2, 3, 6, 9, 10).

Each sample goes through ``SingleTurnAgentExecutor.execute`` (the query is the decoded prompt + response
with special tokens kept; one HTTP request per sample, 5 tries, 1 s apart, failures swallowed into a null
reward) and then ``_process_response_into_experience`` and ``Experience.concat_experiences``, which turn
``rewards``, ``scores`` and every ``extra_logs`` value into tensors. The whole-rollout request of older
OpenRLHF (0.9 posts every sample of a step in one body) is sent by the same client's
``_fetch_rewards_via_http`` with the whole list.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.integrations.conftest import TOKEN
from tests.integrations.trainer_code import CharTokenizer, OneResponseEngine, openrlhf
from tests.rewards.test_language_chat_prompt import TEMPLATES

MAX_LEN = 8192
R1_SYSTEM = "Think step by step inside <think></think>, then give the final answer in \\boxed{}."


def chatml(question: str, system: str | None = None) -> str:
    return TEMPLATES["chatml"](question, system)


async def run_samples(url: str, samples: list[tuple[str, str, Any]]) -> list[dict[str, Any]]:
    """OpenRLHF's executor on each ``(prompt, response, label)``, all at once as its rollout workers run."""
    executor = openrlhf().Executor(url)
    tokenizer = CharTokenizer()
    params = SimpleNamespace(max_tokens=None, logprobs=None)
    return await asyncio.gather(
        *(
            executor.execute(prompt, label, params, MAX_LEN, tokenizer, OneResponseEngine(response))
            for prompt, response, label in samples
        )
    )


def rollout(url: str, samples: list[tuple[str, str, Any]]) -> tuple[list[dict[str, Any]], Any]:
    """The executor outputs and the experience OpenRLHF builds from them (concatenated over the samples)."""
    outputs = asyncio.run(run_samples(url, samples))
    lib = openrlhf()
    experiences = [lib.to_experience(None, output, max_len=MAX_LEN) for output in outputs]
    return outputs, lib.Experience.concat_experiences(experiences, pad_token_id=0)


def column(experience: Any, key: str) -> list[float]:
    return [round(float(v), 4) for v in experience.info[key].flatten()]


def metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", headers={"authorization": f"Bearer {TOKEN}"}).text
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


# -- item 2: the token as a path segment --------------------------------------------------------------------
def test_the_token_in_the_url_lets_openrlhf_in_and_is_never_logged(openrlhf_url, caplog):
    caplog.set_level(logging.DEBUG)
    prompt = chatml("What is 6*7?")
    outputs, experience = rollout(
        f"{openrlhf_url}/get_reward/{TOKEN}", [(prompt, "<think>6*7=42</think> \\boxed{42}", "42")]
    )
    assert outputs[0]["reward"] is not None and outputs[0]["scores"] == [1.0]
    assert column(experience, "accuracy") == [1.0]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "/get_reward" in logged and TOKEN not in logged


@pytest.mark.parametrize("suffix", [f"{TOKEN}x", "", TOKEN[:-1]])
def test_a_wrong_or_missing_path_token_gets_401(openrlhf_url, suffix):
    r = httpx.post(f"{openrlhf_url}/get_reward/{suffix}".rstrip("/"), json={"query": ["\\boxed{1}"]})
    assert r.status_code == 401
    assert TOKEN not in r.text


# -- item 1: the language target inside chat templates --------------------------------------------------------
QUESTIONS = {
    # the built-in task's languages: (question, reasoning written in that language)
    "en": ("What is six times seven?", "Six times seven is forty-two, so the answer is forty-two."),
    "fr": (
        "Combien font six fois sept ?",
        "Six fois sept font quarante-deux, donc la réponse est quarante-deux.",
    ),
    "de": (
        "Wie viel ist sechs mal sieben?",
        "Sechs mal sieben ergibt zweiundvierzig, also ist das zweiundvierzig.",
    ),
    "es": (
        "¿Cuánto es seis por siete?",
        "Seis por siete son cuarenta y dos, así que la respuesta es cuarenta y dos.",
    ),
    "zh": ("计算六乘以七等于多少？", "六乘以七等于四十二，所以答案是四十二。"),
}
ENGLISH = QUESTIONS["en"][1]


def test_the_prompt_language_decides_the_target_in_every_template(openrlhf_url):
    samples, expected = [], []
    for name, template in TEMPLATES.items():
        for lang, (question, reasoning) in QUESTIONS.items():
            for system in (None, R1_SYSTEM):
                prompt = template(question, system)
                opened = "" if prompt.rstrip().endswith("<think>") else "<think>"
                for text, share in ((reasoning, 1.0), (ENGLISH, 1.0 if lang == "en" else 0.0)):
                    samples.append((prompt, f"{opened}{text}</think> \\boxed{{42}}", "42"))
                    expected.append((name, lang, system is not None, share))
    _, experience = rollout(f"{openrlhf_url}/get_reward/{TOKEN}", samples)
    language = column(experience, "language")
    nulls = column(experience, "language_null")
    wrong = [
        (*case, got)
        for case, got, null in zip(expected, language, nulls, strict=True)
        if null or abs(got - case[3]) > 0.1
    ]
    assert wrong == []


# -- item 6: no labels (OpenRLHF without --label_key sends "") ------------------------------------------------
def test_without_label_key_format_and_language_still_count(openrlhf_url):
    lib = openrlhf()
    prompt, label = lib.preprocess_data(
        {"input": "What is 6*7? Answer in English."},
        input_key="input",
        label_key=None,
        apply_chat_template=None,
    )
    assert label == ""
    good = "<think>Six times seven is forty-two, so the answer is forty-two.</think> \\boxed{42}"
    outputs, experience = rollout(
        f"{openrlhf_url}/get_reward/{TOKEN}", [(prompt, good, label), (prompt, "no think block 42", label)]
    )
    assert column(experience, "accuracy_null") == [1.0, 1.0]  # accuracy: no_reference
    assert column(experience, "masked") == [0.0, 0.0]
    assert column(experience, "format") == [1.0, 0.0]
    rewards = [float(o["reward"][0]) for o in outputs]
    assert rewards[0] == pytest.approx(0.5 * 1.0 + 0.1 * column(experience, "language")[0])
    assert rewards[0] > rewards[1]


def test_a_null_language_is_flagged_beside_its_stand_in(openrlhf_url):
    """A reasoning with no target (no lang, a prompt too short to tell) travels as the stand-in number with
    ``language_null`` = 1.0: OpenRLHF makes a tensor of every extra_logs value, so a null would stop it."""
    outputs, experience = rollout(
        f"{openrlhf_url}/get_reward/{TOKEN}",
        [("42?", "<think>Six times seven is forty-two.</think> \\boxed{42}", "42")],
    )
    assert column(experience, "language_null") == [1.0]
    assert column(experience, "language") == [0.0]
    assert outputs[0]["extra_logs"]["language_null"] == [1.0]


# -- item 9: list references -----------------------------------------------------------------------------------
LIST_LABELS = [
    # (label, response, accuracy)
    (["7", "42"], "<think>x</think> \\boxed{42}", 1.0),
    (["7", "42"], "<think>x</think> \\boxed{8}", 0.0),
    ([42, "forty-two"], "<think>x</think> \\boxed{42}", 1.0),
    (["\\frac{1}{2}", "0.5"], "<think>x</think> \\boxed{1/2}", 1.0),
]


def test_list_labels_accept_any_of_their_answers(openrlhf_url):
    prompt = chatml("What is 6*7?")
    samples = [(prompt, response, label) for label, response, _ in LIST_LABELS]
    _, experience = rollout(f"{openrlhf_url}/get_reward/{TOKEN}", samples)
    assert column(experience, "accuracy") == [acc for *_, acc in LIST_LABELS]


# -- item 3: a whole rollout in one request (OpenRLHF <= 0.9) -------------------------------------------------
@pytest.mark.slow
# aiohttp warns that a body this large is serialised on the event loop (OpenRLHF's choice, not under test)
@pytest.mark.filterwarnings("ignore:Sending a large body directly")
def test_a_whole_rollout_in_one_request_is_scored(openrlhf_url):
    n = 8192  # 512 prompts x 16 samples, over the 4,096 items /score takes
    prompts = [chatml(f"What is {i % 512} + 1?") for i in range(n)]
    queries = [
        p + f"<think>add one</think> \\boxed{{{i % 512 + (i % 2)}}}<|im_end|>" for i, p in enumerate(prompts)
    ]
    labels = [str(i % 512 + 1) for i in range(n)]
    name = 'vrewards_pool_call_items_{}{{route="/get_reward"}}'
    before = {k: metric(openrlhf_url, name.format(k)) for k in ("count", "sum")}
    executor = openrlhf().Executor(f"{openrlhf_url}/get_reward/{TOKEN}")
    [answer] = asyncio.run(executor._fetch_rewards_via_http(queries, prompts, labels))
    assert len(answer["rewards"]) == len(answer["scores"]) == n
    assert answer["scores"] == [float(i % 2) for i in range(n)]
    calls = metric(openrlhf_url, name.format("count")) - before["count"]
    assert metric(openrlhf_url, name.format("sum")) - before["sum"] == n
    # scored in chunks of 512 (get_reward_chunk_items), which the micro-batcher may pair up to its 1,024
    assert calls >= n / 1024


# -- item 10: micro-batching visible in /metrics ---------------------------------------------------------------
def test_micro_batching_shows_as_items_per_pool_call(openrlhf_url):
    name = 'vrewards_pool_call_items_{}{{route="/get_reward"}}'
    before = {k: metric(openrlhf_url, name.format(k)) for k in ("count", "sum")}
    prompt = chatml("What is 6*7?")
    samples = [(prompt, f"<think>x</think> \\boxed{{{i}}}", "42") for i in range(64)]
    rollout(f"{openrlhf_url}/get_reward/{TOKEN}", samples)
    calls = metric(openrlhf_url, name.format("count")) - before["count"]
    items = metric(openrlhf_url, name.format("sum")) - before["sum"]
    assert items == 64
    assert 1 <= calls < 64  # 64 single-sample requests, fewer pool calls


# -- issue 13: a label holding a code test spec becomes the item's tests -------------------------------------------
ADD_STDIN = {
    "kind": "stdin_stdout",
    "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}],
}
ADD_FUNCTION = {"kind": "function", "fn_name": "add", "cases": [{"args": [1, 2], "output": 3}]}
READ_AND_ADD = "a, b = map(int, input().split())\nprint(a + b)\n"
CODE_LABELS = [
    # (label as the dataset holds it, program, code score)
    (json.dumps(ADD_STDIN), READ_AND_ADD, 1.0),
    (json.dumps(ADD_STDIN), READ_AND_ADD.replace("+", "-"), 0.0),
    (ADD_STDIN, READ_AND_ADD, 1.0),
    (ADD_FUNCTION, "def add(a, b):\n    return a + b\n", 1.0),
]


def test_code_labels_are_judged_by_their_tests(openrlhf_url):
    prompt = chatml("Read two integers and print their sum.")
    samples = [
        (prompt, f"<think>Read, add, print.</think>\n```python\n{program}```", label)
        for label, program, _ in CODE_LABELS
    ]
    outputs, experience = rollout(f"{openrlhf_url}/get_reward/{TOKEN}", samples)
    expected = [score for *_, score in CODE_LABELS]
    assert column(experience, "code") == expected
    assert column(experience, "code_null") == [0.0] * len(CODE_LABELS)
    assert [o["scores"][0] for o in outputs] == expected  # raw correctness for dynamic filtering
