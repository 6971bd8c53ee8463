"""Find the final answer in an answer region (API.md, "Final answer").

Order: the last ``\\boxed{}``/``\\fbox{}`` (nested braces, or ``\\boxed 5``) unless an explicit final-answer
phrase stating an answer comes after it (the box was an intermediate), else the last ``<answer>`` tag, else a
phrase such as "final answer is" (unless a GSM8K ``#### N`` line comes after it), else ``#### N``, else
markdown bold, else the last math span or number, whichever ends later (LaTeX written without delimiters on
the last line counts as math). That last candidate comes with the earlier ones joined to it by "or", "and" or
commas ("Either 3 or 4" is the answer ``3 or 4``), and a final sentence that hedges between it and an
earlier one is taken whole, so alternatives are judged as a box holding them would be. An ellipsis ending an
answer is part of it (``5...`` is not ``5``); digits joined by commas are one token (``2,74`` never yields
``74``). Boxes are found anywhere in the region (every one of them counts for the ambiguity rule); the other
methods look only at the region's tail, where a final answer can be. Every scan is linear or bounded:
``str.find``/``rfind`` loops and regexes without nested quantifiers over windows of fixed size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The other methods look only this far back from the end of the region.
TAIL_CHARS = 4000
# Longest extracted answer kept; a longer one is cut (and then refused by the parser's guards).
MAX_EXTRACT_CHARS = 20_000

_BOX = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
_BRACE = re.compile(r"\\[{}]|[{}]")
_PHRASE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)(?:\s+is\s*:?|\s*:|\s*=)|(?:the\s+)?(?:result|solution)\s+is\s*:?"
    r"|final\s+answer(?=[ \t]*\**[ \t]*\n)"  # a "**Final Answer**" or "## Final Answer" heading line
    r"|(?:correct|right|best)\s+(?:option|choice)\s+is\s*:?"
    # the same in the languages policies drift to (zh, fr, es, de, pt, it, ru, ja)
    r"|(?:最终)?答案(?:是|为|：|:)|la\s+r[ée]ponse\s+(?:finale\s+)?est\s*:?|la\s+respuesta\s+(?:final\s+)?es\s*:?"
    r"|die\s+(?:endg[üu]ltige\s+)?antwort\s+(?:ist|lautet)\s*:?|a\s+resposta\s+(?:final\s+)?[ée]\s*:?"
    r"|la\s+risposta\s+(?:finale\s+)?[èe]\s*:?|ответ\s*(?::|—|-)|答えは",
    re.IGNORECASE,
)
_BOLD = re.compile(r"\*\*([^*\n]{1,300})\*\*")
_MATH_DELIM = re.compile(r"\$\$|\\\$|\$|\\\(|\\\)|\\\[|\\\]")
# digits joined by commas are one token ("1,000", the decimal comma "2,74", the list "1,2,3"), never their tail;
# a percent sign or word and a trailing ellipsis belong to the number ("50 percent", "5...")
_NUMBER_BODY = (
    r"(?<![A-Za-z_\d.])-?(?:\d+(?:,\d+)*(?:\.\d+)?|\.\d+)(?:\s*/\s*\d+)?"
    r"(?:\s?(?:\\?%|per\s?cents?\b|percentage\b|pct\b))?(?:\.\.\.?|…)?"
)
_NUMBER = re.compile(_NUMBER_BODY)
# An earlier candidate joined to the final one by "or", "and" or a comma: the sentence offers alternatives (or
# a list), which is read whole, as a box holding it would be ("Either 3 or 4" is the answer "3 or 4").
_ALTERNATIVE_BEFORE = re.compile(
    r"(?:\$[^$\n]{1,100}\$|\\\([^\n]{1,100}?\\\)|" + _NUMBER_BODY + r")"
    r"(?:\s*[,;]\s*(?:(?:or|and)\s+)?|\s+(?:or|and)\s+)(?:(?:maybe|perhaps|possibly|probably|even)\s+)?$",
    re.IGNORECASE,
)
# Answer phrases that name the final answer explicitly; one written after the last box overrides the box.
_FINAL_WORDS = re.compile(
    r"answer|答案|r[ée]ponse|respuesta|antwort|resposta|risposta|ответ|答え", re.IGNORECASE
)
MAX_ALTERNATIVES = 20
_HEDGE = re.compile(r"\b(?:or|either|maybe|perhaps|possibly|might\s+be|could\s+be)\b", re.IGNORECASE)
_CONCLUSION = re.compile(r"\b(?:so|thus|therefore|hence|total|gives?|makes?|equals?)\b|=", re.IGNORECASE)
# prose inside a math span ("$The final answer is $"): two words of 3+ letters and nothing mathematical
_PROSE = re.compile(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}")
_MATHY = re.compile(r"[\d\\^_=]")
_WORD = re.compile(r"[A-Za-z]{2,}[.,;:!?]?")
_LONG_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")
_SENTENCE_END = re.compile(r"\.(?:\s+[A-Z]|\s*$)|\n")
_TRAILING_CHARS = " \t\r\n.,;:?"
_TRAILING_ELLIPSIS = re.compile(r"(?P<dots>\.\s?\.(?:\s?\.)*|…|\\[lc]?dots)[\s.,;:?]*$")


@dataclass(frozen=True, slots=True)
class Extraction:
    """The final answer found in a region.

    Attributes:
        text: the answer text as written (delimiters and trailing punctuation removed), or ``None``.
        method: ``boxed``, ``answer_tag``, ``phrase``, ``gsm8k``, ``bold``, ``last_math``, ``last_number``
            or ``None``.
        boxed: the contents of every box in the region, in order (for the ambiguity rule).
    """

    text: str | None
    method: str | None
    boxed: tuple[str, ...] = field(default_factory=tuple)


def _read_group(text: str, start: int) -> tuple[str, int] | None:
    """Read the brace group opening at ``text[start] == "{"``; return (content, end) or ``None``."""
    depth = 0
    for match in _BRACE.finditer(text, start):
        token = match.group()
        if len(token) == 2:  # an escaped \{ or \}
            continue
        if token == "{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return text[start + 1 : match.start()], match.end()
    return None


def find_boxed(text: str) -> list[str]:
    """Contents of every top-level ``\\boxed``/``\\fbox`` in ``text``, in order.

    Example:
        >>> find_boxed("so \\\\boxed{\\\\frac{1}{2}} or \\\\boxed 3 here")
        ['\\\\frac{1}{2}', '3']
    """
    return [content for _, _, content in boxed_spans(text)]


def boxed_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of every top-level ``\\boxed``/``\\fbox`` in ``text``, in order.

    Example:
        >>> boxed_spans("a \\\\boxed{1} b")
        [(2, 11, '1')]
    """
    found: list[tuple[int, int, str]] = []
    pos = 0
    n = len(text)
    while True:
        match = _BOX.search(text, pos)
        if match is None:
            return found
        i = match.end()
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == "{":
            group = _read_group(text, i)
            if group is None:  # never closed: nothing after it can be a complete box either
                return found
            content, pos = group
            found.append((match.start(), pos, content[:MAX_EXTRACT_CHARS]))
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "$":
                j += 1
            if j > i:
                found.append((match.start(), j, text[i:j]))
            pos = max(j, match.end())


