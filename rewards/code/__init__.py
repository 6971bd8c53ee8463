"""Code execution reward: programs judged by their tests in a sandbox (see :mod:`rewards.code.judge`).

Python first; a language is a runner (:mod:`rewards.code.runner`) plus the interpreter the sandbox binds,
so another one adds a runner and a ``language`` field to the tests without changing the judge.
"""

from rewards.code.extract import extract_program
from rewards.code.judge import CODE_OUTCOMES, score_code, values_equal
from rewards.code.sandbox import SandboxUnavailable, sandbox_status
from rewards.code.spec import CodeTests, InvalidTests, parse_tests

__all__ = [
    "CODE_OUTCOMES",
    "CodeTests",
    "InvalidTests",
    "SandboxUnavailable",
    "extract_program",
    "parse_tests",
    "sandbox_status",
    "score_code",
    "values_equal",
]
