"""What the calls of one process know about the service being down, shared by all of them.

verl's naive reward manager calls ``compute_score`` once per sample. Without shared state, every call of an
outage spends the client's full retry budget (seconds each), and a 1,024-sample batch waits hours. With the
:class:`OutageGate`, the first call that fails after its retries marks the service down; every later call
fails at once (and is masked by the adapter) until a probe of ``GET /health`` sees the service up again.
At most one probe runs at a time, and at most one per ``probe_interval_s``.

Only failures that mean "down" count: the service unreachable or timing out, or answering 5xx/429/408
after every retry. A 4xx the caller must fix says the service is up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable

from trainer_client.errors import (
    HTTPStatusError,
    RewardServiceError,
    ServiceUnavailableError,
    TransportError,
)


class ServiceDownError(ServiceUnavailableError):
    """Raised without a request: the service is known down and the last probe did not see it up."""

    def __init__(self, message: str) -> None:
        super().__init__(503, message)


def means_down(exc: RewardServiceError) -> bool:
    """Whether a failure says the service is down (not a request the caller must fix).

    Example:
        >>> means_down(TransportError("connection refused")), means_down(HTTPStatusError(422, "bad field"))
        (True, False)
    """
    if isinstance(exc, TransportError | ServiceUnavailableError):
        return True
    return isinstance(exc, HTTPStatusError) and exc.status_code >= 500


class OutageGate:
    """Up/down state of the service for every call in this process (thread-safe).

    Example:
        >>> gate = OutageGate(probe_interval_s=5.0, clock=lambda: 100.0)
        >>> gate.failed(TransportError("refused")); gate.down
        True
        >>> gate.admit(probe=lambda: False)
        False
        >>> gate.admit(probe=lambda: True)  # within the interval: no second probe yet
        False
    """

    def __init__(self, probe_interval_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.probe_interval_s = probe_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._down = False
        self._next_probe = 0.0
        self._probing = False
        self.fast_failures = 0  # calls refused without a request while down
        self.probes = 0

    @property
    def down(self) -> bool:
        """Whether the service is known down."""
        return self._down

    def failed(self, exc: RewardServiceError) -> None:
        """Record a call's failure; a failure that means "down" marks the service down."""
        if not means_down(exc):
            return
        with self._lock:
            if not self._down:
                self._down = True
                self._next_probe = self._clock() + self.probe_interval_s

    def succeeded(self) -> None:
        """Record a call that got an answer: the service is up."""
        with self._lock:
            self._down = False

    def admit(self, probe: Callable[[], bool]) -> bool:
        """Whether a call may go to the service now; while down, one caller per interval runs ``probe``."""
        decided = self._claim()
        if decided is not None:
            return decided
        up = False
        try:
            up = probe()
        finally:
            self._settle(up)
        return up

    async def admit_async(self, probe: Callable[[], Awaitable[bool]]) -> bool:
        """:meth:`admit` with an async probe."""
        decided = self._claim()
        if decided is not None:
            return decided
        up = False
        try:
            up = await probe()
        finally:
            self._settle(up)
        return up

    def _claim(self) -> bool | None:
        """True: up; False: fail fast; None: this caller must probe."""
        with self._lock:
            if not self._down:
                return True
            if self._probing or self._clock() < self._next_probe:
                self.fast_failures += 1
                return False
            self._probing = True
            self.probes += 1
            return None

    def _settle(self, up: bool) -> None:
        with self._lock:
            self._probing = False
            if up:
                self._down = False
            else:
                self._next_probe = self._clock() + self.probe_interval_s
                self.fast_failures += 1


__all__ = ["OutageGate", "ServiceDownError", "means_down"]
