"""Agent figures of a campaign: customer wait, occupancy, dials per agent-hour (issue 14).

* Customer wait (``v_customer_wait``, to date): an answered dial's wait for an
  agent, answer to agent (or to abandon), p50 and p95, and the share taken within
  20 s (seed 001).
* Occupancy and dials per agent-hour (``queue_agent_hours`` of the campaign's
  ``[pacing] queue``), over the UTC hours in which the campaign dialled, in the
  report's range: occupancy = (talk + wrap-up) ÷ logged-in seconds; agent hours =
  logged-in seconds ÷ 3600; dials per agent-hour = the campaign's dials (counted,
  plus abandoned) in those hours ÷ agent hours. Several daemons each record the same agents:
  per hour the largest row counts. Campaigns sharing a queue share its agent hours.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text

from dialerd.db.models import Campaign, QueueAgentHour
from dialerd.reporting.figures import plain

WAIT_SQL = "SELECT waits, p50_s, p95_s, within_20s_rate FROM v_customer_wait WHERE campaign_id = :c"
_h = QueueAgentHour
FIGURES = (
    "customer_waits",
    "customer_wait_p50_s",
    "customer_wait_p95_s",
    "agent_within_20s_rate",
    "agent_hours",
    "agent_occupancy",
    "dials_per_agent_hour",
)


def queue_of(conn: Connection, campaign_id: int) -> str | None:
    """The campaign's ``[pacing] queue``, if it names one."""
    config = conn.execute(select(Campaign.config).where(Campaign.id == campaign_id)).scalar()
    pacing = (config or {}).get("pacing") or {}
    queue = pacing.get("queue") if isinstance(pacing, dict) else None
    return str(queue) if queue else None


def agent_figures(
    conn: Connection, campaign_id: int, queue: str | None, hourly: list[dict[str, Any]]
) -> dict[str, Any]:
    """The report's agent figures (none without ``queue``, the campaign's); ``hourly`` is
    v_campaign_hourly in the report's range."""
    out: dict[str, Any] = dict.fromkeys(FIGURES)
    out["customer_waits"] = 0
    if queue is None:
        return out
    wait = conn.execute(text(WAIT_SQL), {"c": campaign_id}).mappings().first()
    if wait is not None:
        out["customer_waits"] = plain(wait["waits"])
        out["customer_wait_p50_s"] = plain(wait["p50_s"])
        out["customer_wait_p95_s"] = plain(wait["p95_s"])
        out["agent_within_20s_rate"] = plain(wait["within_20s_rate"])
    best: dict[str, tuple[float, float]] = {}  # UTC hour -> (logged-in s, talk + wrap-up s)
    rows = conn.execute(
        select(_h.hour, _h.ready_s, _h.ringing_s, _h.talking_s, _h.wrap_up_s, _h.paused_s).where(
            _h.queue == queue
        )
    )
    for hour, ready, ringing, talking, wrap_up, paused in rows:
        key = _hour_key(hour)
        logged_in = ready + ringing + talking + wrap_up + paused
        if logged_in > best.get(key, (-1.0, 0.0))[0]:
            best[key] = (logged_in, talking + wrap_up)
    dials, logged, busy, used = 0, 0.0, 0.0, set()
    for h in hourly:
        key = str(h["hour_utc"])[:13]  # a half-hour zone's local hour: its first UTC hour
        if key not in best:
            continue  # no agent figures recorded then: neither its dials nor hours count
        dials += int(h["calls_made"] or 0) + int(h["abandoned_calls"] or 0)
        if key not in used:
            used.add(key)
            logged, busy = logged + best[key][0], busy + best[key][1]
    if logged > 0:
        out["agent_hours"] = logged / 3600
        out["agent_occupancy"] = busy / logged
        out["dials_per_agent_hour"] = dials / (logged / 3600)
    return out


def _hour_key(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%d %H")
