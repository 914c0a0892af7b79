"""``dialerd dnc`` on SQLite and PostgreSQL: entries, their effect on the queue, import, list."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialerd.actions.dnc import DncInputError, parse_target, prefix_target
from dialerd.campaignfile.loader import load_file
from dialerd.cli import cli
from dialerd.db.models import Campaign, CampaignEvent, Contact, DncEntry, PhoneNumber

NOW = datetime.now(UTC).replace(microsecond=0)
EXAMPLE = load_file(Path(__file__).resolve().parents[2] / "campaigns" / "spot-check.toml")
DUE = NOW - timedelta(minutes=1)


@pytest.fixture
def config(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIALERD_DATABASE__URL", engine.url.render_as_string(hide_password=False))
    path = tmp_path / "dialerd.toml"
    path.write_text("[scheduler]\nheartbeat_s = 5\n")
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def _campaign(session: Session, name: str) -> Campaign:
    campaign = Campaign(
        name=name,
        config=EXAMPLE.model.model_dump(mode="json"),
        config_sha256="0" * 64,
        timezone="Asia/Shanghai",
        max_rounds=4,
        min_spacing_s=21600,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(campaign)
    session.flush()
    return campaign


def _contact(session: Session, campaign: Campaign, ext: str, *numbers: str) -> None:
    contact = Contact(campaign_id=campaign.id, external_id=ext, created_at=NOW, updated_at=NOW)
    session.add(contact)
    session.flush()
    for position, e164 in enumerate(numbers, start=1):
        session.add(
            PhoneNumber(
                contact_id=contact.id,
                campaign_id=campaign.id,
                position=position,
                e164=e164,
                raw=e164,
                next_dial_at=DUE if position == 1 else None,
            )
        )


@pytest.fixture
def seeded(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        renewals = _campaign(session, "renewals")
        survey = _campaign(session, "survey")
        _contact(session, renewals, "c1", "+8613800138000", "+8675512345678")
        _contact(session, renewals, "c2", "+8613900139000")
        _contact(session, survey, "c1", "+8613800138000")
        _contact(session, survey, "s2", "+8675587654321")


def states(engine: Engine) -> dict[tuple[str, str], tuple[str, bool]]:
    """(campaign, e164) → (state, queued?)."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                Campaign.name, PhoneNumber.e164, PhoneNumber.state, PhoneNumber.next_dial_at
            ).join(Campaign, Campaign.id == PhoneNumber.campaign_id)
        ).all()
    return {(c, e): (s, due is not None) for c, e, s, due in rows}


