"""The outage state shared by the adapter's calls in one process (issue 14 item 5), on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from trainer_client.errors import (
    AuthenticationError,
    BadRequestError,
    HTTPStatusError,
    PayloadTooLargeError,
    ServiceUnavailableError,
    TransportError,
)
from trainer_client.integrations._outage import OutageGate, means_down

FAILURES = [
    # (failure after the client's retries, whether it marks the service down)
    (TransportError("connection refused"), True),
    (ServiceUnavailableError(503, "saturated"), True),
    (HTTPStatusError(502, "bad gateway"), True),
    (BadRequestError(422, "items.0.completion: field required"), False),
    (AuthenticationError(401, "missing token"), False),
    (PayloadTooLargeError(413, "too many items"), False),
]


@pytest.mark.parametrize(("failure", "down"), FAILURES)
def test_only_failures_that_mean_down_mark_it_down(failure, down):
    gate = OutageGate()
    gate.failed(failure)
    assert means_down(failure) is down and gate.down is down


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_down_calls_fail_fast_and_one_probe_per_interval_decides():
    clock = Clock()
    gate = OutageGate(probe_interval_s=10.0, clock=clock)
    probes: list[float] = []

    def probe(up: bool):
        def run() -> bool:
            probes.append(clock.now)
            return up

        return run

    assert gate.admit(probe(False))  # up: no probe
    gate.failed(TransportError("refused"))
    assert [gate.admit(probe(True)) for _ in range(5)] == [False] * 5  # within the interval: no probe
    clock.now = 10.0
    assert not gate.admit(probe(False))  # a probe that still sees it down
    assert not gate.admit(probe(True))  # and the next one waits another interval
    clock.now = 20.0
    assert gate.admit(probe(True))  # seen up: the call goes ahead
    assert gate.admit(probe(False)) and not gate.down
    assert probes == [10.0, 20.0]
    assert (gate.probes, gate.fast_failures) == (2, 7)


def test_concurrent_callers_share_one_async_probe():
    gate = OutageGate(probe_interval_s=0.0)
    gate.failed(TransportError("refused"))
    probes = 0

    async def probe() -> bool:
        nonlocal probes
        probes += 1
        await asyncio.sleep(0.01)
        return True

    async def callers() -> list[bool]:
        return await asyncio.gather(*(gate.admit_async(probe) for _ in range(8)))

    admitted = asyncio.run(callers())
    assert probes == 1 and admitted.count(True) == 1  # the others failed fast while it probed
    assert not gate.down
