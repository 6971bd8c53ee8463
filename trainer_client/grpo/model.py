"""Models and tokenizers: any Hugging Face causal LM, or a tiny one built in code (no download).

The tiny model is a small Llama (or Qwen2) with a character-level tokenizer (``tokenizers`` WordLevel over
single characters, with ``<think>``, ``</think>`` and ``\\boxed{`` as whole tokens) and a chat template. Saved
with ``save_pretrained``, it loads back like any other checkpoint, so the SFT output feeds GRPO by path.
"""

from __future__ import annotations

import string
from typing import Any, cast

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from trainer_client.grpo.data import _ARITHMETIC, _WORD

THINK_PREFILL = "<think>\n"
R1_ZERO_TEMPLATE = (
    "A conversation between User and Assistant. The User asks a question, and the Assistant solves it. "
    "The Assistant first thinks about the reasoning process in the mind and then provides the User with the "
    "answer. The reasoning process is enclosed within <think> </think>, followed by the final answer in "
    "\\boxed{{}}.\nUser: {prompt}\nAssistant: "
)
TINY_SPECIAL = ["<pad>", "<unk>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
TINY_WHOLE = ["<think>", "</think>", "<answer>", "</answer>", "\\boxed{"]
TINY_CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}<|system|>{{ m['content'] }}\n"
    "{% elif m['role'] == 'user' %}<|user|>{{ m['content'] }}\n"
    "{% else %}<|assistant|>{{ m['content'] }}</s>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _tiny_alphabet() -> list[str]:
    chars = set(string.printable) | {"×", "÷", "−"}
    for text in [*_ARITHMETIC.values(), *(t for by_lang in _WORD.values() for t in by_lang.values())]:
        chars.update(text)
    chars -= {"\x0b", "\x0c", "\r"}
    return sorted(chars)


def build_tiny_tokenizer(vocab_size: int | None = None) -> PreTrainedTokenizerBase:
    """A character-level tokenizer with special tokens and a chat template, built in code.

    ``vocab_size`` pads the vocabulary with filler tokens that text never produces (a real model's vocabulary
    size, e.g. Qwen2.5's 151,936, at the tiny model's cost of learning).

    Example:
        >>> tok = build_tiny_tokenizer()
        >>> tok.decode(tok("<think>\\n1+1=2</think>\\\\boxed{2}")["input_ids"])
        '<think>\\n1+1=2</think>\\\\boxed{2}'
    """
    from tokenizers import Regex, pre_tokenizers

    vocab = {tok: i for i, tok in enumerate(TINY_SPECIAL + TINY_WHOLE + _tiny_alphabet())}
    for i in range(len(vocab), vocab_size or 0):
        vocab[f"[{i}]"] = i  # the pre-tokenizer splits text into characters: these never come from text
    tok = word_level_tokenizer(
        vocab, pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated"), TINY_SPECIAL, TINY_WHOLE
    )
    tok.chat_template = TINY_CHAT_TEMPLATE
    return tok


