"""The engine against a real database and the virtual PBX: claims, results, policy, limits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Row, insert, select, text, update

from dialerd.db import tables
from dialerd.db.models import Attempt, Contact, PhoneNumber
from dialerd.domain.ports import DialRequest
from tests.enginekit import make_rig, write_campaign

ANSWERS, BUSY, VACANT = "13800138000", "13800138001", "13800138003"


def _attempts(engine: Engine) -> list[Row[Any]]:
    with engine.connect() as conn:
        return list(conn.execute(select(tables.attempts).order_by(Attempt.id)).all())


def test_attempt_row_is_committed_before_the_dial(engine: Engine, tmp_path: Path) -> None:
    rig = make_rig(engine, write_campaign(tmp_path, [f"c1,张三,{ANSWERS}"]))
    seen: list[str] = []
    original = rig.pbx.originate

    def originate(request: DialRequest) -> None:
        with engine.connect() as conn:
            seen.append(
                conn.execute(select(Attempt.status).where(Attempt.key == request.key)).scalar_one()
            )
        original(request)

    rig.pbx.originate = originate  # type: ignore[method-assign]
    assert rig.step() == 1
    assert seen == ["dialing"]  # committed, and visible to another connection, before the dial
    (attempt,) = _attempts(engine)
    assert attempt.status == "dialing" and attempt.started_at is not None
    assert attempt.utc_offset_s == 8 * 3600  # the campaign's Asia/Shanghai: its local day


def test_answered_call_completes_the_contact(engine: Engine, tmp_path: Path) -> None:
    rig = make_rig(engine, write_campaign(tmp_path, [f"c1,张三,{ANSWERS},{BUSY}"]))
    assert rig.step() == 1
    rig.settle()
    (attempt,) = _attempts(engine)
    assert (attempt.status, attempt.outcome) == ("done", "answered")
    rig.clock.advance(timedelta(days=2))
    assert rig.step() == 0
    with engine.connect() as conn:
        assert conn.execute(select(Contact.state)).scalar_one() == "completed"


def test_busy_retries_only_after_the_minimum_spacing(engine: Engine, tmp_path: Path) -> None:
    rig = make_rig(engine, write_campaign(tmp_path, [f"c1,张三,{BUSY}"]))
    start = rig.clock.now()
    assert rig.step() == 1
    rig.settle()
    (attempt,) = _attempts(engine)
    assert attempt.outcome == "busy"
    assert attempt.next_dial_at >= start + timedelta(hours=6)
    rig.clock.advance_to(start + timedelta(hours=5, minutes=59))
    assert rig.step() == 0
    rig.clock.advance_to(attempt.next_dial_at)
    assert rig.step() == 1
    assert [a.round for a in _attempts(engine)] == [1, 2]


def test_vacant_number_is_dropped_and_the_next_number_dialled(
    engine: Engine, tmp_path: Path
) -> None:
    rig = make_rig(engine, write_campaign(tmp_path, [f"c1,张三,{VACANT},{BUSY}"]))
    assert rig.step() == 1
    rig.settle()
    assert rig.step() == 1  # same round, next number, at once
    rig.settle()
    first, second = _attempts(engine)
    assert (first.outcome, first.position, first.round) == ("vacant", 1, 1)
    assert (second.outcome, second.position, second.round) == ("busy", 2, 1)
    with engine.connect() as conn:
        states = dict(conn.execute(select(PhoneNumber.position, PhoneNumber.state)).all())
    assert states == {1: "dead", 2: "dialable"}


def test_dnc_entry_added_while_running_stops_the_next_dial(engine: Engine, tmp_path: Path) -> None:
    rig = make_rig(engine, write_campaign(tmp_path, [f"c1,张三,{ANSWERS}", f"c2,李四,{BUSY}"]))
    with engine.begin() as conn:
        conn.execute(
            insert(tables.dnc_entries).values(
                kind="prefix",
                value="+86138001380*",
                reason="test",
                source="test",
                created_at=rig.clock.now(),
            )
        )
    assert rig.step() == 0
    assert rig.pbx.originated == []
    with engine.connect() as conn:
        assert set(conn.execute(select(PhoneNumber.state)).scalars()) == {"dnc"}
        assert set(conn.execute(select(Contact.state)).scalars()) == {"paused"}


def test_max_concurrent_holds(engine: Engine, tmp_path: Path) -> None:
    rows = [f"c{i},n{i},1380013{i:04d}" for i in range(30)]
    rig = make_rig(engine, write_campaign(tmp_path, rows, max_concurrent=5))
    for _ in range(5):
        rig.step()
        assert rig.pbx.in_flight() <= 5
        with engine.connect() as conn:
            open_ = conn.execute(
                text("SELECT count(*) FROM attempts WHERE status = 'dialing'")
            ).scalar_one()
        assert open_ <= 5
    assert rig.pbx.in_flight() == 5


def test_unsafe_number_never_reaches_the_pbx(engine: Engine, tmp_path: Path) -> None:
    rig = make_rig(engine, write_campaign(tmp_path, [f"c1,张三,{ANSWERS}"]))
    with engine.begin() as conn:
        conn.execute(update(tables.phone_numbers).values(e164="+86138\r\nAction: X"))
    rig.step()
    assert rig.pbx.originated == []
    (attempt,) = _attempts(engine)
    assert (attempt.status, attempt.outcome, attempt.bucket) == (
        "done",
        "internal_failure",
        "not_counted",
    )
    with engine.connect() as conn:
        state, flagged = conn.execute(select(Contact.state, Contact.flagged)).one()
    assert state == "paused" and flagged


def test_a_slow_rate_dials_one_call_per_period(engine: Engine, tmp_path: Path) -> None:
    rows = [f"c{i},n{i},1380013{i:04d}" for i in range(5)]
    path = write_campaign(tmp_path, rows)
    path.write_text(path.read_text().replace("calls_per_second = 50", "calls_per_second = 0.5"))
    rig = make_rig(engine, path)
    assert rig.step() == 1  # 0.5/s: one dial, then none for two seconds
    rig.clock.advance(timedelta(seconds=1))
    assert rig.step() == 0
    rig.clock.advance(timedelta(seconds=1.1))
    assert rig.step() == 1


def test_dials_are_paced_over_the_second_not_sent_in_one_burst(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [f"c{i},n{i},1380013{i:04d}" for i in range(200)]
    rig = make_rig(engine, write_campaign(tmp_path, rows, max_concurrent=200), max_channels=200)
    sent = [rig.step()]  # 50/s in ticks of 0.2 s: ten a tick
    for _ in range(4):
        rig.clock.advance(timedelta(seconds=0.2))
        sent.append(rig.step())
    assert sent == [10] * 5
    rig.clock.advance(timedelta(seconds=0.6))  # a late tick claims for the time it waited
    assert rig.step() == 30
    rig.clock.advance(timedelta(seconds=5))  # never more than one second's worth
    assert rig.step() == 50
