"""Correlator: order-independent joining of AMI events into one PbxSignals per dial."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialerd.domain.ports import DialResult
from dialerd.pbx.ami.correlate import CORRELATED_EVENTS, Correlator
from dialerd.pbx.ami.protocol import AmiMessage

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LOCAL = "Local/13800000001@callee-sim-00000005"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ev(name: str, **headers: str) -> dict[str, str]:
    return {"Event": name, **{k.replace("_", "-"): v for k, v in headers.items()}}


def chan(uid: str, name: str, linked: str) -> dict[str, str]:
    return {"Uniqueid": uid, "Channel": name, "Linkedid": linked}


def busy_events(uid1: str, uid2: str, tag: str) -> list[dict[str, str]]:
    c1, c2 = chan(uid1, LOCAL + ";1", uid1), chan(uid2, LOCAL + ";2", uid1)
    return [
        ev("Newchannel", **c1, ChannelStateDesc="Down"),
        ev("Newchannel", **c2, ChannelStateDesc="Ring"),
        ev("Newexten", **c1),
        ev("VarSet", **c1, Variable="DIALERD_ATTEMPT", Value=tag),
        ev("VarSet", **c2, Variable="DIALERD_ATTEMPT", Value=tag),
        ev("DialBegin", DestUniqueid=uid1, DestChannel=LOCAL + ";1"),
        ev("Newstate", **c2, ChannelStateDesc="Busy"),
        ev("DialEnd", DestUniqueid=uid1, DestChannel=LOCAL + ";1", DialStatus="BUSY"),
        ev("SoftHangupRequest", **c2, Cause="16"),
        ev("Hangup", **c2, Cause="17", Cause_txt="User busy"),
        ev("Hangup", **c1, Cause="0", Cause_txt="Unknown"),
    ]


def response(key: str, result: str, reason: str, uid: str = "<unknown>") -> dict[str, str]:
    return ev("OriginateResponse", ActionID=key, Response=result, Reason=reason, Uniqueid=uid)


@pytest.fixture
def results() -> list[DialResult]:
    return []


@pytest.fixture
def corr(results: list[DialResult]) -> Correlator:
    return Correlator(results.append, settle_s=1.0)


@pytest.mark.parametrize("response_at", [0, 5, 8, 11])
def test_busy_whatever_the_order(
    corr: Correlator, results: list[DialResult], response_at: int
) -> None:
    corr.expect("c1-k1", 42, 30.0, T0)
    events = busy_events("1795.10", "1795.11", "42")
    events.insert(response_at, response("c1-k1", "Failure", "5"))
    for i, event in enumerate(events):
        corr.feed(event, at(i))
    assert len(results) == 1
    result = results[0]
    assert (result.key, result.attempt_id) == ("c1-k1", 42)
    s = result.signals
    assert (s.originate_response, s.reason, s.hangup_cause, s.callee_cause, s.dial_status) == (
        "Failure",
        5,
        0,
        17,
        "BUSY",
    )
    assert s.raw["callee_cause_txt"] == "User busy" and s.raw["reason"] == "5"
    assert corr.pending() == [] and corr.tracked_channels == 0


def test_join_by_attempt_variable_and_linkedid_without_channel_id(
    corr: Correlator, results: list[DialResult]
) -> None:
    corr.expect("k2", 7, 30.0, T0, attempt_tag="att-7")
    corr.feed(ev("Newchannel", **chan("99.1", "PJSIP/other-1", "99.1")), T0)  # somebody else's call
    for event in busy_events("17.10", "17.11", "att-7"):
        corr.feed(event, at(1))
    assert results == []  # no final word yet
    corr.feed(response("k2", "Failure", "5"), at(2))
    assert [r.signals.callee_cause for r in results] == [17]
    assert corr.tracked_channels == 1  # only the unrelated orphan, until it hangs up
    corr.feed(ev("Hangup", **chan("99.1", "PJSIP/other-1", "99.1"), Cause="16"), at(3))
    assert corr.tracked_channels == 0


def test_answered_call_joined_by_its_originate_response(
    corr: Correlator, results: list[DialResult]
) -> None:
    corr.expect("k3", 3, 30.0, T0)
    c1, c2 = chan("3.1", LOCAL + ";1", "3.1"), chan("3.2", LOCAL + ";2", "3.1")
    corr.feed(ev("Newchannel", **c1), at(0))
    corr.feed(ev("Newchannel", **c2), at(0))
    corr.feed(ev("DialState", DestUniqueid="3.1", DialStatus="RINGING"), at(1))
    corr.feed(ev("Newstate", **c2, ChannelStateDesc="Up"), at(2))
    corr.feed(ev("Newstate", **c1, ChannelStateDesc="Up"), at(2.1))
    corr.feed(ev("DialEnd", DestUniqueid="3.1", DialStatus="ANSWER"), at(2.1))
    corr.feed(response("k3", "Success", "4", uid="3.1"), at(2.2))
    corr.feed(ev("VarSet", **c1, Variable="AMDSTATUS", Value="HUMAN"), at(4))
    corr.feed(ev("VarSet", **c1, Variable="AMDCAUSE", Value="HUMAN-800-800"), at(4))
    corr.feed(ev("VarSet", **c1, Variable="IGNORED", Value="x"), at(4))
    corr.feed(ev("Hangup", **c2, Cause="16"), at(9))
    assert results == []
    corr.feed(ev("Hangup", **c1, Cause="16"), at(9.5))
    (result,) = results
    s = result.signals
    assert (s.amd_status, s.amd_cause, s.rang, s.dial_status) == (
        "HUMAN",
        "HUMAN-800-800",
        True,
        "ANSWER",
    )
    assert (s.answered_at, s.ended_at, s.talk_seconds) == (at(2.1), at(9.5), 7.4)
    assert "IGNORED" not in s.raw["variables"]


def test_failure_without_channels_waits_for_settle(
    corr: Correlator, results: list[DialResult]
) -> None:
    corr.expect("k4", 4, 30.0, T0)
    corr.feed(response("k4", "Failure", "0"), at(1))
    corr.tick(at(1.5))
    assert results == [] and corr.pending()[0].final_word
    corr.tick(at(2))
    assert [(r.signals.originate_response, r.signals.reason) for r in results] == [("Failure", 0)]


def test_sync_error_then_held_back_burst(corr: Correlator, results: list[DialResult]) -> None:
    corr.expect("k5", 5, 30.0, T0, attempt_tag="att-5")
    corr.sync_response("k5", "Error", "Originate failed", at(5))
    for event in busy_events("5.1", "5.2", "att-5"):
        corr.feed(AmiMessage.from_pairs(list(event.items())), at(5))
    corr.tick(at(10))
    (result,) = results
    s = result.signals
    assert (s.originate_response, s.reason, s.callee_cause, s.raw["message"]) == (
        "Error",
        None,
        17,
        "Originate failed",
    )


def test_refused_originate_is_final_after_settle(
    corr: Correlator, results: list[DialResult]
) -> None:
    corr.expect("k6", 6, 30.0, T0)
    corr.sync_response("k6", "Error", "Extension does not exist.", at(0))
    corr.sync_response("k6", "Success", None, at(0.1))  # a second word is ignored
    corr.tick(at(1))
    assert [r.signals.raw["message"] for r in results] == ["Extension does not exist."]


def test_outgoing_spool_failed_channel_is_ignored(
    corr: Correlator, results: list[DialResult]
) -> None:
    corr.expect("k7", 7, 30.0, T0, attempt_tag="att-7")
    spool = chan("7.9", "OutgoingSpoolFailed", "7.9")
    corr.feed(ev("Newchannel", **spool), at(0))
    corr.feed(ev("VarSet", **spool, Variable="DIALERD_ATTEMPT", Value="att-7"), at(0))
    for event in busy_events("7.1", "7.2", "att-7"):
        corr.feed(event, at(1))
    corr.feed(response("k7", "Failure", "5"), at(2))
    corr.feed(ev("Hangup", **spool, Cause="16"), at(3))
    assert len(results) == 1 and "OutgoingSpoolFailed" not in results[0].signals.raw["channels"]
    assert corr.tracked_channels == 0


def test_expire_returns_what_was_collected_and_forgets(
    corr: Correlator, results: list[DialResult]
) -> None:
    corr.expect("k8", 8, 30.0, T0)
    c1 = chan("8.1", LOCAL + ";1", "8.1")
    corr.feed(ev("Newchannel", **c1), at(0))
    corr.feed(ev("VarSet", **c1, Variable="DIALERD_ATTEMPT", Value="8"), at(0))
    corr.feed(ev("Newstate", **c1, ChannelStateDesc="Ringing"), at(1))
    (pending,) = corr.pending()
    assert (pending.key, pending.final_word, pending.live_channels) == ("k8", False, 1)
    result = corr.expire("k8", at(40))
    assert result is not None and result.signals.rang and result.signals.originate_response is None
    assert corr.expire("k8", at(41)) is None
    assert corr.pending() == [] and corr.tracked_channels == 0 and results == []
    corr.feed(ev("Hangup", **c1, Cause="19"), at(42))  # late: ignored
    assert corr.tracked_channels == 0 and results == []


def test_orphans_are_bounded(results: list[DialResult]) -> None:
    corr = Correlator(results.append, max_orphans=50)
    for i in range(500):
        corr.feed(ev("Newchannel", **chan(f"1.{i}", f"PJSIP/x-{i}", f"1.{i}")), T0)
    assert corr.tracked_channels == 50


def test_same_key_twice_is_refused(corr: Correlator) -> None:
    corr.expect("k9", 9, 30.0, T0)
    with pytest.raises(ValueError, match="already pending"):
        corr.expect("k9", 9, 30.0, T0)


def test_responses_and_unknown_events_are_ignored(
    corr: Correlator, results: list[DialResult]
) -> None:
    corr.expect("k10", 10, 30.0, T0)
    corr.feed({"Response": "Success", "ActionID": "k10"}, T0)
    corr.feed(ev("Frobnicate", ActionID="k10", Uniqueid="k10"), T0)
    corr.feed(response("other", "Failure", "0"), T0)
    corr.tick(at(60))
    assert results == [] and len(corr.pending()) == 1


def test_correlated_events_are_the_ones_handled(corr: Correlator) -> None:
    assert set(corr._handlers) == CORRELATED_EVENTS


def test_bound_channels_join_their_later_events(
    corr: Correlator, results: list[DialResult]
) -> None:
    corr.expect("k9", 9, 30.0, T0)  # its Newchannel and VarSet fell into an outage
    c1, c2 = chan("9.1", LOCAL + ";1", "9.1"), chan("9.2", LOCAL + ";2", "9.1")
    corr.bind("k9", [c1, c2])
    corr.bind("nobody", [chan("5.5", "PJSIP/x-1", "5.5")])  # not pending: ignored
    corr.feed(response("k9", "Success", "4", uid="9.1"), at(1))
    corr.feed(ev("Hangup", **c2, Cause="16"), at(5))
    assert results == []
    corr.feed(ev("Hangup", **c1, Cause="16"), at(6))
    (result,) = results
    assert (result.key, result.signals.hangup_cause, result.signals.callee_cause) == ("k9", 16, 16)
    assert corr.tracked_channels == 0


def ringing_then_shutdown(corr: Correlator, key: str) -> None:
    c1, c2 = chan(key, LOCAL + ";1", key), chan(key + "-2", LOCAL + ";2", key)
    corr.bind(key, [c1, c2])  # joined as the production path joins them (VarSet, Linkedid)
    corr.feed(ev("Newchannel", **c1), at(0))
    corr.feed(ev("Newchannel", **c2), at(0))
    corr.feed(ev("Newstate", **c1, ChannelStateDesc="Ringing"), at(1))
    # `core stop now`, as Asterisk 22.10.1 sends it: the shutdown flag (4), then the hangups
    corr.feed(ev("SoftHangupRequest", **c1, Cause="4"), at(3))
    corr.feed(ev("SoftHangupRequest", **c2, Cause="4"), at(3))
    corr.feed(ev("Hangup", **c2, Cause="0"), at(3.1))
    corr.feed(response(key, "Failure", "0", uid=key), at(3.1))
    corr.feed(ev("Hangup", **c1, Cause="0"), at(3.1))


def test_a_dial_the_pbx_hung_up_while_stopping_is_lost(
    corr: Correlator, results: list[DialResult]
) -> None:
    corr.expect("k5", 5, 30.0, T0)
    ringing_then_shutdown(corr, "k5")
    (result,) = results
    assert (result.signals.lost, result.signals.rang) == (True, True)
    assert result.signals.error is not None and "shut down" in result.signals.error


def test_an_adopted_dial_listed_up_is_answered_without_timing(
    corr: Correlator, results: list[DialResult]
) -> None:
    corr.expect("k6", 6, 30.0, at(100))
    corr.adopted("k6", at(100), up=True, ringing=False)
    corr.bind("k6", [chan("k6", LOCAL + ";1", "k6"), chan("k6-2", LOCAL + ";2", "k6")])
    assert corr.answered("k6")
    corr.feed(ev("Hangup", **chan("k6", LOCAL + ";1", "k6"), Cause="16"), at(120))
    corr.feed(ev("Hangup", **chan("k6-2", LOCAL + ";2", "k6"), Cause="16"), at(120))
    assert results == []  # its OriginateResponse went to the dead run: the adapter sweeps it
    result = corr.expire("k6", at(121))
    assert result is not None
    s = result.signals
    assert (s.answered_at, s.hangup_cause, s.dial_s, s.lost) == (at(100), 16, None, False)


def test_an_adopted_ringing_dial_has_rung(corr: Correlator) -> None:
    corr.expect("k7", 7, 30.0, at(100))
    corr.adopted("k7", at(100), up=False, ringing=True)
    corr.feed(response("k7", "Failure", "3", uid="k7"), at(110))
    result = corr.expire("k7", at(111))
    assert result is not None
    assert (result.signals.rang, result.signals.dial_s, result.signals.answered_at) == (
        True,
        None,
        None,
    )


def test_a_dial_without_channels_waits_longer_once_the_events_lag(
    corr: Correlator, results: list[DialResult]
) -> None:
    """An overloaded Asterisk queues channel events seconds behind its OriginateResponses."""
    corr.expect("k1", 1, 30, at(0))
    corr.expect("k2", 2, 30, at(0))
    corr.feed(response("k1", "Failure", "0"), at(1))
    for event in busy_events("u1", "u2", "1"):  # 1.5 s after k1's response
        corr.feed(event, at(2.5))
    assert len(results) == 1 and results[0].signals.callee_cause == 17
    assert corr.settle_s(at(2.5)) == 3.0  # twice the lag seen
    corr.feed(response("k2", "Failure", "0"), at(3))
    corr.tick(at(4.5))  # past settle_s, inside the lag
    assert len(results) == 1
    for event in busy_events("u3", "u4", "2"):  # its events came late, not never
        corr.feed(event, at(5))
    assert [r.attempt_id for r in results] == [1, 2]
    assert results[1].signals.callee_cause == 17


def test_the_lag_is_forgotten_after_a_minute_and_the_wait_is_capped(
    corr: Correlator, results: list[DialResult]
) -> None:
    corr.expect("k1", 1, 30, at(0))
    corr.feed(response("k1", "Failure", "0"), at(0))
    for event in busy_events("u1", "u2", "1"):
        corr.feed(event, at(40))
    assert corr.settle_s(at(40)) == 30.0  # capped
    assert corr.settle_s(at(101)) == 1.0  # forgotten
    corr.expect("k2", 2, 30, at(101))
    corr.feed(response("k2", "Failure", "0"), at(101))
    corr.tick(at(102))
    assert [r.attempt_id for r in results] == [1, 2]


def test_an_answered_call_s_length_is_no_lag(corr: Correlator, results: list[DialResult]) -> None:
    corr.expect("k1", 1, 30, at(0))
    corr.feed(response("k1", "Success", "4"), at(1))
    for event in busy_events("u1", "u2", "1"):  # hung up a minute after the answer
        corr.feed(event, at(61))
    assert len(results) == 1
    assert corr.settle_s(at(61)) == 1.0
