"""Every recorded Asterisk 22 transcript, replayed into the Correlator two ways.

* ``replay``: the pure AmiParser, fed the bytes in random-sized chunks with the
  recording's timing, unknown events and garbage lines injected between messages;
* ``replay_client``: the production AmiClient (pyst2 underneath, its reader,
  filters and ActionID routing) connected to a loopback server that plays the
  recorded session back while the client sends the recorded actions.

The PbxSignals must carry what the transcripts README
(dialerd/pbx/transcripts/README.md) documents, and classify to the outcome the
recording's name says.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from dialerd.domain.ports import DialResult, PbxSignals
from dialerd.pbx import transcripts
from dialerd.pbx.ami.client import WANTED_EVENTS, AmiClient, AmiLoginRejected
from dialerd.pbx.ami.correlate import CORRELATED_EVENTS, KEPT_VARIABLES, Correlator
from dialerd.pbx.ami.protocol import AmiMessage, AmiParser
from dialerd.settings import AmiSettings
from tests.amikit import signal_fields
from tests.integration.transcript_ami import DEADLINE_S, ReplayAmi

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
JUNK = (
    b"this line is not a header\r\n",
    b"Event: FrobnicatorReport\r\nPrivilege: system,all\r\nWidgets: 3\r\n\r\n",
    b"\x00\xffgarbage\r\n\r\n",
)

# name: (Response, Reason, ;1 cause, ;2 cause, DialStatus, rang, AMDSTATUS, AMDCAUSE, answered)
S, F, E = "Success", "Failure", "Error"
HUMAN = ("HUMAN", "HUMAN-800-800")
EXPECTED_SIGNALS: dict[str, tuple[object, ...]] = {
    "answered-human": (S, 4, 16, 16, "ANSWER", False, *HUMAN, True),
    "busy": (F, 5, 0, 17, "BUSY", False, None, None, False),
    "no-answer": (F, 3, 19, 19, None, True, None, None, False),
    "unallocated": (F, 0, 1, 1, "NOANSWER", False, None, None, False),
    "rejected": (F, 0, 21, 21, "NOANSWER", False, None, None, False),
    "congestion": (F, 8, 0, 34, "CONGESTION", False, None, None, False),
    "subscriber-absent": (F, 0, 20, 20, "CHANUNAVAIL", False, None, None, False),
    "answered-early-hangup": (S, 4, 16, 16, "ANSWER", False, "HANGUP", "", True),
    "answering-machine": (S, 4, 16, 16, "ANSWER", False, "MACHINE", "LONGGREETING-1500-1500", True),
    "no-user-responding": (F, 0, 18, 18, "NOANSWER", False, None, None, False),
    "x-answered-after-ringing": (S, 4, 16, 16, "ANSWER", True, *HUMAN, True),
    "x-cause17-no-busy-indication": (F, 0, 17, 17, "BUSY", False, None, None, False),
    "x-no-answer-no-ringing": (F, 3, 19, 19, None, False, None, None, False),
    "x-cause34-circuit-congestion": (F, 0, 34, 34, "CONGESTION", False, None, None, False),
    "x-cause38-network-out-of-order": (F, 0, 38, 38, "NOANSWER", False, None, None, False),
    "x-answered-dead-air": (S, 4, 16, 16, "ANSWER", False, "NOTSURE", "TOOLONG-4900", True),
    "x-cause19-no-answer": (F, 0, 19, 19, "NOANSWER", False, None, None, False),
    "answered-application-wait": (S, 4, 16, 16, "ANSWER", False, None, None, True),
    "busy-application-wait": (F, 5, 0, 17, "BUSY", False, None, None, False),
    "busy-failed-ext": (F, 5, 0, 17, "BUSY", False, None, None, False),
    "no-answer-failed-ext": (F, 3, 19, 19, None, True, None, None, False),
    "answered-human-fastagi": (S, 4, 0, 0, "ANSWER", False, *HUMAN, True),
    "nonexistent-context": (E, None, None, None, None, False, None, None, False),
    "nonexistent-callee-context": (F, 0, 0, 0, None, False, None, None, False),
    "bad-channel-tech": (F, 0, None, None, None, False, None, None, False),
    "sync-answered-human": (S, None, 16, 16, "ANSWER", False, *HUMAN, True),
    "sync-busy": (E, None, 0, 17, "BUSY", False, None, None, False),
    "sync-no-answer": (E, None, 19, 19, None, True, None, None, False),
    "chanvars-answered-human": (S, 4, 16, 16, "ANSWER", False, *HUMAN, True),
    "chanvars-busy": (F, 5, 0, 17, "BUSY", False, None, None, False),
}
QUEUE_RECORDINGS = (
    "queue-all-agents-paused",
    "queue-answered-agent",
    "queue-caller-abandons",
    "queue-four-calls-two-agents",
    "queue-pause-unpause",
    "queue-status",
)
DIGIT_TRANSCRIPT = (
    "answered-human",
    "busy",
    "no-answer",
    "unallocated",
    "rejected",
    "congestion",
    "subscriber-absent",
    "answered-early-hangup",
    "answering-machine",
    "no-user-responding",
)
EXPECTED_OUTCOME = {
    **dict.fromkeys(
        (
            "answered-human",
            "x-answered-after-ringing",
            "chanvars-answered-human",
            "sync-answered-human",
            "answered-application-wait",
            "answered-human-fastagi",
            "x-answered-dead-air",
        ),
        "answered",
    ),
    **dict.fromkeys(
        (
            "busy",
            "busy-application-wait",
            "busy-failed-ext",
            "chanvars-busy",
            "sync-busy",
            "x-cause17-no-busy-indication",
        ),
        "busy",
    ),
    **dict.fromkeys(
        (
            "no-answer",
            "no-answer-failed-ext",
            "x-no-answer-no-ringing",
            "x-cause19-no-answer",
            "sync-no-answer",
            "no-user-responding",
        ),
        "no_answer",
    ),
    "unallocated": "vacant",
    "rejected": "rejected",
    **dict.fromkeys(
        ("congestion", "x-cause34-circuit-congestion", "x-cause38-network-out-of-order"),
        "line_fault",
    ),
    "subscriber-absent": "powered_off",
    "answered-early-hangup": "early_hangup",
    "answering-machine": "answering_machine",
    **dict.fromkeys(
        ("nonexistent-context", "nonexistent-callee-context", "bad-channel-tech"),
        "internal_failure",
    ),
}


@dataclass
class Replay:
    results: dict[str, DialResult]
    garbage_lines: int
    unknown_events: int
    messages: list[tuple[str, str, list[tuple[str, str]]]]
    replies: dict[str, AmiMessage] = field(default_factory=dict)


def _actions(name: str) -> list[list[tuple[str, str]]]:
    """The header pairs of every action the recording's client sent, in order."""
    sent = transcripts.load(name).sent.decode()
    return [
        [tuple(line.split(": ", 1)) for line in block.split("\r\n")]  # type: ignore[misc]
        for block in sent.split("\r\n\r\n")
        if block
    ]


