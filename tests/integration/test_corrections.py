"""``dialerd attempts correct`` on SQLite and PostgreSQL: the treatment once, the audit, reports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select, text

from dialerd.actions.corrections import CorrectionRefused, correct_outcome
from dialerd.cli import cli
from dialerd.db.models import Attempt, CampaignEvent, Contact, DncEntry, PhoneNumber
from dialerd.domain.outcomes import OUTCOMES, Outcome
from dialerd.pbx.scenario import Scenario
from tests.enginekit import Rig, make_rig, write_campaign

ANSWERS, BUSY, NO_ANSWER = "13800138000", "13800138001", "13800138002"
REFUSES, DNC = "13900139000", "13900139001"
SCENARIO = Scenario(rules=[("*13900139000", "refused"), ("*13900139001", "dnc_requested")])


@pytest.fixture
def config(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIALERD_DATABASE__URL", engine.url.render_as_string(hide_password=False))
    path = tmp_path / "dialerd.toml"
    path.write_text("")
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def dial_once(engine: Engine, tmp_path: Path, rows: list[str]) -> Rig:
    rig = make_rig(engine, write_campaign(tmp_path / "campaigns", rows), scenario=SCENARIO)
    rig.step()
    rig.settle()
    return rig


def attempt_of(engine: Engine, number: str) -> Any:
    with engine.connect() as conn:
        row = conn.execute(
            select(Attempt.__table__).where(Attempt.number == "+86" + number).order_by(Attempt.id)
        ).all()[-1]
    return row


def contact_of(engine: Engine, external_id: str) -> Any:
    with engine.connect() as conn:
        row = conn.execute(
            select(Contact.__table__).where(Contact.external_id == external_id)
        ).one()
    return row


def numbers_of(engine: Engine, contact_id: int) -> list[tuple[int, str, bool]]:
    """(position, state, queued) of the contact's numbers."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(PhoneNumber.position, PhoneNumber.state, PhoneNumber.next_dial_at)
            .where(PhoneNumber.contact_id == contact_id)
            .order_by(PhoneNumber.position)
        )
        return [(r.position, r.state, r.next_dial_at is not None) for r in rows]


