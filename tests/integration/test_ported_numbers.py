"""Ported numbers (携号转网, seed 003): the caller ID follows the carrier a number is on now."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, select

from dialerd.db.models import Attempt, PhoneNumber
from dialerd.importer.ported import PortedCarriers, PortedRefresher, apply_ported, parse_ported
from tests.enginekit import make_rig, write_campaign

RULES = """
[[caller_id_rules]]
carrier = "China Mobile"
caller_id = "13910001000"
channel = "PJSIP/{number}@cmcc"

[[caller_id_rules]]
carrier = "China Unicom"
caller_id = "18610001000"
channel = "PJSIP/{number}@cucc"
"""
PORTED = "+8618612345678"  # a 186 (China Unicom) number ported to China Mobile
UNICOM = "+8618687654321"


def _lines(engine: Engine) -> dict[str, tuple[str | None, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(PhoneNumber.e164, Attempt.caller_id, Attempt.channel).join(
                PhoneNumber, PhoneNumber.id == Attempt.phone_number_id
            )
        ).all()
    return {e164: (caller_id, channel) for e164, caller_id, channel in rows}


def test_a_ported_186_number_is_called_from_the_china_mobile_line(
    engine: Engine, tmp_path: Path
) -> None:
    campaign = write_campaign(tmp_path, ["c1,张三,18612345678", "c2,李四,18687654321"], extra=RULES)
    rig = make_rig(engine, campaign)
    ported_file = tmp_path / "ported.csv"
    ported_file.write_text("number,carrier\n186 1234 5678,China Mobile\n", encoding="utf-8")
    refresh = PortedRefresher(engine, PortedCarriers(ported_file))
    refresh()  # what the daemon's "ported" job does every carriers.check_s
    with engine.connect() as conn:
        stored = dict(conn.execute(select(PhoneNumber.e164, PhoneNumber.carrier_source)).all())
    assert stored == {PORTED: "ported", UNICOM: "prefix"}
    assert rig.step() == 2
    lines = _lines(engine)
    assert lines[PORTED] == ("13910001000", "PJSIP/8618612345678@cmcc")
    assert lines[UNICOM] == ("18610001000", "PJSIP/8618687654321@cucc")


def test_the_list_may_give_a_numbers_carrier(engine: Engine, tmp_path: Path) -> None:
    campaign = write_campaign(tmp_path, [], extra=RULES)
    (tmp_path / "test-campaign.csv").write_text(
        "external_id,name,phone1,phone1_carrier\nc1,张三,18612345678,China Mobile\n",
        encoding="utf-8",
    )
    rig = make_rig(engine, campaign)
    with engine.connect() as conn:
        row = conn.execute(select(PhoneNumber.carrier, PhoneNumber.carrier_source)).one()
    assert tuple(row) == ("China Mobile", "list")
    assert rig.step() == 1
    assert _lines(engine)[PORTED][0] == "13910001000"


def test_the_file_is_read_again_only_when_it_changes(engine: Engine, tmp_path: Path) -> None:
    write_campaign(tmp_path, [])
    path = tmp_path / "ported.csv"
    ported = PortedCarriers(path)
    assert ported.carrier_of(PORTED) is None  # no file yet: nothing is ported
    path.write_text("18612345678,China Mobile\n", encoding="utf-8")
    assert ported.refresh() is True
    assert ported.refresh() is False
    assert ported.carrier_of(PORTED) == "China Mobile"
    path.write_text("18612345678,China Telecom\nnot-a-number,China Mobile\n", encoding="utf-8")
    assert ported.carrier_of(PORTED) == "China Telecom"
    assert apply_ported(engine, ported) == 0  # no numbers loaded


def test_bad_lines_are_named_and_skipped() -> None:
    table, problems = parse_ported(
        "number,carrier\n18612345678,China Mobile\n1861234,China Mobile\n13800138000\n", "p.csv"
    )
    assert table == {PORTED: "China Mobile"}
    assert [p.split(": ")[0:2] for p in problems] == [["p.csv:3", "number"], ["p.csv:4", "carrier"]]


def _same_stamp_rewrite(path: Path, text: str) -> None:
    """Rewrite the file in place with content of the same size and the same mtime."""
    before = path.stat()
    assert len(text.encode()) == before.st_size
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_the_carrier_is_decided_when_the_dial_is_built(engine: Engine, tmp_path: Path) -> None:
    campaign = write_campaign(tmp_path, ["c1,张三,18612345678"], extra=RULES)
    ported_file = tmp_path / "ported.csv"
    ported_file.write_text("18612345678,China Unicom\n", encoding="utf-8")
    rig = make_rig(engine, campaign, ported_file=ported_file)
    lookup = rig.dispatcher._carriers
    assert lookup is not None and lookup()[PORTED] == "China Unicom"  # read, and cached
    # ported to China Mobile just now: same size, same mtime; no periodic job has run
    _same_stamp_rewrite(ported_file, "18612345678,China Mobile\n")
    assert rig.step() == 1
    assert _lines(engine)[PORTED] == ("13910001000", "PJSIP/8618612345678@cmcc")
    with engine.connect() as conn:
        assert conn.execute(select(PhoneNumber.carrier_source)).scalar_one() == "prefix"


def test_a_change_within_the_timestamp_granularity_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "ported.csv"
    path.write_text("18612345678,China Unicom\n", encoding="utf-8")
    ported = PortedCarriers(path)
    assert ported.carrier_of(PORTED) == "China Unicom"
    _same_stamp_rewrite(path, "18612345678,China Mobile\n")
    assert ported.carrier_of(PORTED) == "China Mobile"
    assert ported.refresh() is False  # read again while recent, but nothing new in it
