"""Prepare reasoning text for language identification: remove what is not words, cut it into segments.

Everything here is compiled regular expressions and ``str`` methods run over the whole text in C; the only
Python loop is over segments (about one per sentence), never over characters.

What is removed (it carries no language, and fastText gives it confident wrong labels: ``x^2 + 3x = 0`` is
"Italian" at 0.99):

- code: fenced blocks (````` ``` ````` and ``~~~``, an unclosed fence runs to the end), inline ```code```, and
  lines that look like code (``(``, ``=`` or ``[`` and a final ``;``; a final ``{``; a leading ``}``;
  or a programming keyword first and ``(``, ``=`` or a final ``:``);
- math: ``\\begin{...}...\\end{...}`` math environments (equation, align, cases, the matrices, ...; other
  environments such as itemize lose only their ``\\begin``/``\\end``), ``$$...$$``, ``\\[...\\]``, ``\\(...\\)``, inline ``$...$``
  (pandoc's rule, so currency such as "$5 and $10" is not math), then any leftover LaTeX command, then
  plain-text math tokens (lone letters with digits or operators: ``x^2``, ``3x``, ``f'(x)``);
- URLs, HTML/XML-like tags, chat-template tokens (``<|im_start|>``, ``<｜User｜>``);
- digits, underscores and symbol runs (ASCII symbols, Unicode punctuation, math operators, arrows, emoji).

Sentence punctuation (``. ! ? ; 。 ！ ？ ；``) and line breaks cut the text into segments and go with the cut;
apostrophes stay inside words. Spans are bounded (a ``\\(`` with no ``\\)`` looks at most 4,000 characters
ahead, a scan stops at the next opener of its kind), so no input is quadratic; the passes that rarely apply
(URLs, code lines ending in ``;``/``{``) run only when a cheap ``in`` test finds their marker.

Speed (about 30 µs to clean 2 kB of English reasoning, a quarter of the plain passes' cost; every shortcut
gives exactly the plain passes' output): regexes start with a literal character where they can (the
engine then skips ahead at C speed, where a leading class or lookbehind tries every position); the
math-token pass runs only when a byte-class check finds a token it could change (:func:`_may_hold_math_token`);
on Latin-1 text the junk pass is ``bytes.translate`` plus ``bytes.split``; segments are cut by ``str.split``.

Words: each Han or Kana character is one word, as the R1 paper's Chinese setting implies (Chinese and Japanese
are written without spaces); any other whitespace-separated token left after cleaning (letters with their
marks and apostrophes) is one, Korean included (it is written with spaces between words).
"""

from __future__ import annotations

import re

