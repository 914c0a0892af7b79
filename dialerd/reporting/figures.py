"""The report's content: figure names and labels (en/zh), kinds, and value formatting.

Every figure comes from ``v_campaign_figures``, the deadline ones from
``v_deadline_sla``; docs/database.md gives each formula.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

Kind = Literal["count", "rate", "ratio", "seconds"]


@dataclass(frozen=True, slots=True)
class FigureSpec:
    key: str
    label_en: str
    label_zh: str
    kind: Kind


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("account_size", "Account size", "名单总量", "count"),
    FigureSpec("rejected_at_import", "Rejected at import", "导入剔除", "count"),
    FigureSpec("undialable_accounts", "Undialable contacts", "无法拨通名单", "count"),
    FigureSpec("useless_data", "Useless data", "无效数据", "count"),
    FigureSpec("corruption_rate", "Corruption rate", "数据损坏率", "rate"),
    FigureSpec("valid_accounts", "Valid contacts", "有效名单", "count"),
    FigureSpec("accounts_called", "Accounts called", "已拨打名单", "count"),
    FigureSpec("calls_made", "Calls made", "呼出次数", "count"),
    FigureSpec(
        "our_fault_dials", "Failed on our side (not counted)", "系统原因失败(不计)", "count"
    ),
    FigureSpec("average_calling_attempt", "Average calling attempt", "平均拨打次数", "ratio"),
    FigureSpec("reachable_accounts", "Reachable accounts", "接通名单", "count"),
    FigureSpec("unreachable_accounts", "Unreachable accounts", "未接通名单", "count"),
    FigureSpec("exhausted_accounts", "Rounds used up, not reached", "轮次用尽未接通", "count"),
    FigureSpec("not_called_accounts", "Not called yet", "尚未拨打", "count"),
    FigureSpec("reachable_rate", "Reachable rate", "接通率", "rate"),
    FigureSpec("completed_accounts", "Completed accounts", "完成名单", "count"),
    FigureSpec("completed_rate", "Completed rate", "完成率", "rate"),
    FigureSpec("successful_accounts", "Successful accounts", "成功名单", "count"),
    FigureSpec("hit_rate", "Hit rate", "成功率", "rate"),
    FigureSpec("answered_calls", "Answered calls", "应答次数", "count"),
    FigureSpec("answer_rate", "Answer rate", "应答率", "rate"),
    FigureSpec("avg_ring_s", "Average ring time", "平均振铃时长", "seconds"),
    FigureSpec("avg_talk_s", "Average talk time", "平均通话时长", "seconds"),
    FigureSpec("completed_per_hour", "Completed per dialling hour", "每小时完成数", "ratio"),
    FigureSpec("deadline_accounts", "Contacts with a deadline", "有时限名单", "count"),
    FigureSpec("deadline_met", "Deadline met (reached before it)", "时限内接通", "count"),
    FigureSpec("deadline_missed", "Deadline missed", "超时未接通", "count"),
    FigureSpec("deadline_met_rate", "Deadline SLA met rate", "时限达成率", "rate"),
    FigureSpec(
        "avg_first_dial_wait_s",
        "Load to first dial, average",
        "导入至首拨平均时长",
        "seconds",
    ),
    FigureSpec(
        "max_first_dial_wait_s",
        "Load to first dial, longest",
        "导入至首拨最长时长",
        "seconds",
    ),
    FigureSpec("human_answers", "Human answers", "人工应答次数", "count"),
    FigureSpec("abandoned_calls", "Abandoned (no agent free)", "放弃(未接入坐席)", "count"),
    FigureSpec("abandon_rate", "Abandon rate", "放弃率", "rate"),
    FigureSpec("customer_waits", "Answered calls handed to agents", "转坐席次数", "count"),
    FigureSpec("customer_wait_p50_s", "Customer wait, median", "客户等待中位数", "seconds"),
    FigureSpec(
        "customer_wait_p95_s", "Customer wait, 95th percentile", "客户等待95分位", "seconds"
    ),
    FigureSpec(
        "agent_within_20s_rate", "Taken by an agent within 20 s", "20秒内接入坐席率", "rate"
    ),
    FigureSpec("agent_hours", "Agent hours logged in", "坐席在线小时数", "ratio"),
    FigureSpec("agent_occupancy", "Agent occupancy", "坐席占用率", "rate"),
    FigureSpec("dials_per_agent_hour", "Dials per agent-hour", "每坐席小时呼出", "ratio"),
)

# Outcomes of a call a person answered (not a machine): the abandon rate's denominator.
HUMAN_ANSWER_OUTCOMES = frozenset(
    {
        "answered",
        "completed",
        "callback_requested",
        "refused",
        "dnc_requested",
        "not_present",
        "inconvenient",
        "early_hangup",
        "abandoned",
    }
)

DAILY_COLUMNS: tuple[str, ...] = (
    "day",
    "calls_made",
    "accounts_called",
    "answered_calls",
    "answer_rate",
    "reached_calls",
    "new_reached_accounts",
    "our_fault_dials",
    "ring_seconds",
    "talk_seconds",
    "complaints",
    "human_answers",
    "abandoned_calls",
    "abandon_rate",
)

# seed 003's weekly summary (reporting/localdays.py has the formulas)
WEEKLY_COLUMNS: tuple[str, ...] = (
    "week",
    "calls_made",
    "answered_calls",
    "connect_rate",
    "reached_calls",
    "valid_rate",
    "complaints",
)

LATENESS_COLUMNS: tuple[str, ...] = ("dials", "avg_s", "p50_s", "p95_s", "max_s")


@dataclass
class Report:
    """Everything one ``dialerd report`` shows, as plain values (JSON-ready)."""

    campaign: str
    timezone: str
    generated_at: datetime
    since: str | None
    until: str | None
    figures: dict[str, Any]
    daily: list[dict[str, Any]] = field(default_factory=list)  # by the campaign's local day
    weekly: list[dict[str, Any]] = field(default_factory=list)  # Monday–Sunday, local days
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    funnel: list[dict[str, Any]] = field(default_factory=list)
    lateness: dict[str, Any] = field(default_factory=dict)
    dials_by_local_hour: list[int] = field(default_factory=lambda: [0] * 24)
    # abandoned ÷ human answers per hour of the local day, None where nobody answered
    abandon_by_local_hour: list[float | None] = field(default_factory=lambda: [None] * 24)
    undialable: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "timezone": self.timezone,
            "generated_at": self.generated_at.isoformat(),
            "since": self.since,
            "until": self.until,
            "figures": self.figures,
            "daily": self.daily,
            "weekly": self.weekly,
            "outcomes": self.outcomes,
            "round_funnel": self.funnel,
            "dispatch_lateness": self.lateness,
            "dials_by_local_hour": self.dials_by_local_hour,
            "abandon_by_local_hour": self.abandon_by_local_hour,
            "undialable_sample": self.undialable,
        }


def plain(value: Any) -> Any:
    """Database values as JSON-ready Python: Decimal → int or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def format_value(kind: Kind, value: Any) -> str:
    """A figure for people: ``12.5 %``, ``1.67``, ``13.9 s``; ``-`` when there is none."""
    if value is None:
        return "-"
    if kind == "count":
        return f"{int(value):,}"
    if kind == "rate":
        return f"{float(value) * 100:.1f} %"
    if kind == "seconds":
        return f"{float(value):.1f} s"
    return f"{float(value):.2f}"
