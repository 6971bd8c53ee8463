"""The wire format (API.md): request parsing with size limits, and the models the OpenAPI docs show.

Requests are parsed with orjson and validated by pydantic-core against ``TypedDict`` schemas (about 0.5 ms
per 1,024 items, no model object per item), then turned into the :class:`~app.records.WireItem` records the worker pool ships. Fields
the contract does not name are ignored. Errors never echo the input back: :class:`RequestInvalid` carries
``{"loc", "field", "msg", "type"}`` entries only.

Limits: a request with more than ``max_batch_items`` items is refused (413) before validation; a completion
or prompt longer than ``max_completion_chars``, or a reference answer longer than :data:`MAX_ANSWER_CHARS`,
is an *item* error (``completion_too_long``, ``prompt_too_long``, ``answer_too_long``) so the rest of the
batch is still scored; ``id``, ``group`` and ``lang`` have fixed length limits and break the schema (422).
A body of more JSON values than :func:`json_values_limit` allows (64 per item) is refused (422,
``too_many_values``) before any value is built, so ignored fields cannot expand in memory.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, Field, StringConstraints, TypeAdapter, ValidationError
from typing_extensions import NotRequired, TypedDict

from app.records import ScoredResult, WireItem

MAX_ANSWER_CHARS = 100_000  # a reference, or all the references of a list together
MAX_ANSWERS = 32  # acceptable answers in one list reference
MAX_ID_CHARS = 1024
MAX_LANG_CHARS = 35
MAX_ERRORS = 10  # validation errors reported per response
MAX_MSG_CHARS = 200
MAX_LOC_CHARS = 64  # longest part of an error's ``loc`` (a client's dict key) quoted back
MAX_LOC_PARTS = 8

ShortStr = Annotated[str, StringConstraints(max_length=MAX_ID_CHARS)]
LangStr = Annotated[str, StringConstraints(max_length=MAX_LANG_CHARS)]
AnswerList = Annotated[list[str], Field(min_length=1, max_length=MAX_ANSWERS)]


# ------------------------------------------------------------------------------------------- requests
class ScoreItem(TypedDict):
    """One item of ``POST /score`` (API.md). Fields not listed are ignored."""

    completion: Annotated[str, Field(description="The generated text.")]
    prompt: NotRequired[Annotated[str | None, Field(description="The prompt as the policy saw it.")]]
    answer: NotRequired[
        Annotated[
            str | AnswerList | None,
            Field(description="Reference answer, LaTeX or plain text; or a list of acceptable answers."),
        ]
    ]
    lang: NotRequired[Annotated[LangStr | None, Field(description="ISO 639-1 code the reasoning must use.")]]
    id: NotRequired[Annotated[ShortStr | None, Field(description="Echoed back.")]]
    group: NotRequired[Annotated[ShortStr | None, Field(description="GRPO prompt group.")]]
    tests: NotRequired[
        Annotated[
            dict[str, Any] | None,
            Field(
                description="Code item: test cases its program is judged by (kind stdin_stdout or function)."
            ),
        ]
    ]


class ScoreRequest(TypedDict):
    """Body of ``POST /score``."""

    items: list[ScoreItem]
    request_id: NotRequired[
        Annotated[ShortStr | None, Field(description="Retries with this id are idempotent.")]
    ]
    rewards: NotRequired[
        Annotated[dict[str, Any] | None, Field(description="Reward components and weights; default: API.md.")]
    ]
    explain: NotRequired[
        Annotated[bool | None, Field(description="Add details.explanation to every result (slower).")]
    ]


class GetRewardRequest(TypedDict):
    """Body of ``POST /get_reward`` (OpenRLHF's remote reward-model protocol)."""

    query: Annotated[list[str], Field(description="Prompt + response per sample, special tokens kept.")]
    prompts: NotRequired[Annotated[list[str] | None, Field(description="The prompt of each sample.")]]
    labels: NotRequired[
        Annotated[
            list[str | int | float | list[str | int | float] | dict[str, Any] | None] | None,
            Field(description="Reference answers (numbers and lists of acceptable answers allowed)."),
        ]
    ]
    request_id: NotRequired[
        Annotated[ShortStr | None, Field(description="Retries with this id are idempotent.")]
    ]
    rewards: NotRequired[Annotated[dict[str, Any] | None, Field(description="As in POST /score.")]]


SCORE_REQUEST: TypeAdapter[ScoreRequest] = TypeAdapter(ScoreRequest)
GET_REWARD_REQUEST: TypeAdapter[GetRewardRequest] = TypeAdapter(GetRewardRequest)


# ------------------------------------------------------------------------------ responses (docs only)
class ItemError(BaseModel):
    """Why one item could not be scored."""

    code: str
    message: str


class ScoreResult(BaseModel):
    """One item's result (API.md)."""

    # Every field is always present in a response (null where it has no value).
    id: str | None
    reward: float | None
    scores: dict[str, float | None]
    details: dict[str, Any]
    error: ItemError | None


class ScoreResponse(BaseModel):
    """Body of a 200 from ``POST /score``: one result per item, in order."""

    results: list[ScoreResult]


class GetRewardResponse(BaseModel):
    """Body of a 200 from ``POST /get_reward``; every list has one number per query (never null)."""

    rewards: list[float]
    scores: list[float]
    extra_logs: dict[str, list[float]]


class HealthResponse(BaseModel):
    """Body of ``GET /health``."""

    status: str
    workers: int
    workers_configured: int
    pending_items: int
    code_sandbox: dict[str, Any] | None = None


class ErrorEntry(BaseModel):
    """One reason a request was refused; never contains the input."""

    loc: list[str | int]
    field: str
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Body of a 4xx/5xx response."""

    detail: list[ErrorEntry] | str


# ------------------------------------------------------------------------------------------- parsing
class RequestInvalid(Exception):
    """A body that breaks the schema (HTTP 422); ``errors`` name the fields, never the input."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["msg"] if errors else "invalid request")
        self.errors = errors[:MAX_ERRORS]


class BatchTooLarge(Exception):
    """More items than ``max_batch_items`` (HTTP 413)."""


def error_entry(loc: tuple[str | int, ...] | list[str | int], msg: str, kind: str) -> dict[str, Any]:
    """One entry of a 422's ``detail``.

    Example:
        >>> error_entry(("items", 3, "completion"), "Field required", "missing")["field"]
        'items.3.completion'
    """
    # a dict key in ``loc`` is the client's: quote at most MAX_LOC_CHARS of it, never the whole
    loc = [p if isinstance(p, int) or len(p) <= MAX_LOC_CHARS else f"{p[:MAX_LOC_CHARS]}..." for p in loc]
    loc = loc[:MAX_LOC_PARTS]
    return {
        "loc": loc,
        "field": ".".join(str(part) for part in loc),
        "msg": msg[:MAX_MSG_CHARS],
        "type": kind[:64],
    }


def validation_errors(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """pydantic's errors without the input, the URL or the context; at most :data:`MAX_ERRORS`."""
    out = []
    seen: set[tuple[str | int, ...]] = set()
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        # a union field (answer: str | list[str]) reports one error per member, tagged with its type
        loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and _UNION_TAG.match(p)))
        if loc not in seen:
            seen.add(loc)
            out.append(error_entry(loc, err["msg"], err["type"]))
    return out[:MAX_ERRORS]


