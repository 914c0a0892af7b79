"""Daily and weekly report rows by the campaign's local day, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, text

from dialerd.db.migrate import downgrade, upgrade
from dialerd.db.models import Attempt, Campaign, Contact, PhoneNumber
from dialerd.domain.clock import utc_offset_s
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
    """The campaign and its dials, each with its zone's offset as the dispatcher writes it."""
    camp = {**reportdata._campaign(1, "local"), "timezone": tz}
    for d in dials:
        at = d["claimed_at"]
        assert isinstance(at, datetime)
        d["utc_offset_s"] = utc_offset_s(tz, at)
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


def _view(engine: Engine, sql: str) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql))]


def test_hours_are_local_and_an_abandon_is_no_call_made(engine: Engine) -> None:
    # Asia/Shanghai: 11-22 16:30 UTC is 11-23 00:30 local
    _load(
        engine,
        "Asia/Shanghai",
        [
            _dial(1, datetime(2026, 11, 22, 16, 30, tzinfo=UTC), "abandoned"),
            _dial(2, datetime(2026, 11, 22, 16, 40, tzinfo=UTC), "answered"),
            _dial(3, datetime(2026, 11, 22, 17, 10, tzinfo=UTC), "no_answer", answered=False),
        ],
    )
    hourly = _view(engine, "SELECT * FROM v_campaign_hourly ORDER BY hour_local")
    cols = ("hour_local", "hour_utc", "calls_made", "our_fault_dials", "human_answers",
            "abandoned_calls", "abandon_rate")  # fmt: skip
    assert [tuple(h[c] for c in cols) for h in hourly] == [
        ("2026-11-23 00:00", "2026-11-22 16:00", 1, 1, 2, 1, 0.5),
        ("2026-11-23 01:00", "2026-11-22 17:00", 1, 0, 0, 0, None),
    ]
    (day,) = _view(engine, "SELECT * FROM v_campaign_daily")
    assert (day["day"], day["calls_made"], day["answered_calls"], day["our_fault_dials"]) == (
        "2026-11-23",
        2,
        1,
        1,
    )
    assert (day["human_answers"], day["abandoned_calls"], day["abandon_rate"]) == (2, 1, 0.5)
    (fig,) = _view(engine, "SELECT calls_made, answered_calls, answer_rate FROM v_campaign_figures")
    assert (fig["calls_made"], fig["answered_calls"], fig["answer_rate"]) == (2, 1, 0.5)
    (status,) = _view(engine, "SELECT dials, our_fault_dials FROM v_contact_status")
    assert (status["dials"], status["our_fault_dials"]) == (2, 1)
    report = load_report(engine, "local")
    assert report.dials_by_local_hour[:2] == [1, 1]
    assert report.abandon_by_local_hour[:2] == [0.5, None]
    assert report.daily[0]["abandon_rate"] == 0.5


def test_the_migration_fills_the_offsets_of_existing_dials(engine: Engine) -> None:
    # America/New_York: UTC-4 until 2026-11-01 06:00 UTC, UTC-5 after
    downgrade(engine, "0009")
    dials = [
        _dial(1, datetime(2026, 10, 31, 3, 30, tzinfo=UTC), "no_answer"),  # 10-30 23:30 EDT
        _dial(2, datetime(2026, 11, 1, 5, 59, tzinfo=UTC), "no_answer"),  # 11-01 01:59 EDT
        _dial(3, datetime(2026, 11, 1, 6, 0, tzinfo=UTC), "no_answer"),  # 11-01 01:00 EST
        _dial(4, datetime(2026, 11, 2, 5, 30, tzinfo=UTC), "no_answer"),  # 11-02 00:30 EST
    ]
    for d in dials:
        del d["utc_offset_s"]
    with engine.begin() as conn:
        conn.execute(
            insert(Campaign), [{**reportdata._campaign(1, "ny"), "timezone": "America/New_York"}]
        )
        conn.execute(insert(Contact), [reportdata._contact(1, 1, "active", 1)])
        conn.execute(insert(PhoneNumber), [reportdata._number(1, 1, 1, 1, "dialable")])
        conn.execute(insert(Attempt), dials)
    upgrade(engine)
    got = _view(engine, "SELECT id, utc_offset_s FROM attempts ORDER BY id")
    assert [g["utc_offset_s"] for g in got] == [-14400, -14400, -18000, -18000]
    days = _view(engine, "SELECT day, calls_made FROM v_campaign_daily ORDER BY day")
    assert [(d["day"], d["calls_made"]) for d in days] == [
        ("2026-10-30", 1),
        ("2026-11-01", 2),
        ("2026-11-02", 1),
    ]
    hours = _view(engine, "SELECT hour_local, hour_utc FROM v_campaign_hourly ORDER BY hour_utc")
    # 01:00 local happens twice on 11-01: once in EDT, once in EST
    assert [(h["hour_local"], h["hour_utc"]) for h in hours] == [
        ("2026-10-30 23:00", "2026-10-31 03:00"),
        ("2026-11-01 01:00", "2026-11-01 05:00"),
        ("2026-11-01 01:00", "2026-11-01 06:00"),
        ("2026-11-02 00:00", "2026-11-02 05:00"),
    ]
