"""Campaign files from disk into the ``campaigns`` table, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from dialerd.campaignfile.errors import CampaignFileError
from dialerd.campaignfile.loader import LoadedCampaign, check_file, load_file
from dialerd.cli import cli
from dialerd.db.models import Campaign, CampaignEvent, Contact
from dialerd.domain.states import CampaignState
from dialerd.engine.campaigns import IMPORT_LOCK, import_lists
from dialerd.engine.registry import load_directory, register
from dialerd.importer import import_contacts
from tests.conftest import REPO
from tests.enginekit import write_campaign

EXAMPLES = REPO / "campaigns"
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the example campaigns and their contact lists."""
    target = tmp_path / "campaigns"
    shutil.copytree(EXAMPLES, target)
    return target


def test_examples_load_cleanly() -> None:
    loaded, problems = load_directory(EXAMPLES)
    assert problems == []
    assert sorted(c.name for c in loaded) == [
        "new-policy-callback",
        "renewal-reminder",
        "satisfaction-survey",
        "spot-check",
    ]
    rounds = {c.name: c.model.dialing.max_rounds for c in loaded}
    assert rounds == {
        "new-policy-callback": 4,
        "renewal-reminder": 3,
        "satisfaction-survey": 3,
        "spot-check": 4,
    }
    for campaign in loaded:
        assert campaign.model.dialing.min_spacing == timedelta(hours=6)
        assert all(p.is_file() for p in campaign.contact_paths)
        assert len(campaign.sha256) == 64
        assert campaign.policy.max_rounds == rounds[campaign.name]
        assert campaign.calendar.holiday_country == "CN"
        cmcc = campaign.caller_ids.choose("+8613800138000", "China Mobile")
        assert cmcc[0] == "13910001000" and "@cmcc" in cmcc[1]
        assert campaign.caller_ids.choose("+8613000000000", None)[0] == "4006589888"


def test_missing_file() -> None:
    loaded, problems = check_file(Path("nowhere/x.toml"))
    assert loaded is None
    assert [str(p) for p in problems] == [
        "nowhere/x.toml:1: file: cannot read: No such file or directory"
    ]
    with pytest.raises(CampaignFileError, match=r"nowhere/x\.toml:1: file: cannot read"):
        load_file(Path("nowhere/x.toml"))


def test_missing_contact_list_names_its_line(folder: Path) -> None:
    (folder / "spot-check.csv").unlink()
    loaded, problems = check_file(folder / "spot-check.toml")
    assert loaded is None
    assert [(p.line, p.field) for p in problems] == [(15, "contacts[0]")]
    assert "no such file" in problems[0].message


def test_a_bad_file_never_stops_the_others(folder: Path) -> None:
    (folder / "a-broken.toml").write_text('name = "x\n', encoding="utf-8")
    (folder / "b-gbk.toml").write_bytes('name = "新契约"\n'.encode("gbk"))
    loaded, problems = load_directory(folder)
    assert len(loaded) == 4
    assert [(Path(fp.path).name, fp.problems[0].field) for fp in problems] == [
        ("a-broken.toml", "toml"),
        ("b-gbk.toml", "file"),
    ]


def test_duplicate_name_is_an_error_of_the_later_file(folder: Path) -> None:
    text = (folder / "spot-check.toml").read_text(encoding="utf-8")
    (folder / "z-copy.toml").write_text(text, encoding="utf-8")
    loaded, problems = load_directory(folder)
    assert [c.path.name for c in loaded] == [
        "new-policy-callback.toml",
        "renewal-reminder.toml",
        "satisfaction-survey.toml",
        "spot-check.toml",
    ]
    (only,) = problems
    assert [str(p) for p in only.problems] == [
        f'{folder / "z-copy.toml"}:13: name: campaign "spot-check" is already defined in '
        f"{folder / 'spot-check.toml'}"
    ]


def _events(session: Session, campaign_id: int) -> list[str]:
    rows = session.scalars(
        select(CampaignEvent)
        .where(CampaignEvent.campaign_id == campaign_id)
        .order_by(CampaignEvent.id)
    )
    return [e.kind for e in rows]


def test_register_inserts_then_keeps_then_updates(engine: Engine, folder: Path) -> None:
    path = folder / "new-policy-callback.toml"
    with Session(engine) as session, session.begin():
        row, kind = register(session, load_file(path), now=NOW, actor="test")
        assert kind == "campaign_loaded"
        assert (row.max_rounds, row.min_spacing_s, row.timezone) == (4, 21_600, "Asia/Shanghai")
        assert row.config["dialing"]["min_spacing"] == "6h"
        assert row.state == "active"
        row.state = CampaignState.paused  # as an operator would
    with Session(engine) as session, session.begin():
        _, kind = register(session, load_file(path), now=NOW, actor="test")
        assert kind == "campaign_unchanged"
    path.write_text(
        path.read_text(encoding="utf-8").replace("max_rounds = 4", "max_rounds = 5"),
        encoding="utf-8",
    )
    later = NOW + timedelta(hours=1)
    with Session(engine) as session, session.begin():
        row, kind = register(session, load_file(path), now=later, actor="test")
        assert kind == "campaign_updated"
        assert row.max_rounds == 5
        assert row.state == "paused", "a reload never changes what operators set"
        assert row.created_at == NOW and row.updated_at == later
    with Session(engine) as session:
        stored = session.scalars(select(Campaign)).one()
        assert _events(session, stored.id) == [
            "campaign_loaded",
            "campaign_unchanged",
            "campaign_updated",
        ]
        last = session.scalars(select(CampaignEvent).order_by(CampaignEvent.id.desc())).first()
        assert last is not None and last.details is not None
        assert last.details["changed"] == ["dialing"]
        assert last.details["sha256"] == stored.config_sha256


