"""The AMI simulator's queue, read by the production AMI adapter: callers join, reach an
agent or time out with the recipe's ``DialerdAbandon``, agents wrap up and pause.

Every event the simulator writes is checked against the recordings in
``dialerd/pbx/transcripts/queue/`` (same event names, same fields in the same order).
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from dialerd.domain.agents import CallEnd
from dialerd.domain.pacing.floor import AgentState
from dialerd.domain.ports import AnsweredTarget, DialRequest, DialResult
from dialerd.pbx import transcripts
from dialerd.pbx.ami.adapter import AmiTelephony
from dialerd.pbx.ami.protocol import AmiMessage, AmiParser
from dialerd.pbx.simulator import AmiSimulator, Break, QueueScript
from dialerd.settings import AmiSettings

DEADLINE_S = 30.0
QUEUE = "callback-team"
SECRET = "sim-secret"


def _until(check: Callable[[], object]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


class Desk:
    """The simulator with one queue, and the production adapter reading it."""

    def __init__(self, script: QueueScript) -> None:
        self.sim = AmiSimulator(secret=SECRET, time_scale=0.0, queues=[script])
        _, port = self.sim.start_in_thread()
        self.results: queue.Queue[DialResult] = queue.Queue()
        settings = AmiSettings(
            host="127.0.0.1",
            port=port,
            secret=SECRET,
            connect_timeout_s=DEADLINE_S,
            action_timeout_s=DEADLINE_S,
            settle_grace_s=0.2,
        )
        self.adapter = AmiTelephony(settings, settle_s=0.1)
        self.adapter.start(self.results.put)
        _until(lambda: self.adapter.is_up() and self.adapter.floor(QUEUE) is not None)

    def dial(self, n: int, context: str = "dialerd-queue", number: str = "") -> None:
        number = number or f"1380000{n:03d}0"
        self.adapter.originate(
            DialRequest(
                attempt_id=n,
                key=f"1-{n}-0-1-1",
                campaign="c",
                number=f"+86{number}",
                channel=f"Local/{number}@callee-sim",
                caller_id='"dialerd" <4000>',
                ring_timeout_s=10.0,
                answered=AnsweredTarget(context=context, exten="s"),
            )
        )

    def states(self) -> dict[AgentState, int]:
        floor = self.adapter.floor(QUEUE)
        assert floor is not None
        return {s: floor.count(s) for s in AgentState if floor.count(s)}

    def close(self) -> None:
        self.adapter.close()
        self.sim.stop()


@pytest.fixture
def desk(request: pytest.FixtureRequest) -> Iterator[Desk]:
    made = Desk(getattr(request, "param", QueueScript(agents=2, talk_s=0.3)))
    yield made
    made.close()


def _field_names(block: bytes) -> list[str]:
    return [line.split(b": ", 1)[0].decode() for line in block.split(b"\r\n") if b": " in line]


def _recorded_fields() -> dict[str, list[str]]:
    """The field names of each queue event, as the real Asterisk wrote them."""
    found: dict[str, list[str]] = {}
    for name in ("queue-answered-agent", "queue-four-calls-two-agents", "queue-all-agents-paused"):
        for msg in AmiParser().feed(transcripts.load(f"queue/{name}").received):
            event = msg.get("Event") or ""
            if event.startswith(("Queue", "Agent", "User")):
                found.setdefault(event, [k for k, _ in msg.headers])
    return found


class Wire:
    """A second AMI session that keeps every byte the simulator sends it."""

    def __init__(self, port: int) -> None:
        self.data = bytearray()
        self._lock = threading.Lock()
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S)
        self._sock.sendall(
            f"Action: Login\r\nUsername: dialerd\r\nSecret: {SECRET}\r\n\r\n".encode()
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        _until(lambda: b"FullyBooted" in self.bytes())

    def _read(self) -> None:
        while True:
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:  # a quiet wire: keep listening
                continue
            except OSError:  # closed under us
                return
            if not chunk:
                return
            with self._lock:
                self.data += chunk

    def bytes(self) -> bytes:
        with self._lock:
            return bytes(self.data)

    def events(self) -> list[AmiMessage]:
        return [m for m in AmiParser().feed(self.bytes()) if m.kind == "event"]

    def close(self) -> None:
        """Shut the socket first so the reader sees the end before the descriptor goes."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # the simulator already closed it
            pass
        self._thread.join(timeout=DEADLINE_S)
        self._sock.close()