_UNION_TAG = re.compile(r"^(str|int|float|bool|none|list\[.*\]|dict\[.*\])$")


_SURROGATES = re.compile("[\ud800-\udfff]")


def parse_json(body: bytes, max_values: int | None = None) -> Any:
    """Decode a JSON body; lone surrogates and invalid UTF-8 become U+FFFD instead of failing.

    orjson refuses ``"\\ud800"`` (a lone surrogate escape, which models' byte-level tokens can produce and
    Python's ``json.dumps`` writes); the fallback decodes with the standard library and replaces them.
    With ``max_values``, a body of more JSON values than that is refused before any is built
    (:func:`check_structure`).

    Example:
        >>> parse_json(b'{"a": "x\\\\ud800"}')
        {'a': 'x\\ufffd'}
    """
    if max_values is not None:
        check_structure(body, max_values)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        first_error = exc
    try:
        data = json.loads(body.decode("utf-8", "replace"))
        return _replace_surrogates(data)
    except (ValueError, RecursionError):
        raise RequestInvalid(
            [error_entry(["body"], f"invalid JSON: {first_error}", "json_invalid")]
        ) from None


# A JSON string (to its closing quote, or to the end of an unterminated one: never a second scan), or a
# byte that opens a container or separates two values.
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[{,]')


def json_values_limit(max_items: int) -> int:
    """JSON values a request of ``max_items`` items may hold: 64 per item (six fields, client extras).

    Example:
        >>> json_values_limit(4096)
        262144
    """
    return 64 * max(max_items, 64)


def check_structure(body: bytes, max_values: int) -> None:
    """Refuse (422) a body of more than ``max_values`` JSON values, before parsing builds any of them.

    A 64 kB gzip body can expand to 22 million ``{},`` in an ignored field: parsed, that is gigabytes of
    empty objects. Counting container openings and separators outside strings bounds the values;
    a cheap upper bound (every such byte, strings included) is tried first, so ordinary bodies cost one
    C-speed count. The exact count steps string by string, so the event loop (when it runs in a thread) and
    the GIL are never held for more than one string's scan.

    Example:
        >>> check_structure(b'{"a": "{,{,{,{"}', 3)
        >>> check_structure(b'[{},{},{}]', 3)
        Traceback (most recent call last):
        ...
        app.schemas.RequestInvalid: more than 3 JSON values
    """
    if body.count(b",") + body.count(b"{") + body.count(b"[") <= max_values:
        return
    count = 0
    for match in _JSON_TOKEN.finditer(body):
        if body[match.start()] != 0x22:  # not a string
            count += 1
            if count > max_values:
                raise RequestInvalid(
                    [error_entry(["body"], f"more than {max_values} JSON values", "too_many_values")]
                )


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


@dataclass
class ScoreJob:
    """A parsed batch: what to send to the pool, and the item errors decided without scoring."""

    items: list[WireItem]  # the items to score
    positions: list[int]  # their index in the request
    size: int  # items in the request
    errors: dict[int, ScoredResult] = field(default_factory=dict)
    rewards: Any = None  # the request's "rewards" block (None: the service default)
    request_id: str | None = None
    explain: bool = False  # the request asked for details.explanation

    def merge(self, scored: list[ScoredResult]) -> list[ScoredResult]:
        """All results in request order: scored ones and item errors."""
        if not self.errors:
            return scored
        out: list[ScoredResult | None] = [None] * self.size
        for pos, result in zip(self.positions, scored, strict=True):
            out[pos] = result
        for pos, result in self.errors.items():
            out[pos] = result
        return [r for r in out if r is not None]


def _check_batch(data: Any, key: str, max_items: int) -> None:
    if isinstance(data, dict) and isinstance(data.get(key), list) and len(data[key]) > max_items:
        raise BatchTooLarge(f"{len(data[key])} items; at most {max_items} per request")


def answer_chars(answer: str | list[str] | None) -> int:
    """Characters of a reference: one answer, or every answer of a list.

    Example:
        >>> answer_chars("12"), answer_chars(["12", "twelve"]), answer_chars(None)
        (2, 8, 0)
    """
    if answer is None:
        return 0
    return len(answer) if isinstance(answer, str) else sum(len(a) for a in answer)


def as_reference(answer: str | list[str] | None) -> str | list[str] | None:
    """The reference a worker gets: a string, or a list of acceptable answers; a one-answer list is that
    answer, so it groups with (and reuses the parsed gold of) the items that give it as text.

    Example:
        >>> as_reference(["12", "twelve"]), as_reference(["12"]), as_reference("12")
        (['12', 'twelve'], '12', '12')
    """
    if answer is None or isinstance(answer, str):
        return answer
    return answer[0] if len(answer) == 1 else list(answer)


def _job(rows: list[WireItem], max_chars: int) -> ScoreJob:
    job = ScoreJob(items=[], positions=[], size=len(rows))
    for pos, row in enumerate(rows):
        completion, prompt, answer = row.completion, row.prompt, answer_chars(row.answer)
        problem = None
        if len(completion) > max_chars:
            problem = (
                "completion_too_long",
                f"completion has {len(completion)} characters; at most {max_chars}",
            )
        elif prompt is not None and len(prompt) > max_chars:
            problem = ("prompt_too_long", f"prompt has {len(prompt)} characters; at most {max_chars}")
        elif answer > MAX_ANSWER_CHARS:
            problem = ("answer_too_long", f"answer has {answer} characters; at most {MAX_ANSWER_CHARS}")
        if problem is None:
            job.items.append(row)
            job.positions.append(pos)
        else:
            job.errors[pos] = ScoredResult.error(row.id, problem[0], problem[1])
    return job


def parse_score_request(data: Any, *, max_items: int, max_chars: int) -> ScoreJob:
    """Validate a decoded ``POST /score`` body into a :class:`ScoreJob`.

    Raises:
        BatchTooLarge: more than ``max_items`` items.
        RequestInvalid: the body breaks the schema; the errors name the fields.

    Example:
        >>> job = parse_score_request({"items": [{"completion": "4", "answer": "4"}]}, max_items=8, max_chars=100)
        >>> job.items
        [WireItem(completion='4', prompt=None, answer='4', lang=None, id=None, group=None, tests=None)]
    """
    _check_batch(data, "items", max_items)
    try:
        req = SCORE_REQUEST.validate_python(data)
    except ValidationError as exc:
        raise RequestInvalid(validation_errors(exc)) from None
    rows = [
        WireItem(
            it["completion"],
            it.get("prompt"),
            as_reference(it.get("answer")),
            it.get("lang"),
            it.get("id"),
            it.get("group"),
            it.get("tests"),
        )
        for it in req["items"]
    ]
    job = _job(rows, max_chars)
    job.rewards = req.get("rewards")
    job.explain = bool(req.get("explain"))
    job.request_id = req.get("request_id")
    return job


def parse_get_reward_request(data: Any, *, max_items: int) -> GetRewardRequest:
    """Validate a decoded ``POST /get_reward`` body; ``prompts`` and ``labels`` must match ``query`` in length.

    Example:
        >>> parse_get_reward_request({"query": ["q a"], "labels": ["a"]}, max_items=8)["labels"]
        ['a']
    """
    _check_batch(data, "query", max_items)
    try:
        req = GET_REWARD_REQUEST.validate_python(data)
    except ValidationError as exc:
        raise RequestInvalid(validation_errors(exc)) from None
    n = len(req["query"])
    for key, values in (("prompts", req.get("prompts")), ("labels", req.get("labels"))):
        if values is not None and len(values) != n:
            raise RequestInvalid(
                [error_entry([key], f"has {len(values)} entries but query has {n}", "length_mismatch")]
            )
    return req


def make_job(rows: list[WireItem], max_chars: int) -> ScoreJob:
    """A :class:`ScoreJob` from already-built items (used by ``/get_reward``)."""
    return _job(rows, max_chars)


def openapi_schemas() -> dict[str, dict[str, Any]]:
    """JSON schemas of the request bodies, keyed by component name, for the OpenAPI document."""
    out: dict[str, dict[str, Any]] = {}
    for name, adapter in (("ScoreRequest", SCORE_REQUEST), ("GetRewardRequest", GET_REWARD_REQUEST)):
        schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[name] = schema
    return out
