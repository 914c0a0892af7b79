"""States are stored as their plain text and read back as the domain's enums."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from dialerd.db.models import Campaign
from dialerd.domain.states import CampaignState

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def _campaign(state: str) -> Campaign:
    return Campaign(
        name=f"c-{state}",
        description="",
        config={},
        config_sha256="0" * 64,
        timezone="UTC",
        max_rounds=4,
        min_spacing_s=0,
        state=state,
        created_at=NOW,
        updated_at=NOW,
    )


def test_a_state_round_trips_as_text(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add(_campaign("paused"))  # plain text is accepted
        session.add(_campaign(CampaignState.stopped))
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT name, state FROM campaigns ORDER BY name")).all()
        assert [tuple(r) for r in stored] == [("c-paused", "paused"), ("c-stopped", "stopped")]
        assert type(stored[0].state) is str
    with Session(engine) as session:
        states = session.scalars(select(Campaign.state).order_by(Campaign.name)).all()
    assert states == [CampaignState.paused, CampaignState.stopped]
    assert all(type(s) is CampaignState for s in states)


def test_an_unknown_state_is_refused(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(StatementError, match="'asleep'"):
        session.add(_campaign("asleep"))
        session.flush()
