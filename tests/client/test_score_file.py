"""``vrewards score``: the command registered on a parser built here, in-process and through the real service."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from trainer_client.score_file import read_items, register, summary, summary_table
from trainer_client.types import ScoreResult

LINES: list[dict[str, Any]] = [
    {"id": "a", "completion": "<think>6*7=42</think> \\boxed{42}", "answer": "42", "lang": "en"},
    {"completion": "<think>guess</think> \\boxed{41}", "solution": "42"},
    {"completion": "<think>x</think> \\boxed{7}", "ground_truth": 7, "extra": "ignored"},
    {"completion": "no think at all, just 5"},
]
# (id, accuracy, outcome, format)
EXPECTED = [
    ("a", 1.0, "equivalent", 1.0),
    ("2", 0.0, "not_equivalent", 1.0),
    ("3", 1.0, "equivalent", 1.0),
    ("4", None, "no_reference", 0.0),
]


def vrewards(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="vrewards")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def write_jsonl(path: Path, rows: list[Any], blank_line: bool = True) -> Path:
    text = "\n".join(json.dumps(r) for r in rows) + "\n"
    path.write_text(text + ("\n" if blank_line else ""), encoding="utf-8")
    return path


def read_output(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check_output(rows: list[dict[str, Any]]) -> None:
    assert len(rows) == len(EXPECTED)
    for row, (item_id, accuracy, outcome, fmt) in zip(rows, EXPECTED, strict=True):
        assert set(row) == {"id", "reward", "scores", "details", "error"}
        assert (row["id"], row["scores"]["accuracy"], row["details"]["outcome"], row["scores"]["format"]) == (
            item_id,
            accuracy,
            outcome,
            fmt,
        )


def test_in_process(tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", LINES)
    out = tmp_path / "out.jsonl"
    assert vrewards(["score", str(src), "-o", str(out), "--quiet"]) == 0
    check_output(read_output(out))
    printed = capsys.readouterr().out
    assert "items 4   errors 0" in printed
    assert "equivalent" in printed and "no_reference" in printed


def test_through_the_service(tmp_path, capsys, live_url):
    src = write_jsonl(tmp_path / "in.jsonl", LINES * 3)
    out = tmp_path / "out.jsonl"
    code = vrewards(["score", str(src), "-o", str(out), "--url", live_url, "--chunk-size", "2", "--quiet"])
    assert code == 0
    rows = read_output(out)
    assert len(rows) == 12
    check_output([rows[0], rows[1], rows[2], rows[3]])
    assert [r["id"] for r in rows[4:8]] == ["a", "6", "7", "8"]
    assert "items 12   errors 0" in capsys.readouterr().out


def test_rewards_option_selects_components(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", LINES)
    out = tmp_path / "out.jsonl"
    assert (
        vrewards(["score", str(src), "-o", str(out), "--rewards", '{"format": {"weight": 2}}', "--quiet"])
        == 0
    )
    rows = read_output(out)
    assert [r["scores"] for r in rows] == [{"format": 1.0}, {"format": 1.0}, {"format": 1.0}, {"format": 0.0}]
    assert [r["reward"] for r in rows] == [2.0, 2.0, 2.0, 0.0]


# -- inputs that cannot be read: exit status 1, message names the line --------------------------------------------
BAD_INPUTS = [
    ("not JSON", "{nope}\n", "in.jsonl:1: not JSON"),
    ("no completion", '{"answer": "4"}\n', "in.jsonl:1: 'completion' must be a string"),
    ("array line", '{"completion": "x"}\n[1, 2]\n', "in.jsonl:2: an item must be a JSON object"),
    (
        "bad answer type",
        '{"completion": "x", "answer": {"a": 1}}\n',
        "'answer' must be a string, a number or",
    ),
    ("bad list answer", '{"completion": "x", "answer": [[1]]}\n', "'answer' must be a string, a number or"),
    ("bad tests", '{"completion": "x", "tests": [1]}\n', "'tests' must be a test spec"),
]

# -- references as datasets store them -------------------------------------------------------------------------------
STDIN_SPEC = {"kind": "stdin_stdout", "cases": [{"input": "1", "output": "1"}]}
REFERENCES = [
    # (line, the item's answer, the item's tests)
    ({"completion": "x", "answer": ["7", 42]}, ["7", "42"], None),
    ({"completion": "x", "ground_truth": ["42"]}, ["42"], None),
    ({"completion": "x", "answer": []}, None, None),
    ({"completion": "x", "tests": STDIN_SPEC}, None, STDIN_SPEC),
    ({"completion": "x", "ground_truth": '{"inputs": ["1"], "outputs": ["1"]}'}, None, STDIN_SPEC),
]


@pytest.mark.parametrize(("line", "answer", "tests"), REFERENCES)
def test_list_references_and_tests_are_read(line, answer, tests, tmp_path):
    [item] = read_items(write_jsonl(tmp_path / "in.jsonl", [line]))
    assert (item.get("answer"), item.get("tests")) == (answer, tests)


@pytest.mark.parametrize(("name", "text", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_unreadable_input(name, text, message, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(text, encoding="utf-8")
    assert vrewards(["score", str(src), "-o", str(tmp_path / "out.jsonl")]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()


def test_missing_file(tmp_path, capsys):
    assert vrewards(["score", str(tmp_path / "absent.jsonl"), "-o", str(tmp_path / "o.jsonl")]) == 1
    assert "absent.jsonl" in capsys.readouterr().err


def test_bad_rewards_block_is_refused(tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", LINES)
    assert vrewards(["score", str(src), "-o", str(tmp_path / "o.jsonl"), "--rewards", '{"style": {}}']) == 1
    assert "style" in capsys.readouterr().err


def test_unreachable_service_is_exit_2(tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", LINES)
    code = vrewards(
        ["score", str(src), "-o", str(tmp_path / "o.jsonl"), "--url", "http://127.0.0.1:9", "--quiet"]
    )
    assert code == 2
    assert "the service failed" in capsys.readouterr().err


# -- the summary -----------------------------------------------------------------------------------------------------
def test_summary_figures():
    results = [
        ScoreResult(reward=1.5, scores={"accuracy": 1.0, "format": 1.0}, details={"outcome": "equivalent"}),
        ScoreResult(reward=0.5, scores={"accuracy": 0.0, "format": 1.0}, details={"outcome": "no_answer"}),
        ScoreResult(reward=None, scores={"accuracy": None, "format": 0.0}, details={"outcome": "timeout"}),
        ScoreResult(error={"code": "too_long", "message": "over the limit"}),
    ]
    s = summary(results)
    assert (s["items"], s["errors"]) == (4, 1)
    assert s["reward"] == {"mean": 1.0, "std": 0.5, "count": 2}
    assert s["components"]["accuracy"] == {"mean": 0.5, "std": 0.5, "count": 2}
    assert s["components"]["format"]["count"] == 3
    assert s["outcomes"] == {"equivalent": 1, "no_answer": 1, "timeout": 1}
    table = summary_table(results)
    assert "too_long 1" in table
    assert "accuracy     0.5000   0.5000         2" in table


def test_read_items_keeps_order_and_skips_blank_lines(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", LINES)
    assert [i["id"] for i in read_items(src)] == ["a", "2", "3", "4"]
    assert [i.get("answer") for i in read_items(src)] == ["42", "42", "7", None]


def test_the_vrewards_entry_point_registers_score(tmp_path):
    from app.cli import main

    src = write_jsonl(tmp_path / "in.jsonl", LINES)
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(out), "--quiet"]) == 0
    check_output(read_output(out))
