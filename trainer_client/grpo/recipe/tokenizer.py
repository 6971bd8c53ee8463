"""A word-level tokenizer built from the task's own vocabulary, and the tiny model over it.

Pieces: a word with its leading space (``" plus"``), one digit (with its leading space), one CJK character or CJK punctuation mark, one
whitespace character, one other symbol; ``<think>``, ``</think>`` and ``\\boxed{`` are whole tokens. The
vocabulary is every piece of the texts it is built from, so a reasoning of three sentences takes about 50
tokens instead of about 200 characters: short enough to train on a CPU in minutes. Decoding concatenates the
pieces, so ``decode(encode(text)) == text`` for any text made of known pieces.
"""

from __future__ import annotations

from collections.abc import Iterable

from transformers import PreTrainedTokenizerBase

from trainer_client.grpo.model import word_level_tokenizer

SPECIAL = ["<pad>", "<unk>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
WHOLE = ["<think>", "</think>", "\\boxed{"]
# Han characters and CJK punctuation one by one; other letters as words (apostrophes inside: "j'additionne")
PIECES = (
    r"[\p{Han}\u3000-\u303f\uff00-\uffef]"
    r"| ?[^\P{L}\p{Han}]+(?:'[^\P{L}\p{Han}]+)*"
    r"| ?\p{N}|\s|[^\p{L}\p{N}\s]"
)
# R1-Zero's template for a base model, in short: plain text, no chat tokens, the format only described.
R1_ZERO_TEXT = (
    "A conversation between User and Assistant. The Assistant first thinks about the reasoning in "
    "<think> </think>, then gives the final answer in \\boxed{{}}.\nUser: {question}\nAssistant: "
)
R1_ZERO_CHAT_TEMPLATE = R1_ZERO_TEXT.format(question="{{ messages[-1]['content'] }}")
CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}<|system|>{{ m['content'] }}\n"
    "{% elif m['role'] == 'user' %}<|user|>{{ m['content'] }}\n"
    "{% else %}<|assistant|>{{ m['content'] }}</s>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _pre_tokenizer() -> object:
    from tokenizers import Regex, pre_tokenizers

    return pre_tokenizers.Split(Regex(PIECES), behavior="isolated")


def pieces(text: str) -> list[str]:
    """Split ``text`` into the tokenizer's pieces.

    Example:
        >>> pieces("D'abord, 13 unités。所以")
        ["D'abord", ',', ' 1', '3', ' unités', '。', '所', '以']
    """
    return [p for p, _ in _pre_tokenizer().pre_tokenize_str(text)]  # type: ignore[attr-defined]


def build_word_tokenizer(texts: Iterable[str], *, r1_zero: bool = False) -> PreTrainedTokenizerBase:
    """A tokenizer whose vocabulary is every piece of ``texts`` (plus digits and specials).

    Its chat template is a chat model's (special tokens around each turn), or with ``r1_zero`` the plain
    text of :data:`R1_ZERO_TEXT`, as a base model sees it (a shortened R1-Zero template: the whole one
    would double every sequence of the task, and the time to train on it).

    Example:
        >>> tok = build_word_tokenizer(["First I add 5 plus 8."])
        >>> ids = tok("<think>\\nFirst I add 3 plus 4.</think>")["input_ids"]
        >>> len(ids), tok.decode(ids)
        (10, '<think>\\nFirst I add 3 plus 4.</think>')
    """
    found: set[str] = {f"{space}{d}" for d in range(10) for space in ("", " ")} | {" ", "\n", "}", "{"}
    for text in texts:
        for whole in WHOLE:
            text = text.replace(whole, " ")
        found.update(pieces(text))
    vocab = {tok: i for i, tok in enumerate(SPECIAL + WHOLE + sorted(found - set(SPECIAL) - set(WHOLE)))}
    tok = word_level_tokenizer(vocab, _pre_tokenizer(), SPECIAL, WHOLE, clean_up_tokenization_spaces=False)
    tok.chat_template = R1_ZERO_CHAT_TEMPLATE if r1_zero else CHAT_TEMPLATE
    return tok
