"""The reaper and Asterisk's call records: an orphan with a record gets its real outcome.

An orphan whose call ended while no daemon listened is recorded from the CDR
(not counted as ``interrupted``); one with no record anywhere is interrupted;
a record that turns up after an interrupted settlement corrects it once.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from dialerd.db import tables
from dialerd.domain.states import ContactState
from dialerd.engine.reconcile import alive_instances, correct_from_records, settle_orphans
from dialerd.pbx.cdr import CdrFile
from dialerd.pbx.simulator.cdr import CallRecord, MasterCsv
from tests.enginekit import Rig
from tests.integration.test_leases import ANSWERS, attempts, late_events, stall, two_daemons


def _ended(
    path: Path,
    key: str,
    *,
    answered: bool,
    cause: int = 16,
    amd: tuple[str, str] | None = None,
    talk: float = 20,
) -> None:
    now = time.time()
    MasterCsv(path).write(
        CallRecord(
            channel="Local/x@callee-sim-00000001",
            number="13800138000",
            caller_id="4006589888",
            account=key,
            uniqueids=(key, f"{key}-2"),
            start=now - 30,
            answer=now - talk if answered else None,
            end=now,
            cause=cause,
            amd=amd,
        )
    )


def _reap(peer: Rig, records: CdrFile) -> tuple[int, int]:
    records.refresh()
    with peer.engine.begin() as conn:
        return settle_orphans(
            conn,
            instance_id="b",
            alive=alive_instances(conn),
            live_keys=set(),
            runtime_for={peer.runtime.id: peer.runtime}.get,
            adopt=None,
            now=peer.clock.now(),
            records=records,
        )


def test_orphans_are_settled_from_their_records_and_only_the_unrecorded_interrupted(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [f"c{i},n{i},{ANSWERS.format(i)}" for i in range(3)]
    a, b = two_daemons(engine, tmp_path, rows)
    assert a.step() == 3
    by_digit = {r.number[-1]: r.key for r in attempts(engine)}
    master = tmp_path / "Master.csv"
    _ended(master, by_digit["0"], answered=True)
    _ended(master, by_digit["1"], answered=False, cause=17)
    stall(engine, "a")  # A is gone; its calls ended while no daemon listened
    assert _reap(b, CdrFile(master)) == (0, 1)
    outcomes = {r.number[-1]: r.outcome for r in attempts(engine)}
    assert outcomes == {"0": "answered", "1": "busy", "2": "interrupted"}
    # the answered contact is never dialled again; the busy one waits its spacing
    b.clock.advance(timedelta(days=2))
    b.step()
    redialled = [r.number[-1] for r in attempts(engine)][3:]
    assert "0" not in redialled


def test_a_machine_or_an_early_hangup_is_settled_from_its_records_verdict(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [f"c{i},n{i},{ANSWERS.format(i)}" for i in range(3)]
    a, b = two_daemons(engine, tmp_path, rows)
    assert a.step() == 3
    by_digit = {r.number[-1]: r.key for r in attempts(engine)}
    master = tmp_path / "Master.csv"
    _ended(master, by_digit["0"], answered=True, amd=("MACHINE", "LONGGREETING-1500-1500"))
    _ended(master, by_digit["1"], answered=True, amd=("HUMAN", "HUMAN-800-800"))
    _ended(master, by_digit["2"], answered=True, amd=("HANGUP", ""), talk=2)
    stall(engine, "a")
    assert _reap(b, CdrFile(master)) == (0, 0)
    got = {r.number[-1]: (r.outcome, r.amd_status, r.amd_cause) for r in attempts(engine)}
    assert got == {
        "0": ("answering_machine", "MACHINE", "LONGGREETING-1500-1500"),
        "1": ("answered", "HUMAN", "HUMAN-800-800"),
        "2": ("early_hangup", "HANGUP", None),
    }
    # a person was reached on "1" only: only that contact is complete
    with engine.connect() as conn:
        q = select(tables.contacts.c.external_id, tables.contacts.c.state)
        states = {r.external_id: r.state for r in conn.execute(q)}
    assert states["c1"] == ContactState.completed
    assert states["c0"] != ContactState.completed


def test_a_record_after_an_interrupted_settlement_corrects_it_once(
    engine: Engine, tmp_path: Path
) -> None:
    a, b = two_daemons(engine, tmp_path, [f"c1,n1,{ANSWERS.format(0)}"])
    assert a.step() == 1
    master = tmp_path / "Master.csv"
    records = CdrFile(master)
    stall(engine, "a")
    assert _reap(b, records) == (0, 1)  # no record yet (e.g. CDR batch mode): interrupted
    (first,) = attempts(engine)
    assert first.outcome == "interrupted"
    _ended(master, first.key, answered=True)
    fresh = records.refresh()
    assert first.key in fresh
    for _ in range(2):  # the same record seen twice corrects once
        with engine.begin() as conn:
            correct_from_records(
                conn,
                fresh,
                records,
                runtime_for={b.runtime.id: b.runtime}.get,
                now=b.clock.now(),
            )
    (first,) = attempts(engine)
    assert (first.outcome, first.next_dial_at) == ("answered", None)
    (event,) = late_events(engine)
    assert (event["from"], event["to"], event["rewound"]) == ("interrupted", "answered", True)
    b.clock.advance(timedelta(days=2))
    assert b.step() == 0
    assert len(attempts(engine)) == 1
