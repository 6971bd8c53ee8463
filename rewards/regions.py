"""Split a completion into its reasoning and its answer region (API.md, "Answer region").

When the completion, or a ``<think>`` prefilled at the end of the prompt (the R1 chat template), opens a
reasoning block, only the text after the last ``</think>`` can hold the final answer, and an unclosed block
has no final answer. A ``</think>`` with no opening tag in sight is read as closing a block that the caller's
template opened (distilled R1 models emit exactly this when the prompt was not sent).
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


@dataclass(frozen=True, slots=True)
class Regions:
    """Where the reasoning and the final answer lie in one completion.

    Attributes:
        prefilled: the prompt ends inside an open ``<think>`` block.
        opened: a reasoning block is open (prefilled, ``<think>`` in the completion, or a stray ``</think>``).
        open_tags: number of ``<think>`` tags in the completion.
        close_tags: number of ``</think>`` tags in the completion.
        reasoning: the text of the reasoning block without its tags; the whole completion when there is none.
        answer: the text that may hold the final answer; ``None`` when a block is open and never closed.
        reasoning_span: ``(start, end)`` of the reasoning block's text in the completion, or None when there
            is no block.
        answer_start: where the answer region starts in the completion (it runs to the end), or None.
    """

    prefilled: bool
    opened: bool
    open_tags: int
    close_tags: int
    reasoning: str
    answer: str | None
    reasoning_span: tuple[int, int] | None = None
    answer_start: int | None = None


def prompt_prefills_think(prompt: str | None) -> bool:
    """True when the prompt ends inside an open ``<think>`` block.

    Example:
        >>> prompt_prefills_think("<|Assistant|><think>\\n")
        True
    """
    # Only a tag at the very end is a prefill: a prompt that merely mentions "<think>" (an instruction such
    # as "Begin your reply with <think>.") opens nothing.
    return prompt is not None and prompt.rstrip().endswith(OPEN_TAG)


def split_regions(completion: str, prompt: str | None = None) -> Regions:
    """Locate the reasoning and the answer region of ``completion``.

    Example:
        >>> split_regions("<think>add</think> The answer is 4.").answer
        ' The answer is 4.'
    """
    prefilled = prompt_prefills_think(prompt)
    open_tags = completion.count(OPEN_TAG)
    close_tags = completion.count(CLOSE_TAG)
    opened = prefilled or open_tags > 0 or close_tags > 0
    if not opened:
        return Regions(False, False, 0, 0, completion, completion, None, 0)

    last_close = completion.rfind(CLOSE_TAG)
    if prefilled:
        start = 0
    else:
        first_open = completion.find(OPEN_TAG)
        start = (
            first_open + len(OPEN_TAG)
            if first_open >= 0 and (last_close < 0 or first_open < last_close)
            else 0
        )
    if last_close < 0:
        end, answer_start = len(completion), None
    else:
        end, answer_start = last_close, last_close + len(CLOSE_TAG)
    reasoning_raw = completion[start:end]
    answer = None if answer_start is None else completion[answer_start:]
    reasoning = (
        reasoning_raw.replace(OPEN_TAG, " ").replace(CLOSE_TAG, " ")
        if (open_tags + close_tags) > 1
        else reasoning_raw
    )
    return Regions(prefilled, True, open_tags, close_tags, reasoning, answer, (start, end), answer_start)