def _originates(name: str) -> list[tuple[str, str, bool]]:
    """(ActionID, DIALERD_ATTEMPT value, async) of every Originate the client sent."""
    sent = transcripts.load(name).sent.decode()
    found = []
    for block in sent.split("\r\n\r\n"):
        if "Action: Originate" in block:
            action_id = re.search(r"ActionID: (.+)", block)
            tag = re.search(r"Variable: DIALERD_ATTEMPT=(.+)", block)
            assert action_id and tag
            found.append((action_id[1].strip(), tag[1].strip(), "Async: true" in block))
    return found


def _correlator(name: str, results: dict[str, DialResult]) -> tuple[Correlator, dict[str, bool]]:
    """A correlator expecting the recording's dials, and whether each was Async."""
    correlator = Correlator(lambda r: results.__setitem__(r.key, r), settle_s=1.0)
    asyncs = {}
    for action_id, tag, is_async in _originates(name):
        correlator.expect(action_id, 1, 5.0, T0, attempt_tag=tag)
        asyncs[action_id] = is_async
    return correlator, asyncs


def _pieces(name: str, rng: random.Random, junk_rate: float) -> list[tuple[float, bytes]]:
    """The received bytes as (time, piece), junk injected at message ends, randomly chunked."""
    recording = transcripts.load(name)
    pieces: list[tuple[float, bytes]] = []
    for recorded in recording.chunks:
        if recorded.direction != "recv":
            continue
        t, chunk = recorded.at_s, recording.data(recorded)
        parts = chunk.split(b"\r\n\r\n")
        for i in range(len(parts) - 1):
            junk = rng.choice(JUNK) if rng.random() < junk_rate else b""
            parts[i] += b"\r\n\r\n" + junk
        chunk = b"".join(parts)
        while chunk:
            size = rng.randint(1, 700)
            pieces.append((t, chunk[:size]))
            chunk = chunk[size:]
    return pieces


