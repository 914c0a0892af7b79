"""AmiTelephony's agent queues: QueueStatus at every (re)connect, then live events.

The fake AMI answers ``QueueStatus`` with the rows of the recorded
``queue/queue-status`` session and sends recorded queue events on demand.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from dialerd.domain.clock import VirtualClock
from dialerd.domain.pacing.floor import AgentState, Floor
from dialerd.pbx import transcripts
from dialerd.pbx.ami.adapter import AmiTelephony
from dialerd.pbx.ami.client import AmiClient
from dialerd.pbx.simulator import AmiSimulator
from dialerd.pbx.simulator.queue import QueueScript
from dialerd.pbx.virtual import VirtualPbx
from dialerd.settings import AmiSettings
from tests.integration.transcript_ami import TranscriptAmi

DEADLINE_S = 30.0  # generous: the machine may be busy
QUEUE = "callback-team"


def _floor(adapter: AmiTelephony) -> Floor:
    floor = adapter.floor(QUEUE)
    assert floor is not None  # the queue is known once QueueStatus has answered
    return floor


def _until(check: Callable[[], object]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def _settings(port: int, **extra: object) -> AmiSettings:
    return AmiSettings(
        host="127.0.0.1",
        port=port,
        secret="s3cret",
        connect_timeout_s=DEADLINE_S,
        action_timeout_s=DEADLINE_S,
        ping_interval_s=0.2,
        reconnect_min_s=0.05,
        reconnect_max_s=0.2,
        **extra,
    )


def _recorded(name: str, event: str, marker: bytes = b"") -> list[bytes]:
    blocks = transcripts.load(f"queue/{name}").received.split(b"\r\n\r\n")
    return [b for b in blocks if b.startswith(f"Event: {event}\r\n".encode()) and marker in b]


def _status_rows() -> list[bytes]:
    return [
        b
        for b in transcripts.load("queue/queue-status").received.split(b"\r\n\r\n")
        if b.startswith(b"Event: Queue") and b"queuestatus-2" in b
    ]


def _counts(adapter: AmiTelephony) -> tuple[int, int] | None:
    found = [c for c in adapter.queues() if c.queue == QUEUE]
    return (found[0].ready, found[0].paused) if found else None


def test_queue_status_at_connect_then_a_pause_then_a_fresh_status_after_reconnect() -> None:
    server = TranscriptAmi()
    server.queue_status = _status_rows()
    adapter = AmiTelephony(_settings(server.port, queue_wrapup_s={QUEUE: 3600.0}))
    try:
        adapter.start(lambda _r: None)
        _until(adapter.is_up)
        assert server.queue_statuses == 1 and _counts(adapter) == (2, 0)
        assert _floor(adapter).ready == 2
        server.send_events(_recorded("queue-pause-unpause", "QueueMemberPause", b"Paused: 1"))
        _until(lambda: _counts(adapter) == (1, 1))
        assert _floor(adapter).count(AgentState.PAUSED) == 1
        server.drop_connections()
        _until(lambda: server.queue_statuses >= 2 and adapter.is_up())
        _until(lambda: _counts(adapter) == (2, 0))  # the new status replaced the old state
        call = [*_recorded("queue-answered-agent", "AgentConnect")]
        call += _recorded("queue-answered-agent", "AgentComplete")
        call += _recorded("queue-answered-agent", "QueueMemberStatus", b"CallsTaken: 1")
        server.send_events(call)
        # the configured wrapuptime (an hour here: no race with the clock) holds agent1
        _until(lambda: _floor(adapter).count(AgentState.WRAP_UP) == 1)
        assert _counts(adapter) == (1, 0)
        taken = adapter.queue_call("1796161389.0")
        assert taken is not None and (taken.member, taken.talk_s) == ("agent1", 6)
    finally:
        adapter.close()
        server.stop()


def test_a_pbx_without_app_queue_leaves_the_link_up_with_no_queues() -> None:
    server = TranscriptAmi()  # answers QueueStatus "Invalid/unknown command"
    adapter = AmiTelephony(_settings(server.port))
    try:
        adapter.start(lambda _r: None)
        _until(adapter.is_up)
        assert adapter.queues() == []
        assert adapter.floor(QUEUE) is None  # unknown: a paced campaign starts no dial
        assert server.logins == 1
    finally:
        adapter.close()
        server.stop()


def test_the_virtual_pbx_has_no_agents() -> None:
    pbx = VirtualPbx(VirtualClock(datetime(2026, 12, 1, tzinfo=UTC)))
    assert pbx.queues() == [] and pbx.floor(QUEUE) is None and pbx.queue_call("x") is None


def test_the_simulator_speaks_queue_status_and_pause_like_the_recordings() -> None:
    script = QueueScript(QUEUE, agents=3, paused={2: "lunch"})
    sim = AmiSimulator(secret="s3cret", queues=[script])
    _host, port = sim.start_in_thread()
    adapter = AmiTelephony(_settings(port))
    operator = AmiClient(_settings(port), lambda _events: None)
    try:
        adapter.start(lambda _r: None)
        _until(adapter.is_up)
        assert _counts(adapter) == (2, 1)
        operator.connect()
        pause = [("Queue", QUEUE), ("Interface", "Local/agent1@agent-sim"), ("Paused", "true")]
        reply = operator.request("QueuePause", [*pause, ("Reason", "break")])
        assert (reply.get("Response"), reply.get("Message")) == (
            "Success",
            "Interface paused successfully",
        )
        _until(lambda: _counts(adapter) == (1, 2))
        unknown = [("Interface", "Local/nobody@agent-sim"), ("Paused", "false")]
        assert operator.request("QueuePause", unknown).get("Response") == "Error"
        rows = operator.collect("QueueStatus", [], "QueueStatusComplete")
        recorded = _status_rows()
        assert [r.name for r in rows] == ["QueueParams"] + ["QueueMember"] * 3
        for row, block in zip(rows, recorded[:-1], strict=False):  # the recording has two agents
            names = [line.split(b": ")[0].decode() for line in block.split(b"\r\n")]
            assert [k for k, _ in row.headers] == names
    finally:
        operator.close()
        adapter.close()
        sim.stop()
