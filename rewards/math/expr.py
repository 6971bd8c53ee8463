"""A small LaTeX/plain arithmetic parser producing plain-tuple expression trees (no sympy, no eval).

Grammar: sums, products (explicit and implicit), quotients, powers, unary signs, ``\\frac``, ``\\sqrt[n]{}``,
``\\binom``, functions (``\\sin``, ``\\log_b``, ``\\ln``, ...), ``|x|``, floor and ceiling, factorial,
percent, ``\\pi``, ``e``, ``i``, ``\\infty``, symbols with subscripts, Greek letters, mixed numbers
(``4\\frac{4}{9}``). Anything else raises :class:`ParseError` and the caller falls back to
latex2sympy2_extended.

Nodes are tuples: ``("num", Fraction)``, ``("sym", name)``, ``("const", "pi"|"E"|"I"|"oo")``,
``("add", (nodes...))``, ``("mul", (nodes...))``, ``("pow", base, exp)``, ``("fn", name, (args...))``.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from rewards.math.guards import MAX_EXPONENT, MAX_NODES, Refused

Node = tuple[Any, ...]

ONE: Node = ("num", Fraction(1))
MINUS_ONE: Node = ("num", Fraction(-1))
HALF: Node = ("num", Fraction(1, 2))


class ParseError(ValueError):
    """The text is outside the grammar this parser reads."""


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+(?![a-zA-Z]))?|\.\d+)|(?P<cmd>\\[a-zA-Z]+)|(?P<esc>\\[{}%$,;!| ])|(?P<ch>\S))"
)
_GREEK = frozenset(
    [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "varepsilon",
        "zeta",
        "eta",
        "theta",
        "vartheta",
        "iota",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "omicron",
        "rho",
        "varrho",
        "sigma",
        "varsigma",
        "tau",
        "upsilon",
        "phi",
        "varphi",
        "chi",
        "psi",
        "omega",
        "Gamma",
        "Delta",
        "Theta",
        "Lambda",
        "Xi",
        "Pi",
        "Sigma",
        "Upsilon",
        "Phi",
        "Psi",
        "Omega",
    ]
)
FUNCTIONS = frozenset(
    [
        "sin",
        "cos",
        "tan",
        "sec",
        "csc",
        "cot",
        "arcsin",
        "arccos",
        "arctan",
        "arcsec",
        "arccsc",
        "arccot",
        "sinh",
        "cosh",
        "tanh",
        "coth",
        "sech",
        "csch",
        "asin",
        "acos",
        "atan",
        "log",
        "ln",
        "exp",
        "sqrt",
        "lg",
    ]
)
_INVERSE = {
    "sin": "arcsin",
    "cos": "arccos",
    "tan": "arctan",
    "sec": "arcsec",
    "csc": "arccsc",
    "cot": "arccot",
}
_TIMES = frozenset({r"\cdot", r"\times", "*", r"\ast"})
_IGNORED_CMDS = frozenset({r"\displaystyle", r"\limits", r"\mathrm", r"\mathbf", r"\rm"})


def num(value: Fraction | int) -> Node:
    """A number node."""
    return ("num", Fraction(value))


def add(*terms: Node) -> Node:
    """A flattened sum node."""
    flat: list[Node] = []
    for t in terms:
        flat.extend(t[1] if t[0] == "add" else (t,))
    return flat[0] if len(flat) == 1 else ("add", tuple(flat))


def mul(*factors: Node) -> Node:
    """A flattened product node; rational constants (``2``, ``3^{-1}``) are folded into one leading number."""
    flat: list[Node] = []
    for f in factors:
        flat.extend(f[1] if f[0] == "mul" else (f,))
    coefficient = Fraction(1)
    rest: list[Node] = []
    numbers = 0
    for f in flat:
        if f[0] == "num":
            coefficient *= f[1]
            numbers += 1
        elif f[0] == "pow" and f[1][0] == "num" and f[2] == MINUS_ONE and f[1][1] != 0:
            coefficient /= f[1][1]
            numbers += 1
        else:
            rest.append(f)
    if numbers == 0:
        return flat[0] if len(flat) == 1 else ("mul", tuple(flat))
    if not rest:
        return ("num", coefficient)
    if coefficient == 1:
        return rest[0] if len(rest) == 1 else ("mul", tuple(rest))
    return ("mul", (("num", coefficient), *rest))


def neg(node: Node) -> Node:
    """``-node``."""
    if node[0] == "num":
        return ("num", -node[1])
    return mul(MINUS_ONE, node)


def sub(a: Node, b: Node) -> Node:
    """``a - b``."""
    return add(a, neg(b))


def div(a: Node, b: Node) -> Node:
    """``a / b``."""
    if a[0] == "num" and b[0] == "num" and b[1] != 0:
        return ("num", a[1] / b[1])
    return mul(a, ("pow", b, MINUS_ONE))


def count_nodes(node: Node, limit: int = MAX_NODES) -> int:
    """Number of nodes in ``node``; raises :class:`Refused` past ``limit``."""
    stack = [node]
    count = 0
    while stack:
        n = stack.pop()
        count += 1
        if count > limit:
            raise Refused("expression too large")
        kind = n[0]
        if kind in ("add", "mul"):
            stack.extend(n[1])
        elif kind == "pow":
            stack.append(n[1])
            stack.append(n[2])
        elif kind == "fn":
            stack.extend(n[2])
    return count


def symbols(node: Node) -> set[str]:
    """Names of the free symbols in ``node``."""
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        kind = n[0]
        if kind == "sym":
            out.add(n[1])
        elif kind in ("add", "mul"):
            stack.extend(n[1])
        elif kind == "pow":
            stack.append(n[1])
            stack.append(n[2])
        elif kind == "fn":
            stack.extend(n[2])
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        n = len(text)
        while pos < n:
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                break
            pos = m.end()
            kind = m.lastgroup
            if kind is None:
                break
            value = m.group(kind)
            if kind == "cmd" and value in _IGNORED_CMDS:
                continue
            self.tokens.append((kind, value))
        self.i = 0
        self.decimal = False
        self.abs_depth = 0

    # -- token helpers
    def peek(self, k: int = 0) -> tuple[str, str] | None:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else None

    def at(self, value: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[1] == value

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ParseError("unexpected end")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok[1] != value:
            raise ParseError(f"expected {value}")

    # -- grammar
    def parse(self) -> Node:
        node = self.sum()
        if self.peek() is not None:
            raise ParseError("trailing input")
        return node

    def sum(self) -> Node:
        terms = [self.signed()]
        while True:
            tok = self.peek()
            if tok is None:
                break
            if tok[1] == "+":
                self.i += 1
                terms.append(self.signed())
            elif tok[1] == "-":
                self.i += 1
                terms.append(neg(self.signed()))
            else:
                break
        return add(*terms)

    def signed(self) -> Node:
        tok = self.peek()
        if tok is not None and tok[1] == "-":
            self.i += 1
            return neg(self.signed())
        if tok is not None and tok[1] == "+":
            self.i += 1
            return self.signed()
        return self.product()

    def starts_primary(self) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        kind, value = tok
        if kind == "num":
            return True
        if kind == "cmd":
            return value not in _TIMES and value not in (r"\div", r"\rfloor", r"\rceil", r"\pm", r"\mp")
        if kind == "ch":
            if value == "|":
                return self.abs_depth == 0
            return value.isalpha() or value in "([{"
        return False

    def product(self) -> Node:
        factors = [self.power()]
        first_int = self.last_int
        while True:
            tok = self.peek()
            if tok is None:
                break
            if tok[1] in _TIMES:
                self.i += 1
                factors.append(self.signed_power())
            elif tok[1] in ("/", r"\div"):
                self.i += 1
                factors.append(("pow", self.signed_power(), MINUS_ONE))
            elif self.starts_primary():
                nxt = self.power()
                if len(factors) == 1 and first_int and self.last_literal_frac:
                    # a mixed number: 4\frac{4}{9} is 4 + 4/9
                    factors[0] = add(factors[0], nxt)
                    first_int = False
                else:
                    factors.append(nxt)
            else:
                break
        return mul(*factors)

    def signed_power(self) -> Node:
        if self.at("-"):
            self.i += 1
            return neg(self.signed_power())
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.at("^"):
            self.i += 1
            self.last_int = False
            self.last_literal_frac = False
            exponent = self.exponent()
            base = ("pow", base, exponent)
            base = self.postfix_ops(base)
        return base

    def exponent(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise ParseError("missing exponent")
        if tok[1] == "{":
            self.i += 1
            node = self.sum()
            self.expect("}")
            return node
        if tok[1] == "-":
            self.i += 1
            return neg(self.exponent())
        if tok[0] == "num":
            self.i += 1
            return self.number(tok[1])
        return self.primary()

    def postfix(self) -> Node:
        node = self.primary()
        return self.postfix_ops(node)

    def postfix_ops(self, node: Node) -> Node:
        while True:
            tok = self.peek()
            if tok is None:
                return node
            if tok[1] == "!":
                self.i += 1
                node = ("fn", "factorial", (node,))
                self.last_int = self.last_literal_frac = False
            elif tok[1] in ("%", "\\%"):
                self.i += 1
                node = mul(node, ("num", Fraction(1, 100)))
                self.last_int = self.last_literal_frac = False
            else:
                return node

    def number(self, text: str) -> Node:
        if "e" in text or "E" in text:
            mant, _, exp = text.replace("E", "e").partition("e")
            e = int(exp)
            self.decimal = True
            if abs(e) > MAX_EXPONENT:  # kept unevaluated; comparisons refuse to compute it
                return mul(("num", Fraction(mant)), ("pow", ("num", Fraction(10)), ("num", Fraction(e))))
            return ("num", Fraction(mant) * Fraction(10) ** e)
        if "." in text:
            self.decimal = True
            return ("num", Fraction(text.rstrip(".") or "0"))
        return ("num", Fraction(int(text)))

    def group(self) -> Node:
        """A ``{...}`` argument, or a single token when there are no braces."""
        tok = self.peek()
        if tok is None:
            raise ParseError("missing argument")
        if tok[1] == "{":
            self.i += 1
            node = self.sum()
            self.expect("}")
            return node
        if tok[0] == "num":
            self.i += 1
            text = tok[1]
            if len(text) > 1 and text.isdigit():  # \frac12: one digit per argument
                self.tokens.insert(self.i, ("num", text[1:]))
                text = text[0]
            return self.number(text)
        return self.primary()

    def primary(self) -> Node:
        self.last_int = False
        self.last_literal_frac = False
        kind, value = self.take()
        if kind == "num":
            node = self.number(value)
            self.last_int = value.isdigit()
            return node
        if kind == "ch":
            if value in "([":
                node = self.sum()
                closer = self.take()[1]
                if closer not in ")]":
                    raise ParseError("unbalanced brackets")
                self.last_int = self.last_literal_frac = False
                return node
            if value == "{":
                node = self.sum()
                self.expect("}")
                self.last_int = self.last_literal_frac = False
                return node
            if value == "|":
                self.abs_depth += 1
                node = self.sum()
                self.abs_depth -= 1
                self.expect("|")
                self.last_int = self.last_literal_frac = False
                return ("fn", "abs", (node,))
            if value.isalpha() and value.isascii():
                return self.letters(value)
            raise ParseError(f"unexpected {value!r}")
        if kind == "cmd":
            return self.command(value)
        raise ParseError(f"unexpected {value!r}")

    def letters(self, first: str) -> Node:
        # a bare function name spelled in letters: sin x, log(2), sqrt(2)
        word = first
        j = self.i
        best = ""
        best_j = j
        while j < len(self.tokens) and len(word) < 7:
            tok = self.tokens[j]
            if tok[0] != "ch" or not tok[1].isalpha() or not tok[1].isascii():
                break
            word += tok[1]
            j += 1
            if word in FUNCTIONS or word == "pi":
                best, best_j = word, j
        if best:
            self.i = best_j
            return ("const", "pi") if best == "pi" else self.function(best)
        if first == "e" and not self.at("_"):
            return ("const", "E")
        if first == "i" and not self.at("_"):
            return ("const", "I")
        return self.subscripted(first)

    def subscripted(self, name: str) -> Node:
        if self.at("_"):
            self.i += 1
            tok = self.take()
            if tok[1] == "{":
                parts = []
                depth = 1
                while True:
                    t = self.take()
                    if t[1] == "{":
                        depth += 1
                    elif t[1] == "}":
                        depth -= 1
                        if depth == 0:
                            break
                    parts.append(t[1])
                name = f"{name}_{{{''.join(parts)}}}"
            else:
                name = f"{name}_{{{tok[1]}}}"
        return ("sym", name)

    def command(self, cmd: str) -> Node:
        name = cmd[1:]
        if name == "pi":
            return ("const", "pi")
        if name == "infty":
            return ("const", "oo")
        if name in ("frac", "dfrac", "tfrac", "cfrac"):
            a = self.group()
            b = self.group()
            self.last_literal_frac = (
                a[0] == "num"
                and b[0] == "num"
                and a[1].denominator == 1
                and b[1].denominator == 1
                and a[1] >= 0
            )
            self.last_int = False
            if b == ("num", Fraction(0)):
                raise ParseError("division by zero")
            return div(a, b)
        if name in ("binom", "dbinom", "tbinom"):
            a = self.group()
            b = self.group()
            return ("fn", "binom", (a, b))
        if name == "sqrt":
            index: Node | None = None
            if self.at("["):
                self.i += 1
                index = self.sum()
                self.expect("]")
            radicand = self.group()
            if index is None:
                return ("pow", radicand, HALF)
            return ("pow", radicand, div(ONE, index))
        if name in ("lfloor", "lceil"):
            node = self.sum()
            self.expect("\\rfloor" if name == "lfloor" else "\\rceil")
            return ("fn", "floor" if name == "lfloor" else "ceil", (node,))
        if name in FUNCTIONS:
            return self.function(name)
        if name in _GREEK:
            return self.subscripted(cmd)
        if name in ("exp",):
            return self.function(name)
        raise ParseError(f"unsupported command {cmd}")

    def function(self, name: str) -> Node:
        if name == "lg":
            name = "log10"
        if name in ("asin", "acos", "atan"):
            name = "arc" + name[1:]
        base: Node | None = None
        power: Node | None = None
        if name == "log" and self.at("_"):
            self.i += 1
            base = self.group()
        if self.at("^"):
            self.i += 1
            power = self.exponent()
            if power == MINUS_ONE and name in _INVERSE:
                name, power = _INVERSE[name], None
        if name == "sqrt":
            return ("pow", self.func_arg(), HALF)
        arg = self.func_arg()
        if name == "ln":
            node: Node = ("fn", "log", (arg,))
        elif name == "log" and base is not None:
            node = div(("fn", "log", (arg,)), ("fn", "log", (base,)))
        elif name == "exp":
            node = ("pow", ("const", "E"), arg)
        else:
            node = ("fn", name, (arg,))
        self.last_int = self.last_literal_frac = False
        return node if power is None else ("pow", node, power)

    def func_arg(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise ParseError("missing argument")
        if tok[1] in ("(", "{", "["):
            return self.postfix()
        arg = self.power()
        # \sin 2x: absorb plain letters that follow the first factor
        factors = [arg]
        while True:
            t = self.peek()
            if t is not None and t[0] == "ch" and t[1].isalpha() and t[1].isascii():
                factors.append(self.power())
            else:
                break
        return mul(*factors)


def parse_expression(text: str) -> tuple[Node, bool]:
    """Parse ``text`` into a tree; returns ``(node, has_decimal)``.

    Raises :class:`ParseError` outside the grammar and :class:`Refused` beyond the size bounds.

    Example:
        >>> parse_expression("\\\\frac{1}{2}")
        (('num', Fraction(1, 2)), False)
    """
    parser = _Parser(text)
    parser.last_int = False
    parser.last_literal_frac = False
    if not parser.tokens:
        raise ParseError("empty")
    try:
        node = parser.parse()
    except (IndexError, RecursionError) as exc:
        raise ParseError("malformed") from exc
    count_nodes(node)
    return node, parser.decimal
