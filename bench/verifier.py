"""Our accuracy checker against Math-Verify 0.9.0, on the same cases, in one process.

For each category it prints the number of cases, the right verdicts of each checker, pairs per second of
each (caches cold), and the ratio ours/theirs. Categories:

- ``table``: the accuracy case table (``tests/rewards/math_cases.py``), when present. A verdict is right when
  "accepted" agrees with "the table says equivalent".
- ``integer``: GSM8K-style items (:func:`bench.common.gsm8k_cases`): about 2 kB of reasoning, then
  ``#### N`` or ``\\boxed{N}``; half right, half wrong; every reference distinct.
- ``latex``: MATH-style items (:func:`bench.common.latex_cases`): fractions, radicals, intervals, matrices, pi
  expressions; half right, half wrong, often in another equivalent form; every reference distinct.

Ours: ``rewards.accuracy.score_accuracy`` on ``split_regions(completion, prompt).answer``, with the prompt (it
decides how a percentage is read); "accepted" means a score of 1. Math-Verify, by default in its strongest configuration: the reference parsed as LaTeX
(``parse("$gold$", [LatexExtractionConfig()])``) and, when that finds nothing, with a plain ``parse(gold)``;
the whole completion (as trainers pass it) parsed with the default extraction (LaTeX, then plain
expressions); then ``verify``. ``--trl`` instead copies TRL's ``accuracy_reward`` exactly: ``parse(gold)``,
and the completion with ``LatexExtractionConfig(normalization_config=NormalizationConfig(units=True),
boxed_match_priority=0, try_extract_without_anchor=False)`` and ``extraction_mode="first_match"`` (which
misses plain-number answers such as ``#### 17``). Both run in the main thread with TRL's time limits (10 s
parsing, 5 s verifying, by ``signal.alarm``).

Both run cold: our caches and Math-Verify's are cleared before every timed round, and the generated
categories never repeat a reference. Each category is timed over ``--rounds`` rounds; the median counts.

Usage:
    python -m bench.verifier [--integer N] [--latex N] [--rounds R] [--trl] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.common import gsm8k_cases, latex_cases
from rewards.accuracy import clear_caches, score_accuracy
from rewards.config import AccuracyConfig
from rewards.regions import split_regions


@dataclass(frozen=True, slots=True)
class Pair:
    """One benchmark pair: reference, completion, optional prompt, and whether it is equivalent."""

    gold: str
    completion: str
    prompt: str | None
    equivalent: bool


@dataclass(frozen=True, slots=True)
class Row:
    """One category's figures."""

    category: str
    cases: int
    ours_right: int
    theirs_right: int
    ours_per_s: float
    theirs_per_s: float

    @property
    def ratio(self) -> float:
        """Our speed over Math-Verify's."""
        return self.ours_per_s / self.theirs_per_s if self.theirs_per_s else float("inf")


def table_pairs() -> list[Pair]:
    """The accuracy case table, or nothing when it is not there.

    Example:
        >>> all(isinstance(p, Pair) for p in table_pairs())
        True
    """
    try:
        from tests.rewards.math_cases import CASES
    except ImportError:
        return []
    return [Pair(c.gold, c.completion, c.prompt, c.expected == "equivalent") for c in CASES]


def generated_pairs(kind: str, n: int) -> list[Pair]:
    """``n`` generated pairs of one kind (``integer`` or ``latex``), every reference distinct.

    Example:
        >>> [p.equivalent for p in generated_pairs("integer", 2)]
        [True, False]
    """
    cases = gsm8k_cases(n) if kind == "integer" else latex_cases(n)
    return [Pair(c.gold, c.completion, c.item.get("prompt"), c.correct) for c in cases]


# -- the two checkers: each returns "accepted" per pair


def ours(pairs: Sequence[Pair]) -> list[bool]:
    """Our verdicts (score 1.0 means accepted)."""
    config = AccuracyConfig()
    out = []
    for p in pairs:
        answer = split_regions(p.completion, p.prompt).answer
        score, _ = score_accuracy(answer, p.gold, config, prompt=p.prompt)
        out.append(score == 1.0)
    return out


def _math_verify() -> tuple[Callable[..., Any], Callable[..., Any], list[Any], Callable[[], None]]:
    import math_verify.parser as mv_parser
    from latex2sympy2_extended.latex2sympy2 import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse, verify

    for name in ("math_verify", "math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    answer_config = [
        LatexExtractionConfig(
            normalization_config=NormalizationConfig(units=True),
            boxed_match_priority=0,
            try_extract_without_anchor=False,
        )
    ]

    def clear() -> None:
        mv_parser.parse_latex_cached.cache_clear()
        mv_parser.parse_expr_cached.cache_clear()

    return parse, verify, answer_config, clear


