"""Campaigns paced by agents on the simulator rig: the queue's floor gates the dials,
and an answered call no agent took is recorded ``abandoned`` and dialled again."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Row, select
from structlog.testing import capture_logs

from dialerd.db import tables
from dialerd.domain.clock import VirtualClock
from dialerd.domain.outcomes import Outcome
from dialerd.domain.pacing import Agent, AgentState, Floor
from dialerd.domain.ports import AnsweredInfo, Verdict
from dialerd.pbx.scenario import Scenario
from dialerd.pbx.virtual import VirtualPbx
from tests.enginekit import Rig, make_rig, write_campaign

# last digit 0: answered by a person (the recorded test dialplan)
ROWS = [f"c{i},客户{i},+86138{i:07d}0" for i in range(1, 41)]
PACING = '[pacing]\nmode = "progressive"\nqueue = "callback-team"\n'


class QueuePbx(VirtualPbx):
    """The virtual PBX with a queue floor a test sets: its agents, and the dials ringing."""

    def __init__(self, clock: VirtualClock, scenario: Scenario | None = None) -> None:
        super().__init__(clock, scenario)
        self.agents: list[Agent] | None = None  # None: the queue's state is unknown
        self.asked: list[str] = []
        self.told: list[dict[int, float]] = []  # the dials in flight the pacer passed

    def floor(self, queue: str, dials: Mapping[int, float] | None = None) -> Floor | None:
        self.asked.append(queue)
        self.told.append(dict(dials or {}))
        if self.agents is None:
            return None
        now = self._clock.now()
        ringing = [
            0.0
            for r in self.live_results()
            if r.signals.answered_at is None or r.signals.answered_at > now
        ]
        return Floor(agents=tuple(self.agents), ringing=ringing)

    def live_results(self) -> list[Any]:
        return [r for _, _, r in self._pending]


def _rig(engine: Engine, tmp_path: Path, pacing: str = PACING) -> tuple[Rig, QueuePbx]:
    path = write_campaign(tmp_path, ROWS, max_concurrent=20, extra=pacing)
    rig = make_rig(engine, path, pbx_class=QueuePbx)
    assert isinstance(rig.pbx, QueuePbx)
    return rig, rig.pbx


def _ready(n: int, paused: int = 0) -> list[Agent]:
    return [Agent(AgentState.READY)] * n + [Agent(AgentState.PAUSED)] * paused


def _attempts(engine: Engine) -> list[Row[Any]]:
    with engine.connect() as conn:
        return list(conn.execute(select(tables.attempts).order_by(tables.attempts.c.id)))


def test_no_floor_no_dial(engine: Engine, tmp_path: Path) -> None:
    rig, pbx = _rig(engine, tmp_path)
    assert rig.runtime.queue == "callback-team"
    with capture_logs() as logs:
        assert [rig.step() for _ in range(3)] == [0, 0, 0]
        pbx.agents = _ready(1)
        assert rig.step() == 1
    events = [e["event"] for e in logs]
    assert events.count("pacing_floor_unknown") == 1  # logged once
    assert events.count("pacing_floor_known") == 1
    assert pbx.asked == ["callback-team"] * 4


def test_ready_agents_pace_the_dials_and_pausing_all_stops_them(
    engine: Engine, tmp_path: Path
) -> None:
    rig, pbx = _rig(engine, tmp_path)
    pbx.agents = _ready(2, paused=1)
    assert rig.step() == 2  # ratio 1: one dial ringing per ready agent
    assert rig.step() == 0  # both still ringing
    pbx.agents = _ready(0, paused=3)  # every agent paused (示忙)
    rig.clock.advance(timedelta(seconds=60))  # every call answered and over
    assert rig.step() == 0
    assert rig.step() == 0
    pbx.agents = _ready(3)  # back (示闲)
    assert rig.step() == 3
    assert len(pbx.originated) == 5


def test_the_floor_is_told_the_queues_dials_in_flight(engine: Engine, tmp_path: Path) -> None:
    rig, pbx = _rig(engine, tmp_path)
    pbx.agents = _ready(2)
    assert rig.step() == 2
    assert pbx.told[-1] == {}
    rig.clock.advance(timedelta(seconds=1))
    assert rig.step() == 0
    told = pbx.told[-1]
    assert set(told) == {r.attempt_id for r in pbx.originated}
    assert all(0.0 <= s <= 60.0 for s in told.values())


def test_the_floor_is_given_every_dial_in_flight_on_the_queue(
    engine: Engine, tmp_path: Path
) -> None:
    """The PBX tells which of them ring: the dispatcher knows them all, every daemon's."""
    rig, pbx = _rig(engine, tmp_path)
    pbx.agents = _ready(2)
    assert rig.step() == 2
    rig.clock.advance(timedelta(seconds=1))
    rig.step()
    ids = [r.id for r in _attempts(engine)]
    assert pbx.told[0] == {} and pbx.told[-1] == dict.fromkeys(ids, 1.0)
    rig.settle()
    rig.step()
    assert pbx.told[-1] == {}  # recorded: no longer in flight


def test_broadcast_campaigns_never_ask_for_a_floor(engine: Engine, tmp_path: Path) -> None:
    rig, pbx = _rig(engine, tmp_path, pacing="")
    assert sum(rig.step() for _ in range(5)) == 20  # max_concurrent alone (paced over ticks)
    assert pbx.asked == []


def test_every_existing_cap_still_holds(engine: Engine, tmp_path: Path) -> None:
    path = write_campaign(tmp_path, ROWS, max_concurrent=3, extra=PACING)
    rig = make_rig(engine, path, pbx_class=QueuePbx)
    assert isinstance(rig.pbx, QueuePbx)
    rig.pbx.agents = _ready(10)
    assert rig.step() == 3


def test_an_abandoned_call_is_not_counted_and_is_dialled_again(
    engine: Engine, tmp_path: Path
) -> None:
    rig, pbx = _rig(engine, tmp_path)
    pbx.agents = _ready(2)
    assert rig.step() == 2
    first, second = pbx.originated
    rig.clock.advance(timedelta(seconds=8))  # both answered (6 s of ringing)
    abandon = AnsweredInfo(disposition=Outcome.abandoned.value)
    assert pbx.on_answered(first.attempt_id, abandon) is Verdict.accepted
    rig.settle()
    by_id = {a.id: a for a in _attempts(engine)}
    dropped, taken = by_id[first.attempt_id], by_id[second.attempt_id]
    assert (dropped.outcome, dropped.treatment) == ("abandoned", "retry")
    assert (taken.outcome, taken.treatment) == ("answered", "complete")
    with engine.connect() as conn:
        number = conn.execute(
            select(tables.phone_numbers).where(tables.phone_numbers.c.id == dropped.phone_number_id)
        ).one()
        contact = conn.execute(
            select(tables.contacts).where(tables.contacts.c.id == dropped.contact_id)
        ).one()
    assert contact.state == "active"
    assert number.next_round == dropped.round  # not counted: the same round again
    assert number.next_dial_at is not None
    assert number.next_dial_at - rig.clock.now() <= rig.runtime.policy.min_spacing
    stats = rig.dispatcher.pacing.stats(rig.runtime.name).snapshot(rig.clock.now().timestamp())
    assert (stats.day.human_answers, stats.day.connected, stats.day.abandoned) == (2, 1, 1)
    assert stats.talk.n == 1
