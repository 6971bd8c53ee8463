"""Why an item got its reward: the explanation a request asks for with ``"explain": true``.

Off by default, so the hot path pays nothing for it. It re-reads the completion with the same functions the
components use and reports, as plain values (offsets count Unicode code points of the completion):

* ``reasoning_region`` / ``answer_region``: ``[start, end]`` in the completion, or null;
* ``candidates``: every answer the extraction rules see in the answer region (each box, an ``<answer>``
  tag, a GSM8K ``#### N`` line, a bold answer, and the one chosen) with where it is, whether it was chosen
  and why;
* ``compared``: the normalised text of the chosen answer and of the reference, as the checker compares them;
* ``format``: the check that decided the format score and the position it points at;
* ``language``: the target and every segment of the reasoning with its label, probability and word count.
"""

from __future__ import annotations

import re
from typing import Any

from rewards.config import RewardConfig
from rewards.format import block_opening, check_format
from rewards.math.extract import extract_answer, find_boxed
from rewards.math.normalize import normalize_answer
from rewards.regions import CLOSE_TAG, OPEN_TAG, Regions, split_regions
from rewards.types import Item

_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S)
_GSM8K = re.compile(r"^####\s*(.+)$", re.M)
_BOLD = re.compile(r"\*\*([^*\n]{1,300})\*\*")
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_MAX_CANDIDATES = 20
_MAX_TEXT = 300

_RULES = {
    "boxed": "the last \\boxed{} of the answer region",
    "answer_tag": "an <answer> tag (no box in the answer region)",
    "phrase": 'an answer phrase such as "the final answer is"',
    "gsm8k": "a GSM8K '#### N' line",
    "bold": "a bold answer (no box, tag or phrase)",
    "last_math": "the last math span (nothing more explicit found)",
    "last_number": "the last number (nothing more explicit found)",
}


def explain(item: Item, config: RewardConfig) -> dict[str, Any]:
    """The explanation of one item's scores (see the module docstring for the keys).

    Example:
        >>> ex = explain(Item("<think>2+2</think> So \\\\boxed{4}.", answer="4"), RewardConfig())
        >>> ex["answer_region"], [c["text"] for c in ex["candidates"] if c["chosen"]]
        ([18, 32], ['4'])
    """
    completion = item.completion
    regions = split_regions(completion, item.prompt)
    reasoning, answer = _region_spans(completion, regions)
    out: dict[str, Any] = {"reasoning_region": reasoning, "answer_region": answer}
    if config.accuracy is not None:
        out["candidates"], out["compared"] = _candidates(completion, answer, item.answer)
    if config.format is not None:
        out["format"] = _format(completion, item.prompt, regions, config.format.mode)
    if config.language is not None:
        out["language"] = _language(item, regions)
    return out


# ------------------------------------------------------------------------------------------- regions
def _region_spans(completion: str, regions: Regions) -> tuple[list[int] | None, list[int] | None]:
    reasoning = None if regions.reasoning_span is None else list(regions.reasoning_span)
    answer = None if regions.answer_start is None else [regions.answer_start, len(completion)]
    return reasoning, answer


