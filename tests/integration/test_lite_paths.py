"""The light verbs on SQLite: the ``sqlite3`` path and the SQLAlchemy path give the same.

Reads run both ways on one database; writes run on two copies of one database, one
way each, and the copies must then hold the same rows (every table, as SQLite dumps
it). The CLI runs both ways on one file too: a plain ``sqlite:///`` URL takes
``sqlite3``, the same URL with a query string takes SQLAlchemy.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from dialerd.actions import control, dnc_add, overview
from dialerd.actions.dnc_targets import Target
from dialerd.actions.port import Database, Runner
from dialerd.cli import cli
from dialerd.db.corerunner import CoreDatabase
from dialerd.db.engine import make_engine
from dialerd.db.lite.database import LiteDatabase
from dialerd.db.migrate import upgrade
from dialerd.db.tables import attempts, instances, phone_numbers
from dialerd.process import heartbeat

DEMO = Path(__file__).resolve().parents[2] / "campaigns" / "demo" / "demo.toml"
NOW = datetime.now(UTC).replace(microsecond=0)


def _cli(url: str, *args: str) -> Result:
    """``dialerd ARGS`` on ``url``; a daemon that beat in the last 6 hours counts as alive."""
    env = {"DIALERD_DATABASE__URL": url, "DIALERD_SCHEDULER__HEARTBEAT_S": "7200"}
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A migrated SQLite file: the demo campaign, daemons, a dial in flight, numbers due."""
    path = tmp_path / "source.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    assert _cli(url + "?timeout=30", "campaign", "load", str(DEMO)).exit_code == 0
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        for name, beat in (("a-1", NOW), ("b-2", NOW - timedelta(hours=4))):
            heartbeat.register_instance(session, instance_id=name, pbx_kind="ami", now=beat)
            status = {"dial_rate": 1.5, "agents": [{"queue": "q", "ready": 2}]}
            heartbeat.beat(session, name, now=beat, pbx_up=True, in_flight=1, status=status)
        session.execute(update(instances).where(instances.c.id == "b-2").values(stopped_at=NOW))
        first = session.execute(phone_numbers.select().limit(2)).all()
        for n in first:
            session.execute(
                update(phone_numbers)
                .where(phone_numbers.c.id == n.id)
                .values(next_dial_at=NOW + timedelta(days=1))
            )
        session.execute(
            insert(attempts).values(
                key="k-1",
                campaign_id=first[0].campaign_id,
                contact_id=first[0].contact_id,
                phone_number_id=first[0].id,
                round=1,
                position=1,
                number=first[0].e164,
                instance_id="a-1",
                planned_at=NOW,
                claimed_at=NOW - timedelta(seconds=5),
            )
        )
    engine.dispose()
    return path


@pytest.fixture
def both(source: Path, tmp_path: Path) -> Iterator[tuple[Database, Database, Path, Path]]:
    """The ``sqlite3`` database on one copy, the SQLAlchemy one on another."""
    lite_path, core_path = tmp_path / "lite.db", tmp_path / "core.db"
    for copy in (lite_path, core_path):
        shutil.copyfile(source, copy)
    lite = LiteDatabase(lite_path, busy_timeout_s=30)
    core = CoreDatabase(make_engine(f"sqlite:///{core_path}"))
    yield lite, core, lite_path, core_path
    lite.close()
    core.close()


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _status(run: Runner, now: datetime) -> tuple[Any, ...]:
    daemons = [tuple(row) for row in overview.daemons(run, since=now - timedelta(days=1))]
    return daemons, overview.summaries(run, now=now), overview.calendar_warnings(run, now=now)


def test_status_reads_the_same_both_ways(source: Path) -> None:
    lite = LiteDatabase(source, busy_timeout_s=30)
    core = CoreDatabase(make_engine(f"sqlite:///{source}"))
    try:
        lite.require_current()
        core.require_current()
        later = datetime.now(UTC) + timedelta(minutes=10)  # the demo's numbers are due
        with lite.reading() as a, core.reading() as b:
            found, expected = _status(a, later), _status(b, later)
            named = overview.summaries(a, now=later, name="demo")
            assert named == overview.summaries(b, now=later, name="demo")
        assert found == expected
        daemons, summaries, warnings = found
        assert [d[0] for d in daemons] == ["a-1", "b-2"]
        assert summaries[0].in_flight == 1 and 0 < summaries[0].due_now < 30
        assert summaries[0].last_activity == NOW - timedelta(seconds=5)
        assert warnings  # the demo names CN: the holiday notice
        assert abs(lite.now() - core.now()) < timedelta(minutes=5)
    finally:
        lite.close()
        core.close()


Write = Callable[[Runner], object]
WRITES: dict[str, list[Write]] = {
    "pause, pause again, resume, stop": [
        lambda r: control.change_state(r, "demo", "pause", who="ops@host", now=NOW),
        lambda r: control.change_state(r, "demo", "pause", who="ops@host", now=NOW),
        lambda r: control.change_state(r, "demo", "resume", who="ops@host", now=NOW),
        lambda r: control.change_state(r, "demo", "stop", who="ops@host", now=NOW),
    ],
    "dnc add: number, prefix, contact, again, in a campaign": [
        lambda r: _add(r, Target("number", "+8613800138000"), None),
        lambda r: _add(r, Target("prefix", "+86139*"), None),
        lambda r: _add(r, Target("contact", "C0007"), "demo"),
        lambda r: _add(r, Target("number", "+8613800138000"), None),
        lambda r: _add(r, Target("prefix", "+86137*"), "demo"),
        lambda r: _add(r, Target("number", "+8613700000000"), "demo"),
    ],
}


