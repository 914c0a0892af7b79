"""AmiParser framing and format_action's refusal of anything that could break framing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialerd.errors import UnsafeDialInput
from dialerd.pbx.ami.client import encode_action
from dialerd.pbx.ami.protocol import (
    AmiMessage,
    AmiParser,
    _parse_block,
    _parse_lines,
    format_action,
)

SESSION = (
    b"Asterisk Call Manager/11.0.0\r\n"
    b"Response: Success\r\nActionID: a-1\r\nMessage: Authentication accepted\r\n\r\n"
    b"Event: VarSet\r\nPrivilege: dialplan,all\r\nUniqueid: k-1\r\n"
    b"Variable: AMDCAUSE\r\nValue: \r\n\r\n"
    b"Event: Hangup\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nCause: 16\r\n\r\n"
)


def _kinds(msgs: list[AmiMessage]) -> list[tuple[str, str]]:
    return [(m.kind, m.name) for m in msgs]


def test_banner_then_messages() -> None:
    parser = AmiParser()
    msgs = parser.feed(SESSION)
    assert _kinds(msgs) == [
        ("banner", "Asterisk Call Manager/11.0.0"),
        ("response", "Success"),
        ("event", "VarSet"),
        ("event", "Hangup"),
    ]
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert msgs[2].get("Value") == "" and msgs[2]["Variable"] == "AMDCAUSE"
    assert parser.pending_bytes == 0


def test_duplicate_headers_are_kept_with_first_and_last_access() -> None:
    hangup = AmiParser().feed(SESSION)[3]
    assert hangup.get_all("ChanVariable") == ["A=1", "B=2"]
    assert hangup.get("ChanVariable") == "A=1"
    assert hangup.get_last("ChanVariable") == "B=2"
    assert "Cause" in hangup and hangup.get("Nope") is None
    assert hangup.as_dict()["ChanVariable"] == "A=1"


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=60))
def test_any_chunking_gives_the_same_messages(sizes: list[int]) -> None:
    parser = AmiParser()
    msgs: list[AmiMessage] = []
    data, i = SESSION, 0
    while data:
        size = sizes[i % len(sizes)]
        msgs += parser.feed(data[:size])
        data, i = data[size:], i + 1
    assert [(m.kind, m.name, m.headers) for m in msgs] == [
        (m.kind, m.name, m.headers) for m in AmiParser().feed(SESSION)
    ]


def test_bare_lf_and_mixed_line_ends_are_accepted() -> None:
    msgs = AmiParser(expect_banner=False).feed(
        b"Event: A\nX: 1\n\nEvent: B\r\nY: 2\r\n\r\nEvent: C\nZ: 3\n\n"
    )
    assert [(m.name, m.headers[1]) for m in msgs] == [
        ("A", ("X", "1")),
        ("B", ("Y", "2")),
        ("C", ("Z", "3")),
    ]


def test_garbage_lines_and_unknown_events_never_stop_the_reader() -> None:
    parser = AmiParser(expect_banner=False)
    msgs = parser.feed(
        b"no colon here\r\nEvent: Newstate\r\nUniqueid: 1\r\n\r\n"
        b"\xff\xfe binary junk\r\n\r\n"
        b"Event: SomethingNew\r\nFoo: bar\r\n\r\n"
        b"Event: Hangup\r\nCause: 17\r\n\r\n"
    )
    assert _kinds(msgs) == [
        ("event", "Newstate"),
        ("garbage", ""),
        ("event", "SomethingNew"),
        ("event", "Hangup"),
    ]
    assert msgs[0].garbage == ["no colon here"]
    assert msgs[1].garbage and "binary junk" in msgs[1].garbage[0]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    (msg,) = AmiParser(expect_banner=False).feed(
        b"Event: X\r\nCallerIDName: \xe5\xbc\xa0\xff\r\n\r\n"
    )
    assert msg["CallerIDName"] == "张\ufffd"


def test_first_line_without_banner_is_parsed_as_a_message() -> None:
    (msg,) = AmiParser().feed(b"Response: Success\r\nPing: Pong\r\n\r\n")
    assert msg.kind == "response" and msg["Ping"] == "Pong"


def test_from_pairs() -> None:
    msg = AmiMessage.from_pairs([("Event", "Hangup"), ("Cause", "16")])
    assert (msg.kind, msg.name, msg["Cause"], len(msg)) == ("event", "Hangup", "16", 2)
    assert list(msg) == ["Event", "Cause"]


def test_format_action() -> None:
    wire = format_action(
        "Originate", [("ActionID", "k-1"), ("Variable", "A=1"), ("Variable", "B=2")]
    )
    assert wire == (b"Action: Originate\r\nActionID: k-1\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n")
    (msg,) = AmiParser(expect_banner=False).feed(wire)
    assert msg.get_all("Variable") == ["A=1", "B=2"]


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("Originate", [("Channel", "PJSIP/1\r\nAction: Command")]),
        ("Originate", [("Channel", "PJSIP/1\nX")]),
        ("Originate", [("Channel", "PJSIP/1\rX")]),
        ("Originate", [("Data", "a\0b")]),
        ("Originate", [("Bad:Key", "v")]),
        ("Originate", [("Bad\r\nKey", "v")]),
        ("Originate", [("", "v")]),
        ("Ping\r\nAction: Logoff", []),
    ],
)
def test_format_action_refuses_framing_breakers(name: str, headers: list[tuple[str, str]]) -> None:
    with pytest.raises(UnsafeDialInput) as exc:
        format_action(name, headers)
    assert "PJSIP" not in str(exc.value)


def test_only_events_filter_drops_other_events_cheaply() -> None:
    parser = AmiParser(only_events={"Hangup"})
    msgs = parser.feed(SESSION + b"Event: Newexten\nX: 1\n\njunk\r\nEvent: Newexten\r\n\r\n")
    assert _kinds(msgs) == [
        ("banner", "Asterisk Call Manager/11.0.0"),
        ("response", "Success"),
        ("event", "Hangup"),
        ("event", "Newexten"),  # behind a garbage line: parsed, not filtered
    ]
    assert parser.skipped == 2


def test_only_variables_filter_keeps_the_named_varsets_and_every_other_event() -> None:
    parser = AmiParser(expect_banner=False, only_variables={"AMDSTATUS", "DIALERD_ATTEMPT"})
    msgs = parser.feed(
        b"Event: VarSet\r\nVariable: MACRO_DEPTH\r\nValue: 0\r\n\r\n"
        b"Event: VarSet\r\nUniqueid: k-1\r\nVariable: AMDSTATUS\r\nValue: HUMAN\r\n\r\n"
        b"Event: VarSet\r\nVariable: AMDSTATUSX\r\n\r\n"  # a longer name is another variable
        b"Event: VarSet\r\nValue: none\r\n\r\n"  # no Variable header at all
        b"Event: Hangup\r\nCause: 16\r\n\r\n"
        b"Event: VarSet\nVariable: DIALERD_ATTEMPT\n\n"  # bare LF, name on the last line
    )
    assert [(m.name, m.get("Variable")) for m in msgs] == [
        ("VarSet", "AMDSTATUS"),
        ("Hangup", None),
        ("VarSet", "DIALERD_ATTEMPT"),
    ]
    assert parser.skipped == 3


@given(
    st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=60),
    st.sampled_from([{"VarSet", "Hangup"}, {"VarSet"}, {"Hangup"}]),
    st.sampled_from([{"AMDCAUSE"}, {"AMDSTATUS"}]),
)
def test_filters_give_the_same_messages_as_filtering_after_the_parse(
    sizes: list[int], wanted: set[str], variables: set[str]
) -> None:
    parser = AmiParser(only_events=wanted, only_variables=variables)
    msgs: list[AmiMessage] = []
    data, i = SESSION, 0
    while data:
        msgs += parser.feed(data[: sizes[i % len(sizes)]])
        data, i = data[sizes[i % len(sizes)] :], i + 1
    expected = [
        m
        for m in AmiParser().feed(SESSION)
        if m.kind != "event"
        or (m.name in wanted and (m.name != "VarSet" or m.get("Variable") in variables))
    ]
    assert [(m.kind, m.headers) for m in msgs] == [(m.kind, m.headers) for m in expected]


def test_encode_action_matches_format_action_and_refuses_line_breaks() -> None:
    headers = [("ActionID", "k-1"), ("Channel", "PJSIP/1@t"), ("Variable", "A=1")]
    assert encode_action("Originate", headers) == format_action("Originate", headers)
    for bad in ("1\r\nAction: Command", "1\n", "1\r", "1\0"):
        with pytest.raises(UnsafeDialInput, match="Channel"):
            encode_action("Originate", [("Channel", bad)])


LINE = st.text(alphabet="Ab-: \r\n\u5f20", max_size=12)


@given(st.lists(st.one_of(LINE, st.sampled_from(["Event: Hangup", "Key: v: w", "Key:", ": v"]))))
def test_the_fast_path_parses_every_message_as_the_line_by_line_path(lines: list[str]) -> None:
    text = "\r\n".join(lines)
    fast, slow = _parse_block(text), _parse_lines(text)
    assert (fast.kind, fast.name, fast.headers) == (slow.kind, slow.name, slow.headers)
    assert fast.garbage == slow.garbage


@given(st.text(alphabet="AMD \r\n:", max_size=14), st.sampled_from(["\r\n", "\n"]))
def test_the_varset_filter_reads_the_variable_as_the_parse_does(value: str, eol: str) -> None:
    block = f"Event: VarSet{eol}Uniqueid: 1{eol}Variable: {value}{eol}Value: x{eol}{eol}"
    filtered = AmiParser(expect_banner=False, only_variables={"AMD", "AMD "}).feed(block.encode())
    parsed = AmiParser(expect_banner=False).feed(block.encode())
    expected = [m for m in parsed if m.name != "VarSet" or m.get("Variable") in {"AMD", "AMD "}]
    assert [m.headers for m in filtered] == [m.headers for m in expected]
