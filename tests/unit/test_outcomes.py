"""The outcome table: codes, labels, groups, default treatments and buckets."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from dialerd.domain.outcomes import (
    OUTCOMES,
    Bucket,
    Group,
    Outcome,
    default_bucket,
    info,
    lookup,
)
from dialerd.domain.treatments import Treatment, TreatmentKind, bucket_of

K = TreatmentKind

ARCHITECTURE_TABLE = [
    # code, zh label, group, default bucket (docs/architecture.md)
    ("no_answer", "无人接听", "dial_again", "retryable"),
    ("not_present", "本人不在", "dial_again", "retryable"),
    ("early_hangup", "提前挂机", "dial_again", "retryable"),
    ("rejected", "拒绝接听", "dial_again", "retryable"),
    ("busy", "忙音/占线", "dial_again", "retryable"),
    ("inconvenient", "不方便接听", "dial_again", "retryable"),
    ("powered_off", "关机", "dial_again", "retryable"),
    ("answering_machine", "录音电话", "number_problem", "terminal_number"),
    ("suspended", "停机保号", "number_problem", "terminal_number"),
    ("incoming_barred", "号码暂停使用", "number_problem", "terminal_number"),
    ("arrears", "欠费停机", "line_problem", "retryable"),
    ("line_fault", "线路故障", "line_problem", "retryable"),
    ("out_of_service_area", "不在服务区", "line_problem", "retryable"),
    ("vacant", "空号", "dead_number", "terminal_number"),
    ("answered", "已接通", "reached", "terminal_contact"),
    ("completed", "已完成", "reached", "terminal_contact"),
    ("callback_requested", "预约回拨", "reached", "retryable"),
    ("refused", "明确拒绝", "reached", "retryable"),
    ("dnc_requested", "要求勿扰", "reached", "terminal_contact"),
    ("internal_failure", "系统故障", "our_fault", "not_counted"),
    ("interrupted", "中断", "our_fault", "not_counted"),
    ("abandoned", "放弃/未接入坐席", "our_fault", "not_counted"),
]


def test_exactly_the_architecture_codes() -> None:
    assert [o.value for o in Outcome] == [row[0] for row in ARCHITECTURE_TABLE]
    assert set(OUTCOMES) == set(Outcome)


@pytest.mark.parametrize(("code", "zh", "group", "bucket"), ARCHITECTURE_TABLE)
def test_row(code: str, zh: str, group: str, bucket: str) -> None:
    row = info(code)
    assert row.outcome is Outcome(code)
    assert row.label_zh == zh
    assert row.label_en
    assert row.group is Group(group)
    assert default_bucket(code) is Bucket(bucket)


def test_default_treatments() -> None:
    assert info(Outcome.busy).default_treatment == Treatment(K.retry)
    assert info(Outcome.vacant).default_treatment == Treatment(K.drop_number)
    assert info(Outcome.completed).default_treatment == Treatment(K.complete)
    assert info(Outcome.dnc_requested).default_treatment == Treatment(K.close)
    assert info(Outcome.callback_requested).default_treatment == Treatment(K.callback)
    assert info(Outcome.inconvenient).default_treatment == Treatment(K.callback)


def test_unknown_code() -> None:
    with pytest.raises(ValueError):
        info("no_such_outcome")


@pytest.mark.parametrize(
    ("kind", "bucket"),
    [
        (K.retry, Bucket.retryable),
        (K.callback, Bucket.retryable),
        (K.drop_number, Bucket.terminal_number),
        (K.complete, Bucket.terminal_contact),
        (K.close, Bucket.terminal_contact),
        (K.pause, Bucket.terminal_contact),
    ],
)
def test_bucket_follows_the_treatment(kind: TreatmentKind, bucket: Bucket) -> None:
    assert bucket_of(Outcome.busy, Treatment(kind)) is bucket
    assert bucket_of(Outcome.answered, Treatment(kind)) is bucket


@pytest.mark.parametrize("kind", list(K))
@pytest.mark.parametrize(
    "outcome", [Outcome.internal_failure, Outcome.interrupted, Outcome.abandoned]
)
def test_our_faults_never_count(outcome: Outcome, kind: TreatmentKind) -> None:
    assert bucket_of(outcome, Treatment(kind)) is Bucket.not_counted


def test_treatment_after() -> None:
    assert str(Treatment(K.retry, timedelta(hours=8))) == "retry after 8:00:00"
    with pytest.raises(ValueError):
        Treatment(K.drop_number, timedelta(hours=1))
    with pytest.raises(ValueError):
        Treatment(K.retry, timedelta(hours=-1))


def test_docs_table_matches_the_code() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "outcomes.md").read_text("utf-8")
    for outcome, row in OUTCOMES.items():
        line = (
            f"| `{outcome}` | {row.label_en} | {row.label_zh} | {row.group} | "
            f"{row.default_treatment} | {default_bucket(outcome)} |"
        )
        assert line in doc, line


def test_every_outcome_is_named_by_its_code_and_its_chinese_label() -> None:
    for outcome, row in OUTCOMES.items():
        assert lookup(outcome.value) is outcome
        assert lookup(f" {outcome.value.upper()} ") is outcome
        assert lookup(row.label_zh) is outcome
    assert lookup("忙音") is lookup("占线") is lookup("忙音/占线")
    assert lookup("sold_a_car") is None and lookup("") is None


def test_an_abandoned_call_is_retried_and_named_by_either_half_of_its_label() -> None:
    assert info(Outcome.abandoned).default_treatment == Treatment(K.retry)
    assert lookup("放弃") is lookup("未接入坐席") is lookup(" Abandoned ") is Outcome.abandoned
