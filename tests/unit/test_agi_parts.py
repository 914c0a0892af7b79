"""FastAGI's pure parts: tokens, bounded line framing, the held-answer checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialerd.domain.ports import AnsweredTarget, DialRequest
from dialerd.domain.wire import check_dial_request
from dialerd.pbx.agilines import LineBuffer, LineTooLong
from dialerd.pbx.agitoken import TOKEN_HEX, AgiTokens
from dialerd.pbx.ami.originate import originate_headers
from dialerd.pbx.fastagi import AnsweredInfo, HeldAnswer, Verdict


def test_tokens_are_per_attempt_and_per_secret() -> None:
    tokens = AgiTokens("s3cret")
    token = tokens.token(42)
    assert len(token) == TOKEN_HEX and int(token, 16) >= 0
    assert tokens.verify(42, token) and tokens.verify(42, token.upper())
    assert not tokens.verify(43, token)
    assert not tokens.verify(42, None) and not tokens.verify(42, "")
    assert not tokens.verify(42, "令牌")  # non-ASCII is compared, not an error
    assert not AgiTokens("other").verify(42, token)
    assert AgiTokens("s3cret").token(42) == token  # daemons sharing a secret agree
    assert tokens.variables(42) == {"DIALERD_TOKEN": token}
    assert "s3cret" not in repr(tokens)


def test_without_a_secret_each_signer_has_its_own() -> None:
    assert AgiTokens().token(1) != AgiTokens().token(1)


def test_lines_are_split_and_bounded() -> None:
    lines = LineBuffer(16)
    lines.feed(b"agi_arg_1: 42\r\nagi_ar")
    assert lines.next_line() == "agi_arg_1: 42"
    assert lines.next_line() is None
    lines.feed(b"g_2: x\n\n")
    assert [lines.next_line(), lines.next_line(), lines.next_line()] == ["agi_arg_2: x", "", None]
    with pytest.raises(LineTooLong):
        lines.feed(b"y" * 17)
    too_long = LineBuffer(16)
    too_long.feed(b"z" * 17 + b"\n")  # a whole line in one read: refused when taken
    with pytest.raises(LineTooLong):
        too_long.next_line()


def test_a_held_answer_takes_one_disposition_after_the_answer() -> None:
    held = HeldAnswer()
    said = AnsweredInfo(disposition="completed")
    assert held.take(said, answered_by_pbx=False) is Verdict.not_answered
    answered = AnsweredInfo(answered_at=datetime(2026, 11, 23, tzinfo=UTC), amd_status="HUMAN")
    assert held.take(answered, answered_by_pbx=False) is Verdict.accepted
    assert held.take(said, answered_by_pbx=False) is Verdict.accepted
    again = AnsweredInfo(disposition="dnc_requested")
    assert held.take(again, answered_by_pbx=True) is Verdict.already_recorded
    assert held.info == answered.merged(said)


def test_the_token_rides_on_the_originate_as_a_channel_variable() -> None:
    tokens = AgiTokens("s3cret")
    request = DialRequest(
        attempt_id=7,
        key="1-2-1-1-1",
        campaign="spring",
        number="+8613800138000",
        channel="PJSIP/8613800138000@carrier",
        caller_id="4000",
        ring_timeout_s=30,
        answered=AnsweredTarget(context="dialerd-answered", exten="s"),
        variables=tokens.variables(7),
    )
    check_dial_request(request)  # safe on the wire
    headers = originate_headers(request)
    assert ("Variable", f"DIALERD_TOKEN={tokens.token(7)}") in headers
    assert ("Variable", "DIALERD_ATTEMPT=7") in headers
