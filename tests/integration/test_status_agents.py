"""`dialerd status` shows each queue's agents as the live daemons reported them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialerd.cli import cli
from dialerd.domain.agents import QueueCounts
from dialerd.process import heartbeat


@pytest.fixture
def config(engine: Engine, tmp_path: Path) -> Path:
    path = tmp_path / "dialerd.toml"
    url = engine.url.render_as_string(hide_password=False)
    path.write_text(f'[database]\nurl = "{url}"\n[scheduler]\nheartbeat_s = 5\n')
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def test_status_lists_agents_per_queue_of_live_daemons_only(config: Path, engine: Engine) -> None:
    now = datetime.now(UTC)
    team = QueueCounts(
        "callback-team", ready=3, talking=5, wrap_up=2, paused=1, waiting=4, occupancy=0.724
    )
    stale = QueueCounts("old-queue", ready=9)
    with Session(engine) as session, session.begin():
        for name in ("a-1", "b-2", "c-3"):
            heartbeat.register_instance(session, instance_id=name, pbx_kind="ami", now=now)
        agents = {"agents": [team.as_dict()]}
        heartbeat.beat(session, "a-1", now=now, pbx_up=True, in_flight=1, status=agents)
        heartbeat.beat(session, "b-2", now=now, pbx_up=True, in_flight=0, status={})
        gone = now - timedelta(seconds=60)
        status = {"agents": [stale.as_dict()]}
        heartbeat.beat(session, "c-3", now=gone, pbx_up=True, in_flight=0, status=status)
    result = run(config, "status")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    at = lines.index("agents:")
    assert lines[at + 1].split() == [
        "INSTANCE",
        "QUEUE",
        "READY",
        "ON",
        "CALL",
        "RINGING",
        "WRAP-UP",
        "PAUSED",
        "UNAVAILABLE",
        "WAITING",
        "OCCUPANCY",
        "(HOUR)",
    ]
    row = ["a-1", "callback-team", "3", "5", "0", "2", "1", "0", "4", "72", "%"]
    assert lines[at + 2].split() == row
    assert "old-queue" not in result.output
    doc = json.loads(run(config, "status", "--json").output)
    reported = {d["id"]: d["status"].get("agents") for d in doc["daemons"]}
    assert reported["a-1"] == [team.as_dict()]


def test_status_without_queues_prints_no_agent_table(config: Path, engine: Engine) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        heartbeat.register_instance(session, instance_id="a-1", pbx_kind="ami", now=now)
        heartbeat.beat(session, "a-1", now=now, pbx_up=True, in_flight=0, status={})
    result = run(config, "status")
    assert result.exit_code == 0 and "agents:" not in result.output


def test_counts_read_back_from_json_tolerate_bad_fields() -> None:
    doc = {"queue": "q", "ready": 2, "paused": "x", "nonsense": 1, "occupancy": "high"}
    assert QueueCounts.from_dict(doc) == QueueCounts("q", ready=2)
    assert QueueCounts.from_dict({"queue": "q", "occupancy": 0.5}).occupancy == 0.5
