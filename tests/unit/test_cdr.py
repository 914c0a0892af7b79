"""Asterisk call records (Master.csv) → the signals classification reads."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialerd.domain.classify import classify
from dialerd.domain.outcomes import Outcome
from dialerd.domain.ports import PbxSignals
from dialerd.pbx.cdr import NEW_COLUMNS, CdrError, CdrFile, parse_row, read_rows, signals_from_rows

# Rows as Asterisk 22's cdr_csv wrote them for the reference dialplan (usegmtime,
# loguniqueid, loguserfield): the originated channel (;1) and the called half (;2).
ANSWERED = (
    '"","4006589888","s","dialerd-hold",""""" <4006589888>",'
    '"Local/13910000002@callee-sim-00000001;1","","Hangup","","2026-12-06 23:37:06",'
    '"2026-12-06 23:37:08","2026-12-06 23:37:46",40,38,"ANSWERED","DOCUMENTATION",'
    '"1-3-1-1-001",""\n'
    '"","4006589888","13910000002","callee-sim",""""" <4006589888>",'
    '"Local/13910000002@callee-sim-00000001;2","","Wait","40","2026-12-06 23:37:06",'
    '"2026-12-06 23:37:08","2026-12-06 23:37:46",40,38,"ANSWERED","DOCUMENTATION",'
    '"1-3-1-1-001-2",""\n'
)


def _row(uid: str, disposition: str, answer: str = "", account: str = "") -> str:
    return (
        f'"{account}","4006589888","13800000001","callee-sim","","Local/x;1","","AppDial2","",'
        f'"2026-12-06 23:36:50","{answer}","2026-12-06 23:36:55",5,0,"{disposition}",'
        f'"DOCUMENTATION","{uid}",""\n'
    )


def _signals(text: str) -> PbxSignals:
    rows, problems = read_rows(text)
    assert problems == []
    return signals_from_rows(rows)


@pytest.mark.parametrize(
    ("disposition", "outcome"),
    [
        ("NO ANSWER", Outcome.no_answer),
        ("BUSY", Outcome.busy),
        ("CONGESTION", Outcome.line_fault),
        ("FAILED", Outcome.line_fault),
    ],
)
def test_unanswered_dispositions_classify_as_their_dial_status(
    disposition: str, outcome: Outcome
) -> None:
    signals = _signals(_row("k1", disposition) + _row("k1-2", disposition))
    assert classify(signals).outcome is outcome
    assert signals.answered_at is None
    assert signals.ended_at == datetime(2026, 12, 6, 23, 36, 55, tzinfo=UTC)


def test_an_answered_call_keeps_its_answer_and_end_times() -> None:
    signals = _signals(ANSWERED)
    assert classify(signals).outcome is Outcome.answered
    assert signals.answered_at == datetime(2026, 12, 6, 23, 37, 8, tzinfo=UTC)
    assert signals.talk_seconds == 38
    assert signals.raw["billsec"] == 38


def test_any_answered_fork_makes_the_dial_answered() -> None:
    text = _row("k1", "NO ANSWER") + _row("k1", "ANSWERED", answer="2026-12-06 23:36:52")
    assert classify(_signals(text)).outcome is Outcome.answered


def test_a_custom_template_hangup_cause_decides_before_the_disposition() -> None:
    columns = (*NEW_COLUMNS[:18], "hangupcause")
    powered_off = _row("k1", "FAILED").rstrip("\n") + ",20\n"
    rows, problems = read_rows(powered_off, columns)
    assert problems == []
    assert classify(signals_from_rows(rows)).outcome is Outcome.powered_off


def test_a_row_belongs_to_every_key_it_names() -> None:
    rows, _ = read_rows(_row("key-b-2", "BUSY", account="key-a"))
    assert rows[0].keys() == {"key-a", "key-b"}
    assert rows[0].callee


# A busy dial as Asterisk 22 writes it today: its own Uniqueids, the key as both
# halves' accountcode, the called half's row first; with a cdr_custom hangupcause.
BUSY_NOW = (
    '"K-1","4000","13800000001","callee-sim-d1","""d"" <4000>",'
    '"Local/13800000001@callee-sim-00000002;2","","Busy","","2026-12-07 10:33:39",,'
    '"2026-12-07 10:33:39",0,0,"BUSY","DOCUMENTATION","1796639619.5","",17\n'
    '"K-1","4000","13800000001","callee-sim","""d"" <4000>",'
    '"Local/13800000001@callee-sim-00000002;1","","AppDial2","(Outgoing Line)",'
    '"2026-12-07 10:33:39",,"2026-12-07 10:33:39",0,0,"BUSY","DOCUMENTATION",'
    '"1796639619.4","",0\n'
)


def test_the_called_half_is_told_by_its_channel_name() -> None:
    rows, problems = read_rows(BUSY_NOW, (*NEW_COLUMNS[:18], "hangupcause"))
    assert problems == []
    assert [r.callee for r in rows] == [True, False]
    assert rows[0].keys() == {"K-1", "1796639619.5"}  # its Uniqueid as Asterisk wrote it
    signals = signals_from_rows(rows)
    assert (signals.hangup_cause, signals.callee_cause) == (0, 17)  # ;1's, then ;2's
    assert signals.raw["uniqueid"] == "1796639619.4"
    assert classify(signals).outcome is Outcome.busy


def test_bad_rows_are_named_by_path_line_and_field() -> None:
    text = _row("k1", "BUSY") + _row("k2", "BUSY").replace("2026-12-06 23:36:50", "yesterday")
    rows, problems = read_rows(text, where="Master.csv")
    assert [r.uniqueid for r in rows] == ["k1"]
    assert len(problems) == 1 and problems[0].startswith("Master.csv:2: start: ")
    with pytest.raises(CdrError, match="columns"):
        parse_row(["a", "b"])


def test_the_file_is_read_incrementally_and_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "Master.csv"
    cdr = CdrFile(path)
    assert cdr.refresh() == set()  # no file yet
    path.write_text(_row("k1", "BUSY") + _row("k2", "NO ANSWER")[:30])  # k2 half written
    assert cdr.refresh() == {"k1"}
    assert set(cdr.signals(["k1", "k2"])) == {"k1"}
    with path.open("a") as f:
        f.write(_row("k2", "NO ANSWER")[30:])
    assert cdr.refresh() == {"k2"}
    assert cdr.refresh() == set()
    os.rename(path, tmp_path / "Master.csv.1")  # logrotate: a new, shorter file
    path.write_text(_row("k3", "BUSY"))
    assert cdr.refresh() == {"k3"}
    assert classify(cdr.signals(["k2"])["k2"]).outcome is Outcome.no_answer
