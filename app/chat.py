"""Split an OpenRLHF ``query`` (prompt + response, special tokens kept) into prompt and completion.

The completion is the query with its prompt removed when it starts with that prompt; otherwise the text
after the last assistant marker of a common chat template. Trailing end-of-sequence and padding tokens are
stripped from the completion.
"""

from __future__ import annotations

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


def strip_eos(text: str) -> str:
    """Remove trailing end-of-sequence/padding tokens (and the whitespace between them).

    Example:
        >>> strip_eos("The answer is 4.<|im_end|>\\n<|endoftext|><|endoftext|>")
        'The answer is 4.'
    """
    while True:
        trimmed = text.rstrip()
        for token in EOS_TOKENS:
            if trimmed.endswith(token):
                text = trimmed[: -len(token)]
                break
        else:
            return text


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