def _strip_inner_box(content: str) -> str:
    # \boxed{\boxed{5}} or \boxed{x = \boxed{5}}: the innermost box is the answer.
    for _ in range(4):
        if "boxed" not in content and "fbox" not in content:
            break
        inner = find_boxed(content)
        if not inner:
            break
        content = inner[-1]
    return content


def _math_spans(text: str) -> list[tuple[int, int, int, int]]:
    """(outer start, inner start, inner end, outer end) of each closed math span, in order."""
    spans = []
    open_tok: str | None = None
    open_at = open_end = 0
    closers = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}
    for match in _MATH_DELIM.finditer(text):
        tok = match.group()
        if tok == "\\$":
            continue
        if open_tok is None:
            if tok in closers:
                open_tok, open_at, open_end = tok, match.start(), match.end()
        elif tok == closers[open_tok]:
            spans.append((open_at, open_end, match.start(), match.end()))
            open_tok = None
    return spans


def _clean(text: str, prose: bool = False) -> str | None:
    """Strip spaces and trailing sentence punctuation (``!`` too when the answer came from prose: in math it
    is a factorial); ``None`` when nothing is left, or from prose nothing with a letter or digit."""
    text = text.strip()
    ellipsis = _TRAILING_ELLIPSIS.search(text)
    if ellipsis is not None:
        # "5..." and "1, 2, 3, ..." are unfinished answers, not sentences ending in dots: keep the ellipsis
        text = text[: ellipsis.start()] + ellipsis.group("dots")
    else:
        text = text.rstrip(_TRAILING_CHARS + ("!" if prose else ""))
    if prose:
        return text if any(c.isalnum() for c in text) else None
    return text or None


