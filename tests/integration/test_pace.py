"""Pace set through the database: the dispatcher follows it, reset and file edits end it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from dialerd.actions import pace
from dialerd.campaignfile.loader import check_file, load_file
from dialerd.cli import cli
from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import CampaignEvent, CampaignOverride
from dialerd.engine.campaigns import install
from tests.enginekit import MONDAY_10, Rig, make_rig, write_campaign
from tests.pgcluster import Cluster

ROWS = [f"c{i},n{i},1380013{i:04d}" for i in range(200)]


def _open_dials(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM attempts WHERE status = 'dialing'")
            ).scalar_one()
        )


def _set(engine: Engine, **values: object) -> pace.PaceChange:
    with Session(engine) as session, session.begin():
        return pace.set_pace(session, "test-campaign", values, who="ops@desk", now=MONDAY_10)


def _reset(engine: Engine, *keys: str) -> pace.PaceChange:
    with Session(engine) as session, session.begin():
        return pace.reset_pace(session, "test-campaign", keys, who="ops@desk", now=MONDAY_10)


def _dials_in_one_second(rig: Rig) -> int:
    """Dials sent over one virtual second of ticks (every 100 ms), calls then ended."""
    sent = 0
    for _ in range(10):
        sent += rig.step()
        rig.clock.advance(timedelta(milliseconds=100))
    rig.settle()
    return sent


def test_set_changes_the_dial_pace_and_reset_restores_it(engine: Engine, tmp_path: Path) -> None:
    path = write_campaign(tmp_path, ROWS, max_concurrent=200, calls_per_second=20)
    rig = make_rig(engine, path)
    assert _dials_in_one_second(rig) == 20  # the file's pace

    change = _set(engine, calls_per_second=2)
    assert change.changes == {"calls_per_second": (20.0, 2.0)}
    rig.clock.advance(timedelta(seconds=1))
    assert _dials_in_one_second(rig) == 2  # every tick reads the override

    _reset(engine, "calls_per_second")
    rig.clock.advance(timedelta(seconds=1))
    assert _dials_in_one_second(rig) == 20


def test_max_concurrent_override_holds_calls_in_flight(engine: Engine, tmp_path: Path) -> None:
    rig = make_rig(engine, write_campaign(tmp_path, ROWS, max_concurrent=20))
    _set(engine, max_concurrent=3)
    for _ in range(5):
        rig.step()
        rig.clock.advance(timedelta(seconds=1))
    assert rig.pbx.in_flight() == 3 == _open_dials(engine)
    _reset(engine)  # no keys: every override of the campaign
    rig.step()
    assert rig.pbx.in_flight() == 20


def test_values_are_checked_like_the_campaign_file(engine: Engine, tmp_path: Path) -> None:
    bad = write_campaign(tmp_path / "bad", ["c1,n,13800138000"], max_concurrent=0)
    _, problems = check_file(bad)
    file_message = next(p.message for p in problems if p.field == "dialing.max_concurrent")
    install(engine, load_file(write_campaign(tmp_path, ROWS)), now=MONDAY_10, actor="test")
    with pytest.raises(pace.PaceError) as caught:
        _set(engine, max_concurrent=0)
    assert str(caught.value) == f"dialing.max_concurrent: {file_message}"
    with pytest.raises(pace.PaceError, match=r"dialing\.ring_timeout: cannot be set here"):
        _set(engine, ring_timeout=5)
    with pytest.raises(pace.PaceError, match=r"dialing\.calls_per_second: .*number"):
        _set(engine, **pace.parse_assignments(["calls_per_second=fast"]))
    with Session(engine) as session:
        assert session.scalars(select(CampaignOverride)).all() == []


def test_an_edit_of_the_key_in_the_file_ends_the_override(engine: Engine, tmp_path: Path) -> None:
    path = write_campaign(tmp_path, ROWS, max_concurrent=20, calls_per_second=50)
    runtime = install(engine, load_file(path), now=MONDAY_10, actor="test")
    _set(engine, max_concurrent=5, calls_per_second=3)
    # another key edited: both overrides hold
    path.write_text(path.read_text().replace('min_spacing = "6h"', 'min_spacing = "5h"'))
    install(engine, load_file(path), now=MONDAY_10, actor="test")
    with engine.connect() as conn:
        assert pace.pace_overrides(conn) == {
            runtime.id: {"max_concurrent": 5, "calls_per_second": 3}
        }
    # max_concurrent edited in the file: that override ends, the other holds
    path.write_text(path.read_text().replace("max_concurrent = 20", "max_concurrent = 30"))
    install(engine, load_file(path), now=MONDAY_10, actor="test")
    with engine.connect() as conn:
        assert pace.pace_overrides(conn) == {runtime.id: {"calls_per_second": 3}}
    with Session(engine) as session, session.begin():
        assert pace.drop_stale(session, who="test", now=MONDAY_10) == [
            ("test-campaign", "max_concurrent")
        ]
    # the file back at its old value does not revive it
    path.write_text(path.read_text().replace("max_concurrent = 30", "max_concurrent = 20"))
    install(engine, load_file(path), now=MONDAY_10, actor="test")
    with engine.connect() as conn:
        assert pace.pace_overrides(conn) == {runtime.id: {"calls_per_second": 3}}
    with Session(engine) as session:
        kinds = session.scalars(
            select(CampaignEvent.kind).where(CampaignEvent.kind.like("pace_%"))
        ).all()
    assert kinds == ["pace_set", "pace_override_dropped"]


def test_a_daemon_reload_drops_the_override_its_file_changed(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_campaign(tmp_path, ROWS, max_concurrent=20)
    rig = make_rig(engine, path)
    _set(engine, max_concurrent=5)
    path.write_text(path.read_text().replace("max_concurrent = 20", "max_concurrent = 30"))
    runtime = install(engine, load_file(path), now=MONDAY_10, actor="test")
    rig.dispatcher.set_campaigns({runtime.id: runtime})  # what a SIGHUP reload does
    with Session(engine) as session:
        assert session.scalars(select(CampaignOverride)).all() == []
        event = session.scalars(
            select(CampaignEvent).where(CampaignEvent.kind == "pace_override_dropped")
        ).one()
    assert event.actor == "test-1"  # the daemon's instance id
    assert event.details == {"max_concurrent": {"override": 5, "file_was": 20, "file": 30}}


def _cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def test_cli_set_status_reset_and_audit(engine: Engine, tmp_path: Path) -> None:
    path = write_campaign(tmp_path / "c", ROWS, max_concurrent=20)
    config = tmp_path / "dialerd.toml"
    url = engine.url.render_as_string(hide_password=False)
    config.write_text(f'[database]\nurl = "{url}"\n')
    assert _cli(config, "campaign", "load", "--skip-contacts", str(path)).exit_code == 0

    out = _cli(
        config, "campaign", "set", "test-campaign", "max_concurrent=10", "calls_per_second=2"
    )
    assert out.exit_code == 0, out.output
    assert "max_concurrent 20 -> 10" in out.output and "calls_per_second 50.0 -> 2.0" in out.output
    status = _cli(config, "campaign", "status", "test-campaign").output
    assert "override   max_concurrent = 10 (file 20;" in status and "in force" in status

    bad = _cli(config, "campaign", "set", "test-campaign", "weight=0")
    assert bad.exit_code == 1
    assert "dialing.weight: Input should be greater than or equal to 1" in bad.output

    out = _cli(config, "campaign", "reset", "test-campaign", "max_concurrent")
    assert out.exit_code == 0 and "max_concurrent 10 -> 20 (the file's value)" in out.output
    assert "max_concurrent" not in _cli(config, "campaign", "status", "test-campaign").output

    # the file's own edit of a key ends its override at the next load
    path.write_text(path.read_text().replace("calls_per_second = 50", "calls_per_second = 40"))
    out = _cli(config, "campaign", "load", "--skip-contacts", str(path))
    assert "calls_per_second: its `campaign set` override ends" in out.output
    with Session(engine) as session:
        events = session.execute(
            select(CampaignEvent.kind, CampaignEvent.details)
            .where(CampaignEvent.kind.like("pace_%"))
            .order_by(CampaignEvent.id)
        ).all()
    assert [e.kind for e in events] == ["pace_set", "pace_reset", "pace_override_dropped"]
    assert events[0].details["max_concurrent"] == {"from": 20, "to": 10, "file": 20}


@pytest.fixture
def pg_engine(pg_cluster: Cluster) -> Iterator[Engine]:
    import uuid

    eng = make_engine(pg_cluster.create_database(f"t_{uuid.uuid4().hex[:12]}"))
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.mark.postgres
def test_two_daemons_on_postgresql_both_follow_the_override(
    pg_engine: Engine, tmp_path: Path
) -> None:
    path = write_campaign(tmp_path, ROWS, max_concurrent=40, calls_per_second=1000)
    a = make_rig(pg_engine, path, instance_id="a")
    b = make_rig(pg_engine, path, instance_id="b")
    _set(pg_engine, max_concurrent=6)
    for _ in range(3):
        a.step()
        b.step()
    assert a.pbx.in_flight() + b.pbx.in_flight() == 6 == _open_dials(pg_engine)
    _set(pg_engine, max_concurrent=10)
    b.step()  # b alone makes up the difference: it read the new value
    assert a.pbx.in_flight() + b.pbx.in_flight() == 10
    _reset(pg_engine)
    a.step()
    assert a.pbx.in_flight() + b.pbx.in_flight() == 40
