"""The report as an Excel workbook: one sheet per table, typed cells, labels in both languages.

Sheets: figures (totals to date), outcomes, the round funnel, daily rows and the
undialable sample. Rates are numbers formatted as percentages; days are dates.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from dialerd.reporting.figures import DAILY_COLUMNS, FIGURES, WEEKLY_COLUMNS, Kind, Report
from dialerd.reporting.labels import bucket_zh
from dialerd.reporting.xlsxfile import CellKind, Column, Sheet, Typed, write_xlsx

_FIGURE_KINDS: dict[Kind, CellKind] = {
    "count": "int",
    "rate": "percent",
    "ratio": "number",
    "seconds": "number",
}
_DAILY_KINDS: dict[str, CellKind] = {
    "day": "date",
    "answer_rate": "percent",
    "abandon_rate": "percent",
    "ring_seconds": "number",
    "talk_seconds": "number",
}
_FUNNEL = ("round", "contacts_entered", "first_reached_accounts", "completed_accounts",
           "closed_accounts", "finished_accounts")  # fmt: skip


def _figures(report: Report) -> Sheet:
    columns = [Column("figure"), Column("label_en"), Column("label_zh"), Column("value", "number")]
    rows = [
        (f.key, f.label_en, f.label_zh, Typed(report.figures.get(f.key), _FIGURE_KINDS[f.kind]))
        for f in FIGURES
    ]  # one value column, typed per row: counts whole, rates as percentages
    return Sheet("指标 Figures", columns, rows)


def _outcomes(report: Report) -> Sheet:
    columns = [
        Column("outcome"),
        Column("label_en"),
        Column("label_zh"),
        Column("group"),
        Column("bucket"),
        Column("bucket_zh"),
        Column("dials", "int"),
        Column("share", "percent"),
    ]
    rows = [
        (o["outcome"], o["label_en"], o["label_zh"], o["group_code"], o["bucket"],
         bucket_zh(o["bucket"]), o["dials"], o["share"])
        for o in report.outcomes
    ]  # fmt: skip
    return Sheet("呼叫结果 Outcomes", columns, rows)


def _daily(report: Report) -> Sheet:
    columns = [
        Column(f"day ({report.timezone})" if c == "day" else c, _DAILY_KINDS.get(c, "int"))
        for c in DAILY_COLUMNS
    ]
    rows = [[d[c] for c in DAILY_COLUMNS] for d in report.daily]
    return Sheet("每日 Daily", columns, rows)


def _weekly(report: Report) -> Sheet:
    kinds: dict[str, CellKind] = {
        "week": "date",
        "connect_rate": "percent",
        "valid_rate": "percent",
    }
    columns = [Column(c, kinds.get(c, "int")) for c in WEEKLY_COLUMNS]
    rows = [[w[c] for c in WEEKLY_COLUMNS] for w in report.weekly]
    return Sheet("每周 Weekly", columns, rows)


def _funnel(report: Report) -> Sheet:
    columns = [Column(c, "int") for c in _FUNNEL]
    return Sheet("轮次漏斗 Funnel", columns, [[f[c] for c in _FUNNEL] for f in report.funnel])


def _undialable(report: Report) -> Sheet:
    names = ("external_id", "name", "closed_reason", "numbers")
    rows = [[u[c] for c in names] for u in report.undialable]
    return Sheet("无法拨通 Undialable", [Column(c) for c in names], rows)


def _about(report: Report) -> Sheet:
    rows = [
        ("campaign", report.campaign),
        ("timezone", report.timezone),
        (f"generated_at ({report.timezone})", Typed(report.generated_at, "datetime")),
        ("since (local day)", Typed(report.since, "date")),
        ("until (local day)", Typed(report.until, "date")),
    ]
    return Sheet("说明 About", [Column("item"), Column("value")], rows, ZoneInfo(report.timezone))


def write_report(report: Report, path: Path) -> None:
    """The whole report as one workbook at ``path``."""
    sheets = [_figures, _outcomes, _funnel, _daily, _weekly, _undialable, _about]
    write_xlsx(path, [sheet(report) for sheet in sheets])
