"""AnchoredClock: the reference's time, carried forward by the monotonic clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialerd.domain.clock import AnchoredClock

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


class Reference:
    def __init__(self) -> None:
        self.at = T0
        self.fail = False
        self.reads = 0

    def __call__(self) -> datetime:
        self.reads += 1
        if self.fail:
            raise ConnectionError("database down")
        return self.at


def test_time_advances_with_the_monotonic_clock_and_costs_no_read() -> None:
    ref, mono = Reference(), [50.0]
    clock = AnchoredClock(ref, lambda: mono[0])
    assert clock.now() == T0  # the first reading syncs
    mono[0] += 2.5
    assert clock.now() == T0 + timedelta(seconds=2.5)
    assert ref.reads == 1


def test_a_sync_re_anchors_and_reports_the_drift() -> None:
    ref, mono = Reference(), [0.0]
    clock = AnchoredClock(ref, lambda: mono[0])
    clock.now()
    mono[0] = 10.0
    ref.at = T0 + timedelta(seconds=12)  # the reference ran 2 s faster
    assert clock.sync() == timedelta(seconds=2)
    assert clock.now() == T0 + timedelta(seconds=12)


def test_a_failed_sync_keeps_the_old_anchor() -> None:
    ref, mono = Reference(), [0.0]
    clock = AnchoredClock(ref, lambda: mono[0])
    clock.now()
    ref.fail = True
    mono[0] = 5.0
    with pytest.raises(ConnectionError):
        clock.sync()
    assert clock.now() == T0 + timedelta(seconds=5)
