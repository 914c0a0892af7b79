"""``dialerd top``: the figures' query on both backends, and the screen under a real tmux."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from dialerd.actions.live import live_figures
from dialerd.actions.pace import set_pace
from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt, Campaign, CampaignEvent
from dialerd.domain.outcomes import info
from dialerd.process import heartbeat
from tests.enginekit import Rig, make_rig, write_campaign

ROWS = [f"c{i},n{i},1380013{i:04d}" for i in range(30)]


def _busy_rig(engine: Engine, tmp_path: Path, start: datetime) -> Rig:
    """30 contacts, 5 at a time: 5 dials ended, 5 in flight, the rest due."""
    rig = make_rig(engine, write_campaign(tmp_path, ROWS, max_concurrent=5), start=start)
    rig.step()
    rig.settle()
    rig.step()
    with Session(engine) as session, session.begin():
        heartbeat.register_instance(session, instance_id="desk-a", pbx_kind="ami", now=start)
        heartbeat.beat(
            session, "desk-a", now=start, pbx_up=True, in_flight=5, status={"dial_rate": 0.2}
        )
    return rig


def _outcomes(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(
            str(o)
            for o in conn.scalars(select(Attempt.outcome).where(Attempt.outcome.is_not(None)))
        )


def test_live_figures(engine: Engine, tmp_path: Path) -> None:
    start = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    rig = _busy_rig(engine, tmp_path, start)
    now = rig.clock.now()
    with Session(engine) as session:
        figures = live_figures(session, now=now, minutes=5, heartbeat_s=3600)
    (c,) = figures.campaigns
    assert (c.name, c.state, c.window_open) == ("test-campaign", "active", True)
    assert c.in_flight == rig.pbx.in_flight() == 5
    assert c.dials_per_minute == 10  # both batches started within the last minute
    assert c.outcomes == dict(_outcomes(engine)) and sum(c.outcomes.values()) == 5
    assert c.due_now == 20  # 30 imported, 10 claimed; the 5 results are not due again yet
    (d,) = figures.daemons
    assert (d.id, d.alive, d.pbx_up, d.dial_rate) == ("desk-a", True, True, 0.2)
    assert figures.pbx_up

    with Session(engine) as session, session.begin():
        set_pace(session, "test-campaign", {"max_concurrent": 2}, who="ops", now=now)
    with Session(engine) as session:
        later = live_figures(session, now=now + timedelta(minutes=10), heartbeat_s=5)
    (c,) = later.campaigns
    assert c.pace == {"max_concurrent": 2}
    assert (c.dials_per_minute, c.outcomes) == (0, {})  # nothing started in the window
    assert not later.daemons[0].alive and not later.pbx_up


TMUX = shutil.which("tmux")
DIALERD = Path(sys.executable).with_name("dialerd")


def _wait_for(
    what: str, check: Callable[[], bool], seconds: float = 60.0, show: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{show()}"
        time.sleep(0.1)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'dialerd.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (.ci/setup installs it)")
def test_top_under_tmux_shows_the_figures_and_pauses(sqlite_engine: Engine, tmp_path: Path) -> None:
    engine = sqlite_engine
    now = datetime.now(UTC)
    rig = _busy_rig(engine, tmp_path / "campaign", now)
    with engine.begin() as conn:  # dials "started" just now however slow this machine is
        conn.execute(update(Attempt).values(claimed_at=now + timedelta(minutes=10)))
    config = tmp_path / "dialerd.toml"
    url = f"sqlite:///{tmp_path / 'dialerd.db'}"
    config.write_text(f'[database]\nurl = "{url}"\n[scheduler]\nheartbeat_s = 3600\n')
    socket = f"dialerd-test-{uuid.uuid4().hex[:8]}"

    def tmux(*args: str) -> subprocess.CompletedProcess[str]:
        assert TMUX is not None
        return subprocess.run(
            [TMUX, "-L", socket, *args], capture_output=True, text=True, timeout=60
        )

    command = f"{DIALERD} --config {config} top --interval 0.3"
    assert tmux("new-session", "-d", "-s", "top", "-x", "200", "-y", "40", command).returncode == 0
    try:

        def screen() -> str:
            return tmux("capture-pane", "-p", "-t", "top").stdout

        def row() -> list[str]:
            line = next((ln for ln in screen().splitlines() if "test-campaign" in ln), "")
            return [cell.strip() for cell in line.split("│") if cell.strip()]

        _wait_for("the campaign row", lambda: len(row()) >= 6, show=screen)
        cells = row()
        outcomes = _outcomes(engine)
        assert cells[:6] == [
            "test-campaign",
            "active",
            "10",
            str(rig.pbx.in_flight()),
            "20",
            "open",
        ]
        for code, n in outcomes.items():
            assert f"{info(code).label_zh} {n}" in cells[-1]
        text = screen()
        assert "PBX up" in text and "desk-a" in text

        tmux("send-keys", "-t", "top", "p")
        _wait_for("the pause", lambda: _state(engine) == "paused")
        _wait_for("the paused row", lambda: row()[1:2] == ["paused"], show=screen)
        with Session(engine) as session:
            event = session.scalars(
                select(CampaignEvent).where(CampaignEvent.kind == "campaign_paused")
            ).one()
        assert "@" in event.actor  # user@host, as `dialerd campaign pause` records it

        tmux("send-keys", "-t", "top", "r")
        _wait_for("the resume", lambda: _state(engine) == "active")
        tmux("send-keys", "-t", "top", "q")
        _wait_for("top to quit", lambda: tmux("has-session", "-t", "top").returncode != 0)
    finally:
        tmux("kill-server")


def _state(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(select(Campaign.state)))
