"""Fallback parsing through latex2sympy2_extended for LaTeX outside :mod:`rewards.math.expr`'s grammar.

latex2sympy2_extended parses with an ANTLR grammar and builds sympy objects without ``eval``; it is called
without ``variable_values`` (which would go through ``parse_expr``). Its result is converted, node by node
and within the node budget, to the same plain-tuple trees the rest of the engine uses; a sympy object is
never printed, simplified or re-parsed. Imported lazily so the fast path never pays for sympy.
"""

from __future__ import annotations

import contextlib
import io
import re
from fractions import Fraction
from typing import Any

from rewards.math.expr import Node, add, mul
from rewards.math.guards import MAX_NODES, MAX_SYMPY_CHARS, Refused, check_text

_FUNCTION_NAMES = {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "sec": "sec",
    "csc": "csc",
    "cot": "cot",
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "asec": "arcsec",
    "acsc": "arccsc",
    "acot": "arccot",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "coth": "coth",
    "sech": "sech",
    "csch": "csch",
    "Abs": "abs",
    "floor": "floor",
    "ceiling": "ceil",
    "factorial": "factorial",
    "binomial": "binom",
}


def _convert_all(objs: tuple[Any, ...], budget: list[int]) -> list[Node] | None:
    out = []
    for obj in objs:
        node = _convert(obj, budget)
        if node is None:
            return None
        out.append(node)
    return out


def _convert(obj: Any, budget: list[int]) -> Node | None:
    import sympy

    budget[0] -= 1
    if budget[0] < 0:
        raise Refused("expression too large")
    if isinstance(obj, sympy.Integer):
        return ("num", Fraction(int(obj)))
    if isinstance(obj, sympy.Rational):
        return ("num", Fraction(int(obj.p), int(obj.q)))
    if isinstance(obj, sympy.Float):
        return None  # decimals are read by the primary parser; a float here would lose exactness
    if obj is sympy.pi:
        return ("const", "pi")
    if obj is sympy.E:
        return ("const", "E")
    if obj is sympy.I:
        return ("const", "I")
    if obj is sympy.oo:
        return ("const", "oo")
    if obj is sympy.S.NegativeInfinity:
        return ("mul", (("num", Fraction(-1)), ("const", "oo")))
    if isinstance(obj, sympy.Symbol):
        name = obj.name
        return ("sym", name) if isinstance(name, str) and len(name) <= 40 else None
    args: tuple[Any, ...] = obj.args if isinstance(obj, sympy.Basic) else ()
    if isinstance(obj, sympy.UnevaluatedExpr) and len(args) == 1:
        return _convert(args[0], budget)
    if isinstance(obj, sympy.Add):
        parts = _convert_all(args, budget)
        return None if parts is None else add(*parts)
    if isinstance(obj, sympy.Mul):
        parts = _convert_all(args, budget)
        return None if parts is None else mul(*parts)
    if isinstance(obj, sympy.Pow):
        base = _convert(args[0], budget)
        exp = _convert(args[1], budget)
        return None if base is None or exp is None else ("pow", base, exp)
    if isinstance(obj, sympy.exp):
        arg = _convert(args[0], budget)
        return None if arg is None else ("pow", ("const", "E"), arg)
    if isinstance(obj, sympy.log):
        parts = _convert_all(args, budget)
        if parts is None:
            return None
        if len(parts) == 2:
            return mul(("fn", "log", (parts[0],)), ("pow", ("fn", "log", (parts[1],)), ("num", Fraction(-1))))
        return ("fn", "log", (parts[0],))
    if isinstance(obj, sympy.Function):
        name = _FUNCTION_NAMES.get(type(obj).__name__)
        if name is None:
            return None
        parts = _convert_all(args, budget)
        return None if parts is None else ("fn", name, tuple(parts))
    return None


_EXPONENT = re.compile(r"\^\s*(?:\{([^{}]*)\}|(\d+|\S))")
_SIMPLE_EXPONENT = re.compile(r"-?\d{1,4}|-?[a-zA-Z]|-?\d{1,4}/\d{1,4}|\\frac\{\d{1,4}\}\{\d{1,4}\}")
_LONG_NUMBER = re.compile(r"\d{7}")
# constructs sympy evaluates eagerly (binomials, matrix powers, factorials): the primary parser handles them
_EAGER = ("!", "binom", "choose", "\\begin", "matrix")


def _check_fallback(text: str) -> None:
    """Refuse what sympy could evaluate eagerly into a huge integer (``\\gcd(2^{99999999}, 3)``): only
    small literal exponents and numbers of at most six digits, no factorials, binomials or matrices reach
    latex2sympy2_extended."""
    if len(text) > MAX_SYMPY_CHARS:
        raise Refused("too long for the LaTeX fallback")
    check_text(text)
    if any(token in text for token in _EAGER) or _LONG_NUMBER.search(text):
        raise Refused("eagerly evaluated construct or long number in the LaTeX fallback")
    for m in _EXPONENT.finditer(text):
        exponent = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
        if exponent and not _SIMPLE_EXPONENT.fullmatch(exponent):
            raise Refused("exponent too complex for the LaTeX fallback")


def parse_with_latex2sympy(text: str) -> Node | None:
    """Parse ``text`` with latex2sympy2_extended and convert it; ``None`` when it cannot be read.

    Example:
        >>> parse_with_latex2sympy("\\\\operatorname{lcm}") is None
        True
    """
    _check_fallback(text)
    try:
        from latex2sympy2_extended import latex2sympy
        from latex2sympy2_extended.latex2sympy2 import ConversionConfig
        from latex2sympy2_extended.math_normalization import NormalizationConfig
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    config = NormalizationConfig(
        basic_latex=True, units=False, malformed_operators=False, nits=False, boxed="none", equations=False
    )
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            obj = latex2sympy(text, normalization_config=config, conversion_config=ConversionConfig())
    except Refused:
        raise
    except Exception:  # the ANTLR parser raises plain Exception on bad input (RecursionError included)
        return None
    try:
        return _convert(obj, [MAX_NODES])
    except RecursionError:
        return None
