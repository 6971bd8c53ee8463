"""String normalization of an extracted answer before it is parsed.

Strips what never changes the value: math delimiters, ``\\left``/``\\right``, spacing commands, ``\\text``
and font wrappers, degrees, currency, units written after a number, thousands separators (``1{,}000``,
``1,\\!000``, ``1\\,000``) and trailing punctuation; halves backslashes doubled by escaping twice; writes
``percent``/``pct``/``per cent`` after a number as ``%`` and an ellipsis as ``\\ldots`` (kept: it is part of the
answer). Every pattern here is linear (no nested quantifiers).
"""

from __future__ import annotations

import re

_DELIMS = re.compile(r"\$\$|\$|\\\(|\\\)|\\\[|\\\]")
_LEFT_RIGHT_DOT = re.compile(r"\\(?:left|right)\s*\.")
_LEFT_RIGHT = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg|middle)(?![a-zA-Z])"
)
_FRAC_VARIANTS = re.compile(r"\\(?:dfrac|tfrac|cfrac)(?![a-zA-Z])")
_THOUSANDS = re.compile(r"(?<=\d)(?:\{,\}|,\\!|\\,|\\ |\\;|\\:|\{\\,\}) ?(?=\d{3}(?!\d))")
_SPACING = re.compile(
    r"(?<!\\)\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits|!|,|;|:|quad|qquad|enspace|thinspace|medspace|thickspace| )(?![a-zA-Z])|~"
)
_COLOR = re.compile(r"\\(?:textcolor|colorbox)\s*\{[a-zA-Z!0-9]*\}|\\color\s*\{[a-zA-Z!0-9]*\}")
_ANSWER_PREFIX = re.compile(r"^(?:the\s+)?(?:final\s+)?(?:answer|ans)(?:\s+is)?\s*[:=]?\s*", re.IGNORECASE)
_WRAPPERS = re.compile(
    r"\\(?:underline|textcolor|text|textbf|textit|textrm|textsf|texttt|textnormal|mathrm|mathbf|mathit|mathsf|mathtt|mathnormal|boldsymbol|bm|mbox|hbox|operatorname|emph)\s*\{([^{}]*)\}"
)
_DEGREES = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree|°|\^\s*\{\s*\\text\{\s*o\s*\}\s*\}")
_CURRENCY = re.compile(r"\\\$|\\euro|\\pounds|€|£|¥")
_UNIT_WORDS = (
    r"(?:square\s+|sq\.?\s+|cubic\s+)?(?:units?|cm|mm|km|m|meters?|metres?|centimeters?|millimeters?|kilometers?|"
    r"inch(?:es)?|in|feet|foot|ft|yards?|yd|miles?|mi|mph|km/h|kph|m/s|seconds?|secs?|s|minutes?|mins?|hours?|hrs?|"
    r"h|days?|weeks?|months?|years?|grams?|g|kg|kilograms?|pounds?|lbs?|ounces?|oz|liters?|litres?|l|ml|gallons?|"
    r"dollars?|cents?|usd|euros?|degrees?|deg|radians?|rad|points?|people|students|persons?|times|ways)"
)
_UNIT_TAIL = re.compile(
    r"(?<=[\d}).])(?:\s+|\s*\\text\{\s*|\s*\\mbox\{\s*|(?=(?:cm|mm|km|kg|ft|mph|cents|dollars|units|meters)\b))"
    + _UNIT_WORDS
    + r"(?:\s*\^\s*\{?[23]\}?)?(?:\s*\})?\s*$",
    re.IGNORECASE,
)
# "%", "\\%", "percent", "per cent", "percentage", "pct" after a number all mean the percent sign
_PERCENT_WORD = re.compile(r"(?<=[\d}.])\s*(?:\\%|%|per\s?cents?|percentages?|pct\.?)\s*$", re.IGNORECASE)
_PERCENT_TRIGGER = re.compile(r"%|per\s?cent|pct", re.IGNORECASE)
# an ellipsis (two or more dots, or the character) is part of the answer: read as \ldots, never as punctuation
_ELLIPSIS = re.compile(r"\.(?:\s?\.)+|…")
_TRAILING_TOKENS = (
    "\\",
    "\\quad",
    "\\qquad",
    "\\text{.}",
    "\\text{,}",
    "\\,",
    "\\;",
    "\\:",
    "\\.",
    ".",
    ",",
    ";",
    ":",
    "?",
)
_LEADING = re.compile(r"^(?:\s|[:=]|\\quad)+")
_SPACES = re.compile(r"\s+")
_HAS_LETTER = re.compile(r"[A-Za-z]")
_ALIASES = {
    r"\lbrace": r"\{",
    r"\rbrace": r"\}",
    r"\lbrack": "[",
    r"\rbrack": "]",
    r"\langle": "(",
    r"\rangle": ")",
    r"\lvert": "|",
    r"\rvert": "|",
    r"\vert": "|",
    r"\lVert": "|",
    r"\rVert": "|",
    r"\|": "|",
    r"\le ": r"\leq ",
    r"\ge ": r"\geq ",
    r"\neq": r"\ne ",
    r"\dots": r"\ldots",
    r"\cdots": r"\ldots",
    "−": "-",
    "–": "-",
    "×": r"\times ",
    "÷": r"\div ",
    "·": r"\cdot ",
    "√": r"\sqrt",
    "π": r"\pi ",
    "∞": r"\infty ",
    "≤": r"\leq ",
    "≥": r"\geq ",
    "≠": r"\ne ",
    "∪": r"\cup ",
    "²": "^{2}",
    "³": "^{3}",
    "½": r"\frac{1}{2}",
    "⅓": r"\frac{1}{3}",
    "⅔": r"\frac{2}{3}",
    "¼": r"\frac{1}{4}",
    "¾": r"\frac{3}{4}",
    "∅": r"\emptyset",
    "ℝ": r"\mathbb{R}",
    "±": r"\pm ",
    "≈": r"\approx ",
    "\\\\": r"\\",
}


