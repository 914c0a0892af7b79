"""``dialerd attempts``: one row per dial, local times, masking, escaping, streaming."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Generator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, update

from dialerd.cli import cli
from dialerd.db.models import Attempt
from dialerd.reporting import attempts as export
from tests.integration import reportdata


@pytest.fixture
def run(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    reportdata.load(engine)
    monkeypatch.setenv("DIALERD_DATABASE__URL", engine.url.render_as_string(hide_password=False))
    return CliRunner()


def _invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, ["attempts", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_rows(run: CliRunner) -> None:
    rows: list[dict[str, Any]] = json.loads(_invoke(run, "c1", "--format", "json"))
    assert [r["attempt_id"] for r in rows] == list(range(1, 13))  # c2's dial is not there
    first = rows[0]
    assert first["contact_external_id"] == "K1"
    assert first["number"] == "+86138****8001"
    # 01:00 UTC is 09:00 in Asia/Shanghai
    assert first["started_at"] == "2026-11-02T09:00:00+08:00"
    assert first["answered_at"] == "2026-11-02T09:00:10+08:00"
    assert first["ended_at"] == "2026-11-02T09:02:10+08:00"
    assert first["planned_at"] == "2026-11-02T08:59:58+08:00"
    assert (first["outcome"], first["bucket"], first["treatment"]) == (
        "completed",
        "retryable",
        "retry",
    )
    assert (first["position"], first["round"], first["try_no"]) == (1, 1, 1)
    assert first["signals"] == {"reason": 4}
    assert (first["hangup_cause"], first["dial_status"], first["disposition"]) == (
        16,
        "ANSWER",
        "completed",
    )
    assert set(first) == set(export.COLUMNS)
    failed = rows[-1]
    assert (failed["outcome"], failed["started_at"]) == ("internal_failure", None)


def test_csv_masks_escapes_and_filters_by_local_day(run: CliRunner, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(Attempt).where(Attempt.id == 2).values(amd_cause="=cmd|'/c calc'!A0"))
    out = _invoke(run, "c1", "--since", "2026-11-02", "--until", "2026-11-02")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == list(export.COLUMNS)
    # 11-02 local (UTC+8) is 11-01 16:00 .. 11-02 16:00 UTC: every 11-02 UTC dial qualifies
    assert [r["attempt_id"] for r in rows] == ["1", "2", "3", "5", "6", "9", "10", "12"]
    assert rows[0]["number"] == "'+86138****8001"  # E.164 starts with '+': escaped
    assert rows[1]["amd_cause"] == "'=cmd|'/c calc'!A0"
    assert rows[0]["signals"] == '{"reason": 4}'
    assert rows[-1]["started_at"] == ""


def test_show_numbers(run: CliRunner) -> None:
    rows = json.loads(_invoke(run, "c1", "--format", "json", "--show-numbers"))
    assert rows[0]["number"] == "+8613800138001"


def test_rows_are_streamed(engine: Engine) -> None:
    reportdata.load(engine)
    rows = export.iter_attempts(engine, "c1")
    assert next(rows)["attempt_id"] == 1  # a generator: rows come one at a time
    assert isinstance(rows, Generator)
    rows.close()
