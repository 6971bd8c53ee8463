"""Deterministic generators of benchmark items, shared by the benchmarks and the load tests.

Every generator returns :class:`Case` objects: the wire item (API.md's item object) plus whether the
completion's final answer is right, so a benchmark can check verdicts as well as speed. The same
arguments always give the same items; ``start`` shifts the index so that successive batches hold
distinct references (a cold answer cache).

- :func:`gsm8k_cases`: about 2 kB of English reasoning in ``<think>...</think>``, then ``#### N`` or
  ``\\boxed{N}``; every other item is right.
- :func:`latex_cases`: MATH-style LaTeX references (fractions, radicals, intervals, matrices, pi
  expressions), each distinct; right answers are often written in another but equivalent form.
- :func:`multilingual_cases`: reasoning in one of several languages with ``lang`` set.
- :func:`sized_cases`: completions of a given size in bytes (1, 4, 16, 64 kB ...).

It also holds what every benchmark needs around them: :func:`serve` starts ``vrewards serve`` as a
subprocess on a free loopback port and stops it (with its workers); :func:`math_verify_verdicts` runs the
Math-Verify anchor in-process on the same items; :func:`percentile` and :func:`server_rss_mb` measure.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

KB = 1024


@dataclass(frozen=True, slots=True)
class Case:
    """One benchmark item and its expected verdict.

    Example:
        >>> case = gsm8k_cases(1)[0]
        >>> sorted(case.item) == ["answer", "completion", "id", "lang", "prompt"]
        True
    """

    item: dict[str, Any]
    correct: bool

    @property
    def gold(self) -> str:
        """The reference answer."""
        return str(self.item["answer"])

    @property
    def completion(self) -> str:
        """The completion text."""
        return str(self.item["completion"])


def items_of(cases: Sequence[Case]) -> list[dict[str, Any]]:
    """The wire items of ``cases``.

    Example:
        >>> len(items_of(gsm8k_cases(3)))
        3
    """
    return [case.item for case in cases]


# ---------------------------------------------------------------------------------------------------------
# Reasoning text
# ---------------------------------------------------------------------------------------------------------

_NAMES = ("Natalia", "Weng", "Betty", "Julie", "James", "Albert", "Ken", "Alexis", "Tina", "Randy", "Mark")
_THINGS = ("clips", "apples", "books", "marbles", "stamps", "cookies", "pencils", "tickets", "shells")

_EN_STEPS: tuple[Callable[[random.Random], str], ...] = (
    lambda r: (
        f"First, {r.choice(_NAMES)} has {r.randint(2, 99)} {r.choice(_THINGS)} at the start of the week."
    ),
    lambda r: (lambda a, b: f"Then we add {a} and {b}, which gives {a + b} in total.")(
        r.randint(2, 500), r.randint(2, 500)
    ),
    lambda r: (lambda a, b: f"Multiplying, we get ${a} \\times {b} = {a * b}$ for this part.")(
        r.randint(2, 40), r.randint(2, 40)
    ),
    lambda r: (
        f"Let me double-check the previous step, because the units of the {r.choice(_THINGS)} matter here."
    ),
    lambda r: (lambda a, b: f"So the difference is {a} - {b} = {a - b}, and we keep that number for later.")(
        r.randint(200, 900), r.randint(2, 199)
    ),
    lambda r: f"Wait, {r.choice(_NAMES)} gave away half of them, so we need to divide by 2 before going on.",
    lambda r: (
        lambda a: f"Half of {2 * a} is {a}, which matches what the problem says about the second day."
    )(r.randint(2, 400)),
    lambda r: "Now I should combine the two results carefully and make sure nothing was counted twice.",
    lambda r: f"The rate is {r.randint(2, 30)} dollars per hour, and she worked {r.randint(1, 12)} hours.",
)

_LANG_SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "We first compute the total number of items.",
        "Then we subtract the ones that were given away.",
        "Let me check this step again carefully.",
        "This means the answer must be a whole number.",
    ),
    "fr": (
        "Nous calculons d'abord le nombre total d'objets.",
        "Ensuite nous retirons ceux qui ont été donnés.",
        "Vérifions encore une fois cette étape avec soin.",
        "Cela signifie que la réponse doit être un nombre entier.",
    ),
    "de": (
        "Zuerst berechnen wir die Gesamtzahl der Gegenstände.",
        "Dann ziehen wir die ab, die verschenkt wurden.",
        "Lass mich diesen Schritt noch einmal sorgfältig prüfen.",
        "Das bedeutet, dass die Antwort eine ganze Zahl sein muss.",
    ),
    "es": (
        "Primero calculamos el número total de objetos.",
        "Luego restamos los que fueron regalados.",
        "Voy a revisar este paso otra vez con cuidado.",
        "Esto significa que la respuesta debe ser un número entero.",
    ),
    "zh": (
        "我们首先计算物品的总数。",
        "然后减去送出去的那些。",
        "让我再仔细检查一下这一步。",
        "这意味着答案必须是一个整数。",
    ),
    "ru": (
        "Сначала мы вычисляем общее количество предметов.",
        "Затем вычитаем те, которые были отданы.",
        "Давайте ещё раз внимательно проверим этот шаг.",
        "Это значит, что ответ должен быть целым числом.",
    ),
    "ja": (
        "まず品物の合計数を計算します。",
        "次に配ったものを引きます。",
        "この手順をもう一度注意深く確認しましょう。",
        "つまり答えは整数でなければなりません。",
    ),
}

_PROMPTS: dict[str, str] = {
    "en": "Solve the problem and put the final answer in \\boxed{{}}. Problem #{i}: how many are left?",
    "fr": "Résous le problème et donne la réponse finale dans \\boxed{{}}. Problème {i} : combien en reste-t-il ?",
    "de": "Löse die Aufgabe und gib die Antwort in \\boxed{{}} an. Aufgabe {i}: wie viele bleiben übrig?",
    "es": "Resuelve el problema y pon la respuesta final en \\boxed{{}}. Problema {i}: ¿cuántos quedan?",
    "zh": "请解决这个问题，并把最终答案写在 \\boxed{{}} 中。第 {i} 题：还剩多少个？",
    "ru": "Решите задачу и запишите ответ в \\boxed{{}}. Задача {i}: сколько осталось?",
    "ja": "問題を解き、最終的な答えを \\boxed{{}} に書いてください。問題 {i}：いくつ残りますか？",
}


def english_reasoning(rng: random.Random, size_bytes: int) -> str:
    """GSM8K-like English reasoning of about ``size_bytes`` UTF-8 bytes (at least one sentence).

    Example:
        >>> 1900 < len(english_reasoning(random.Random(0), 2048).encode()) <= 2048
        True
    """
    return _fill(size_bytes, lambda: rng.choice(_EN_STEPS)(rng))


def reasoning_in(lang: str, rng: random.Random, size_bytes: int) -> str:
    """Reasoning of about ``size_bytes`` UTF-8 bytes in ``lang`` (one of the keys of the sentence table).

    Example:
        >>> reasoning_in("fr", random.Random(0), 200).startswith(("Nous", "Ensuite", "Vérifions", "Cela"))
        True
    """
    sentences = _LANG_SENTENCES[lang]

    def sentence() -> str:
        text = rng.choice(sentences)
        if rng.random() < 0.3:
            text += f" ${rng.randint(2, 99)} + {rng.randint(2, 99)}$"
        return text

    return _fill(size_bytes, sentence)


def _fill(size_bytes: int, next_sentence: Callable[[], str]) -> str:
    """Sentences from ``next_sentence`` joined by spaces, up to ``size_bytes`` UTF-8 bytes (at least one)."""
    parts: list[str] = []
    used = 0
    while True:
        sentence = next_sentence()
        cost = len(sentence.encode()) + 1
        if parts and used + cost > size_bytes:
            break
        parts.append(sentence)
        used += cost
    return " ".join(parts)


LANGUAGES: tuple[str, ...] = tuple(_LANG_SENTENCES)


# ---------------------------------------------------------------------------------------------------------
# GSM8K-style
# ---------------------------------------------------------------------------------------------------------


def gsm8k_cases(n: int, *, seed: int = 0, start: int = 0, reasoning_bytes: int = 2 * KB) -> list[Case]:
    """GSM8K-style items: English reasoning in a think block, then ``#### N`` or ``\\boxed{N}``.

    Even indices are right, odd ones wrong; the reference is an integer that depends on the index.

    Example:
        >>> [c.correct for c in gsm8k_cases(4)]
        [True, False, True, False]
    """
    rng = random.Random(f"gsm8k-{seed}")
    cases = []
    for i in range(start, start + n):
        gold = 17 + (i * 7919) % 100_000
        correct = i % 2 == 0
        given = gold if correct else gold + 1 + rng.randint(0, 9)
        reasoning = english_reasoning(rng, reasoning_bytes)
        tail = (
            f"The answer is {given}.\n#### {given}"
            if i % 4 < 2
            else f"So the final answer is $\\boxed{{{given}}}$."
        )
        item = {
            "id": f"gsm8k-{i}",
            "prompt": _PROMPTS["en"].format(i=i),
            "completion": f"<think>\n{reasoning}\n</think>\n{tail}",
            "answer": str(gold),
            "lang": "en",
        }
        cases.append(Case(item, correct))
    return cases


# ---------------------------------------------------------------------------------------------------------
# MATH-style LaTeX
# ---------------------------------------------------------------------------------------------------------

_RADICANDS = (2, 3, 5, 6, 7, 10, 11, 13)


def _latex_pair(kind: str, k: int, correct: bool, rng: random.Random) -> tuple[str, str]:
    """(reference, final answer as written in the completion) for index ``k`` of one kind."""
    if kind == "fraction":
        a, b = k + 1, k + 2  # consecutive integers are coprime: every reference is distinct and reduced
        gold = f"\\frac{{{a}}}{{{b}}}"
        if correct:
            return gold, rng.choice((f"\\dfrac{{{2 * a}}}{{{2 * b}}}", f"{a}/{b}", gold))
        return gold, f"\\frac{{{a + 1}}}{{{b}}}"
    if kind == "radical":
        c, p = k + 2, _RADICANDS[k % len(_RADICANDS)]
        gold = f"{c}\\sqrt{{{p}}}"
        if correct:
            return gold, rng.choice((f"\\sqrt{{{c * c * p}}}", gold))
        return gold, f"{c + 1}\\sqrt{{{p}}}"
    if kind == "interval":
        lo, hi = -(k + 1), k + 3
        gold = f"(-{k + 1}, {hi}]"
        if correct:
            return gold, rng.choice((f"\\left( {lo}, {hi} \\right]", gold))
        return gold, f"(-{k + 1}, {hi})"  # open instead of closed at the right end: not equivalent
    if kind == "matrix":
        a, b, c, d = k + 1, k + 2, -(k + 3), 2 * k + 5
        gold = f"\\begin{{pmatrix}} {a} & {b} \\\\ {c} & {d} \\end{{pmatrix}}"
        if correct:
            return gold, f"\\begin{{bmatrix}} {a} & {b} \\\\ {c} & {d} \\end{{bmatrix}}"
        return gold, f"\\begin{{pmatrix}} {a} & {b} \\\\ {c} & {d + 1} \\end{{pmatrix}}"
    # pi expressions
    a, b = k + 1, k + 2
    gold = f"\\frac{{{a}\\pi}}{{{b}}}"
    if correct:
        return gold, rng.choice((f"\\frac{{{a}}}{{{b}}}\\pi", gold))
    return gold, f"\\frac{{{a}\\pi}}{{{b + 1}}}"


LATEX_KINDS: tuple[str, ...] = ("fraction", "radical", "interval", "matrix", "pi")


def latex_cases(n: int, *, seed: int = 0, start: int = 0, reasoning_bytes: int = 1 * KB) -> list[Case]:
    """MATH-style items whose references are LaTeX: fractions, radicals, intervals, matrices, pi.

    Indices cycle through the kinds; every index gives a distinct reference, so batches taken with
    different ``start`` values never share a (reference, answer) pair. The first five of every ten are right.

    Example:
        >>> [c.gold for c in latex_cases(2)]
        ['\\\\frac{1}{2}', '3\\\\sqrt{3}']
    """
    rng = random.Random(f"latex-{seed}")
    cases = []
    for i in range(start, start + n):
        kind = LATEX_KINDS[i % len(LATEX_KINDS)]
        correct = (i // len(LATEX_KINDS)) % 2 == 0
        gold, given = _latex_pair(kind, i, correct, rng)
        reasoning = english_reasoning(rng, reasoning_bytes)
        item = {
            "id": f"latex-{i}",
            "prompt": _PROMPTS["en"].format(i=i),
            "completion": f"<think>\n{reasoning}\n</think>\nTherefore the answer is $\\boxed{{{given}}}$.",
            "answer": gold,
            "lang": "en",
        }
        cases.append(Case(item, correct))
    return cases


# ---------------------------------------------------------------------------------------------------------
# Multilingual and sized
# ---------------------------------------------------------------------------------------------------------


def multilingual_cases(
    n: int,
    *,
    seed: int = 0,
    start: int = 0,
    reasoning_bytes: int = 2 * KB,
    languages: Sequence[str] = LANGUAGES,
) -> list[Case]:
    """Items whose reasoning is written in one language per item (cycling through ``languages``), with
    ``lang`` set and the prompt in that language; every other item's answer is right.

    Example:
        >>> [c.item["lang"] for c in multilingual_cases(3)]
        ['en', 'fr', 'de']
    """
    rng = random.Random(f"multilingual-{seed}")
    cases = []
    for i in range(start, start + n):
        lang = languages[i % len(languages)]
        gold = 3 + (i * 104729) % 10_000
        correct = i % 2 == 0
        given = gold if correct else gold + 2
        reasoning = reasoning_in(lang, rng, reasoning_bytes)
        item = {
            "id": f"{lang}-{i}",
            "prompt": _PROMPTS[lang].format(i=i),
            "completion": f"<think>\n{reasoning}\n</think>\n$\\boxed{{{given}}}$",
            "answer": str(gold),
            "lang": lang,
        }
        cases.append(Case(item, correct))
    return cases


def sized_cases(n: int, size_bytes: int, *, seed: int = 0, start: int = 0) -> list[Case]:
    """GSM8K-style items whose completions are about ``size_bytes`` long in UTF-8 (within 1%, or 200 bytes).

    Example:
        >>> abs(len(sized_cases(1, 16 * KB)[0].completion.encode()) - 16 * KB) < 200
        True
    """
    overhead = len(b"<think>\n\n</think>\nThe answer is 12345.\n#### 12345")
    return gsm8k_cases(n, seed=seed, start=start, reasoning_bytes=max(size_bytes - overhead, 1))


# ---------------------------------------------------------------------------------------------------------
# The service as a subprocess
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Server:
    """A running ``vrewards serve`` subprocess: its base URL, process and log file."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's combined stdout and stderr."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now.

    Example:
        >>> 0 < free_port() < 65536
        True
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def vrewards_command() -> list[str]:
    """The ``vrewards`` console script of the running interpreter's environment."""
    script = Path(sys.executable).with_name("vrewards")
    if script.exists():
        return [str(script)]
    found = shutil.which("vrewards")
    if found is None:
        raise RuntimeError("the vrewards command is not installed (pip install -e .)")
    return [found]


