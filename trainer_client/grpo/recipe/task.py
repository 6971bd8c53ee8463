"""The recipe's task: two-digit additions asked and reasoned in words, in five languages.

Each problem is asked in one of :data:`LANGS`, and that language is the reasoning's target. The careful
reasoning is column addition told in three short sentences (units, tens with the carry, the result), with the
numbers written in digits between the words; the sloppy one adds in a single sentence. Every sentence is
long enough (five words or more once the digits are removed) for lid.176 to identify it on its own, which is
what the service's segment-level language score needs.

Language mixing, as DeepSeek-R1-Zero showed it: from a sentence on, the reasoning switches to the language
policies drift to (English, or Chinese when the target is English) and stays there.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LANGS: tuple[str, ...] = ("en", "zh", "fr", "de", "es")

QUESTIONS: dict[str, str] = {
    "en": "What is the sum of {a} and {b}?",
    "zh": "{a}加{b}等于多少？",
    "fr": "Quelle est la somme de {a} et {b} ?",
    "de": "Was ist die Summe von {a} und {b}?",
    "es": "¿Cuál es la suma de {a} y {b}?",
}
# (units, tens with the carry, result): the careful reasoning, one sentence each. No sentence ends with a
# number: the service's text cleaning removes a number together with the full stop after it, and the two
# sentences around it would then be read as one segment.
STEPS: dict[str, tuple[str, str, str]] = {
    "en": (
        "First I add the units digits, and {x} plus {y} makes {s} units.",
        "Then I add the tens digits with the carry, and {x} plus {y} plus {c} makes {s} tens.",
        "So {n} is the sum of the two numbers.",
    ),
    "zh": (
        "首先把个位上的数字相加，{x}加{y}得{s}个一。",
        "然后把十位上的数字和进位相加，{x}加{y}加{c}得{s}个十。",
        "所以{n}是这两个数的和。",
    ),
    "fr": (
        "D'abord j'additionne les chiffres des unités, et {x} plus {y} donne {s} unités.",
        "Ensuite j'additionne les dizaines avec la retenue, et {x} plus {y} plus {c} donne {s} dizaines.",
        "Donc {n} est la somme des deux nombres.",
    ),
    "de": (
        "Zuerst addiere ich die Ziffern der Einer, und {x} plus {y} ergibt {s} Einer.",
        "Dann addiere ich die Zehner mit dem Übertrag, und {x} plus {y} plus {c} ergibt {s} Zehner.",
        "Also ist {n} die Summe der beiden Zahlen.",
    ),
    "es": (
        "Primero sumo las cifras de las unidades, y {x} más {y} son {s} unidades.",
        "Luego sumo las decenas con lo que me llevo, y {x} más {y} más {c} son {s} decenas.",
        "Entonces {n} es la suma de los dos números.",
    ),
}
# The sloppy reasoning: the whole sum in one go.
SHORTCUT: dict[str, str] = {
    "en": "I add the two numbers at once, and {a} plus {b} makes {n} in total.",
    "zh": "我直接把两个数相加，{a}加{b}一共得{n}个。",
    "fr": "J'additionne les deux nombres d'un coup, et {a} plus {b} donne {n} au total.",
    "de": "Ich addiere die beiden Zahlen auf einmal, und {a} plus {b} ergibt {n} insgesamt.",
    "es": "Sumo los dos números de una vez, y {a} más {b} son {n} en total.",
}


def drift_language(target: str) -> str:
    """The language a reasoning in ``target`` drifts to: English, or Chinese for English.

    Example:
        >>> drift_language("fr"), drift_language("en")
        ('en', 'zh')
    """
    return "zh" if target == "en" else "en"


@dataclass(frozen=True)
class Problem:
    """One addition asked in one language.

    Example:
        >>> Problem(45, 28, "en").answer, Problem(45, 28, "en").question
        (73, 'What is the sum of 45 and 28?')
    """

    a: int
    b: int
    lang: str

    @property
    def answer(self) -> int:
        """The sum."""
        return self.a + self.b

    @property
    def question(self) -> str:
        """The question in the problem's language."""
        return QUESTIONS[self.lang].format(a=self.a, b=self.b)

    def sentences(self, lang: str | None = None) -> list[str]:
        """The careful reasoning's three sentences, in ``lang`` (default: the problem's).

        Example:
            >>> Problem(45, 28, "en").sentences()[1]
            'Then I add the tens digits with the carry, and 4 plus 2 plus 1 makes 7 tens.'
        """
        lang = lang or self.lang
        units, tens, result = STEPS[lang]
        u = self.a % 10 + self.b % 10
        carry = u // 10
        t = self.a // 10 + self.b // 10 + carry
        return [
            units.format(x=self.a % 10, y=self.b % 10, s=u),
            tens.format(x=self.a // 10, y=self.b // 10, c=carry, s=t),
            result.format(n=self.answer),
        ]

    def reasoning(self, *, shortcut: bool = False, switch_at: int | None = None) -> str:
        """The reasoning text: careful or shortcut, switching to the drift language from sentence
        ``switch_at`` on (``None``: never).

        Example:
            >>> Problem(45, 28, "fr").reasoning(switch_at=2)
            "D'abord j'additionne les chiffres des unités, et 5 plus 8 donne 13 unités. Ensuite j'additionne les dizaines avec la retenue, et 4 plus 2 plus 1 donne 7 dizaines. So 73 is the sum of the two numbers."
        """
        if shortcut:
            lang = self.lang if switch_at is None else drift_language(self.lang)
            return SHORTCUT[lang].format(a=self.a, b=self.b, n=self.answer)
        own, drift = self.sentences(), self.sentences(drift_language(self.lang))
        parts = [drift[i] if switch_at is not None and i >= switch_at else own[i] for i in range(3)]
        return _join(parts)


def _join(sentences: list[str]) -> str:
    # Chinese sentences end in "。" and need no space; the others are separated by one
    out = ""
    for s in sentences:
        out += s if not out or out.endswith("。") or s[0] >= "\u4e00" else " " + s
    return out


def split_problems(
    *, train_size: int, eval_size: int, seed: int = 0, langs: tuple[str, ...] = LANGS
) -> tuple[list[Problem], list[Problem]]:
    """Train and held-out problems; no (a, b) pair of the held-out split appears in train.

    The held-out split cycles through the languages so each has the same share.

    Example:
        >>> train, held = split_problems(train_size=50, eval_size=10, seed=0)
        >>> {(p.a, p.b) for p in train}.isdisjoint((p.a, p.b) for p in held), len(held)
        (True, 10)
    """
    rng = random.Random(f"recipe-task-{seed}")
    pairs = [(a, b) for a in range(10, 100) for b in range(10, 100)]
    rng.shuffle(pairs)
    if eval_size + 1 > len(pairs):
        raise ValueError("eval_size leaves no pair for training")
    held = [Problem(a, b, langs[i % len(langs)]) for i, (a, b) in enumerate(pairs[:eval_size])]
    rest = pairs[eval_size:]
    train = [Problem(*rest[i % len(rest)], rng.choice(langs)) for i in range(train_size)]
    return train, held
