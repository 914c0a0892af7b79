"""Pace overrides (``actions/pace.py``): stored once, audited, and followed by the dispatcher."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialerd.actions.pace import PaceRefused, pace_overrides, set_pace
from dialerd.db.models import CampaignEvent
from dialerd.errors import CampaignNotFound
from tests.enginekit import make_rig, write_campaign


def test_the_dispatcher_dials_within_the_overridden_pace(engine: Engine, tmp_path: Path) -> None:
    rows = [f"c{i},张{i},1380013{i:04d}" for i in range(12)]
    rig = make_rig(engine, write_campaign(tmp_path / "campaigns", rows, max_concurrent=20))
    with Session(engine) as s, s.begin():
        set_pace(s, "test-campaign", max_concurrent=3, actor="ops@host", now=rig.clock.now())
    assert rig.step() == 3  # the file says 20; the override says 3
    assert rig.step() == 0  # three in flight: no room
    with Session(engine) as s, s.begin():
        stored = set_pace(s, "test-campaign", calls_per_second=2, actor="ops@host")
    assert (stored.max_concurrent, stored.calls_per_second) == (3, 2.0)  # the other kept
    with engine.connect() as conn:
        assert list(pace_overrides(conn).values()) == [
            {"max_concurrent": 3, "calls_per_second": 2.0}
        ]
    with Session(engine) as s:
        details = s.scalars(
            select(CampaignEvent.details).where(CampaignEvent.kind == "pace_changed")
        ).all()
    assert [d["to"] if d else None for d in details] == [
        {"max_concurrent": 3, "calls_per_second": None},
        {"max_concurrent": 3, "calls_per_second": 2.0},
    ]


def test_a_pace_needs_a_value_in_bounds_and_a_campaign(engine: Engine) -> None:
    with Session(engine) as s:
        with pytest.raises(PaceRefused, match="give max_concurrent"):
            set_pace(s, "any", actor="ops")
        with pytest.raises(PaceRefused, match="max_concurrent"):
            set_pace(s, "any", max_concurrent=0, actor="ops")
        with pytest.raises(PaceRefused, match="calls_per_second"):
            set_pace(s, "any", calls_per_second=-1, actor="ops")
        with pytest.raises(CampaignNotFound):
            set_pace(s, "nope", max_concurrent=2, actor="ops")
