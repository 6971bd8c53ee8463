"""Numbers written in English words (``forty two``, ``one hundred and five``, ``two thirds``): a small table of
our own, read without any dependency. Used for references and answers that spell their number.
"""

from __future__ import annotations

import re
from fractions import Fraction

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
)
_UNITS = {w: i for i, w in enumerate(_ONES.split(" "))}
_TENS_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety"
_TENS = {w: 10 * i for i, w in enumerate(_TENS_WORDS.split(" "), 2)}
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_DENOMINATORS = {
    "half": 2,
    "halves": 2,
    "third": 3,
    "quarter": 4,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
_WORD_SPLIT = re.compile(r"[\s-]+")


def number_from_words(text: str) -> Fraction | None:
    """The value of a number written in English words (``forty two``, ``one hundred and five``, ``minus
    three``, ``two thirds``), or ``None``.

    Example:
        >>> number_from_words("Forty-two"), number_from_words("three quarters"), number_from_words("many")
        (Fraction(42, 1), Fraction(3, 4), None)
    """
    words = [w for w in _WORD_SPLIT.split(text.lower().strip()) if w and w != "and"]
    if not words or len(words) > 12:
        return None
    sign = 1
    if words[0] in ("minus", "negative"):
        sign, words = -1, words[1:]
    den = _DENOMINATORS.get(words[-1]) or _DENOMINATORS.get(words[-1].removesuffix("s"))
    if den:
        head = 1 if words[:-1] in ([], ["a"]) else _whole_from_words(words[:-1])
        return None if head is None else Fraction(sign * head, den)
    whole = _whole_from_words(words)
    return None if whole is None else Fraction(sign * whole)


def leading_scale(words: str) -> int:
    """The factor a scale word after a number stands for (``million`` in "1 million dollars"), else 1.

    Example:
        >>> leading_scale("million dollars"), leading_scale("apples")
        (1000000, 1)
    """
    first = words.strip().split(" ", 1)[0].lower()
    if first in ("hundred", "dozen"):
        return 100 if first == "hundred" else 12
    return _SCALES.get(first, 1)


def _whole_from_words(words: list[str]) -> int | None:
    total = current = 0
    seen = False
    for k, w in enumerate(words):
        if w in _UNITS:
            current += _UNITS[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w == "a" and k == 0:
            current += 1
        elif w == "hundred":
            current = (current or 1) * 100
        elif w in _SCALES:
            total += (current or 1) * _SCALES[w]
            current = 0
        else:
            return None
        seen = True
    return total + current if seen else None


# Words that turn "5 ..." into more than one number, or an operation: never a noun after a number.
_NOT_A_NOUN = frozenset({"or", "and", "to", "plus", "minus", "times", "over", "divided", "but", "not", "nor"})


def is_noun_tail(words: str) -> bool:
    """True when ``words`` (after a number) only names what is counted: at most four words, none a number
    word or a connective (``apples``, ``square units``; not ``or six``, ``and a half``).

    Example:
        >>> is_noun_tail("red apples"), is_noun_tail("or six"), is_noun_tail("thousand")
        (True, False, True)
    """
    parts = [w for w in _WORD_SPLIT.split(words.lower().strip()) if w]
    if not parts or len(parts) > 4:
        return False
    for w in parts:
        if w in _NOT_A_NOUN or w in _UNITS or w in _TENS or w == "hundred" or w in _DENOMINATORS:
            return False
    return True


def spelled_with_noun(text: str) -> Fraction | None:
    """A number in words followed by what it counts (``twelve dollars``, ``forty two apples``), or ``None``.

    Example:
        >>> spelled_with_noun("twelve dollars"), spelled_with_noun("two or three pens")
        (Fraction(12, 1), None)
    """
    words = [w for w in _WORD_SPLIT.split(text.lower().strip()) if w]
    for k in range(min(len(words) - 1, 12), 0, -1):
        value = number_from_words(" ".join(words[:k]))
        if value is not None:
            return value if is_noun_tail(" ".join(words[k:])) else None
    return None
