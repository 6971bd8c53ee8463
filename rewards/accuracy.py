"""Math-answer accuracy: extract the final answer and judge it against the reference.

Two verbs and two bounded caches: the reference is parsed once per distinct text (:func:`parse_gold`), and
each distinct (reference, extracted answer) pair is judged once (:func:`judge`). A GRPO group shares one
reference, so its completions parse the gold once and identical answers are judged once.

Outcomes (``details.outcome``): ``equivalent`` 1.0; ``not_equivalent``, ``no_answer``, ``ambiguous`` 0.0;
``no_reference`` null; ``gold_unparseable`` as ``config.unparseable_gold`` says. The library never times out
(every step is bounded); the service adds hard deadlines and reports ``timeout`` itself.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rewards.config import AccuracyConfig
from rewards.math.equivalence import equivalent
from rewards.math.extract import extract_answer
from rewards.math.guards import Refused
from rewards.math.normalize import normalize_answer
from rewards.math.parse import Answer, Scalar, Unparseable, parse_answer

GOLD_CACHE_SIZE = 4096
JUDGE_CACHE_SIZE = 65536
# More distinct boxed answers than this in one region is hedging: ambiguous without judging each.
MAX_DISTINCT_BOXES = 8

_UNPARSEABLE_SCORES: dict[str, float | None] = {"null": None, "zero": 0.0, "one": 1.0}


# Texts longer than this are judged without caching, so the caches' memory stays bounded (about
# 65536 x 2 x 2 kB at most) whatever the requests hold.
MAX_CACHED_CHARS = 2000


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


def _parse_gold(reference: str) -> Answer | None:
    try:
        return _parse(reference)
    except (Unparseable, Refused):
        return None


_parse_gold_cached = lru_cache(maxsize=GOLD_CACHE_SIZE)(_parse_gold)


def _strip_box(text: str) -> str:
    # A reference may itself be boxed or delimited ("$\boxed{5}$"); read what is inside. A reference with
    # several boxes ("\boxed{1}, \boxed{2}") lists several answers.
    if "boxed" in text or "fbox" in text:
        extraction = extract_answer(text)
        if extraction.method == "boxed" and extraction.text is not None:
            distinct = list(dict.fromkeys(b.strip() for b in extraction.boxed if b.strip()))
            if 1 < len(distinct) <= 20:
                return ", ".join(distinct)
            return extraction.text
    return text


def _parse(text: str) -> Answer:
    answer, _ = parse_answer(_strip_box(text))
    return answer


def judge(reference: str, answer: str, rel_tol: float = 1e-6) -> bool:
    """True when ``answer`` is equivalent to ``reference`` (cached per distinct pair).

    The reference must be parseable (see :func:`parse_gold`); an answer that cannot be parsed, or that is
    too large to judge, is not equivalent.

    Example:
        >>> judge("\\\\frac{1}{2}", "0.5")
        True
    """
    if len(reference) > MAX_CACHED_CHARS or len(answer) > MAX_CACHED_CHARS:
        return _judge(reference, answer, rel_tol)
    return _judge_cached(reference, answer, rel_tol)


def _judge(reference: str, answer: str, rel_tol: float) -> bool:
    gold = parse_gold(reference)
    if gold is None:
        return False
    try:
        pred = _parse(answer)
    except (Unparseable, Refused):
        return _same_text(reference, answer)
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
        a = _parse(first)
        b = _parse(second)
    except (Unparseable, Refused):
        return _same_text(first, second)
    return equivalent(a, b, rel_tol) or _same_text(first, second)


def score_accuracy(
    answer_region: str | None, reference: str | None, config: AccuracyConfig
) -> tuple[float | None, dict[str, Any]]:
    """Score the final answer in ``answer_region`` against ``reference``.

    Example:
        >>> score_accuracy(" so \\\\boxed{\\\\dfrac{1}{2}}.", "0.5", AccuracyConfig())[0]
        1.0
    """
    details: dict[str, Any] = {"outcome": None, "extracted_answer": None, "extraction": None}
    if reference is None or not reference.strip():
        details["outcome"] = "no_reference"
        return None, details
    extraction = extract_answer(answer_region) if answer_region is not None else None
    answer = extraction.text if extraction is not None else None
    if extraction is not None:
        details["extracted_answer"] = answer
        details["extraction"] = extraction.method
    gold = parse_gold(reference)
    details["gold_parsed"] = gold is not None
    if extraction is None or answer is None:
        # no final answer is wrong whatever the reference says
        details["outcome"] = "no_answer"
        return 0.0, details
    if gold is None:
        # the very same text is right whatever it means; anything else cannot be judged
        if _same_text(_strip_box(reference), answer):
            details["outcome"] = "equivalent"
            return 1.0, details
        details["outcome"] = "gold_unparseable"
        return _UNPARSEABLE_SCORES[config.unparseable_gold], details
    if len(extraction.boxed) > 1 and _ambiguous(extraction.boxed, config.rel_tol):
        details["outcome"] = "ambiguous"
        return 0.0, details
    if judge(reference, answer, config.rel_tol):
        details["outcome"] = "equivalent"
        return 1.0, details
    details["outcome"] = "not_equivalent"
    return 0.0, details


def _ambiguous(boxed: tuple[str, ...], rel_tol: float) -> bool:
    last = boxed[-1].strip()
    distinct = {b.strip() for b in boxed} - {last, ""}
    if not distinct:
        return False
    if len(distinct) >= MAX_DISTINCT_BOXES:
        return True
    return not all(_agree(last, other, rel_tol) for other in sorted(distinct))
