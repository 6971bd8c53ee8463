"""Math-answer accuracy: extract the final answer and judge it against the reference.

Two verbs and two bounded caches: the reference is parsed once per distinct text (:func:`parse_gold`), and
each distinct (reference, extracted answer) pair is judged once (:func:`judge`). A GRPO group shares one
reference, so its completions parse the gold once and identical answers are judged once.

The reference may be a list of acceptable answers (any one matching is right; each is parsed once). The
prompt, when given, only decides how a percentage is read (:func:`asks_for_percentage`). Several boxes that
disagree are a hedge (``ambiguous``) unless together they are exactly the reference's parts.

Outcomes (``details.outcome``): ``equivalent`` 1.0; ``not_equivalent``, ``no_answer``, ``ambiguous`` 0.0;
``no_reference`` null; ``gold_unparseable`` as ``config.unparseable_gold`` says. The library never times out
(every step is bounded); the service adds hard deadlines and reports ``timeout`` itself.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

from rewards.config import AccuracyConfig
from rewards.math.equivalence import equivalent
from rewards.math.extract import boxed_spans, extract_answer
from rewards.math.guards import Refused
from rewards.math.normalize import normalize_answer
from rewards.math.parse import Answer, Assign, Scalar, Seq, UnionOf, Unparseable, parse_answer

GOLD_CACHE_SIZE = 4096
JUDGE_CACHE_SIZE = 65536
# More distinct boxed answers than this in one region is hedging: ambiguous without judging each.
MAX_DISTINCT_BOXES = 8
# Most acceptable answers one list reference may hold.
MAX_REFERENCES = 32

_UNPARSEABLE_SCORES: dict[str, float | None] = {"null": None, "zero": 0.0, "one": 1.0}


# Texts longer than this are judged without caching, so the caches' memory stays bounded (about
# 65536 x 2 x 2 kB at most) whatever the requests hold.
MAX_CACHED_CHARS = 2000

# The prompt asks for a percentage: "what percent", "as a percentage", "percentage of", "in %"; but a number
# followed by "percent" ("a 20 percent discount") only states one.
_PERCENT_WORD = re.compile(
    r"\b(?:per\s?cent(?:age)?s?|pourcentage|porcentaje|porcentagem|prozent(?:satz)?|percentuale)\b",
    re.IGNORECASE,
)
_PERCENT_UNIT = re.compile(r"\b(?:in|as\s+an?)\s+(?:\\)?%|百分比|百分数|百分之几", re.IGNORECASE)
_PERCENT_MARK = re.compile(r"%|per\s?cent|pct", re.IGNORECASE)
_NUMBER_BEFORE = re.compile(r"\d\s*(?:\\text\{\s*)?$")


def asks_for_percentage(prompt: str | None) -> bool:
    """True when the prompt asks for a percentage (then an answer ``x%`` is read as the percentage ``x``).

    Example:
        >>> asks_for_percentage("What percent of 80 is 20?"), asks_for_percentage("A 20 percent tip on $15?")
        (True, False)
    """
    if not prompt:
        return False
    text = prompt[-4000:]
    for match in _PERCENT_WORD.finditer(text):
        if not _NUMBER_BEFORE.search(text, max(0, match.start() - 12), match.start()):
            return True
    return bool(_PERCENT_UNIT.search(text))


def parse_gold(reference: str) -> Answer | None:
    """The parsed reference, or ``None`` when it cannot be parsed (cached per distinct reference).

    A reference is refused only by the text guards (too long, too deeply nested, an exponent tower deeper than
    four); a well-formed but huge value (``10^{10^{100}}``) is kept, and matches only an answer written the
    same way, since its value is never computed.

    Example:
        >>> parse_gold("\\\\frac{1}{2}") is not None
        True
    """
    if len(reference) > MAX_CACHED_CHARS:
        return _parse_gold(reference)
    return _parse_gold_cached(reference)


# A reference that is a whole worked solution states its answer the way a completion does.
_STATED_BY = frozenset({"phrase", "gsm8k", "answer_tag"})


def _parse_gold(reference: str) -> Answer | None:
    try:
        return _parse(_gold_text(reference))
    except (Unparseable, Refused):
        pass
    # a worked solution without a box ("... #### 72", "... The final answer is 14."): its stated answer
    if "boxed" in reference or "fbox" in reference:
        return None
    extraction = extract_answer(reference)
    if extraction.method not in _STATED_BY or extraction.text is None:
        return None
    try:
        return _parse(extraction.text)
    except (Unparseable, Refused):
        return None


_parse_gold_cached = lru_cache(maxsize=GOLD_CACHE_SIZE)(_parse_gold)

# What may stand between the boxes of a reference that lists its answer in parts ("$\boxed{1}$ and
# $\boxed{2}$"): delimiters, separators and connectives, nothing else.
_BETWEEN_PARTS = re.compile(
    r"^(?:\s|\$|\\[()\[\]]|[,;.]|\\quad|\\text\{\s*(?:and|or)\s*\}|\b(?:and|or)\b)*$", re.IGNORECASE
)


def _gold_text(text: str) -> str:
    """The answer a reference states. A reference may itself be boxed or delimited (``$\\boxed{5}$``): read
    what is inside. A whole solution with boxed intermediates is read as a completion is: its last box, or an
    explicit final-answer phrase after it. Boxes with nothing but separators between them list one answer in
    parts (``the roots are \\boxed{1} and \\boxed{2}``)."""
    if "boxed" not in text and "fbox" not in text:
        return text
    spans = boxed_spans(text)
    if not spans:
        return text
    distinct = list(dict.fromkeys(c.strip() for _, _, c in spans if c.strip()))
    if 1 < len(distinct) <= 20:
        between = (text[a[1] : b[0]] for a, b in itertools.pairwise(spans))
        if all(_BETWEEN_PARTS.match(piece) for piece in between):
            return ", ".join(distinct)
    extraction = extract_answer(text)
    return extraction.text if extraction.text is not None else text


def _parse(text: str) -> Answer:
    answer, _ = parse_answer(text)
    return answer


def judge(reference: str, answer: str, rel_tol: float = 1e-6, percent_prompt: bool = False) -> bool:
    """True when ``answer`` is equivalent to ``reference`` (cached per distinct pair).

    The reference must be parseable (see :func:`parse_gold`); an answer that cannot be parsed, or that is
    too large to judge, is not equivalent. ``percent_prompt``: the prompt asks for a percentage, so an answer
    ``x%`` against a reference written without ``%`` is read as the number ``x``.

    Example:
        >>> judge("\\\\frac{1}{2}", "0.5"), judge("50", "50\\\\%"), judge("50", "50\\\\%", percent_prompt=True)
        (True, False, True)
    """
    if len(reference) > MAX_CACHED_CHARS or len(answer) > MAX_CACHED_CHARS:
        return _judge(reference, answer, rel_tol, percent_prompt)
    return _judge_cached(reference, answer, rel_tol, percent_prompt)


# "2,74" (or "x = 2,74"): digits, a comma, digits that are not a thousands group. Against a one-number reference it is a
# decimal comma (2.74), the only sensible reading there; never its tail (74).
_DECIMAL_COMMA = re.compile(r"^\s*((?:[A-Za-z](?:_\{?\w{1,4}\}?)?\s*=\s*)?[+-]?\d+),(\d+)\s*$")


def _judge(reference: str, answer: str, rel_tol: float, percent_prompt: bool) -> bool:
    gold = parse_gold(reference)
    if gold is None:
        return False
    if "," in answer and isinstance(gold.value if isinstance(gold, Assign) else gold, Scalar):
        written = normalize_answer(answer)
        comma = _DECIMAL_COMMA.match(written)
        if comma is not None and not _is_thousands(written.rpartition("=")[2]):
            answer = f"{comma.group(1)}.{comma.group(2)}"
    try:
        pred = _parse(_gold_text(answer))
    except (Unparseable, Refused):
        return _same_text(reference, answer)
    if percent_prompt and not _has_percent(gold):
        pred = _percent_as_unit(pred)
    if equivalent(gold, pred, rel_tol):
        return True
    if (
        isinstance(gold, Scalar)
        and isinstance(pred, Scalar)
        and gold.num is not None
        and pred.num is not None
    ):
        return False  # two plain numbers that differ: no need to compare texts
    return _same_text(reference, answer)


_judge_cached = lru_cache(maxsize=JUDGE_CACHE_SIZE)(_judge)


def _is_thousands(text: str) -> bool:
    return re.fullmatch(r"\s*[+-]?[1-9]\d{0,2}(?:,\d{3})+\s*", text) is not None


def _has_percent(answer: Answer) -> bool:
    if isinstance(answer, Scalar):
        return answer.percent
    if isinstance(answer, Seq):
        return any(_has_percent(x) for x in answer.items)
    if isinstance(answer, UnionOf):
        return any(_has_percent(x) for x in answer.parts)
    if isinstance(answer, Assign):
        return _has_percent(answer.value)
    return False


def _percent_as_unit(answer: Answer) -> Answer:
    """The answer with each ``x%`` read as the number ``x`` (the percent sign names the unit asked for)."""
    if isinstance(answer, Scalar) and answer.percent:
        return replace(answer, percent=False, num=None)
    if isinstance(answer, Seq):
        return replace(answer, items=tuple(_percent_as_unit(x) for x in answer.items))
    if isinstance(answer, Assign):
        return replace(answer, value=_percent_as_unit(answer.value))
    return answer


def _same_text(a: str, b: str) -> bool:
    """Identical answers once normalized (spaces ignored): equivalent whatever they mean."""
    if len(a) > 20_000 or len(b) > 20_000:
        return False
    na, nb = normalize_answer(a).replace(" ", ""), normalize_answer(b).replace(" ", "")
    return bool(na) and na == nb


def warm_up() -> None:
    """Import and exercise the slow path (sympy, latex2sympy2_extended's grammar) once, so that the first
    answer needing it does not pay about half a second of imports; call it when a worker process starts.

    Example:
        >>> warm_up()
    """
    from rewards.math.sympy_bridge import parse_with_latex2sympy

    parse_with_latex2sympy(r"\int_0^1 x\,dx")
    score_accuracy(r"\boxed{\frac{\sqrt{2}}{2}}", r"\frac{1}{\sqrt{2}}", AccuracyConfig())
    clear_caches()


def clear_caches() -> None:
    """Empty the gold and judgement caches (benchmarks measure cold caches with this)."""
    _parse_gold_cached.cache_clear()
    _judge_cached.cache_clear()
    _agree.cache_clear()


def cache_stats() -> dict[str, dict[str, int]]:
    """Hits, misses and sizes of the gold and judgement caches (for metrics and tests).

    Example:
        >>> sorted(cache_stats())
        ['gold', 'judge']
    """
    out = {}
    for name, cached in (("gold", _parse_gold_cached), ("judge", _judge_cached)):
        info = cached.cache_info()
        out[name] = {
            "hits": info.hits,
            "misses": info.misses,
            "size": info.currsize,
            "max_size": info.maxsize or 0,
        }
    return out


@lru_cache(maxsize=JUDGE_CACHE_SIZE)
def _agree(first: str, second: str, rel_tol: float) -> bool:
    """True when two boxed answers of one completion say the same thing."""
    if first == second:
        return True
    try:
        a = _parse(_gold_text(first))
        b = _parse(_gold_text(second))
    except (Unparseable, Refused):
        return _same_text(first, second)
    return equivalent(a, b, rel_tol) or _same_text(first, second)


def score_accuracy(
    answer_region: str | None,
    reference: str | Sequence[str] | None,
    config: AccuracyConfig,
    *,
    prompt: str | None = None,
) -> tuple[float | None, dict[str, Any]]:
    """Score the final answer in ``answer_region`` against ``reference``.

    ``reference`` is one answer or a list of acceptable answers (any one matching is right; an empty list is
    no reference). ``prompt``, when given, decides how a percentage is read (:func:`asks_for_percentage`).

    Example:
        >>> score_accuracy(" so \\\\boxed{\\\\dfrac{1}{2}}.", "0.5", AccuracyConfig())[0]
        1.0
        >>> score_accuracy("\\\\boxed{6}", ["3", "6"], AccuracyConfig())[0]
        1.0
    """
    details: dict[str, Any] = {"outcome": None, "extracted_answer": None, "extraction": None}
    references = _references(reference)
    if not references:
        details["outcome"] = "no_reference"
        return None, details
    extraction = extract_answer(answer_region) if answer_region is not None else None
    answer = extraction.text if extraction is not None else None
    if extraction is not None:
        details["extracted_answer"] = answer
        details["extraction"] = extraction.method
    golds = [(ref, parse_gold(ref)) for ref in references]
    parsed = [(ref, gold) for ref, gold in golds if gold is not None]
    details["gold_parsed"] = bool(parsed)
    if extraction is None or answer is None:
        # no final answer is wrong whatever the reference says
        details["outcome"] = "no_answer"
        return 0.0, details
    if not parsed:
        # the very same text is right whatever it means; anything else cannot be judged
        if any(_same_text(_gold_text(ref), answer) for ref in references):
            details["outcome"] = "equivalent"
            return 1.0, details
        details["outcome"] = "gold_unparseable"
        return _UNPARSEABLE_SCORES[config.unparseable_gold], details
    if len(extraction.boxed) > 1 and _ambiguous(extraction.boxed, config.rel_tol):
        # boxes that disagree: a hedge, unless together they are exactly the reference's parts
        boxed = extraction.boxed
        percent_prompt = _percent_prompt(boxed, prompt)
        if any(_parts_match(ref, gold, boxed, config.rel_tol, percent_prompt) for ref, gold in parsed):
            details["outcome"] = "equivalent"
            return 1.0, details
        details["outcome"] = "ambiguous"
        return 0.0, details
    percent_prompt = _percent_prompt((answer,), prompt)
    if any(judge(ref, answer, config.rel_tol, percent_prompt) for ref, _ in parsed):
        details["outcome"] = "equivalent"
        return 1.0, details
    details["outcome"] = "not_equivalent"
    return 0.0, details


def _percent_prompt(answers: Sequence[str], prompt: str | None) -> bool:
    """The prompt asks for a percentage; looked at only when an answer is written with a percent sign or word,
    the one case where it matters."""
    return any(_PERCENT_MARK.search(a) for a in answers) and asks_for_percentage(prompt)


def _references(reference: str | Sequence[str] | None) -> list[str]:
    """The acceptable answers: one string, or each string of a list (blank ones dropped, duplicates once)."""
    if reference is None:
        return []
    if isinstance(reference, str):
        return [reference] if reference.strip() else []
    kept = [r for r in reference if isinstance(r, str) and r.strip()]
    return list(dict.fromkeys(kept))[:MAX_REFERENCES]


def _ambiguous(boxed: tuple[str, ...], rel_tol: float) -> bool:
    last = boxed[-1].strip()
    distinct = {b.strip() for b in boxed} - {last, ""}
    if not distinct:
        return False
    if len(distinct) >= MAX_DISTINCT_BOXES:
        return True
    return not all(_agree(last, other, rel_tol) for other in sorted(distinct))


_ORDERED_KINDS = frozenset({"tuple", "paren"})


def _parts_match(
    reference: str, gold: Answer, boxed: tuple[str, ...], rel_tol: float, percent_prompt: bool
) -> bool:
    """True when the distinct boxes, in the order first written, are exactly the reference's parts (``3`` and
    ``5`` for ``3, 5`` or ``(3, 5)``; in the reference's order where it is ordered); or when the last box is
    the whole reference and each other box one of its parts."""
    if isinstance(gold, Assign):
        gold = gold.value  # "(x, y) = (3, 5)"
    if not isinstance(gold, Seq) or gold.kind not in ("list", "set", *_ORDERED_KINDS):
        return False
    distinct = list(dict.fromkeys(b.strip() for b in boxed if b.strip()))
    if len(distinct) > MAX_DISTINCT_BOXES:
        return False
    if len(distinct) == len(gold.items):
        joined = ", ".join(distinct)
        if judge(
            reference, f"({joined})" if gold.kind in _ORDERED_KINDS else joined, rel_tol, percent_prompt
        ):
            return True
    last = boxed[-1].strip()
    if not judge(reference, last, rel_tol, percent_prompt):
        return False
    for box in distinct:
        if box == last:
            continue
        try:
            part = _parse(_gold_text(box))
        except (Unparseable, Refused):
            return False
        if not any(equivalent(item, part, rel_tol) for item in gold.items):
            return False
    return True
