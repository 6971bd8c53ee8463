"""Answer text -> a structured value: scalar, list/set/tuple/interval/ratio, union, matrix, relation, bounds,
assignment, multiple-choice letter or plain text.

Beyond plain LaTeX it reads: a quantity named on the left (``AB = 4``, ``|AB| = 1``, ``\\frac{NO}{BO} = ...``,
``V_1:V_2 = 11:21``) as its value; ratios and clock times (``11:21``, ``9:30 pm``); base-n numerals
(``1112112_3``); bounds on an expression (``1 \\le |z| \\le 2``, ``|z| \\in [1, 2]``); an exact value followed
by an approximation (``\\frac13 \\approx 0.333``) as the exact value; numbers in English words (``forty two``);
a repeating decimal written with an ellipsis (``0.1666...``) while any other value followed by one is not
read; unevaluated matrix sums, scalar multiples, products, transposes and small powers, evaluated within the
matrix and node bounds.

The text is normalized (:mod:`rewards.math.normalize`), read by the fast number path when it is a plain
number, checked by the text guards, split at the top level (commas, "and", ``\\cup``, relations), and its
scalar pieces are parsed by :mod:`rewards.math.expr`, with latex2sympy2_extended as a fallback for LaTeX
outside that grammar. Nothing here evaluates text.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Union

from rewards.math.evaluate import Undefined, exact_value
from rewards.math.expr import FUNCTIONS, Node, ParseError, neg, num, parse_expression, sub, symbols
from rewards.math.guards import MAX_ELEMENTS, MAX_MATRIX_ENTRIES, MAX_RAW_CHARS, Refused, check_text
from rewards.math.matrices import evaluate_matrix_expression
from rewards.math.normalize import normalize_answer, normalize_text
from rewards.math.numbers import Num, parse_number
from rewards.math.words import is_noun_tail, leading_scale, number_from_words, spelled_with_noun


class Unparseable(ValueError):
    """The text is not an answer this module can read."""


@dataclass(frozen=True, slots=True)
class Scalar:
    """One number or expression. ``num`` is set for plain numbers (the fast path), ``base`` for a number
    written in base n."""

    node: Node
    decimal: bool = False
    num: Num | None = None
    percent: bool = False
    base: int = 0  # written with a base subscript (1112112_3): the value is read in that base


@dataclass(frozen=True, slots=True)
class Seq:
    """A list of answers. ``kind``: ``list`` and ``set`` (unordered), ``tuple`` (ordered), ``paren`` (two
    items in round brackets: a pair or an open interval), ``interval`` (``left``/``right`` give its ends) or
    ``ratio`` (``a:b``, also a clock time; ``left`` holds ``am``/``pm`` when written)."""

    kind: str
    items: tuple[Answer, ...]
    left: str = ""
    right: str = ""


@dataclass(frozen=True, slots=True)
class UnionOf:
    """A union of intervals."""

    parts: tuple[Answer, ...]


@dataclass(frozen=True, slots=True)
class Matrix:
    """A matrix (or vector) by rows."""

    rows: tuple[tuple[Answer, ...], ...]


@dataclass(frozen=True, slots=True)
class Relation:
    """``lhs op rhs`` with op one of ``=``, ``<``, ``<=``, ``!=``; ``>`` forms are stored flipped."""

    op: str
    lhs: Node
    rhs: Node


@dataclass(frozen=True, slots=True)
class Assign:
    """``name = value`` where the left side is a lone variable: the answer is ``value``."""

    name: str
    value: Answer
    rhs_node: Node | None = None
    also: tuple[Answer, ...] = ()  # the middle parts of a chain x = a = b, each of which must agree


@dataclass(frozen=True, slots=True)
class Bounds:
    """``lo op middle op hi`` with an expression in the middle (``1 \\le |z| \\le 2``); ``left``/``right`` are
    ``[``/``]`` for ``<=`` and ``(``/``)`` for ``<``."""

    middle: Node
    lo: Answer
    hi: Answer
    left: str
    right: str


@dataclass(frozen=True, slots=True)
class Choice:
    """A multiple-choice letter."""

    letter: str


@dataclass(frozen=True, slots=True)
class Text:
    """A plain-text answer, normalized (lower case, no punctuation)."""

    text: str


Answer = Union[Scalar, Seq, UnionOf, Matrix, Relation, Assign, Bounds, Choice, Text]  # noqa: UP007

_CHOICE = re.compile(
    r"^(?:(?i:option|choice|answer)\s*:?\s*)?(?:\(\s*([A-J])\s*\)|([A-J])\s*[).:]|([A-J]))(?P<rest>\s.{0,200})?$"
)
# option text after the letter must not name another option
_OTHER_OPTION = re.compile(
    r"\b(?:or|and)\b|\(\s*[A-J]\s*\)|\\l?or\b|(?<![A-Za-z])[A-J](?![A-Za-z])", re.IGNORECASE
)
_MATRIX = re.compile(
    r"^\\begin\{([pbBvV]?matrix|smallmatrix|array)\}(?:\{[clr|]*\})?(.*)\\end\{\1\}$", re.DOTALL
)
_SEPARATORS = re.compile(r",|;|\s+and\s+|\s+or\s+|\\quad|\\text\{\s*and\s*\}")
_RELATIONS = re.compile(
    r"\\leq(?![a-zA-Z])|\\geq(?![a-zA-Z])|\\le(?![a-zA-Z])|\\ge(?![a-zA-Z])|\\ne(?![a-zA-Z])|\\lt(?![a-zA-Z])|"
    r"\\gt(?![a-zA-Z])|\\approx(?![a-zA-Z])|\\in(?![a-zA-Z])|<=|>=|!=|=|<|>"
)
_OPS = {
    r"\leq": "<=",
    r"\le": "<=",
    "<=": "<=",
    r"\geq": ">=",
    r"\ge": ">=",
    ">=": ">=",
    r"\ne": "!=",
    "!=": "!=",
    r"\lt": "<",
    "<": "<",
    r"\gt": ">",
    ">": ">",
    "=": "=",
    r"\approx": "~",
    r"\in": "in",
}
_SYMBOL = r"(?:[a-zA-Z]|\\[a-zA-Z]+)(?:_\{?\w{1,4}\}?)?"
_LONE_SYMBOL = re.compile(
    r"^(?:"
    + _SYMBOL
    + r"(?:\s*\(\s*[a-zA-Z]\s*\))?'*|\(\s*"
    + _SYMBOL
    + r"(?:\s*,\s*"
    + _SYMBOL
    + r")+\s*\))$"
)
# A quantity named on the left of "=": a segment or figure in capitals (AB, |AB|, \overline{AB}, \angle ABC,
# m\angle A), a symbol with a subscript (V_1), or a ratio or quotient of such names (V_1:V_2, \frac{NO}{BO}).
_NAME = (
    r"(?:[A-Z]{2,4}'*|[A-Z][a-z]{2,12}|\|\s*[A-Z]{1,4}\s*\|"
    r"|\\(?:overline|overrightarrow|vec|widehat|overarc)\s*\{\s*[A-Za-z]{1,4}\s*\}"
    r"|(?:m\s*)?\\(?:angle|measuredangle)\s*[A-Z]{1,3}|[A-Za-z]_\{[^{}=]{1,20}\}"
    r"|[a-zA-Z](?:_\{?\w{1,4}\}?)?\(\s*[-\w.,\s]{1,12}\)"
    r"|\|\s*" + _SYMBOL + r"\s*\||" + _SYMBOL + r"'*)"
)
_NAMED_QUANTITY = re.compile(
    r"^(?:"
    + _NAME
    + r"(?:\s*(?::|/)\s*"
    + _NAME
    + r")?|\\frac\s*\{\s*"
    + _NAME
    + r"\s*\}\s*\{\s*"
    + _NAME
    + r"\s*\})$"
)
_NUMBER_WORDS = re.compile(r"^([+-]?\d[\d.,/]*%?)\s+([a-zA-Z][a-zA-Z\s'-]{0,60})$")
_LETTER_RUN = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")
_COMMAND = re.compile(r"\\[a-zA-Z]+")
_BRACKETS = re.compile(r"\\\{|\\\}|[{}()\[\]]")
_NOT_SYMBOL = frozenset({"e", "i", r"\pi", r"\infty"})


def parse_answer(text: str) -> tuple[Answer, str]:
    """Parse an extracted answer; returns ``(answer, normalized text)``.

    Raises :class:`Unparseable` or :class:`~rewards.math.guards.Refused`.

    Example:
        >>> parse_answer("$x = \\\\frac{1}{2}$")[0].value.node
        ('num', Fraction(1, 2))
    """
    if len(text) > MAX_RAW_CHARS:
        raise Refused("answer too long")
    plain = text.strip()
    number = parse_number(plain) if len(plain) < 40 else None
    if number is not None:  # the fast path: a plain number needs no normalization
        return _scalar_from_num(number), plain
    s = normalize_answer(text)
    if not s:
        raise Unparseable("empty answer")
    return _parse(s, 0), s


def _depths(s: str) -> list[int]:
    """Bracket depth before each character (escaped ``\\{`` counts as a bracket)."""
    depth = 0
    out = [0] * (len(s) + 1)
    last = 0
    for m in _BRACKETS.finditer(s):
        start = m.start()
        for k in range(last, start):
            out[k] = depth
        tok = m.group()
        if tok in ("\\{", "{", "(", "["):
            out[start] = depth
            depth += 1
            for k in range(start + 1, m.end()):
                out[k] = depth
        else:
            depth = max(depth - 1, 0)
            for k in range(start, m.end()):
                out[k] = depth
        last = m.end()
    for k in range(last, len(s) + 1):
        out[k] = depth
    return out


def _split(s: str, pattern: re.Pattern[str], depths: list[int]) -> tuple[list[str], list[str]]:
    """Split ``s`` at the top-level matches of ``pattern``; returns (pieces, separators)."""
    pieces: list[str] = []
    seps: list[str] = []
    start = 0
    for m in pattern.finditer(s):
        if depths[m.start()] == 0:
            pieces.append(s[start : m.start()])
            seps.append(m.group())
            start = m.end()
            if len(pieces) > MAX_ELEMENTS:
                raise Refused("too many elements")
    pieces.append(s[start:])
    return pieces, seps


def _outer_pair(s: str, depths: list[int]) -> bool:
    """True when the bracket opening ``s`` closes at its last character."""
    depth = 0
    for m in _BRACKETS.finditer(s):
        if m.group() in ("\\{", "{", "(", "["):
            depth += 1
        else:
            depth -= 1
            if depth <= 0:
                return m.end() == len(s)
    return False


def _merge_thousands(pieces: list[str]) -> list[str]:
    # "1,000" split at its comma: glue 3-digit pieces written without a space back on
    merged: list[str] = []
    for p in pieces:
        if (
            merged
            and re.fullmatch(r"\d{3}", p)
            and re.search(r"(?:^|[^\d.])[1-9]\d{0,2}$|\d,\d{3}$", merged[-1])
        ):
            merged[-1] += p
        else:
            merged.append(p)
    return merged


def _parse(s: str, depth: int) -> Answer:
    s = s.strip()
    if not s:
        raise Unparseable("empty piece")
    if depth > 6:
        raise Refused("answer structure too deep")
    number = parse_number(s)
    if number is not None:
        return _scalar_from_num(number)
    if s == "\\ldots":
        return ELLIPSIS_ITEM
    if "\\approx" in s and s.endswith(")"):
        s = _TRAILING_APPROX.sub("", s) or s  # "\frac13 (\approx 0.333)": the approximation is a remark
    if " and " in s and _WORDS_ONLY.match(s):
        spelled = number_from_words(s)  # "one hundred and five" is one number, not a list
        if spelled is not None:
            return Scalar(num(spelled))
    choice = _CHOICE.match(s)
    if choice and _is_choice(choice):
        return Choice(choice.group(1) or choice.group(2) or choice.group(3))
    special = _special_set(s)
    if special is not None:
        return special
    check_text(s)
    depths = _depths(s)

    m = _MATRIX.match(s)
    if m is None and s[:1] in "([" and s[-1:] in ")]" and "\\begin" in s[:12]:
        m = _MATRIX.match(s[1:-1].strip())  # \left[\begin{array}...\end{array}\right]
    if m and "\\end{" not in m.group(2):
        return _matrix(m.group(2), depth)
    if "\\begin" in s:
        try:
            total = evaluate_matrix_expression(
                s, lambda body: _scalar_rows(_matrix(body, depth)), _expression
            )
        except ParseError as exc:
            raise Unparseable("matrix arithmetic") from exc
        if total is not None:
            return Matrix(tuple(tuple(Scalar(x) for x in row) for row in total))

    if r"\pm" in s or r"\mp" in s:
        k = s.find(r"\pm") if r"\pm" in s else s.find(r"\mp")
        plus, minus = ("+", "-") if s[k : k + 3] == r"\pm" else ("-", "+")
        return Seq(
            "list",
            (_parse(s[:k] + plus + s[k + 3 :], depth + 1), _parse(s[:k] + minus + s[k + 3 :], depth + 1)),
        )

    pieces, _ = _split(s, _SEPARATORS, depths)
    pieces = _merge_thousands(pieces)
    if len(pieces) > 1:
        if any(not p.strip() for p in pieces):
            pieces = [p for p in pieces if p.strip()]
            if len(pieces) == 1:
                return _parse(pieces[0], depth + 1)
        return Seq("list", tuple(_parse(p, depth + 1) for p in pieces))

    if s.startswith("\\{") and s.endswith("\\}") and _outer_pair(s, depths):
        inner = s[2:-2]
        inner_pieces = _items(inner)
        return Seq("set", tuple(_parse(p, depth + 1) for p in inner_pieces))

    if s[0] in "([" and s[-1] in ")]" and _outer_pair(s, depths):
        inner_pieces = _items(s[1:-1])
        if len(inner_pieces) >= 2:
            items = tuple(_parse(p, depth + 1) for p in inner_pieces)
            if len(items) == 2 and (s[0], s[-1]) != ("(", ")"):
                return Seq("interval", items, s[0], s[-1])
            if len(items) == 2:
                return Seq("paren", items, "(", ")")
            return Seq("tuple", items, s[0], s[-1])

    cups, _ = _split(s, re.compile(r"\\cup(?![a-zA-Z])|∪"), depths)
    if len(cups) > 1:
        return UnionOf(tuple(_parse(p, depth + 1) for p in cups))

    rel_pieces, ops = _split(s, _RELATIONS, depths)
    if ops:
        return _relation(rel_pieces, [_OPS[o] for o in ops], depth)

    if ":" in s:
        ratio = _ratio(s, depths, depth)
        if ratio is not None:
            return ratio
    if "_" in s:
        based = _base_n(s)
        if based is not None:
            return based
    return _scalar_or_text(s)


def _is_choice(m: re.Match[str]) -> bool:
    """A letter alone, or ``(C)``/``C)``/``C.``/``C:`` followed by option text naming no other option."""
    rest = m.group("rest")
    if rest is None:
        return True
    if m.group(3) is not None:  # "C something": a bare letter followed by text is not a choice
        return False
    return not _OTHER_OPTION.search(rest)


_EMPTY_SET = frozenset({r"\emptyset", r"\varnothing", r"\{\}", r"\{ \}", r"\O"})
_REALS = re.compile(r"^\\mathbb\s*\{?\s*R\s*\}?$")
_REALS_MINUS = re.compile(
    r"^\\mathbb\s*\{?\s*R\s*\}?\s*(?:\\setminus|\\backslash|-|\\smallsetminus)\s*\\\{(.*)\\\}$"
)


def _special_set(s: str) -> Answer | None:
    """The empty set, the reals, and the reals minus finitely many points."""
    if s in _EMPTY_SET:
        return Seq("set", ())
    if _REALS.match(s):
        return Seq("interval", (_NEG_INF, _INF), "(", ")")
    m = _REALS_MINUS.match(s)
    if m:
        points = []
        for piece in _items(m.group(1)):
            number = parse_number(piece)
            if number is None:
                return None
            points.append(number.value)
        bounds: list[Answer] = [_NEG_INF, *(Scalar(num(v)) for v in sorted(set(points))), _INF]
        return UnionOf(tuple(Seq("interval", (a, b), "(", ")") for a, b in itertools.pairwise(bounds)))
    if s.startswith("\\mathbb"):
        return Text(s.replace(" ", ""))
    return None


def _items(inner: str) -> list[str]:
    # no thousands merging inside brackets: (12,102) is a pair, not 12102
    pieces, _ = _split(inner, re.compile(r",|;"), _depths(inner))
    if len(pieces) > MAX_ELEMENTS:
        raise Refused("too many elements")
    return [p for p in pieces if p.strip()] or [inner]


def _scalar_from_num(number: Num) -> Scalar:
    return Scalar(num(number.value), number.is_decimal, number, number.percent)


def _matrix(body: str, depth: int) -> Matrix:
    rows_text = [r for r in body.split("\\\\") if r.strip()]
    rows = []
    entries = 0
    for r in rows_text:
        cells = r.split("&")
        entries += len(cells)
        if entries > MAX_MATRIX_ENTRIES:
            raise Refused("matrix too large")
        rows.append(tuple(_parse(c, depth + 1) for c in cells))
    if not rows or len({len(r) for r in rows}) != 1:
        raise Unparseable("ragged matrix")
    return Matrix(tuple(rows))


def _scalar_rows(matrix: Matrix) -> list[list[Node]]:
    rows = []
    for row in matrix.rows:
        nodes = [x.node for x in row if isinstance(x, Scalar)]
        if len(nodes) != len(row):
            raise Unparseable("matrix arithmetic on non-scalar entries")
        rows.append(nodes)
    return rows


def _expression(s: str) -> Node:
    node, _ = _parse_scalar(s)
    return node


def _relation(pieces: list[str], ops: list[str], depth: int) -> Answer:
    if "~" in ops:
        # "x = \frac13 \approx 0.333": the exact value stated, then an approximation of it; "x \approx 0.333"
        # states only the approximation
        k = ops.index("~")
        if k == 0 and len(ops) == 1 and _LONE_SYMBOL.match(pieces[0].strip()):
            ops = ["="]
        elif k == 0:
            return _parse(pieces[0], depth + 1)
        else:
            pieces, ops = pieces[: k + 1], ops[:k]
    lhs = pieces[0].strip()
    if ops == ["in"] and not _LONE_SYMBOL.match(lhs):
        # "|z| \in [1, \frac32]": bounds on an expression
        where = _parse(pieces[1], depth + 1)
        if isinstance(where, Seq) and where.kind in ("interval", "paren") and len(where.items) == 2:
            return Bounds(
                _expression(lhs), where.items[0], where.items[1], where.left or "(", where.right or ")"
            )
        raise Unparseable("membership")
    if all(op == "=" for op in ops) or (len(ops) == 1 and ops[0] == "in"):
        if (_LONE_SYMBOL.match(lhs) and lhs not in _NOT_SYMBOL) or (
            ops[0] == "=" and _NAMED_QUANTITY.match(lhs) and lhs not in _NOT_SYMBOL
        ):
            value = _parse(pieces[-1], depth + 1)
            rhs_node = value.node if isinstance(value, Scalar) else None
            middle = tuple(_parse(p, depth + 1) for p in pieces[1:-1])
            return Assign(lhs, value, rhs_node, middle)
        rhs = pieces[-1].strip()
        if len(ops) == 1 and ops[0] == "=" and _LONE_SYMBOL.match(rhs) and rhs not in _NOT_SYMBOL:
            value = _parse(lhs, depth + 1)  # "4 = x": the same assignment written the other way round
            return Assign(rhs, value, value.node if isinstance(value, Scalar) else None)
        if len(ops) == 1 and ops[0] == "=":
            return Relation("=", _expression(lhs), _expression(pieces[1]))
        raise Unparseable("chained equation")
    if len(ops) == 1:
        op = ops[0]
        a, b = pieces[0].strip(), pieces[1].strip()
        if op in ("<", "<=", ">", ">="):
            if _LONE_SYMBOL.match(a) and a not in _NOT_SYMBOL:
                return _ray(op, _parse(b, depth + 1))
            if _LONE_SYMBOL.match(b) and b not in _NOT_SYMBOL:
                flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
                return _ray(flipped, _parse(a, depth + 1))
        lhs_node, rhs_node = _expression(a), _expression(b)
        if op in ("<", "<=", ">", ">="):
            ray = _linear_ray(op, lhs_node, rhs_node)
            if ray is not None:
                return ray
        if op in (">", ">="):
            return Relation(op.replace(">", "<"), rhs_node, lhs_node)
        return Relation(op, lhs_node, rhs_node)
    if len(ops) == 2 and pieces[1].strip() and not _LONE_SYMBOL.match(pieces[1].strip()):
        bounds = _bounds(pieces, ops, depth)
        if bounds is not None:
            return bounds
    if len(ops) == 2 and pieces[1].strip() and _LONE_SYMBOL.match(pieces[1].strip()):
        lo, hi = pieces[0], pieces[2]
        if all(op in ("<", "<=") for op in ops):
            return Seq(
                "interval",
                (_parse(lo, depth + 1), _parse(hi, depth + 1)),
                "(" if ops[0] == "<" else "[",
                ")" if ops[1] == "<" else "]",
            )
        if all(op in (">", ">=") for op in ops):
            return Seq(
                "interval",
                (_parse(hi, depth + 1), _parse(lo, depth + 1)),
                "(" if ops[1] == ">" else "[",
                ")" if ops[0] == ">" else "]",
            )
    raise Unparseable("relation")


def _bounds(pieces: list[str], ops: list[str], depth: int) -> Bounds | None:
    """``lo <= expr < hi`` (or the same with ``>``) with an expression in the middle, or ``None``."""
    if all(op in ("<", "<=") for op in ops):
        lo, hi, inner = pieces[0], pieces[2], ops
    elif all(op in (">", ">=") for op in ops):
        lo, hi, inner = pieces[2], pieces[0], [ops[1], ops[0]]
    else:
        return None
    return Bounds(
        _expression(pieces[1]),
        _parse(lo, depth + 1),
        _parse(hi, depth + 1),
        "[" if inner[0].endswith("=") else "(",
        "]" if inner[1].endswith("=") else ")",
    )


_INF: Answer = Scalar(("const", "oo"))
_NEG_INF: Answer = Scalar(neg(("const", "oo")))


def _ray(op: str, bound: Answer) -> Seq:
    """``x op bound`` as an interval."""
    if op in (">", ">="):
        return Seq("interval", (bound, _INF), "(" if op == ">" else "[", ")")
    return Seq("interval", (_NEG_INF, bound), "(", ")" if op == "<" else "]")


_SHORT_WORDS = frozenset({"no", "ok"})  # two-letter words that are whole answers, not products of symbols


def _substitute(node: Node, name: str, value: Node) -> Node:
    kind = node[0]
    if kind == "sym":
        return value if node[1] == name else node
    if kind in ("add", "mul"):
        return (kind, tuple(_substitute(n, name, value) for n in node[1]))
    if kind == "pow":
        return ("pow", _substitute(node[1], name, value), _substitute(node[2], name, value))
    if kind == "fn":
        return ("fn", node[1], tuple(_substitute(n, name, value) for n in node[2]))
    return node


def _linear_ray(op: str, lhs: Node, rhs: Node) -> Seq | None:
    """``-x > -1`` as the interval it describes, when the relation is linear in one variable with rational
    coefficients (checked exactly at three points); else ``None``."""
    names = symbols(lhs) | symbols(rhs)
    if len(names) != 1:
        return None
    (name,) = names
    diff = sub(lhs, rhs)
    try:
        d0, d1, d2 = (exact_value(_substitute(diff, name, num(k))) for k in (0, 1, 2))
    except (Refused, Undefined):
        return None
    if d0 is None or d1 is None or d2 is None or d2 - d1 != d1 - d0 or d1 == d0:
        return None
    slope = d1 - d0
    root = Scalar(num(-d0 / slope))
    # diff = slope * (x - root): dividing by a negative slope flips the relation
    if slope < 0:
        op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
    return _ray(op, root)


def _is_wordy(s: str) -> bool:
    """True when ``s`` holds a word of 3+ letters that is not a function name or a LaTeX command."""
    bare = _COMMAND.sub(" ", s)
    if bare.strip().lower() in _SHORT_WORDS:
        return True
    return any(w.lower() not in FUNCTIONS and w.lower() != "pi" for w in _LETTER_RUN.findall(bare))


def _parse_scalar(s: str) -> tuple[Node, bool]:
    try:
        return parse_expression(s)
    except ParseError:
        pass
    from rewards.math.sympy_bridge import parse_with_latex2sympy

    node = parse_with_latex2sympy(s)
    if node is None:
        raise Unparseable("not an expression")
    return node, False


# An ellipsis standing as a list element ("1, 2, 3, \ldots"): the list goes on, so it is not a finite list.
ELLIPSIS_ITEM = Text("…")
_REPEATING_DOTS = re.compile(r"^([+-]?)(\d*)\.(\d*?)(\d{1,6}?)\4+\s*\\ldots$")


def _unfinished(s: str) -> Answer:
    """A value followed by an ellipsis: a repeating decimal written out (``0.1666...`` is 1/6, the repeated block
    at the end written at least twice), else an unfinished value that cannot be judged."""
    compact = s.replace(" ", "")
    m = _REPEATING_DOTS.match(compact) if len(compact) <= 60 else None
    if m is None:
        raise Unparseable("a value followed by an ellipsis")
    sign, whole, fixed, block = m.groups()
    text = f"{sign}{whole or '0'}.{fixed}\\overline{{{block}}}"
    number = parse_number(text)
    if number is None:
        raise Unparseable("a value followed by an ellipsis")
    return _scalar_from_num(number)


# 1112112_3, 1112112_{3}, (A3F)_{16}: digits (at least one decimal digit) with a base subscript from 2 to 36
_BASE_N = re.compile(r"^\(?([0-9A-Za-z]{1,60})\)?\s*_\s*\{?\s*(\d{1,2})\s*\}?$")
# 12:00, 9:30 pm, 3:45:10 a.m.: a clock time (kept as the ratio of its parts, with the half of the day)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:([ap])\.?\s*m\.?)?$", re.IGNORECASE)
_COLON = re.compile(r":")


def _base_n(s: str) -> Scalar | None:
    m = _BASE_N.match(s)
    if m is None or not any(c.isdigit() for c in m.group(1)):
        return None
    base = int(m.group(2))
    if not 2 <= base <= 36:
        return None
    try:
        value = int(m.group(1), base)
    except ValueError:
        return None  # a digit the base does not have
    return Scalar(num(value), base=base)


def _ratio(s: str, depths: list[int], depth: int) -> Seq | None:
    """``a:b`` (a ratio) or a clock time, or ``None`` when ``s`` has no top-level colon."""
    clock = _CLOCK.match(s)
    if clock is not None:
        parts = [p for p in clock.groups()[:3] if p is not None]
        half = (clock.group(4) or "").lower()
        return Seq("ratio", tuple(Scalar(num(int(p))) for p in parts), f"{half}m" if half else "")
    pieces, _ = _split(s, _COLON, depths)
    if len(pieces) < 2:
        return None
    items = tuple(_parse(p, depth + 1) for p in pieces)
    if not all(isinstance(x, Scalar) for x in items):
        raise Unparseable("ratio of non-scalars")
    return Seq("ratio", items)


_TRAILING_APPROX = re.compile(r"\s*\(\s*\\approx[^()]{1,60}\)$")
_WORDS_ONLY = re.compile(r"^[A-Za-z\s-]{1,120}$")


def _scalar_or_text(s: str) -> Answer:
    if "\\ldots" in s:
        return _unfinished(s)
    percent = False
    body = s
    if body.endswith("%"):
        percent = True
        body = body[:-1].rstrip().removesuffix("\\")
    if _is_wordy(body):
        spelled = number_from_words(body)
        if spelled is None:
            spelled = spelled_with_noun(body)
        if spelled is not None:
            return Scalar(num(spelled), False, None, percent)
        m = _NUMBER_WORDS.match(body)
        if m and (is_noun_tail(m.group(2)) or leading_scale(m.group(2)) != 1):
            number = parse_number(m.group(1))
            if number is not None:
                scale = leading_scale(m.group(2))
                if scale != 1:  # "2.5 million" is 2500000, not 2.5
                    return Scalar(num(number.value * scale), number.is_decimal, None, percent)
                return _scalar_from_num(number)
        return Text(normalize_text(s))
    try:
        node, decimal = _parse_scalar(body)
    except Unparseable:
        if any(c.isalpha() for c in s) and not any(c in s for c in "\\^_{}"):
            return Text(normalize_text(s))
        raise
    if node[0] == "num" and not percent:
        return Scalar(node, decimal)
    return Scalar(node, decimal, None, percent)


__all__ = [
    "Answer",
    "Assign",
    "Bounds",
    "Choice",
    "Matrix",
    "Relation",
    "Scalar",
    "Seq",
    "Text",
    "UnionOf",
    "Unparseable",
    "parse_answer",
]
