"""Right before the dial: each contact's own time zone decides whether its dial fits the window."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from dialerd.db.models import Attempt, Contact, PhoneNumber
from dialerd.domain.due import fit_window
from dialerd.engine import screening
from tests.enginekit import make_rig, write_campaign

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, Sunday 21:00 in NY
NY_OPENS = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
WINDOWS = '[[windows]]\ndays = "daily"\nstart = "09:00"\nend = "21:00"\n'


def test_one_tick_fits_each_time_zone_once_and_each_dial_by_its_own(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [f"c{i},张三,1380013{i:04d}" for i in range(6)]
    rig = make_rig(engine, write_campaign(tmp_path, rows, windows=WINDOWS), start=MONDAY_10)
    with engine.begin() as conn:
        conn.execute(
            update(Contact)
            .where(Contact.external_id.in_(["c1", "c3", "c5"]))
            .values(timezone="America/New_York")
        )
    asked: list[str | None] = []

    def counted(at: datetime, **kwargs: Any) -> datetime | None:
        asked.append(kwargs["tz"])
        return fit_window(at, **kwargs)

    monkeypatch.setattr(screening, "fit_window", counted)
    report = rig.dispatcher.tick()
    assert sorted(asked, key=str) == ["America/New_York", None]  # once per zone, not per dial
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
