"""Recordings: the answered leg's file stored per attempt, and the supervisors' spot checks."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, insert, select

from dialerd.cli import cli
from dialerd.db.models import Attempt, Campaign, Contact, PhoneNumber
from dialerd.domain.ports import AnsweredInfo, Verdict
from dialerd.reporting import recordings
from dialerd.reporting.labels import outcome_zh
from tests.enginekit import make_rig, write_campaign
from tests.integration import reportdata

ANSWERS = "13800138000"  # the virtual PBX's default scenario answers


def test_the_recording_file_the_dialplan_reports_is_stored(engine: Engine, tmp_path: Path) -> None:
    rig = make_rig(engine, write_campaign(tmp_path, [f"c1,张三,{ANSWERS}"]))
    assert rig.step() == 1
    with engine.connect() as conn:
        attempt_id = conn.execute(select(Attempt.id)).scalar_one()
    nxt = rig.pbx.next_event_at()
    assert nxt is not None
    rig.clock.advance_to(nxt - timedelta(milliseconds=1))
    info = AnsweredInfo(answered_at=rig.clock.now(), recording_file="/var/spool/rec/1.wav")
    assert rig.pbx.on_answered(attempt_id, info) is Verdict.accepted
    rig.settle()
    with engine.connect() as conn:
        stored = conn.execute(select(Attempt.recording_file, Attempt.answered_at)).one()
    assert stored.recording_file == "/var/spool/rec/1.wav"


# Asia/Shanghai is UTC+8: local 2026-11-23 is [11-22 16:00, 11-23 16:00) UTC.
DAY = datetime(2026, 11, 23).date()


def _history(engine: Engine) -> None:
    """40 answered, recorded dials on local 11-23, 10 on 11-24, and some that never count."""
    camp = reportdata._campaign(1, "spot")
    contacts, numbers, attempts = [], [], []
    for i in range(1, 61):
        contacts.append(
            reportdata._contact(i, 1, "active", 1, data={"agent": f"A{i % 3}"} if i % 2 else None)
        )
        numbers.append(reportdata._number(i, i, 1, 1, "dialable"))
        start = datetime(2026, 11, 22, 16, 30, tzinfo=UTC) + timedelta(minutes=30 * i)
        row = reportdata._attempt(
            (i, i, i, 1, 1, 1, "completed", "11-01 00:00:00", None, None, None, None)
        )
        answered = i != 55  # 55: never answered, its file is no valid recording
        row.update(
            started_at=start,
            answered_at=start + timedelta(seconds=5) if answered else None,
            ended_at=start + timedelta(minutes=2),
            recording_file=f"/rec/{i}.wav" if i <= 56 else None,  # 57..60: not recorded
        )
        attempts.append(row)
    with engine.begin() as conn:
        conn.execute(insert(Campaign), [camp])
        conn.execute(insert(Contact), contacts)
        conn.execute(insert(PhoneNumber), numbers)
        conn.execute(insert(Attempt), attempts)


def _run(engine: Engine, *args: str) -> Result:
    url = engine.url.render_as_string(hide_password=False)
    env = {"DIALERD_DATABASE__URL": url}
    return CliRunner().invoke(cli, ["recordings", "sample", "spot", *args], env=env)


def test_daily_sample_is_ten_percent_of_the_local_days_recordings(engine: Engine) -> None:
    _history(engine)
    checks, total, _ = recordings.sample(
        engine, "spot", recordings.Period.day(DAY), percent=recordings.DAILY_PERCENT
    )
    # dials 1..31 start 11-22 17:00 .. 11-23 08:00 UTC... those before 16:00 UTC on 11-23
    # are local 11-23: i = 1..46 start before 11-23 16:00 UTC (16:30 + 30 min × i)
    assert total == 46
    assert len(checks) == 5  # ceil(46 × 10 %)
    assert all(c.recording_file == f"/rec/{c.attempt}.wav" for c in checks)
    again, _, _ = recordings.sample(engine, "spot", recordings.Period.day(DAY), percent=10)
    assert again == checks
    other, _, _ = recordings.sample(
        engine, "spot", recordings.Period.day(DAY), percent=10, seed="tuesday"
    )
    assert len(other) == 5


def test_cli_prints_the_list_as_csv_with_labels_and_agents(engine: Engine) -> None:
    _history(engine)
    result = _run(engine, "--day", "2026-11-23", "--format", "csv", "--seed", "s1")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(result.stdout.removeprefix("\ufeff"))))
    assert len(rows) == 5
    assert {r["outcome_zh"] for r in rows} == {outcome_zh("completed")}
    for r in rows:
        attempt = int(r["attempt"])
        assert r["agent"] == (f"A{attempt % 3}" if attempt % 2 else "")
        assert r["contact"] == f"K{attempt}"
    assert "5 of 46 valid recording(s) (10 %)" in result.stderr
    assert _run(engine, "--day", "2026-11-23", "--format", "csv", "--seed", "s1").stdout == (
        result.stdout
    )


def test_weekly_sample_defaults_to_five_percent(engine: Engine) -> None:
    _history(engine)
    result = _run(engine, "--week", "2026-11-25")
    assert result.exit_code == 0, result.output
    # the week of Mon 11-23 holds every valid recording: 55 of 1..56 answered
    assert "week 2026-11-23: 3 of 55 valid recording(s) (5 %)" in result.stderr
    assert "RECORDING_FILE" in result.stdout


def test_exactly_one_period_is_needed(engine: Engine) -> None:
    _history(engine)
    assert _run(engine).exit_code == 2
    assert _run(engine, "--day", "2026-11-23", "--week", "2026-11-23").exit_code == 2


@pytest.mark.parametrize("percent", [1.0, 10.0, 50.0, 100.0])
def test_choose_takes_the_ceiling_share(percent: float) -> None:
    keys = [f"k{i}" for i in range(37)]
    picked = recordings.choose(keys, percent, "salt")
    assert len(picked) == -(-37 * int(percent) // 100)
    assert picked == recordings.choose(keys, percent, "salt")
