"""The R1 recipes: the task's language design, the tokenizer, the data sets, the rejection filters, and both
recipes end to end (quick mode) over the real service."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from rewards.config import RewardConfig
from rewards.registry import score
from rewards.types import Item
from trainer_client.cli import register
from trainer_client.grpo.model import render_prompt
from trainer_client.grpo.recipe.data import LAYOUTS, base_rows, cold_start_rows, layout, vocabulary_texts
from trainer_client.grpo.recipe.rejection import RejectionSettings, verdict
from trainer_client.grpo.recipe.run import R1_STAGES, R1_ZERO_STAGES, run_recipe
from trainer_client.grpo.recipe.task import LANGS, Problem, drift_language, split_problems
from trainer_client.grpo.recipe.tokenizer import R1_ZERO_TEXT, build_word_tokenizer

LANGUAGE_ONLY = RewardConfig.from_dict({"language": {"weight": 1.0}})


def language_score(reasoning: str, lang: str) -> float:
    item = Item(
        id="x", prompt="q", completion=f"<think>\n{reasoning}\n</think>\n\\boxed{{1}}", answer="1", lang=lang
    )
    value = score([item], LANGUAGE_ONLY)[0].scores["language"]
    assert value is not None
    return value


# ---- the task: what lid.176 reads in each reasoning, through the library's language score ---------------
PROBLEMS = [Problem(a, b, lang) for lang in LANGS for a, b in ((45, 28), (10, 10), (99, 99), (37, 51))]
# (reasoning kind, switch_at, lowest score, highest score)
KINDS: list[tuple[str, int | None, float, float]] = [
    # consistent reasoning is wholly in the target language
    ("careful", None, 1.0, 1.0),
    ("shortcut", None, 1.0, 1.0),
    # switching after the first sentence leaves about a third in the target, after the second about three quarters
    ("careful", 1, 0.2, 0.45),
    ("careful", 2, 0.65, 0.85),
    # a one-sentence reasoning that switches is wholly in the drift language
    ("shortcut", 1, 0.0, 0.0),
]


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: f"{p.lang}-{p.a}+{p.b}")
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: f"{k[0]}-switch{k[1]}")
def test_language_score_of_each_reasoning_kind(
    problem: Problem, kind: tuple[str, int | None, float, float]
) -> None:
    name, switch_at, low, high = kind
    text = problem.reasoning(shortcut=name == "shortcut", switch_at=switch_at)
    assert low <= language_score(text, problem.lang) <= high


@pytest.mark.parametrize("lang", LANGS)
def test_drift_language_is_english_or_chinese_and_never_the_target(lang: str) -> None:
    assert drift_language(lang) in ("en", "zh") and drift_language(lang) != lang


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: f"{p.lang}-{p.a}+{p.b}")
def test_careful_reasoning_states_the_column_sums_and_the_answer(problem: Problem) -> None:
    units, tens, result = problem.sentences()
    u = problem.a % 10 + problem.b % 10
    assert str(u) in units and str(problem.a // 10 + problem.b // 10 + u // 10) in tens
    assert str(problem.answer) in result


def test_held_out_pairs_never_appear_in_train_and_languages_are_balanced() -> None:
    train, held = split_problems(train_size=2000, eval_size=100, seed=3)
    assert {(p.a, p.b) for p in train}.isdisjoint((p.a, p.b) for p in held)
    assert {lang: sum(p.lang == lang for p in held) for lang in LANGS} == dict.fromkeys(LANGS, 20)
    assert split_problems(train_size=10, eval_size=5, seed=3) == split_problems(
        train_size=10, eval_size=5, seed=3
    )


# ---- the tokenizer -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("r1_zero", [True, False])
def test_tokenizer_round_trips_every_text_of_the_task(r1_zero: bool) -> None:
    train, held = split_problems(train_size=50, eval_size=10, seed=0)
    texts = vocabulary_texts(train + held, R1_ZERO_TEXT if r1_zero else "{question}")
    tok = build_word_tokenizer(texts, r1_zero=r1_zero)
    for row in base_rows(train, shortcut_share=0.5, seed=0) + cold_start_rows(
        train, switch_shares=(0.3, 0.3), shortcut_share=0.5, seed=0
    ):
        for text in (render_prompt(tok, row["prompt"], prefill_think=not r1_zero), row["response"]):
            ids = tok(text, add_special_tokens=False)["input_ids"]
            assert tok.unk_token_id not in ids and tok.decode(ids) == text
    assert len(tok(train[0].reasoning())["input_ids"]) < 60  # short enough for CPU training
    rendered = render_prompt(tok, "Was ist die Summe von 1 und 2?", prefill_think=not r1_zero)
    if r1_zero:  # plain text, and the model must open <think> itself
        assert rendered == R1_ZERO_TEXT.format(question="Was ist die Summe von 1 und 2?")
    else:
        assert rendered == "<|user|>Was ist die Summe von 1 und 2?\n<|assistant|><think>\n"
    assert tok.unk_token_id not in tok(rendered, add_special_tokens=False)["input_ids"]


# ---- the data sets -----------------------------------------------------------------------------------------
def test_base_text_shows_r1_layout_only_sometimes() -> None:
    rows = base_rows(split_problems(train_size=4000, eval_size=0, seed=0)[0], shortcut_share=0.6, seed=0)
    r1_layout = sum(r["response"].startswith("<think>\n") and "</think>" in r["response"] for r in rows)
    assert abs(r1_layout / len(rows) - LAYOUTS["think"]) < 0.03
    assert len({r["response"].split(" ")[0][:7] for r in rows}) > 3  # several openings


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_every_layout_holds_the_boxed_answer(name: str) -> None:
    assert "\\boxed{73}" in layout(Problem(45, 28, "en"), "R.", name)


# (share switching after the units, share switching after the tens)
SWITCH_SHARES: list[tuple[float, float]] = [(0.0, 0.0), (0.15, 0.6), (0.7, 0.0), (0.0, 1.0)]


@pytest.mark.parametrize("shares", SWITCH_SHARES)
def test_cold_start_switches_the_requested_shares(shares: tuple[float, float]) -> None:
    problems = [p for p in split_problems(train_size=2000, eval_size=0, seed=0)[0] if p.lang == "fr"]
    rows = cold_start_rows(problems, switch_shares=shares, shortcut_share=0.0, seed=0)
    # French reasoning drifting to English: the tens sentence ("Then I add") or only the result ("So ... is")
    at_tens = sum("Then I add" in r["response"] for r in rows) / len(rows)
    at_result = sum(" So " in r["response"] and "Then I add" not in r["response"] for r in rows) / len(rows)
    assert abs(at_tens - shares[0]) < 0.06 and abs(at_result - shares[1]) < 0.06
    assert all(r["response"].endswith(f"</think>\n\\boxed{{{r['answer']}}}") for r in rows)


# ---- rejection sampling's filters --------------------------------------------------------------------------
OK = {"accuracy": 1.0, "format": 1.0, "language": 1.0}
# (scores, completion, tokens, truncated, verdict)
VERDICTS: list[tuple[dict[str, Any], str, int, bool, str]] = [
    (OK, "fine", 40, False, "keep"),
    ({**OK, "language": 0.95}, "fine", 40, False, "keep"),
    ({**OK, "accuracy": 0.0}, "fine", 40, False, "incorrect"),
    ({**OK, "accuracy": None}, "fine", 40, False, "incorrect"),
    ({**OK, "format": 0.0}, "fine", 40, False, "bad_format"),
    ({**OK, "language": 0.9}, "fine", 40, False, "mixed_language"),
    ({**OK, "language": None}, "fine", 40, False, "mixed_language"),
    (OK, "fine", 81, False, "over_long"),
    (OK, "fine", 40, True, "over_long"),
    (OK, "```python\nprint(73)\n```", 40, False, "code_block"),
]


@pytest.mark.parametrize(("scores", "completion", "tokens", "truncated", "expected"), VERDICTS)
def test_rejection_verdict(
    scores: dict[str, Any], completion: str, tokens: int, truncated: bool, expected: str
) -> None:
    assert verdict(scores, completion, tokens, truncated, RejectionSettings(max_tokens=80)) == expected


# ---- the command line --------------------------------------------------------------------------------------
# (argv after "demo", recipe, start_from)
DEMO_ARGS: list[tuple[list[str], str, str]] = [
    (["--run-dir", "d"], "r1", "rl"),
    (["--run-dir", "d", "--recipe", "r1-zero"], "r1-zero", "rl"),
    (["--run-dir", "d", "--from", "base"], "r1", "base"),
    (["--run-dir", "d", "--recipe", "arithmetic"], "arithmetic", "rl"),
]


@pytest.mark.parametrize(("argv", "recipe", "start_from"), DEMO_ARGS)
def test_demo_flags(argv: list[str], recipe: str, start_from: str) -> None:
    parser = argparse.ArgumentParser(prog="vrewards")
    register(parser.add_subparsers())
    args = parser.parse_args(["demo", *argv])
    assert (args.recipe, args.start_from) == (recipe, start_from)


# ---- both recipes end to end, quick, over the real service --------------------------------------------------
FIELDS = {"name", "accuracy", "format", "language", "completion_len", "wall_s"}


@pytest.mark.slow
@pytest.mark.parametrize(("recipe", "stages"), [("r1-zero", R1_ZERO_STAGES), ("r1", R1_STAGES)])
def test_quick_recipe_runs_every_stage(tmp_path: Path, recipe: str, stages: tuple[str, ...]) -> None:
    summary = run_recipe(recipe, tmp_path, quick=True)
    on_disk = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert on_disk["recipe"] == recipe and [s["name"] for s in on_disk["stages"]] == list(stages)
    for stage in on_disk["stages"]:
        assert set(stage) == FIELDS
        assert all(0.0 <= stage[k] <= 1.0 for k in ("accuracy", "format")) and stage["wall_s"] >= 0.0
        assert (tmp_path / stage["name"] / "eval_completions.jsonl").exists()
    for image in summary["images"]:
        assert Path(image).read_bytes().startswith(b"\x89PNG")
    rl_stages = [s for s in stages if s.startswith("rl")]
    for name in rl_stages:  # every RL stage trained through the service: no group masked
        rows = [
            json.loads(x)
            for x in (tmp_path / name / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        assert rows and all(r["reward_masked_frac"] == 0.0 for r in rows if r["step"] > 0)
    if recipe == "r1":
        assert on_disk["rejection_sampling"]["samples"] == 4 * 2
