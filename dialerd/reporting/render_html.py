"""The report as one self-contained HTML file: inline CSS and SVG, no script, no network.

Text cells go through the same formula escaping as the CSV export (a table copied
from the page into a spreadsheet must not run), then through HTML escaping.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from dialerd.reporting import svg
from dialerd.reporting.csvfile import escape_cell
from dialerd.reporting.figures import DAILY_COLUMNS, FIGURES, WEEKLY_COLUMNS, Report, format_value

# Simplified Chinese faces of Windows, macOS and Linux (fonts-noto-cjk, WenQuanYi) before
# the generic family; with lang="zh-CN" browsers also pick Simplified glyph shapes.
FONT_STACK = (
    'system-ui,"Microsoft YaHei","PingFang SC","Noto Sans CJK SC","Source Han Sans SC",'
    '"WenQuanYi Micro Hei",sans-serif'
)
CSS = (
    """
body{font-family:"""
    + FONT_STACK
    + """;margin:24px;
color:#1a202c;background:#fff}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #cbd5e0;padding:3px 8px}td.n{text-align:right}th{background:#edf2f7}
.charts{display:flex;flex-wrap:wrap;gap:16px}.charts figure{margin:0}
figcaption{font-size:13px;font-weight:600;margin-bottom:4px}
"""
)


def _cell(value: Any) -> str:
    return escape(str(escape_cell(value)))


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[bool]) -> str:
    head = "".join(f"<th>{_cell(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_cell(v)}</td>' if n else f"<td>{_cell(v)}</td>"
            for v, n in zip(row, numeric, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _charts(report: Report) -> str:
    hours = [f"{h:02d}" for h in range(24)]
    outcome_items = [
        (
            f"{o['label_en'] or o['outcome']} {o['label_zh'] or ''}".strip(),
            float(o["dials"]),
            f"{o['dials']} ({format_value('rate', o['share'])})",
        )
        for o in report.outcomes
    ]
    rounds = [f"R{f['round']}" for f in report.funnel]
    funnel = [
        [float(f["contacts_entered"]) for f in report.funnel],
        [float(f["first_reached_accounts"]) for f in report.funnel],
        [float(f["finished_accounts"]) for f in report.funnel],
    ]
    valid = report.figures.get("valid_accounts") or 0
    days, reached, cumulative = [], [], 0
    for d in report.daily:
        cumulative += d["new_reached_accounts"]
        days.append(d["day"])
        reached.append(cumulative / valid if valid else 0.0)
    hourly = [[float(v) for v in report.dials_by_local_hour]]
    abandon = [[100 * (r or 0.0) for r in report.abandon_by_local_hour]]
    names = ("entered", "first reached", "finished")
    figures = [
        (
            f"Dials per hour ({report.timezone})  每小时呼出",
            svg.bars("chart-hours", "Dials per hour", hours, hourly),
        ),
        ("Outcome mix  呼叫结果", svg.hbars("chart-outcomes", "Outcome mix", outcome_items)),
        ("Round funnel  轮次漏斗", svg.bars("chart-funnel", "Round funnel", rounds, funnel, names)),
        (
            f"Abandon rate per hour, % ({report.timezone})  每小时放弃率",
            svg.bars("chart-abandon", "Abandon rate (%)", hours, abandon),
        ),
        (
            f"Reachable rate over time ({report.timezone} days)  接通率走势",
            svg.line("chart-reachable", "Reachable rate", days, reached, as_percent=True),
        ),
    ]
    return "".join(
        f"<figure><figcaption>{escape(caption)}</figcaption>{chart}</figure>"
        for caption, chart in figures
    )


def render(report: Report) -> str:
    """The whole page, as one string."""
    figures = _table(
        ("figure", "指标", "value"),
        [
            (f.label_en, f.label_zh, format_value(f.kind, report.figures.get(f.key)))
            for f in FIGURES
        ],
        (False, False, True),
    )
    outcomes = _table(
        ("code", "outcome", "结果", "group", "dials", "share"),
        [
            (o["outcome"], o["label_en"] or "", o["label_zh"] or "", o["group_code"] or "",
             o["dials"], format_value("rate", o["share"]))
            for o in report.outcomes
        ],
        (False, False, False, False, True, True),
    )  # fmt: skip
    daily = _table(
        DAILY_COLUMNS,
        [[d[c] if c == "day" else _daily(c, d[c]) for c in DAILY_COLUMNS] for d in report.daily],
        [c != "day" for c in DAILY_COLUMNS],
    )
    weekly = _table(
        WEEKLY_COLUMNS,
        [[w[c] if c == "week" else _daily(c, w[c]) for c in WEEKLY_COLUMNS] for w in report.weekly],
        [c != "week" for c in WEEKLY_COLUMNS],
    )
    late = report.lateness
    lateness = (
        _table(
            ("dials", "avg", "p50", "p95", "max"),
            [[late["dials"]] + [format_value("seconds", late[k]) for k in
                                ("avg_s", "p50_s", "p95_s", "max_s")]],
            (True,) * 5,
        )
        if late
        else "<p>No dial yet.</p>"
    )  # fmt: skip
    title = f"dialerd report: {report.campaign}"
    span = f"{report.since or '…'} → {report.until or '…'}" if report.since or report.until else ""
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_cell(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{_cell(title)}</h1><p>Time zone {escape(report.timezone)}; generated "
        f"{report.generated_at:%Y-%m-%d %H:%M} UTC. {escape(span)}</p>"
        f'<div class="charts">{_charts(report)}</div>'
        f"<h2>Figures, totals to date  指标</h2>{figures}"
        f"<h2>Outcomes  呼叫结果</h2>{outcomes}"
        f"<h2>Dispatch lateness  派发延迟</h2>{lateness}"
        f"<h2>Daily ({escape(report.timezone)} days)  每日</h2>{daily}"
        f"<h2>Weekly (Monday–Sunday)  每周</h2>{weekly}"
        "</body></html>\n"
    )


def _daily(column: str, value: Any) -> str:
    if column in ("answer_rate", "connect_rate", "valid_rate", "abandon_rate"):
        return format_value("rate", value)
    if column.endswith("seconds"):
        return format_value("seconds", value)
    return format_value("count", value)
