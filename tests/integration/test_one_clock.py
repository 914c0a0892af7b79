"""One clock: due times and spacing follow the database's clock, not a host's wall clock."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.exc import DBAPIError

import dialerd.domain.clock as clock_module
from dialerd.app import assemble
from dialerd.campaignfile.loader import load_file
from dialerd.db.clock import database_now, sample_database_now
from dialerd.db.engine import make_engine
from dialerd.db.failures import database_error, is_transient
from dialerd.db.models import PhoneNumber
from dialerd.domain.clock import AnchoredClock, SystemClock, VirtualClock
from dialerd.domain.ports import Clock
from dialerd.engine.campaigns import install
from dialerd.engine.parts import Parts
from dialerd.errors import DatabaseUnavailable
from dialerd.pbx.virtual import VirtualPbx
from tests.enginekit import rig_settings, write_campaign

STEP = timedelta(hours=1)


class _SteppedDatetime(datetime):
    """The host's wall clock after a forward step of an hour."""

    @classmethod
    def now(cls, tz: object = None) -> _SteppedDatetime:
        real = datetime.now(UTC) + STEP
        return cls.fromtimestamp(real.timestamp(), tz=UTC)


def daemon_parts(engine: Engine, path: Path, instance: str, clock: Clock | None) -> Parts:
    pbx = VirtualPbx(VirtualClock(datetime.now(UTC)))
    parts = assemble(rig_settings(instance), clock=clock, telephony=pbx, database=engine)
    runtime = install(engine, load_file(path), now=parts.clock.now(), actor="test")
    parts.runtimes[runtime.id] = runtime
    pbx.start(parts.writer.submit)
    parts.dispatcher.set_campaigns({runtime.id: runtime})
    return parts


def test_a_host_clock_stepped_an_hour_does_not_make_a_number_due_early(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_campaign(tmp_path, ["c1,n1,13800138001"])
    parts = daemon_parts(engine, path, "db-clock", None)  # the default: the database's clock
    assert parts.clock_sync is not None
    # the number is inside its spacing: due 30 minutes from now by the database's clock
    with engine.begin() as conn:
        due = database_now(conn) + timedelta(minutes=30)
        conn.execute(update(PhoneNumber).values(next_dial_at=due))
    monkeypatch.setattr(clock_module, "datetime", _SteppedDatetime)
    assert SystemClock().now() > due  # the host's own clock now says it is due
    parts.clock_sync()  # a heartbeat after the step re-reads the database's time
    assert parts.clock.now() < due
    assert parts.dispatcher.tick().sent == 0
    # the same tick on the host's own clock would have dialled it inside its spacing
    host = daemon_parts(engine, path, "host-clock", SystemClock())
    assert host.dispatcher.tick().sent == 1


def test_the_anchored_clock_follows_the_database_between_syncs(engine: Engine) -> None:
    ticks = [100.0]
    clock = AnchoredClock(lambda: sample_database_now(engine), lambda: ticks[0])
    first = clock.now()
    ticks[0] += 90.0
    assert clock.now() - first == timedelta(seconds=90)
    drift = clock.sync()  # the database's clock moved about 0 s, not 90
    assert timedelta(seconds=-91) < drift < timedelta(seconds=-30)
    with engine.begin() as conn:
        assert abs(database_now(conn) - clock.now()) < timedelta(seconds=30)


def _unreachable_urls(tmp: Path) -> list[str]:
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return [
        f"sqlite:///{tmp}",  # a folder: SQLite cannot open it
        f"postgresql+psycopg://postgres@127.0.0.1:{port}/dialerd?connect_timeout=5",
    ]


def test_a_clock_sync_with_the_database_away_is_a_transient_error(tmp_path: Path) -> None:
    """The heartbeat re-reads the database's time first: an outage must read as one
    (retried), not as a crash that stops the daemon."""
    for url in _unreachable_urls(tmp_path):
        engine = make_engine(url)
        clock = AnchoredClock(partial(sample_database_now, engine), lambda: 0.0)
        with pytest.raises(DBAPIError) as caught:
            clock.sync()
        assert is_transient(caught.value), url
        assert isinstance(database_error(caught.value), DatabaseUnavailable)
        engine.dispose()