def test_every_queue_event_has_the_recorded_fields_in_the_recorded_order() -> None:
    desk = Desk(QueueScript(agents=1, talk_s=3600.0, timeout_s=0.2))
    wire = Wire(desk.sim.port)
    try:
        desk.dial(1)  # agent1 takes it
        _until(lambda: desk.states() == {AgentState.TALKING: 1})
        desk.dial(2)  # times out
        timed_out = desk.results.get(timeout=DEADLINE_S)
        assert (timed_out.attempt_id, timed_out.signals.disposition) == (2, "abandoned")
        desk.sim.end_talks(QUEUE)  # agent1 hangs up
        talked = desk.results.get(timeout=DEADLINE_S)
        assert (talked.attempt_id, talked.signals.disposition) == (1, None)
        desk.sim.pause_agents(QUEUE, [1], paused=True, reason="lunch")
        desk.dial(3)  # JOINEMPTY
        assert desk.results.get(timeout=DEADLINE_S).signals.disposition == "abandoned"
        _until(lambda: desk.sim.live_call_count() == 0)
    finally:
        desk.close()
        wire.close()
    recorded = _recorded_fields()
    sent = [m for m in wire.events() if (m.get("Event") or "") in recorded]
    names = [m.get("Event") for m in sent]
    for msg in sent:
        assert [k for k, _ in msg.headers] == recorded[msg.get("Event") or ""], msg.get("Event")
    connect = names.index("AgentConnect")
    assert names[: connect + 1] == [
        "QueueCallerJoin",
        "AgentCalled",
        "QueueMemberStatus",
        "QueueCallerLeave",
        "AgentConnect",
    ]
    abandon = names.index("QueueCallerAbandon")
    assert names[abandon : abandon + 3] == ["QueueCallerAbandon", "QueueCallerLeave", "UserEvent"]
    statuses = [m.get("QueueStatus") for m in sent if m.get("Event") == "UserEvent"]
    assert statuses == ["TIMEOUT", "JOINEMPTY"]
    # Uniqueid joins: every caller event names the originated ;1 channel of its dial
    joined = next(m for m in sent if m.get("Event") == "QueueCallerJoin")
    same_call = [m for m in sent if m.get("Uniqueid") == joined.get("Uniqueid")]
    assert {m.get("Event") for m in same_call} >= {"AgentConnect", "AgentComplete"}
    assert all((m.get("Channel") or "").endswith(";1") for m in same_call)
    # the Originate's Account: the caller's AccountCode, and app_queue gives it the agent's leg
    assert {m.get("AccountCode") for m in same_call} == {"1-1-0-1-1"}
    agents = [m for m in same_call if (m.get("Event") or "").startswith("Agent")]
    assert agents and {m.get("DestAccountCode") for m in agents} == {"1-1-0-1-1"}


def test_a_caller_reaches_an_agent_who_then_wraps_up(desk: Desk) -> None:
    desk.dial(1)
    result = desk.results.get(timeout=DEADLINE_S)
    assert result.signals.answered_at is not None and result.signals.disposition is None
    call = desk.adapter.queue_call("1")
    assert call is not None and call.member == "agent1" and call.end is CallEnd.CONNECTED
    assert call.connected_at is not None and call.completed_at is not None
    assert desk.sim.agent_states(QUEUE) == [("agent1", False, False), ("agent2", False, False)]


@pytest.mark.parametrize("desk", [QueueScript(agents=1, talk_s=60.0, timeout_s=0.2)], indirect=True)
def test_a_caller_nobody_takes_times_out_and_is_abandoned(desk: Desk) -> None:
    desk.dial(1)  # agent1 talks for a minute
    _until(lambda: desk.states() == {AgentState.TALKING: 1})
    desk.dial(2)
    result = desk.results.get(timeout=DEADLINE_S)
    assert result.attempt_id == 2 and result.signals.disposition == "abandoned"
    call = desk.adapter.queue_call("2")
    assert call is not None and call.end is CallEnd.ABANDONED and call.member is None