def events(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        q = select(CampaignEvent.__table__).where(CampaignEvent.kind == "outcome_corrected")
        return list(conn.execute(q.order_by(CampaignEvent.id)).all())


def test_a_correction_reopens_the_contact_drops_the_number_and_is_audited(
    engine: Engine, tmp_path: Path, config: Path
) -> None:
    rig = dial_once(engine, tmp_path, [f"c1,张三,{ANSWERS},{BUSY}"])
    attempt = attempt_of(engine, ANSWERS)
    assert (attempt.outcome, contact_of(engine, "c1").state) == ("answered", "completed")

    # the operator heard the carrier's announcement: the number is suspended (停机保号)
    result = run(config, "attempts", "correct", str(attempt.id), "停机保号", "--by", "王芳",
                 "--note", "announcement on the recording")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "answered -> suspended; treatment drop_number" in result.output

    corrected = attempt_of(engine, ANSWERS)
    assert (corrected.outcome, corrected.bucket, corrected.treatment) == (
        "suspended",
        "terminal_number",
        "drop_number",
    )
    contact = contact_of(engine, "c1")
    assert (contact.state, contact.result) == ("active", None)  # the round goes on
    assert numbers_of(engine, contact.id) == [(1, "exhausted", False), (2, "dialable", True)]
    (event,) = events(engine)
    assert event.actor == "王芳"
    assert event.details["from"] == "answered"
    assert event.details["from_treatment"] == "complete"
    assert event.details["to"] == "suspended"
    assert event.details["note"] == "announcement on the recording"
    # reports read the corrected value
    with engine.connect() as conn:
        shown = conn.execute(
            text("SELECT outcome, dials FROM v_outcomes WHERE campaign_id = :c"),
            {"c": rig.runtime.id},
        ).all()
    assert {(o, d) for o, d in shown} == {("suspended", 1)}

    # the same correction again applies nothing a second time
    again = run(config, "attempts", "correct", str(attempt.id), "suspended", "--by", "王芳")
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert len(events(engine)) == 1
    assert numbers_of(engine, contact.id) == [(1, "exhausted", False), (2, "dialable", True)]

    # and the contact goes on with its other number (due after the correction, made now)
    with engine.connect() as conn:
        due = conn.execute(
            select(PhoneNumber.next_dial_at).where(PhoneNumber.next_dial_at.is_not(None))
        ).scalar_one()
    assert due is not None
    rig.clock.advance_to(max(due, rig.clock.now()))
    rig.step()
    rig.settle()
    assert attempt_of(engine, BUSY).outcome == "busy"


def test_correcting_a_dnc_request_takes_the_entry_back(
    engine: Engine, tmp_path: Path, config: Path
) -> None:
    dial_once(engine, tmp_path, [f"c1,张三,{DNC}"])
    attempt = attempt_of(engine, DNC)
    assert attempt.outcome == "dnc_requested"
    with engine.connect() as conn:
        assert len(conn.execute(select(DncEntry.id)).all()) == 1
    result = run(config, "attempts", "correct", str(attempt.id), "no_answer", "--by", "ops")
    assert result.exit_code == 0, result.output
    contact = contact_of(engine, "c1")
    assert (contact.state, contact.closed_reason) == ("active", None)
    assert numbers_of(engine, contact.id) == [(1, "dialable", True)]
    with engine.connect() as conn:
        assert conn.execute(select(DncEntry.id)).all() == []
    assert events(engine)[0].details["dnc_removed"] == 1


def test_correcting_a_refusal_takes_it_back_and_a_dnc_correction_applies_once(
    engine: Engine, tmp_path: Path
) -> None:
    dial_once(engine, tmp_path, [f"c1,张三,{REFUSES}"])
    attempt = attempt_of(engine, REFUSES)
    assert contact_of(engine, "c1").refusals == 1
    now = datetime.now(UTC)
    done = correct_outcome(engine, attempt.id, "要求勿扰", by="ops", note=None, now=now)
    assert (done.before, done.after, done.treatment) == ("refused", "dnc_requested", "close")
    contact = contact_of(engine, "c1")
    assert (contact.state, contact.closed_reason, contact.refusals, contact.result) == (
        "closed",
        "dnc_requested",
        0,
        "dnc_requested",
    )
    again = correct_outcome(engine, attempt.id, "dnc_requested", by="ops", note=None, now=now)
    assert not again.changed
    with engine.connect() as conn:
        assert len(conn.execute(select(DncEntry.id)).all()) == 1


def test_what_cannot_be_corrected_is_refused(engine: Engine, tmp_path: Path, config: Path) -> None:
    rig = make_rig(engine, write_campaign(tmp_path / "campaigns", [f"c1,张三,{NO_ANSWER}"]))
    rig.step()
    in_flight = attempt_of(engine, NO_ANSWER)
    result = run(config, "attempts", "correct", str(in_flight.id), "busy", "--by", "ops")
    assert result.exit_code == 1 and "still in flight" in result.output
    rig.settle()
    for args, message in [
        ((str(in_flight.id), "sold_a_car", "--by", "ops"), "not an outcome code or label"),
        (("999999", "busy", "--by", "ops"), "no such attempt"),
        ((str(in_flight.id), "busy", "--by", " "), "say who"),
    ]:
        result = run(config, "attempts", "correct", *args)
        assert result.exit_code == 1 and message in result.output, result.output
    first = attempt_of(engine, NO_ANSWER)
    rig.clock.advance_to(rig.clock.now().replace(hour=23))
    rig.step()
    rig.settle()
    assert attempt_of(engine, NO_ANSWER).id != first.id
    with pytest.raises(CorrectionRefused, match="dialled again since"):
        correct_outcome(engine, first.id, "busy", by="ops", note=None, now=datetime.now(UTC))
    assert events(engine) == []
    assert attempt_of(engine, NO_ANSWER).outcome == "no_answer"


@pytest.mark.parametrize("by_label", [False, True], ids=["code", "label"])
def test_each_of_the_fourteen_reasons_is_recorded_through_a_correction(
    engine: Engine, tmp_path: Path, by_label: bool
) -> None:
    reasons = list(Outcome)[:14]  # the manual's fourteen failure reasons (docs/rulebook.md §2)
    rows = [f"c{n:02d},客户{n},1380011{n:03d}0" for n in range(len(reasons))]  # all answered
    rig = dial_once(engine, tmp_path, rows)
    for _ in range(len(rows)):  # the dispatcher paces its claims: a few ticks dial them all
        rig.step()
        rig.settle()
    for n, reason in enumerate(reasons):
        attempt = attempt_of(engine, f"1380011{n:03d}0")
        assert attempt.outcome == "answered"
        code = OUTCOMES[reason].label_zh if by_label else reason.value
        done = correct_outcome(engine, attempt.id, code, by="质检", note=None, now=rig.clock.now())
        assert done.after is reason and done.changed
        assert attempt_of(engine, f"1380011{n:03d}0").outcome == reason.value
    recorded = [e.details["to"] for e in events(engine)]
    assert recorded == [r.value for r in reasons]