# LaTeX environments whose body is math: removed whole. Other environments (itemize, enumerate, ...) hold
# prose: only their \begin{...} and \end{...} are removed.
_MATH_ENVS = (
    "equation|align|alignat|aligned|alignedat|gather|gathered|multline|flalign|eqnarray|split|cases|dcases"
    "|array|matrix|pmatrix|bmatrix|Bmatrix|vmatrix|Vmatrix|smallmatrix|subarray|displaymath|math|tikzpicture"
    "|verbatim|lstlisting|minted|tabular"
)
# Blocks become a line break: they separate what comes before and after. A block scan stops at the next
# opener of the same kind (an unclosed opener then fails at once), which keeps the pass linear.
_BLOCKS = re.compile(
    r"```[\s\S]*?(?:```|\Z)"  # fenced code (unclosed: to the end)
    r"|~~~[\s\S]*?(?:~~~|\Z)"
    rf"|\\begin\{{({_MATH_ENVS})(\*?)\}}(?:[^\\]|\\(?!begin\{{\1\2\}})){{0,20000}}?\\end\{{\1\2\}}"
    r"|\$\$[\s\S]{0,8000}?\$\$"
    r"|\\\[(?:[^\\]|\\(?!\[)){0,8000}?\\\]"
)
# Inline spans become a space: the sentence around them goes on.
_INLINE = re.compile(
    r"\\\((?:[^\\]|\\(?!\()){0,4000}?\\\)"
    r"|\\(?:begin|end)\{[^{}\n]{0,40}\}"
    r"|\$(?=[^\s$])(?:[^$\n\\]|\\.){0,2000}?(?<=[^\s\\])\$(?!\d)"  # inline $...$ (pandoc's rule)
    r"|\$(?=[^\s$])[^$\n\\]?\$(?!\d)"  # one-character inline math such as $x$
    r"|`[^`\n]{1,2000}`"
    r"|<[|｜][^\n]{0,64}?[|｜]>"  # chat-template tokens
    r"|</?[A-Za-z][A-Za-z0-9]{0,20}(?:\s[^<>\n]{0,200})?/?>"  # HTML/XML-like tags
    r"|\\[A-Za-z]+\*?|\\."  # leftover LaTeX commands and escapes
)
# Every alternative of _BLOCKS contains one of these, and of _INLINE one of those. A marker is a first
# character (an ``in`` test finds it at memchr speed) and the rest as a regex with that literal prefix
# (whose search is several times faster than ``in`` with a longer string).
_Marker = tuple[str, re.Pattern[str] | None]
_BLOCK_MARKERS: tuple[_Marker, ...] = (
    ("`", re.compile("```")),
    ("~", re.compile("~~~")),
    ("\\", re.compile(r"\\(?:begin|\[)")),
    ("$", re.compile(r"\$\$")),
)
_INLINE_MARKERS: tuple[_Marker, ...] = (("\\", None), ("$", None), ("`", None), ("<", None))
_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+")
_URL_MARKERS: tuple[_Marker, ...] = (("/", re.compile("://")), ("w", re.compile(r"www\.")))
# Lines that look like code (run once math is gone, so LaTeX braces cannot trigger them). Keyword lines
# need a programming keyword first and "(", "=" or a final ":"; the others end in ";" after "(", "=" or
# "[", or end in "{", or start with "}".
# The pattern starts with the "\n" before the line (clean_text puts one before the text) rather than "^": a
# literal first character lets the regex engine skip ahead to each line at C speed.
_CODE_KEYWORD_LINE = re.compile(
    r"\n[ \t]*(?:def|class|import|from|return|elif|else|for|while|if|try|except|with|lambda|print|const|let"
    r"|var|function|public|private|static|void|int|long|double|float|char|bool|auto|using|template|fn|pub"
    r"|#include|#define|#import)\b[^\n(=]*(?:[(=][^\n]*|:[ \t]*)$",
    re.MULTILINE,
)
_CODE_PUNCT_LINE = re.compile(
    r"^[^\n(=\[;]*[(=\[][^\n]*;[ \t]*$|^[^\n{]*\{[ \t]*$|^[ \t]*\}[^\n]{0,3}$", re.MULTILINE
)
# Plain-text math: a whitespace-delimited token made only of lone Latin letters, digits and symbols, with at
# least one digit or operator ("x^2", "3x", "f'(x)", "=", "(x+3)"). Removed before _JUNK so that the lone
# variables of "x^2 + 3x = 0" do not survive as words; words such as "x-axis" or "l'équation" stay.
_MATH_MARK = r"[0-9=+^_*/<>|()\[\]{}\\-]"  # a math token holds at least one of these
_MATH_TOKEN = re.compile(
    # The first lookahead is a cheap necessary condition that rejects ordinary words at their first two
    # characters, before the token-long scan of the second (a third of the cleaning time on prose).
    rf"(?<!\S)(?=[^\sA-Za-z]|[A-Za-z](?![A-Za-z]))(?=\S*{_MATH_MARK})"
    r"(?:[A-Za-z](?![A-Za-z])|[^\w\s]|[\d_])*?(?:[A-Za-z](?![A-Za-z])|[^\w\s.!?;。！？；]|[\d_])"
    # Sentence punctuation at the token's end stays: "genau 36." still ends its sentence.
    r"(?=[.!?;。！？；]*(?!\S))"
)
# Digits, underscores and symbols become a space; so do line breaks other than "\n" (fastText splits on
# some and reads others as characters). Kept: letters, marks, "\n", spaces, sentence ends, apostrophes.
_JUNK = re.compile(
    r"[0-9_\u0660-\u0669\u06f0-\u06f9\u0966-\u096f"  # digits (ASCII, Arabic-Indic, Devanagari)
    r"\"#$%&()*+,\-/:<=>@\[\\\]^`{|}~"
    r"\x00-\x08\x0b-\x1f\x7f-\x9f"  # control characters and line breaks other than "\n"
    r"\u00a0-\u00bf\u00d7\u00f7"  # Latin-1 punctuation and symbols, × ÷
    r"\u02b0-\u02ff"  # spacing modifier letters
    r"\u2000-\u2018\u201a-\u2bff"  # general punctuation (not ’), super/subscripts, arrows, math, shapes
    r"\u2e00-\u2e7f\u3000-\u3001\u3003-\u303f"  # CJK symbols and punctuation (not 。)
    r"\uff02-\uff1a\uff1c-\uff1e\uff20-\uff40\uff5b-\uff65"  # full-width forms (not ！ ； ？)
    r"\ufe10-\ufe6f\ufff0-\uffff"
    r"\U0001d400-\U0001d7ff\U0001f000-\U0001faff"  # math alphanumerics, emoji
    r"\ud800-\udfff"  # lone surrogates (JSON can carry them; fastText cannot take them)
    r"]+"
)
# Segment boundaries: line breaks and sentence-ending punctuation (which goes with the boundary).
_SEGMENT = re.compile(r"[\n.!?;。！？；]+\s*")
_SEGMENT_ENDS = "\n!?;。！？；"  # with ".": the characters of _SEGMENT's first class


