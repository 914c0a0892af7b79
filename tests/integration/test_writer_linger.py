"""``results.linger_s``: while results stream in, the writer waits after a small batch so
the next one is larger; the first result after a quiet spell, and a stop, never wait."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine

from dialerd.domain.clock import SystemClock
from dialerd.domain.ports import DialResult, PbxSignals
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.writer import LINGER_BELOW, ResultWriter

DEADLINE_S = 60.0


def _until(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _no_campaign(_campaign_id: int) -> CampaignRuntime | None:
    return None


def _result(n: int) -> DialResult:
    # no attempt of that id: the batch is read and written (ignored), which is all we count
    return DialResult(key=f"9-{n}-1-1-001", attempt_id=10_000 + n, signals=PbxSignals())


def test_a_small_batch_is_followed_by_the_linger_and_a_stop_cuts_it_short(
    engine: Engine,
) -> None:
    writer = ResultWriter(engine, SystemClock(), _no_campaign, linger_s=600.0)
    writer.start()
    writer.submit(_result(1))
    _until("the first result, written at once", lambda: writer.written == 1)
    writer.submit(_result(2))
    writer.submit(_result(3))
    time.sleep(0.3)  # room to write them, were it not lingering (600 s)
    assert writer.written == 1
    assert writer.pending() == 2
    assert writer.stop() == 0  # the stop ends the linger and writes what is queued
    assert writer.written == 3


def test_a_full_batch_is_followed_by_no_linger(engine: Engine) -> None:
    writer = ResultWriter(engine, SystemClock(), _no_campaign, linger_s=600.0)
    for n in range(LINGER_BELOW):
        writer.submit(_result(n))
    writer.start()
    _until("the first batch", lambda: writer.written == LINGER_BELOW)
    writer.submit(_result(LINGER_BELOW))
    _until("the next result, without a linger", lambda: writer.written == LINGER_BELOW + 1)
    assert writer.stop() == 0
