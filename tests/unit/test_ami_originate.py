"""The Originate dialerd writes, and how live channels are traced back to dial keys."""

from __future__ import annotations

from collections.abc import Sequence

from dialerd.domain.ports import AnsweredTarget, DialRequest
from dialerd.pbx.ami.originate import calls_of_channels, originate_headers
from dialerd.pbx.ami.protocol import AmiMessage


def _row(uid: str, link: str, name: str, *chanvars: str) -> AmiMessage:
    pairs = [("Event", "CoreShowChannel"), ("Channel", name), ("Uniqueid", uid)]
    pairs += [("Linkedid", link), *(("ChanVariable", v) for v in chanvars)]
    return AmiMessage.from_pairs(pairs)


def test_no_assigned_channel_ids_and_the_key_as_a_variable() -> None:
    request = DialRequest(
        attempt_id=5,
        key="3-1-0-1-001",
        campaign="c",
        number="13800000001",
        channel="Local/13800000001@callee-sim",
        caller_id="4000",
        ring_timeout_s=30,
        answered=AnsweredTarget(context="dialerd-answered", exten="s"),
    )
    headers = originate_headers(request)
    names = [name for name, _ in headers]
    assert "ChannelId" not in names and "OtherChannelId" not in names
    assert ("Variable", "DIALERD_KEY=3-1-0-1-001") in headers
    assert ("Variable", "DIALERD_ATTEMPT=5") in headers


def test_keys_from_chanvariable_without_asking() -> None:
    rows = [
        _row("1.1", "1.1", "Local/1@x-1;1", "DIALERD_KEY=k1"),
        _row("1.2", "1.1", "Local/1@x-1;2", "DIALERD_KEY=k1"),
    ]

    def getvar(pairs: Sequence[tuple[str, str]]) -> list[str]:
        raise AssertionError(f"asked for {pairs}")

    assert calls_of_channels(rows, getvar) == {"k1": rows}


def test_getvar_per_call_originated_channel_first_then_the_others() -> None:
    rows = [
        _row("2.2", "2.1", "Local/2@x-2;2"),
        _row("2.1", "2.1", "Local/2@x-2;1"),
        _row("3.5", "3.4", "PJSIP/carrier-5"),  # its originated channel is gone
        _row("3.6", "3.4", "Local/3@x-3;2"),
        _row("9.1", "9.1", "PJSIP/inbound-1"),  # somebody else's call
    ]
    values = {"Local/2@x-2;1": "k2", "Local/3@x-3;2": "k3"}
    asked: list[list[str]] = []

    def getvar(pairs: Sequence[tuple[str, str]]) -> list[str]:
        assert all(variable == "DIALERD_KEY" for _, variable in pairs)
        asked.append([channel for channel, _ in pairs])
        return [values.get(channel, "") for channel, _ in pairs]

    calls = calls_of_channels(rows, getvar)
    assert calls == {"k2": rows[:2], "k3": rows[2:4]}
    assert asked == [["Local/2@x-2;1", "PJSIP/carrier-5", "PJSIP/inbound-1"], ["Local/3@x-3;2"]]
    assert calls_of_channels(rows) == {}  # no channelvars and no way to ask
