"""Shared pieces of the code-execution tests: the sandbox check and completions that carry a program."""

from __future__ import annotations

import os

import pytest

from rewards.code import sandbox_status
from rewards.config import CodeLimits


def completion(program: str, reasoning: str = "Read the input and print the answer.") -> str:
    """A completion whose answer region holds ``program`` as a fenced Python block."""
    return f"<think>\n{reasoning}\n</think>\nHere is my solution:\n```python\n{program}\n```\n"


@pytest.fixture(scope="session")
def bwrap_ready() -> None:
    """The bubblewrap sandbox works on this machine (CI installs Debian's bubblewrap); skipped, with the
    reason, where the kernel or the container refuses user namespaces."""
    available, detail = sandbox_status(CodeLimits())
    if not available:
        if os.environ.get("VREWARDS_REQUIRE_SANDBOX") == "1":  # CI: a missing sandbox is a failure
            pytest.fail(f"bubblewrap sandbox unavailable here: {detail}")
        pytest.skip(f"bubblewrap sandbox unavailable here: {detail}")