def _add(run: Runner, target: Target, campaign: str | None) -> dnc_add.Change:
    return dnc_add.add(
        run, target, campaign=campaign, reason="asked", source="cli", who="ops@host", now=NOW
    )


@pytest.mark.parametrize("name", sorted(WRITES))
def test_writes_leave_the_same_rows_both_ways(
    both: tuple[Database, Database, Path, Path], name: str
) -> None:
    lite, core, lite_path, core_path = both
    assert _dump(lite_path) == _dump(core_path)
    for write in WRITES[name]:
        with lite.writing() as a:
            found = write(a)
        with core.writing() as b:
            expected = write(b)
        assert found == expected
    assert _dump(lite_path) == _dump(core_path)
    assert _dump(lite_path) != _dump(lite_path.with_name("source.db"))


def test_an_error_rolls_the_transaction_back(both: tuple[Database, Database, Path, Path]) -> None:
    lite, _, lite_path, _ = both
    before = _dump(lite_path)
    with pytest.raises(control.InvalidTransition), lite.writing() as run:
        control.change_state(run, "demo", "stop", who="ops", now=NOW)
        control.change_state(run, "demo", "pause", who="ops", now=NOW)  # stopped: refused
    assert _dump(lite_path) == before


def _same_output(url: str, *args: str) -> Result:
    """Run ``args`` on a copy each way; the outputs and the rows left must be the same."""
    path = Path(url.removeprefix("sqlite:///"))
    copy = path.with_name("core-" + path.name)
    shutil.copyfile(path, copy)
    found = _cli(url, *args)
    expected = _cli(f"sqlite:///{copy}?timeout=30", *args)
    assert (found.exit_code, found.stdout, found.stderr) == (
        expected.exit_code,
        expected.stdout,
        expected.stderr.replace(f"{copy}?timeout=30", str(path)),
    )
    assert _undated(_dump(path)) == _undated(_dump(copy))  # each run reads its own clock
    return found


def _undated(lines: list[str]) -> list[str]:
    return [re.sub(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?'", "'T'", line) for line in lines]


def test_the_cli_prints_the_same_both_ways(source: Path) -> None:
    url = f"sqlite:///{source}"
    status = _same_output(url, "status")
    assert status.exit_code == 0 and "a-1" in status.stdout  # a-1 beat just now
    assert (
        _same_output(url, "campaign", "pause", "demo").stdout == "campaign demo: active -> paused\n"
    )
    assert _same_output(url, "campaign", "pause", "demo").exit_code == 0
    assert _same_output(url, "campaign", "resume", "demo").exit_code == 0
    assert _same_output(url, "campaign", "pause", "nope").exit_code == 1
    assert _same_output(url, "dnc", "add", "+86 139 0000 0001", "--reason", "r").exit_code == 0
    assert _same_output(url, "dnc", "add", "0755*", "--campaign", "demo").exit_code == 0
    assert _same_output(url, "dnc", "add", "12", "--campaign", "demo").exit_code == 1
    assert _same_output(url, "dnc", "add", "+8613900000001", "--campaign", "nope").exit_code == 1


def test_no_daemon_alive_is_exit_3_both_ways(source: Path) -> None:
    conn = sqlite3.connect(source)
    conn.execute("DELETE FROM instances")
    conn.commit()
    conn.close()
    url = f"sqlite:///{source}"
    assert _same_output(url, "status").exit_code == 3
    assert _same_output(url, "status", "--json").exit_code == 3


def test_a_missing_or_unmigrated_file_is_exit_5_both_ways(tmp_path: Path) -> None:
    for args in (["status"], ["campaign", "pause", "demo"], ["dnc", "add", "+8613900000001"]):
        found = _cli(f"sqlite:///{tmp_path / 'new' / 'lite.db'}", *args)
        expected = _cli(f"sqlite:///{tmp_path / 'new' / 'core.db'}?timeout=30", *args)
        assert found.exit_code == expected.exit_code == 5
        assert found.stderr.split(" (database ")[0] == expected.stderr.split(" (database ")[0]
        assert (tmp_path / "new" / "lite.db").is_file()  # created as SQLAlchemy creates it


def test_status_reads_while_another_connection_holds_the_write_lock(
    source: Path, tmp_path: Path
) -> None:
    """``status`` begins a deferred transaction: a daemon writing does not hold it up."""
    config = tmp_path / "dialerd.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{source}"\nbusy_timeout_s = 0.05\n'
        "[scheduler]\nheartbeat_s = 7200\n"  # a-1, seen at NOW, counts as alive
    )
    blocker = sqlite3.connect(source, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # a daemon in the middle of a write
    try:
        status = CliRunner().invoke(cli, ["--config", str(config), "status"])
        assert status.exit_code == 0, status.output
        paused = CliRunner().invoke(cli, ["--config", str(config), "campaign", "pause", "demo"])
        assert paused.exit_code == 6 and "database locked" in paused.stderr
    finally:
        blocker.close()
