"""The recipe's data sets, all generated from :mod:`.task`: prompts, the base model's pretraining text and
R1's cold-start set.

- Prompts (``id``, ``prompt``, ``answer``, ``lang``) are what the trainer and the evaluation read.
- Pretraining text for R1-Zero's "base" model: the answer to each question written in one of several
  layouts, only one of which is R1's (``<think>`` reasoning ``</think>`` then ``\\boxed{}``). A base model
  has seen that layout only now and then, among others, so asked with R1-Zero's template it rarely uses it.
- Cold-start SFT rows for R1: the R1 format always, but most reasonings switch language mid-way, as
  R1-Zero's did.
"""

from __future__ import annotations

import random
from typing import Any

from trainer_client.grpo.recipe.task import Problem

# Base-model layouts and their shares. R1's layout is one of five; the commonest answers first and
# explains after, as much web text does (and a small model cannot add two numbers in one step).
LAYOUTS: dict[str, float] = {
    "answer_first": 0.45,  # \boxed{} first, then the reasoning
    "plain": 0.20,  # reasoning, then \boxed{}
    "think": 0.15,  # R1's: <think> reasoning </think> \boxed{}
    "closing_only": 0.10,  # reasoning, a stray </think>, then \boxed{}
    "unclosed": 0.10,  # <think> reasoning \boxed{}, never closed
}


def prompt_rows(problems: list[Problem], prefix: str) -> list[dict[str, Any]]:
    """Rows of prompts for the trainer's ``data``/``eval_data`` files.

    Example:
        >>> prompt_rows([Problem(45, 28, "de")], "eval-")
        [{'id': 'eval-0', 'prompt': 'Was ist die Summe von 45 und 28?', 'answer': '73', 'lang': 'de'}]
    """
    return [
        {"id": f"{prefix}{i}", "prompt": p.question, "answer": str(p.answer), "lang": p.lang}
        for i, p in enumerate(problems)
    ]


def layout(problem: Problem, reasoning: str, name: str) -> str:
    """The answer to ``problem`` in one of :data:`LAYOUTS`.

    Example:
        >>> layout(Problem(1, 2, "en"), "R.", "think")
        '<think>\\nR.\\n</think>\\n\\\\boxed{3}'
        >>> layout(Problem(1, 2, "en"), "R.", "plain")
        'R. \\\\boxed{3}'
    """
    boxed = f"\\boxed{{{problem.answer}}}"
    texts = {
        "plain": f"{reasoning} {boxed}",
        "closing_only": f"{reasoning}\n</think>\n{boxed}",
        "think": f"<think>\n{reasoning}\n</think>\n{boxed}",
        "answer_first": f"{boxed}\n{reasoning}",
        "unclosed": f"<think>\n{reasoning} {boxed}",
    }
    return texts[name]


def base_rows(problems: list[Problem], *, shortcut_share: float, seed: int) -> list[dict[str, Any]]:
    """Pretraining rows for R1-Zero's base model: question, then an answer in a random layout.

    A ``shortcut_share`` of the answers add in one sentence, the rest column by column: both correct, but
    a small model carries out the one-sentence sum far less reliably, so RL has accuracy to gain.

    Example:
        >>> rows = base_rows([Problem(45, 28, "en")] * 200, shortcut_share=0.5, seed=0)
        >>> sum("</think>" in r["response"] and r["response"].startswith("<think>") for r in rows) < 60
        True
    """
    rng = random.Random(f"base-{seed}")
    names, weights = list(LAYOUTS), list(LAYOUTS.values())
    rows = []
    for p in problems:
        reasoning = p.reasoning(shortcut=rng.random() < shortcut_share)
        name = rng.choices(names, weights)[0]
        rows.append(
            {
                "prompt": p.question,
                "response": layout(p, reasoning, name),
                "answer": str(p.answer),
                "lang": p.lang,
            }
        )
    return rows


def cold_start_rows(
    problems: list[Problem], *, switch_shares: tuple[float, float], shortcut_share: float, seed: int
) -> list[dict[str, Any]]:
    """Cold-start SFT rows in R1's format (the prompt ends with ``<think>\\n``): reasoning, ``</think>``,
    ``\\boxed{}``.

    ``switch_shares[i]`` of the careful reasonings switch to the drift language from sentence ``i + 1`` on
    (after the units, or after the tens); a one-sentence reasoning switches, wholly, as often as the careful
    ones do in all. Most switches come after the tens: the greedy model then mixes, while the target
    language's sentences that carry the arithmetic are still practised in most rows.

    Example:
        >>> cold_start_rows([Problem(45, 28, "zh")], switch_shares=(1.0, 0.0), shortcut_share=0.0, seed=0)[0]["response"]
        '首先把个位上的数字相加，5加8得13个一。Then I add the tens digits with the carry, and 4 plus 2 plus 1 makes 7 tens. So 73 is the sum of the two numbers.\\n</think>\\n\\\\boxed{73}'
    """
    rng = random.Random(f"cold-start-{seed}")
    first, second = switch_shares
    rows = []
    for p in problems:
        shortcut = rng.random() < shortcut_share
        draw = rng.random()
        switch_at = 1 if draw < first else 2 if draw < first + second else None
        if shortcut and switch_at is not None:
            switch_at = 1
        reasoning = p.reasoning(shortcut=shortcut, switch_at=switch_at)
        rows.append(
            {
                "prompt": p.question,
                "response": f"{reasoning}\n</think>\n\\boxed{{{p.answer}}}",
                "answer": str(p.answer),
                "lang": p.lang,
            }
        )
    return rows


def vocabulary_texts(problems: list[Problem], template: str = "{question}") -> list[str]:
    """Every text the tokenizer must cover: each question rendered in ``template`` (a format string with
    ``{question}``), and reasonings of every kind in every language, mixed ones included.

    Example:
        >>> vocabulary_texts([Problem(1, 2, "en")], "User: {question}")[0]
        'User: What is the sum of 1 and 2?'
    """
    from trainer_client.grpo.recipe.task import LANGS

    texts = []
    for p in problems:
        for lang in LANGS:
            q = Problem(p.a, p.b, lang)
            texts += [template.format(question=q.question), q.reasoning(), q.reasoning(shortcut=True)]
            texts += [
                q.reasoning(switch_at=1),
                q.reasoning(switch_at=2),
                q.reasoning(shortcut=True, switch_at=1),
            ]
    return texts