def start_server(
    *,
    workers: int | None = None,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    cwd: str | os.PathLike[str] | None = None,
    log_path: Path | None = None,
) -> Server:
    """Start ``vrewards serve`` on 127.0.0.1 without waiting for it (see :func:`wait_healthy`).

    ``env`` is added to the current environment (e.g. ``{"VREWARDS_ITEM_TIMEOUT_S": "3"}``); the server's
    output goes to ``log_path`` (a temporary file by default). The process leads its own process group,
    so :func:`stop_server` can take its workers down with it.
    """
    port = port or free_port()
    args = [*vrewards_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        args += ["--workers", str(workers)]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="vrewards-server-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=cwd, start_new_session=True
        )
    return Server(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)


def wait_healthy(server: Server, timeout_s: float = 120.0) -> None:
    """Wait until ``GET /health`` answers 200; raise with the server's log if it exits or times out."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=5.0) as client:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            try:
                if client.get(f"{server.url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"/health did not answer 200 in {timeout_s:.0f} s:\n{server.log_tail()}")
            time.sleep(0.2)


def stop_server(server: Server, grace_s: float = 10.0) -> None:
    """SIGTERM the server, then SIGKILL its whole process group if it has not exited after ``grace_s``."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    # Workers left behind by a killed server are in its process group (start_new_session above).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@contextlib.contextmanager
