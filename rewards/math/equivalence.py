"""Mathematical equivalence of two parsed answers: ``equivalent(gold, pred) -> bool``.

Scalars: exact rational arithmetic whenever both sides are rational (``10^{-20} != 10^{-21}``); a relative
tolerance (``rel_tol``) only where a side was written as a decimal (see :func:`_decimal_close`); otherwise
numeric evaluation with mpmath at a precision scaled to the literals, at five fixed sample points when
symbols occur (polynomial identity testing; the points cover small and large, positive and negative values,
so ``|x|`` is not ``x``). Percentages: an answer ``x%`` is read once, as ``x/100`` (``50%`` matches ``0.5``,
not ``50``); a reference written as a percentage ``y%`` is matched by ``y%``, ``y`` or ``y/100``; two
percentages compare as written (the prompt's reading is applied by :mod:`rewards.accuracy`). Lists and sets compare as multisets, tuples and intervals in order (interval ends must agree),
matrices entrywise, relations up to a constant factor (``2x+4y-3=0`` is ``y=-x/2+3/4``), ``x = 5`` as ``5``
(only a lone variable on the left), multiple-choice letters by letter, text by its normalized words.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Any

import mpmath

from rewards.math.evaluate import (
    SAMPLE_POINTS,
    Undefined,
    exact_value,
    numeric_value,
    precision_for,
    sample_env,
    working_precision,
)
from rewards.math.expr import Node, div, mul, num, sub, symbols
from rewards.math.guards import Refused
from rewards.math.parse import Answer, Assign, Bounds, Choice, Matrix, Relation, Scalar, Seq, Text, UnionOf

_PAIR_KINDS = frozenset({"tuple", "paren"})


def equivalent(gold: Answer, pred: Answer, rel_tol: float = 1e-6) -> bool:
    """True when ``pred`` is mathematically equivalent to ``gold``.

    Example:
        >>> from rewards.math.parse import parse_answer
        >>> equivalent(parse_answer("\\\\frac{1}{2}")[0], parse_answer("0.5")[0])
        True
    """
    try:
        return _eq(gold, pred, rel_tol)
    except Exception:  # refused, undefined, or mpmath giving up: not shown equivalent, so not equivalent
        return False


def _eq(g: Answer, p: Answer, tol: float) -> bool:
    if (isinstance(g, Assign) and isinstance(p, Relation)) or (
        isinstance(p, Assign) and isinstance(g, Relation)
    ):
        return _relation_eq(_as_relation(g), _as_relation(p))
    if isinstance(g, Assign):
        if isinstance(p, Assign):
            return _eq(g.value, p.value, tol) and all(_eq(g.value, x, tol) for x in p.also)
        if isinstance(p, Scalar) and ":" in g.name and isinstance(g.value, Seq) and len(g.value.items) == 2:
            # a named ratio (V_1:V_2 = 11:21) as one number: 11/21
            a, b = g.value.items
            if isinstance(a, Scalar) and isinstance(b, Scalar):
                return _node_eq(div(a.node, b.node), a.decimal or b.decimal, p.node, p.decimal, tol)
        return _eq(g.value, p, tol)
    if isinstance(p, Assign):
        return _eq(g, p.value, tol) and all(_eq(g, x, tol) for x in p.also)
    if isinstance(g, Choice):
        if isinstance(p, Choice):
            return g.letter == p.letter
        if isinstance(p, Text):
            return p.text == g.letter.lower()
        return isinstance(p, Scalar) and p.node == ("sym", g.letter)
    if isinstance(g, Text):
        if isinstance(p, Text):
            return g.text == p.text
        if isinstance(p, Choice):
            return g.text == p.letter.lower()
        return False
    if isinstance(g, Scalar):
        if isinstance(p, Scalar):
            return _scalar_eq(g, p, tol)
        if isinstance(p, Seq) and p.kind in ("set", "list") and len(p.items) == 1:
            return _eq(g, p.items[0], tol)
        return False
    if isinstance(g, Seq):
        return _seq_eq(g, p, tol)
    if isinstance(g, UnionOf):
        if isinstance(p, UnionOf):
            return _multiset_eq(g.parts, p.parts, tol)
        return len(g.parts) == 1 and _eq(g.parts[0], p, tol)
    if isinstance(g, Matrix):
        return (
            isinstance(p, Matrix)
            and len(g.rows) == len(p.rows)
            and len(g.rows[0]) == len(p.rows[0])
            and all(
                _eq(a, b, tol)
                for ra, rb in zip(g.rows, p.rows, strict=True)
                for a, b in zip(ra, rb, strict=True)
            )
        )
    if isinstance(g, Relation):
        return isinstance(p, Relation) and _relation_eq(g, p)
    if isinstance(g, Bounds):
        return (
            isinstance(p, Bounds)
            and (g.left, g.right) == (p.left, p.right)
            and _eq(g.lo, p.lo, tol)
            and _eq(g.hi, p.hi, tol)
            and _node_eq(g.middle, False, p.middle, False, tol)
        )
    return False


def _seq_eq(g: Seq, p: Answer, tol: float) -> bool:
    if isinstance(p, UnionOf):
        return len(p.parts) == 1 and _eq(g, p.parts[0], tol)
    if not isinstance(p, Seq):
        if len(g.items) == 1 and g.kind in ("set", "list"):
            return _eq(g.items[0], p, tol)
        return False
    kinds = {g.kind, p.kind}
    if "ratio" in kinds:
        return kinds == {"ratio"} and _ratio_eq(g, p, tol)
    if kinds <= {"set", "list"}:
        by_name = _named_values(g.items), _named_values(p.items)
        if by_name[0] is not None and by_name[1] is not None and set(by_name[0]) == set(by_name[1]):
            # both name every value with the same names (AB=4, CD=5): each name keeps its own value
            return all(_eq(by_name[0][k], by_name[1][k], tol) for k in by_name[0])
        return _multiset_eq(g.items, p.items, tol)
    if "interval" in kinds:
        if kinds == {"interval", "paren"}:
            ends_ok = (g.left, g.right) == ("(", ")") and (p.left, p.right) == ("(", ")")
        elif kinds == {"interval"}:
            ends_ok = (g.left, g.right) == (p.left, p.right)
        else:
            return False
        return ends_ok and _ordered_eq(g.items, p.items, tol)
    if g.kind == "list" and p.kind in _PAIR_KINDS:
        # the reference lists solutions in no order; brackets around the prediction only group them
        return _multiset_eq(g.items, p.items, tol)
    if kinds <= _PAIR_KINDS | {"list"}:
        return _ordered_eq(g.items, p.items, tol)  # an ordered reference keeps its order
    return False


def _named_values(items: tuple[Answer, ...]) -> dict[str, Answer] | None:
    """``{name: value}`` when every item is an assignment to a distinct name, else ``None``."""
    out: dict[str, Answer] = {}
    for x in items:
        if not isinstance(x, Assign):
            return None
        name = x.name.replace(" ", "")
        if name in out:
            return None
        out[name] = x
    return out


def _ratio_eq(g: Seq, p: Seq, tol: float) -> bool:
    """Ratios ``a:b`` match part by part, or up to a common factor (``2:4`` is ``1:2``) when no part is zero;
    clock times (``left`` is ``am``/``pm``) match part by part, in the same half of the day where both say."""
    if g.left and p.left and g.left != p.left:
        return False
    if _ordered_eq(g.items, p.items, tol):
        return True
    if g.left or p.left:
        return bool(g.left) != bool(p.left) and _clock_eq(g, p, tol)
    if len(g.items) != len(p.items):
        return False
    firsts = [exact_value(x.node) if isinstance(x, Scalar) else None for x in (*g.items, *p.items)]
    if any(v == 0 for v in firsts):
        return False
    g0, p0 = g.items[0], p.items[0]
    if not isinstance(g0, Scalar) or not isinstance(p0, Scalar):
        return False
    return all(
        isinstance(a, Scalar)
        and isinstance(b, Scalar)
        and _node_eq(div(a.node, g0.node), a.decimal, div(b.node, p0.node), b.decimal, tol)
        for a, b in zip(g.items[1:], p.items[1:], strict=True)
    )


def _clock_eq(g: Seq, p: Seq, tol: float) -> bool:
    """A time with am/pm against one without: ``3:00 pm`` is ``15:00``."""
    half, plain = (g, p) if g.left else (p, g)
    hour = exact_value(half.items[0].node) if isinstance(half.items[0], Scalar) else None
    if hour is None or len(half.items) != len(plain.items) or not 1 <= hour <= 12:
        return False
    hour24 = hour % 12 + (12 if half.left == "pm" else 0)
    shifted = (Scalar(num(hour24)), *half.items[1:])
    return _ordered_eq(shifted, plain.items, tol)


def _ordered_eq(a: tuple[Answer, ...], b: tuple[Answer, ...], tol: float) -> bool:
    return len(a) == len(b) and all(_eq(x, y, tol) for x, y in zip(a, b, strict=True))


# Most pairwise element comparisons one unordered comparison may make (identical elements cancel first).
MAX_PAIR_CHECKS = 600


def _multiset_eq(a: tuple[Answer, ...], b: tuple[Answer, ...], tol: float) -> bool:
    """Unordered comparison; duplicates on either side are collapsed (a set of solutions)."""
    a_u = _dedupe(a, tol)
    b_u = _dedupe(b, tol)
    if len(a_u) != len(b_u):
        return False
    counts = Counter(b_u)
    a_rest = []
    for x in a_u:
        if counts[x] > 0:
            counts[x] -= 1
        else:
            a_rest.append(x)
    remaining = list(counts.elements())
    budget = MAX_PAIR_CHECKS
    for x in a_rest:
        for k, y in enumerate(remaining):
            budget -= 1
            if budget < 0:
                return False  # too many elements that differ in writing to match them all
            if _eq(x, y, tol):
                del remaining[k]
                break
        else:
            return False
    return True


def _dedupe(items: tuple[Answer, ...], tol: float) -> list[Answer]:
    out = list(dict.fromkeys(items))  # identical elements first, by hash
    if len(out) > 12:
        return out
    kept: list[Answer] = []
    for x in out:
        if not any(_eq(x, y, tol) for y in kept):
            kept.append(x)
    return kept


def _as_relation(a: Answer) -> Relation:
    if isinstance(a, Relation):
        return a
    if isinstance(a, Assign) and a.rhs_node is not None:
        return Relation("=", ("sym", a.name), a.rhs_node)
    raise Undefined("not a relation")


# -- scalars


def _scalar_eq(g: Scalar, p: Scalar, tol: float) -> bool:
    if g.base or p.base:
        return _base_eq(g, p, tol)
    if g.node == p.node and (g.percent == p.percent or g.percent):
        return True
    if g.percent == p.percent:
        return _node_eq(g.node, g.decimal, p.node, p.decimal, tol)
    if p.percent:
        # an answer x% has one reading, x/100: 50% is not 50 (unless the prompt asks for a percentage, which
        # the caller settles by reading the answer's percent sign as a unit)
        return _node_eq(g.node, g.decimal, _hundredth(p.node), p.decimal, tol)
    # a reference y% is the percentage y, and the fraction y/100: the answer may give either
    return _node_eq(g.node, g.decimal, p.node, p.decimal, tol) or _node_eq(
        _hundredth(g.node), g.decimal, p.node, p.decimal, tol
    )


def _base_eq(g: Scalar, p: Scalar, tol: float) -> bool:
    """A number written in base n (``1112112_3``) against another: by value when both name a base; against
    bare digits, those digits read in the same base (``1112112`` is the base-3 numeral asked for)."""
    if g.base and p.base:
        return g.node == p.node
    based, other = (g, p) if g.base else (p, g)
    value = exact_value(other.node) if not (other.decimal or other.percent) else None
    if value is None or value.denominator != 1 or value < 0:
        return False
    try:
        return int(str(value.numerator), based.base) == based.node[1]
    except ValueError:
        return False  # a digit the base does not have


def _hundredth(node: Node) -> Node:
    return mul(node, num(Fraction(1, 100)))


def _node_eq(a: Node, a_dec: bool, b: Node, b_dec: bool, tol: float) -> bool:
    if a == b:
        return True
    ea = exact_value(a)
    eb = exact_value(b)
    if ea is not None and eb is not None:
        if ea == eb:
            return True
        # Two different rationals can only be "the same answer" when exactly one was written as a
        # decimal approximating a value that no finite decimal writes (1/3, not 1/4 or 1000000).
        if a_dec == b_dec:
            return False
        exact = eb if a_dec else ea
        return not _terminates(exact) and _decimal_close(ea, eb, tol)
    names = sorted(symbols(a) | symbols(b))
    if (a_dec or b_dec) and not names:
        return _decimal_vs_constant(a, b, tol)
    return _numeric_identity(a, b, names)


def _terminates(value: Fraction) -> bool:
    """True when ``value`` has a finite decimal expansion (its denominator is 2^a 5^b).

    Example:
        >>> _terminates(Fraction(3, 40)), _terminates(Fraction(1, 3))
        (True, False)
    """
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def _decimal_close(ga: Fraction, pa: Fraction, tol: float) -> bool:
    """Two rationals where a side was written as a decimal: equal within the relative tolerance ``tol``.

    Only a relative tolerance, never an absolute one, so ``3`` never passes for ``300`` and ``10^{-20}``
    never for ``10^{-21}``; and only where a decimal was written, so ``0.3333333333`` passes for
    ``\\frac{1}{3}`` but ``0.333`` does not (an exact answer is expected; a decimal must be as good as
    ``tol``).
    """
    return abs(ga - pa) <= Fraction(tol) * max(abs(ga), abs(pa))


def _decimal_vs_constant(a: Node, b: Node, tol: float) -> bool:
    """A decimal against an irrational constant (``1.41421356237`` vs ``\\sqrt{2}``), within ``tol``."""
    dps = precision_for(a, b)
    with working_precision(dps):
        va = numeric_value(a, {})
        vb = numeric_value(b, {})
        if mpmath.isinf(va) or mpmath.isinf(vb):
            return bool(va == vb)
        return bool(abs(va - vb) <= tol * max(abs(va), abs(vb)))


def _close(x: Any, y: Any, dps: int) -> bool:
    if mpmath.isinf(x) or mpmath.isinf(y):
        return bool(x == y)
    eps = mpmath.mpf(10) ** (-(dps - 12))
    return bool(abs(x - y) <= eps * max(1, abs(x), abs(y)))


def _defined(node: Node, env: dict[str, Any]) -> bool:
    try:
        numeric_value(node, env)
    except Undefined:
        return False
    return True


def _numeric_identity(a: Node, b: Node, names: list[str]) -> bool:
    dps = precision_for(a, b)
    points = len(SAMPLE_POINTS) if names else 1
    agreed = 0
    with working_precision(dps):
        for k in range(points):
            env = sample_env(names, k)
            try:
                va = numeric_value(a, env)
                vb = numeric_value(b, env)
            except Refused:
                if not names:
                    raise
                continue  # too large to evaluate at this point (e^x at x = 10^5): skip it
            except Undefined:
                if _defined(a, env) or _defined(b, env):
                    return False  # defined on one side only
                continue
            if not _close(va, vb, dps):
                return False
            agreed += 1
    return agreed >= (2 if names else 1)


def _relation_eq(g: Relation, p: Relation) -> bool:
    if g.op != p.op:
        return False
    dg = sub(g.lhs, g.rhs)
    dp = sub(p.lhs, p.rhs)
    if g.op == "=" or g.op == "!=":
        # the same equation up to a non-zero constant factor (either sign)
        return _proportional(dg, dp, allow_negative=True)
    # inequalities a < b are stored as a - b < 0: a positive factor only
    return _proportional(dg, dp, allow_negative=False)


def _proportional(a: Node, b: Node, allow_negative: bool) -> bool:
    names = sorted(symbols(a) | symbols(b))
    if _numeric_identity(a, b, names):
        return True
    if allow_negative and _numeric_identity(a, mul(num(-1), b), names):
        return True
    # constant ratio: compare a/b at the sample points
    ratio = div(a, b)
    dps = precision_for(a, b)
    values = []
    with working_precision(dps):
        for k in range(len(SAMPLE_POINTS)):
            env = sample_env(names, k)
            try:
                values.append(numeric_value(ratio, env))
            except Undefined:
                return False
        first = values[0]
        if first == 0 or mpmath.im(first) != 0 or (not allow_negative and first < 0):
            return False
        return all(_close(v, first, dps) for v in values[1:])