def replay(name: str, seed: int = 0, junk_rate: float = 0.3, filtered: bool = False) -> Replay:
    """The recording through the pure AmiParser."""
    results: dict[str, DialResult] = {}
    correlator, asyncs = _correlator(name, results)
    parser = AmiParser(
        only_events=CORRELATED_EVENTS if filtered else None,
        only_variables=KEPT_VARIABLES if filtered else None,
    )
    garbage = unknown = 0
    messages = []
    now = T0
    for t, piece in _pieces(name, random.Random(seed), junk_rate):
        now = T0 + timedelta(seconds=t)
        for msg in parser.feed(piece):
            garbage += len(msg.garbage)
            unknown += msg.name == "FrobnicatorReport"
            if msg.name != "FrobnicatorReport" and msg.kind != "garbage":
                messages.append((msg.kind, msg.name, msg.headers))
            action_id = msg.get("ActionID") or ""
            if msg.kind == "response" and action_id in asyncs:
                if not asyncs[action_id] or msg.name == "Error":
                    correlator.sync_response(action_id, msg.name, msg.get("Message"), now)
            correlator.feed(msg, now)
        correlator.tick(now)
    correlator.tick(now + timedelta(seconds=2))
    assert correlator.pending() == []
    return Replay(results, garbage, unknown, messages)


