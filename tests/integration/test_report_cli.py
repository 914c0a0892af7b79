"""``dialerd report`` on the hand-counted history (tests/integration/reportdata.py)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlalchemy import Engine, update

from dialerd.cli import cli
from dialerd.db.models import Contact
from dialerd.reporting.csvfile import escape_cell, write_rows
from dialerd.reporting.render_table import width
from tests.integration import reportdata


@pytest.fixture
def run(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    reportdata.load(engine)
    monkeypatch.setenv("DIALERD_DATABASE__URL", engine.url.render_as_string(hide_password=False))
    return CliRunner()


def _ok(runner: CliRunner, *args: str) -> Result:
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_json_report(run: CliRunner) -> None:
    data = json.loads(_ok(run, "report", "c1", "--format", "json").stdout)
    f = data["figures"]
    assert (f["account_size"], f["useless_data"], f["calls_made"]) == (8, 6, 10)
    assert f["reachable_rate"] == pytest.approx(3 / 7)
    # 2 completed over the 8 UTC hours that had a dial (11-02 01..05, 11-03 01, 03, 05)
    assert f["completed_per_hour"] == pytest.approx(2 / 8)
    assert [d["day"] for d in data["daily"]] == ["2026-11-02", "2026-11-03"]
    assert data["outcomes"][0]["outcome"] == "no_answer"  # 3 dials, the most frequent
    assert [r["contacts_entered"] for r in data["round_funnel"]] == [7, 3, 0, 0]
    assert data["dispatch_lateness"]["max_s"] == pytest.approx(60, abs=1e-3)
    # Asia/Shanghai is UTC+8: the 01:xx UTC dials (K1, K2 x2, K2 r2) fall in the 09:00 hour
    assert data["dials_by_local_hour"][9] == 4
    assert sum(data["dials_by_local_hour"]) == 10
    (k5,) = data["undialable_sample"]
    assert k5["external_id"] == "K5"
    assert k5["name"] == "N*****"  # "Name 5", masked
    assert k5["numbers"] == "+86138****8006 dead"


def test_since_until_narrow_days_and_outcomes(run: CliRunner) -> None:
    out = _ok(run, "report", "c1", "--format", "json", "--since", "2026-11-03").stdout
    data = json.loads(out)
    assert [d["day"] for d in data["daily"]] == ["2026-11-03"]
    shares = {o["outcome"]: (o["dials"], o["share"]) for o in data["outcomes"]}
    # 11-03: answered, interrupted, powered_off, no_answer: one each
    one_each = ("answered", "interrupted", "powered_off", "no_answer")
    assert shares == dict.fromkeys(one_each, (1, 0.25))
    assert data["figures"]["calls_made"] == 10  # figures stay totals to date


def test_names_and_numbers_shown_on_request(run: CliRunner) -> None:
    args = ("report", "c1", "--format", "json", "--show-numbers", "--show-names")
    (k5,) = json.loads(_ok(run, *args).stdout)["undialable_sample"]
    assert (k5["name"], k5["numbers"]) == ("Name 5", "+8613800138006 dead")


def test_table_is_aligned_with_chinese_labels(run: CliRunner) -> None:
    out = _ok(run, "report", "c1", "--daily").stdout
    lines = out.splitlines()
    figures = [ln for ln in lines if ln.startswith(("Account size", "Corruption rate"))]
    assert figures == [
        "Account size                      名单总量                  8",
        "Corruption rate                   数据损坏率           46.2 %",
    ]
    assert "空号" in out and "2026-11-03" in out and "+86138****8006 dead" in out
    head = next(ln for ln in lines if ln.startswith("code"))
    vacant = next(ln for ln in lines if ln.startswith("vacant "))
    assert width(head) == width(vacant)  # CJK labels counted two columns wide


def _read_csv(path: Path) -> list[list[str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_csv_figures_and_daily(run: CliRunner, tmp_path: Path) -> None:
    _ok(run, "report", "c1", "--format", "csv", "-o", str(tmp_path / "f.csv"))
    rows = _read_csv(tmp_path / "f.csv")
    assert rows[0] == ["figure", "label_en", "label_zh", "value"]
    assert ["useless_data", "Useless data", "无效数据", "6"] in rows
    assert ["reachable_rate", "Reachable rate", "接通率"] == rows[15][:3]
    _ok(run, "report", "c1", "--format", "csv", "--daily", "-o", str(tmp_path / "d.csv"))
    daily = _read_csv(tmp_path / "d.csv")
    assert daily[0][:3] == ["day", "calls_made", "accounts_called"]
    assert daily[1][:4] == ["2026-11-02", "7", "6", "2"]
    assert _ok(run, "report", "c1", "--format", "csv").stdout.startswith("\ufefffigure,")


def test_xlsx_report_is_typed(run: CliRunner, engine: Engine, tmp_path: Path) -> None:
    evil = '=HYPERLINK("http://evil.example","x")'
    with engine.begin() as conn:  # K5 is the undialable contact the report lists
        conn.execute(update(Contact).where(Contact.id == 5).values(name=evil))
    target = tmp_path / "r.xlsx"
    _ok(run, "report", "c1", "--format", "xlsx", "-o", str(target), "--show-names")
    wb = load_workbook(target)
    assert wb.sheetnames == [
        "指标 Figures", "呼叫结果 Outcomes", "轮次漏斗 Funnel", "每日 Daily", "每周 Weekly",
        "无法拨通 Undialable", "说明 About",
    ]  # fmt: skip
    figures = {r[0].value: r for r in wb["指标 Figures"].iter_rows(min_row=2)}
    useless = figures["useless_data"]
    assert (useless[2].value, useless[3].value, useless[3].data_type) == ("无效数据", 6, "n")
    rate = figures["reachable_rate"][3]
    assert rate.value == pytest.approx(3 / 7) and rate.number_format == "0.0%"
    outcomes = {r[0].value: [c.value for c in r] for r in wb["呼叫结果 Outcomes"].iter_rows()}
    assert outcomes["outcome"] == [
        "outcome", "label_en", "label_zh", "group", "bucket", "bucket_zh", "dials", "share",
    ]  # fmt: skip
    assert outcomes["vacant"][2:7] == ["空号", "dead_number", "terminal_number", "号码停拨", 1]
    daily = list(wb["每日 Daily"].iter_rows())
    assert [c.value for c in daily[0][:2]] == ["day (Asia/Shanghai)", "calls_made"]
    day, calls, *_ = daily[1]
    assert day.value == datetime(2026, 11, 2) and day.is_date  # a real date cell
    assert (calls.value, calls.data_type) == (7, "n")  # Shanghai days: 01:xx UTC is 09:xx
    weekly = [[c.value for c in r] for r in wb["每周 Weekly"].iter_rows()]
    assert weekly[0][:3] == ["week", "calls_made", "answered_calls"]
    assert weekly[1][:2] == [datetime(2026, 11, 2), 10]  # Monday 11-02: every dial
    (name,) = (r[1] for r in wb["无法拨通 Undialable"].iter_rows(min_row=2))
    assert (name.value, name.data_type, name.quotePrefix) == (evil, "s", True)  # inert text
    about = {r[0]: r[1] for r in wb["说明 About"].iter_rows(values_only=True)}
    assert about["timezone"] == "Asia/Shanghai"
    generated = about["generated_at (Asia/Shanghai)"]
    assert isinstance(generated, datetime) and generated.tzinfo is None  # naive, local
    local_now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert abs(local_now - generated) < timedelta(hours=1)  # Shanghai time, not UTC


def test_xlsx_needs_an_output_file(run: CliRunner) -> None:
    result = run.invoke(cli, ["report", "c1", "--format", "xlsx"])
    assert result.exit_code == 2 and "--format xlsx writes a file" in result.output


def test_html_needs_an_output_file(run: CliRunner, tmp_path: Path) -> None:
    result = run.invoke(cli, ["report", "c1", "--format", "html"])
    assert result.exit_code == 2 and "--output" in result.output
    target = tmp_path / "r.html"
    _ok(run, "report", "c1", "--format", "html", "--output", str(target))
    page = target.read_text(encoding="utf-8")
    assert page.count("<svg") == 5 and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def test_unknown_campaign_is_one_line_and_exit_1(run: CliRunner) -> None:
    result = run.invoke(cli, ["report", "nope"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "dialerd: no campaign named 'nope'"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        (-5, -5),  # numbers stay numbers
        (None, None),
    ],
)
def test_escape_cell(cell: object, expected: object) -> None:
    assert escape_cell(cell) == expected


def test_csv_writer_escapes_every_text_cell() -> None:
    out = io.StringIO()
    write_rows(out, ["=a", "b"], [["=1+1", 3], ["ok", None]])
    assert out.getvalue().startswith("\ufeff")
    assert list(csv.reader(io.StringIO(out.getvalue().removeprefix("\ufeff")))) == [
        ["'=a", "b"],
        ["'=1+1", "3"],
        ["ok", ""],
    ]


def test_weekly_summary_in_table_csv_and_json(run: CliRunner) -> None:
    rows = list(
        csv.reader(io.StringIO(_ok(run, "report", "c1", "--format", "csv", "--weekly").stdout))
    )
    assert rows[0] == ["\ufeffweek", "calls_made", "answered_calls", "connect_rate",
                       "reached_calls", "valid_rate", "complaints"]  # fmt: skip
    assert rows[1][:3] == ["2026-11-02", "10", "3"]  # Monday 11-02: every counted dial
    table = _ok(run, "report", "c1", "--weekly").stdout
    assert "Weekly (Monday-Sunday, Asia/Shanghai)" in table
    weekly = json.loads(_ok(run, "report", "c1", "--format", "json").stdout)["weekly"]
    assert [(w["week"], w["calls_made"]) for w in weekly] == [("2026-11-02", 10)]


def test_abandon_rate_is_abandoned_over_human_answers(run: CliRunner) -> None:
    from dialerd.reporting.queries import abandon_figures

    f = json.loads(_ok(run, "report", "c1", "--format", "json").stdout)["figures"]
    assert f["abandoned_calls"] == 0
    assert f["abandon_rate"] == (0.0 if f["human_answers"] else None)
    rows = [
        {"outcome": "abandoned", "dials": 3},
        {"outcome": "answered", "dials": 5},
        {"outcome": "completed", "dials": 2},
        {"outcome": "answering_machine", "dials": 4},  # no person: not counted
        {"outcome": "busy", "dials": 9},
    ]
    assert abandon_figures(rows) == {
        "human_answers": 10,
        "abandoned_calls": 3,
        "abandon_rate": 0.3,
    }
    assert abandon_figures([])["abandon_rate"] is None
    table = _ok(run, "report", "c1").stdout
    assert "Abandon rate" in table and "放弃率" in table