def _math_byte_classes() -> bytes:
    """The byte table of :func:`_may_hold_math_token`, derived from _JUNK and _MATH_MARK.

    ``0`` math mark (always junk), ``l`` ASCII letter, ``j`` other junk, ``" "`` a space that is not junk,
    ``k`` anything else: a character _JUNK keeps (``.``, ``'``, ...), a space it removes (``\\r``), and
    every byte of a non-ASCII character (it may be either).
    """
    table = bytearray(b"k" * 256)
    for code in range(128):
        char = chr(code)
        junk = _JUNK.fullmatch(char) is not None
        if char.isspace():
            table[code] = ord("k" if junk else " ")
        elif char.isalpha():
            table[code] = ord("l")
        elif junk:
            table[code] = ord("0" if re.fullmatch(_MATH_MARK, char) else "j")
    return bytes(table)


_MATH_BYTE_CLASSES = _math_byte_classes()
_MATH_BYTE_CLASSES_LOOSE = _MATH_BYTE_CLASSES.translate(bytes.maketrans(b"j", b"0"))  # all junk is "0"
# On the loose classes: junk touching a lone letter or a "k" byte.
_MATH_HINT_LOOSE = re.compile(rb"0(?:k|l(?!l))")
# On the classes: a math mark, then at most 15 other junk bytes, then a lone letter or a "k" byte; a longer
# run of junk is a hit too (it keeps the scan linear).
_MATH_HINT = re.compile(rb"0(?:[0j]{0,15}(?:k|l(?!l))|[0j]{16})")
# Latin-1 text: _JUNK's characters become NUL (itself junk), and each run of NULs one space.
_LATIN1_JUNK = bytes(0 if _JUNK.fullmatch(chr(code)) else code for code in range(256))
_LINE_BREAKS = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")

# Scripts. Han and Kana are counted one word per character (Chinese and Japanese are not written with
# spaces); every other script, Hangul included (Korean puts spaces between words), one word per token.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
_CYRILLIC = "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f"
_ARABIC = "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff"
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0300-\u036f\u1e00-\u1eff"
_PER_CHAR = re.compile(f"[{_HAN}{_KANA}]")
_PER_CHAR_RUN = re.compile(f"[{_HAN}{_KANA}]+")
_KANA_CHAR = re.compile(f"[{_KANA}]")


def _script_run(chars: str) -> str:
    """A run of one script's characters, with the spaces and apostrophes between them."""
    return f"[{chars}](?:[\\s'’]*[{chars}])*"


