"""What happens at a campaign's calendar edges: an audit line, and the end of a campaign.

The dispatcher does not depend on these jobs (it checks the calendar on every row);
they leave a trace for people and finish a campaign whose end date has passed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, update

from dialerd.db import tables
from dialerd.domain.states import CampaignState
from dialerd.engine.runtime import CampaignRuntime
from dialerd.logconfig import get_logger

log = get_logger("dialerd.calendar")


class CalendarEvents:
    def __init__(self, engine: Engine, instance_id: str) -> None:
        self._engine = engine
        self._instance = instance_id

    def on_event(self, runtime: CampaignRuntime, edge: str) -> None:
        now = datetime.now(UTC)
        if edge.startswith("window_") and not self._is_real_edge(runtime, edge, now):
            return  # e.g. a holiday: the window does not open today
        with self._engine.begin() as conn:
            conn.execute(
                insert(tables.campaign_events).values(
                    campaign_id=runtime.id, at=now, kind=edge, actor=self._instance, details={}
                )
            )
            if edge == "campaign_ended":
                conn.execute(
                    update(tables.campaigns)
                    .where(
                        tables.campaigns.c.id == runtime.id,
                        tables.campaigns.c.state.in_((CampaignState.active, CampaignState.paused)),
                    )
                    .values(state=CampaignState.finished, updated_at=now)
                )
        log.info(edge, campaign=runtime.name)

    @staticmethod
    def _is_real_edge(runtime: CampaignRuntime, edge: str, now: datetime) -> bool:
        """A window edge counts only on an open day (holidays close the day)."""
        from datetime import timedelta

        probe = (
            now + timedelta(minutes=1) if edge == "window_opened" else now - timedelta(minutes=1)
        )
        return runtime.calendar.is_open(probe)