@pytest.mark.parametrize(
    "desk", [QueueScript(agents=2, paused={1: "lunch", 2: "training"})], indirect=True
)
def test_every_agent_paused_is_joinempty_and_unpausing_serves_again(desk: Desk) -> None:
    assert desk.states() == {AgentState.PAUSED: 2}
    desk.dial(1)
    result = desk.results.get(timeout=DEADLINE_S)
    assert result.signals.disposition == "abandoned"
    assert desk.adapter.queue_call("1") is None  # never joined
    desk.sim.pause_agents(QUEUE, [2], paused=False)
    _until(lambda: desk.states() == {AgentState.PAUSED: 1, AgentState.READY: 1})
    desk.dial(2)
    second = desk.results.get(timeout=DEADLINE_S)
    assert second.signals.disposition is None
    taken = desk.adapter.queue_call("2")
    assert taken is not None and taken.member == "agent2"


@pytest.mark.parametrize(
    "desk", [QueueScript(agents=1, talk_s=0.1, wrapup_s=3600.0, timeout_s=30.0)], indirect=True
)
def test_wrap_up_is_told_in_wrapuptime_and_holds_the_agent(desk: Desk) -> None:
    desk.dial(1)
    desk.results.get(timeout=DEADLINE_S)
    _until(lambda: desk.states() == {AgentState.WRAP_UP: 1})
    desk.dial(2)  # waits: the only agent is in wrap-up for an hour
    _until(lambda: _waiting(desk) == 1)
    assert desk.results.empty()


def _waiting(desk: Desk) -> int:
    floor = desk.adapter.floor(QUEUE)
    return floor.waiting if floor is not None else -1


@pytest.mark.parametrize(
    "desk", [QueueScript(agents=2, breaks=[Break(0.0, 2, 3600.0, "meeting")])], indirect=True
)
def test_a_scheduled_break_pauses_the_agent(desk: Desk) -> None:
    _until(lambda: desk.states() == {AgentState.READY: 1, AgentState.PAUSED: 1})
    members = desk.sim.agent_states(QUEUE)
    assert members[1] == ("agent2", True, False)


def test_talk_times_are_log_normal_and_seeded() -> None:
    from random import Random

    from dialerd.pbx.simulator.queue import lognormal

    draws = [lognormal(Random(7), 90.0, 0.5) for _ in range(3)]
    assert draws[0] == draws[1] == draws[2]  # same seed, same draw
    rng = Random(1)
    many = [lognormal(rng, 90.0, 0.5) for _ in range(20_000)]
    assert abs(sum(many) / len(many) - 90.0) < 2.0
    assert lognormal(rng, 20.0, 0.0) == 20.0


@pytest.mark.parametrize("desk", [QueueScript(agents=1, talk_s=3600.0)], indirect=True)
def test_the_floor_counts_the_dials_in_flight_not_yet_answered_as_ringing(desk: Desk) -> None:
    """Every daemon's dials of the queue come from the database; the PBX knows which joined."""
    in_flight = {1: 0.5, 99: 2.0}  # 99: another daemon's dial, still ringing
    floor = desk.adapter.floor(QUEUE, in_flight)
    assert floor is not None and sorted(floor.ringing) == [0.5, 2.0]
    desk.dial(1)
    _until(lambda: desk.states() == {AgentState.TALKING: 1})
    floor = desk.adapter.floor(QUEUE, in_flight)
    assert floor is not None and list(floor.ringing) == [2.0]  # 1 is with agent1


def test_a_call_answered_after_ringing_joins_too_and_other_contexts_do_not(desk: Desk) -> None:
    desk.dial(1, number="13900000000")  # the recording answered after 2 s of ringing
    desk.dial(2, context="dialerd-answered")  # not the queue's context: plays as recorded
    got = {r.attempt_id: r for r in (desk.results.get(timeout=DEADLINE_S) for _ in range(2))}
    joined = desk.adapter.queue_call("1")
    assert joined is not None and joined.end is CallEnd.CONNECTED
    assert got[1].signals.answered_at is not None
    assert desk.adapter.queue_call("2") is None and got[2].signals.amd_status == "HUMAN"
    assert desk.sim.queue_figures(QUEUE).joined == 1
