"""Split an OpenRLHF ``query`` (prompt + response, special tokens kept) into prompt and completion.

The completion is the query with its prompt removed when it starts with that prompt; otherwise the text
after the last assistant marker of a common chat template. Trailing end-of-sequence and padding tokens are
stripped from the completion.
"""

from __future__ import annotations

import re

# Assistant-turn openers of common chat templates: ChatML/Qwen, DeepSeek-R1, Llama 3, Llama 2/Mistral, plain.
ASSISTANT_MARKERS: tuple[str, ...] = (
    "<|im_start|>assistant\n",
    "<|im_start|>assistant",
    "<|Assistant|>",
    "<｜Assistant｜>",  # DeepSeek's tokenizer writes full-width bars
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|start_header_id|>assistant<|end_header_id|>",
    "[/INST]",
    "Assistant:",
)
# End-of-sequence and padding tokens of the same families.
EOS_TOKENS: tuple[str, ...] = (
    "<|im_end|>",
    "<|endoftext|>",
    "</s>",
    "<|end▁of▁sentence|>",
    "<｜end▁of▁sentence｜>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<eos>",
    "<pad>",
    "<|pad|>",
)
# Whitespace-then-token, repeated, read backwards from the end of the text: the tokens' run at the end.
_REVERSED_TRAILER = re.compile(
    "(?:\\s*(?:" + "|".join(re.escape(token[::-1]) for token in EOS_TOKENS) + "))*"
)
_WINDOW = 1 << 16


def strip_eos(text: str) -> str:
    """Remove trailing end-of-sequence/padding tokens (and the whitespace between them), in linear time.

    A regex over the reversed tail finds the run of trailing tokens (slicing off one token at a time copies
    the string per token: quadratic). The tail is read in windows of :data:`_WINDOW` characters, so no
    single step holds the interpreter for long, however many tokens there are.

    Example:
        >>> strip_eos("The answer is 4.<|im_end|>\\n<|endoftext|><|endoftext|>")
        'The answer is 4.'
    """
    end = len(text)
    while end:
        window = text[max(0, end - _WINDOW) : end][::-1]
        cut = _REVERSED_TRAILER.match(window).end()  # type: ignore[union-attr]  # `*` always matches
        end -= cut
        if cut == 0 or cut < len(window) - _WINDOW // 2:  # the run ended inside this window
            break
    return text[:end]


def split_query(query: str, prompt: str | None) -> tuple[str | None, str]:
    """``(prompt, completion)`` of an OpenRLHF query.

    Example:
        >>> split_query("<|im_start|>user\\n1+1?<|im_end|>\\n<|im_start|>assistant\\n2<|im_end|>", None)
        ('<|im_start|>user\\n1+1?<|im_end|>\\n<|im_start|>assistant\\n', '2')
    """
    if prompt and query.startswith(prompt):
        return prompt, strip_eos(query[len(prompt) :])
    best = -1
    best_marker = ""
    for marker in ASSISTANT_MARKERS:
        at = query.rfind(marker)
        if at > best or (at == best and at >= 0 and len(marker) > len(best_marker)):
            best, best_marker = at, marker
    if best < 0:
        return prompt, strip_eos(query)
    cut = best + len(best_marker)
    return query[:cut], strip_eos(query[cut:])
