"""Campaign keys place contacts' not_before and deadline on the working-day calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from dialerd.db.models import Contact
from tests.enginekit import make_rig, write_campaign

KEYS = 'reminder = "3 working days before due"\ncallback_within = "2 working days"\n'
WEEKDAYS = '[[windows]]\ndays = "mon-fri"\nstart = "09:00"\nend = "17:00"\n'


def test_due_and_event_columns_set_not_before_and_deadline(engine: Engine, tmp_path: Path) -> None:
    campaign = write_campaign(tmp_path, [], dialing=KEYS, windows=WEEKDAYS)
    (tmp_path / "test-campaign.csv").write_text(
        "external_id,name,phone1,due,event_at,deadline\n"
        "r1,张三,13800138000,2026-11-27,2026-11-27T16:00:00+08:00,\n"  # due Friday
        "r2,李四,13800138001,,,2026-12-10T12:00:00+08:00\n"  # its own deadline wins
        "r3,王五,13800138002,2026-13-01,,\n",  # not a date: refused
        encoding="utf-8",
    )
    make_rig(engine, campaign)
    with engine.connect() as conn:
        rows = {
            r.external_id: (r.not_before, r.deadline)
            for r in conn.execute(select(Contact.external_id, Contact.not_before, Contact.deadline))
        }
    assert set(rows) == {"r1", "r2"}
    # 3 working days before Friday 11-27: Tuesday 11-24, from local midnight (16:00 UTC 11-23)
    assert rows["r1"][0] == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    # 2 working days after Friday 11-27 16:00: Tuesday 12-01, at its 17:00 close (09:00 UTC)
    assert rows["r1"][1] == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert rows["r2"] == (None, datetime(2026, 12, 10, 4, 0, tzinfo=UTC))
    rejects = (tmp_path / "test-campaign.rejects.csv").read_text(encoding="utf-8-sig")
    assert "r3" in rejects and "due" in rejects and "invalid_value" in rejects
