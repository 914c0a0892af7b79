"""AMD's verdict in a call record (``userfield``): the same outcome as the live ``VarSet``."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from dialerd.domain.classify import classify
from dialerd.domain.outcomes import Outcome
from dialerd.domain.ports import PbxSignals
from dialerd.pbx.cdr import read_rows, signals_from_rows, userfield_tags
from dialerd.pbx.simulator.cdr import CallRecord, master_rows
from dialerd.pbx.simulator.templates import load_template

ANSWER = "2026-12-06 23:36:52"


def _rows(userfield: str, end: str = "2026-12-06 23:36:55", key: str = "k1") -> str:
    """A dial's answered ;1 row (the channel that ran AMD) and its ;2 row."""

    def row(uid: str, field: str) -> str:
        return (
            f'"{key}","4006589888","13800000001","callee-sim","","Local/x;1","","Hangup","",'
            f'"2026-12-06 23:36:50","{ANSWER}","{end}",5,3,"ANSWERED",'
            f'"DOCUMENTATION","{uid}","{field}"\n'
        )

    return row(key, userfield) + row(f"{key}-2", "")


def _signals(text: str) -> PbxSignals:
    rows, problems = read_rows(text)
    assert problems == []
    return signals_from_rows(rows)


def _live(amd: str | None, cause: str | None, end: str) -> PbxSignals:
    """What the connected daemon hears of the same call (Reason 4, VarSet AMDSTATUS)."""
    at = datetime.strptime(ANSWER, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    ended = datetime.strptime(end, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return PbxSignals(
        originate_response="Success",
        reason=4,
        dial_status="ANSWER",
        hangup_cause=16,
        answered_at=at,
        ended_at=ended,
        amd_status=amd,
        amd_cause=cause,
    )


@pytest.mark.parametrize(
    ("userfield", "end", "amd", "cause", "outcome"),
    [
        (
            "amd=MACHINE amdcause=LONGGREETING-1500-1500",
            "2026-12-06 23:36:58",
            "MACHINE",
            "LONGGREETING-1500-1500",
            Outcome.answering_machine,
        ),
        ("amd=HUMAN amdcause=HUMAN-800-800", "2026-12-06 23:37:30", "HUMAN", "HUMAN-800-800", None),
        ("amd=HANGUP amdcause=", "2026-12-06 23:36:53", "HANGUP", None, Outcome.early_hangup),
        # a callee who stays past early_hangup_s after AMD heard a hangup: answered, as live
        ("amd=HANGUP amdcause=", "2026-12-06 23:37:30", "HANGUP", None, None),
        (
            "amd=NOTSURE amdcause=TOOLONG-5000",
            "2026-12-06 23:37:30",
            "NOTSURE",
            "TOOLONG-5000",
            None,
        ),
        # no verdict (AMD never ran, or a flow that does not write it): as a live call
        # without AMDSTATUS, which the PBX reported answered and nothing more
        ("amd= amdcause=", "2026-12-06 23:36:58", None, None, None),
        ("", "2026-12-06 23:36:58", None, None, None),
    ],
)
def test_a_records_verdict_classifies_as_the_live_varset_does(
    userfield: str, end: str, amd: str | None, cause: str | None, outcome: Outcome | None
) -> None:
    signals = _signals(_rows(userfield, end))
    assert (signals.amd_status, signals.amd_cause) == (amd, cause)
    got, live = classify(signals), classify(_live(amd, cause, end))
    assert (got.outcome, got.rule, got.known) == (live.outcome, live.rule, live.known)
    assert got.outcome is (outcome or Outcome.answered)


def test_the_verdict_is_read_from_whichever_row_carries_it() -> None:
    text = _rows("", key="k1").replace('"k1-2",""', '"k1-2","amd=MACHINE"')
    assert classify(_signals(text)).outcome is Outcome.answering_machine


def test_userfield_words_are_tags_or_keys() -> None:
    assert userfield_tags("k7 amd=MACHINE AMDCAUSE=LONGGREETING-1500-1500") == (
        {"amd": "MACHINE", "amdcause": "LONGGREETING-1500-1500"},
        ["k7"],
    )
    (row,) = read_rows(_rows("k7 amd=MACHINE", key="acct").splitlines()[0] + "\n")[0]
    assert row.keys() == {"acct", "k7"}  # the verdict is no key; a key word still matches
    (row,) = read_rows(_rows("k7", key="acct").splitlines()[0] + "\n")[0]
    assert row.keys() == {"acct", "k7"}


def test_the_simulators_record_carries_the_verdict_on_the_originated_channel() -> None:
    rec = CallRecord(
        channel="Local/13800000008@callee-sim-0000000b",
        number="13800000008",
        caller_id="4006589888",
        account="k9",
        uniqueids=("k9", "k9-2"),
        start=1_796_000_000.0,
        answer=1_796_000_001.0,
        end=1_796_000_006.0,
        cause=16,
        amd=("MACHINE", "LONGGREETING-1500-1500"),
    )
    rows = master_rows(rec)
    assert [r[-1] for r in rows] == ["amd=MACHINE amdcause=LONGGREETING-1500-1500", ""]
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    assert classify(_signals(out.getvalue())).outcome is Outcome.answering_machine


def test_the_simulator_knows_its_recordings_verdicts() -> None:
    machine = load_template("answering-machine")
    assert machine.amd[0] == "MACHINE" and machine.amd_group is not None
    assert load_template("answered-early-hangup").amd[0] == "HANGUP"
    assert load_template("answered-application-wait").amd_group is None  # no AMD()