def contact_states(engine: Engine) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(campaign, external id) → (state, closed_reason)."""
    with Session(engine) as session:
        rows = session.execute(
            select(Campaign.name, Contact.external_id, Contact.state, Contact.closed_reason).join(
                Campaign, Campaign.id == Contact.campaign_id
            )
        ).all()
    return {(c, e): (s, r) for c, e, s, r in rows}


@pytest.mark.usefixtures("seeded")
def test_add_a_number_in_national_form_takes_it_out_of_every_campaign(
    config: Path, engine: Engine
) -> None:
    result = run(config, "dnc", "add", "138 0013 8000", "--reason", "complaint")
    assert result.exit_code == 0, result.output
    assert (
        "number +8613800138000: added; 2 number(s) taken out of the queue, 1 contact(s) moved"
        in (result.output)
    )
    got = states(engine)
    assert got[("renewals", "+8613800138000")] == ("dnc", False)
    assert got[("survey", "+8613800138000")] == ("dnc", False)
    assert got[("renewals", "+8613900139000")] == ("dialable", True)
    # the contact goes on with its next number; one with no other number pauses
    assert got[("renewals", "+8675512345678")] == ("dialable", True)
    people = contact_states(engine)
    assert people[("renewals", "c1")] == ("active", None)
    assert people[("survey", "c1")][0] == "paused"
    again = run(config, "dnc", "add", "+8613800138000", "--reason", "complaint")
    assert "already present" in again.output
    with Session(engine) as session:
        entries = session.scalars(select(DncEntry)).all()
        events = session.scalars(select(CampaignEvent.kind)).all()
    assert [(e.kind, e.value, e.campaign_id, e.reason) for e in entries] == [
        ("number", "+8613800138000", None, "complaint")
    ]
    assert events == ["dnc_added"]


@pytest.mark.usefixtures("seeded")
def test_prefix_and_contact_entries_scoped_to_one_campaign(config: Path, engine: Engine) -> None:
    result = run(config, "dnc", "add", "0755*", "--campaign", "survey")
    assert result.exit_code == 0, result.output
    assert "prefix +86755*: added; 1 number(s)" in result.output
    result = run(config, "dnc", "add", "--contact", "c1", "--campaign", "renewals")
    assert "contact c1: added; 2 number(s)" in result.output
    got = states(engine)
    assert got[("survey", "+8675587654321")] == ("dnc", False)
    assert got[("renewals", "+8675512345678")] == ("dnc", False)
    assert got[("renewals", "+8613800138000")] == ("dnc", False)
    assert got[("survey", "+8613800138000")] == ("dialable", True)
    assert contact_states(engine)[("renewals", "c1")][0] == "paused"


@pytest.mark.usefixtures("seeded")
def test_remove_requeues_a_contact_paused_for_lack_of_numbers(config: Path, engine: Engine) -> None:
    run(config, "dnc", "add", "+8613800138000", "--campaign", "survey")
    assert contact_states(engine)[("survey", "c1")][0] == "paused"
    result = run(config, "dnc", "remove", "+8613800138000", "--campaign", "survey")
    assert result.exit_code == 0, result.output
    assert "1 number(s) dialable again, 1 contact(s) queued again" in result.output
    assert states(engine)[("survey", "+8613800138000")] == ("dialable", True)
    assert contact_states(engine)[("survey", "c1")] == ("active", None)


@pytest.mark.usefixtures("seeded")
def test_remove_gives_back_only_numbers_nothing_else_blocks(config: Path, engine: Engine) -> None:
    run(config, "dnc", "add", "+8613800138000")
    run(config, "dnc", "add", "--contact", "c1", "--campaign", "survey")
    result = run(config, "dnc", "remove", "+8613800138000")
    assert result.exit_code == 0, result.output
    assert "1 number(s) dialable again" in result.output
    got = states(engine)
    assert got[("renewals", "+8613800138000")] == ("dialable", False)
    assert got[("survey", "+8613800138000")] == ("dnc", False)
    missing = run(config, "dnc", "remove", "+8613800138000")
    assert missing.exit_code == 1
    assert "not on the do-not-call list" in missing.output


@pytest.mark.usefixtures("seeded")
def test_bad_input_is_one_line(config: Path) -> None:
    bad = run(config, "dnc", "add", "12ab")
    assert bad.exit_code == 1
    assert bad.output.startswith("dialerd: 12ab: character 'a' is not allowed")
    assert run(config, "dnc", "add", "+86*").exit_code == 1
    assert run(config, "dnc", "add", "--campaign", "nope", "+8613800138000").exit_code == 1
    both = run(config, "dnc", "add", "+8613800138000", "--contact", "c1")
    assert both.exit_code == 2


@pytest.mark.usefixtures("seeded")
def test_import_adds_valid_rows_and_reports_the_others(
    config: Path, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "dnc.csv"
    path.write_text(
        "\ufeffnumber,prefix,contact,reason,campaign\n"
        "13900139000,,,投诉,\n"
        ",0755*,,,survey\n"
        ",,s2,,survey\n"
        "13900139000,,,dup,\n"
        "not-a-number,,,,\n"
        ",,,,\n"
        "+8613800138000,,,,nope\n"
        "13800138000,138,,,\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "dnc", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}: 8 rows, 3 added, 1 already present, 4 rejected" in result.stdout
    assert result.stderr.splitlines() == [
        f"{path}:6: number: character 'n' is not allowed (digits, spaces and + - ( ) . only)",
        f"{path}:7: number: give exactly one of number, prefix or contact",
        f"{path}:8: campaign: no campaign named 'nope'",
        f"{path}:9: number/prefix: give exactly one of number, prefix or contact",
    ]
    got = states(engine)
    assert got[("renewals", "+8613900139000")] == ("dnc", False)
    assert got[("survey", "+8675587654321")] == ("dnc", False)
    assert got[("renewals", "+8675512345678")] == ("dialable", False)
    with Session(engine) as session:
        sources = set(session.scalars(select(DncEntry.source)))
    assert sources == {"import:dnc.csv"}


@pytest.mark.usefixtures("seeded")
def test_list_formats(config: Path) -> None:
    run(config, "dnc", "add", "+8613800138000", "--reason", "complaint")
    run(config, "dnc", "add", "0755*", "--campaign", "survey", "--reason", "=HYPERLINK(A1)")
    table = run(config, "dnc", "list").output.splitlines()
    assert table[0].split() == ["KIND", "VALUE", "CAMPAIGN", "REASON", "SOURCE", "CREATED_AT"]
    assert len(table) == 3
    out = run(config, "dnc", "list", "--format", "csv").stdout_bytes
    assert out.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the file as UTF-8
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8-sig"), newline="")))
    # the shared writer: formulas defused (E.164's leading + too), kinds labelled in Chinese
    assert [(r["kind"], r["kind_zh"], r["value"], r["campaign"], r["reason"]) for r in rows] == [
        ("number", "号码", "'+8613800138000", "", "complaint"),
        ("prefix", "号段", "'+86755*", "survey", "'=HYPERLINK(A1)"),
    ]
    doc = json.loads(
        run(config, "dnc", "list", "--campaign", "renewals", "--format", "json").output
    )
    assert [d["value"] for d in doc] == ["+8613800138000"]
    assert doc[0]["reason"] == "complaint"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86755*", "+86755*"),
        ("0755*", "+86755*"),
        ("0086 755*", "+86755*"),
        ("138*", "+86138*"),
        ("+86 (755) 12*", "+8675512*"),
    ],
)
def test_prefix_forms(raw: str, expected: str) -> None:
    assert prefix_target(raw, "CN").value == expected
    assert parse_target(raw, "CN").kind == "prefix"


@pytest.mark.parametrize("raw", ["*", "+8*", "75a*", "+1234567890123456*"])
def test_bad_prefixes(raw: str) -> None:
    with pytest.raises(DncInputError):
        prefix_target(raw, "CN")


@pytest.mark.usefixtures("seeded")
def test_a_prefix_without_its_star_is_refused_with_a_hint(
    config: Path, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "dnc.csv"
    path.write_text("prefix,reason\n86755,x\n0755,y\n+86755*,z\n", encoding="utf-8")
    result = run(config, "dnc", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"{path}:2: prefix: a prefix ends with *; did you mean 86755* "
        "(read as +8686755*) or +86755*?",
        f"{path}:3: prefix: a prefix ends with *; did you mean 0755*?",
    ]
    assert "3 rows, 1 added, 0 already present, 2 rejected" in result.stdout
    with Session(engine) as session:
        assert list(session.scalars(select(DncEntry.value))) == ["+86755*"]
    added = run(config, "dnc", "add", "0755")
    assert added.exit_code == 1 and "Traceback" not in added.output
    assert "did you mean 0755*?" in added.output


@pytest.mark.usefixtures("seeded")
def test_hostile_rows_of_a_dnc_file_are_refused_one_by_one(
    config: Path, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "dnc.csv"
    path.write_bytes(
        b"number,contact,reason\n"
        b"13900139000,,a\n"
        b",c\x00x,nul\n"
        b"13700137000,,b\x00\n"
        b"13600136000,,"
        + b"r" * 140_000
        + b"\n"
        + "13500135000,,投诉\n".encode("gbk")
        + b"13400134000,,ok\n"
    )
    result = run(config, "dnc", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    errors = result.stderr.splitlines()
    assert [e.split(": ")[0:2] for e in errors] == [
        [f"{path}:3", "contact"],
        [f"{path}:4", "reason"],
        [f"{path}:5", "row"],
        [f"{path}:6", "encoding"],
    ]
    assert "NUL" in errors[0] and "field larger than field limit" in errors[2]
    with Session(engine) as session:
        assert sorted(session.scalars(select(DncEntry.value))) == [
            "+8613400134000",
            "+8613900139000",
        ]


def test_full_width_targets() -> None:
    assert parse_target("１３８００１３８０００", "CN").value == "+8613800138000"
    assert parse_target("０７５５＊", "CN").value == "+86755*"
