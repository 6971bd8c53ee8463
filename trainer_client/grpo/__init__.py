"""DeepSeek-R1's GRPO recipe on any Hugging Face causal LM, rewarded by the verifiable-rewards service.

Modules: ``config`` (every knob), ``losses`` (the maths), ``data`` (prompts and the built-in task), ``model``
(HF models and the tiny in-code model), ``rollout`` (sampling and log-probs), ``rewards`` (scoring through the
service, never in the way), ``trainer`` (the loop), ``metrics`` (per-step metrics and the completions table),
``groups`` (one sampler: render, generate, submit), ``checkpoint`` (seeds, RNG states, resume), ``sft``, ``reject_sample``, ``plot``, ``demo``.
torch is imported by these modules, so import them only where training happens.

Importing this package sets ``CUBLAS_WORKSPACE_CONFIG`` (unless already set) before any of its modules imports
torch: cuBLAS reads it when CUDA's first handle is created, and deterministic kernels need it.
"""

import os

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
