"""Bounded evaluation of expression trees: exact (Fraction) and numeric (mpmath at a chosen precision).

Exact evaluation settles every rational expression with exact arithmetic (``10^{-20} != 10^{-21}``).
Numeric evaluation decides the rest (radicals, pi, logs, symbolic identities at sample points) at a
precision scaled to the literals involved, so a difference of ``10^{-100}`` is seen. Both refuse work
beyond :mod:`rewards.math.guards`'s limits instead of running away.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import mpmath

from rewards.math.expr import Node
from rewards.math.guards import MAX_BITS, MAX_DPS, MAX_EXPONENT, MAX_FACTORIAL, MAX_LOG2_MAGNITUDE, Refused

# mpmath's working precision is process-global: hold this lock while it is changed and used, so that
# comparisons running in threads (async trainers, thread pools) never see each other's precision.
_PRECISION_LOCK = threading.RLock()


@contextlib.contextmanager
def working_precision(dps: int) -> Iterator[None]:
    """Run the block with mpmath at ``dps`` decimal digits, holding the precision lock.

    Example:
        >>> with working_precision(50):
        ...     mpmath.mp.dps
        50
    """
    with _PRECISION_LOCK, mpmath.workdps(dps):
        yield


class Undefined(ArithmeticError):
    """The expression has no value here (division by zero, log of zero, ...)."""


def _int_root(value: int, n: int) -> int | None:
    """The exact integer ``n``-th root of ``value >= 0``, or ``None``."""
    if value < 0:
        return None
    if value < 2:
        return value
    r = round(value ** (1.0 / n)) if value.bit_length() < 1000 else int(mpmath.nthroot(value, n))
    for c in (r - 1, r, r + 1):
        if c >= 0 and c**n == value:
            return c
    return None


def _exact_pow(base: Fraction, exp: Fraction) -> Fraction | None:
    if exp.denominator == 1:
        e = exp.numerator
        if base == 0:
            if e < 0:
                raise Undefined("0 to a negative power")
            return Fraction(int(e == 0))
        if base == 1:
            return base
        if base == -1:
            return Fraction(-1 if e % 2 else 1)
        if abs(e) > MAX_EXPONENT:
            raise Refused("exponent too large")
        bits = max(base.numerator.bit_length(), base.denominator.bit_length())
        if bits * abs(e) > MAX_BITS:
            raise Refused("power too large")
        return base**e
    if exp.denominator > 12 or (base < 0 and exp.denominator % 2 == 0):
        return None
    root_num = _int_root(abs(base.numerator), exp.denominator)
    root_den = _int_root(base.denominator, exp.denominator)
    if root_num is None or root_den is None:
        return None
    root = Fraction(root_num if base >= 0 else -root_num, root_den)
    return _exact_pow(root, Fraction(exp.numerator))


def exact_value(node: Node) -> Fraction | None:
    """The exact rational value of ``node``, or ``None`` when it is not a rational constant.

    Example:
        >>> exact_value(("pow", ("num", Fraction(2)), ("num", Fraction(-99))))
        Fraction(1, 633825300114114700748351602688)
    """
    kind = node[0]
    if kind == "num":
        value: Fraction = node[1]
        return value
    if kind == "add":
        total = Fraction(0)
        for t in node[1]:
            v = exact_value(t)
            if v is None:
                return None
            total += v
            _check_size(total)
        return total
    if kind == "mul":
        prod = Fraction(1)
        values = []
        for f in node[1]:
            v = exact_value(f)
            if v is None:
                return None
            values.append(v)
        for v in values:
            prod *= v
            _check_size(prod)
        return prod
    if kind == "pow":
        base = exact_value(node[1])
        if base is None:
            return None
        exp = exact_value(node[2])
        if exp is None:
            return None
        return _exact_pow(base, exp)
    if kind == "fn":
        name, args = node[1], node[2]
        maybe = [exact_value(a) for a in args]
        values = [v for v in maybe if v is not None]
        if len(values) != len(maybe):
            return None
        if name == "factorial":
            (v,) = values
            if v.denominator != 1 or v < 0:
                return None
            if v > MAX_FACTORIAL:
                raise Refused("factorial too large")
            return Fraction(math.factorial(int(v)))
        if name == "binom":
            n, k = values
            if n.denominator != 1 or k.denominator != 1 or n < 0:
                return None
            if n > MAX_FACTORIAL:
                raise Refused("binomial too large")
            return Fraction(math.comb(int(n), int(k)) if k >= 0 else 0)
        if name == "abs":
            return abs(values[0])
        if name in ("floor", "ceil"):
            return Fraction(math.floor(values[0]) if name == "floor" else math.ceil(values[0]))
        return None
    return None


def _check_size(value: Fraction) -> None:
    if value.numerator.bit_length() > MAX_BITS or value.denominator.bit_length() > MAX_BITS:
        raise Refused("number too large")


_FUNCS: dict[str, Any] = {
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "tan": mpmath.tan,
    "sec": mpmath.sec,
    "csc": mpmath.csc,
    "cot": mpmath.cot,
    "arcsin": mpmath.asin,
    "arccos": mpmath.acos,
    "arctan": mpmath.atan,
    "arcsec": mpmath.asec,
    "arccsc": mpmath.acsc,
    "arccot": mpmath.acot,
    "sinh": mpmath.sinh,
    "cosh": mpmath.cosh,
    "tanh": mpmath.tanh,
    "coth": mpmath.coth,
    "sech": mpmath.sech,
    "csch": mpmath.csch,
    "log10": mpmath.log10,
    "abs": abs,
}
_TRIG = frozenset(
    {"sin", "cos", "tan", "sec", "csc", "cot", "sinh", "cosh", "tanh", "coth", "sech", "csch", "exp_"}
)


def _mag(x: Any) -> int:
    """log2 of |x| (rough), 0 for zero."""
    if not x or mpmath.isinf(x) or mpmath.isnan(x):
        return 0
    return int(mpmath.mag(x))


def numeric_value(node: Node, env: dict[str, Any]) -> Any:
    """Evaluate ``node`` with mpmath at the current working precision.

    Raises :class:`Undefined` where the value does not exist and :class:`Refused` past the magnitude
    bounds.

    Example:
        >>> float(numeric_value(("pow", ("num", Fraction(2)), ("num", Fraction(1, 2))), {}))
        1.4142135623730951
    """
    kind = node[0]
    if kind == "num":
        v = node[1]
        return mpmath.mpf(v.numerator) / v.denominator if v.denominator != 1 else mpmath.mpf(v.numerator)
    if kind == "sym":
        try:
            return env[node[1]]
        except KeyError as exc:
            raise Undefined("unbound symbol") from exc
    if kind == "const":
        name = node[1]
        if name == "pi":
            return +mpmath.pi
        if name == "E":
            return +mpmath.e
        if name == "I":
            return mpmath.mpc(0, 1)
        return mpmath.inf
    if kind == "add":
        total = mpmath.mpf(0)
        for t in node[1]:
            total += numeric_value(t, env)
        return _finite_check(total)
    if kind == "mul":
        prod = mpmath.mpf(1)
        for f in node[1]:
            prod *= numeric_value(f, env)
            if _mag(prod) > MAX_LOG2_MAGNITUDE:
                raise Refused("magnitude too large")
        return _finite_check(prod)
    if kind == "pow":
        return _numeric_pow(node, env)
    if kind == "fn":
        return _numeric_fn(node[1], [numeric_value(a, env) for a in node[2]])
    raise Undefined(f"cannot evaluate {kind}")


def _finite_check(x: Any) -> Any:
    if mpmath.isnan(x):
        raise Undefined("not a number")
    return x


def _numeric_pow(node: Node, env: dict[str, Any]) -> Any:
    base = numeric_value(node[1], env)
    exp_node = node[2]
    exp = numeric_value(exp_node, env)
    if base == 0:
        if mpmath.re(exp) < 0:
            raise Undefined("0 to a negative power")
        return mpmath.mpf(0) if exp != 0 else mpmath.mpf(1)
    if mpmath.isinf(base) or mpmath.isinf(exp):
        if mpmath.isinf(exp):
            raise Undefined("infinite exponent")
        return base**exp
    # |result| ~ 2^(Re(exp) * log2|base|): refuse before computing a huge power
    log2_base = mpmath.log(abs(base), 2) if abs(base) != 1 else 0
    if abs(mpmath.re(exp)) * abs(log2_base) > MAX_LOG2_MAGNITUDE or abs(mpmath.im(exp)) > 1e6:
        raise Refused("power too large")
    # real odd roots of negative reals: (-8)^(1/3) = -2, x^{2/3} = (x^{1/3})^2
    if mpmath.im(base) == 0 and base < 0 and mpmath.im(exp) == 0 and exp != int(exp):
        e = exact_value(exp_node)
        if e is not None and e.denominator % 2 == 1 and abs(e.numerator) <= MAX_EXPONENT:
            root = -mpmath.root(-mpmath.re(base), e.denominator)
            return root**e.numerator
    return _finite_check(mpmath.power(base, exp))


def _numeric_fn(name: str, args: list[Any]) -> Any:
    if name == "log":
        (x,) = args
        if x == 0:
            raise Undefined("log of zero")
        return mpmath.log(x)
    if name == "factorial":
        (x,) = args
        if abs(x) > MAX_FACTORIAL:
            raise Refused("factorial too large")
        if mpmath.im(x) == 0 and x < 0 and x == int(mpmath.re(x)):
            raise Undefined("factorial of a negative integer")
        return mpmath.gamma(x + 1)
    if name == "binom":
        n, k = args
        if abs(n) > MAX_FACTORIAL or abs(k) > MAX_FACTORIAL:
            raise Refused("binomial too large")
        return mpmath.binomial(n, k)
    if name in ("floor", "ceil"):
        (x,) = args
        return mpmath.floor(x) if name == "floor" else mpmath.ceil(x)
    func = _FUNCS.get(name)
    if func is None:
        raise Undefined(f"unknown function {name}")
    (x,) = args
    if name in _TRIG and abs(x) > 1e100:
        raise Refused("argument too large")
    try:
        return _finite_check(func(x))
    except ZeroDivisionError as exc:
        raise Undefined(name) from exc


def precision_for(*nodes: Node) -> int:
    """Working precision (decimal digits) for comparing ``nodes``: 40 plus the scale of their literals.

    Example:
        >>> precision_for(("pow", ("num", Fraction(10)), ("num", Fraction(-100)))) >= 140
        True
    """
    scale = 0
    stack = list(nodes)
    while stack:
        n = stack.pop()
        kind = n[0]
        if kind == "num":
            v = n[1]
            scale += len(str(abs(v.numerator))) + len(str(v.denominator))
        elif kind in ("add", "mul"):
            stack.extend(n[1])
        elif kind == "pow":
            b, e = n[1], n[2]
            if e[0] == "num" and b[0] == "num" and b[1] != 0:
                bits = max(b[1].numerator.bit_length(), b[1].denominator.bit_length())
                scale += int(min(abs(e[1]), MAX_EXPONENT) * bits * 0.302) + 1
            stack.append(b)
            stack.append(e)
        elif kind == "fn":
            stack.extend(n[2])
    dps = 40 + scale
    if dps > MAX_DPS:
        raise Refused("precision needed too high")
    return dps


_RNG = random.Random(20260101)
# Sample ranges for symbols (tenths), one per point: small positive and negative, larger positive and negative,
# and one in the tens of thousands, so identities that hold only for positive or small values (|x| = x,
# sqrt(x^2) = x, floor(x^2/2000) = 0) are told apart. A point where a side cannot be evaluated is skipped.
_RANGES = ((3, 23), (-23, -3), (105, 400), (-400, -105), (10**5, 10**6))
SAMPLE_POINTS: tuple[tuple[Fraction, ...], ...] = tuple(
    tuple(Fraction(_RNG.randrange(lo * 10**17, hi * 10**17), 10**18) for _ in range(16)) for lo, hi in _RANGES
)


def sample_env(names: list[str], point: int) -> dict[str, Any]:
    """Values for ``names`` (sorted) at sample point ``point``, as mpf at the current precision."""
    values = SAMPLE_POINTS[point]
    env = {}
    for idx, name in enumerate(names):
        v = values[idx % len(values)] + idx // len(values)
        env[name] = mpmath.mpf(v.numerator) / v.denominator
    return env
