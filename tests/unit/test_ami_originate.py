"""The Originate dialerd writes, and how live channels are traced back to dial keys."""

from __future__ import annotations

from dataclasses import replace

from dialerd.domain.ports import AnsweredTarget, DialRequest
from dialerd.pbx.ami.originate import calls_of_channels, originate_headers
from dialerd.pbx.ami.protocol import AmiMessage

REQUEST = DialRequest(
    attempt_id=5,
    key="3-1-0-1-001",
    campaign="c",
    number="13800000001",
    channel="Local/13800000001@callee-sim",
    caller_id="4000",
    ring_timeout_s=30,
    answered=AnsweredTarget(context="dialerd-answered", exten="s"),
)


def _row(uid: str, link: str, name: str, account: str = "") -> AmiMessage:
    pairs = [("Event", "CoreShowChannel"), ("Channel", name), ("AccountCode", account)]
    return AmiMessage.from_pairs([*pairs, ("Uniqueid", uid), ("Linkedid", link)])


def _variables(headers: list[tuple[str, str]]) -> dict[str, str]:
    return dict(value.split("=", 1) for name, value in headers if name == "Variable")


def test_no_assigned_channel_ids_and_the_key_only_as_the_account() -> None:
    headers = originate_headers(REQUEST, "site-a-")
    names = [name for name, _ in headers]
    assert "ChannelId" not in names and "OtherChannelId" not in names
    assert ("Account", "3-1-0-1-001") in headers
    # every variable costs Asterisk a VarSet on each channel half: none is sent in vain
    assert _variables(headers) == {"DIALERD_ATTEMPT": "5"}


def test_a_recording_campaign_names_its_file() -> None:
    headers = originate_headers(replace(REQUEST, record=True), "site-a-")
    assert _variables(headers) == {
        "DIALERD_ATTEMPT": "5",
        "DIALERD_RECORD": "1",
        "DIALERD_RECORDING": "site-a-3-1-0-1-001",
    }


def test_a_campaign_variable_cannot_pose_as_one_of_dialerds() -> None:
    forged = {
        "DIALERD_KEY": "forged",
        "DIALERD_RECORD": "1",
        "DIALERD_RECORDING": "../x",
        "DIALERD_ATTEMPT": "9",
        "LANG": "zh",
    }
    headers = originate_headers(replace(REQUEST, variables=forged))
    assert _variables(headers) == {"LANG": "zh", "DIALERD_ATTEMPT": "5"}
    recorded = originate_headers(replace(REQUEST, variables=forged, record=True), "p-")
    assert _variables(recorded)["DIALERD_RECORDING"] == "p-3-1-0-1-001"


def test_keys_are_the_calls_account_codes() -> None:
    rows = [
        _row("2.2", "2.1", "Local/2@x-2;2"),  # listed before Asterisk gave it the code
        _row("2.1", "2.1", "Local/2@x-2;1", "k2"),
        _row("3.5", "3.4", "PJSIP/carrier-5", "k3"),  # its originated channel is gone
        _row("3.6", "3.4", "Local/3@x-3;2", "k3"),
        _row("4.1", "4.1", "Local/4@x-4;1"),  # its code not set yet: the ;2 half has it
        _row("4.2", "4.1", "Local/4@x-4;2", "k4"),
        _row("5.1", "5.1", "Local/agent@q-5;1", "k5"),  # an agent leg with the caller's
        _row("9.1", "9.1", "PJSIP/inbound-1"),  # somebody else's call
    ]
    calls = calls_of_channels(rows)
    assert calls == {"k2": rows[:2], "k3": rows[2:4], "k4": rows[4:6], "k5": rows[6:7]}


def test_the_originated_channels_code_names_the_call() -> None:
    rows = [
        _row("6.2", "6.1", "PJSIP/agent-7", "agents"),  # a leg with a code of its own
        _row("6.1", "6.1", "Local/6@x-6;1", "k6"),
    ]
    assert calls_of_channels(rows) == {"k6": rows}
    assert calls_of_channels([]) == {}