def _settings(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "dialerd.toml"
    path.write_text(f"[database]\nurl = {url!r}\n", encoding="utf-8")
    return path


def test_cli_validate_reports_every_problem(folder: Path) -> None:
    (folder / "z-bad.toml").write_text(
        (folder / "spot-check.toml")
        .read_text(encoding="utf-8")
        .replace('"spot-check"', '"z-bad"')
        .replace('ring_timeout = "30s"', 'ring_timeout = "30"'),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["campaign", "validate", str(folder)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"{folder / 'z-bad.toml'}:24: dialing.ring_timeout: " in "\n".join(lines)
    assert any(
        line.endswith("new-policy-callback.csv:18: external_id: duplicate external id")
        for line in lines
    )
    assert "campaign files: 4 valid, 1 error(s)" in result.stderr


def test_cli_validate_clean_file_exits_0(folder: Path, tmp_path: Path) -> None:
    (folder / "spot-check.csv").write_text(
        "external_id,name,phone1\nSC-1,Wang,13800138000\n", encoding="utf-8"
    )
    config = _settings(tmp_path, "sqlite:///" + str(tmp_path / "never-created.db"))
    args = ["--config", str(config), "campaign", "validate", str(folder / "spot-check.toml")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert not (tmp_path / "never-created.db").exists(), "validate writes nothing"


def test_cli_load_registers_and_imports(engine: Engine, folder: Path, tmp_path: Path) -> None:
    config = _settings(tmp_path, engine.url.render_as_string(hide_password=False))
    args = ["--config", str(config), "campaign", "load", str(folder)]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "new-policy-callback: loaded" in first.stdout
    assert "spot-check.csv: 18 contact(s), 42 number(s) loaded" in first.stdout
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert "spot-check: unchanged" in again.stdout
    assert "spot-check.csv: unchanged since its last import" in again.stdout
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 4
        # 20 rows per list; 2 or 3 per list refused (deliberately bad rows), none in the
        # GBK list of renewal-reminder, read through its [columns] table
        assert session.scalar(select(func.count()).select_from(Contact)) == 18 + 17 + 18 + 20


def test_cli_load_writes_nothing_when_a_file_is_bad(
    engine: Engine, folder: Path, tmp_path: Path
) -> None:
    (folder / "z-bad.toml").write_text('name = "z"\n', encoding="utf-8")
    config = _settings(tmp_path, engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(cli, ["--config", str(config), "campaign", "load", str(folder)])
    assert result.exit_code == 1
    assert 'z-bad.toml:1: timezone: required key "timezone" is missing' in result.stdout
    assert "nothing loaded" in result.stderr
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_the_examples_corruption_rate_counts_refused_records(
    engine: Engine, folder: Path, tmp_path: Path
) -> None:
    """Seed 003: useless records ÷ records received. spot-check.csv has 20 rows; two
    loaded no contact (SC-0008: no number; the second SC-0016: a duplicate row). Two
    more rows lost one number each (SC-0004, SC-0013) and one repeated a number (SC-0019):
    those contacts loaded, so they are not useless data."""
    config = _settings(tmp_path, engine.url.render_as_string(hide_password=False))
    loaded = CliRunner().invoke(cli, ["--config", str(config), "campaign", "load", str(folder)])
    assert loaded.exit_code == 0, loaded.output
    args = ["--config", str(config), "report", "spot-check", "--format", "json"]
    report = CliRunner().invoke(cli, args)
    assert report.exit_code == 0, report.output
    figures = json.loads(report.stdout)["figures"]
    assert (figures["account_size"], figures["useless_data"]) == (18, 2)
    assert figures["corruption_rate"] == pytest.approx(0.10)


def test_peers_starting_together_import_a_list_once(engine: Engine, tmp_path: Path) -> None:
    """A daemon that finds a peer importing the same list waits for it, then skips the list
    (it used to COPY the same rows at once and stop on a unique-key violation)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's write lock serialises imports")
    rows = [f"c{i},n{i},138001{i:05d}" for i in range(50)]
    loaded = load_file(write_campaign(tmp_path / "campaigns", rows))
    with Session(engine) as session:
        campaign_id = register(session, loaded, now=NOW, actor="test")[0].id
        session.commit()
    outcome: list[object] = []
    with engine.connect() as peer:  # a peer is importing: it holds the campaign's import lock
        peer.execute(select(func.pg_advisory_lock(IMPORT_LOCK, campaign_id)))
        late = threading.Thread(
            target=lambda: outcome.append(_import_or_error(engine, loaded, campaign_id))
        )
        late.start()
        _wait_for(lambda: _waiting_for_advisory_locks(engine) == 1)
        model = loaded.model
        summary = import_contacts(
            engine,
            campaign_id=campaign_id,
            path=loaded.contact_paths[0],
            region=model.region,
            default_timezone=model.timezone,
            now=NOW,
            actor="peer",
            columns=model.column_map(),
        )
        assert summary.loaded == 50
        peer.execute(select(func.pg_advisory_unlock(IMPORT_LOCK, campaign_id)))
        peer.commit()
    late.join(60)
    assert outcome == [[(loaded.contact_paths[0], None)]]  # skipped: already imported
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 50


def _import_or_error(engine: Engine, loaded: LoadedCampaign, campaign_id: int) -> object:
    try:
        return import_lists(engine, loaded, campaign_id, now=NOW, actor="late")
    except Exception as exc:  # reported to the test's thread
        return exc


def _waiting_for_advisory_locks(engine: Engine) -> int:
    with engine.connect() as conn:
        query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        return int(conn.execute(text(query)).scalar_one())


def _wait_for(condition: Callable[[], bool], deadline_s: float = 20.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.05)
