"""The report as aligned text tables for a terminal (CJK characters count two columns)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from dialerd.reporting.figures import (
    DAILY_COLUMNS,
    FIGURES,
    WEEKLY_COLUMNS,
    Kind,
    Report,
    format_value,
)


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, size: int, right: bool) -> str:
    gap = " " * max(0, size - width(text))
    return gap + text if right else text + gap


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """Columns sized to their widest cell; ``right`` aligns numbers."""
    sizes = [max(width(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    lines = []
    for row in (header, *rows):
        cells = [_pad(str(c), s, r) for c, s, r in zip(row, sizes, right, strict=True)]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * s for s in sizes))
    return "\n".join(lines)


_DAILY_KINDS: dict[str, Kind] = {
    "answer_rate": "rate",
    "ring_seconds": "seconds",
    "connect_rate": "rate",
    "valid_rate": "rate",
    "abandon_rate": "rate",
}


def _cell(column: str, value: Any) -> str:
    if column in ("day", "week"):
        return str(value)
    kind: Kind = _DAILY_KINDS.get(column, "seconds" if column.endswith("seconds") else "count")
    return format_value(kind, value)


def render(report: Report, daily: bool, weekly: bool = False) -> str:
    """Figures, outcomes, round funnel, dispatch lateness, then (``daily``) one row per local
    day and (``weekly``) one per Monday–Sunday week."""
    parts = [
        f"Campaign {report.campaign} ({report.timezone}), "
        f"generated {report.generated_at:%Y-%m-%d %H:%M} UTC",
        "",
        "Figures, totals to date  指标(累计)",
        table(
            ("figure", "指标", "value"),
            [
                (f.label_en, f.label_zh, format_value(f.kind, report.figures.get(f.key)))
                for f in FIGURES
            ],
            (False, False, True),
        ),
    ]
    span = ""
    if report.since or report.until:
        span = f" {report.since or '…'} → {report.until or '…'} (UTC days)"
    parts += ["", f"Outcomes  呼叫结果{span}"]
    parts.append(
        table(
            ("code", "outcome", "结果", "group", "dials", "share"),
            [
                (
                    o["outcome"],
                    o["label_en"] or "",
                    o["label_zh"] or "",
                    o["group_code"] or "",
                    format_value("count", o["dials"]),
                    format_value("rate", o["share"]),
                )
                for o in report.outcomes
            ],
            (False, False, False, False, True, True),
        )
    )
    parts += ["", "Round funnel  轮次漏斗"]
    cols = ("round", "contacts_entered", "first_reached_accounts", "completed_accounts",
            "closed_accounts", "finished_accounts")  # fmt: skip
    parts.append(
        table(
            ("round", "entered", "first reached", "completed", "closed", "finished"),
            [[format_value("count", f[c]) for c in cols] for f in report.funnel],
            (True,) * 6,
        )
    )
    if report.lateness:
        late = report.lateness
        parts += [
            "",
            "Dispatch lateness (started − planned)  派发延迟: "
            + ", ".join(
                f"{k} {format_value('seconds', late[k])}"
                for k in ("avg_s", "p50_s", "p95_s", "max_s")
            )
            + f" over {late['dials']} dials",
        ]
    if daily:
        parts += ["", f"Daily ({report.timezone} days)  每日{span}"]
        parts.append(
            table(
                DAILY_COLUMNS,
                [[_cell(c, d[c]) for c in DAILY_COLUMNS] for d in report.daily],
                [c != "day" for c in DAILY_COLUMNS],
            )
        )
    if weekly:
        parts += ["", f"Weekly (Monday-Sunday, {report.timezone})  每周{span}"]
        parts.append(
            table(
                WEEKLY_COLUMNS,
                [[_cell(c, w[c]) for c in WEEKLY_COLUMNS] for w in report.weekly],
                [c != "week" for c in WEEKLY_COLUMNS],
            )
        )
    if report.undialable:
        parts += ["", f"Undialable contacts (first {len(report.undialable)})  无法拨通名单"]
        parts.append(
            table(
                ("external id", "name", "closed reason", "numbers"),
                [
                    (u["external_id"], u["name"], u["closed_reason"] or "", u["numbers"])
                    for u in report.undialable
                ],
                (False,) * 4,
            )
        )
    return "\n".join(parts) + "\n"
