"""The outcome taxonomy: stable codes, labels (en/zh), groups and default treatments.

The first fourteen codes are the failure reasons of the insurer's manual
(docs/rulebook.md §2), with its Chinese wording; the others are what a dialer needs
besides: reaching the person (``answered`` … ``dnc_requested``) and failures
that are ours, not the callee's (``internal_failure``, ``interrupted``, and
``abandoned``: answered, but no agent took the call in time).
Codes are stored in the database and named in campaign files: never rename one.
docs/outcomes.md has the same table for people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from dialerd.domain.treatments import (
    CALLBACK,
    CLOSE,
    COMPLETE,
    DROP_NUMBER,
    RETRY,
    Treatment,
    bucket_of,
)


class Outcome(StrEnum):
    """The result of one dial."""

    no_answer = "no_answer"
    not_present = "not_present"
    early_hangup = "early_hangup"
    rejected = "rejected"
    busy = "busy"
    inconvenient = "inconvenient"
    powered_off = "powered_off"
    answering_machine = "answering_machine"
    suspended = "suspended"
    incoming_barred = "incoming_barred"
    arrears = "arrears"
    line_fault = "line_fault"
    out_of_service_area = "out_of_service_area"
    vacant = "vacant"
    answered = "answered"
    completed = "completed"
    callback_requested = "callback_requested"
    refused = "refused"
    dnc_requested = "dnc_requested"
    internal_failure = "internal_failure"
    interrupted = "interrupted"
    abandoned = "abandoned"


class Group(StrEnum):
    """The manual's grouping of outcomes (docs/rulebook.md §2), plus ours."""

    dial_again = "dial_again"  # try again next round
    number_problem = "number_problem"  # this number will not reach the person
    line_problem = "line_problem"  # transient network trouble
    dead_number = "dead_number"  # the number does not exist
    reached = "reached"  # somebody answered and the call flow ran
    our_fault = "our_fault"  # the dial failed for our own reasons: not counted


class Bucket(StrEnum):
    """How a result counts in reports; follows from outcome + treatment (``bucket_of``)."""

    retryable = "retryable"
    terminal_number = "terminal_number"
    terminal_contact = "terminal_contact"
    not_counted = "not_counted"


@dataclass(frozen=True, slots=True)
class OutcomeInfo:
    """Everything fixed about one outcome code."""

    outcome: Outcome
    label_en: str
    label_zh: str
    group: Group
    default_treatment: Treatment


def _table(*rows: tuple[Outcome, str, str, Group, Treatment]) -> Mapping[Outcome, OutcomeInfo]:
    table = {row[0]: OutcomeInfo(*row) for row in rows}
    missing = set(Outcome) - set(table)
    if missing:  # pragma: no cover - guards edits of the table below
        raise AssertionError(f"outcomes without a row: {sorted(missing)}")
    return MappingProxyType(table)


OC, GR = Outcome, Group

OUTCOMES: Mapping[Outcome, OutcomeInfo] = _table(
    (OC.no_answer, "no answer", "无人接听", GR.dial_again, RETRY),
    (OC.not_present, "not present", "本人不在", GR.dial_again, RETRY),
    (OC.early_hangup, "early hangup", "提前挂机", GR.dial_again, RETRY),
    (OC.rejected, "rejected", "拒绝接听", GR.dial_again, RETRY),
    (OC.busy, "busy", "忙音/占线", GR.dial_again, RETRY),
    (OC.inconvenient, "inconvenient", "不方便接听", GR.dial_again, CALLBACK),
    (OC.powered_off, "powered off", "关机", GR.dial_again, RETRY),
    (OC.answering_machine, "answering machine", "录音电话", GR.number_problem, DROP_NUMBER),
    (OC.suspended, "suspended (number kept)", "停机保号", GR.number_problem, DROP_NUMBER),
    (OC.incoming_barred, "incoming calls barred", "号码暂停使用", GR.number_problem, DROP_NUMBER),
    (OC.arrears, "suspended for arrears", "欠费停机", GR.line_problem, RETRY),
    (OC.line_fault, "line fault", "线路故障", GR.line_problem, RETRY),
    (OC.out_of_service_area, "out of service area", "不在服务区", GR.line_problem, RETRY),
    (OC.vacant, "vacant number", "空号", GR.dead_number, DROP_NUMBER),
    (OC.answered, "answered", "已接通", GR.reached, COMPLETE),
    (OC.completed, "completed", "已完成", GR.reached, COMPLETE),
    (OC.callback_requested, "callback requested", "预约回拨", GR.reached, CALLBACK),
    (OC.refused, "refused", "明确拒绝", GR.reached, RETRY),
    (OC.dnc_requested, "do not call requested", "要求勿扰", GR.reached, CLOSE),
    (OC.internal_failure, "internal failure", "系统故障", GR.our_fault, RETRY),
    (OC.interrupted, "interrupted", "中断", GR.our_fault, RETRY),
    # answered, but no agent took the call within the campaign's abandon_after: the
    # callee heard the apology; ours, so not counted, and redialled first in line
    (OC.abandoned, "abandoned (no agent free)", "放弃/未接入坐席", GR.our_fault, RETRY),
)

del OC, GR


def info(outcome: Outcome | str) -> OutcomeInfo:
    """The fixed facts of an outcome code; raises ``ValueError`` for an unknown code."""
    found = OUTCOMES.get(outcome)  # type: ignore[arg-type]  # a str finds its StrEnum key
    return found if found is not None else OUTCOMES[Outcome(outcome)]


def _names() -> Mapping[str, Outcome]:
    names: dict[str, Outcome] = {}
    for outcome, row in OUTCOMES.items():
        for name in (outcome.value, row.label_zh, *row.label_zh.split("/")):
            if names.setdefault(name, outcome) is not outcome:  # pragma: no cover - table edit
                raise AssertionError(f"{name!r} names two outcomes")
    return MappingProxyType(names)


# Every name an outcome goes by: its code, its Chinese label and each half of a
# label written "a/b" (忙音/占线: 忙音, 占线).
NAMES: Mapping[str, Outcome] = _names()


def lookup(name: str) -> Outcome | None:
    """The outcome a code or a Chinese label names (case and outer blanks ignored), else None."""
    text = name.strip()
    return NAMES.get(text) or NAMES.get(text.lower())


def default_bucket(outcome: Outcome | str) -> Bucket:
    """The bucket of an outcome under its default treatment (docs/architecture.md)."""
    o = Outcome(outcome)
    return bucket_of(o, OUTCOMES[o].default_treatment)
