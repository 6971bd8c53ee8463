"""The question inside a chat-templated prompt: the last user turn's text, with no template markup left.

Trainers send the prompt as the policy saw it, rendered by a chat template. The template's tokens and role
names (``user``, ``assistant``, ``system``, ``model``) are words to a language detector, and a system turn
is usually English whatever the question's language, so the language target must be read from the last
user turn alone. Templates recognised (the user turn runs from its opener to the first closer after it):

=========================  ==============================================  ===============================
template                   user turn opens with                            and closes at
=========================  ==============================================  ===============================
ChatML (Qwen, ...)         ``<|im_start|>user``                            ``<|im_end|>``
Llama 3                    ``<|start_header_id|>user<|end_header_id|>``    ``<|eot_id|>``
Gemma                      ``<start_of_turn>user``                         ``<end_of_turn>``
DeepSeek (V3, R1)          ``<｜User｜>``                                   ``<｜Assistant｜>``
Mistral, Llama 2           ``[INST]``                                      ``[/INST]``
Phi-3                      ``<|user|>``                                    ``<|end|>``
R1-Zero's plain template   ``User:``                                       ``Assistant:``
=========================  ==============================================  ===============================

Any other turn's opener closes a user turn too. Whatever markup is left in the turn's text (a Llama 2
``<<SYS>>`` block, stray ``<|...|>`` or ``<｜...｜>`` tokens, ``<s>``, ``<bos>``) is removed with the role
name that follows a turn opener. Gemma and Mistral have no system turn: their templates put the system
prompt at the top of the first user turn, separated by a blank line, so :func:`paragraphs` lets the caller
look at the question on its own.

This module only handles text: it never imports a detector, so the service's routes can use it too.
"""

from __future__ import annotations

import re

# (opener of a user turn, closers): the opener's last occurrence starts the last user turn.
_USER_TURNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("<|im_start|>user", ("<|im_end|>", "<|im_start|>")),
    ("<|start_header_id|>user<|end_header_id|>", ("<|eot_id|>", "<|start_header_id|>")),
    ("<start_of_turn>user", ("<end_of_turn>", "<start_of_turn>")),
    ("<｜User｜>", ("<｜Assistant｜>", "<｜end▁of▁sentence｜>", "<｜User｜>")),
    ("<|User|>", ("<|Assistant|>", "<|end_of_sentence|>", "<|User|>")),
    ("[INST]", ("[/INST]", "[INST]")),
    ("<|user|>", ("<|end|>", "<|assistant|>", "<|system|>", "<|user|>")),
)
# R1-Zero's template ("A conversation between User and Assistant. ... User: {question}. Assistant:") has
# no special tokens: it is looked for only when no template above is found.
_PLAIN_USER = re.compile(r"(?:^|(?<=\s))User:")
_PLAIN_ASSISTANT = re.compile(r"(?:^|(?<=\s))Assistant:")

_ROLE = r"(?:system|user|assistant|model|developer|tool|ipython|function)"
_MARKUP = re.compile(
    r"<<SYS>>[\s\S]*?(?:<</SYS>>|\Z)"  # Llama 2's system block, inside the user turn
    rf"|(?:<\|im_start\|>|<start_of_turn>)[ \t]*{_ROLE}?"
    rf"|<\|start_header_id\|>[ \t]*{_ROLE}?[ \t]*<\|end_header_id\|>"
    r"|<\|[^|\n]{0,64}\|>|<｜[^｜\n]{0,64}｜>"  # <|im_end|>, <|eot_id|>, <｜Assistant｜>, ...
    r"|</?(?:s|bos|eos|start_of_turn|end_of_turn|pad|unk)>"
    r"|\[/?INST\]|\[/?SYSTEM_PROMPT\]|\[/?AVAILABLE_TOOLS\]"
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")


def last_user_turn(prompt: str) -> str:
    """The text of the prompt's last user turn with all template markup and role names removed.

    A prompt with no known template is returned whole, less any template tokens it holds.

    Example:
        >>> last_user_turn("<|im_start|>system\\nBe brief.<|im_end|>\\n<|im_start|>user\\nCombien font six fois "
        ...                "sept ?<|im_end|>\\n<|im_start|>assistant\\n")
        'Combien font six fois sept ?'
    """
    start = -1
    closers: tuple[str, ...] = ()
    for opener, ends in _USER_TURNS:
        at = prompt.rfind(opener)
        if at >= 0 and at + len(opener) > start:
            start, closers = at + len(opener), ends
    if start >= 0:
        stops = [at for at in (prompt.find(closer, start) for closer in closers) if at >= 0]
        turn = prompt[start : min(stops)] if stops else prompt[start:]
    else:
        turn = _plain_user_turn(prompt)
    return _MARKUP.sub(" ", turn).strip()


def _plain_user_turn(prompt: str) -> str:
    """The text after R1-Zero's last ``User:`` up to the ``Assistant:`` after it; the prompt if none."""
    starts = [match.end() for match in _PLAIN_USER.finditer(prompt)]
    if not starts:
        return prompt
    end = _PLAIN_ASSISTANT.search(prompt, starts[-1])
    return prompt[starts[-1] : end.start() if end else len(prompt)]


def paragraphs(text: str) -> list[str]:
    """The blank-line separated paragraphs of ``text`` that are not empty.

    Example:
        >>> paragraphs("You are a helpful assistant.\\n\\n  \\n计算六乘以七等于多少？")
        ['You are a helpful assistant.', '计算六乘以七等于多少？']
    """
    return [part.strip() for part in _BLANK_LINE.split(text) if part.strip()]