def theirs(pairs: Sequence[Pair], trl: bool = False) -> list[bool]:
    """Math-Verify's verdicts (an unparseable reference counts as not accepted); see the module docstring."""
    from math_verify import LatexExtractionConfig

    parse, verify, answer_config, _ = _math_verify()
    gold_config = [LatexExtractionConfig()]
    out = []
    for p in pairs:
        if trl:
            gold = parse(p.gold, parsing_timeout=10)
        else:
            gold = parse(f"${p.gold}$", extraction_config=gold_config, parsing_timeout=10) or parse(
                p.gold, parsing_timeout=10
            )
        if not gold:
            out.append(False)
            continue
        if trl:
            answer = parse(
                p.completion,
                extraction_config=answer_config,
                extraction_mode="first_match",
                parsing_timeout=10,
            )
        else:
            answer = parse(p.completion, parsing_timeout=10)
        out.append(bool(verify(gold, answer, timeout_seconds=5)))
    return out


def theirs_trl(pairs: Sequence[Pair]) -> list[bool]:
    """Math-Verify exactly as TRL's ``accuracy_reward`` calls it."""
    return theirs(pairs, trl=True)


def _timed(
    check: Callable[[Sequence[Pair]], list[bool]],
    clear: Callable[[], None],
    pairs: Sequence[Pair],
    rounds: int,
) -> tuple[float, list[bool]]:
    """(median pairs/s over ``rounds`` cold rounds, verdicts of the last round)."""
    rates = []
    verdicts: list[bool] = []
    for _ in range(rounds):
        clear()
        started = time.perf_counter()
        verdicts = check(pairs)
        elapsed = time.perf_counter() - started
        rates.append(len(pairs) / elapsed if elapsed > 0 else float("inf"))
    return statistics.median(rates), verdicts


def run_category(name: str, pairs: Sequence[Pair], rounds: int, trl: bool = False) -> Row:
    """Time both checkers on ``pairs`` and count their right verdicts."""
    _, _, _, clear_theirs = _math_verify()
    ours_rate, ours_verdicts = _timed(ours, clear_caches, pairs, rounds)
    theirs_rate, theirs_verdicts = _timed(theirs_trl if trl else theirs, clear_theirs, pairs, rounds)
    return Row(
        category=name,
        cases=len(pairs),
        ours_right=sum(v == p.equivalent for v, p in zip(ours_verdicts, pairs, strict=True)),
        theirs_right=sum(v == p.equivalent for v, p in zip(theirs_verdicts, pairs, strict=True)),
        ours_per_s=ours_rate,
        theirs_per_s=theirs_rate,
    )


def warm_up() -> None:
    """Load both checkers' grammars and imports outside the timed rounds."""
    warm = [
        Pair("\\frac{1}{2}", "so \\boxed{0.5}", None, True),
        Pair("\\{1,2\\}", "\\boxed{\\int_0^1 x dx}", None, False),
    ]
    ours(warm)
    theirs(warm)


def format_table(rows: Sequence[Row]) -> str:
    """The plain-text table."""
    head = f"{'category':<10} {'cases':>6} {'right (ours)':>13} {'right (MV)':>11} {'ours/s':>10} {'MV/s':>9} {'ratio':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.category:<10} {r.cases:>6} {r.ours_right:>13} {r.theirs_right:>11} "
            f"{r.ours_per_s:>10.0f} {r.theirs_per_s:>9.0f} {r.ratio:>6.1f}x"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison and print the table (and a JSON line with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--integer", type=int, default=1000, help="generated GSM8K-style pairs")
    parser.add_argument("--latex", type=int, default=500, help="generated MATH-style LaTeX pairs")
    parser.add_argument("--rounds", type=int, default=3, help="timed cold rounds per category (median)")
    parser.add_argument("--json", action="store_true", help="also print one JSON line with the figures")
    parser.add_argument(
        "--trl", action="store_true", help="call Math-Verify exactly as TRL's accuracy_reward"
    )
    args = parser.parse_args(argv)

    warm_up()
    rows = []
    table = table_pairs()
    if table:
        rows.append(run_category("table", table, args.rounds, args.trl))
    rows.append(run_category("integer", generated_pairs("integer", args.integer), args.rounds, args.trl))
    rows.append(run_category("latex", generated_pairs("latex", args.latex), args.rounds, args.trl))
    print(format_table(rows))
    if args.json:
        payload = {
            "bench": "verifier",
            "python": sys.version.split()[0],
            "rounds": args.rounds,
            "math_verify_call": "trl" if args.trl else "strongest",
            "rows": [{**asdict(r), "ratio": round(r.ratio, 2)} for r in rows],
        }
        print(json.dumps(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
