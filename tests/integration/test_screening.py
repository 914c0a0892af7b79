"""Right before the dial: each contact's own time zone decides whether its dial fits the window."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select, update

from dialerd.db.models import Attempt, Contact, PhoneNumber
from tests.enginekit import make_rig, write_campaign

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, Sunday 21:00 in NY
NY_OPENS = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
WINDOWS = '[[windows]]\ndays = "daily"\nstart = "09:00"\nend = "21:00"\n'


def test_one_tick_fits_each_dial_to_the_window_of_its_contacts_time_zone(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [f"c{i},张三,1380013{i:04d}" for i in range(6)]
    rig = make_rig(engine, write_campaign(tmp_path, rows, windows=WINDOWS), start=MONDAY_10)
    with engine.begin() as conn:
        conn.execute(
            update(Contact)
            .where(Contact.external_id.in_(["c1", "c3", "c5"]))
            .values(timezone="America/New_York")
        )
    report = rig.dispatcher.tick()
    assert (report.sent, report.pushed_to_window) == (3, 3)
    with engine.connect() as conn:
        dialled = conn.execute(
            select(Contact.external_id).join(Attempt, Attempt.contact_id == Contact.id)
        ).scalars()
        assert sorted(dialled) == ["c0", "c2", "c4"]
        waiting = conn.execute(
            select(Contact.external_id, PhoneNumber.next_dial_at)
            .join(PhoneNumber, PhoneNumber.contact_id == Contact.id)
            .where(Contact.external_id.in_(["c1", "c3", "c5"]))
        ).all()
    assert sorted(waiting) == [(c, NY_OPENS) for c in ("c1", "c3", "c5")]
