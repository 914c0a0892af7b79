"""PbxSignals → Outcome: an ordered rule table, first match wins.

What Asterisk 22 really reports is recorded in the shared AMI fixtures (their
README has the signals per transcript); the short version:

* ``Reason`` of the OriginateResponse is lossy: 4 answered, 5 busy, 8 congestion,
  3 our own Originate timeout, 0 for every other hangup before answer.
* The Q.850 cause of the originated channel's (``;1``) Hangup is the callee's
  cause, except after a BUSY or CONGESTION indication, when ``;1`` says 0 and
  the real cause (17, 34) is only on the called half (``;2``, ``callee_cause``).
  So the *effective cause* is the first non-zero of the two.
* ``DialStatus`` is as lossy as ``Reason`` (NOANSWER for most causes).
* After an answer, AMD (``AMDSTATUS``) and the answered-call flow (``disposition``)
  tell what was reached. A call no agent took in time (the ``DialerdAbandon``
  UserEvent, or the flow's disposition ``abandoned``) arrives as the disposition
  ``abandoned`` and is classified so before anything else: never ``answered``.

A rule that is not ``known`` maps an unexpected combination to a safe,
retryable outcome; the caller logs the raw signals. docs/outcomes.md shows the
same table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from itertools import takewhile
from types import MappingProxyType

from dialerd.domain.outcomes import NAMES, Outcome, lookup
from dialerd.domain.ports import PbxSignals

EARLY_HANGUP_S = 5.0  # default: an AMD HANGUP within this many seconds of the answer

# Our failures that reached no callee (rules with ``soon``) are due again after this,
# not after ``min_spacing``: the PBX was shutting down or overloaded, nobody was called.
RETRY_SOON = timedelta(seconds=30)
# Words of an Originate refusal by a PBX that cannot take calls right now (Asterisk 22:
# "Asterisk is shutting down" while stopping; overload refusals), compared in lower case.
TRANSIENT_REFUSALS = ("shutting down", "overload", "too many")

# OriginateResponse Reason codes (legacy "originate reason"; technical brief §2.3).
REASON_NO_ANSWER = 3
REASON_ANSWERED = 4
REASON_BUSY = 5
REASON_CONGESTION = 8


@dataclass(frozen=True, slots=True)
class Classification:
    """The outcome of one dial, the rule that chose it, and whether the signals were expected."""

    outcome: Outcome
    known: bool
    rule: str
    retry_soon: bool = False  # no callee was reached: due again after RETRY_SOON


@dataclass(frozen=True, slots=True)
class Facts:
    """The signals, normalised once for the rules."""

    signals: PbxSignals
    answered: bool
    cause: int | None  # effective Q.850 cause: ;1's, else ;2's (0 counts as none)
    reason: int | None
    dial_status: str | None
    amd: str | None
    disposition: str | None
    talk_s: float | None
    early_hangup_s: float


@dataclass(frozen=True, slots=True)
class Rule:
    """``when(facts)`` → ``outcome``; ``known=False`` marks a fallback for unexpected signals."""

    name: str
    when: Callable[[Facts], bool]
    outcome: Outcome
    known: bool = True
    soon: bool = False  # our failure before any callee was reached: retried after RETRY_SOON


# Q.850 cause → outcome, for calls that were not answered (technical brief §2.4 and §3).
Q850: Mapping[int, Outcome] = MappingProxyType(
    {
        1: Outcome.vacant,  # unallocated number (SIP 404/604)
        22: Outcome.vacant,  # number changed (SIP 410)
        28: Outcome.vacant,  # invalid number format (SIP 484): this number cannot be dialled
        16: Outcome.no_answer,  # normal clearing before any answer
        17: Outcome.busy,  # user busy (SIP 486/600)
        18: Outcome.no_answer,  # no user responding (SIP 408)
        19: Outcome.no_answer,  # alerting, no answer (SIP 480, our Originate timeout)
        26: Outcome.no_answer,  # non-selected user clearing
        31: Outcome.no_answer,  # normal, unspecified
        20: Outcome.powered_off,  # subscriber absent
        21: Outcome.rejected,  # call rejected (SIP 403/603)
        50: Outcome.incoming_barred,  # facility not subscribed
        52: Outcome.incoming_barred,  # outgoing call barred
        54: Outcome.incoming_barred,  # incoming call barred
        55: Outcome.incoming_barred,  # incoming call barred within CUG
        3: Outcome.line_fault,  # no route to destination (SIP 420)
        27: Outcome.line_fault,  # destination out of order (SIP 502)
        29: Outcome.line_fault,  # facility rejected
        34: Outcome.line_fault,  # circuit/channel congestion (SIP 503)
        38: Outcome.line_fault,  # network out of order (SIP 500)
        41: Outcome.line_fault,  # temporary failure
        42: Outcome.line_fault,  # switching equipment congestion
        44: Outcome.line_fault,  # requested channel not available
        47: Outcome.line_fault,  # resource unavailable, unspecified
        58: Outcome.line_fault,  # bearer capability not available (SIP 488/606)
        102: Outcome.line_fault,  # recovery on timer expiry (SIP 504)
        111: Outcome.line_fault,  # protocol error, unspecified
        127: Outcome.line_fault,  # interworking, unspecified (SIP other 4xx)
    }
)

# disposition (set by the answered-call flow) → outcome: every outcome code and its
# Chinese label (``outcomes.lookup``). A disposition that names no outcome decides
# nothing: the dial is classified from the PBX's signals, never as an invented reason.
DISPOSITIONS: Mapping[str, Outcome] = NAMES


def _upper(value: str | None) -> str | None:
    value = (value or "").strip().upper()
    return value or None


def _facts(signals: PbxSignals, early_hangup_s: float) -> Facts:
    dial_status = _upper(signals.dial_status)
    amd = _upper(signals.amd_status)
    response = _upper(signals.originate_response)
    cause = signals.hangup_cause or signals.callee_cause or None  # 0 counts as none
    answered = (
        signals.reason == REASON_ANSWERED
        or dial_status == "ANSWER"
        or signals.answered_at is not None
        or amd is not None
        # A synchronous Originate (no Reason) replies "Success" only for an answered call.
        or (response == "SUCCESS" and signals.reason is None)
    )
    named = lookup(signals.disposition) if signals.disposition else None
    return Facts(
        signals=signals,
        answered=answered,
        cause=cause,
        reason=signals.reason,
        dial_status=dial_status,
        amd=amd,
        disposition=named.value if named is not None else None,
        talk_s=signals.talk_seconds,
        early_hangup_s=early_hangup_s,
    )


def _disposition_is(code: str) -> Callable[[Facts], bool]:
    return lambda f: f.disposition == code


def _cause_is(code: int) -> Callable[[Facts], bool]:
    return lambda f: f.cause == code


def _no_response(f: Facts) -> bool:
    return f.signals.originate_response is None


def _disposition_rules() -> list[Rule]:
    rules = [
        Rule(
            "disposition:inconvenient+callback_at",
            lambda f: f.disposition == "inconvenient" and f.signals.callback_at is not None,
            Outcome.callback_requested,
        )
    ]
    for outcome in Outcome:
        rules.append(Rule(f"disposition:{outcome}", _disposition_is(outcome.value), outcome))
    return rules


def _refused(f: Facts) -> bool:
    return (
        (f.signals.originate_response or "").lower() == "error"
        and f.cause is None
        and not f.answered
        and f.dial_status is None
    )


def _transient(message: object) -> bool:
    text = str(message or "").lower()
    return any(words in text for words in TRANSIENT_REFUSALS)


def _timed_out_unrung(f: Facts) -> bool:
    """Reason 3 (the Originate timed out) before the ring timeout, the callee never rung.

    Reason 3 normally means our ring timeout ran out on a ringing callee. An
    overloaded PBX also times Originates out early, before the callee's line
    was reached (no Ringing, no DialState, no DialEnd): the cause it then gives
    (19 is usual) is its own, not the callee's.
    """
    s = f.signals
    return (
        f.reason == REASON_NO_ANSWER
        and not s.rang
        and f.dial_status is None
        and s.dial_s is not None
        and s.ring_timeout_s is not None
        and s.dial_s < s.ring_timeout_s
    )


def _short_talk(f: Facts) -> bool:
    return f.talk_s is None or f.talk_s < f.early_hangup_s


RULES: tuple[Rule, ...] = (
    # What the answered-call flow heard from the callee beats everything else, even
    # an adapter error that came after it: the call did happen.
    *_disposition_rules(),
    Rule("adapter_error", lambda f: f.signals.error is not None, Outcome.internal_failure),
    # A PBX stopping or overloaded refuses the Originate: nobody was called, and it
    # will take calls again shortly (a configuration error below waits the spacing).
    Rule(
        "originate_refused:pbx_busy",
        lambda f: _refused(f) and _transient(f.signals.raw.get("message")),
        Outcome.internal_failure,
        soon=True,
    ),
    # Synchronous refusal (e.g. "Extension does not exist."): no call was made.
    Rule("originate_refused", _refused, Outcome.internal_failure),
    Rule("amd:machine", lambda f: f.answered and f.amd == "MACHINE", Outcome.answering_machine),
    Rule(
        "amd:hangup",
        lambda f: f.answered and f.amd == "HANGUP" and _short_talk(f),
        Outcome.early_hangup,
    ),
    Rule("answered", lambda f: f.answered, Outcome.answered),
    # Before the causes: an overloaded PBX's early Originate timeout is ours, not the callee's.
    Rule("reason:timeout_before_ringing", _timed_out_unrung, Outcome.internal_failure, soon=True),
    *(Rule(f"q850:{code}", _cause_is(code), outcome) for code, outcome in Q850.items()),
    # Q.850 classes for causes not listed above.
    Rule("q850:resource_unavailable", lambda f: f.cause in range(32, 48), Outcome.line_fault),
    Rule("q850:protocol_error", lambda f: f.cause in range(95, 128), Outcome.line_fault),
    Rule("reason:no_answer", lambda f: f.reason == REASON_NO_ANSWER, Outcome.no_answer),
    Rule("reason:busy", lambda f: f.reason == REASON_BUSY, Outcome.busy),
    Rule("reason:congestion", lambda f: f.reason == REASON_CONGESTION, Outcome.line_fault),
    Rule("dial_status:BUSY", lambda f: f.dial_status == "BUSY", Outcome.busy),
    Rule("dial_status:CONGESTION", lambda f: f.dial_status == "CONGESTION", Outcome.line_fault),
    Rule("dial_status:CHANUNAVAIL", lambda f: f.dial_status == "CHANUNAVAIL", Outcome.line_fault),
    Rule("dial_status:NOANSWER", lambda f: f.dial_status == "NOANSWER", Outcome.no_answer),
    # The PBX failed the Originate without any channel or cause: a channel technology
    # or a callee context that does not exist (bad-channel-tech, nonexistent-callee-context).
    # That is our configuration, not the callee.
    Rule(
        "no_channel",
        lambda f: (
            (f.signals.originate_response or "").lower() == "failure"
            and f.reason in (0, None)
            and f.cause is None
        ),
        Outcome.internal_failure,
    ),
    Rule("unknown_cause", lambda f: f.cause is not None, Outcome.line_fault, known=False),
    Rule("no_signals", _no_response, Outcome.internal_failure, known=False),
    Rule("unknown", lambda f: True, Outcome.line_fault, known=False),
)


def no_callee_reached(signals: PbxSignals) -> bool:
    """A lost dial the PBX dropped while stopping before any callee was reached.

    The adapter marks dials lost to a PBX shutdown or restart (raw ``pbx_stopped``);
    one with no ringing, no answer, no cause and no DialStatus never called
    anybody (an Originate queued but never run, or refused): it is due again after
    ``RETRY_SOON``. A call that rang waits the spacing like any interrupted call.
    """
    return bool(
        signals.lost
        and signals.raw.get("pbx_stopped")
        and not signals.rang
        and signals.answered_at is None
        and signals.hangup_cause is None
        and signals.callee_cause is None
        and signals.dial_status is None
    )


# The disposition rules come first and test only the disposition: none matches a
# result without one, so such a result is matched against the rules after them.
_DISPOSITION_RULES = sum(1 for _ in takewhile(lambda r: r.name.startswith("disposition:"), RULES))
_WITHOUT_DISPOSITION = RULES[_DISPOSITION_RULES:]


def classify(signals: PbxSignals, *, early_hangup_s: float = EARLY_HANGUP_S) -> Classification:
    """The outcome of one dial, by the first rule of ``RULES`` that matches."""
    facts = _facts(signals, early_hangup_s)
    for rule in RULES if facts.disposition is not None else _WITHOUT_DISPOSITION:
        if rule.when(facts):
            return Classification(rule.outcome, rule.known, rule.name, rule.soon)
    raise AssertionError("the last rule matches everything")  # pragma: no cover
