"""Chinese labels for the codes exports carry, so call-centre staff need no lookup table.

Outcome labels are the taxonomy's own (``domain.outcomes``, the manual's wording);
buckets and treatments are named here. Unknown codes get an empty label.
"""

from __future__ import annotations

from dialerd.domain.outcomes import OUTCOMES, Bucket, Outcome
from dialerd.domain.treatments import TreatmentKind

BUCKET_ZH: dict[str, str] = {
    Bucket.retryable: "可重拨",
    Bucket.terminal_number: "号码停拨",
    Bucket.terminal_contact: "名单结束",
    Bucket.not_counted: "不计入",
}

TREATMENT_ZH: dict[str, str] = {
    TreatmentKind.retry: "下轮重拨",
    TreatmentKind.drop_number: "停拨此号码",
    TreatmentKind.complete: "完成",
    TreatmentKind.close: "关闭名单",
    TreatmentKind.callback: "预约回拨",
    TreatmentKind.pause: "暂停待处理",
}

DNC_KIND_ZH: dict[str, str] = {"number": "号码", "prefix": "号段", "contact": "名单"}


def outcome_zh(code: str | None) -> str:
    """``vacant`` → ``空号``."""
    if code is None or code not in Outcome.__members__:
        return ""
    return OUTCOMES[Outcome(code)].label_zh


def bucket_zh(code: str | None) -> str:
    return BUCKET_ZH.get(code or "", "")


def treatment_zh(text: str | None) -> str:
    """``retry`` → ``下轮重拨``; ``retry after 8:00:00`` → ``下轮重拨(8:00:00后)``."""
    if not text:
        return ""
    kind, _, after = text.partition(" after ")
    label = TREATMENT_ZH.get(kind, "")
    return f"{label}({after}后)" if label and after else label
