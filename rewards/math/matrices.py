"""Unevaluated matrix arithmetic in an answer (``2\\begin{pmatrix}..\\end{pmatrix} + \\begin{pmatrix}..\\end{pmatrix}``,
scalar multiples, products, ``^T`` and small powers), evaluated entrywise on expression trees within the
matrix and node bounds of :mod:`rewards.math.guards`. Nothing is evaluated numerically here: the entries stay
trees, compared later like any other value.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rewards.math.expr import MINUS_ONE, Node, ParseError, add, count_nodes, mul, num
from rewards.math.guards import MAX_MATRIX_ENTRIES

_MATRIX_LITERAL = re.compile(r"\\begin\{([pbBvV]?matrix|smallmatrix)\}(.*?)\\end\{\1\}", re.DOTALL)
# what may follow a matrix (a transpose or a small power), then an operator, a scalar factor, an operator
_MATRIX_GAP = re.compile(
    r"^\s*(?:\^\s*(?:\{\s*(?P<post1>T|\d)\s*\}|(?P<post2>T|\d)))?\s*(?P<op>[+-]|\\cdot|\\times|\*)?"
    r"\s*(?P<coef>[^+\-]*?)\s*(?:\\cdot|\\times|\*)?\s*$"
)
MAX_MATRIX_TERMS = 8
MAX_MATRIX_POWER = 8

Rows = list[list[Node]]


def evaluate_matrix_expression(
    s: str, read_matrix: Callable[[str], Rows], read_scalar: Callable[[str], Node]
) -> Rows | None:
    """The entries of the matrix ``s`` computes, or ``None`` when ``s`` is not matrix arithmetic.

    ``read_matrix`` reads a matrix body (``1 & 2 \\\\ 3 & 4``) into rows of expression trees and
    ``read_scalar`` a scalar factor; both raise on what they cannot read. Sizes that do not add or multiply
    raise :class:`~rewards.math.expr.ParseError`.

    Example:
        >>> from fractions import Fraction
        >>> rows = lambda body: [[("num", Fraction(c)) for c in r.split("&")] for r in body.split("\\\\\\\\")]
        >>> evaluate_matrix_expression(
        ...     "2\\\\begin{pmatrix}1\\\\\\\\2\\\\end{pmatrix}", rows, lambda t: ("num", Fraction(t))
        ... )
        [[('num', Fraction(2, 1))], [('num', Fraction(4, 1))]]
    """
    literals = list(_MATRIX_LITERAL.finditer(s))
    if not literals or len(literals) > MAX_MATRIX_TERMS:
        return None
    lead = _MATRIX_GAP.match(s[: literals[0].start()])
    if lead is None or lead.group("post1") or lead.group("post2"):
        return None
    terms: list[tuple[Node, list[Rows]]] = []
    factor = _gap_factor(lead.group("op"), lead.group("coef"), read_scalar)
    if factor is None:
        return None
    current: tuple[Node, list[Rows]] = (factor, [])
    for k, literal in enumerate(literals):
        current[1].append(read_matrix(literal.group(2)))
        end = literals[k + 1].start() if k + 1 < len(literals) else len(s)
        gap = _MATRIX_GAP.match(s[literal.end() : end])
        if gap is None:
            return None
        post = gap.group("post1") or gap.group("post2")
        if post:
            current[1][-1] = _matrix_power(current[1][-1], post)
        factor = _gap_factor(gap.group("op"), gap.group("coef"), read_scalar)
        if factor is None:
            return None
        if k + 1 == len(literals):
            if gap.group("op") in ("+", "-"):
                return None
            current = (mul(current[0], factor), current[1])  # a scalar factor written after the matrix
            break
        if gap.group("op") in ("+", "-"):
            terms.append(current)
            current = (factor, [])
        else:
            current = (mul(current[0], factor), current[1])
    terms.append(current)
    total: Rows | None = None
    for coefficient, matrices in terms:
        value = matrices[0]
        for other in matrices[1:]:
            value = _matmul(value, other)
        value = [[mul(coefficient, x) for x in row] for row in value]
        total = value if total is None else _matadd(total, value)
    assert total is not None
    for row in total:
        for x in row:
            count_nodes(x)
    return total


def _gap_factor(op: str | None, coef: str | None, read_scalar: Callable[[str], Node]) -> Node | None:
    sign = MINUS_ONE if op == "-" else num(1)
    if not coef:
        return sign
    if "\\begin" in coef or "\\end" in coef:
        return None
    return mul(sign, read_scalar(coef))


def _matmul(a: Rows, b: Rows) -> Rows:
    if len(a[0]) != len(b) or len(a) * len(b[0]) * len(b) > MAX_MATRIX_ENTRIES * 8:
        raise ParseError("matrix sizes do not multiply")
    return [
        [add(*(mul(a[i][k], b[k][j]) for k in range(len(b)))) for j in range(len(b[0]))]
        for i in range(len(a))
    ]


def _matadd(a: Rows, b: Rows) -> Rows:
    if len(a) != len(b) or len(a[0]) != len(b[0]):
        raise ParseError("matrix sizes do not add")
    return [[add(x, y) for x, y in zip(ra, rb, strict=True)] for ra, rb in zip(a, b, strict=True)]


def _matrix_power(m: Rows, post: str) -> Rows:
    if post == "T":
        return [list(col) for col in zip(*m, strict=True)]
    power = int(post)
    if not 1 <= power <= MAX_MATRIX_POWER or len(m) != len(m[0]):
        raise ParseError("matrix power")
    value = m
    for _ in range(power - 1):
        value = _matmul(value, m)
    return value
