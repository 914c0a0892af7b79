"""The zone offsets migration 0010 fills existing attempts with, against zoneinfo; weeks."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialerd.reporting.localdays import weekly

_PATH = Path(__file__).parents[2] / "migrations" / "versions" / "0010_local_days.py"


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dialerd_migration_0010", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


offsets = _migration().spans

FIRST = datetime(2025, 12, 20, tzinfo=UTC)
LAST = datetime(2027, 1, 10, tzinfo=UTC)
ZONES = ["America/New_York", "Europe/London", "Asia/Shanghai", "Australia/Lord_Howe", "UTC"]


@pytest.mark.timeout(120)  # 300 examples: 10 s seen on a loaded machine
@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    seconds=st.integers(0, int((LAST - FIRST).total_seconds()) - 1),
)
def test_the_span_holding_an_instant_has_its_offset(zone: str, seconds: int) -> None:
    tz = ZoneInfo(zone)
    spans = offsets(tz, FIRST, LAST)
    at = FIRST + timedelta(seconds=seconds)
    offset = [o for start, o in spans if start <= at][-1]
    assert (at + timedelta(seconds=offset)).date() == at.astimezone(tz).date()


def test_new_york_changes_twice_a_year_shanghai_never() -> None:
    assert len(offsets(ZoneInfo("America/New_York"), FIRST, LAST)) == 3  # 2026-03-08, 11-01
    assert len(offsets(ZoneInfo("Asia/Shanghai"), FIRST, LAST)) == 1


def test_weeks_add_up_their_days_from_monday() -> None:
    day = {"calls_made": 10, "answered_calls": 5, "reached_calls": 4, "complaints": 1}
    days = [
        {"day": "2026-11-22", **day},  # a Sunday
        {"day": "2026-11-23", **day},  # the next Monday
        {"day": "2026-11-29", **day},  # that Sunday
    ]
    assert weekly(days) == [
        {"week": "2026-11-16", "calls_made": 10, "answered_calls": 5, "connect_rate": 0.5,
         "reached_calls": 4, "valid_rate": 0.4, "complaints": 1},
        {"week": "2026-11-23", "calls_made": 20, "answered_calls": 10, "connect_rate": 0.5,
         "reached_calls": 8, "valid_rate": 0.4, "complaints": 2},
    ]  # fmt: skip
