"""``vrewards score IN.jsonl -o OUT.jsonl``: score a file of items through the service or in-process.

Input: one JSON object per line with API.md's item fields (``completion`` required; ``prompt``, ``answer``,
``lang``, ``id``, ``group``, ``tests`` optional). ``solution`` and ``ground_truth`` are read as ``answer``
when there is no ``answer`` (the column names TRL's and verl's datasets use); a reference may be a list of
acceptable answers, and one that holds a code test spec (``kind``/``cases``, or ``inputs``/``outputs`` as
verl's code datasets store it) is read as ``tests``; other keys are ignored. An item without an ``id`` gets
its 1-based line number as id.

Output: one line per input line, in order: API.md's result object (``id``, ``reward``, ``scores``,
``details``, ``error``). A summary table (mean reward, each component's mean/std/count, accuracy outcomes)
goes to stdout, the progress bar to stderr.

With ``--url`` the items go to a running service (several ``--url`` spread the chunks over replicas);
without it they are scored in this process by :func:`rewards.score`, which has no per-item time limit: use
the service for untrusted or adversarial completions.

Exit status: 0 when every line was scored (per-item errors are data, counted in the summary), 1 when the
input or ``--rewards`` cannot be read, 2 when the service fails.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from trainer_client.errors import RewardServiceError
from trainer_client.integrations._common import as_reference, code_tests_of
from trainer_client.types import COMPONENTS, ScoreResult

ANSWER_ALIASES = ("answer", "solution", "ground_truth")
_PASSED = ("id", "prompt", "completion", "lang", "group")


class InputError(ValueError):
    """A line of the input that cannot be used; the message names the line."""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``score`` command to ``vrewards``' subparsers.

    Example:
        >>> parser = argparse.ArgumentParser(prog="vrewards")
        >>> _ = register(parser.add_subparsers())
        >>> parser.parse_args(["score", "in.jsonl", "-o", "out.jsonl"]).chunk_size
        256
    """
    parser = subparsers.add_parser(
        "score",
        help="score a JSONL file of items (through a service with --url, else in-process)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("input", type=Path, help="JSONL file, one item per line")
    parser.add_argument("-o", "--output", type=Path, required=True, help="JSONL file for the results")
    parser.add_argument(
        "--url",
        action="append",
        default=None,
        help="service URL; repeat for several replicas (default: in-process)",
    )
    parser.add_argument("--token", default=None, help="bearer token for the service")
    parser.add_argument("--chunk-size", type=int, default=256, help="items per request (default 256)")
    parser.add_argument(
        "--rewards",
        type=_rewards_arg,
        default=None,
        help='API.md rewards block as JSON, e.g. \'{"accuracy": {"weight": 1}}\'',
    )
    parser.add_argument(
        "--retries", type=int, default=4, help="retries per chunk when the service fails (default 4)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def _rewards_arg(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def run(args: argparse.Namespace) -> int:
    """Score ``args.input`` into ``args.output`` and print the summary; returns the exit status."""
    try:
        items = read_items(args.input)
    except (OSError, InputError) as exc:
        print(f"vrewards score: {exc}", file=sys.stderr)
        return 1
    scorer = _service_scorer(args) if args.url else _local_scorer(args.rewards)
    if isinstance(scorer, str):
        print(f"vrewards score: {scorer}", file=sys.stderr)
        return 1
    results: list[ScoreResult] = []
    step = max(1, args.chunk_size) * 4
    try:
        with _Bar(len(items), quiet=args.quiet) as bar:
            for start in range(0, len(items), step):
                batch = scorer(items[start : start + step])
                results.extend(batch)
                bar.update(len(batch))
    except RewardServiceError as exc:
        print(f"vrewards score: the service failed: {exc}", file=sys.stderr)
        return 2
    finally:
        close = getattr(scorer, "close", None)
        if close is not None:
            close()
    with args.output.open("w", encoding="utf-8") as out:
        write_results(results, out)
    print(summary_table(results))
    return 0


def read_items(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL file of items; blank lines are skipped; raises :class:`InputError` naming the bad line.

    Example:
        >>> import tempfile, os
        >>> p = Path(tempfile.mkdtemp()) / "in.jsonl"
        >>> _ = p.write_text('{"completion": "4", "solution": "4"}\\n')
        >>> read_items(p)
        [{'completion': '4', 'id': '1', 'answer': '4'}]
    """
    items = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except ValueError as exc:
                raise InputError(f"{path}:{number}: not JSON ({exc})") from exc
            items.append(_item_from(raw, f"{path}:{number}", str(number)))
    return items


def _item_from(raw: Any, where: str, default_id: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: an item must be a JSON object")
    if not isinstance(raw.get("completion"), str):
        raise InputError(f"{where}: 'completion' must be a string")
    item: dict[str, Any] = {}
    for key in _PASSED:
        value = raw.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise InputError(f"{where}: {key!r} must be a string")
            item[key] = value
    item.setdefault("id", default_id)
    answer = next((raw[k] for k in ANSWER_ALIASES if raw.get(k) is not None), None)
    tests = code_tests_of(raw.get("tests")) or code_tests_of(answer)
    if raw.get("tests") is not None and tests is None:
        raise InputError(f"{where}: 'tests' must be a test spec (kind and cases, or inputs and outputs)")
    if tests is not None:
        item["tests"] = tests
    elif answer is not None:
        # numeric references (GSM8K files often store 42, not "42") are read as their text
        valid = isinstance(answer, str | int | float | list) and not isinstance(answer, bool)
        if not valid or (isinstance(answer, list) and not all(_scalar(a) for a in answer)):
            raise InputError(f"{where}: 'answer' must be a string, a number or a list of them")
        reference = as_reference(answer)
        if reference is not None:
            item["answer"] = reference
    return item


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _service_scorer(args: argparse.Namespace) -> Any:
    from trainer_client.client import RewardClient

    client = RewardClient(
        base_url=args.url,
        api_token=args.token,
        chunk_size=max(1, args.chunk_size),
        max_retries=max(0, args.retries),
    )

    class _Remote:
        def __call__(self, batch: list[dict[str, Any]]) -> list[ScoreResult]:
            return client.score(batch, rewards=args.rewards)

        def close(self) -> None:
            client.close()

    return _Remote()


def _local_scorer(rewards_block: dict[str, Any] | None) -> Any:
    import rewards  # imported here: the client must stay importable without the scoring library's deps

    try:
        config = rewards.RewardConfig.from_dict(rewards_block)
    except rewards.ConfigError as exc:
        return f"--rewards: {exc}"

    def score(batch: list[dict[str, Any]]) -> list[ScoreResult]:
        done = rewards.score([rewards.Item.from_dict(item) for item in batch], config)
        return [ScoreResult.from_dict(result.to_dict()) for result in done]

    return score


class _Bar:
    def __init__(self, total: int, quiet: bool) -> None:
        self._bar: Any = None
        if not quiet:
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is optional: no bar then
                return
            self._bar = tqdm(total=total, unit="item", file=sys.stderr, disable=None)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()


def summary(results: Sequence[ScoreResult]) -> dict[str, Any]:
    """The figures behind the summary table.

    Example:
        >>> s = summary([ScoreResult(reward=1.0, scores={"accuracy": 1.0}, details={"outcome": "equivalent"})])
        >>> s["reward"]["mean"], s["outcomes"]
        (1.0, {'equivalent': 1})
    """
    names = [c for c in COMPONENTS if any(c in r.scores for r in results)]
    names += sorted({k for r in results for k in r.scores} - set(names))
    return {
        "items": len(results),
        "errors": sum(1 for r in results if r.error is not None),
        "reward": _stats(r.reward for r in results),
        "components": {name: _stats(r.scores.get(name) for r in results) for name in names},
        "outcomes": dict(Counter(r.outcome for r in results if r.outcome is not None).most_common()),
        "error_codes": dict(Counter(r.error["code"] for r in results if r.error is not None).most_common()),
    }


def _stats(values: Iterator[float | None] | Any) -> dict[str, Any]:
    present = [float(v) for v in values if v is not None]
    if not present:
        return {"mean": None, "std": None, "count": 0}
    mean = sum(present) / len(present)
    std = math.sqrt(sum((v - mean) ** 2 for v in present) / len(present))
    return {"mean": mean, "std": std, "count": len(present)}


def summary_table(results: Sequence[ScoreResult]) -> str:
    """A plain-text summary: items, errors, reward and component statistics, accuracy outcomes.

    Example:
        >>> print(summary_table([ScoreResult(reward=0.5, scores={"format": 0.5})]).splitlines()[0])
        items 1   errors 0
    """
    s = summary(results)
    lines = [f"items {s['items']}   errors {s['errors']}"]
    if s["error_codes"]:
        lines.append("  error codes: " + ", ".join(f"{k} {v}" for k, v in s["error_codes"].items()))
    lines.append(f"{'':<10}{'mean':>9}{'std':>9}{'non-null':>10}")
    for name, stats in [("reward", s["reward"]), *s["components"].items()]:
        lines.append(f"{name:<10}{_fmt(stats['mean']):>9}{_fmt(stats['std']):>9}{stats['count']:>10}")
    if s["outcomes"]:
        lines.append("accuracy outcomes:")
        width = max(len(k) for k in s["outcomes"])
        for outcome, count in s["outcomes"].items():
            lines.append(f"  {outcome:<{width}} {count:>7}")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def write_results(results: Sequence[ScoreResult], out: TextIO) -> None:
    """Write one JSON result per line."""
    for result in results:
        out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")


__all__ = ["InputError", "read_items", "register", "run", "summary", "summary_table"]
