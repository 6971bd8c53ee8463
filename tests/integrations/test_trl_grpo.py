"""``trl.GRPOTrainer`` runs two steps on CPU with our reward functions against the real service.

Nothing is downloaded: the tokenizer is a word-level ``tokenizers`` model built here with a chat template
that prefills ``<think>`` (DeepSeek-R1 style), and the policy is a 2-layer Qwen2 built from a config.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest

WORDS = [
    "What",
    "is",
    "2+2?",
    "3+3?",
    "The",
    "answer",
    "4",
    "6",
    "\\boxed{4}",
    "\\boxed{6}",
    "so",
    "<think>",
    "</think>",
]
SPECIAL = ["[PAD]", "[UNK]", "[EOS]"]
TEMPLATE = (
    "{% for m in messages %}{{ m['content'] }} {% endfor %}{% if add_generation_prompt %}<think> {% endif %}"
)


def tiny_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIAL + WORDS)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]", eos_token="[EOS]"
    )
    tokenizer.chat_template = TEMPLATE
    return tokenizer


def tiny_policy(vocab_size: int, pad_id: int, eos_id: int) -> Any:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=64,
        pad_token_id=pad_id,
        eos_token_id=eos_id,
    )
    return Qwen2ForCausalLM(config)


class Recording(httpx.AsyncBaseTransport):
    """Forwards to the real socket and keeps every /score body."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.bodies: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/score":
            self.bodies.append(json.loads(await request.aread()))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def grpo_args(tmp_path: Path, **overrides: Any) -> Any:
    """The two-step CPU GRPO settings both runs share, with ``overrides``."""
    from trl import GRPOConfig

    settings: dict[str, Any] = {
        "output_dir": str(tmp_path),
        "use_cpu": True,
        "num_generations": 4,
        "max_steps": 2,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "reward_weights": [1.0, 0.5, 0.1],
        "log_completions": True,
        "seed": 0,
    }
    return GRPOConfig(**settings | overrides)


@pytest.mark.slow
def test_grpo_trainer_two_steps_with_service_rewards(tmp_path, live_url):
    from datasets import Dataset
    from trl import GRPOTrainer

    from trainer_client.integrations.trl import make_reward_funcs

    tokenizer = tiny_tokenizer()
    model = tiny_policy(len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id)
    dataset = Dataset.from_list(
        [
            {"prompt": [{"role": "user", "content": "What is 2+2?"}], "solution": "4", "lang": "en"},
            {"prompt": [{"role": "user", "content": "What is 3+3?"}], "solution": "6", "lang": "en"},
        ]
        * 4
    )
    recording = Recording()
    funcs = make_reward_funcs(
        live_url,
        components=("accuracy", "format", "language"),
        prefill_think=True,
        transport=recording,
        on_error="raise",
    )
    args = grpo_args(tmp_path, per_device_train_batch_size=4, max_completion_length=8)
    trainer = GRPOTrainer(
        model=model, processing_class=tokenizer, reward_funcs=funcs, args=args, train_dataset=dataset
    )
    trainer.train()

    # one batched service call per step serves all three components
    assert len(recording.bodies) == 2
    assert funcs[0].shared.calls == 2
    for body in recording.bodies:
        assert set(body["rewards"]) == {"accuracy", "format", "language"}
        assert len(body["items"]) == 4
        for item in body["items"]:
            assert item["prompt"] in ("What is 2+2?\n<think>\n", "What is 3+3?\n<think>\n")
            assert (
                item["answer"]
                == {"What is 2+2?\n<think>\n": "4", "What is 3+3?\n<think>\n": "6"}[item["prompt"]]
            )
            assert item["lang"] == "en"

    logged = [entry for entry in trainer.state.log_history if "rewards/vrewards_accuracy/mean" in entry]
    assert len(logged) == 2
    for entry in logged:
        for name in ("vrewards_accuracy", "vrewards_format", "vrewards_language"):
            assert 0.0 <= entry[f"rewards/{name}/mean"] <= 1.0
        assert entry["vrewards/item_errors"] == 0.0


# -- issue 14 items 7 and 8: rows whose accuracy cannot be judged, and a step whose scoring fails -------------------
class FailingSecondCall(Recording):
    """Forwards the first /score call; answers every later one with 503 (the service went away)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/score" and self.bodies:
            self.bodies.append(json.loads(await request.aread()))
            return httpx.Response(503, json={"detail": "down"})
        return await super().handle_async_request(request)


@pytest.mark.slow
def test_grpo_trainer_masks_unjudged_rows_and_blanks_failed_steps(tmp_path, live_url):
    """Every completion is ``\\boxed{4}`` repeated (the only token the policy may sample), so step 1 is known:
    the 2+2 rows are right; the 3+3 rows have a reference that cannot be parsed, so their accuracy is null and
    every component returns None: TRL masks those rows (advantage 0) instead of scoring them as wrong.
    Step 2's scoring fails: the table's extra columns show nothing for it, not step 1's values."""
    from datasets import Dataset
    from trl import GRPOTrainer

    from trainer_client.integrations.trl import make_reward_funcs

    tokenizer = tiny_tokenizer()
    model = tiny_policy(len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id)
    boxed = tokenizer.convert_tokens_to_ids("\\boxed{4}")
    dataset = Dataset.from_list(
        [
            {"prompt": [{"role": "user", "content": "What is 2+2?"}], "solution": "4"},
            {"prompt": [{"role": "user", "content": "What is 3+3?"}], "solution": "\\frac{1}{"},
        ]
    )
    transport = FailingSecondCall()
    funcs = make_reward_funcs(live_url, transport=transport, max_retries=0, on_error="mask")
    args = grpo_args(
        tmp_path,
        per_device_train_batch_size=8,
        max_completion_length=4,
        generation_kwargs={
            "min_new_tokens": 4,
            "suppress_tokens": [i for i in range(len(tokenizer)) if i != boxed],
        },
    )
    trainer = GRPOTrainer(
        model=model, processing_class=tokenizer, reward_funcs=funcs, args=args, train_dataset=dataset
    )
    seen: list[Any] = []
    calculate = trainer._calculate_rewards

    def recording(inputs, prompts, completions, completion_ids_list):
        rewards_per_func = calculate(inputs, prompts, completions, completion_ids_list)
        seen.append(([p[-1]["content"] for p in prompts], rewards_per_func.clone()))
        return rewards_per_func

    trainer._calculate_rewards = recording
    trainer.train()

    assert len(transport.bodies) == 2
    (prompts, first), (_, second) = seen
    for prompt, row in zip(prompts, first.tolist(), strict=True):
        if prompt == "What is 2+2?":
            assert row[0] == 1.0 and row[1] == 0.0  # right; no think block
        else:  # accuracy null (gold_unparseable): every component masked
            assert all(math.isnan(v) for v in row)
    assert bool(second.isnan().all())  # the failed step: every row masked
    assert list(trainer._logs["extra"]["vrewards_answer"]) == [None] * 8
    assert list(trainer._logs["extra"]["vrewards_outcome"]) == [None] * 8