def _until(check: Callable[[], object]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def replay_client(
    name: str, seed: int = 0, junk_rate: float = 0.3, filtered: bool = True
) -> Replay:
    """The recording played to the production AmiClient, which sends the recorded actions.

    ``filtered``: the client's production event filters (else it keeps every event).
    Each message is handed to the correlator at its recorded time; the replay
    ends when the server closes the connection after its last recorded read.
    """
    results: dict[str, DialResult] = {}
    correlator, asyncs = _correlator(name, results)
    server = ReplayAmi(name, seed=seed, junk_rate=junk_rate, junk=JUNK)
    messages: list[tuple[str, str, list[tuple[str, str]]]] = []
    replies: dict[str, AmiMessage] = {}
    last = [T0]

    def now() -> datetime:
        last[0] = T0 + timedelta(seconds=server.time_at(client.bytes_received))
        return last[0]

    def on_events(events: list[AmiMessage]) -> None:
        at = now()
        for msg in events:
            if msg.name != "FrobnicatorReport":
                messages.append((msg.kind, msg.name, msg.headers))
            correlator.feed(msg, at)
        correlator.tick(at)

    def on_reply(action_id: str) -> Callable[[AmiMessage], None]:
        def handle(msg: AmiMessage) -> None:
            replies[action_id] = msg
            if action_id in asyncs and (not asyncs[action_id] or msg.name == "Error"):
                correlator.sync_response(action_id, msg.name, msg.get("Message"), now())

        return handle

    settings = AmiSettings(port=server.port, connect_timeout_s=DEADLINE_S)
    settings.action_timeout_s = DEADLINE_S
    kept = {} if filtered else {"wanted_events": None, "wanted_variables": None}
    client = AmiClient(settings, on_events, **kept)
    server.consumed = lambda: client.bytes_received
    try:
        client.connect()
        for n, (action, *headers) in enumerate(_actions(name)[1:]):  # after the Login
            action_id = dict(headers).get("ActionID") or f"unrecorded-{n}"
            rest = [(k, v) for k, v in headers if k != "ActionID"]
            client.send_nowait(action[1], rest, action_id, on_reply(action_id))
        _until(lambda: not client.connected())
    finally:
        client.close()
        server.stop()
    assert server.error is None, server.error
    correlator.tick(last[0] + timedelta(seconds=2))
    assert correlator.pending() == []
    return Replay(results, 0, 0, messages, replies)


def _fields(s: PbxSignals) -> tuple[object, ...]:
    """signal_fields with the AMD cause, which the replay tables also give."""
    *head, answered = signal_fields(s)
    return (*head, s.amd_cause, answered)


def _classify(signals: PbxSignals) -> str:
    classify = pytest.importorskip("dialerd.domain.classify")
    return str(classify.classify(signals).outcome)


def test_every_transcript_is_covered() -> None:
    names = set(transcripts.names())
    assert names == set(EXPECTED_SIGNALS) | {"concurrent-10", "ping", "bad-login"}
    assert transcripts.names(transcripts.QUEUE) == [f"queue/{name}" for name in QUEUE_RECORDINGS]


@pytest.mark.parametrize("name", sorted(EXPECTED_SIGNALS))
@pytest.mark.parametrize("seed", [1, 2])
def test_single_call_transcript_gives_documented_signals(name: str, seed: int) -> None:
    run = replay(name, seed)
    assert list(run.results) == [f"{name}-orig-2"]
    signals = run.results[f"{name}-orig-2"].signals
    assert _fields(signals) == EXPECTED_SIGNALS[name]
    assert signals.ended_at is not None and signals.ended_at >= T0
    if signals.answered_at is not None:
        assert signals.talk_seconds is not None and signals.talk_seconds > 0


@pytest.mark.parametrize("name", sorted(EXPECTED_SIGNALS))
def test_parser_event_filter_keeps_what_correlation_needs(name: str) -> None:
    run = replay(name, seed=5, junk_rate=0.0, filtered=True)
    assert _fields(run.results[f"{name}-orig-2"].signals) == EXPECTED_SIGNALS[name]
    assert not any(m[1] in ("Newexten", "LocalBridge") for m in run.messages)


@pytest.mark.parametrize("name", sorted(EXPECTED_SIGNALS))
def test_single_call_transcript_classifies_as_named(name: str) -> None:
    signals = replay(name).results[f"{name}-orig-2"].signals
    assert _classify(signals) == EXPECTED_OUTCOME[name]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_concurrent_ten_calls_each_match_their_single_call(seed: int) -> None:
    run = replay("concurrent-10", seed)
    assert len(run.results) == 10
    for digit in range(10):
        signals = run.results[f"concurrent-10-orig-{digit + 2}"].signals
        assert _fields(signals) == EXPECTED_SIGNALS[DIGIT_TRANSCRIPT[digit]], digit
        assert all(f"1380000000{digit}@" in str(c) for c in signals.raw["channels"])


def test_concurrent_ten_classifies_per_digit() -> None:
    run = replay("concurrent-10")
    for digit in range(10):
        signals = run.results[f"concurrent-10-orig-{digit + 2}"].signals
        assert _classify(signals) == EXPECTED_OUTCOME[DIGIT_TRANSCRIPT[digit]]


def test_ping_and_bad_login_parse_through_junk() -> None:
    parser = AmiParser()
    msgs = parser.feed(transcripts.read_bytes("ping.txt"))
    pongs = [m for m in msgs if m.get("Ping") == "Pong"]
    assert len(pongs) == 2 and all(float(m["Timestamp"]) > 0 for m in pongs)
    assert [m.get("ActionID") for m in pongs] == ["ping-ping-2", None]
    bad = AmiParser().feed(transcripts.read_bytes("bad-login.txt"))
    assert [(m.kind, m.name) for m in bad] == [
        ("banner", "Asterisk Call Manager/11.0.0"),
        ("response", "Error"),
    ]
    assert bad[1]["Message"] == "Authentication failed"


@pytest.mark.parametrize("name", ["ping", "bad-login", "busy", "concurrent-10"])
def test_random_chunks_and_junk_give_the_same_messages_as_one_clean_read(name: str) -> None:
    clean = AmiParser().feed(transcripts.read_bytes(f"{name}.txt"))
    run = replay(name, seed=7, junk_rate=1.0)
    assert run.messages == [(m.kind, m.name, m.headers) for m in clean]
    assert run.garbage_lines + run.unknown_events > 0


def test_duplicate_headers_of_chanvars_transcript_are_kept() -> None:
    msgs = AmiParser().feed(transcripts.read_bytes("chanvars-busy.txt"))
    hangups = [m for m in msgs if m.name == "Hangup"]
    assert hangups and all(m.get_all("ChanVariable") for m in hangups)
    assert all(m["ChanVariable"].startswith("DIALERD_ATTEMPT=") for m in hangups)


# -- the same recordings through the production client ----------------------------------------
SESSIONS = sorted(set(transcripts.names()) - {"bad-login"}) + [
    f"queue/{name}" for name in QUEUE_RECORDINGS
]


@pytest.mark.parametrize("name", SESSIONS)
def test_production_client_reads_every_session_as_the_parser_does(name: str) -> None:
    """Every event and every reply, through pyst2, the reader and the router, with junk."""
    run = replay_client(name, seed=3, junk_rate=0.5, filtered=False)
    parsed = AmiParser().feed(transcripts.read_bytes(f"{name}.txt"))
    assert run.messages == [(m.kind, m.name, m.headers) for m in parsed if m.kind == "event"]
    replies = {}
    for msg in parsed:
        action_id = msg.get("ActionID")
        if msg.kind == "response" and action_id and action_id not in replies:
            replies[action_id] = msg.headers
    login = _actions(name)[0]
    expected = {k: v for k, v in replies.items() if k != dict(login)["ActionID"]}
    assert {k: m.headers for k, m in run.replies.items() if k in replies} == expected


@pytest.mark.parametrize("name", sorted(EXPECTED_SIGNALS))
def test_production_client_gives_documented_signals(name: str) -> None:
    run = replay_client(name, seed=4)
    assert list(run.results) == [f"{name}-orig-2"]
    signals = run.results[f"{name}-orig-2"].signals
    assert _fields(signals) == EXPECTED_SIGNALS[name]
    assert _classify(signals) == EXPECTED_OUTCOME[name]
    if signals.answered_at is not None:
        assert signals.talk_seconds is not None and signals.talk_seconds > 0
    kept = replay_client(name, seed=5, junk_rate=0.0).messages
    every = replay_client(name, seed=5, junk_rate=0.0, filtered=False).messages
    assert kept == [
        m
        for m in every
        if m[1] in WANTED_EVENTS and (m[1] != "VarSet" or dict(m[2])["Variable"] in KEPT_VARIABLES)
    ]


def test_production_client_sends_the_recorded_actions_byte_for_byte() -> None:
    server_actions: list[bytes] = []
    original = ReplayAmi.__init__

    def keep(self: ReplayAmi, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        server_actions.append(self.actions)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ReplayAmi, "__init__", keep)
        replay_client("concurrent-10", junk_rate=0.0)
    (actions,) = server_actions
    recorded = transcripts.load("concurrent-10").sent.split(b"\r\n\r\n")[1:-2]
    assert b"".join(actions[1:-1]) == b"".join(block + b"\r\n\r\n" for block in recorded)


@pytest.mark.parametrize("seed", [1, 2])
def test_production_client_correlates_ten_concurrent_calls(seed: int) -> None:
    run = replay_client("concurrent-10", seed)
    assert len(run.results) == 10
    for digit in range(10):
        signals = run.results[f"concurrent-10-orig-{digit + 2}"].signals
        assert _fields(signals) == EXPECTED_SIGNALS[DIGIT_TRANSCRIPT[digit]], digit
        assert _classify(signals) == EXPECTED_OUTCOME[DIGIT_TRANSCRIPT[digit]]


def test_production_client_is_refused_by_the_recorded_bad_login() -> None:
    server = ReplayAmi("bad-login")
    settings = AmiSettings(port=server.port, connect_timeout_s=DEADLINE_S)
    settings.action_timeout_s = DEADLINE_S
    client = AmiClient(settings, lambda _events: None)
    server.consumed = lambda: client.bytes_received
    try:
        with pytest.raises(AmiLoginRejected):
            client.connect()
    finally:
        client.close()
        server.stop()
    assert server.done.wait(DEADLINE_S) and server.error is None
