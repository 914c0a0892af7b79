"""Leases on the database's clock: a stalled daemon keeps its live calls; late results win once.

Two rigs on one database stand in for two daemons; daemon A's virtual PBX is the
PBX both see (``a.pbx.live_keys()`` is its channel list). A "stall" is A not
renewing its lease: a short lease is written, then the test waits (on the
database's clock, with a generous deadline) until it has passed.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from dialerd.db.clock import database_now
from dialerd.db.models import Attempt, CampaignEvent, Contact, DncEntry, Instance, PhoneNumber
from dialerd.domain.ports import DialResult
from dialerd.engine.reconcile import alive_instances, settle_orphans
from dialerd.pbx.scenario import Scenario
from dialerd.process import heartbeat
from tests.enginekit import Rig, make_rig, write_campaign

ANSWERS = "1380013800{}"  # last digit 0: answered by a person
LONG = 600.0


def register(engine: Engine, instance_id: str, lease_s: float) -> None:
    with Session(engine) as s, s.begin():
        heartbeat.register_instance(
            s, instance_id=instance_id, pbx_kind="ami", now=database_now(s.connection())
        )
        heartbeat.renew_lease(s, instance_id, lease_s=lease_s)


def stall(engine: Engine, instance_id: str) -> None:
    """The daemon's last beat leases a moment; wait until the database's clock passes it."""
    with Session(engine) as s, s.begin():
        heartbeat.renew_lease(s, instance_id, lease_s=0.05)
    deadline = time.monotonic() + 60
    while True:
        with engine.begin() as conn:
            if instance_id not in alive_instances(conn):
                return
        assert time.monotonic() < deadline, "the lease never expired"
        time.sleep(0.01)


def reap(peer: Rig, instance_id: str, live_keys: set[str] | None, adopted: list[str]) -> Any:
    with peer.engine.begin() as conn:
        return settle_orphans(
            conn,
            instance_id=instance_id,
            alive=alive_instances(conn),
            live_keys=live_keys,
            runtime_for={peer.runtime.id: peer.runtime}.get,
            adopt=lambda key, _id: adopted.append(key),
            now=peer.clock.now(),
        )


def attempts(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(Attempt.__table__).order_by(Attempt.id)).all())


def late_events(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        q = select(CampaignEvent.details).where(CampaignEvent.kind == "late_result")
        return list(conn.execute(q.order_by(CampaignEvent.id)).scalars())


def two_daemons(engine: Engine, tmp_path: Path, rows: list[str]) -> tuple[Rig, Rig]:
    path = write_campaign(tmp_path, rows)
    a = make_rig(engine, path, instance_id="a", scenario=Scenario())
    b = make_rig(engine, path, instance_id="b")
    register(engine, "a", LONG)
    register(engine, "b", LONG)
    return a, b


def test_a_stalled_daemon_keeps_its_live_calls(engine: Engine, tmp_path: Path) -> None:
    rows = [f"c{i},n{i},{ANSWERS.format(i)}" for i in range(10)]
    a, b = two_daemons(engine, tmp_path, rows)
    assert a.step() == 10
    live = a.pbx.live_keys()
    assert len(live) == 10
    adopted: list[str] = []
    # lease still running (a stall shorter than the lease, a database outage, a skewed
    # clock): nothing is touched, whatever the PBX says
    assert reap(b, "b", set(), adopted) == (0, 0)
    assert reap(b, "b", None, adopted) == (0, 0)
    # lease expired by the database's clock, but the PBX still has every call: adopted
    stall(engine, "a")
    assert reap(b, "b", None, adopted) == (0, 0)  # channel list unknown: do nothing
    assert reap(b, "b", live, adopted) == (10, 0)
    assert sorted(adopted) == sorted(live)
    assert {r.instance_id for r in attempts(engine)} == {"b"}
    # A resumes: its calls end and every real result is recorded
    a.settle()
    done = attempts(engine)
    assert [r.status for r in done] == ["done"] * 10
    assert sum(r.outcome == "interrupted" for r in done) == 0
    outcomes = {r.number[-1]: r.outcome for r in done}
    assert (outcomes["0"], outcomes["1"], outcomes["2"]) == ("answered", "busy", "no_answer")
    assert late_events(engine) == []


def test_a_late_result_after_an_interrupted_settlement_corrects_once(
    engine: Engine, tmp_path: Path
) -> None:
    a, b = two_daemons(engine, tmp_path, [f"c1,n1,{ANSWERS.format(0)},{ANSWERS.format(1)}"])
    assert a.step() == 1
    results: list[DialResult] = []

    def sink(result: DialResult) -> None:
        results.append(result)
        a.writer.submit(result)

    a.pbx.start(sink)
    stall(engine, "a")
    # the PBX says the channel is gone (its result is still in A's socket): interrupted
    assert reap(b, "b", set(), []) == (0, 1)
    (first,) = attempts(engine)
    assert first.outcome == "interrupted"
    # A resumes: the real result (answered) arrives and wins
    a.settle()
    (first,) = attempts(engine)
    assert (first.outcome, first.bucket, first.next_dial_at) == (
        "answered",
        "terminal_contact",
        None,
    )
    with engine.connect() as conn:
        contact = conn.execute(select(Contact.__table__)).one()
        queued = conn.execute(select(PhoneNumber.next_dial_at)).scalars().all()
    assert contact.state == "completed"
    assert queued == [None, None]
    (event,) = late_events(engine)
    assert (event["from"], event["to"], event["rewound"]) == ("interrupted", "answered", True)
    # the same result again changes nothing, and nothing is ever dialled again
    for r in results:
        a.writer.submit(r)
    while a.writer.drain():
        pass
    assert len(late_events(engine)) == 1
    for rig in (a, b):
        rig.clock.advance(timedelta(days=2))
        assert rig.step() == 0
    assert len(attempts(engine)) == 1


def test_a_late_result_after_the_redial_records_the_truth_without_rewinding(
    engine: Engine, tmp_path: Path
) -> None:
    a, b = two_daemons(engine, tmp_path, [f"c1,n1,{ANSWERS.format(0)}"])
    assert a.step() == 1
    stall(engine, "a")
    assert reap(b, "b", set(), []) == (0, 1)
    b.clock.advance(timedelta(hours=7))  # past min_spacing: the dial is made again
    assert b.step() == 1
    a.settle()  # the first dial's real result arrives after the redial
    first, second = attempts(engine)
    assert (first.outcome, first.next_dial_at) == ("answered", None)
    assert (second.status, second.try_no) == ("dialing", 2)
    with engine.connect() as conn:
        contact = conn.execute(select(Contact.__table__)).one()
    assert contact.state == "active"  # not rewound: the redial's own result decides
    (event,) = late_events(engine)
    assert (event["rewound"], event["later_attempt_id"]) == (False, second.id)
    b.settle()
    assert [r.status for r in attempts(engine)] == ["done", "done"]


def test_the_lease_is_renewed_and_given_up_on_the_databases_clock(engine: Engine) -> None:
    register(engine, "x", LONG)
    with Session(engine) as s:
        row = s.get(Instance, "x")
        assert row is not None and row.lease_until is not None
        assert row.lease_until > database_now(s.connection()) + timedelta(seconds=LONG - 60)
    with engine.begin() as conn:
        assert "x" in alive_instances(conn)
    with Session(engine) as s, s.begin():
        heartbeat.mark_stopped(s, "x", now=database_now(s.connection()))
    with engine.begin() as conn:
        assert "x" not in alive_instances(conn)


def test_at_start_up_only_the_previous_runs_dials_are_reconciled(
    engine: Engine, tmp_path: Path
) -> None:
    a, _b = two_daemons(engine, tmp_path, [f"c{i},n{i},{ANSWERS.format(i)}" for i in range(4)])
    assert a.step() == 4
    restarted = a.clock.now() + timedelta(seconds=1)
    rows = attempts(engine)
    previous = {r.key for r in rows[:2]}  # the killed run's dials; the other two are this run's
    with engine.begin() as conn:
        conn.execute(
            update(Attempt)
            .where(Attempt.id.in_([r.id for r in rows[2:]]))
            .values(claimed_at=restarted + timedelta(seconds=1))
        )
    with engine.begin() as conn:
        result = settle_orphans(
            conn,
            instance_id="a",
            alive=alive_instances(conn),
            live_keys=set(),
            runtime_for={a.runtime.id: a.runtime}.get,
            adopt=None,
            now=a.clock.now(),
            startup=True,
            run_started=restarted,
        )
    assert result == (0, 2)
    settled = {r.key for r in attempts(engine) if r.outcome == "interrupted"}
    assert settled == previous


def test_a_late_never_call_me_after_the_redial_still_adds_its_dnc_entry(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_campaign(tmp_path, ["c1,n1,13900139001"])
    a = make_rig(engine, path, instance_id="a", scenario=Scenario(rules=[("*", "dnc_requested")]))
    b = make_rig(engine, path, instance_id="b")
    register(engine, "a", LONG)
    register(engine, "b", LONG)
    assert a.step() == 1
    stall(engine, "a")
    assert reap(b, "b", set(), []) == (0, 1)
    b.clock.advance(timedelta(hours=7))
    assert b.step() == 1
    a.settle()
    first, second = attempts(engine)
    assert (first.outcome, second.status) == ("dnc_requested", "dialing")
    with engine.connect() as conn:
        entries = conn.execute(select(DncEntry.value, DncEntry.source)).all()
    assert entries == [("+8613900139001", "call:test-campaign")]
    (event,) = late_events(engine)
    assert event["rewound"] is False