def _is_prose(text: str) -> bool:
    return bool(_PROSE.search(text)) and not _MATHY.search(text)


def _raw_latex_tail(tail: str, number: re.Match[str]) -> str | None:
    """LaTeX written without delimiters on the last line (``The result is \\frac{10}{9}``): the math after
    the last prose word, when the last number lies in it."""
    line_start = tail.rfind("\n", 0, number.start()) + 1
    line_end = tail.find("\n", number.end())
    line = tail[line_start : line_end if line_end >= 0 else len(tail)]
    if "\\" not in line and "^" not in line:
        return None
    tokens = line.split(" ")
    k = len(tokens)
    while k > 0 and not _WORD.fullmatch(tokens[k - 1]):
        k -= 1
    candidate = " ".join(tokens[k:])
    return _clean(candidate) if number.group() in candidate else None


def _after_phrase(rest: str) -> str | None:
    """The answer that follows a phrase: a math span right after it, else the rest of the sentence."""
    rest = rest.lstrip(" \t*:")
    if rest.startswith("\n"):
        rest = rest.lstrip()
    spans = _math_spans(rest[:MAX_EXTRACT_CHARS])
    if spans and not rest[: spans[0][0]].strip(" *"):
        return _clean(rest[spans[0][1] : spans[0][2]])
    cut = _SENTENCE_END.search(rest)
    piece = rest[: cut.start()] if cut else rest
    piece = piece.strip().strip("*").strip()[:MAX_EXTRACT_CHARS]
    if len(_LONG_WORD.findall(_strip_math(piece))) >= 2:
        # a sentence rather than an answer ("The volume of $ABCD$ is 120"): its last math span or number
        inner = _last_math_or_number(piece)
        if inner is not None:
            return inner[0]
    return _clean(piece, prose=True)


def _strip_math(text: str) -> str:
    out = []
    last = 0
    for start, _, _, end in _math_spans(text):
        out.append(text[last:start])
        last = end
    out.append(text[last:])
    return " ".join(out)


def extract_answer(region: str) -> Extraction:
    """Find the final answer in ``region`` (the text after ``</think>``, or the whole completion).

    Example:
        >>> e = extract_answer("We get $x = 3$. The final answer is $\\\\frac{1}{3}.$")
        >>> e.text, e.method
        ('\\\\frac{1}{3}', 'phrase')
    """
    boxes = boxed_spans(region) if ("boxed" in region or "fbox" in region) else []
    if boxes:
        final = _final_phrase_after(region[boxes[-1][1] :])
        if final is not None:
            # "... \boxed{200} ... The final answer is $10,455$.": the box was an intermediate
            return Extraction(final, "phrase")
        boxed = tuple(content for _, _, content in boxes)
        text = _clean(_strip_inner_box(boxed[-1]))
        return Extraction(text, "boxed", boxed)
    tail = region[-TAIL_CHARS:]

    close = tail.rfind("</answer>")
    open_at = tail.rfind("<answer>", 0, close if close >= 0 else len(tail))
    if open_at >= 0:
        inner = tail[open_at + len("<answer>") : close if close > open_at else len(tail)]
        phrase = _last_phrase(inner)
        text = phrase if phrase is not None else _clean(inner)
        if text is not None:
            spans = _math_spans(text)
            if len(spans) == 1 and not (text[: spans[0][0]] + text[spans[0][3] :]).strip(" .,;:"):
                text = _clean(text[spans[0][1] : spans[0][2]])
            return Extraction(text, "answer_tag")

    hashes = tail.rfind("####")
    gsm8k = (
        _clean(tail[hashes + 4 :].split("\n", 1)[0].strip().strip("*"), prose=True) if hashes >= 0 else None
    )
    phrase_at = _last_match(_PHRASE, tail)
    if phrase_at is not None and not (gsm8k is not None and hashes > phrase_at.start()):
        # a "#### N" line written after the last phrase is the later, explicit final answer
        phrase = _after_phrase(tail[phrase_at.end() :])
        if phrase is not None:
            return Extraction(phrase, "phrase")
    if gsm8k is not None:
        return Extraction(gsm8k, "gsm8k")

    bold = _last_match(_BOLD, tail)
    if bold is not None:
        text = _clean(bold.group(1).strip("$ "), prose=True)
        if text is not None and any(c.isdigit() or c == "\\" for c in text):
            return Extraction(text, "bold")

    found = _last_math_or_number(tail)
    if found is None:
        return Extraction(None, None)
    return Extraction(*found)


