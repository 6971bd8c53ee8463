"""Reasoning texts whose true share of target-language words is known by construction.

Each case is built from parts whose language is known (a sentence, a filler, a clause), and its true share
is the target's words over all words, counted the way ``docs/API.md`` says: one word per Han or Kana
character, one per whitespace-separated token holding a letter for every other script (Korean included),
math, numbers and code not at all. :func:`true_words` counts independently of ``rewards.text``.

Families (issue 16): ``merge`` short sentences next to long ones across a language switch; ``number``
sentences that end in a number right before a switch; ``switch`` code-switching inside a sentence
(English fillers and phrases, Latin words in CJK text); ``units`` Korean, Chinese and Japanese against
English; ``clean`` single-language reasoning heavy with math and code (true share 1.0). Used by
``tests/rewards/test_language_accuracy.py`` and ``python -m bench.language --accuracy``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TARGETS: tuple[str, ...] = ("en", "zh", "fr", "de", "es", "ru", "ar", "ko")

LONG: dict[str, tuple[str, ...]] = {
    "en": (
        "First we need to find how many apples are left in the basket after lunch.",
        "The number of boxes times the pens in each box gives the total count of pens.",
        "I should double check whether the remainder is smaller than the divisor here.",
        "So the difference between the two amounts is what the question is asking for.",
        "Adding the tens and the units separately makes the sum easier to verify.",
    ),
    "zh": (
        "我们首先要算出午饭以后篮子里还剩下多少个苹果。",
        "盒子的数量乘以每个盒子里的笔数就得到笔的总数。",
        "我需要再检查一下余数是不是比除数小。",
        "所以两个数量之间的差就是题目要求的答案。",
        "把十位和个位分开相加可以更容易地验证结果。",
    ),
    "fr": (
        "Nous devons d'abord trouver combien de pommes restent dans le panier après le déjeuner.",
        "Le nombre de boîtes multiplié par les stylos de chaque boîte donne le total des stylos.",
        "Je dois vérifier encore une fois si le reste est plus petit que le diviseur.",
        "Donc la différence entre les deux quantités est exactement ce que demande la question.",
        "Additionner les dizaines et les unités séparément rend la somme plus facile à vérifier.",
    ),
    "de": (
        "Zuerst müssen wir herausfinden, wie viele Äpfel nach dem Mittagessen im Korb übrig sind.",
        "Die Anzahl der Kisten mal die Stifte in jeder Kiste ergibt die Gesamtzahl der Stifte.",
        "Ich sollte noch einmal prüfen, ob der Rest kleiner als der Teiler ist.",
        "Also ist der Unterschied zwischen den beiden Mengen genau das, wonach gefragt wird.",
        "Wenn wir Zehner und Einer getrennt addieren, lässt sich die Summe leichter prüfen.",
    ),
    "es": (
        "Primero tenemos que averiguar cuántas manzanas quedan en la cesta después del almuerzo.",
        "El número de cajas por los lápices de cada caja da el total de lápices.",
        "Debo comprobar otra vez si el resto es menor que el divisor en este caso.",
        "Así que la diferencia entre las dos cantidades es lo que pregunta el problema.",
        "Sumar las decenas y las unidades por separado hace que la suma sea más fácil de comprobar.",
    ),
    "ru": (
        "Сначала нужно выяснить, сколько яблок осталось в корзине после обеда.",
        "Количество коробок, умноженное на число ручек в каждой коробке, даёт общее число ручек.",
        "Мне нужно ещё раз проверить, меньше ли остаток, чем делитель.",
        "Значит, разница между двумя количествами и есть то, о чём спрашивается в задаче.",
    ),
    "ar": (
        "أولاً يجب أن نعرف كم تفاحة بقيت في السلة بعد الغداء.",
        "عدد الصناديق مضروباً في عدد الأقلام في كل صندوق يعطي مجموع الأقلام.",
        "يجب أن أتحقق مرة أخرى مما إذا كان الباقي أصغر من المقسوم عليه.",
        "إذن الفرق بين الكميتين هو بالضبط ما يسأل عنه السؤال.",
    ),
    "ko": (
        "먼저 점심 식사 후에 바구니에 사과가 몇 개 남았는지 알아내야 합니다.",
        "상자의 수에 각 상자에 든 펜의 수를 곱하면 펜의 총 개수가 나옵니다.",
        "나머지가 나누는 수보다 작은지 다시 한 번 확인해야 합니다.",
        "그러므로 두 양의 차이가 바로 문제에서 묻는 답입니다.",
    ),
    "ja": (
        "まず昼ご飯の後でかごにりんごがいくつ残っているかを調べます。",
        "箱の数に各箱のペンの本数をかけるとペンの合計になります。",
        "余りが割る数より小さいかどうかをもう一度確かめます。",
    ),
}
SHORT: dict[str, tuple[str, ...]] = {
    "en": ("Let me see.", "Okay, next step.", "That looks right.", "Good, moving on."),
    "zh": ("我们继续。", "好的，下一步。", "这样是对的。", "再看一下。"),
    "fr": ("Voyons voir.", "Bon, continuons.", "C'est juste.", "Très bien, ensuite."),
    "de": ("Mal sehen.", "Gut, weiter geht's.", "Das stimmt so.", "Schön, dann weiter."),
    "es": ("Veamos ahora.", "Bien, sigamos.", "Eso es correcto.", "Muy bien, adelante."),
    "ru": ("Итак, смотрим дальше.", "Хорошо, продолжим.", "Это верно.", "Посмотрим ещё."),
    "ar": ("حسناً، نتابع.", "هذا صحيح.", "لنرَ الآن.", "جيد، الخطوة التالية."),
    "ko": ("좋아요, 계속합시다.", "이제 봅시다.", "맞습니다.", "다음 단계입니다."),
}
# Sentences that end in a number (its period is the sentence end).
NUMBER_END: dict[str, tuple[str, ...]] = {
    "en": ("So the total is exactly 36.", "After subtracting we get 17.", "The remainder must be 4."),
    "zh": ("所以总数正好是 36。", "减去以后得到 17。", "余数一定是 4。"),
    "fr": (
        "Donc le total vaut exactement 36.",
        "Après la soustraction on obtient 17.",
        "Le reste doit être 4.",
    ),
    "de": (
        "Also ist die Summe genau 36.",
        "Nach der Subtraktion bleiben 17.",
        "Der Rest muss 4 sein, also 4.",
    ),
    "es": ("Entonces el total es exactamente 36.", "Después de restar obtenemos 17.", "El resto debe ser 4."),
    "ru": ("Значит, сумма равна ровно 36.", "После вычитания получаем 17.", "Остаток должен быть 4."),
    "ar": ("إذن المجموع يساوي 36.", "بعد الطرح نحصل على 17.", "الباقي يجب أن يكون 4."),
    "ko": ("따라서 합계는 정확히 36.", "빼고 나면 17.", "나머지는 반드시 4."),
}
# English fillers and phrases a target-language sentence starts or ends with (R1-Zero's drift).
EN_LEADING: tuple[str, ...] = ("Wait,", "Hmm,", "Okay so", "Actually,", "Let me check,")
EN_TRAILING: tuple[str, ...] = (", let me double-check.", ", which is the answer.", ", right?")
EN_FILLERS: tuple[str, ...] = ("Wait.", "Hmm.", "Let me double-check.", "Okay.", "Hmm, wait.")

_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_MATH_OR_CODE = re.compile(r"```[\s\S]*?```|\$\$[\s\S]*?\$\$|\\\[[\s\S]*?\\\]|\$[^$\n]+\$|`[^`\n]+`")


def true_words(text: str) -> int:
    """Words of a part written in one language: Han/Kana characters, plus tokens holding another letter.

    Example:
        >>> true_words("Donc le total vaut exactement 36."), true_words("所以总数是 36。"), true_words("사과 두 개")
        (5, 5, 3)
    """
    text = _MATH_OR_CODE.sub(" ", text)
    chars = len(_CJK_CHAR.findall(text))
    rest = _CJK_CHAR.sub(" ", text)
    return chars + sum(1 for token in rest.split() if any(c.isalpha() for c in token))


@dataclass(frozen=True)
class Case:
    """A reasoning, its target and its true share; ``parts`` keeps the (language, text) it was built from."""

    name: str
    family: str
    target: str
    reasoning: str
    true_share: float


def build(name: str, family: str, target: str, parts: list[tuple[str, str]], joiner: str = " ") -> Case:
    """A case from parts of known language joined by ``joiner`` (a part's own text says where it breaks).

    Example:
        >>> build("x", "merge", "fr", [("en", "One two three."), ("fr", "Un deux.")]).true_share
        0.4
    """
    total = sum(true_words(text) for _, text in parts)
    target_words = sum(true_words(text) for lang, text in parts if lang == target)
    reasoning = joiner.join(text for _, text in parts)
    return Case(name, family, target, reasoning, round(target_words / total, 4))


def _foreign(target: str) -> str:
    """The language a target's reasoning drifts into in these cases (English, or Chinese for English)."""
    return "zh" if target == "en" else "en"


def _cycle(items: tuple[str, ...], n: int, offset: int = 0) -> list[str]:
    return [items[(offset + i) % len(items)] for i in range(n)]


def _merge_cases() -> list[Case]:
    """Short sentences next to long ones across a switch, both ways, on one line and on separate lines."""
    cases = []
    for target in TARGETS:
        foreign = _foreign(target)
        for joiner, layout in ((" ", "line"), ("\n", "lines")):
            # a short target sentence before each long foreign one (the farming shape of issue 16)
            parts = []
            for i, long in enumerate(_cycle(LONG[foreign], 4)):
                parts += [(target, SHORT[target][i % len(SHORT[target])]), (foreign, long)]
            cases.append(build(f"merge-{target}-short-target-{layout}", "merge", target, parts, joiner))
            # a short foreign sentence before each long target one
            parts = []
            for i, long in enumerate(_cycle(LONG[target], 4, 1)):
                parts += [(foreign, SHORT[foreign][i % len(SHORT[foreign])]), (target, long)]
            cases.append(build(f"merge-{target}-short-foreign-{layout}", "merge", target, parts, joiner))
        # alternating long sentences, and one short sentence of each at the end
        parts = []
        for i in range(3):
            parts += [(target, LONG[target][i]), (foreign, LONG[foreign][i])]
        parts += [(target, SHORT[target][0]), (foreign, SHORT[foreign][1])]
        cases.append(build(f"merge-{target}-alternating", "merge", target, parts))
    return cases


def _number_cases() -> list[Case]:
    """Sentences ending in a number right before a switch (and after one)."""
    cases = []
    for target in TARGETS:
        foreign = _foreign(target)
        parts = []
        for i in range(3):
            parts += [(target, NUMBER_END[target][i]), (foreign, LONG[foreign][i])]
        cases.append(build(f"number-{target}-target-ends", "number", target, parts))
        parts = []
        for i in range(3):
            parts += [(foreign, NUMBER_END[foreign][i]), (target, LONG[target][i + 1])]
        cases.append(build(f"number-{target}-foreign-ends", "number", target, parts))
        parts = [(target, LONG[target][0]), (target, NUMBER_END[target][0]), (target, NUMBER_END[target][1])]
        parts += [(foreign, NUMBER_END[foreign][2]), (target, LONG[target][1])]
        cases.append(build(f"number-{target}-mixed", "number", target, parts))
    return cases


def _switch_cases() -> list[Case]:
    """Code-switching inside sentences: English fillers and clauses in target sentences, Latin in CJK."""
    cases = []
    for target in ("zh", "fr", "de", "es", "ru", "ar", "ko"):
        longs = LONG[target]
        # a leading English filler on every target sentence
        parts = []
        for i, long in enumerate(_cycle(longs, 4)):
            parts += [("en", EN_LEADING[i % len(EN_LEADING)]), (target, long)]
        cases.append(build(f"switch-{target}-leading-fillers", "switch", target, parts))
        # English filler sentences between target sentences
        parts = []
        for i, long in enumerate(_cycle(longs, 4, 2)):
            parts += [(target, long), ("en", EN_FILLERS[i % len(EN_FILLERS)])]
        cases.append(build(f"switch-{target}-filler-sentences", "switch", target, parts))
        # a target clause, then an English one, in the same sentence
        parts = []
        for i, long in enumerate(_cycle(longs, 3, 1)):
            parts += [(target, long.rstrip(".。")), ("en", EN_TRAILING[i % len(EN_TRAILING)])]
        cases.append(build(f"switch-{target}-trailing-clauses", "switch", target, parts, ""))
        # English phrases in the middle of target text
        parts = [
            (target, longs[0]),
            ("en", "Then the answer is the number of apples we found"),
            (target, longs[1]),
            ("en", "and we are done with this step"),
            (target, longs[2]),
        ]
        cases.append(build(f"switch-{target}-mid-phrases", "switch", target, parts))
    return cases


def _units_cases() -> list[Case]:
    """Korean, Chinese and Japanese against English: per word, per character, per character."""
    cases = []
    for target in ("ko", "zh", "ja"):
        for share_of_target in (1, 2, 3):
            parts = []
            for i in range(3):
                if i < share_of_target:
                    parts.append((target, LONG[target][i]))
                parts.append(("en", LONG["en"][i]))
            for lang in (target, "en"):
                cases.append(
                    build(f"units-{target}-{share_of_target}of3-target-{lang}", "units", lang, parts)
                )
    return cases


CLEAN_TEXTS: dict[str, str] = {
    "en": r"""Let $f(x) = x^2 + 3x$. Then
\[ f'(x) = 2x + 3 \]
and the derivative vanishes at $x = -\frac{3}{2}$, which is a minimum since $f''(x) = 2 > 0$.
```python
def f(x):
    return x ** 2 + 3 * x
print(f(-1.5))  # the minimum value
```
The program prints the value we expected, so the reasoning holds.
x^2 + 3x = 0 gives x = 0 or x = -3, both of which we check directly.""",
    "zh": r"""设 $f(x) = x^2 + 3x$，则
\[ f'(x) = 2x + 3 \]
所以导数在 $x = -\frac{3}{2}$ 处为零，又因为 $f''(x) = 2 > 0$，这是一个最小值。
```python
def f(x):
    return x ** 2 + 3 * x
print(f(-1.5))
```
程序输出的值和我们预期的一样，所以推理是正确的。
由 x^2 + 3x = 0 得到 x = 0 或 x = -3，我们分别代入验证。""",
    "fr": r"""Posons $f(x) = x^2 + 3x$. Alors
\[ f'(x) = 2x + 3 \]
et la dérivée s'annule en $x = -\frac{3}{2}$, ce qui est un minimum puisque $f''(x) = 2 > 0$.
```python
def f(x):
    return x ** 2 + 3 * x
print(f(-1.5))  # the minimum value
```
Le programme affiche la valeur attendue, donc le raisonnement tient.
x^2 + 3x = 0 donne x = 0 ou x = -3, et nous vérifions les deux directement.""",
    "de": r"""Sei $f(x) = x^2 + 3x$. Dann gilt
\[ f'(x) = 2x + 3 \]
und die Ableitung verschwindet bei $x = -\frac{3}{2}$, was ein Minimum ist, da $f''(x) = 2 > 0$.
```python
def f(x):
    return x ** 2 + 3 * x
print(f(-1.5))  # the minimum value
```
Das Programm gibt den erwarteten Wert aus, also stimmt die Überlegung.
Aus x^2 + 3x = 0 folgt x = 0 oder x = -3, und wir prüfen beide direkt.""",
    "es": r"""Sea $f(x) = x^2 + 3x$. Entonces
\[ f'(x) = 2x + 3 \]
y la derivada se anula en $x = -\frac{3}{2}$, que es un mínimo porque $f''(x) = 2 > 0$.
```python
def f(x):
    return x ** 2 + 3 * x
print(f(-1.5))  # the minimum value
```
El programa muestra el valor esperado, así que el razonamiento es correcto.
De x^2 + 3x = 0 se obtiene x = 0 o x = -3, y comprobamos ambos directamente.""",
    "ru": r"""Пусть $f(x) = x^2 + 3x$. Тогда
\[ f'(x) = 2x + 3 \]
и производная обращается в ноль при $x = -\frac{3}{2}$, это минимум, так как $f''(x) = 2 > 0$.
```python
def f(x):
    return x ** 2 + 3 * x
```
Программа выводит ожидаемое значение, значит рассуждение верно.""",
    "ar": r"""لتكن $f(x) = x^2 + 3x$. إذن
\[ f'(x) = 2x + 3 \]
والمشتقة تنعدم عند $x = -\frac{3}{2}$ وهذه قيمة صغرى لأن $f''(x) = 2 > 0$.
```python
def f(x):
    return x ** 2 + 3 * x
```
البرنامج يطبع القيمة المتوقعة، لذلك الاستدلال صحيح.""",
    "ko": r"""$f(x) = x^2 + 3x$ 라고 합시다. 그러면
\[ f'(x) = 2x + 3 \]
이고 도함수는 $x = -\frac{3}{2}$ 에서 영이 되며, $f''(x) = 2 > 0$ 이므로 최솟값입니다.
```python
def f(x):
    return x ** 2 + 3 * x
```
프로그램이 예상한 값을 출력하므로 추론이 맞습니다.""",
}
# Words of the clean texts outside math and code that are still not target words by construction: none.
# (Single-letter variables outside math, such as "x = 0", are math tokens and removed; see rewards.text.)


def _clean_cases() -> list[Case]:
    return [Case(f"clean-{lang}-math-code", "clean", lang, text, 1.0) for lang, text in CLEAN_TEXTS.items()]


CASES: list[Case] = _merge_cases() + _number_cases() + _switch_cases() + _units_cases() + _clean_cases()
