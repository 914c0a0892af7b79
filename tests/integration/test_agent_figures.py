"""Agent figures: the tracker's waits and hours into the database, and the report's figures."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, update

from dialerd.db.models import Attempt, Campaign, QueueAgentHour
from dialerd.domain.agents import QueueCounts
from dialerd.domain.agenttime import AgentSeconds, CustomerWait, QueueHour, QueueTime
from dialerd.domain.pacing.floor import Floor
from dialerd.engine.agentfigures import store_agent_figures
from dialerd.process.metrics import NullMetrics
from dialerd.reporting.queries import load_report
from tests.integration import reportdata

QUEUE = "callback-team"
H1 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # c1 dialled 3 times in this UTC hour
H2 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # and once in this one
IDLE = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)  # agents logged in, the campaign not dialling


class Floors:
    """The AgentFloors the job reads: waits and hours handed out once."""

    def __init__(self, waits: list[CustomerWait], hours: list[QueueHour]) -> None:
        self.waits, self.hours, self.given_back = waits, hours, list[QueueHour]()

    def queues(self) -> list[QueueCounts]:
        return []

    def floor(self, queue: str, dials: Mapping[int, float] | None = None) -> Floor | None:
        return Floor()

    def queue_call(self, ident: str) -> None:
        return None

    def agent_times(self) -> list[QueueTime]:
        return []

    def take_agent_hours(self) -> list[QueueHour]:
        hours, self.hours = self.hours, []
        return hours

    def give_back_agent_hours(self, hours: list[QueueHour]) -> None:
        self.given_back += hours

    def take_customer_waits(self) -> list[CustomerWait]:
        waits, self.waits = self.waits, []
        return waits


class Waits(NullMetrics):
    def __init__(self) -> None:
        self.seen: list[tuple[str, float]] = []

    def customer_wait(self, queue: str, seconds: float) -> None:
        self.seen.append((queue, seconds))


def _hour(at: datetime, **seconds: float) -> QueueHour:
    return QueueHour(QUEUE, at, AgentSeconds(**seconds))  # type: ignore[arg-type]


def _store(engine: Engine, floors: Floors, instance: str = "host-1") -> None:
    store_agent_figures(engine, floors, NullMetrics(), instance_id=instance)


def test_waits_land_on_their_attempts_and_hours_add_up(engine: Engine) -> None:
    reportdata.load(engine)
    waits = [
        CustomerWait("1", QUEUE, 4.5, "agent1", ring_s=3.0),  # taken: ringing 3 s
        CustomerWait("3", QUEUE, 30.0, None),  # abandoned in the queue
        CustomerWait("not-an-id", QUEUE, 1.0, "agent2"),
    ]
    ends = [  # the agents' calls end: the same figures again, with the talk time (attempt
        # 2's first record was lost with a failed write: the end's record makes it good)
        CustomerWait("1", QUEUE, 4.5, "agent1", ring_s=3.0, talk_s=61.0, ended=True),
        CustomerWait("2", QUEUE, 2.25, "agent2", ring_s=1.0, talk_s=12.0, ended=True),
    ]
    metrics = Waits()
    floors = Floors(waits, [_hour(H1, ready=600, talking=2400, wrap_up=600, wrap_ups=20)])
    store_agent_figures(engine, floors, metrics, instance_id="host-1")
    columns = (Attempt.customer_wait_s, Attempt.agent, Attempt.agent_ring_s, Attempt.agent_talk_s)
    query = select(Attempt.id, *columns).where(Attempt.customer_wait_s.is_not(None))
    with engine.connect() as conn:
        talking = {i: tuple(rest) for i, *rest in conn.execute(query)}
    store_agent_figures(
        engine,
        Floors(ends, [_hour(H1, ready=60, paused=30, wrap_ups=1)]),
        metrics,
        instance_id="host-1",
    )
    with engine.connect() as conn:
        got = {i: tuple(rest) for i, *rest in conn.execute(query)}
        (row,) = conn.execute(select(QueueAgentHour)).all()
    assert talking == {
        1: (4.5, "agent1", 3.0, None),  # the talk time is not known before the call ends
        3: (30.0, None, None, None),
    }
    assert got == {1: (4.5, "agent1", 3.0, 61.0), 2: (2.25, "agent2", 1.0, 12.0), 3: talking[3]}
    # each wait counted once: the ends' records repeat theirs
    assert metrics.seen == [(QUEUE, 4.5), (QUEUE, 30.0), (QUEUE, 1.0)]
    assert (row.hour, row.instance_id) == (H1, "host-1")
    assert (row.ready_s, row.talking_s, row.wrap_up_s, row.paused_s, row.wrap_ups) == (
        660,
        2400,
        600,
        30,
        21,
    )


def test_hours_not_stored_are_given_back(tmp_path: Path) -> None:
    broken = create_engine(f"sqlite:///{tmp_path / 'missing' / 'dialerd.db'}")
    hours = [_hour(H1, ready=10)]
    floors = Floors([], list(hours))
    with pytest.raises(Exception, match="unable to open"):
        _store(broken, floors)
    assert floors.given_back == hours


def test_the_report_shows_waits_occupancy_and_dials_per_agent_hour(engine: Engine) -> None:
    reportdata.load(engine)
    with engine.begin() as conn:
        conn.execute(
            update(Campaign)
            .where(Campaign.name == "c1")
            .values(config={"pacing": {"queue": QUEUE}})
        )
    report = load_report(engine, "c1")
    assert report.figures["agent_occupancy"] is None  # nothing recorded of the queue yet
    waits = [CustomerWait("1", QUEUE, 4.5, "agent1"), CustomerWait("3", QUEUE, 30.0, None)]
    hours = [
        _hour(H1, ready=1800, talking=1200, wrap_up=600),  # one agent all hour
        _hour(H2, ready=3600, talking=3600),  # two agents
        _hour(IDLE, ready=36000),  # not a dialling hour of c1
    ]
    _store(engine, Floors(waits, hours))
    _store(engine, Floors([], [_hour(H1, ready=100)]), instance="host-2")  # sees less
    f = load_report(engine, "c1").figures
    assert (f["customer_waits"], f["customer_wait_p50_s"], f["customer_wait_p95_s"]) == (2, 4.5, 30)
    assert f["agent_within_20s_rate"] == 0.5
    assert f["agent_hours"] == pytest.approx(3.0)  # 3600 + 7200 s
    assert f["agent_occupancy"] == pytest.approx(5400 / 10800)
    assert f["dials_per_agent_hour"] == pytest.approx(4 / 3)  # 3 + 1 dials in those hours
    other = load_report(engine, "c2").figures  # no queue: no agent figures
    assert (other["agent_hours"], other["customer_waits"]) == (None, 0)
