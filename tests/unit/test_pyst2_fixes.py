"""The patched pyst2 reader: parsing, filtering and routing of AMI text, without a socket."""

from __future__ import annotations

from typing import Any

import pytest
from asterisk.manager import ManagerMsg

from dialerd.errors import UnsafeDialInput
from dialerd.pbx.ami.client import WANTED_EVENTS, WANTED_VARIABLES, encode_action
from dialerd.pbx.ami.protocol import format_action
from dialerd.pbx.ami.pyst2_fixes import DialerdManager, FixedManagerMsg, parse_headers

HANGUP = (
    "Event: Hangup\r\nPrivilege: call,all\r\nUniqueid: k-1\r\nCause: 17\r\nCause-txt: User busy"
)
NEWEXTEN = "Event: Newexten\r\nPrivilege: dialplan,all\r\nUniqueid: k-1\r\nApplication: AMD"
VARSET_AMD = "Event: VarSet\r\nPrivilege: dialplan,all\r\nVariable: AMDSTATUS\r\nValue: HUMAN"
VARSET_OTHER = "Event: VarSet\r\nPrivilege: dialplan,all\r\nVariable: MACRO_DEPTH\r\nValue: 0"


def _manager() -> DialerdManager:
    return DialerdManager(WANTED_EVENTS, WANTED_VARIABLES)


def test_chanvariable_headers_parse_instead_of_crashing() -> None:
    text = (
        "Event: Newchannel\r\nChannel: Local/1@x;1\r\nChanVariable: DIALERD_ATTEMPT=\r\n"
        "ChanVariable: DIALERD_KEY=k-1\r\nDestChanVariable: A=b=c"
    )
    headers, data = parse_headers(text)
    assert headers["Event"] == "Newchannel"
    assert headers["ChanVariable"] == {"DIALERD_ATTEMPT": "", "DIALERD_KEY": "k-1"}
    assert headers["DestChanVariable"] == {"A": "b=c"}
    assert data == ""
    message = FixedManagerMsg([line + "\r\n" for line in text.split("\r\n")])
    assert message.headers["ChanVariable"]["DIALERD_KEY"] == "k-1"


def test_headers_without_a_space_and_trailing_data() -> None:
    headers, data = parse_headers("Response: Follows\r\nActionID:7\r\nno colon here\r\nmore")
    assert headers == {"Response": "Follows", "ActionID": "7"}
    assert data == "no colon here\r\nmore"


def test_only_wanted_events_and_variables_come_through_in_order() -> None:
    manager = _manager()
    text = "\r\n\r\n".join([NEWEXTEN, HANGUP, VARSET_OTHER, VARSET_AMD, NEWEXTEN])
    batch = manager._split(text)
    assert [(h["Event"], h.get("Variable")) for h in batch] == [
        ("Hangup", None),
        ("VarSet", "AMDSTATUS"),
    ]
    assert batch[0]["Cause-txt"] == "User busy"


def test_junk_in_front_of_a_message_does_not_lose_it() -> None:
    manager = _manager()
    batch = manager._split(f"garbage line without a colon\r\n{HANGUP}")
    assert [h["Event"] for h in batch] == ["Hangup"]


def test_responses_are_routed_by_action_id_not_fifo() -> None:
    manager = _manager()
    got: dict[str, ManagerMsg] = {}
    manager.expect("a-1", lambda m: got.__setitem__("a-1", m))
    manager.expect("a-2", lambda m: got.__setitem__("a-2", m))
    manager._split(
        "Response: Success\r\nActionID: a-2\r\nPing: Pong\r\n\r\n"
        "Response: Error\r\nActionID: a-1\r\nMessage: Originate failed"
    )
    assert got["a-1"].get_header("Message") == "Originate failed"
    assert got["a-2"].get_header("Ping") == "Pong"
    unclaimed = "Response: Success\r\nActionID: pyst2-1\r\nMessage: Authentication accepted"
    manager._split(unclaimed)
    assert manager._response_queue.get_nowait().get_header("ActionID") == "pyst2-1"


def test_list_action_events_go_to_their_collector() -> None:
    manager = _manager()
    rows: list[dict[str, Any]] = []

    def collect(headers: dict[str, Any]) -> bool:
        rows.append(headers)
        return headers["Event"] == "CoreShowChannelsComplete"

    manager.expect_list("c-1", collect)
    manager._split(
        "Event: CoreShowChannel\r\nActionID: c-1\r\nUniqueid: k-1\r\n\r\n"
        f"{HANGUP}\r\n\r\n"
        "Event: CoreShowChannelsComplete\r\nActionID: c-1\r\nListItems: 1"
    )
    assert [r["Event"] for r in rows] == ["CoreShowChannel", "CoreShowChannelsComplete"]
    assert "c-1" not in manager._lists


def test_encode_action_matches_format_action_and_refuses_line_breaks() -> None:
    headers = [("ActionID", "k-1"), ("Channel", "PJSIP/1@t"), ("Variable", "A=1")]
    assert encode_action("Originate", headers) == format_action("Originate", headers)
    for bad in ("1\r\nAction: Command", "1\n", "1\r", "1\0"):
        with pytest.raises(UnsafeDialInput, match="Channel"):
            encode_action("Originate", [("Channel", bad)])
