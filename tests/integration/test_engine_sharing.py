"""Campaigns sharing one PBX on the simulator rig: capacity by what each has due.

The audit's cases: an empty priority-10 campaign held a priority-0 campaign at
0 dials, and weights 3:1 gave 3:2.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from dialerd.db.models import Attempt
from tests.enginekit import make_rig, write_campaign


def _rows(prefix: str, n: int, first: int) -> list[str]:
    # last digit 2: no answer, each call holds a channel for the 30 s ring timeout
    return [f"{prefix}{i},n{i},138{first + i:07d}2" for i in range(n)]


def _dials(engine: Engine) -> Counter[int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Attempt.campaign_id, func.count()).group_by(Attempt.campaign_id)
        ).all()
    return Counter({int(c): int(n) for c, n in rows})


def test_an_idle_high_priority_campaign_leaves_the_pbx_to_the_others(
    engine: Engine, tmp_path: Path
) -> None:
    urgent = write_campaign(
        tmp_path / "urgent",
        ["u1,n,13800138002"],
        name="urgent",
        dialing="priority = 10\n",
        max_concurrent=50,
    )
    bulk = write_campaign(tmp_path / "bulk", _rows("b", 40, 1000), name="bulk", max_concurrent=50)
    rig = make_rig(engine, urgent, more=[bulk], max_channels=10)
    # the urgent campaign's one contact first, the rest of the PBX to the priority-0 one
    assert rig.step() == 10
    assert rig.pbx.in_flight() == 10
    dials = _dials(engine)
    assert dials[rig.runtimes["urgent"].id] == 1 and dials[rig.runtimes["bulk"].id] == 9


def test_an_empty_priority_ten_campaign_takes_nothing(engine: Engine, tmp_path: Path) -> None:
    # the shipped new-policy-callback has priority 10 and may well be empty
    empty = write_campaign(tmp_path / "empty", [], name="empty", dialing="priority = 10\n")
    bulk = write_campaign(tmp_path / "bulk", _rows("b", 40, 1000), name="bulk", max_concurrent=50)
    rig = make_rig(engine, empty, more=[bulk], max_channels=10)
    assert rig.step() == 10  # full PBX capacity at the first tick
    assert rig.pbx.in_flight() == 10


@pytest.mark.slow
@pytest.mark.timeout(360)  # a minute of ticks: 3.6 s idle, 105 s seen on PostgreSQL under load
def test_weights_three_to_one_hold_over_a_minute(engine: Engine, tmp_path: Path) -> None:
    heavy = write_campaign(
        tmp_path / "heavy",
        _rows("h", 300, 1000),
        name="heavy",
        dialing="weight = 3\n",
        max_concurrent=500,
    )
    light = write_campaign(
        tmp_path / "light", _rows("l", 300, 5000), name="light", max_concurrent=500
    )
    # the PBX's rate is the bottleneck: 4 dials a second between the two
    rig = make_rig(engine, heavy, more=[light], max_channels=1000, calls_per_second=4)
    end = rig.clock.now() + timedelta(minutes=1)
    while rig.clock.now() < end:  # ticks of 0.2 s on the virtual clock
        rig.step()
        rig.clock.advance(timedelta(seconds=0.2))
    dials = _dials(engine)
    got_heavy, got_light = dials[rig.runtimes["heavy"].id], dials[rig.runtimes["light"].id]
    assert 230 <= got_heavy + got_light <= 240  # the PBX was never idle while work was due
    assert abs(got_heavy / got_light - 3) <= 0.3  # 3:1 within 10 %