def _final_phrase_after(after: str) -> str | None:
    """The answer of an explicit final-answer phrase written after the last box, when it holds math."""
    after = after[-TAIL_CHARS:]
    match = _last_match(_PHRASE, after)
    if match is None or not _FINAL_WORDS.search(match.group()):
        return None
    rest = after[match.end() :].lstrip(" \t*:")
    spans = _math_spans(rest[:MAX_EXTRACT_CHARS])
    if not (spans and not rest[: spans[0][0]].strip(" *\n")):
        cut = _SENTENCE_END.search(rest)
        piece = rest[: cut.start()] if cut else rest
        if len(_LONG_WORD.findall(_strip_math(piece))) >= 2:
            # "the answer is correct since 12 > 10": a remark about the boxed answer, which stands
            return None
    text = _after_phrase(rest)
    if text is None or not any(c.isdigit() or c == "\\" for c in text):
        return None  # "I hope the answer is right.": no answer here, the box stands
    return text


def _last_math_or_number(tail: str) -> tuple[str, str] | None:
    """The last math span or number in ``tail``, whichever ends later: (text, method). Alternatives joined to
    it by "or", "and" or commas come with it (:data:`_ALTERNATIVE_BEFORE`)."""
    spans = [span for span in _math_spans(tail) if not _is_prose(tail[span[1] : span[2]])]
    number = _last_match(_NUMBER, tail)
    if spans and (number is None or number.start() < spans[-1][3]):
        outer_start, math_start, math_end, _ = spans[-1]
        text = _clean(tail[math_start:math_end])
        if text is not None:
            return _with_alternatives(tail, outer_start, text), "last_math"
    if number is not None:
        raw = _raw_latex_tail(tail, number)
        if raw is not None:
            return raw, "last_math"
        return _with_alternatives(tail, number.start(), number.group().replace(" ", "")), "last_number"
    return None


def _with_alternatives(tail: str, start: int, text: str) -> str:
    """``text`` (found at ``start``) with the earlier candidates joined to it: ``3 or 4``, ``3, 4``."""
    parts = [text]
    for _ in range(MAX_ALTERNATIVES):
        match = _ALTERNATIVE_BEFORE.search(tail, max(0, start - 300), start)
        if match is None:
            break
        parts.append(tail[match.start() : start].strip())
        start = match.start()
    if len(parts) > 1:
        return " ".join(reversed(parts))
    # a final sentence that hedges between this candidate and the one before it ("4, but it could be 3") is
    # read whole, and so judged as the hedge it is; a conclusion between them ("..., so 12") is no hedge
    period = tail.rfind(". ", 0, start)
    sentence_start = max(period + 2 if period >= 0 else 0, tail.rfind("\n", 0, start) + 1)
    before = tail[sentence_start:start]
    previous = max((m.end() for m in _NUMBER.finditer(before)), default=-1)
    dollar = before.rfind("$")
    previous = max(previous, dollar + 1 if dollar >= 0 else -1)
    if previous < 0:
        return text
    between = before[previous:]
    if _HEDGE.search(between) and not _CONCLUSION.search(between):
        return _clean(before + text) or text
    return text


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    last = None
    for last in pattern.finditer(text):  # noqa: B007 - keep the last one
        pass
    return last


def _last_phrase(text: str) -> str | None:
    match = _last_match(_PHRASE, text)
    if match is None:
        return None
    return _after_phrase(text[match.end() :])