def word_level_tokenizer(
    vocab: dict[str, int], pre_tokenizer: Any, special: list[str], whole: list[str], **options: Any
) -> Any:
    """A fast tokenizer that maps each piece ``pre_tokenizer`` cuts to its id in ``vocab``.

    ``special`` tokens (``<pad>``, ``<unk>``, ``<s>``, ``</s>`` and the chat roles among them) and ``whole``
    tokens (``<think>``, ...) are never split; padding and truncation are on the left, as generation wants.
    ``options`` go to ``PreTrainedTokenizerFast``.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizer
    core.decoder = decoders.Fuse()
    core.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in special])
    core.add_tokens([AddedToken(t, special=False, normalized=False) for t in whole])
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>"],
        padding_side="left",
        truncation_side="left",
        **options,
    )


def build_tiny_model(
    tokenizer: PreTrainedTokenizerBase,
    *,
    arch: str = "llama",
    hidden: int = 128,
    layers: int = 4,
    heads: int = 4,
    intermediate: int = 384,
    max_positions: int = 2048,
    seed: int = 0,
    attention_dropout: float = 0.0,
) -> PreTrainedModel:
    """A tiny Llama or Qwen2 causal LM built from a config (random weights, fixed by ``seed``).

    Example:
        >>> m = build_tiny_model(build_tiny_tokenizer(), hidden=32, layers=1, heads=2, intermediate=64)
        >>> sum(p.numel() for p in m.parameters()) < 50_000
        True
    """
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    common: dict[str, Any] = {
        "vocab_size": len(tokenizer),
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "max_position_embeddings": max_positions,
        "rms_norm_eps": 1e-6,
        "attention_dropout": attention_dropout,
        "tie_word_embeddings": True,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        if arch == "llama":
            model: PreTrainedModel = LlamaForCausalLM(LlamaConfig(**common))
        elif arch == "qwen2":
            model = Qwen2ForCausalLM(Qwen2Config(**common))
        else:
            raise ValueError(f"tiny arch must be llama or qwen2, not {arch!r}")
    finally:
        torch.random.set_rng_state(state)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def load_model_and_tokenizer(
    name: str,
    *,
    tokenizer_name: str | None = None,
    tiny: dict[str, Any] | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer from a local path or hub name, or build the tiny one (``"tiny"``).

    The weights are loaded in ``dtype``, float32 unless told otherwise, whatever the checkpoint was saved
    in (transformers would otherwise keep a bf16 checkpoint in bf16, where AdamW's small updates round
    away): a model to train keeps float32 master weights and computes in bf16 under autocast; a frozen
    reference or a sampler may be loaded in bf16.

    Example:
        >>> model, tok = load_model_and_tokenizer("tiny", tiny={"hidden": 32, "layers": 1, "heads": 2, "intermediate": 64})
        >>> tok.padding_side, next(model.parameters()).dtype
        ('left', torch.float32)
    """
    if name == "tiny":
        tok = build_tiny_tokenizer()
        model = build_tiny_model(tok, **(tiny or {}))
        return cast(PreTrainedModel, model.to(dtype)), tok  # type: ignore[arg-type]
    tok = AutoTokenizer.from_pretrained(tokenizer_name or name)
    tok.padding_side = "left"  # generation continues the prompt's end; an over-long prompt loses its start
    tok.truncation_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return AutoModelForCausalLM.from_pretrained(name, dtype=dtype), tok


def disable_dropout(model: torch.nn.Module) -> None:
    """Zero every dropout of ``model`` (``nn.Dropout`` modules and the attention-dropout rates attention
    layers read in training mode), so train and eval mode compute the same function: RL's old and new
    log-probs must come from the same policy.

    Example:
        >>> m = build_tiny_model(build_tiny_tokenizer(), hidden=32, layers=1, heads=2, intermediate=64, attention_dropout=0.5)
        >>> disable_dropout(m); m.model.layers[0].self_attn.attention_dropout
        0.0
    """
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        for name, value in list(vars(module).items()):
            if "dropout" in name and isinstance(value, float):
                setattr(module, name, 0.0)
    config = getattr(model, "config", None)
    for name in ("attention_dropout", "hidden_dropout", "dropout", "resid_pdrop", "embd_pdrop", "attn_pdrop"):
        if isinstance(getattr(config, name, None), float):
            setattr(config, name, 0.0)


def render_prompt(
    tokenizer: PreTrainedTokenizerBase,
    question: str,
    *,
    prefill_think: bool = True,
    system_prompt: str | None = None,
) -> str:
    """The prompt text as the policy sees it: the chat template (or R1-Zero's plain template for a tokenizer
    without one), ending with the R1 template's ``<think>\\n`` when ``prefill_think``.

    Example:
        >>> render_prompt(build_tiny_tokenizer(), "1+1?")
        '<|user|>1+1?\\n<|assistant|><think>\\n'
    """
    if getattr(tokenizer, "chat_template", None):
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        messages.append({"role": "user", "content": question})
        text = str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
    else:
        text = (system_prompt + "\n" if system_prompt else "") + R1_ZERO_TEMPLATE.format(prompt=question)
    if prefill_think and not text.rstrip().endswith("<think>"):
        text += THINK_PREFILL
    return text
