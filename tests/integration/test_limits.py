"""The limits a tick reads: dials in flight per campaign and per daemon, the rate window."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select, update

from dialerd.db.models import Attempt
from dialerd.engine import limits
from tests.enginekit import make_rig, write_campaign


def test_in_flight_counts_every_daemon_per_campaign_and_this_one_in_all(
    engine: Engine, tmp_path: Path
) -> None:
    first = write_campaign(tmp_path / "a", [f"a{i},甲,1380013{i:04d}" for i in range(6)], name="a")
    second = write_campaign(tmp_path / "b", [f"b{i},乙,1390013{i:04d}" for i in range(4)], name="b")
    rig = make_rig(engine, first, more=[second])
    assert rig.step() == 10
    with engine.begin() as conn:
        ids = list(conn.execute(select(Attempt.id).order_by(Attempt.id)).scalars())
        # another daemon's dials, and two dials settled: out of every count
        conn.execute(update(Attempt).where(Attempt.id.in_(ids[:3])).values(instance_id="other"))
        conn.execute(update(Attempt).where(Attempt.id.in_(ids[-2:])).values(status="done"))
    with engine.connect() as conn:
        rows = conn.execute(
            select(Attempt.campaign_id, Attempt.instance_id).where(Attempt.status == "dialing")
        ).all()
        flying = limits.in_flight(conn, "test-1")
        assert flying.by_campaign == dict(Counter(cid for cid, _ in rows))
        assert flying.own == sum(1 for _, who in rows if who == "test-1") == 5
        assert limits.in_flight(conn, "nobody").own == 0
        claims = Counter(conn.execute(select(Attempt.campaign_id)).scalars())
        assert sorted(claims.values()) == [4, 6]
        now = rig.clock.now()
        for runtime in rig.runtimes.values():
            load = limits.campaign_load(conn, runtime.id, now - timedelta(seconds=1))
            claimed = limits.dials_since(conn, runtime.id, now - timedelta(seconds=1))
            assert load == (flying.by_campaign.get(runtime.id, 0), claimed)
            assert claimed == claims[runtime.id]  # claimed at ``now``: inside the window
            assert limits.campaign_load(conn, runtime.id, now)[1] == 0  # nothing after now
