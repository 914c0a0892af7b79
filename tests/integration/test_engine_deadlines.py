"""Deadlines end to end on the simulator rig: no dial starts after one; a missed one is settled.

The audit's cases: contacts due by 09:30 were dialled first and then again at
15:00, and contacts whose deadline passed years ago were dialled (first).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from structlog.testing import capture_logs

from dialerd.db.models import Attempt, Contact, PhoneNumber
from dialerd.domain.due import may_start
from dialerd.reporting.queries import load_report
from tests.enginekit import make_rig, write_campaign

COLUMNS = "external_id,name,phone1,deadline"
NINE = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
HALF_PAST_NINE = NINE + timedelta(minutes=30)
BUSY, NO_ANSWER = "13800138001", "13800138002"  # the virtual PBX's last-digit behaviours


def _dialled(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(Contact.external_id)
                .join(Attempt, Attempt.contact_id == Contact.id)
                .order_by(Attempt.id)
            ).scalars()
        )


def _contact(engine: Engine, external_id: str) -> tuple[str, str | None]:
    with engine.connect() as conn:
        state, reason = conn.execute(
            select(Contact.state, Contact.closed_reason).where(Contact.external_id == external_id)
        ).one()
    return str(state), reason


def test_a_contact_past_its_deadline_is_never_dialled(engine: Engine, tmp_path: Path) -> None:
    rows = [
        "old,甲,13800138011,2019-06-01T09:30+08:00",  # refused at import
        "stale,乙,13800138021,2026-11-23T12:00+08:00",  # its deadline moved back, below
        "urgent,丙,13800138031,2026-11-23T11:00+08:00",
        "plain,丁,13800138041,",
    ]
    rig = make_rig(engine, write_campaign(tmp_path, rows, columns=COLUMNS), start=NINE)
    # a row from before deadlines were enforced: years late, and the first in deadline order
    with engine.begin() as conn:
        past = datetime(2019, 1, 1, tzinfo=UTC)
        stale = select(Contact.id).where(Contact.external_id == "stale").scalar_subquery()
        conn.execute(update(Contact).where(Contact.id == stale).values(deadline=past))
        conn.execute(
            update(PhoneNumber).where(PhoneNumber.contact_id == stale).values(deadline=past)
        )
    with capture_logs() as logs:
        assert rig.step() == 2
    assert _dialled(engine) == ["urgent", "plain"]  # the earliest live deadline first
    assert _contact(engine, "stale") == ("closed", "deadline_missed")
    missed = [e for e in logs if e["event"] == "deadline_missed"]
    assert [(e["campaign"], e["action"]) for e in missed] == [("test-campaign", "close")]
    rig.settle()
    rig.clock.advance(timedelta(days=3))
    rig.step()
    assert "stale" not in _dialled(engine) and "old" not in _dialled(engine)


@pytest.mark.parametrize(("choice", "state"), [("close", "closed"), ("pause", "paused")])
def test_a_half_past_nine_deadline_is_not_dialled_at_three_and_is_missed(
    engine: Engine, tmp_path: Path, choice: str, state: str
) -> None:
    path = write_campaign(
        tmp_path,
        [f"cb,张三,{BUSY},2026-11-23T09:30+08:00"],
        columns=COLUMNS,
        dialing=f'on_deadline = "{choice}"\n' if choice == "pause" else "",
    )
    rig = make_rig(engine, path, start=NINE)
    assert rig.step() == 1  # 09:00: the first round
    rig.settle()  # busy: the next round 6 h later, 15:00
    rig.clock.advance_to(HALF_PAST_NINE - timedelta(seconds=1))
    assert rig.step() == 0
    assert _contact(engine, "cb") == ("active", None)
    rig.clock.advance_to(HALF_PAST_NINE)
    assert rig.step() == 0
    assert _contact(engine, "cb") == (state, "deadline_missed")
    with engine.connect() as conn:  # out of the queue
        assert conn.execute(select(PhoneNumber.next_dial_at)).scalar_one() is None
    rig.clock.advance_to(NINE + timedelta(hours=6))  # 15:00
    assert rig.step() == 0
    assert _dialled(engine) == ["cb"]


def test_a_dial_started_before_the_deadline_may_ring_past_it(
    engine: Engine, tmp_path: Path
) -> None:
    start = HALF_PAST_NINE - timedelta(seconds=10)
    path = write_campaign(
        tmp_path, [f"cb,张三,{NO_ANSWER},2026-11-23T09:30+08:00"], columns=COLUMNS
    )
    rig = make_rig(engine, path, start=start)
    assert rig.step() == 1  # 09:29:50, rings 30 s: past the deadline
    rig.settle()
    with engine.connect() as conn:
        outcome, ended = conn.execute(select(Attempt.outcome, Attempt.ended_at)).one()
    assert outcome == "no_answer"
    assert ended is not None and ended > HALF_PAST_NINE  # recorded as usual
    assert rig.step() == 0
    assert _contact(engine, "cb") == ("closed", "deadline_missed")


def test_a_contact_reached_before_its_deadline_is_not_missed(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_campaign(tmp_path, ["cb,张三,13800138000,2026-11-23T09:30+08:00"], columns=COLUMNS)
    rig = make_rig(engine, path, start=NINE)
    assert rig.step() == 1
    rig.settle()
    rig.clock.advance_to(HALF_PAST_NINE + timedelta(hours=1))
    rig.step()
    assert _contact(engine, "cb") == ("completed", None)


def test_the_report_counts_met_missed_and_the_wait_for_the_first_dial(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [
        "met,甲,13800138000,2026-11-23T09:30+08:00",  # answers at once
        f"missed,乙,{BUSY},2026-11-23T09:30+08:00",  # busy, next round after the deadline
        "open,丙,13800138010,2026-11-23T18:00+08:00",  # answers, but is never dialled here
        "plain,丁,13800138020,",
    ]
    rig = make_rig(engine, write_campaign(tmp_path, rows, columns=COLUMNS), start=NINE)
    with engine.begin() as conn:  # "open" is held back past the test
        opened = select(Contact.id).where(Contact.external_id == "open").scalar_subquery()
        conn.execute(
            update(PhoneNumber)
            .where(PhoneNumber.contact_id == opened)
            .values(next_dial_at=NINE + timedelta(hours=5))
        )
    rig.clock.advance(timedelta(seconds=90))  # the first dials start 90 s after the load
    assert rig.step() == 3
    rig.settle()
    rig.clock.advance_to(HALF_PAST_NINE)
    rig.step()
    figures = load_report(engine, "test-campaign", now=HALF_PAST_NINE).figures
    assert figures["deadline_accounts"] == 3
    assert figures["deadline_met"] == 1
    assert figures["deadline_missed"] == 1
    assert figures["deadline_met_rate"] == pytest.approx(0.5)
    assert figures["avg_first_dial_wait_s"] == pytest.approx(90, abs=0.01)
    assert figures["max_first_dial_wait_s"] == pytest.approx(90, abs=0.01)


def test_a_campaign_without_deadlines_reports_zero_and_no_rate(
    engine: Engine, tmp_path: Path
) -> None:
    make_rig(engine, write_campaign(tmp_path, ["plain,丁,13800138020"]))
    figures = load_report(engine, "test-campaign").figures
    assert (figures["deadline_accounts"], figures["deadline_met"], figures["deadline_missed"]) == (
        0,
        0,
        0,
    )
    assert figures["deadline_met_rate"] is None and figures["avg_first_dial_wait_s"] is None


def test_the_claim_applies_the_domain_rule_to_the_microsecond(
    engine: Engine, tmp_path: Path
) -> None:
    offsets = [timedelta(seconds=-1), -timedelta(microseconds=1), timedelta(0)]
    offsets += [timedelta(microseconds=1), timedelta(seconds=1)]
    rows = [f"c{i},n,138001380{i}2,2026-11-23T18:00+08:00" for i in range(len(offsets))]
    rig = make_rig(engine, write_campaign(tmp_path, rows, columns=COLUMNS), start=NINE)
    now = rig.clock.now()
    with engine.begin() as conn:  # deadlines around the tick's own now
        for i, offset in enumerate(offsets):
            cid = select(Contact.id).where(Contact.external_id == f"c{i}").scalar_subquery()
            conn.execute(update(Contact).where(Contact.id == cid).values(deadline=now + offset))
            conn.execute(
                update(PhoneNumber)
                .where(PhoneNumber.contact_id == cid)
                .values(deadline=now + offset)
            )
    rig.step()
    dialled = set(_dialled(engine))
    for i, offset in enumerate(offsets):
        allowed = may_start(now + offset, now)
        assert (f"c{i}" in dialled) == allowed, offset
        assert _contact(engine, f"c{i}")[1] == (None if allowed else "deadline_missed"), offset
