"""DeepSeek-R1's format reward: one reasoning block in ``<think>`` tags, then an answer.

Mode ``think`` (API.md): exactly one non-empty reasoning block closed by exactly one ``</think>``, then a
non-empty answer. A ``<think>`` prefilled at the end of the prompt (the R1 chat template) counts as the
opening tag, and a ``<think>`` in the completion is then a block nested in it. Only whitespace may precede
``<think>`` in the completion. Newline placement is never checked, so single-line reasoning passes.

When the caller sends no prompt at all, a completion with no ``<think>`` and a ``</think>`` is read as
closing a block the caller's template opened, as :mod:`rewards.regions` reads it (verl, for one, hands
rewards the completion without its prompt, and R1 distills then start inside the block): anchoring on
``<think>`` there would give 0 to every correct completion (docs/COMPARISON.md). A prompt that is sent and does not
end inside ``<think>`` makes the opening tag required. ``details.format_opening`` says which applied:
``"completion"``, ``"prompt"`` (prefilled), ``"assumed"`` (no prompt sent), or ``None`` (none found).

Mode ``think_answer`` also requires, after ``</think>``, exactly one non-empty ``<answer>...</answer>`` with
nothing but whitespace around it, and no ``<answer>`` tags inside the reasoning (an answer written only
inside the think block fails). Tags are matched as written (``<think>``, ``</think>``, ``<answer>``,
``</answer>``); a think or answer tag in any other spelling (``</Think>``, ``< answer >``) inside the final
answer fails as ``tag_in_answer``.

The checks run in a fixed order and the first that fails names the result (``details.format_check``);
everything open-r1's regex and TRL's ``think_format_reward`` wrongly accept (two think blocks, nested think,
doubled ``</think>``, text after ``</answer>``, an empty think block, an answer only inside the think block)
fails here. The score is binary: 1.0 when every check passes, else 0.0. Partial credit would pay a policy
for malformed output that downstream parsers cannot use, which is what the format reward exists to stop.

"Empty" means no character other than whitespace and trivial punctuation or markdown (``. , ; : ! ? ' " `
~ - _ * # $ … — – · 。 ， 、``), so ``<think>...</think>`` does not count as reasoning.
"""

from __future__ import annotations

import re
from typing import Any

from rewards.config import FormatConfig
from rewards.regions import CLOSE_TAG, OPEN_TAG, Regions, prompt_prefills_think

ANSWER_OPEN = "<answer>"
ANSWER_CLOSE = "</answer>"

# Anything beyond whitespace and filler punctuation counts as content.
_CONTENT = re.compile(r"[^\s.,;:!?'\"`~\-_*#$…—–·。，、]")
# Think/answer tags in any spelling (case, inner spaces): none may appear inside the final answer.
_ANY_TAG = re.compile(r"<\s*/?\s*(?:think|answer)\s*>", re.IGNORECASE)
_THINK_TAG = re.compile(r"<\s*/?\s*think\s*>", re.IGNORECASE)

CHECKS: tuple[str, ...] = (
    "ok",
    "no_opening_tag",
    "text_before_think",
    "nested_think",
    "multiple_opening_tags",
    "no_closing_tag",
    "multiple_closing_tags",
    "empty_reasoning",
    "empty_answer",
    "tag_in_answer",
    "answer_tag_in_think",
    "no_answer_tag",
    "multiple_answer_tags",
    "no_closing_answer_tag",
    "text_before_answer",
    "text_after_answer",
    "empty_answer_tag",
)
"""Every value ``details.format_check`` can take."""


def _has_content(text: str) -> bool:
    return _CONTENT.search(text) is not None


