"""Limits that keep every answer's parsing and comparison bounded in time and memory.

Text guards run before any parser sees an answer; value guards run inside the evaluators. A prediction that
trips a guard is judged not equivalent; a reference that trips one is reported as unparseable.
"""

from __future__ import annotations

import re

# Longest raw answer text that is normalized at all.
MAX_RAW_CHARS = 20_000
# Longest normalized answer text that is parsed at all; longer ones are compared as normalized strings only.
MAX_ANSWER_CHARS = 4000
# Longest piece handed to latex2sympy2_extended (its ANTLR parser is the slow path).
MAX_SYMPY_CHARS = 600
# Deepest nesting of {}, () and [] accepted (latex2sympy recurses per level).
MAX_DEPTH = 24
# Longest run of nested exponents (``a^{b^{c}}`` has depth 2); values are bounded again when evaluated.
MAX_POWER_DEPTH = 4
# Largest integer exponent applied exactly to a base other than 0, 1 and -1.
MAX_EXPONENT = 10_000
# Largest exact integer size, in bits, that arithmetic may produce.
MAX_BITS = 200_000
# Largest n for which n! is computed.
MAX_FACTORIAL = 1000
# Most elements in a list, set or tuple, and most entries in a matrix.
MAX_ELEMENTS = 100
MAX_MATRIX_ENTRIES = 400
# Most nodes in a parsed expression tree.
MAX_NODES = 400
# Largest binary magnitude (log2 |x|) a numeric evaluation may reach.
MAX_LOG2_MAGNITUDE = 100_000
# Highest working precision (decimal digits) of a numeric comparison.
MAX_DPS = 2000


class Refused(Exception):
    """An answer is too large or too deep to be judged within the library's bounds."""


_BRACKETS = re.compile(r"[{}()\[\]]")
# a bare exponent followed by another exponent: 2^2^2, x^y^z
_BARE_TOWER = re.compile(r"\^\s*(?:\d+|[a-zA-Z])\s*\^")
_POWER_GROUP = re.compile(r"\^\s*\{")


def nesting_depth(text: str) -> int:
    """Deepest bracket nesting in ``text`` (any of ``{}``, ``()``, ``[]``), in one linear pass.

    Example:
        >>> nesting_depth("\\\\frac{1}{(2+3)}")
        2
    """
    depth = best = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in "{([":
            depth += 1
            if depth > best:
                best = depth
        elif depth > 0:
            depth -= 1
    return best


def power_depth(text: str) -> int:
    """Longest chain of exponents nested inside exponents, e.g. ``2^{2^{2}}`` -> 2.

    Example:
        >>> power_depth("2^{3^{4^{5}}}")
        3
    """
    # Walk braces, remembering which open groups are exponent groups.
    stack: list[bool] = []
    best = 0
    current = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "^":
            j = i + 1
            while j < n and text[j] == " ":
                j += 1
            if j < n and text[j] == "{":
                stack.append(True)
                current += 1
                best = max(best, current)
                i = j + 1
                continue
            # a bare exponent token: 2^3 counts one level under the current groups
            best = max(best, current + 1)
        elif c == "{":
            stack.append(False)
        elif c == "}" and stack and stack.pop():
            current -= 1
        i += 1
    return best


def check_text(text: str) -> None:
    """Raise :class:`Refused` when ``text`` is too long, too deeply nested, or an exponent tower.

    Example:
        >>> check_text("\\\\frac{1}{2}")
    """
    if len(text) > MAX_ANSWER_CHARS:
        raise Refused("answer too long")
    if nesting_depth(text) > MAX_DEPTH:
        raise Refused("answer nested too deeply")
    if "^" in text and (power_depth(text) > MAX_POWER_DEPTH or _BARE_TOWER.search(text)):
        raise Refused("exponent tower")
