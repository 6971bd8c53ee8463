"""Frozen, hashable configuration for each reward component.

Configs are frozen dataclasses so they can key caches (compiled patterns, parsed gold answers) and be
shipped to worker processes cheaply. ``None`` for a component in :class:`RewardConfig` means the caller did
not ask for it: it is neither scored nor reported. A component with weight 0 is scored and reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

UnparseableGold = Literal["null", "zero", "one"]
FormatMode = Literal["think", "think_answer"]
CodeMode = Literal["all", "fraction"]
SandboxBackend = Literal["bwrap", "none"]

COMPONENTS: tuple[str, ...] = ("accuracy", "format", "language", "code")


class ConfigError(ValueError):
    """A reward configuration that cannot be used; the message names the field."""


@dataclass(frozen=True, slots=True)
class AccuracyConfig:
    """Math-answer accuracy.

    Attributes:
        weight: weight in the total reward.
        unparseable_gold: what a reference that cannot be parsed scores: ``"null"`` (masked), ``"zero"`` or
            ``"one"``.
        rel_tol: relative tolerance used only when one side is a decimal approximation.
    """

    weight: float = 1.0
    unparseable_gold: UnparseableGold = "null"
    rel_tol: float = 1e-6


@dataclass(frozen=True, slots=True)
class FormatConfig:
    """``<think>`` format check. ``mode="think_answer"`` also requires one ``<answer>...</answer>``."""

    weight: float = 0.5
    mode: FormatMode = "think"


@dataclass(frozen=True, slots=True)
class LanguageConfig:
    """DeepSeek-R1 language consistency.

    Attributes:
        weight: weight in the total reward.
        no_words_value: score given to a reasoning with no words left once math and code are removed
            (reported with ``details.language_no_words = true``).
        min_prompt_words: a prompt shorter than this is too short to infer the target language from.
        min_prompt_confidence: fastText probability needed to accept the prompt's language as the target.
    """

    weight: float = 0.1
    no_words_value: float = 1.0
    min_prompt_words: int = 4
    min_prompt_confidence: float = 0.6


@dataclass(frozen=True, slots=True)
class CodeLimits:
    """Server-side bounds of the code component: set by the service's settings, never by a request.

    Attributes:
        sandbox: ``"bwrap"`` (bubblewrap; the default) or ``"none"``: run programs without namespaces, for
            deployments that isolate the whole container themselves (rlimits and seccomp still apply).
        time_limit_s: wall-clock limit of one test case when the tests name none.
        max_time_limit_s: the most a test set may ask for per case.
        memory_mb: address-space limit of one test case when the tests name none.
        max_memory_mb: the most a test set may ask for per case.
        max_cases: the most cases in one test set.
        max_tests_chars: the most characters of inputs and outputs in one test set.
        max_total_s: the most seconds of per-case time limits, summed over one test set.
        output_bytes: stdout cap of one case (and of a ``function`` case's returned value).
        startup_s: time allowed for the sandbox to start and compile the program.
        bwrap: the bubblewrap executable (a name looked up on ``PATH``, or a path).
    """

    sandbox: SandboxBackend = "bwrap"
    time_limit_s: float = 2.0
    max_time_limit_s: float = 10.0
    memory_mb: int = 256
    max_memory_mb: int = 512
    max_cases: int = 64
    max_tests_chars: int = 1_000_000
    max_total_s: float = 60.0
    output_bytes: int = 1 << 20
    startup_s: float = 5.0
    bwrap: str = "bwrap"

    @property
    def case_overhead_s(self) -> float:
        """Wall time allowed per case beyond its limit (fork, reporting)."""
        return 0.5

    @property
    def item_budget_s(self) -> float:
        """The most wall time the code of one item can take inside its limits (the pool's backstop)."""
        return self.startup_s + self.max_total_s + self.max_cases * self.case_overhead_s


@dataclass(frozen=True, slots=True)
class CodeConfig:
    """Programs judged by their tests (items with ``tests`` only).

    Attributes:
        weight: weight in the total reward.
        mode: ``"all"`` (1 when every case passes, else 0; the run stops at the first failing case) or
            ``"fraction"`` (the share of cases passed; every case runs).
        limits: the server's bounds and sandbox (not settable from a request).
    """

    weight: float = 1.0
    mode: CodeMode = "all"
    limits: CodeLimits = field(default_factory=CodeLimits, metadata={"wire": False})


@dataclass(frozen=True, slots=True)
class RewardConfig:
    """Which components to score and how; the default is API.md's default block."""

    accuracy: AccuracyConfig | None = field(default_factory=AccuracyConfig)
    format: FormatConfig | None = field(default_factory=FormatConfig)
    language: LanguageConfig | None = field(default_factory=LanguageConfig)
    code: CodeConfig | None = None  # the service's default block adds it (app.config.Settings)
    explain: bool = False  # add details.explanation (rewards.explain); off on the hot path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RewardConfig:
        """Build from the wire's ``rewards`` block; ``None`` gives the default.

        Example:
            >>> RewardConfig.from_dict({"accuracy": {"weight": 1.0}}).format is None
            True
        """
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ConfigError("rewards: must be an object")
        unknown = set(data) - set(COMPONENTS)
        if unknown:
            raise ConfigError(
                f"rewards.{quoted(str(sorted(map(str, unknown))[0]))}: unknown reward component"
            )
        parts: dict[str, Any] = {}
        for name, klass in (
            ("accuracy", AccuracyConfig),
            ("format", FormatConfig),
            ("language", LanguageConfig),
            ("code", CodeConfig),
        ):
            block = data.get(name)
            parts[name] = None if block is None else _build(klass, block, f"rewards.{name}")
        return cls(**parts)

    def to_dict(self) -> dict[str, Any]:
        """The wire form: one object per requested component."""
        out: dict[str, Any] = {}
        for name in COMPONENTS:
            part = getattr(self, name)
            if part is not None:
                out[name] = {
                    f.name: getattr(part, f.name) for f in fields(part) if f.metadata.get("wire", True)
                }
        return out

    def with_weights(self, **weights: float) -> RewardConfig:
        """A copy with new weights for the named (requested) components."""
        changes = {}
        for name, weight in weights.items():
            part = getattr(self, name)
            if part is not None:
                changes[name] = replace(part, weight=float(weight))
        return replace(self, **changes)

    def with_code_limits(self, limits: CodeLimits) -> RewardConfig:
        """A copy whose code component (when requested) runs under the server's ``limits``.

        Example:
            >>> RewardConfig(code=CodeConfig()).with_code_limits(CodeLimits(sandbox="none")).code.limits.sandbox
            'none'
        """
        if self.code is None or self.code.limits == limits:
            return self
        return replace(self, code=replace(self.code, limits=limits))


_CHOICES: dict[str, tuple[str, ...]] = {
    "unparseable_gold": ("null", "zero", "one"),
    "mode": ("think", "think_answer"),
}
_CODE_CHOICES: dict[str, tuple[str, ...]] = {"mode": ("all", "fraction")}
# The range of every number a client may set, so no setting can overflow, make a reward non-finite or
# disable a check: weights as the service's settings allow, scores and probabilities in [0, 1].
MAX_WEIGHT = 1e6
_RANGES: dict[str, tuple[float, float]] = {
    "weight": (-MAX_WEIGHT, MAX_WEIGHT),
    "rel_tol": (0.0, 1.0),
    "no_words_value": (0.0, 1.0),
    "min_prompt_words": (0, 10_000),
    "min_prompt_confidence": (0.0, 1.0),
}
_KEY_CHARS = 64  # longest setting or component name quoted back in an error


def quoted(name: str) -> str:
    """A client-chosen name as an error message may show it: at most 64 characters, escaped.

    Example:
        >>> quoted("a" * 100)[-12:]
        'a(+36 chars)'
    """
    text = name if len(name) <= _KEY_CHARS else f"{name[:_KEY_CHARS]}(+{len(name) - _KEY_CHARS} chars)"
    return text.encode("unicode_escape").decode("ascii")


def _number(value: Any, key: str, where: str, integer: bool) -> float | int:
    """``value`` checked against ``key``'s range (compared before any conversion: no OverflowError)."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        raise ConfigError(f"{where}.{key}: must be {kind}")
    low, high = _RANGES[key]
    if value != value or not low <= value <= high:  # NaN fails every comparison
        raise ConfigError(f"{where}.{key}: must be {kind} in [{low:g}, {high:g}]")
    return value if integer else float(value)


def _build(klass: type, block: Any, where: str) -> Any:
    if not isinstance(block, Mapping):
        raise ConfigError(f"{where}: must be an object")
    known = {f.name: f for f in fields(klass) if f.metadata.get("wire", True)}
    choices = _CODE_CHOICES if klass is CodeConfig else _CHOICES
    kwargs: dict[str, Any] = {}
    for key, value in block.items():
        if key not in known:
            raise ConfigError(f"{where}.{quoted(str(key))}: unknown setting")
        default = getattr(klass(), key)
        if key in choices:
            if value not in choices[key]:
                raise ConfigError(f"{where}.{key}: must be one of {', '.join(choices[key])}")
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{where}.{key}: must be true or false")
        elif isinstance(default, int | float):
            if key not in _RANGES:  # a new numeric setting must declare its range
                raise ConfigError(f"{where}.{key}: has no declared range")
            value = _number(value, key, where, integer=isinstance(default, int))
        kwargs[key] = value
    return klass(**kwargs)
