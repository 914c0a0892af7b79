"""Contact import into SQLite and PostgreSQL: rows, rejects, duplicates, DNC, re-import, CLI."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialerd.cli import cli
from dialerd.db.models import (
    Campaign,
    CampaignEvent,
    Contact,
    ContactImport,
    DncEntry,
    PhoneNumber,
)
from dialerd.importer.service import ImportSummary, import_contacts

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
HEADER = "external_id,name,phone1,phone2,phone2_third_party,not_before,appointment,priority,city\n"


def _campaign(engine: Engine, name: str = "renewals") -> int:
    with Session(engine) as session, session.begin():
        campaign = Campaign(
            name=name,
            description="",
            config={"region": "CN", "timezone": "Asia/Shanghai"},
            config_sha256="0" * 64,
            timezone="Asia/Shanghai",
            max_rounds=4,
            min_spacing_s=6 * 3600,
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(campaign)
        session.flush()
        return campaign.id


def _import(engine: Engine, campaign_id: int, path: Path, **kwargs: object) -> ImportSummary:
    return import_contacts(
        engine,
        campaign_id=campaign_id,
        path=path,
        region="CN",
        default_timezone="Asia/Shanghai",
        now=NOW,
        **kwargs,  # type: ignore[arg-type]
    )


def _numbers(engine: Engine, campaign_id: int) -> list[PhoneNumber]:
    with Session(engine) as session:
        query = (
            select(PhoneNumber)
            .join(Contact, Contact.id == PhoneNumber.contact_id)
            .where(PhoneNumber.campaign_id == campaign_id)
            .order_by(Contact.source_line, PhoneNumber.position)
        )
        return list(session.scalars(query))


def _rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "gb18030"])
def test_import_loads_contacts_and_queues_the_first_number(
    engine: Engine, tmp_path: Path, codec: str
) -> None:
    campaign_id = _campaign(engine)
    path = tmp_path / "list.csv"
    path.write_bytes(
        (
            HEADER
            + "C1,张三,+86 138 0013 8000,010-62345678,yes,,,3,北京\n"
            + "C2,李四,0086 13900139000,,,2026-11-24T09:00,,,\n"
            + "C3,王五,(021) 6234 5678,0755-1234 5678,,,2026-11-23 15:30,,\n"
            + "C4,赵六,013700137000,,,2026-11-20T09:00,,,\n"
        ).encode(codec)
    )
    summary = _import(engine, campaign_id, path)
    assert summary.as_dict()["loaded"] == 4 and summary.numbers == 6
    assert summary.rejects_file is None and summary.rejected == {}
    with Session(engine) as session:
        contacts = {c.external_id: c for c in session.scalars(select(Contact))}
    assert contacts["C1"].name == "张三" and contacts["C1"].data == {"city": "北京"}
    assert contacts["C1"].priority == 3 and contacts["C1"].state == "active"
    assert contacts["C1"].source_line == 2 and contacts["C1"].import_id == summary.import_id
    assert contacts["C3"].appointment_at == datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    rows = [
        (n.e164, n.position, n.number_type, n.third_party, n.next_dial_at, n.next_is_appointment)
        for n in _numbers(engine, campaign_id)
    ]
    assert rows == [
        ("+8613800138000", 1, "mobile", False, NOW, False),
        ("+861062345678", 2, "fixed_line", True, None, False),
        ("+8613900139000", 1, "mobile", False, datetime(2026, 11, 24, 1, tzinfo=UTC), False),
        ("+862162345678", 1, "fixed_line", False, datetime(2026, 11, 23, 7, 30, tzinfo=UTC), True),
        ("+8675512345678", 2, "fixed_line", False, None, False),
        ("+8613700137000", 1, "mobile", False, NOW, False),  # not_before in the past
    ]
    first = _numbers(engine, campaign_id)[0]
    assert first.carrier == "China Mobile" and first.priority == 3 and first.state == "dialable"


def test_bad_numbers_duplicates_and_injection_go_to_the_rejects_file(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_id = _campaign(engine)
    path = tmp_path / "list.csv"
    path.write_text(
        HEADER
        + "C1,a,13800138000,13800138000,,,,,\n"  # the same number twice in a contact
        + 'C2,b,"13900139000\r\nAction: Command",13900139001,,,,,\n'
        + "C3,c,12345,62345678,,,,,\n"  # nothing valid left
        + "C1,d,13700137000,,,,,,\n"  # the same external id again
        + "C5,e,138 0013 8000,13600136000,maybe,,,,\n"  # a bad flag refuses the row
        + "C6,f,138-0013-8000,13600136000,,,,,\n",  # a number of C1
        encoding="utf-8",
    )
    summary = _import(engine, campaign_id, path)
    assert summary.loaded == 3 and summary.numbers == 3
    assert summary.duplicates == 3
    assert summary.rejected == {
        "invalid_number": 2,
        "invalid_value": 1,
        "no_number_left": 1,
        "unsafe_characters": 1,
    }
    assert summary.rejects_file == str(tmp_path / "list.rejects.csv")
    rejects = _rejects(tmp_path / "list.rejects.csv")
    got = [(r["line"], r["external_id"], r["field"], r["reason"]) for r in rejects]
    assert got == [
        ("2", "C1", "phone2", "duplicate_number"),
        ("3", "C2", "phone1", "unsafe_characters"),
        ("5", "C3", "phone1", "invalid_number"),
        ("5", "C3", "phone2", "invalid_number"),
        ("5", "C3", "row", "no_number_left"),
        ("6", "C1", "external_id", "duplicate_external_id"),
        ("7", "C5", "phone2_third_party", "invalid_value"),
        ("8", "C6", "phone1", "duplicate_number"),
    ]
    assert rejects[1]["phone1"] == "13900139000\r\nAction: Command"
    assert rejects[0]["name"] == "a" and rejects[0]["city"] == ""
    kept = [(n.e164, n.position) for n in _numbers(engine, campaign_id)]
    assert kept == [("+8613800138000", 1), ("+8613900139001", 1), ("+8613600136000", 1)]
    assert all("\r" not in n.raw and "\n" not in n.raw for n in _numbers(engine, campaign_id))


def test_dnc_numbers_prefixes_and_contacts_are_suppressed(engine: Engine, tmp_path: Path) -> None:
    campaign_id = _campaign(engine)
    other = _campaign(engine, "other")
    with Session(engine) as session, session.begin():
        for cid, kind, value in [
            (None, "number", "+8613800138000"),
            (campaign_id, "prefix", "+86755*"),
            (campaign_id, "contact", "C3"),
            (other, "number", "+8613900139000"),  # another campaign's: no effect here
        ]:
            session.add(DncEntry(campaign_id=cid, kind=kind, value=value, created_at=NOW))
    path = tmp_path / "list.csv"
    path.write_text(
        "external_id,phone1,phone2\n"
        "C1,13800138000,13900139000\n"
        "C2,0755-1234 5678,\n"
        "C3,13700137000,\n",
        encoding="utf-8",
    )
    summary = _import(engine, campaign_id, path, rejects_path=tmp_path / "out" / "r.csv")
    assert (summary.loaded, summary.dnc_suppressed) == (1, 3)
    rejects = _rejects(tmp_path / "out" / "r.csv")
    assert [(r["line"], r["field"], r["reason"]) for r in rejects] == [
        ("2", "phone1", "dnc"),
        ("3", "phone1", "dnc"),
        ("3", "row", "no_number_left"),
        ("4", "external_id", "dnc"),
    ]
    assert "+86755*" in rejects[1]["detail"]
    assert [n.e164 for n in _numbers(engine, campaign_id)] == ["+8613900139000"]


def test_reimport_adds_nothing_and_a_new_file_appends(engine: Engine, tmp_path: Path) -> None:
    campaign_id = _campaign(engine)
    first = tmp_path / "first.csv"
    first.write_text("external_id,phone1\nC1,13800138000\nC2,13900139000\n", encoding="utf-8")
    assert _import(engine, campaign_id, first).loaded == 2
    again = _import(engine, campaign_id, first)
    assert (again.loaded, again.already_loaded, again.duplicates) == (0, 2, 0)
    second = tmp_path / "second.csv"
    second.write_text(
        "external_id,phone1\nC2,13600136000\nC3,13900139000\nC4,13700137000\n", encoding="utf-8"
    )
    appended = _import(engine, campaign_id, second)
    assert (appended.loaded, appended.already_loaded, appended.duplicates) == (1, 1, 1)
    assert len(_numbers(engine, campaign_id)) == 3
    with Session(engine) as session:
        runs = list(session.scalars(select(ContactImport).order_by(ContactImport.id)))
        events = list(session.scalars(select(CampaignEvent).order_by(CampaignEvent.id)))
    assert [(r.loaded, r.already_loaded, r.duplicates) for r in runs] == [
        (2, 0, 0),
        (0, 2, 0),
        (1, 1, 1),
    ]
    assert runs[0].encoding == "utf-8-sig" and len(runs[0].sha256) == 64
    assert runs[0].finished_at == NOW
    assert [e.kind for e in events] == ["contacts_imported"] * 3
    assert events[2].details is not None and events[2].details["loaded"] == 1


def _cli(engine: Engine, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli, list(args), env={"DIALERD_DATABASE__URL": engine.url.render_as_string(False)}
    )
    return result.exit_code, result.stdout, result.stderr


def test_cli_import_json_and_errors(engine: Engine, tmp_path: Path) -> None:
    _campaign(engine)
    path = tmp_path / "list.csv"
    path.write_text("external_id,phone1\nC1,13800138000\nC2,12345\n", encoding="utf-8")
    code, out, _ = _cli(engine, "import", "renewals", str(path), "--json")
    assert code == 0
    summary = json.loads(out)
    assert {"loaded", "numbers", "rejected", "duplicates", "dnc_suppressed", "rejects_file"} <= set(
        summary
    )
    assert summary["loaded"] == 1 and summary["rejected"] == {
        "invalid_number": 1,
        "no_number_left": 1,
    }
    assert summary["contacts_rejected"] == 1 and summary["numbers_rejected"] == 1
    code, out, _ = _cli(engine, "import", "renewals", str(path))
    assert code == 0 and "already loaded:    1" in out
    assert "rejected contacts: 1 (rows not loaded)\n  no_number_left: 1\n" in out
    assert "rejected numbers:  1 (dropped from their rows)\n  invalid_number: 1\n" in out

    code, _, err = _cli(engine, "import", "nope", str(path))
    assert code == 1 and "no campaign named 'nope'" in err

    bad = tmp_path / "bad.csv"
    bad.write_text("name,phone1\nx,13800138000\n", encoding="utf-8")
    code, out, err = _cli(engine, "import", "renewals", str(bad))
    assert code == 1 and "Traceback" not in err + out
    assert err.strip() == f"{bad}:1: header: missing required column external_id"


def test_progress_counts_bytes_and_a_clean_reimport_drops_old_rejects(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_id = _campaign(engine)
    path = tmp_path / "list.csv"
    path.write_text("external_id,phone1\nC1,13800138000\nC2,12345\n", encoding="utf-8")
    seen: list[int] = []
    summary = _import(engine, campaign_id, path, progress=seen.append)
    assert sum(seen) == path.stat().st_size
    assert summary.rejects_file is not None and Path(summary.rejects_file).exists()
    path.write_text("external_id,phone1\nC1,13800138000\nC2,13900139000\n", encoding="utf-8")
    again = _import(engine, campaign_id, path)
    assert (again.loaded, again.already_loaded, again.rejects_file) == (1, 1, None)
    assert not (tmp_path / "list.rejects.csv").exists()


def test_already_loaded_is_confirmed_by_the_database_not_by_the_key_alone(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = _campaign(engine)
    path = tmp_path / "list.csv"
    path.write_text("external_id,phone1\nC1,13800138000\n", encoding="utf-8")
    assert _import(engine, campaign_id, path).loaded == 1
    # every id now has the same key: C2's key "is" in the campaign, the database says no
    monkeypatch.setattr("dialerd.importer.service.text_key", lambda _text: 7)
    monkeypatch.setattr("dialerd.importer.known.text_key", lambda _text: 7)
    path.write_text("external_id,phone1\nC1,13800138000\nC2,13900139000\n", encoding="utf-8")
    summary = _import(engine, campaign_id, path)
    assert (summary.loaded, summary.already_loaded, summary.duplicates) == (1, 1, 0)
    with Session(engine) as session:
        assert sorted(session.scalars(select(Contact.external_id))) == ["C1", "C2"]


def _good_rows(first: int, count: int) -> str:
    return "".join(f"G{i},n{i},1380013{i:04d}\n" for i in range(first, first + count))


HOSTILE = {
    "oversized": ("H,{},13900139000\n".format("x" * 140_000), "name", "value_too_long"),
    "nul": ("H,Zh\x00ang,13900139000\n", "name", "nul_byte"),
    "open_quote": ('H,"Zhang,13900139000\n', "row", "malformed_row"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_row_is_refused_and_every_valid_row_loads(
    engine: Engine, tmp_path: Path, kind: str
) -> None:
    """200 valid rows around one bad one: the bad one is in the rejects file, the rest load."""
    campaign_id = _campaign(engine)
    bad, field, reason = HOSTILE[kind]
    path = tmp_path / "list.csv"
    path.write_text("external_id,name,phone1\n" + _good_rows(0, 100) + bad + _good_rows(100, 100))
    summary = _import(engine, campaign_id, path)
    assert summary.loaded == 200 and summary.contacts_rejected == 1
    assert summary.rejected == {reason: 1}
    (reject,) = _rejects(tmp_path / "list.rejects.csv")
    assert (reject["line"], reject["field"], reject["reason"]) == ("102", field, reason)
    assert "\x00" not in "".join(reject.values())
    assert len(_numbers(engine, campaign_id)) == 200


def test_undecodable_rows_are_refused_on_their_line_and_the_rest_loads(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_id = _campaign(engine)
    path = tmp_path / "list.csv"
    head = ("external_id,name,phone1\n" + _good_rows(0, 3000)).encode()
    gbk = "H,张三,13900139000\n".encode("gbk")
    path.write_bytes(head + gbk + _good_rows(3000, 10).encode())
    summary = _import(engine, campaign_id, path)
    assert summary.loaded == 3010 and summary.rejected == {"encoding": 1}
    (reject,) = _rejects(tmp_path / "list.rejects.csv")
    assert (reject["line"], reject["field"]) == ("3002", "encoding")


def test_full_width_numbers_load_and_what_is_refused_is_named(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_id = _campaign(engine)
    path = tmp_path / "list.csv"
    path.write_text(
        "external_id,name,phone1,phone2\n"
        "C1,张三,１３８００１３８０００,＋８６　１３９－００１３－９０００\n"
        "C2,李四,13700137000、13600136000,０２１－６２３４５６７８\n"
        "C3,王五,１３８号,\n",
        encoding="gb18030",
    )
    summary = _import(engine, campaign_id, path)
    assert summary.loaded == 2 and summary.numbers == 3
    assert [n.e164 for n in _numbers(engine, campaign_id)] == [
        "+8613800138000",
        "+8613900139000",
        "+862162345678",
    ]
    assert summary.rejected_numbers == {"several_numbers": 1, "unsafe_characters": 1}
    assert summary.contacts_rejected == 1  # C3: no number left
    rejects = _rejects(tmp_path / "list.rejects.csv")
    assert [(r["external_id"], r["field"], r["reason"]) for r in rejects] == [
        ("C2", "phone1", "several_numbers"),
        ("C3", "phone1", "unsafe_characters"),
        ("C3", "row", "no_number_left"),
    ]
    assert rejects[0]["phone1"] == "13700137000、13600136000"


def test_cli_prints_no_traceback_for_hostile_files(engine: Engine, tmp_path: Path) -> None:
    _campaign(engine)
    path = tmp_path / "list.csv"
    path.write_bytes(
        b"external_id,name,phone1\n"
        + _good_rows(0, 5).encode()
        + b"H1,\x00,13900139000\nH2,"
        + b"y" * 140_000
        + b",13900139001\nH3,\xff\xfe,1\n"
        + _good_rows(5, 5).encode()
    )
    code, out, err = _cli(engine, "import", "renewals", str(path), "--json")
    assert code == 0 and "Traceback" not in out + err
    summary = json.loads(out)
    assert summary["loaded"] == 10 and summary["contacts_rejected"] == 3


def test_the_first_dial_is_planned_by_the_policy(engine: Engine, tmp_path: Path) -> None:
    """not_before holds for an appointment too; a past appointment is due now."""
    campaign_id = _campaign(engine)
    path = tmp_path / "list.csv"
    path.write_text(
        HEADER
        + "C1,a,13800138000,,,2026-11-24T09:00,2026-11-23T15:00,,\n"
        + "C2,b,13900139000,,,,2026-11-20T15:00,,\n",
        encoding="utf-8",
    )
    _import(engine, campaign_id, path)
    rows = [(n.e164, n.next_dial_at, n.next_is_appointment) for n in _numbers(engine, campaign_id)]
    assert rows == [
        ("+8613800138000", datetime(2026, 11, 24, 1, tzinfo=UTC), True),
        ("+8613900139000", NOW, True),
    ]


def test_a_contact_past_its_deadline_is_refused_at_import(engine: Engine, tmp_path: Path) -> None:
    campaign_id = _campaign(engine)
    path = tmp_path / "callbacks.csv"
    path.write_text(
        "external_id,phone1,deadline\n"
        "late,13800138000,2019-06-01T09:30+08:00\n"  # years ago
        "now,13800138001,2026-11-23T09:00+08:00\n"  # the import's own instant: too late
        "soon,13800138002,2026-11-23T09:30+08:00\n"
        "none,13800138003,\n",
        encoding="utf-8",
    )
    summary = _import(engine, campaign_id, path)
    assert summary.loaded == 2
    assert summary.rejected == {"deadline_passed": 2}
    assert summary.contacts_rejected == 2
    rejects = _rejects(tmp_path / "callbacks.rejects.csv")
    assert [(r["external_id"], r["line"], r["field"], r["reason"]) for r in rejects] == [
        ("late", "2", "deadline", "deadline_passed"),
        ("now", "3", "deadline", "deadline_passed"),
    ]
    assert rejects[0]["detail"] == "deadline 2019-06-01T09:30:00+08:00 has passed"
    with Session(engine) as session:
        loaded = session.scalars(select(Contact.external_id).order_by(Contact.id)).all()
    assert loaded == ["soon", "none"]
    assert {n.e164 for n in _numbers(engine, campaign_id)} == {"+8613800138002", "+8613800138003"}