def strip_delimiters(text: str) -> str:
    """Remove math delimiters (``$``, ``$$``, ``\\(``, ``\\)``, ``\\[``, ``\\]``) but keep ``\\$``.

    Example:
        >>> strip_delimiters("$\\\\frac{1}{2}$")
        '\\\\frac{1}{2}'
    """
    if "\\$" in text:
        text = text.replace("\\$", "\x00")
        return _DELIMS.sub(" ", text).replace("\x00", "\\$").strip()
    return _DELIMS.sub(" ", text).strip()


def _unwrap(text: str) -> str:
    # \text{...} and friends hold no nested braces in practice; unwrap innermost first, a few rounds.
    for _ in range(4):
        new = _WRAPPERS.sub(r" \1 ", text)
        if new == text:
            break
        text = new
    return text


def normalize_answer(text: str) -> str:
    """Normalize an extracted answer to the form the parsers read.

    Example:
        >>> normalize_answer("\\\\$1{,}000.")
        '1000'
    """
    # Each step runs only when its trigger is present: most answers are short and need few of them.
    if "\\\\" in text:
        text = undouble_backslashes(text)
    text = _SPACES.sub(" ", strip_delimiters(text))
    if ".." in text or "…" in text:
        text = _ELLIPSIS.sub(r" \\ldots ", text)
    latex = "\\" in text
    if latex and ("left" in text or "right" in text or "big" in text or "Big" in text or "middle" in text):
        text = _LEFT_RIGHT.sub("", _LEFT_RIGHT_DOT.sub(" ", text))
    for old, new in _ALIASES.items():
        if old in text:
            text = text.replace(old, new)
    latex = "\\" in text
    if latex and "frac" in text:
        text = _FRAC_VARIANTS.sub(r"\\frac", text)
    if latex or "{,}" in text:
        text = _THOUSANDS.sub("", text)
        if "{,}" in text:
            text = text.replace("{,}", ",")  # a LaTeX decimal comma (2{,}74): read as written with a comma
    if "circ" in text or "°" in text or "degree" in text:
        text = _DEGREES.sub(" ", text)
    if "\\$" in text or "euro" in text or "pounds" in text or "€" in text or "£" in text or "¥" in text:
        text = _CURRENCY.sub(" ", text)
    alpha = _HAS_LETTER.search(text) is not None
    if alpha:
        text = _UNIT_TAIL.sub("", text)
    if latex:
        text = _unwrap(_COLOR.sub("", text) if "color" in text else text)
        text = _SPACING.sub(" ", text)
    elif "~" in text:
        text = text.replace("~", " ")
    text = _SPACES.sub(" ", text).strip()
    if alpha:
        if text[:1] in "AaTtFf":
            text = _ANSWER_PREFIX.sub("", text)
        text = _UNIT_TAIL.sub("", text)
    if _PERCENT_TRIGGER.search(text):
        text = _PERCENT_WORD.sub("%", text)
    text = strip_trailing(text)
    if text[:1] in " :=\\":
        text = _LEADING.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    if text.startswith("{") and text.endswith("}") and _balanced_outer(text):
        text = text[1:-1].strip()
    return text


_BACKSLASH_RUN = re.compile(r"\\+")
_DOUBLED_COMMAND = re.compile(r"\\\\[a-zA-Z]")


def undouble_backslashes(text: str) -> str:
    """Text escaped twice (JSON written from a string holding ``\\\\frac``): when every run of backslashes has
    even length and a doubled one starts a command, halve every run.

    Example:
        >>> undouble_backslashes("\\\\\\\\frac{1}{2}"), undouble_backslashes("1 \\\\\\\\ 2")
        ('\\\\frac{1}{2}', '1 \\\\\\\\ 2')
    """
    runs = [m.end() - m.start() for m in _BACKSLASH_RUN.finditer(text)]
    if not runs or any(n % 2 for n in runs) or not _DOUBLED_COMMAND.search(text):
        return text
    return _BACKSLASH_RUN.sub(lambda m: "\\" * ((m.end() - m.start()) // 2), text)


def strip_trailing(text: str) -> str:
    """Remove trailing spaces and sentence punctuation (``.``, ``,``, ``\\,``, ``\\quad``...), linearly.

    Example:
        >>> strip_trailing("x = 5.\\\\quad ")
        'x = 5'
    """
    while True:
        text = text.rstrip()
        for token in _TRAILING_TOKENS:
            if text.endswith(token):
                text = text[: -len(token)]
                break
        else:
            return text


def _balanced_outer(text: str) -> bool:
    """True when the first ``{`` closes at the last character."""
    depth = 0
    for i, c in enumerate(text):
        if c == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif c == "}" and (i == 0 or text[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


_TEXT_JUNK = re.compile(r"[\s.,;:!?'\"`*_()\[\]{}\\]+")


def normalize_text(text: str) -> str:
    """Canonical form of a plain-text answer: lower case, no punctuation, single spaces.

    Example:
        >>> normalize_text("  Yes. ")
        'yes'
    """
    return _TEXT_JUNK.sub(" ", text.lower()).strip()
