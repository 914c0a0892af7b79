"""Daily and weekly report rows by the campaign's local day, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from dialerd.db.models import Attempt, Campaign, Contact, PhoneNumber
from dialerd.reporting.queries import load_report
from tests.integration import reportdata


def _dial(i: int, at: datetime, outcome: str, answered: bool = True) -> dict[str, object]:
    row = reportdata._attempt((i, 1, 1, 1, 1, i, outcome, "11-01 00:00:00", None, None, None, None))
    row.update(
        key=f"1-1-1-1-{i:03d}",
        started_at=at,
        claimed_at=at,
        answered_at=at + timedelta(seconds=5) if answered else None,
        ended_at=at + timedelta(seconds=65),
    )
    return row


def _load(engine: Engine, tz: str, dials: list[dict[str, object]]) -> None:
    camp = {**reportdata._campaign(1, "local"), "timezone": tz}
    with engine.begin() as conn:
        conn.execute(insert(Campaign), [camp])
        conn.execute(insert(Contact), [reportdata._contact(1, 1, "active", 1)])
        conn.execute(insert(PhoneNumber), [reportdata._number(1, 1, 1, 1, "dialable")])
        conn.execute(insert(Attempt), dials)


def test_a_dial_after_local_midnight_counts_on_the_local_day(engine: Engine) -> None:
    # Asia/Shanghai is UTC+8: 11-22 16:30 UTC is 11-23 00:30 local (a Monday)
    _load(
        engine,
        "Asia/Shanghai",
        [
            _dial(1, datetime(2026, 11, 22, 15, 30, tzinfo=UTC), "no_answer", answered=False),
            _dial(2, datetime(2026, 11, 22, 16, 30, tzinfo=UTC), "refused"),
            _dial(3, datetime(2026, 11, 23, 1, 0, tzinfo=UTC), "dnc_requested"),
        ],
    )
    report = load_report(engine, "local")
    assert [(d["day"], d["calls_made"]) for d in report.daily] == [
        ("2026-11-22", 1),
        ("2026-11-23", 2),
    ]
    assert report.weekly == [
        {"week": "2026-11-16", "calls_made": 1, "answered_calls": 0, "connect_rate": 0.0,
         "reached_calls": 0, "valid_rate": 0.0, "complaints": 0},
        {"week": "2026-11-23", "calls_made": 2, "answered_calls": 2, "connect_rate": 1.0,
         "reached_calls": 2, "valid_rate": 1.0, "complaints": 2},
    ]  # fmt: skip


def test_local_days_follow_the_clock_change(engine: Engine) -> None:
    # America/New_York: UTC-4 until 2026-11-01 06:00 UTC, UTC-5 after
    _load(
        engine,
        "America/New_York",
        [
            _dial(1, datetime(2026, 10, 31, 3, 30, tzinfo=UTC), "no_answer"),  # 10-30 23:30 EDT
            _dial(2, datetime(2026, 11, 2, 4, 30, tzinfo=UTC), "no_answer"),  # 11-01 23:30 EST
            _dial(3, datetime(2026, 11, 2, 5, 30, tzinfo=UTC), "no_answer"),  # 11-02 00:30 EST
        ],
    )
    report = load_report(engine, "local")
    assert [d["day"] for d in report.daily] == ["2026-10-30", "2026-11-01", "2026-11-02"]
    assert [w["week"] for w in report.weekly] == ["2026-10-26", "2026-11-02"]
