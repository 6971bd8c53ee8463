"""The fast path: plain numbers read exactly with :class:`fractions.Fraction`, no sympy.

Covers integers, decimals, thousands separators, percentages, ``e``-notation and ``\\times 10^{k}``,
fractions ``a/b`` and ``\\frac{a}{b}``, and mixed numbers (``4 4/9``, ``4\\frac{4}{9}``). Input is an
answer already normalized by :mod:`rewards.math.normalize`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from rewards.math.guards import MAX_EXPONENT


@dataclass(frozen=True, slots=True)
class Num:
    """An exact number and how it was written.

    Attributes:
        value: the exact value (a decimal is the rational it spells: ``0.333`` is 333/1000).
        decimals: number of digits written after the decimal point, ``None`` for integers and fractions.
        significant: significant digits written (for decimals), else 0.
        percent: written with ``%``; ``value`` is then the number before the sign (50 for ``50%``).
    """

    value: Fraction
    decimals: int | None = None
    significant: int = 0
    percent: bool = False

    @property
    def is_decimal(self) -> bool:
        """True when the number was written as a decimal approximation."""
        return self.decimals is not None


# a thousands group never starts with 0: "0,333" is a decimal comma, not 333
_INT = r"(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)"
_DECIMAL = re.compile(
    r"^(?P<sign>[+-]?)\s*(?P<int>" + _INT + r")?(?:\.(?P<frac>\d+))?"
    r"(?:\s*(?:[eE](?P<e>[+-]?\d+)|(?:\\times|\\cdot|\*|x)\s*10\s*\^\s*(?:\{\s*(?P<t1>[+-]?\d+)\s*\}|(?P<t2>[+-]?\d+))))?"
    r"\s*(?P<pct>%)?$"
)
_POW10 = re.compile(r"^(?P<sign>[+-]?)\s*10\s*\^\s*(?:\{\s*(?P<e1>[+-]?\d+)\s*\}|(?P<e2>[+-]?\d+))$")
_SLASH = re.compile(
    r"^(?P<sign>[+-]?)\s*(?:(?P<whole>\d+)\s+)?(?P<num>\d+)\s*/\s*(?P<den>\d+)\s*(?P<pct>%)?$"
)
_FRAC = re.compile(
    r"^(?P<sign>[+-]?)\s*(?P<whole>\d+)?\s*\\frac\s*"
    r"(?:\{\s*(?P<nsign>[+-]?)\s*(?P<num>\d+)\s*\}|(?P<n1>\d))\s*(?:\{\s*(?P<den>\d+)\s*\}|(?P<d1>\d))\s*(?P<pct>%)?$"
)


_REPEATING = re.compile(
    r"^(?P<sign>[+-]?)\s*(?P<int>\d*)\.(?P<fixed>\d*)\s*\\(?:overline|bar|dot)\s*\{\s*(?P<rep>\d{1,30})\s*\}$"
)


class _TooBig(Exception):
    """An exponent beyond the fast path: the expression parser keeps it as an unevaluated power."""


def _pow10(exponent: int) -> Fraction:
    if abs(exponent) > MAX_EXPONENT:
        raise _TooBig
    return Fraction(10) ** exponent


def parse_number(text: str) -> Num | None:
    """Read ``text`` as a plain number, or ``None`` when it is something else (or has an exponent beyond
    the fast path's bounds).

    Example:
        >>> parse_number("4 4/9").value
        Fraction(40, 9)
    """
    text = text.strip()
    if not text or len(text) > 200:
        return None
    try:
        return _parse_number(text)
    except _TooBig:
        return None


def _parse_number(text: str) -> Num | None:
    m = _DECIMAL.match(text)
    if m and (m.group("int") is not None or m.group("frac") is not None):
        whole = (m.group("int") or "0").replace(",", "")
        frac = m.group("frac") or ""
        value = Fraction(int(whole + frac), 10 ** len(frac)) if frac else Fraction(int(whole))
        exp_text = m.group("e") or m.group("t1") or m.group("t2")
        if exp_text is not None:
            value *= _pow10(int(exp_text))
        if m.group("sign") == "-":
            value = -value
        digits = (whole + frac).lstrip("0")
        decimals = len(frac) if m.group("frac") is not None else None
        return Num(value, decimals, len(digits) if decimals is not None else 0, m.group("pct") is not None)
    m = _REPEATING.match(text)
    if m:
        # 1.2\overline{34} = (12 + 34/99) / 10
        fixed, rep = m.group("fixed"), m.group("rep")
        head = Fraction(int(m.group("int") or "0")) + (Fraction(int(fixed), 10 ** len(fixed)) if fixed else 0)
        value = head + Fraction(int(rep), (10 ** len(rep) - 1) * 10 ** len(fixed))
        return Num(-value if m.group("sign") == "-" else value)
    m = _POW10.match(text)
    if m:
        value = _pow10(int(m.group("e1") or m.group("e2")))
        return Num(-value if m.group("sign") == "-" else value)
    m = _SLASH.match(text) or _FRAC.match(text)
    if m:
        groups = m.groupdict()
        num = int(groups.get("num") or groups.get("n1") or 0)
        den = int(groups.get("den") or groups.get("d1") or 0)
        if den == 0:
            return None
        value = Fraction(num, den)
        if groups.get("nsign") == "-":
            if groups.get("whole"):
                return None
            value = -value
        if groups.get("whole"):
            value += int(groups["whole"])
        if groups.get("sign") == "-":
            value = -value
        return Num(value, percent=groups.get("pct") is not None)
    return None