_NOT_OTHER = "\\s'’" + _HAN + _KANA + _HANGUL + _CYRILLIC + _ARABIC + _LATIN
# One alternative per script; ``lastgroup`` names the script of a match. After cleaning, what is left of
# a piece is letters, marks, spaces and apostrophes, so "other" (Greek, Hebrew, Indic, Thai, ...) is any
# other character that is not a space or an apostrophe.
_SCRIPT_RUNS = re.compile(
    f"(?P<cjk>{_script_run(_HAN + _KANA)})|(?P<hangul>{_script_run(_HANGUL)})"
    f"|(?P<cyrillic>{_script_run(_CYRILLIC)})|(?P<arabic>{_script_run(_ARABIC)})"
    f"|(?P<latin>{_script_run(_LATIN)})"
    f"|(?P<other>{_script_run('^' + _NOT_OTHER)})"
)
SCRIPTS: tuple[str, ...] = ("cjk", "hangul", "cyrillic", "arabic", "latin", "other")


def clean_text(text: str) -> str:
    """Remove code, math, URLs, tags, numbers and symbols; keep words, line breaks and sentence punctuation.

    Example:
        >>> clean_text("Soit $x^2+3x=0$, donc x = 0 ou 3.").split()
        ['Soit', 'donc', 'x', 'ou', '.']
    """
    # Each pass runs only when a cheap substring test finds a character it needs (prose has none).
    if _holds(text, _BLOCK_MARKERS):
        text = _BLOCKS.sub("\n", text)
    if _holds(text, _INLINE_MARKERS):
        text = _INLINE.sub(" ", text)
    if _holds(text, _URL_MARKERS):
        text = _URL.sub(" ", text)
    # The text gets a leading "\n" for _CODE_KEYWORD_LINE (no later pass reads it differently from the
    # start of the text), removed at the end.
    text = _CODE_KEYWORD_LINE.sub("\n", "\n" + text)
    if ";" in text or "{" in text or "}" in text:
        text = _CODE_PUNCT_LINE.sub("", text)
    if _may_hold_math_token(text):
        text = _MATH_TOKEN.sub(" ", text)
    return _remove_junk(text)[1:]


def _holds(text: str, markers: tuple[_Marker, ...]) -> bool:
    """True when ``text`` holds one of the markers."""
    return any(first in text and (rest is None or rest.search(text) is not None) for first, rest in markers)


def _may_hold_math_token(text: str) -> bool:
    """False when removing _MATH_TOKEN's matches cannot change what _remove_junk then returns.

    A match made only of junk characters, between spaces that are not junk, becomes one space either way:
    _JUNK takes it as one run. So the pass matters only for a match that holds a character _JUNK keeps (a
    lone letter, ``.``, ...) or touches a junk space (``\\r``, no-break space). Such a match holds a math
    mark too, so in its bytes classed by _MATH_BYTE_CLASSES a ``0`` and a lone ``l`` or a ``k`` are
    separated by ``0``/``j`` bytes only, which _MATH_HINT finds read forwards or backwards; and in the
    loose classes, a run of ``0`` touches that ``l`` or ``k``, which _MATH_HINT_LOOSE finds (cheaper: it
    looks one byte ahead, and clears most prose at once). A hit may be a false alarm (``x-axis``); a miss
    is certain. The checks cost a few microseconds on 2 kB, the pass tens.
    """
    data = text.encode("utf-8", "surrogatepass")
    loose = data.translate(_MATH_BYTE_CLASSES_LOOSE)
    if _MATH_HINT_LOOSE.search(loose) is None and _MATH_HINT_LOOSE.search(loose[::-1]) is None:
        return False
    classes = data.translate(_MATH_BYTE_CLASSES)
    return _MATH_HINT.search(classes) is not None or _MATH_HINT.search(classes[::-1]) is not None


def _remove_junk(text: str) -> str:
    """``_JUNK.sub(" ", text)``; on Latin-1 text (English, French, ...) by bytes methods, which run faster."""
    data = _latin1(text)
    if data is None:
        return _JUNK.sub(" ", text)
    parts = data.translate(_LATIN1_JUNK).split(b"\0")
    if len(parts) == 1:
        return text
    kept = b" ".join(filter(None, parts)).decode("latin-1")
    if not kept:
        return " "
    return (" " if not parts[0] else "") + kept + (" " if not parts[-1] else "")


