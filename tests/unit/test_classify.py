"""classify(): every recorded Asterisk 22 transcript, the Q.850 table, dispositions, unknowns.

The signal rows are the tables of the transcripts' README (dialerd/pbx/transcripts/README.md),
one PbxSignals literal per transcript; talk times are those of the recordings.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dialerd.domain.classify import Q850, RULES, Classification, classify, no_callee_reached
from dialerd.domain.outcomes import Bucket, Group, Outcome, default_bucket, info
from dialerd.domain.ports import PbxSignals

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def answered(talk_s: float, **kw: object) -> PbxSignals:
    """An answered call: Success / 4, both halves 16, DialEnd ANSWER, ``talk_s`` of talk."""
    fields: dict[str, object] = {
        "originate_response": "Success",
        "reason": 4,
        "hangup_cause": 16,
        "callee_cause": 16,
        "dial_status": "ANSWER",
        "answered_at": T0,
        "ended_at": T0 + timedelta(seconds=talk_s),
    }
    fields.update(kw)
    return PbxSignals(**fields)  # type: ignore[arg-type]


def failed(
    reason: int | None, c1: int | None, c2: int | None, status: str | None, **kw: object
) -> PbxSignals:
    return PbxSignals(
        originate_response=kw.pop("response", "Failure"),  # type: ignore[arg-type]
        reason=reason,
        hangup_cause=c1,
        callee_cause=c2,
        dial_status=status,
        **kw,  # type: ignore[arg-type]
    )


TRANSCRIPTS: list[tuple[str, PbxSignals, str]] = [  # name, signals, expected outcome code
    # -- the ten main outcomes
    ("answered-human", answered(3.5, amd_status="HUMAN", amd_cause="HUMAN-800-800"), "answered"),
    ("busy", failed(5, 0, 17, "BUSY"), "busy"),
    ("no-answer", failed(3, 19, 19, None, rang=True), "no_answer"),
    ("unallocated", failed(0, 1, 1, "NOANSWER"), "vacant"),
    ("rejected", failed(0, 21, 21, "NOANSWER"), "rejected"),
    ("congestion", failed(8, 0, 34, "CONGESTION"), "line_fault"),
    ("subscriber-absent", failed(0, 20, 20, "CHANUNAVAIL"), "powered_off"),
    ("answered-early-hangup", answered(0.5, amd_status="HANGUP", amd_cause=""), "early_hangup"),
    (
        "answering-machine",
        answered(10.5, amd_status="MACHINE", amd_cause="LONGGREETING-1500-1500"),
        "answering_machine",
    ),
    ("no-user-responding", failed(0, 18, 18, "NOANSWER"), "no_answer"),
    # -- extra variants
    (
        "x-answered-after-ringing",
        answered(3.5, rang=True, amd_status="HUMAN", amd_cause="HUMAN-800-800"),
        "answered",
    ),
    ("x-cause17-no-busy-indication", failed(0, 17, 17, "BUSY"), "busy"),
    ("x-no-answer-no-ringing", failed(3, 19, 19, None), "no_answer"),
    ("x-cause34-circuit-congestion", failed(0, 34, 34, "CONGESTION"), "line_fault"),
    ("x-cause38-network-out-of-order", failed(0, 38, 38, "NOANSWER"), "line_fault"),
    (
        "x-answered-dead-air",
        answered(10.5, amd_status="NOTSURE", amd_cause="TOOLONG-4900"),
        "answered",
    ),
    ("x-cause19-no-answer", failed(0, 19, 19, "NOANSWER"), "no_answer"),
    # -- other scenarios
    ("answered-application-wait", answered(3.5), "answered"),
    ("busy-application-wait", failed(5, 0, 17, "BUSY"), "busy"),
    ("busy-failed-ext", failed(5, 0, 17, "BUSY"), "busy"),
    ("no-answer-failed-ext", failed(3, 19, 19, None, rang=True), "no_answer"),
    (
        "answered-human-fastagi",
        answered(2.95, hangup_cause=0, callee_cause=0, amd_status="HUMAN"),
        "answered",
    ),
    (
        "nonexistent-context",
        PbxSignals(originate_response="Error", raw={"Message": "Extension does not exist."}),
        "internal_failure",
    ),
    ("nonexistent-callee-context", failed(0, 0, 0, None), "internal_failure"),
    ("bad-channel-tech", failed(0, None, None, None), "internal_failure"),
    (
        "sync-answered-human",
        answered(3.5, reason=None, amd_status="HUMAN", amd_cause="HUMAN-800-800"),
        "answered",
    ),
    ("sync-busy", failed(None, 0, 17, "BUSY", response="Error"), "busy"),
    ("sync-no-answer", failed(None, 19, 19, None, response="Error", rang=True), "no_answer"),
    ("chanvars-answered-human", answered(3.5, amd_status="HUMAN"), "answered"),
    ("chanvars-busy", failed(5, 0, 17, "BUSY"), "busy"),
]


@pytest.mark.parametrize(
    ("signals", "expected"), [(s, e) for _, s, e in TRANSCRIPTS], ids=[n for n, _, _ in TRANSCRIPTS]
)
def test_every_recorded_transcript(signals: PbxSignals, expected: str) -> None:
    result = classify(signals)
    assert result.outcome is Outcome(expected)
    assert result.known, result.rule


def test_sync_answered_without_any_dial_status() -> None:
    """Without Async, "Success" alone means the call was answered."""
    assert classify(PbxSignals(originate_response="Success")).outcome is Outcome.answered


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (1, "vacant"),
        (22, "vacant"),
        (17, "busy"),
        (18, "no_answer"),
        (19, "no_answer"),
        (20, "powered_off"),
        (21, "rejected"),
        (3, "line_fault"),
        (27, "line_fault"),
        (34, "line_fault"),
        (38, "line_fault"),
        (41, "line_fault"),
        (42, "line_fault"),
        (44, "line_fault"),
        (102, "line_fault"),
        (127, "line_fault"),
        (50, "incoming_barred"),
        (52, "incoming_barred"),
        (54, "incoming_barred"),
        (28, "vacant"),
        (58, "line_fault"),
        (45, "line_fault"),  # not listed: the Q.850 "resource unavailable" class
        (100, "line_fault"),  # not listed: the Q.850 protocol error class
    ],
)
@pytest.mark.parametrize("half", ["originated", "callee"])
def test_q850_causes(cause: int, expected: str, half: str) -> None:
    c1, c2 = (cause, None) if half == "originated" else (0, cause)
    result = classify(failed(0, c1, c2, "NOANSWER"))
    assert result.outcome is Outcome(expected)
    assert result.known


def test_the_originated_halfs_cause_wins() -> None:
    # ;1 carries the callee's cause unless it says 0 (after a BUSY/CONGESTION indication).
    assert classify(failed(0, 21, 17, None)).outcome is Outcome.rejected


def test_q850_table_only_maps_to_not_answered_outcomes() -> None:
    groups = {info(o).group for o in Q850.values()}
    assert groups <= {Group.dial_again, Group.line_problem, Group.number_problem, Group.dead_number}


@pytest.mark.parametrize(
    ("disposition", "callback", "expected"),
    [
        ("completed", False, "completed"),
        ("dnc_requested", False, "dnc_requested"),
        ("refused", False, "refused"),
        ("callback_requested", True, "callback_requested"),
        ("callback_requested", False, "callback_requested"),
        ("inconvenient", True, "callback_requested"),
        ("inconvenient", False, "inconvenient"),
        ("not_present", False, "not_present"),
        (" Completed ", False, "completed"),
    ],
)
def test_dispositions_of_the_answered_flow(disposition: str, callback: bool, expected: str) -> None:
    signals = answered(
        40,
        amd_status="HUMAN",
        disposition=disposition,
        callback_at=T0 + timedelta(days=1) if callback else None,
    )
    result = classify(signals)
    assert result == Classification(Outcome(expected), True, result.rule)
    assert result.rule.startswith("disposition:")


def test_an_unknown_disposition_invents_nothing() -> None:
    # Classified from the PBX's signals, as if the flow had said nothing.
    result = classify(answered(40, amd_status="HUMAN", disposition="sold_a_car"))
    assert (result.outcome, result.rule) == (Outcome.answered, "answered")
    busy = classify(failed(5, 0, 17, "BUSY", disposition="sold_a_car"))
    assert busy.outcome is Outcome.busy


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_is_a_disposition_by_code_and_by_chinese_label(outcome: Outcome) -> None:
    for name in (outcome.value, info(outcome).label_zh):
        result = classify(answered(40, amd_status="HUMAN", disposition=name))
        assert (result.outcome, result.rule) == (outcome, f"disposition:{outcome}")


def test_adapter_error_is_ours() -> None:
    result = classify(PbxSignals(error="AMI link lost before the OriginateResponse"))
    assert (result.outcome, result.known, result.rule) == (
        Outcome.internal_failure,
        True,
        "adapter_error",
    )
    # even when other signals are present
    assert classify(failed(5, 0, 17, "BUSY", error="x")).outcome is Outcome.internal_failure
    # but what the callee said in the answered-call flow stands
    done = answered(40, disposition="completed", error="AMI link lost")
    assert classify(done).outcome is Outcome.completed


@pytest.mark.parametrize(
    ("talk", "expected"), [(0.4, "early_hangup"), (4.9, "early_hangup"), (6.0, "answered")]
)
def test_amd_hangup_is_early_only_within_the_threshold(talk: float, expected: str) -> None:
    assert classify(answered(talk, amd_status="HANGUP")).outcome is Outcome(expected)
    assert classify(answered(talk, amd_status="HANGUP"), early_hangup_s=10).outcome is (
        Outcome.early_hangup
    )


def test_short_answered_call_without_amd_is_answered() -> None:
    # answered-application-wait: the callee hung up after 3.5 s, no AMD ran
    assert classify(answered(3.5)).outcome is Outcome.answered


def test_amd_status_is_case_insensitive() -> None:
    assert classify(answered(10, amd_status="machine")).outcome is Outcome.answering_machine


@pytest.mark.parametrize(
    "signals",
    [
        failed(0, 70, None, None),  # a cause outside every table
        failed(1, None, None, None),  # Reason 1 (hangup) with no cause
        PbxSignals(),  # nothing at all
        PbxSignals(originate_response="Bogus"),
    ],
)
def test_unknown_signals_are_retryable_and_flagged(signals: PbxSignals) -> None:
    result = classify(signals)
    assert not result.known
    assert default_bucket(result.outcome) in (Bucket.retryable, Bucket.not_counted)


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        (failed(5, None, None, None), "busy"),
        (failed(8, None, None, None), "line_fault"),
        (failed(3, None, None, None), "no_answer"),
        (failed(0, None, None, "BUSY"), "busy"),
        (failed(0, None, None, "CONGESTION"), "line_fault"),
        (failed(0, None, None, "CHANUNAVAIL"), "line_fault"),
        (failed(0, None, None, "NOANSWER"), "no_answer"),
    ],
)
def test_lossy_fallbacks_without_a_cause(signals: PbxSignals, expected: str) -> None:
    assert classify(signals).outcome is Outcome(expected)


def test_rule_names_are_unique() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    assert RULES[-1].name == "unknown"


# -- an overloaded PBX's early Originate timeout (Reason 3 before the ring timeout, no ringing)


def overloaded(dial_s: float, **kw: object) -> PbxSignals:
    fields: dict[str, object] = {"dial_s": dial_s, "ring_timeout_s": 25.0}
    fields.update(kw)
    return PbxSignals(
        originate_response="Failure",
        reason=3,
        hangup_cause=19,
        callee_cause=19,
        ended_at=T0,
        **fields,  # type: ignore[arg-type]
    )


def test_an_originate_timed_out_before_ringing_and_the_ring_timeout_is_ours() -> None:
    c = classify(overloaded(4.0))
    assert (c.outcome, c.rule, c.retry_soon) == (
        Outcome.internal_failure,
        "reason:timeout_before_ringing",
        True,
    )


@pytest.mark.parametrize(
    "signals",
    [
        overloaded(25.3),  # the ring timeout ran out: the callee did not answer
        overloaded(4.0, rang=True),  # it rang: the callee's line was reached
        overloaded(4.0, dial_status="NOANSWER"),  # Dial() reached the callee
        replace(
            overloaded(4.0), dial_s=None
        ),  # timing unknown (an adopted dial): the callee's word
    ],
)
def test_a_timeout_that_reached_the_callee_stays_no_answer(signals: PbxSignals) -> None:
    assert classify(signals).outcome is Outcome.no_answer
    assert not classify(signals).retry_soon


@pytest.mark.parametrize(
    ("message", "soon"),
    [("Asterisk is shutting down", True), ("Extension does not exist.", False)],
)
def test_a_refusal_by_a_stopping_pbx_is_retried_soon(message: str, soon: bool) -> None:
    c = classify(PbxSignals(originate_response="Error", raw={"message": message}))
    assert (c.outcome, c.retry_soon) == (Outcome.internal_failure, soon)


def test_no_callee_reached_only_for_dials_the_stopping_pbx_never_ran() -> None:
    stopped = PbxSignals(error="x", lost=True, raw={"pbx_stopped": True})
    assert no_callee_reached(stopped)
    assert not no_callee_reached(replace(stopped, rang=True))
    assert not no_callee_reached(replace(stopped, hangup_cause=0))
    assert not no_callee_reached(replace(stopped, raw={}))  # a link outage: it may have rung


@pytest.mark.parametrize("disposition", ["abandoned", "放弃", "未接入坐席"])
def test_an_answered_call_no_agent_took_is_abandoned_never_answered(disposition: str) -> None:
    result = classify(answered(3.0, disposition=disposition))
    assert (result.outcome, result.rule) == (Outcome.abandoned, "disposition:abandoned")
    assert default_bucket(result.outcome) is Bucket.not_counted
