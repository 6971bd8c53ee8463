"""Helpers shared by the trainer adapters: turning trainer inputs into API.md items."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

ANSWER_COLUMNS: tuple[str, ...] = ("answer", "solution", "ground_truth")
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


def content_text(content: Any) -> str:
    """The text of a chat message's ``content``: a string, or a list of blocks whose text parts are joined.

    Example:
        >>> content_text([{"type": "text", "text": "2+2"}, {"type": "image"}, {"type": "text", "text": "=?"}])
        '2+2=?'
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "".join(parts)
    return str(content)


def completion_text(completion: Any) -> str:
    """A completion as plain text: a string as is; a message list gives its assistant messages' text.

    Example:
        >>> completion_text([{"role": "assistant", "content": "<think>x</think> 4"}])
        '<think>x</think> 4'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence):
        texts = [
            content_text(m.get("content"))
            for m in completion
            if isinstance(m, Mapping) and m.get("role", "assistant") == "assistant"
        ]
        return "".join(texts)
    return str(completion)


def prompt_text(prompt: Any, *, prefill_think: bool = False) -> str | None:
    """The prompt the service should see: a string as is; a message list gives its last user message.

    With ``prefill_think`` (chat templates such as DeepSeek-R1's end the prompt with ``<think>\\n``), a
    ``<think>`` is appended unless the prompt already ends inside an open reasoning block, so the service
    counts it as the completion's opening tag.

    Example:
        >>> prompt_text([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}])
        '2+2?'
        >>> prompt_text("2+2?", prefill_think=True)
        '2+2?\\n<think>\\n'
    """
    if prompt is None:
        text = None
    elif isinstance(prompt, str):
        text = prompt
    elif isinstance(prompt, Sequence):
        users = [m for m in prompt if isinstance(m, Mapping) and m.get("role") == "user"]
        text = content_text(users[-1].get("content")) if users else None
    else:
        text = str(prompt)
    if prefill_think:
        text = text or ""
        if text.rfind(THINK_OPEN) <= text.rfind(THINK_CLOSE):
            text = f"{text}\n{THINK_OPEN}\n"
    return text


def as_text(value: Any) -> str | None:
    """A reference answer or language code as text (numbers as JSON text); ``None`` stays ``None``.

    Example:
        >>> as_text(42), as_text("x"), as_text(None)
        ('42', 'x', None)
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return json.dumps(value)
    return str(value)