def _latin1(text: str) -> bytes | None:
    """``text`` encoded in Latin-1, or None when it holds another character (no CJK then)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def split_segments(cleaned: str) -> list[str]:
    """Cut cleaned text at line breaks and sentence ends; drop segments with no words.

    Example:
        >>> split_segments("One. Two!\\n\\n三。四 . ")
        ['One', 'Two', '三', '四 ']
    """
    return [s for s in _SEGMENT.split(cleaned) if s and not s.isspace()]


def count_words(segment: str) -> int:
    """Words in a cleaned segment: each Han or Kana character, plus each other whitespace-separated token.

    Korean is written with spaces between words, so a Hangul token is one word.

    Example:
        >>> count_words("我们用 Python 来计算"), count_words("먼저 계산합니다")
        (7, 2)
    """
    rest, runs = _PER_CHAR_RUN.subn(" ", segment)
    if runs:
        # Each run of Han or Kana characters became one space: the characters are the length that went.
        return len(segment) - len(rest) + runs + len(rest.split())
    return len(segment.split())


def one_line(text: str) -> str:
    """Join text into one line (fastText refuses line breaks).

    Example:
        >>> one_line("a\\nb\\r\\nc")
        'a b c'
    """
    return _LINE_BREAKS.sub(" ", text)


def sentences(text: str) -> list[str]:
    """Clean ``text`` and cut it at line breaks and sentence ends, each piece on one line (no merging).

    Example:
        >>> sentences("Bonjour. Calculons la somme $1+2$.\\nVoici le résultat final. Oui.")
        ['Bonjour', 'Calculons la somme  ', 'Voici le résultat final', 'Oui']
    """
    cleaned = clean_text(text)
    # _SEGMENT.split(cleaned), by str methods: every boundary character becomes ".", the text is split at
    # each, and a segment loses the spaces that follow the boundary before it. Blank segments are dropped.
    for end in _SEGMENT_ENDS:
        cleaned = cleaned.replace(end, ".")
    parts = cleaned.split(".")
    return [part for part in (parts[0], *map(str.lstrip, parts[1:])) if part and not part.isspace()]


def is_latin1(text: str) -> bool:
    """True when every character of ``text`` is Latin-1 (so its letters are all Latin script).

    Example:
        >>> is_latin1("déjà vu"), is_latin1("déjà 见")
        (True, False)
    """
    return _latin1(text) is not None


def script_runs(piece: str) -> list[tuple[str, str, int]]:
    """Cut a cleaned piece where its script changes: (script, run, words) for each run with words.

    Scripts are :data:`SCRIPTS`; Han and Kana together are ``cjk``. In a piece that mixes scripts, a Latin
    run made only of single letters (variables such as the ``x`` of ``设 x 为``) is not words and is left out.

    Example:
        >>> script_runs("我们先算 the total number 然后除以三")
        [('cjk', '我们先算', 4), ('latin', 'the total number', 3), ('cjk', '然后除以三', 5)]
    """
    runs: list[tuple[str, str, int]] = []
    for match in _SCRIPT_RUNS.finditer(piece):
        script = match.lastgroup
        assert script is not None
        run = match.group()
        if script == "cjk":
            words = count_words(run)
        else:
            tokens = run.split()
            words = 0 if script == "latin" and max(map(len, tokens)) == 1 else len(tokens)
        if words:
            runs.append((script, run, words))
    if len(runs) == 1 and runs[0][0] == "latin" and runs[0][2] == 0:
        return []
    if not runs:
        # Only single Latin letters: in a piece of one script they are words after all.
        words = len(piece.split())
        return [("latin", piece.strip(), words)] if words else []
    return runs


def has_kana(run: str) -> bool:
    """True when a ``cjk`` run holds Hiragana or Katakana (Japanese, not Chinese).

    Example:
        >>> has_kana("計算します"), has_kana("计算")
        (True, False)
    """
    return _KANA_CHAR.search(run) is not None
