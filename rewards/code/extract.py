"""The program of a completion: the last fenced Python code block of the answer region.

A block opens with three or more backticks (or tildes) and an info string of ``python``, ``py`` or
``python3`` (or none), and closes with a fence of the same character at least as long. Blocks tagged with
another language are not programs to run. A block still open at the end of the text counts: a model cut off
by the length limit wrote a program that is judged as it stands.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*$", re.MULTILINE)
_PYTHON_TAGS = frozenset({"", "python", "py", "python3"})


def extract_program(answer_region: str | None) -> str | None:
    """The last Python block of ``answer_region``, or None when there is none (or no answer region).

    Example:
        >>> extract_program("Here:\\n```python\\nprint(1)\\n```\\nand\\n```py\\nprint(2)\\n```")
        'print(2)\\n'
    """
    if not answer_region:
        return None
    last: str | None = None
    pos = 0
    while True:
        opening = _FENCE.search(answer_region, pos)
        if opening is None:
            break
        fence, tag = opening.group(1), opening.group(2).lower()
        body_start = opening.end() + 1
        closing = re.compile(rf"^[ \t]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        end = closing.search(answer_region, min(body_start, len(answer_region)))
        body = answer_region[body_start : end.start()] if end else answer_region[body_start:]
        if tag in _PYTHON_TAGS and body.strip():
            last = body
        if end is None:
            break
        pos = end.end()
    return last
