"""`dialerd simulate`'s stepped loop records what the engine, driven event by event, records.

The simulation moves its virtual clock at least ``STEP`` at a time (a step's results
in one write, its dials in one tick); the reference here drives the same parts as
the engine tests do, to every single result and due time. With the last-digit
callees (each number's behaviour fixed), every contact must end with the same
dials, outcomes and state.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dialerd.app import assemble
from dialerd.campaignfile.loader import load_file
from dialerd.db import tables
from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.domain.clock import VirtualClock
from dialerd.engine.simulation import _next_due, simulate, simulation_settings
from dialerd.pbx.scenario import Scenario
from dialerd.pbx.virtual import VirtualPbx
from tests.enginekit import MONDAY_10, make_rig, rig_settings, write_campaign

History = dict[str, tuple[str, str | None, list[tuple[int, int, str | None]]]]


def _history(engine: Engine) -> History:
    """external id -> (state, result, [(round, position, outcome) per dial])."""
    ct, at = tables.contacts, tables.attempts
    with engine.connect() as conn:
        contacts = {r.id: r for r in conn.execute(select(ct))}
        dials = conn.execute(
            select(at.c.contact_id, at.c.round, at.c.position, at.c.outcome).order_by(at.c.id)
        ).all()
    out: History = {c.external_id: (str(c.state), c.result, []) for c in contacts.values()}
    for d in dials:
        out[contacts[d.contact_id].external_id][2].append((d.round, d.position, d.outcome))
    return out


def _campaign(folder: Path) -> Path:
    # 30 contacts, two numbers each: every last digit, so every behaviour, on both
    rows = [f"T{i:03d},name,1380013{i:04d},1390013{(i * 7) % 10000:04d}" for i in range(30)]
    return write_campaign(folder, rows, max_concurrent=4, calls_per_second=1)


@pytest.mark.timeout(300)  # ~20 s; more with both cores busy
def test_the_stepped_simulation_records_what_the_engine_records(tmp_path: Path) -> None:
    path = _campaign(tmp_path / "campaign")

    simulated = make_engine(f"sqlite:///{tmp_path / 'simulated.db'}")
    upgrade(simulated)
    loaded = load_file(path)
    clock = VirtualClock(MONDAY_10)
    pbx = VirtualPbx(clock, Scenario())
    parts = assemble(
        simulation_settings(rig_settings("simulate"), loaded),
        clock=clock,
        telephony=pbx,
        database=simulated,
        monotonic=lambda: clock.now().timestamp(),
    )
    sim = simulate(parts, loaded, clock=clock, pbx=pbx)
    assert sim.stopped_because == "nothing left to dial"

    reference = make_engine(f"sqlite:///{tmp_path / 'engine.db'}")
    upgrade(reference)
    rig = make_rig(reference, path, scenario=Scenario())
    for _ in range(100_000):
        rig.step()
        now = rig.clock.now()
        due = _next_due(reference, rig.runtime.id)
        pending = rig.pbx.next_event_at()
        if due is not None and due <= now:
            due = now + timedelta(seconds=1)  # due, but no channel free: the next second
        following = min((t for t in (pending, due) if t is not None), default=None)
        if following is None:
            break
        rig.clock.advance_to(following)
    else:
        raise AssertionError("the reference loop did not finish")

    expected, got = _history(reference), _history(simulated)
    assert sum(len(d) for _, _, d in got.values()) == sim.dials > len(got)
    assert len({outcome for _, _, dials in got.values() for *_, outcome in dials}) >= 6
    assert got == expected
