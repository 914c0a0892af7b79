"""Paced Originates over TCP: they reach the PBX in the order dialled, all of them,
and never hold up the other actions (the channel list, pings) queued behind them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from dialerd.domain.ports import AnsweredTarget, DialRequest
from dialerd.pbx.ami.adapter import AmiTelephony
from dialerd.settings import AmiSettings
from tests.integration.transcript_ami import TranscriptAmi

DEADLINE_S = 60.0  # generous: the machine may be busy
DIALS = 5
PACE = 0.5  # one Originate every 2 s: the last leaves at least 8 s after the first


def _until(check: Callable[[], object]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def paced() -> Iterator[tuple[AmiTelephony, TranscriptAmi]]:
    server = TranscriptAmi()
    server.autoplay = False  # the calls stay up: only the wire is under test
    settings = AmiSettings(
        host="127.0.0.1",
        port=server.port,
        secret="s3cret",
        connect_timeout_s=3.0,
        action_timeout_s=6.0,  # a channel list stuck behind the Originates would miss it
        reconnect_min_s=0.05,
        reconnect_max_s=0.2,
    )
    adapter = AmiTelephony(settings, settle_s=0.1, pace=PACE)
    adapter.start(lambda _result: None)
    _until(adapter.is_up)
    yield adapter, server
    adapter.close()
    server.stop()


def _dial(n: int) -> DialRequest:
    return DialRequest(
        attempt_id=500 + n,
        key=f"8-{n}-0-1-001",
        campaign="spring",
        number=f"+86138001380{n:02d}",
        channel=f"Local/138001380{n:02d}@callee-sim",
        caller_id="4000",
        ring_timeout_s=30.0,
        answered=AnsweredTarget(context="dialerd-answered", exten="s"),
    )


def test_paced_originates_arrive_in_order_and_never_block_other_actions(
    paced: tuple[AmiTelephony, TranscriptAmi],
) -> None:
    adapter, server = paced
    requests = [_dial(n) for n in range(DIALS)]
    for request in requests:
        adapter.originate(request)
    # queued behind four paced Originates, the channel list is sent and answered at once
    assert adapter.live_keys() == set()
    assert len(server.originates) < DIALS
    _until(lambda: len(server.originates) == DIALS)
    assert [o["ActionID"] for o in server.originates] == [r.key for r in requests]
    assert server.received.count(b"Action: Originate\r\n") == DIALS  # each sent once