# ---------------------------------------------------------------------------------------- candidates
def _candidates(
    completion: str, span: list[int] | None, reference: str | list[str] | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    if span is None:
        return [], {"answer": None, "reference": _normal_reference(reference)}
    offset = span[0]
    region = completion[offset : span[1]]
    chosen = extract_answer(region)
    found: list[dict[str, Any]] = []

    boxes = find_boxed(region)
    box_starts = [m.start() for m in _BOX.finditer(region)]
    for i, content in enumerate(boxes[:_MAX_CANDIDATES]):
        at = region.find(content, box_starts[i]) if i < len(box_starts) else -1
        found.append(_candidate("boxed", content, offset, at))
    for method, pattern in (("answer_tag", _ANSWER_TAG), ("gsm8k", _GSM8K), ("bold", _BOLD)):
        for match in list(pattern.finditer(region))[-_MAX_CANDIDATES:]:
            found.append(_candidate(method, match.group(1).strip(), offset, match.start(1)))

    if chosen.text is not None:
        mine = [c for c in found if c["method"] == chosen.method and chosen.text in c["text"]]
        if mine:
            mine[-1]["chosen"] = True
        else:
            at = region.rfind(chosen.text)
            entry = _candidate(chosen.method or "", chosen.text, offset, at)
            entry["chosen"] = True
            found.append(entry)
    for c in found:
        if c["chosen"]:
            c["why"] = "chosen: " + _RULES.get(c["method"], c["method"])
            if c["method"] == "boxed" and len(boxes) > 1:
                c["why"] += "; the other boxes must agree with it, else the answer is ambiguous"
        elif chosen.method is None:
            c["why"] = "not usable as an answer"
        elif c["method"] == chosen.method == "boxed":
            c["why"] = "an earlier box: it must agree with the last one, else the answer is ambiguous"
        else:
            c["why"] = f"not used: {_RULES.get(chosen.method, chosen.method)} comes first in the order"
    found.sort(key=lambda c: (c["start"] is None, c["start"] or 0))
    compared = {
        "answer": None if chosen.text is None else _normal(chosen.text),
        "reference": _normal_reference(reference),
    }
    return found, compared


def _candidate(method: str, text: str, offset: int, at: int) -> dict[str, Any]:
    start = None if at < 0 else offset + at
    return {
        "method": method,
        "text": text[:_MAX_TEXT],
        "start": start,
        "end": None if start is None else start + len(text),
        "chosen": False,
    }


def _normal(text: str) -> str:
    try:
        return normalize_answer(text)[:_MAX_TEXT]
    except Exception:  # an explanation never fails the item
        return text[:_MAX_TEXT]


def _normal_reference(reference: str | list[str] | None) -> str | list[str] | None:
    if reference is None:
        return None
    if isinstance(reference, str):
        return _normal(reference)
    return [_normal(r) for r in reference[:_MAX_CANDIDATES]]


# ---------------------------------------------------------------------------------------------- format
def _format(completion: str, prompt: str | None, regions: Regions, mode: str) -> dict[str, Any]:
    _opening, prefilled = block_opening(completion, prompt, regions)  # as the format score reads it
    check = check_format(completion, prefilled, mode)
    return {"check": check, "position": _format_position(completion, check)}


def _nth(text: str, tag: str, n: int) -> int | None:
    at = -1
    for _ in range(n):
        at = text.find(tag, at + 1)
        if at < 0:
            return None
    return at


def _format_position(completion: str, check: str) -> int | None:
    """Where the failed check points: the offending tag, or where the missing part should be."""
    close = completion.rfind(CLOSE_TAG)
    after = close + len(CLOSE_TAG) if close >= 0 else 0
    answer_open = completion.find("<answer>", after)
    where: dict[str, int | None] = {
        "no_opening_tag": len(completion) - len(completion.lstrip()),
        "text_before_think": len(completion) - len(completion.lstrip()),
        "nested_think": _nth(completion, OPEN_TAG, 2),
        "multiple_opening_tags": _nth(completion, OPEN_TAG, 2),
        "no_closing_tag": len(completion),
        "multiple_closing_tags": _nth(completion, CLOSE_TAG, 2),
        "empty_reasoning": close if close >= 0 else None,
        "empty_answer": len(completion),
        "tag_in_answer": next(
            (i for i in (completion.find(t, after) for t in ("<think>", "</think>", "<answer>")) if i >= 0),
            None,
        ),
        "no_answer_tag": after,
        "answer_tag_in_think": completion.find("<answer>") if completion.find("<answer>") >= 0 else None,
        "multiple_answer_tags": _nth(completion[after:], "<answer>", 2),
        "no_closing_answer_tag": len(completion),
        "text_before_answer": after,
        "text_after_answer": completion.rfind("</answer>") + len("</answer>")
        if "</answer>" in completion
        else None,
        "empty_answer_tag": answer_open if answer_open >= 0 else None,
    }
    if check == "multiple_answer_tags" and where[check] is not None:
        where[check] = after + where[check]  # type: ignore[operator]
    return where.get(check)


# -------------------------------------------------------------------------------------------- language
def _language(item: Item, regions: Regions) -> dict[str, Any]:
    from rewards.language import explain_segments

    return explain_segments(regions.reasoning, item.lang, item.prompt)
