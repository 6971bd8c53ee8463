"""What the trainers' built-in math and format rewards get wrong on our public cases, and what ours gets right.

Accuracy: every case of ``tests/rewards/math_cases.py`` (section, gold, completion, required outcome) is
scored by each tool; a verdict is right when it rewards exactly the ``equivalent`` cases (1.0), gives 0.0 to
``not_equivalent``/``no_answer``/``ambiguous`` ones, and masks (null/None) the ``no_reference`` ones.
Format: a table of layouts defined below, each with the verdict of the two DeepSeek-R1 formats (``think``;
``think_answer`` = think block then one ``<answer>`` block).

Tools, each called through its own public function, unchanged (nothing is re-implemented here):

- ours: :func:`rewards.score` in-process (the code the service runs in its workers).
- TRL (installed version): ``trl.rewards.accuracy_reward``, ``reasoning_accuracy_reward``,
  ``think_format_reward``.
- verl (``pip install --no-deps verl``): the scorers its default ``compute_score`` dispatches to,
  ``verl/utils/reward_score/{math_reward,math_dapo,gsm8k}.py``. Importing ``verl`` itself needs Ray
  (``verl/__init__`` imports ``verl.protocol``), so these three self-contained files are loaded by path;
  ``prime_math`` and ``math_verify`` need the ``verl`` package importable (so Ray): left out.
- OpenRLHF (``pip install --no-deps openrlhf`` + ``pylatexenc``): it has no built-in reward for the
  trainer; its ``examples/python/math_reward_func.py`` grades with ``openrlhf.utils.math_utils``'s
  ``extract_boxed_answer`` + ``grade_answer``, loaded by path (``openrlhf.utils`` imports DeepSpeed). It
  ships no format reward.
- open-r1's ``format_reward`` regex (as open-r1's source writes it; open-r1 is not a package), for the
  ``think_answer`` format that TRL and verl do not cover.

Run: ``python -m bench.trainer_rewards [--examples N]``; prints markdown tables.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from tests.rewards.math_cases import CASES, MathCase

Verdict = float | None
AccuracyTool = Callable[[MathCase], Verdict]

R1_PROMPT = "<｜User｜>What is 2+2? Put the final answer in <answer></answer>.<｜Assistant｜><think>\n"


def want(case: MathCase) -> Verdict:
    """The verdict a correct reward gives: 1.0 equivalent, None without a reference, else 0.0."""
    if case.expected == "equivalent":
        return 1.0
    if case.expected == "no_reference":
        return None
    return 0.0


# -- loading the tools ---------------------------------------------------------------------------------------
def _site_file(package: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.exists() else None


def _load_by_path(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def accuracy_tools() -> tuple[dict[str, AccuracyTool], list[str]]:
    """The accuracy tools that load here, and a note for each that does not."""
    tools: dict[str, AccuracyTool] = {}
    notes: list[str] = []

    import rewards

    config = rewards.RewardConfig(accuracy=rewards.AccuracyConfig(), format=None, language=None)

    def ours(case: MathCase) -> Verdict:
        item = rewards.Item(completion=case.completion, prompt=case.prompt, answer=case.gold or None)
        return rewards.score([item], config)[0].scores.get("accuracy")

    tools["ours"] = ours

    try:
        from trl.rewards import accuracy_reward, reasoning_accuracy_reward

        def trl_tool(func: Callable[..., list[float | None]]) -> AccuracyTool:
            return lambda case: func([[{"role": "assistant", "content": case.completion}]], [case.gold])[0]

        tools["TRL accuracy_reward"] = trl_tool(accuracy_reward)
        tools["TRL reasoning_accuracy_reward"] = trl_tool(reasoning_accuracy_reward)
    except ImportError as exc:
        notes.append(f"TRL rewards: not importable ({exc})")

    verl_files = {
        "verl math_reward (MATH)": "utils/reward_score/math_reward.py",
        "verl math_dapo": "utils/reward_score/math_dapo.py",
        "verl gsm8k": "utils/reward_score/gsm8k.py",
    }
    for label, relative in verl_files.items():
        path = _site_file("verl", relative)
        if path is None:
            notes.append(f"{label}: verl not installed (pip install --no-deps verl)")
            continue
        module = _load_by_path("_bench_" + path.stem, path)
        tools[label] = _verl_tool(module.compute_score)
    if _site_file("verl", "utils/reward_score/prime_math/__init__.py") is not None:
        notes.append(
            "verl prime_math: needs verl.utils.py_functional, whose package import needs Ray: left out"
        )
        notes.append(
            "verl math_verify: runs Math-Verify in a spawn process pool whose worker must be importable as "
            "verl.utils.reward_score.math_verify, which needs Ray: left out (its verdicts are Math-Verify's, "
            "as in TRL's accuracy_reward column, with the gold wrapped in \\boxed{})"
        )

    path = _site_file("openrlhf", "utils/math_utils.py")
    if path is None:
        notes.append(
            "OpenRLHF math_utils: openrlhf not installed (pip install --no-deps openrlhf pylatexenc)"
        )
    else:
        try:
            math_utils = _load_by_path("_bench_openrlhf_math_utils", path)

            def openrlhf(case: MathCase) -> Verdict:
                answer = math_utils.extract_boxed_answer(case.completion)
                return 1.0 if math_utils.grade_answer(answer, case.gold) else 0.0

            tools["OpenRLHF grade_answer"] = openrlhf
        except ImportError as exc:
            notes.append(f"OpenRLHF math_utils: not importable ({exc})")
    return tools, notes


def _verl_tool(compute_score: Callable[..., Any]) -> AccuracyTool:
    def tool(case: MathCase) -> Verdict:
        result = compute_score(case.completion, case.gold)
        if isinstance(result, dict):  # math_dapo: {"score": 1/-1, "acc": bool, "pred": ...}
            return 1.0 if result.get("acc") else 0.0
        return 1.0 if float(result) >= 1.0 else 0.0

    return tool


# -- format cases ----------------------------------------------------------------------------------------------
class FormatCase(NamedTuple):
    name: str
    completion: str
    prompt: str | None
    think: bool  # passes the "think" format (one non-empty block, closed once, then a non-empty answer)
    think_answer: (
        bool  # passes "think_answer" (the same, then exactly one non-empty <answer> and nothing after)
    )


FORMAT_CASES: list[FormatCase] = [
    FormatCase("canonical", "<think>\n2+2 is 4.\n</think>\n<answer>\n4\n</answer>", None, True, True),
    FormatCase("single-line reasoning", "<think>2+2 is 4.</think><answer>4</answer>", None, True, True),
    FormatCase(
        "R1 prefill (<think> in prompt)", "2+2 is 4.\n</think>\n<answer>\n4\n</answer>", R1_PROMPT, True, True
    ),
    FormatCase(
        "two think blocks",
        "<think>\na\n</think>\n<think>\nb\n</think>\n<answer>\n4\n</answer>",
        None,
        False,
        False,
    ),
    FormatCase("nested think", "<think>\na <think> b\n</think>\n<answer>\n4\n</answer>", None, False, False),
    FormatCase(
        "doubled </think>", "<think>\n2+2=4\n</think>\n</think>\n<answer>\n4\n</answer>", None, False, False
    ),
    FormatCase(
        "text after </answer>",
        "<think>\n2+2=4\n</think>\n<answer>\n4\n</answer>\nHope it helps!",
        None,
        True,
        False,
    ),
    FormatCase("empty think", "<think>\n\n</think>\n<answer>\n4\n</answer>", None, False, False),
    FormatCase(
        "answer only inside think", "<think>\nso the answer is \\boxed{4}\n</think>", None, False, False
    ),
    FormatCase("unclosed think", "<think>\n2+2 is 4, the answer is 4", None, False, False),
    FormatCase("no tags", "The answer is 4.", None, False, False),
    FormatCase(
        "text before <think>", "Sure!\n<think>\n2+2=4\n</think>\n<answer>\n4\n</answer>", None, False, False
    ),
]

# open-r1's format_reward pattern and flags, as its source writes them.
_OPEN_R1 = re.compile(r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$", re.DOTALL | re.MULTILINE)


def format_verdicts() -> tuple[list[str], list[list[str]], dict[str, int]]:
    """Rows of the format table (✓ right verdict, ✗ wrong; the tool's score in brackets) and totals."""
    from rewards.config import FormatConfig
    from rewards.format import score_format

    think_format_reward: Callable[..., list[float]] | None
    try:
        from trl.rewards import think_format_reward
    except ImportError:
        think_format_reward = None
    header = [
        "case",
        "TRL think_format_reward",
        "ours (think)",
        "open-r1 format_reward",
        "ours (think_answer)",
    ]
    rows = []
    right: dict[str, int] = defaultdict(int)
    for case in FORMAT_CASES:
        verdicts: dict[str, tuple[float | None, bool]] = {}
        if think_format_reward is not None:
            verdicts[header[1]] = (think_format_reward([[{"content": case.completion}]])[0], case.think)
        verdicts[header[2]] = (
            score_format(case.completion, case.prompt, FormatConfig(mode="think"))[0],
            case.think,
        )
        verdicts[header[3]] = (1.0 if _OPEN_R1.match(case.completion) else 0.0, case.think_answer)
        verdicts[header[4]] = (
            score_format(case.completion, case.prompt, FormatConfig(mode="think_answer"))[0],
            case.think_answer,
        )
        row = [case.name]
        for column in header[1:]:
            if column not in verdicts:
                row.append("n/a")
                continue
            score, should_pass = verdicts[column]
            ok = (score == 1.0) == should_pass
            right[column] += ok
            row.append(f"{'✓' if ok else '✗'} ({score:g})")
        rows.append(row)
    return header, rows, right


# -- running -----------------------------------------------------------------------------------------------------
def run_accuracy(
    tools: dict[str, AccuracyTool],
) -> tuple[dict[str, dict[str, int]], dict[str, list[tuple[MathCase, Verdict]]], dict[str, float]]:
    """Right verdicts per tool per section, the wrong ones, and each tool's seconds."""
    right: dict[str, dict[str, int]] = {name: defaultdict(int) for name in tools}
    wrong: dict[str, list[tuple[MathCase, Verdict]]] = {name: [] for name in tools}
    seconds: dict[str, float] = {}
    for name, tool in tools.items():
        start = time.perf_counter()
        for case in CASES:
            try:
                verdict = tool(case)
            except Exception:  # a grader that crashes on a case gets it wrong; it never stops the table
                verdict = float("nan")
            if verdict is not None:
                verdict = float(verdict)
            if verdict == want(case) or (verdict is None and want(case) is None):
                right[name][case.section] += 1
            else:
                wrong[name].append((case, verdict))
        seconds[name] = time.perf_counter() - start
    return right, wrong, seconds


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _short(text: str, width: int = 60) -> str:
    text = text.replace("\n", "⏎").replace("|", "\\|")
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def summary_rows(
    names: list[str], right: dict[str, dict[str, int]], totals: dict[str, int]
) -> list[list[str]]:
    """One row per tool: its right verdicts and the sections where it misses most."""
    rows = []
    for name in names:
        misses = sorted(((totals[s] - right[name][s], s) for s in totals), key=lambda m: (-m[0], m[1]))
        worst = ", ".join(
            f"{section} ({missed}/{totals[section]})" for missed, section in misses[:5] if missed
        )
        rows.append([name, f"{sum(right[name].values())}/{sum(totals.values())}", worst or "none"])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2, help="wrong verdicts shown per tool and section")
    args = parser.parse_args(argv)

    tools, notes = accuracy_tools()
    right, wrong, seconds = run_accuracy(tools)
    sections = list(dict.fromkeys(case.section for case in CASES))
    totals = defaultdict(int, {s: sum(c.section == s for c in CASES) for s in sections})
    names = list(tools)
    rows = [[s, str(totals[s])] + [str(right[n][s]) for n in names] for s in sections]
    rows.append(["**all**", str(len(CASES))] + [f"**{sum(right[n].values())}**" for n in names])
    rows.append(["seconds", ""] + [f"{seconds[n]:.1f}" for n in names])
    print(f"## Summary: right verdicts on {len(CASES)} public math cases, and where each tool goes wrong\n")
    print(
        markdown(
            ["tool", "right", "most wrong verdicts in (wrong/cases)"], summary_rows(names, right, totals)
        )
    )
    print(f"\n## Accuracy: right verdicts on tests/rewards/math_cases.py ({len(CASES)} cases)\n")
    print(markdown(["section", "cases", *names], rows))
    for note in notes:
        print(f"\n- {note}")

    print("\n## Format: right verdicts (score in brackets)\n")
    header, format_rows, format_right = format_verdicts()
    format_rows.append(["**right**"] + [f"**{format_right[c]}/{len(FORMAT_CASES)}**" for c in header[1:]])
    print(markdown(header, format_rows))
    print("\nverl and OpenRLHF ship no think-format reward.")

    if args.examples:
        print("\n## Wrong verdicts, by tool (gold | end of completion | verdict, wanted)\n")
        for name in names:
            by_section: dict[str, list[tuple[MathCase, Verdict]]] = defaultdict(list)
            for case, verdict in wrong[name]:
                by_section[case.section].append((case, verdict))
            print(f"### {name}: {len(wrong[name])} wrong\n")
            for section, misses in by_section.items():
                for case, verdict in misses[: args.examples]:
                    print(
                        f"- {section}: `{_short(case.gold, 30)}` | `{_short(case.completion)}` | {verdict} (want {want(case)})"
                    )
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
