"""AMD's verdict read back from the answered channels of calls listed live."""

from __future__ import annotations

from collections.abc import Sequence

from dialerd.pbx.ami.outage import RINGING, UP, amd_readings
from dialerd.pbx.ami.protocol import AmiMessage


def _row(uid: str, link: str, name: str, state: str) -> AmiMessage:
    pairs = [("Event", "CoreShowChannel"), ("Channel", name), ("Uniqueid", uid)]
    return AmiMessage.from_pairs([*pairs, ("Linkedid", link), ("ChannelState", state)])


def test_only_the_answered_originated_channels_are_asked_and_fed_as_varsets() -> None:
    calls = {
        "machine": [
            _row("1.2", "1.1", "Local/1@x-1;2", UP),
            _row("1.1", "1.1", "Local/1@x-1;1", UP),
        ],
        "ringing": [_row("2.1", "2.1", "Local/2@x-2;1", RINGING)],
        "undecided": [_row("3.1", "3.1", "PJSIP/carrier-00000003", UP)],
        "unsafe": [_row("4.1", "4.1", "Local/4@x-4 ;1", UP)],  # a space: never sent back
    }
    asked: list[tuple[str, str]] = []
    values = {
        "Local/1@x-1;1": {"AMDSTATUS": "MACHINE", "AMDCAUSE": "LONGGREETING-1500-1500"},
        "PJSIP/carrier-00000003": {"AMDSTATUS": "", "AMDCAUSE": ""},  # AMD still listening
    }

    def getvar(pairs: Sequence[tuple[str, str]]) -> list[str]:
        asked.extend(pairs)
        return [values[channel][name] for channel, name in pairs]

    readings = amd_readings(calls, getvar)
    assert asked == [
        ("Local/1@x-1;1", "AMDSTATUS"),
        ("Local/1@x-1;1", "AMDCAUSE"),
        ("PJSIP/carrier-00000003", "AMDSTATUS"),
        ("PJSIP/carrier-00000003", "AMDCAUSE"),
    ]
    where = {"Channel": "Local/1@x-1;1", "Uniqueid": "1.1", "Linkedid": "1.1"}
    assert readings == [
        {"Event": "VarSet", **where, "Variable": "AMDSTATUS", "Value": "MACHINE"},
        {"Event": "VarSet", **where, "Variable": "AMDCAUSE", "Value": "LONGGREETING-1500-1500"},
    ]


def test_nothing_answered_asks_nothing() -> None:
    calls = {"ringing": [_row("2.1", "2.1", "Local/2@x-2;1", RINGING)]}

    def getvar(pairs: Sequence[tuple[str, str]]) -> list[str]:
        raise AssertionError(f"asked {pairs}")

    assert amd_readings(calls, getvar) == []
