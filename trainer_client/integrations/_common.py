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


def as_reference(value: Any) -> str | list[str] | None:
    """A reference answer as the wire takes it: text, or a list of acceptable answers.

    Lists, tuples and array-likes (verl hands a list ground truth over as a numpy array) become lists of
    text, never their printed form; an empty list, or one whose answers are all blank, is no reference.

    Example:
        >>> as_reference(["12", 12]), as_reference(7), as_reference([]), as_reference("x")
        (['12', '12'], '7', None, 'x')
    """
    if value is None or isinstance(value, str | int | float | bool):
        return as_text(value)
    if hasattr(value, "tolist") and not isinstance(value, Mapping):  # numpy arrays and scalars
        value = value.tolist()
        if not isinstance(value, list):
            return as_text(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        answers = [text for text in (as_text(v) for v in value) if text is not None and text.strip()]
        return answers or None
    return as_text(value)


def code_tests_of(value: Any) -> dict[str, Any] | None:
    """A code test spec (API.md's ``tests``) from what a dataset stores, or ``None`` when ``value`` is none.

    Accepted: ``{"kind", "cases"}`` as is; ``{"inputs": [...], "outputs": [...]}`` (APPS/TACO style, as verl's
    code datasets store it), ``stdin_stdout`` unless it names an ``fn_name`` (then ``function``, each input the
    argument list and a one-element output list unwrapped); either one as a JSON string.

    Example:
        >>> code_tests_of('{"inputs": ["1 2\\\\n"], "outputs": ["3\\\\n"]}')
        {'kind': 'stdin_stdout', 'cases': [{'input': '1 2\\n', 'output': '3\\n'}]}
        >>> code_tests_of({"fn_name": "add", "inputs": [[1, 2]], "outputs": [[3]]})["cases"]
        [{'args': [1, 2], 'output': 3}]
        >>> code_tests_of("42") is None
        True
    """
    if isinstance(value, str):
        if not value.lstrip().startswith("{"):
            return None
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, Mapping):
        return None
    if isinstance(value.get("kind"), str) and isinstance(value.get("cases"), list):
        return dict(value)
    inputs, outputs = value.get("inputs"), value.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
        return None
    fn_name = value.get("fn_name")
    if isinstance(fn_name, str) and fn_name:
        cases = [
            {
                "args": args if isinstance(args, list) else [args],
                "output": out[0] if isinstance(out, list) and len(out) == 1 else out,
            }
            for args, out in zip(inputs, outputs, strict=True)
        ]
        return {"kind": "function", "fn_name": fn_name, "cases": cases}
    cases = [{"input": i, "output": o} for i, o in zip(inputs, outputs, strict=True)]
    return {"kind": "stdin_stdout", "cases": cases}
