"""Final-answer extraction, safe parsing and equivalence for the accuracy reward.

Used by others only through :func:`rewards.accuracy.score_accuracy`. Layout: ``extract`` (final answer),
``normalize`` (strings), ``numbers`` (exact fast path), ``guards`` (limits), ``expr`` (expression parser),
``evaluate`` (bounded exact and numeric evaluation), ``parse`` (structured answers), ``words`` (numbers in
English words), ``matrices`` (unevaluated matrix arithmetic), ``sympy_bridge`` (latex2sympy2_extended
fallback), ``equivalence`` (the judgement).
"""