def serve(
    *,
    workers: int | None = None,
    env: Mapping[str, str] | None = None,
    startup_timeout_s: float = 120.0,
    cwd: str | os.PathLike[str] | None = None,
) -> Iterator[Server]:
    """Run ``vrewards serve`` on a free loopback port for the duration of a ``with`` block.

    Example:
        >>> with serve(workers=1) as server:  # doctest: +SKIP
        ...     httpx.get(f"{server.url}/health").status_code
        200
    """
    server = start_server(workers=workers, env=env, cwd=cwd)
    try:
        wait_healthy(server, startup_timeout_s)
        yield server
    finally:
        stop_server(server)
        with contextlib.suppress(OSError):
            server.log_path.unlink()


def server_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB (0 if it is gone).

    Example:
        >>> server_rss_mb(os.getpid()) > 1
        True
    """
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total / (1024 * 1024)


# ---------------------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; NaN for no values.

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
        2.5
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def math_verify_verdicts(cases: Sequence[Case]) -> tuple[float, list[bool]]:
    """Math-Verify in-process, single process, main thread, as TRL's accuracy reward calls it: parse the
    reference (wrapped in ``$...$``), parse the completion, verify. Returns (seconds, verdicts); one
    untimed call first loads its grammars.

    Example:
        >>> math_verify_verdicts(gsm8k_cases(2))[1]
        [True, False]
    """
    from math_verify import parse, verify

    verify(parse("$\\frac{1}{2}$"), parse("The answer is $\\boxed{0.5}$."))  # warm-up: imports, grammars
    verdicts: list[bool] = []
    started = time.perf_counter()
    for case in cases:
        gold = parse(f"${case.gold}$")
        answer = parse(case.completion)
        verdicts.append(bool(verify(gold, answer)))
    return time.perf_counter() - started, verdicts


def agreement(verdicts: Sequence[bool | None], cases: Sequence[Case]) -> float:
    """Share of verdicts that match the cases' expected ones (``None`` counts as a miss).

    Example:
        >>> agreement([True, True], gsm8k_cases(2))
        0.5
    """
    if not cases:
        return float("nan")
    return sum(verdict == case.correct for verdict, case in zip(verdicts, cases, strict=True)) / len(cases)