def _think_check(completion: str, prefilled: bool) -> tuple[str, str, str]:
    """Mode ``think``: return (check, reasoning, answer); reasoning and answer are valid only when ``ok``."""
    open_tags = completion.count(OPEN_TAG)
    close_tags = completion.count(CLOSE_TAG)
    first_close = completion.find(CLOSE_TAG)
    if prefilled:
        if open_tags:
            return "nested_think", "", ""
        start = 0
    else:
        first_open = completion.find(OPEN_TAG)
        if first_open < 0:
            return "no_opening_tag", "", ""
        if completion[:first_open].strip():
            return "text_before_think", "", ""
        if open_tags > 1:
            second_open = completion.find(OPEN_TAG, first_open + len(OPEN_TAG))
            nested = first_close < 0 or second_open < first_close
            return ("nested_think" if nested else "multiple_opening_tags"), "", ""
        start = first_open + len(OPEN_TAG)
    if close_tags == 0:
        return "no_closing_tag", "", ""
    if close_tags > 1:
        return "multiple_closing_tags", "", ""
    reasoning = completion[start:first_close]
    answer = completion[first_close + len(CLOSE_TAG) :]
    if not _has_content(reasoning):
        return "empty_reasoning", reasoning, answer
    if not _has_content(answer):
        return "empty_answer", reasoning, answer
    return "ok", reasoning, answer


def _answer_check(reasoning: str, answer: str) -> str:
    """Mode ``think_answer``'s extra checks on a completion that passed mode ``think``."""
    if ANSWER_OPEN in reasoning or ANSWER_CLOSE in reasoning:
        return "answer_tag_in_think"
    opens = answer.count(ANSWER_OPEN)
    if opens == 0:
        return "no_answer_tag"
    first_open = answer.find(ANSWER_OPEN)
    first_close = answer.find(ANSWER_CLOSE)
    if opens > 1:
        second_open = answer.find(ANSWER_OPEN, first_open + len(ANSWER_OPEN))
        return "tag_in_answer" if first_close < 0 or second_open < first_close else "multiple_answer_tags"
    closes = answer.count(ANSWER_CLOSE)
    if closes == 0 or first_close < first_open:
        return "no_closing_answer_tag"
    if closes > 1:
        return "multiple_answer_tags"
    if answer[:first_open].strip():
        return "text_before_answer"
    if answer[first_close + len(ANSWER_CLOSE) :].strip():
        return "text_after_answer"
    inner = answer[first_open + len(ANSWER_OPEN) : first_close]
    if _ANY_TAG.search(inner):
        return "tag_in_answer"
    if not _has_content(inner):
        return "empty_answer_tag"
    return "ok"


def check_format(completion: str, prefilled: bool, mode: str = "think") -> str:
    """Name the first failed format check, or ``"ok"``.

    Example:
        >>> check_format("<think>x</think><think>y</think> 4", prefilled=False)
        'multiple_opening_tags'
    """
    check, reasoning, answer = _think_check(completion, prefilled)
    if check != "ok":
        return check
    if mode == "think_answer":
        return _answer_check(reasoning, answer)
    if _THINK_TAG.search(answer):
        return "tag_in_answer"
    return "ok"


def block_opening(
    completion: str, prompt: str | None, regions: Regions | None = None
) -> tuple[str | None, bool]:
    """Where the reasoning block was opened (``prompt``, ``completion``, ``assumed`` or None), and whether the
    completion starts inside it (see the module docstring).

    Example:
        >>> block_opening("2+2=4</think> 4", None)
        ('assumed', True)
    """
    prefilled = regions.prefilled if regions is not None else prompt_prefills_think(prompt)
    opening: str | None = "prompt" if prefilled else None
    if not prefilled:
        if OPEN_TAG in completion:
            opening = "completion"
        elif not prompt and CLOSE_TAG in completion:
            opening, prefilled = "assumed", True
    return opening, prefilled


def score_format(
    completion: str, prompt: str | None, config: FormatConfig, *, regions: Regions | None = None
) -> tuple[float, dict[str, Any]]:
    """Score the ``<think>`` format: 1.0 when every check of ``config.mode`` passes, else 0.0.

    ``regions`` (from :func:`rewards.regions.split_regions` on the same completion and prompt) saves
    re-reading the prompt for a prefilled ``<think>``. With no prompt (``None`` or empty), a completion
    that closes a block it never opened is read as starting inside one (see the module docstring).

    Example:
        >>> score_format("<think>2+2=4</think> 4", None, FormatConfig())
        (1.0, {'format_check': 'ok', 'format_mode': 'think', 'format_opening': 'completion'})
    """
    opening, prefilled = block_opening(completion, prompt, regions)
    check = check_format(completion, prefilled, config.mode)
    details: dict[str, Any] = {"format_check": check, "format_mode": config.mode, "format_opening": opening}
    return (1.0 if check == "ok" else 0.0), details
