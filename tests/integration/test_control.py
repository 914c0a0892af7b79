"""Control CLI and heartbeat on SQLite and PostgreSQL: list, status, pause/resume/stop."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import holidays
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialerd.actions import overview
from dialerd.actions.control import actor
from dialerd.campaignfile.loader import load_file
from dialerd.cli import cli
from dialerd.db.models import Attempt, Campaign, CampaignEvent, Contact, PhoneNumber, Round
from dialerd.domain.states import CampaignState
from dialerd.process import heartbeat

NOW = datetime.now(UTC).replace(microsecond=0)
EXAMPLE = load_file(Path(__file__).resolve().parents[2] / "campaigns" / "spot-check.toml")


@pytest.fixture
def config(engine: Engine, tmp_path: Path) -> Path:
    path = tmp_path / "dialerd.toml"
    url = engine.url.render_as_string(hide_password=False)
    path.write_text(f'[database]\nurl = "{url}"\n[scheduler]\nheartbeat_s = 5\n')
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def add_campaign(session: Session, name: str, state: str = "active") -> Campaign:
    campaign = Campaign(
        name=name,
        config=EXAMPLE.model.model_dump(mode="json"),
        config_sha256="0" * 64,
        timezone="Asia/Shanghai",
        max_rounds=4,
        min_spacing_s=6 * 3600,
        state=state,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(campaign)
    session.flush()
    return campaign


def add_contact(
    session: Session, campaign: Campaign, ext: str, state: str, due: datetime | None
) -> PhoneNumber:
    contact = Contact(
        campaign_id=campaign.id, external_id=ext, state=state, created_at=NOW, updated_at=NOW
    )
    session.add(contact)
    session.flush()
    number = PhoneNumber(
        contact_id=contact.id,
        campaign_id=campaign.id,
        position=1,
        e164=f"+861380013{ext.zfill(4)}",
        raw=ext,
        next_dial_at=due,
    )
    session.add(number)
    session.flush()
    return number


def add_attempt(
    session: Session, number: PhoneNumber, status: str, outcome: str | None, try_no: int = 1
) -> None:
    session.add(
        Attempt(
            key=f"{number.campaign_id}-{number.contact_id}-1-1-{try_no}",
            campaign_id=number.campaign_id,
            contact_id=number.contact_id,
            phone_number_id=number.id,
            round=1,
            position=1,
            try_no=try_no,
            number=number.e164,
            instance_id="host-1",
            status=status,
            planned_at=NOW - timedelta(minutes=5),
            claimed_at=NOW - timedelta(minutes=try_no),
            outcome=outcome,
        )
    )


@pytest.fixture
def seeded(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        renewals = add_campaign(session, "renewals")
        due = add_contact(session, renewals, "1", "active", NOW - timedelta(minutes=1))
        add_contact(session, renewals, "2", "active", NOW + timedelta(hours=2))
        done = add_contact(session, renewals, "3", "completed", None)
        add_attempt(session, done, "done", "completed")
        add_attempt(session, due, "done", "busy", try_no=2)
        add_attempt(session, due, "dialing", None, try_no=3)
        session.add_all(
            [
                Round(
                    campaign_id=renewals.id,
                    contact_id=done.contact_id,
                    round=1,
                    started_at=NOW,
                    ended_at=NOW,
                    result="completed",
                ),
                Round(campaign_id=renewals.id, contact_id=due.contact_id, round=1, started_at=NOW),
            ]
        )
        add_campaign(session, "survey", state="paused")


@pytest.mark.usefixtures("seeded")
def test_campaign_list(config: Path) -> None:
    result = run(config, "campaign", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["NAME", "STATE"]
    renewals = next(line for line in lines if line.startswith("renewals"))
    assert renewals.split()[:5] == ["renewals", "active", "3", "1", "1"]
    assert "active=2 completed=1" in renewals
    survey = next(line for line in lines if line.startswith("survey"))
    assert survey.split()[:5] == ["survey", "paused", "0", "0", "0"]


@pytest.mark.usefixtures("seeded")
def test_campaign_status(config: Path) -> None:
    result = run(config, "campaign", "status", "renewals")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "state      active" in out
    assert "due now    1" in out
    assert "later      1 (next due" in out
    assert "in flight  1" in out
    assert "round 1: started 2, ended 1  completed=1" in out
    assert "busy" in out and "completed" in out
    assert "windows    mon-fri 09:00-17:00 (Asia/Shanghai); " in out
    assert ("open now" in out) != ("closed, opens" in out)


@pytest.mark.usefixtures("seeded")
def test_unknown_campaign_is_one_clear_line(config: Path) -> None:
    result = run(config, "campaign", "status", "nope")
    assert result.exit_code == 1
    assert "no campaign named 'nope'" in result.output


@pytest.mark.usefixtures("seeded")
def test_pause_resume_stop_write_the_state_and_an_audit_row(config: Path, engine: Engine) -> None:
    assert run(config, "campaign", "pause", "renewals").output == (
        "campaign renewals: active -> paused\n"
    )
    assert "already paused" in run(config, "campaign", "pause", "renewals").output
    assert run(config, "campaign", "resume", "renewals").exit_code == 0
    assert run(config, "campaign", "stop", "renewals").exit_code == 0
    with Session(engine) as session:
        state = session.scalars(select(Campaign.state).where(Campaign.name == "renewals")).one()
        events = session.execute(
            select(CampaignEvent.kind, CampaignEvent.actor, CampaignEvent.details).order_by(
                CampaignEvent.id
            )
        ).all()
    assert state == "stopped"
    assert [e.kind for e in events] == ["campaign_paused", "campaign_resumed", "campaign_stopped"]
    assert {e.actor for e in events} == {actor()}
    assert "@" in actor()
    assert events[-1].details == {"from": "active", "to": "stopped"}


@pytest.mark.usefixtures("seeded")
def test_a_finished_campaign_cannot_be_resumed(config: Path, engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.scalars(
            select(Campaign).where(Campaign.name == "survey")
        ).one().state = CampaignState.finished
    result = run(config, "campaign", "resume", "survey")
    assert result.exit_code == 1
    assert "is finished: cannot resume it" in result.output


def test_status_exit_code_follows_the_heartbeats(config: Path, engine: Engine) -> None:
    result = run(config, "status")
    assert result.exit_code == 3
    assert "daemons: 0 alive" in result.output

    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        heartbeat.register_instance(session, instance_id="a-1", pbx_kind="ami", now=now)
        heartbeat.register_instance(session, instance_id="b-2", pbx_kind="ami", now=now)
        heartbeat.beat(session, "a-1", now=now, pbx_up=True, in_flight=4, status={"dial_rate": 2.5})
        # b-2 missed three heartbeats: it counts as gone
        heartbeat.beat(
            session, "b-2", now=now - timedelta(seconds=16), pbx_up=True, in_flight=0, status={}
        )
    result = run(config, "status")
    assert result.exit_code == 0, result.output
    assert "daemons: 1 alive" in result.output
    assert "ami up" in result.output
    assert "2.5" in result.output
    doc = json.loads(run(config, "status", "--json").output)
    assert {d["id"]: d["alive"] for d in doc["daemons"]} == {"a-1": True, "b-2": False}
    assert doc["daemons"][0]["in_flight"] == 4

    with Session(engine) as session, session.begin():
        heartbeat.mark_stopped(session, "a-1", now=datetime.now(UTC))
    result = run(config, "status")
    assert result.exit_code == 3
    assert "stopped" in result.output


def test_register_instance_reuses_the_row_after_a_restart(engine: Engine) -> None:
    t0 = datetime.now(UTC) - timedelta(hours=1)
    with Session(engine) as session, session.begin():
        heartbeat.register_instance(session, instance_id="a-1", pbx_kind="ami", now=t0)
        heartbeat.mark_stopped(session, "a-1", now=t0)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        row = heartbeat.register_instance(session, instance_id="a-1", pbx_kind="simulator", now=now)
        assert row.stopped_at is None
    with Session(engine) as session:
        alive = heartbeat.alive_instances(session, now=now, heartbeat_s=5)
        assert [(r.id, r.pbx_kind) for r in alive] == [("a-1", "simulator")]


def test_commands_refuse_an_unmigrated_database(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "dialerd.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n')
    result = run(path, "campaign", "list")
    assert result.exit_code == 5  # schema not current
    assert "dialerd db upgrade" in result.output


@pytest.mark.usefixtures("seeded")
def test_queue_gauges_for_the_metrics(engine: Engine) -> None:
    with Session(engine) as session:
        gauges = overview.queue_gauges(session, now=NOW)
    assert gauges == {"renewals": (1, 1), "survey": (0, 0)}


def test_status_warns_of_years_without_an_official_holiday_notice(
    config: Path, engine: Engine
) -> None:
    last = max(
        y
        for y in range(2020, 2041)
        if any(d.year == y for d in holidays.country_holidays("CN", years=y).weekend_workdays)
    )
    with Session(engine) as session, session.begin():
        open_ended = add_campaign(session, "renewals")
        open_ended.config = {**open_ended.config, "end": None}
        add_campaign(session, "archive", state="finished").config = open_ended.config
    with Session(engine) as session:
        late_in_year = datetime(last, 12, 6, tzinfo=UTC)
        found = overview.calendar_warnings(session, now=late_in_year)
        today = overview.calendar_warnings(session, now=datetime.now(UTC))
    assert list(found) == ["renewals"]
    assert str(last + 1) in found["renewals"]
    assert "holidays.open / holidays.closed" in found["renewals"]
    doc = json.loads(run(config, "status", "--json").output)
    assert doc["warnings"] == [{"campaign": k, "message": v} for k, v in today.items()]
    text = run(config, "status").output
    assert all(f"warning: {k}: {v}" in text for k, v in today.items())


@pytest.mark.usefixtures("seeded")
def test_the_actions_read_the_same_through_a_session_and_a_connection(engine: Engine) -> None:
    """The light verbs run the actions on a Core connection, the API and `top` on a session."""
    beat = NOW - timedelta(minutes=61)
    with Session(engine) as session, session.begin():
        heartbeat.register_instance(session, instance_id="a-1", pbx_kind="ami", now=beat)
        heartbeat.beat(session, "a-1", now=beat, pbx_up=True, in_flight=2, status={"x": [1]})
    columns = "id hostname pid version heartbeat_at stopped_at pbx_kind pbx_up in_flight status"
    since = NOW - timedelta(days=1)
    seen = []
    for db in (Session(engine), engine.connect()):  # one after the other: SQLite's write lock
        with db:
            daemons = overview.daemons(db, since=since)
            seen.append(
                (
                    overview.summaries(db, now=NOW),
                    overview.detail(db, "renewals", now=NOW),
                    overview.calendar_warnings(db, now=NOW),
                    [tuple(getattr(d, c) for c in columns.split()) for d in daemons],
                    [heartbeat.is_alive(d, now=NOW, heartbeat_s=5) for d in daemons],
                )
            )
    with Session(engine) as session:
        models = heartbeat.instances(session, since=since)
        assert seen[1][3] == [tuple(getattr(d, c) for c in columns.split()) for d in models]
    assert seen[0] == seen[1]
    assert seen[0][4] == [False]


@pytest.mark.usefixtures("seeded")
def test_status_prints_the_same_with_the_basic_settings_and_with_settings(
    config: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    beat = datetime.now(UTC) - timedelta(seconds=3630)  # "60m ago" for half a minute
    with Session(engine) as session, session.begin():
        heartbeat.register_instance(session, instance_id="a-1", pbx_kind="ami", now=beat)
    light = run(config, "status")
    monkeypatch.setenv("DIALERD_SCHEDULER__HEARTBEAT_S", "5.0e0")  # only Settings reads it
    full = run(config, "status")
    assert (light.exit_code, light.output) == (full.exit_code, full.output)
    assert "60m ago" in light.output
