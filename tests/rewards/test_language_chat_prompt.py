"""The language target survives chat templates (issue 14 item 1, issue 16 item 5)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rewards.chat_prompt import last_user_turn, paragraphs
from rewards.config import LanguageConfig
from rewards.language import infer_prompt_language, score_language
from rewards.regions import Regions

CONFIG = LanguageConfig()
SYSTEM = "You are a helpful assistant. Think step by step and put the final answer in a box."

Template = Callable[[str, str | None], str]


def chatml(question: str, system: str | None) -> str:
    head = f"<|im_start|>system\n{system}<|im_end|>\n" if system else ""
    return f"{head}<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"


def llama3(question: str, system: str | None) -> str:
    head = f"<|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>" if system else ""
    return (
        f"<|begin_of_text|>{head}<|start_header_id|>user<|end_header_id|>\n\n{question}<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def gemma(question: str, system: str | None) -> str:
    # Gemma has no system turn: its template puts the system prompt at the top of the first user turn.
    text = f"{system}\n\n{question}" if system else question
    return f"<bos><start_of_turn>user\n{text}<end_of_turn>\n<start_of_turn>model\n"


def deepseek(question: str, system: str | None) -> str:
    return f"<｜begin▁of▁sentence｜>{system or ''}<｜User｜>{question}<｜Assistant｜><think>\n"


def mistral(question: str, system: str | None) -> str:
    text = f"{system}\n\n{question}" if system else question
    return f"<s>[INST] {text} [/INST]"


def llama2(question: str, system: str | None) -> str:
    head = f"<<SYS>>\n{system}\n<</SYS>>\n\n" if system else ""
    return f"<s>[INST] {head}{question} [/INST]"


def phi3(question: str, system: str | None) -> str:
    head = f"<|system|>\n{system}<|end|>\n" if system else ""
    return f"{head}<|user|>\n{question}<|end|>\n<|assistant|>\n"


def r1_zero(question: str, system: str | None) -> str:
    return (
        "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
        f"The assistant first thinks about the reasoning process. User: {question}. Assistant: <think>"
    )


TEMPLATES: dict[str, Template] = {
    "chatml": chatml,
    "llama3": llama3,
    "gemma": gemma,
    "deepseek": deepseek,
    "mistral": mistral,
    "llama2": llama2,
    "phi3": phi3,
    "r1-zero": r1_zero,
}

QUESTIONS: list[tuple[str, str]] = [
    # (question, its language): the built-in task's wordings, and short questions
    ("计算六乘以七等于多少？", "zh"),
    ("12 × 7 等于多少？", "zh"),
    ("小明有12个苹果，吃了5个。还剩几个苹果？", "zh"),
    ("Combien font six fois sept ?", "fr"),
    ("Léa a 12 pommes et en mange 5. Combien de pommes reste-t-il ?", "fr"),
    ("Quanto fa sei per sette?", "it"),
    ("Tom hat 12 Äpfel und isst 5. Wie viele Äpfel bleiben übrig?", "de"),
    ("Wie viel ist sechs mal sieben?", "de"),
    ("Ana tiene 12 manzanas y come 5. ¿Cuántas manzanas quedan?", "es"),
    ("¿Cuánto es seis por siete?", "es"),
    ("Tom has 12 apples and eats 5. How many apples are left?", "en"),
    ("How much is six times seven?", "en"),
    ("六かける七はいくつですか？", "ja"),
    ("육 곱하기 칠은 얼마입니까?", "ko"),
]


@pytest.mark.parametrize(("question", "lang"), QUESTIONS)
def test_bare_question(question: str, lang: str) -> None:
    assert infer_prompt_language(question, CONFIG)[0] == lang


@pytest.mark.parametrize("system", [None, SYSTEM], ids=["no-system", "system"])
@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize(("question", "lang"), QUESTIONS)
def test_templated_question_has_the_bare_target(
    question: str, lang: str, template: str, system: str | None
) -> None:
    prompt = TEMPLATES[template](question, system)
    assert infer_prompt_language(prompt, CONFIG)[0] == lang


@pytest.mark.parametrize("system", [None, SYSTEM], ids=["no-system", "system"])
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_no_markup_or_role_name_reaches_the_detector(template: str, system: str | None) -> None:
    text = last_user_turn(TEMPLATES[template]("Combien font six fois sept ?", system))
    for markup in ("<", ">", "|", "｜", "[INST", "[/INST", "SYS"):
        assert markup not in text
    # Gemma and Mistral keep the system prompt at the top of the turn; the last paragraph is the question.
    assert paragraphs(text)[-1].rstrip(".") == "Combien font six fois sept ?"  # R1-Zero adds a period


# A short question too vague for fastText and not CJK stays without a target, template or not.
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_too_short_question_has_no_target(template: str) -> None:
    assert infer_prompt_language(TEMPLATES[template]("What is 6 * 7?", None), CONFIG)[0] is None


# End to end: a Chinese reasoning to a templated Chinese question scores high, an English one low.
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_score_follows_templated_target(template: str) -> None:
    prompt = TEMPLATES[template]("计算六乘以七等于多少？", SYSTEM)
    chinese = Regions(False, True, 1, 1, "我们把六和七相乘，得到四十二，所以答案是四十二。", " 42")
    english = Regions(False, True, 1, 1, "We multiply six by seven and get forty two, so that is it.", " 42")
    zh_value, details = score_language(chinese, None, prompt, CONFIG)
    en_value, _ = score_language(english, None, prompt, CONFIG)
    assert details["language_target"] == "zh" and details["language_target_source"] == "prompt"
    assert zh_value == 1.0 and en_value == 0.0


PARAGRAPHS: list[tuple[str, list[str]]] = [
    ("one\n\ntwo", ["one", "two"]),
    ("one\n \n\n two\nthree", ["one", "two\nthree"]),
    ("  \n\n", []),
]


@pytest.mark.parametrize(("text", "parts"), PARAGRAPHS)
def test_paragraphs(text: str, parts: list[str]) -> None:
    assert paragraphs(text) == parts
