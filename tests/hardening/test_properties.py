"""Property-based tests: the scoring library (hypothesis) and the HTTP API (hypothesis on the schema).

Library properties, over generated completions built from the pieces that break graders (think tags,
boxes, fractions, powers, factorials, unicode, lone surrogates):

- ``score_item`` never fails an item (no ``error``), every score is in its range and every outcome is
  one of API.md's;
- the reward is the weighted sum of the non-null scores for any weights (null when accuracy is weighted
  and null);
- equivalence is symmetric for numeric answers (integers, decimals, fractions, ``\\frac``): swapping the
  reference and the answer never changes the verdict, and two spellings of one value are equivalent;
- the order of the elements of a set answer is ignored.

API properties (through the real app, in-process over ASGI): any JSON body hypothesis builds from the
request schema, valid or not, gets 200, 401, 413, 422 or 503, never another status, and a 200 has one
result per item in order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.common import Server, serve
from rewards import OUTCOMES, AccuracyConfig, FormatConfig, Item, LanguageConfig, RewardConfig, score_item

# ---------------------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------------------

FRAGMENTS = (
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "\\boxed{",
    "\\fbox{",
    "}",
    "{",
    "$",
    "$$",
    "\\(",
    "\\)",
    "\\frac{",
    "\\sqrt{",
    "^",
    "!",
    "9",
    "99",
    "0",
    "1",
    "2",
    "3.5",
    "-",
    "+",
    "=",
    "x",
    "\\pi",
    "\\infty",
    "(",
    ")",
    "[",
    "]",
    ",",
    "\\{",
    "\\}",
    " ",
    "\n",
    "The answer is ",
    "#### ",
    "Final answer: ",
    "\\text{",
    "\\left(",
    "\\right)",
    "\\begin{pmatrix}",
    "\\end{pmatrix}",
    "&",
    "\\\\",
    "%",
    "\\%",
    "e",
    "i",
    "°",
    "答案是",
    "Ответ: ",
    "ℯ",
    "１２",
    "\u200b",
    "\x00",
    "\ud800",
    "\\ud800",
    "日本語のテキスト",
    "le résultat",
)

fragments = st.lists(st.sampled_from(FRAGMENTS), max_size=24).map("".join)
free_text = st.text(alphabet=st.characters(codec=None), max_size=60)  # any code point, surrogates included
texts = st.one_of(fragments, free_text, st.tuples(fragments, free_text).map("".join))
optional_texts = st.one_of(st.none(), texts)
langs = st.one_of(
    st.none(), st.sampled_from(["en", "zh", "fr", "de", "ru", "ja", "xx", ""]), st.text(max_size=5)
)
weights = st.floats(min_value=-10, max_value=10, allow_nan=False, allow_infinity=False)

items = st.builds(
    Item,
    completion=texts,
    prompt=optional_texts,
    answer=optional_texts,
    lang=langs,
    id=st.one_of(st.none(), st.text(max_size=8)),
)


@st.composite
def configs(draw: st.DrawFn) -> RewardConfig:
    """Any subset of the components, any weights, either format mode."""
    return RewardConfig(
        accuracy=draw(st.one_of(st.none(), st.builds(AccuracyConfig, weight=weights))),
        format=draw(
            st.one_of(
                st.none(),
                st.builds(FormatConfig, weight=weights, mode=st.sampled_from(["think", "think_answer"])),
            )
        ),
        language=draw(st.one_of(st.none(), st.builds(LanguageConfig, weight=weights))),
    )


@st.composite
def spellings(draw: st.DrawFn, value: Fraction) -> str:
    """One way to write ``value``: integer, ``p/q``, ``\\frac{p}{q}``, ``\\dfrac``, or a terminating decimal."""
    p, q = value.numerator, value.denominator
    sign = "-" if p < 0 else ""
    forms = [f"{p}/{q}", f"\\frac{{{p}}}{{{q}}}", f"{sign}\\dfrac{{{abs(p)}}}{{{q}}}"]
    if q == 1:
        forms.append(str(p))
    if all(factor in (2, 5) for factor in _prime_factors(q)):
        forms.append(_decimal(value))
    return draw(st.sampled_from(forms))


def _prime_factors(n: int) -> list[int]:
    out, d = [], 2
    while d * d <= n:
        while n % d == 0:
            out.append(d)
            n //= d
        d += 1
    return out + ([n] if n > 1 else [])


def _decimal(value: Fraction) -> str:
    """The exact decimal of a fraction whose denominator has only the factors 2 and 5."""
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    scaled = value * 10**digits
    text = f"{abs(scaled.numerator):0{digits + 1}d}"
    body = text if digits == 0 else f"{text[:-digits]}.{text[-digits:]}"
    return ("-" if value < 0 else "") + body


fractions = st.builds(Fraction, st.integers(-1000, 1000), st.integers(1, 40))

ACCURACY_ONLY = RewardConfig(accuracy=AccuracyConfig(), format=None, language=None)
LIBRARY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def accuracy_of(answer_text: str, reference: str) -> float | None:
    """The accuracy score of a completion whose boxed answer is ``answer_text``."""
    result = score_item(
        Item(completion=f"<think>work</think> The answer is $\\boxed{{{answer_text}}}$.", answer=reference),
        ACCURACY_ONLY,
    )
    assert result.error is None, result.error
    return result.scores["accuracy"]


# ---------------------------------------------------------------------------------------------------------
# Library: totality and ranges
# ---------------------------------------------------------------------------------------------------------


@LIBRARY_SETTINGS
@given(item=items, config=configs())
def test_score_item_is_total_and_in_range(item: Item, config: RewardConfig) -> None:
    result = score_item(item, config)
    assert result.error is None, result.error
    requested = {name for name in ("accuracy", "format", "language") if getattr(config, name) is not None}
    assert set(result.scores) == requested
    accuracy = result.scores.get("accuracy")
    assert accuracy in (None, 0.0, 1.0)
    if "format" in requested:
        assert 0.0 <= result.scores["format"] <= 1.0  # type: ignore[operator]
    language = result.scores.get("language")
    assert language is None or 0.0 <= language <= 1.0
    if "accuracy" in requested:
        assert result.details.get("outcome") in OUTCOMES
    assert result.id == item.id


@LIBRARY_SETTINGS
@given(item=items, config=configs())
def test_reward_is_the_weighted_sum_of_non_null_scores(item: Item, config: RewardConfig) -> None:
    result = score_item(item, config)
    expected: float | None = 0.0
    for name, score in result.scores.items():
        weight = getattr(config, name).weight
        if score is None:
            # a missing reference leaves accuracy out; any other null accuracy nulls the reward
            if name == "accuracy" and weight != 0 and result.details.get("outcome") != "no_reference":
                expected = None
                break
            continue
        assert expected is not None
        expected += weight * score
    if expected is None:
        assert result.reward is None
    else:
        assert result.reward is not None and math.isclose(result.reward, expected, rel_tol=1e-9, abs_tol=1e-9)


# ---------------------------------------------------------------------------------------------------------
# Library: equivalence
# ---------------------------------------------------------------------------------------------------------


@LIBRARY_SETTINGS
@given(a=fractions, b=fractions, data=st.data())
def test_numeric_equivalence_is_symmetric(a: Fraction, b: Fraction, data: st.DataObject) -> None:
    left, right = data.draw(spellings(a)), data.draw(spellings(b))
    forward, backward = accuracy_of(left, right), accuracy_of(right, left)
    assert forward == backward, (left, right)
    assert forward == (1.0 if a == b else 0.0), (left, right)


@LIBRARY_SETTINGS
@given(value=fractions, data=st.data())
def test_two_spellings_of_one_value_are_equivalent(value: Fraction, data: st.DataObject) -> None:
    left, right = data.draw(spellings(value)), data.draw(spellings(value))
    assert accuracy_of(left, right) == 1.0, (left, right)


@LIBRARY_SETTINGS
@given(elements=st.lists(st.integers(-50, 50), min_size=2, max_size=6, unique=True), data=st.data())
def test_set_order_is_ignored(elements: list[int], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(elements))
    reference = "\\{" + ", ".join(map(str, elements)) + "\\}"
    answer = "\\{" + ", ".join(map(str, shuffled)) + "\\}"
    assert accuracy_of(answer, reference) == 1.0, (answer, reference)


# The spellings themselves, so a wrong decimal cannot make the properties above vacuous.
@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(1, 2), "0.5"),
        (Fraction(-3, 8), "-0.375"),
        (Fraction(7, 1), "7"),
        (Fraction(-1, 20), "-0.05"),
        (Fraction(123, 25), "4.92"),
    ],
)
def test_decimal_spelling(value: Fraction, text: str) -> None:
    assert _decimal(value) == text
    assert Fraction(text) == value


# ---------------------------------------------------------------------------------------------------------
# API: schemathesis against the service's own OpenAPI document, over HTTP to a subprocess server
# ---------------------------------------------------------------------------------------------------------

API_STATUSES = {200, 409, 413, 415, 422}  # 409: a request_id reused with another body


@pytest.fixture(scope="module")
def api_server() -> Iterator[Server]:
    """A real ``vrewards serve`` (one worker, small limits, 3 s per-item deadline)."""
    env = {
        "VREWARDS_ITEM_TIMEOUT_S": "3",
        "VREWARDS_MAX_BATCH_ITEMS": "32",
        "VREWARDS_MAX_BODY_BYTES": str(1 << 20),
        "VREWARDS_LOG_LEVEL": "warning",
    }
    with serve(workers=1, env=env) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(api_server: Server) -> Any:
    """The server's /openapi.json, loaded by schemathesis.

    Driven over the network rather than in-process: with schemathesis's ASGI transport under pytest, the
    worker pool that the app's lifespan starts did not survive from one test to the next.
    """
    import schemathesis

    return schemathesis.openapi.from_url(f"{api_server.url}/openapi.json")


OPERATIONS = [
    ("POST", "/score", "positive"),
    ("POST", "/score", "negative"),  # bodies that break the schema on purpose
    ("POST", "/get_reward", "positive"),
    ("POST", "/get_reward", "negative"),
    ("GET", "/health", "positive"),
    ("GET", "/metrics", "positive"),
]


@pytest.mark.parametrize(("method", "path", "mode"), OPERATIONS)
def test_api_answers_every_generated_request_without_5xx(
    api_schema: Any, api_server: Server, method: str, path: str, mode: str
) -> None:
    # schemathesis's pytest plugin does not run under pytest 9 yet: drive its case strategy with hypothesis.
    from schemathesis import GenerationMode

    operation = api_schema[path][method]

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
    def check(case: Any) -> None:
        response = case.call(base_url=api_server.url, timeout=60)
        allowed = API_STATUSES | {503} if path in ("/health", "/metrics") else API_STATUSES
        assert response.status_code in allowed, (path, response.status_code, response.text[:300])
        body = response.text
        assert "Traceback" not in body and 'File "/' not in body
        if path == "/score" and response.status_code == 200:
            items = case.body["items"]
            results = response.json()["results"]
            assert len(results) == len(items)
            assert [r["id"] for r in results] == [item.get("id") for item in items]
        if path == "/get_reward" and response.status_code == 200:
            answer = response.json()
            assert len(answer["rewards"]) == len(answer["scores"]) == len(case.body["query"])
            assert all(isinstance(value, int | float) for value in answer["rewards"])

    check()
