"""Language-consistency throughput against its floor, measured in one run (issue 5, report 3).

Ours: :func:`rewards.language.score_language` on each reasoning (cleaning, segmentation, one fastText call
per merged segment, the restricted decision, the counting). Floor: bare fastText ``predict`` (the public
``model.predict(line)``, top label) over the same text split into lines, newlines removed, empty lines
skipped: the least work any per-line detector must do. Both run on the same texts in the same process,
several rounds; each side's best round is reported in MB/s of reasoning text (UTF-8) and the
ratio ours / floor (goal: at least 0.5). Time is the process's CPU time, the two sides alternating on small
chunks, so other load on a shared machine moves both alike.

The texts are deterministic reasoning of about 2 kB each, in eight languages, laid out as models write
it: paragraphs of one to three sentences separated by blank lines, inline math in a third of the
sentences, a display equation or a short numeric check in some paragraphs. ``--layout single-line`` puts
each reasoning on one line instead (a floor of one call per text: the hardest comparison).

``--accuracy`` scores the case tables of ``tests/rewards/language_cases.py`` (mixed-language reasoning whose
true share of target-language words is known by construction, and clean reasoning heavy with math and code)
and the farming attempts of ``tests/rewards/test_language_farming.py``, and prints the mean absolute error,
the cases off by more than 0.15, the worst case, and the largest gain of a farming attempt over its true share.

Usage:
    python -m bench.language                # table
    python -m bench.language --json         # one JSON line
    python -m bench.language --accuracy     # error against true shares, per family
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import fasttext

from rewards.config import LanguageConfig
from rewards.language import load_model, model_path, score_language
from rewards.regions import Regions

SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "First we compute the total number of apples in both baskets.",
        "Then we subtract the ones that were given away to the neighbours.",
        "Let me check this step again, because the sign matters here.",
        "This means the answer must be a whole number, so the fraction cancels.",
        "Wait, I made a mistake in the previous line.",
        "So the remaining amount is what we are looking for.",
    ),
    "fr": (
        "Nous calculons d'abord le nombre total de pommes dans les deux paniers.",
        "Ensuite nous retirons celles qui ont été données aux voisins.",
        "Vérifions encore une fois cette étape, car le signe est important ici.",
        "Cela signifie que la réponse doit être un nombre entier, donc la fraction se simplifie.",
        "Attends, je me suis trompé à la ligne précédente.",
        "Donc la quantité restante est celle que nous cherchons.",
    ),
    "de": (
        "Zuerst berechnen wir die Gesamtzahl der Äpfel in beiden Körben.",
        "Dann ziehen wir die ab, die den Nachbarn geschenkt wurden.",
        "Lass mich diesen Schritt noch einmal prüfen, denn das Vorzeichen ist wichtig.",
        "Das bedeutet, dass die Antwort eine ganze Zahl sein muss, also kürzt sich der Bruch.",
        "Moment, in der vorherigen Zeile habe ich einen Fehler gemacht.",
        "Also ist die verbleibende Menge genau das, was wir suchen.",
    ),
    "es": (
        "Primero calculamos el número total de manzanas en las dos cestas.",
        "Luego restamos las que fueron regaladas a los vecinos.",
        "Voy a revisar este paso otra vez, porque el signo importa aquí.",
        "Esto significa que la respuesta debe ser un número entero, así que la fracción se simplifica.",
        "Espera, cometí un error en la línea anterior.",
        "Entonces la cantidad restante es lo que buscamos.",
    ),
    "zh": (
        "我们首先计算两个篮子里苹果的总数。",
        "然后减去送给邻居的那些苹果。",
        "让我再仔细检查一下这一步，因为符号在这里很重要。",
        "这意味着答案必须是一个整数，所以分数可以约掉。",
        "等一下，我在上一行算错了。",
        "所以剩下的数量就是我们要找的答案。",
    ),
    "ru": (
        "Сначала мы вычисляем общее количество яблок в обеих корзинах.",
        "Затем вычитаем те, которые были отданы соседям.",
        "Давайте ещё раз проверим этот шаг, потому что здесь важен знак.",
        "Это значит, что ответ должен быть целым числом, поэтому дробь сокращается.",
        "Подождите, я ошибся в предыдущей строке.",
        "Итак, оставшееся количество и есть то, что мы ищем.",
    ),
    "ja": (
        "まず二つのかごに入っているりんごの合計数を計算します。",
        "次に近所の人にあげたりんごを引きます。",
        "符号が大事なので、この手順をもう一度確認しましょう。",
        "つまり答えは整数でなければならないので、分数は約分できます。",
        "待って、前の行で間違えました。",
        "したがって、残りの数が求める答えです。",
    ),
    "ar": (
        "أولاً نحسب العدد الكلي للتفاح في السلتين.",
        "ثم نطرح التفاح الذي أُعطي للجيران.",
        "دعني أتحقق من هذه الخطوة مرة أخرى لأن الإشارة مهمة هنا.",
        "هذا يعني أن الجواب يجب أن يكون عدداً صحيحاً، لذلك يختصر الكسر.",
        "انتظر، لقد أخطأت في السطر السابق.",
        "إذن الكمية المتبقية هي ما نبحث عنه.",
    ),
}
LANGUAGES: tuple[str, ...] = tuple(SENTENCES)


def _math(rng: random.Random) -> str:
    a, b, c = rng.randint(2, 99), rng.randint(2, 99), rng.randint(2, 9)
    return rng.choice(
        (
            f"${a} + {b} = {a + b}$",
            f"$x^{c} - {a}x + {b} = 0$",
            f"$\\frac{{{a}}}{{{b}}} \\cdot {c}$",
            f"$\\sqrt{{{a}}} \\approx {a**0.5:.3f}$",
        )
    )


def reasoning(lang: str, rng: random.Random, size_bytes: int = 2048, layout: str = "paragraphs") -> str:
    """Deterministic reasoning in ``lang`` of about ``size_bytes`` UTF-8 bytes.

    Example:
        >>> text = reasoning("fr", random.Random(0))
        >>> 1800 < len(text.encode()) <= 2048 and "\\n\\n" in text
        True
    """
    sentences = SENTENCES[lang]
    paragraphs: list[str] = []
    used = 0
    while True:
        parts = []
        for _ in range(rng.randint(1, 3)):
            sentence = rng.choice(sentences)
            if rng.random() < 0.33:
                sentence = f"{sentence} {_math(rng)}"
            parts.append(sentence)
        if rng.random() < 0.25:
            a, b = rng.randint(10, 999), rng.randint(10, 999)
            parts.append(
                f"\n\\[ {a} \\times {b} = {a * b} \\]" if rng.random() < 0.5 else f"\n{a} * {b} = {a * b}"
            )
        paragraph = " ".join(parts)
        cost = len(paragraph.encode()) + 2
        if paragraphs and used + cost > size_bytes:
            break
        paragraphs.append(paragraph)
        used += cost
    return (
        ("\n\n" if layout == "paragraphs" else " ")
        .join(paragraphs)
        .replace("\n", "\n" if layout == "paragraphs" else " ")
    )


def corpus(
    n: int, *, seed: int = 0, size_bytes: int = 2048, layout: str = "paragraphs"
) -> list[tuple[str, str]]:
    """``n`` (lang, reasoning) pairs cycling through :data:`LANGUAGES`.

    Example:
        >>> [lang for lang, _ in corpus(3)]
        ['en', 'fr', 'de']
    """
    rng = random.Random(f"bench-language-{seed}")
    return [
        (LANGUAGES[i % len(LANGUAGES)], reasoning(LANGUAGES[i % len(LANGUAGES)], rng, size_bytes, layout))
        for i in range(n)
    ]


def _ours(texts: Sequence[tuple[str, str]]) -> Callable[[int, int], list[float | None]]:
    config = LanguageConfig()
    regions = [(Regions(False, True, 1, 1, text, " 4"), lang) for lang, text in texts]

    def run(start: int, stop: int) -> list[float | None]:
        return [score_language(r, lang, None, config)[0] for r, lang in regions[start:stop]]

    return run


def _floor(texts: Sequence[tuple[str, str]]) -> Callable[[int, int], int]:
    model = fasttext.load_model(model_path())
    predict = model.predict

    def run(start: int, stop: int) -> int:
        calls = 0
        for _, text in texts[start:stop]:
            for line in text.split("\n"):
                if line:
                    predict(line)
                    calls += 1
        return calls

    return run


def measure(n: int = 400, rounds: int = 5, layout: str = "paragraphs", chunk: int = 20) -> dict[str, Any]:
    """Best-of-``rounds`` throughput of ours and of the floor on the same ``n`` texts.

    Within a round the two sides alternate on chunks of ``chunk`` texts, and each is timed in CPU time
    of this process (``time.process_time``), so that other load on a shared machine moves both alike.

    Example:
        >>> measure(16, rounds=1)["texts"]
        16
    """
    texts = corpus(n, layout=layout)
    megabytes = sum(len(text.encode()) for _, text in texts) / 1e6
    load_model()
    ours, floor = _ours(texts), _floor(texts)
    scores = ours(0, n)
    calls = floor(0, n)
    best_ours = best_floor = float("inf")
    clock = time.process_time
    for _ in range(rounds):
        spent_ours = spent_floor = 0.0
        for start in range(0, n, chunk):
            t0 = clock()
            ours(start, start + chunk)
            t1 = clock()
            floor(start, start + chunk)
            t2 = clock()
            spent_ours += t1 - t0
            spent_floor += t2 - t1
        best_ours, best_floor = min(best_ours, spent_ours), min(best_floor, spent_floor)
    known = [s for s in scores if s is not None]
    return {
        "bench": "language",
        "layout": layout,
        "texts": n,
        "megabytes": round(megabytes, 3),
        "ours_mb_s": round(megabytes / best_ours, 3),
        "floor_mb_s": round(megabytes / best_floor, 3),
        "ratio": round(best_floor / best_ours, 3),
        "floor_calls": calls,
        "mean_score": round(sum(known) / len(known), 4) if known else None,
        "min_score": round(min(known), 4) if known else None,
    }


def accuracy() -> dict[str, Any]:
    """Error of the language score against the true shares of the case tables, and farming gains.

    Example:
        >>> result = accuracy()
        >>> result["cases"] > 100 and 0.0 <= result["mae"] <= 1.0
        True
    """
    from tests.rewards.language_cases import CASES
    from tests.rewards.test_language_farming import CASES as FARMING

    config = LanguageConfig()

    def score(text: str, target: str) -> float:
        value = score_language(Regions(False, True, 1, 1, text, " 4"), target, None, config)[0]
        assert value is not None
        return value

    rows = [(case.name, case.family, case.true_share, score(case.reasoning, case.target)) for case in CASES]
    errors = [abs(value - true) for _, _, true, value in rows]
    families: dict[str, list[float]] = {}
    for (_, family, _, _), error in zip(rows, errors, strict=True):
        families.setdefault(family, []).append(error)
    worst = max(range(len(rows)), key=errors.__getitem__)
    gains = [
        (score(case.reasoning, target) - case.true_share, f"{target}-{case.name}") for target, case in FARMING
    ]
    best_gain = max(gains)
    return {
        "bench": "language-accuracy",
        "cases": len(rows),
        "mae": round(sum(errors) / len(errors), 4),
        "over_0_15": sum(error > 0.15 for error in errors),
        "worst": {"case": rows[worst][0], "true": rows[worst][2], "score": round(rows[worst][3], 4)},
        "families": {
            family: {"cases": len(errs), "mae": round(sum(errs) / len(errs), 4), "max": round(max(errs), 4)}
            for family, errs in families.items()
        },
        "farming_attempts": len(gains),
        "farming_max_gain": {"attempt": best_gain[1], "gain": round(best_gain[0], 4)},
    }


def _print_accuracy(result: dict[str, Any]) -> None:
    print(f"language accuracy, {result['cases']} cases with known true shares")
    print("  family    cases   MAE      max error")
    for family, row in result["families"].items():
        print(f"  {family:8s}  {row['cases']:5d}   {row['mae']:.4f}   {row['max']:.4f}")
    worst = result["worst"]
    print(f"  all       {result['cases']:5d}   {result['mae']:.4f}   (goal <= 0.02)")
    print(f"  off by more than 0.15: {result['over_0_15']}   (goal: at most 3 of 130)")
    print(f"  worst case: {worst['case']} (true {worst['true']}, scored {worst['score']})")
    gain = result["farming_max_gain"]
    print(
        f"  farming: {result['farming_attempts']} attempts, largest gain over the true share "
        f"{gain['gain']:+.4f} ({gain['attempt']}; goal <= 0.1)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--texts", type=int, default=400, help="number of ~2 kB reasonings")
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved rounds; the best of each side counts"
    )
    parser.add_argument("--layout", choices=("paragraphs", "single-line"), default="paragraphs")
    parser.add_argument("--json", action="store_true", help="print one machine-readable JSON line")
    parser.add_argument(
        "--accuracy", action="store_true", help="error against true shares and farming gains, not speed"
    )
    args = parser.parse_args(argv)
    if args.accuracy:
        report = accuracy()
        if args.json:
            print(json.dumps(report))
        else:
            _print_accuracy(report)
        return 0
    result = measure(args.texts, args.rounds, args.layout)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"language scoring, {result['texts']} texts, {result['megabytes']} MB, layout {result['layout']}")
    print(
        f"  ours   {result['ours_mb_s']:8.3f} MB/s   (mean score {result['mean_score']}, min {result['min_score']})"
    )
    print(
        f"  floor  {result['floor_mb_s']:8.3f} MB/s   (bare fastText predict, {result['floor_calls']} lines)"
    )
    print(f"  ratio  {result['ratio']:8.3f}        (goal >= 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
