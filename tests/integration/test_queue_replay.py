"""The agent-queue recordings, played through the production AMI client into the QueueTracker.

Each recorded session (dialerd/pbx/transcripts/queue/, README "Agent queue") is
served byte for byte by :class:`ReplayAmi` to an :class:`AmiClient` with its
production login classes and event filters, which sends the recorded actions.
Every event is fed to the tracker at its recorded time; after each one the
members' states are noted, so a test reads each agent's path through the
session (ready, ringing, talking, wrap-up, paused) and the queued calls' figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dialerd.domain.agents import CallEnd, QueueCall
from dialerd.domain.pacing.floor import AgentState
from dialerd.pbx import transcripts
from dialerd.pbx.ami.client import AmiClient
from dialerd.pbx.ami.dialphases import Phase
from dialerd.pbx.ami.protocol import AmiMessage
from dialerd.pbx.ami.queues import QueueTracker, wrapup_times
from dialerd.settings import AmiSettings
from tests.integration.transcript_ami import DEADLINE_S, ReplayAmi

T0 = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
QUEUE = "callback-team"
R, G, T, W, P = (
    AgentState.READY,
    AgentState.RINGING,
    AgentState.TALKING,
    AgentState.WRAP_UP,
    AgentState.PAUSED,
)


@dataclass
class Session:
    tracker: QueueTracker
    end: datetime
    paths: dict[str, list[tuple[AgentState, str]]] = field(default_factory=dict)
    floors: list[tuple[AgentState, ...]] = field(default_factory=list)
    phases: dict[str, list[Phase | None]] = field(default_factory=dict)  # watched dials

    def path(self, name: str) -> list[AgentState]:
        return [state for state, _ in self.paths.get(name, [])]

    def call(self, attempt: str) -> QueueCall:
        found = self.tracker.call(attempt)
        assert found is not None, attempt
        return found


def _until(check: Callable[[], object]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def _actions(name: str) -> list[list[tuple[str, str]]]:
    sent = transcripts.load(name).sent.decode()
    return [
        [tuple(line.split(": ", 1)) for line in block.split("\r\n")]  # type: ignore[misc]
        for block in sent.split("\r\n\r\n")
        if block
    ]


def play(name: str, seed: int = 0, watch: tuple[str, ...] = ()) -> Session:
    """One queue recording through the production client (filters on, junk between messages).

    The phases of the dials in ``watch`` (DIALERD_ATTEMPT) are noted as they change.
    """
    conf = transcripts.read_text("queue/queues.conf")
    session = Session(QueueTracker(wrapup_times(conf)), T0)
    session.phases = {attempt: [None] for attempt in watch}
    server = ReplayAmi(f"queue/{name}", seed=seed, junk_rate=0.3, junk=(b"Event: Nope\r\n\r\n",))

    def note(at: datetime) -> None:
        members = session.tracker.members(QUEUE, at)
        for m in members:
            path = session.paths.setdefault(m.name, [])
            if not path or path[-1] != (m.state, m.paused_reason):
                path.append((m.state, m.paused_reason))
        states = tuple(m.state for m in members)
        if states and (not session.floors or session.floors[-1] != states):
            session.floors.append(states)
        for attempt, phases in session.phases.items():
            if phases[-1] != (phase := session.tracker.dials.phase(attempt)):
                phases.append(phase)

    def on_events(events: list[AmiMessage]) -> None:
        at = T0 + timedelta(seconds=server.time_at(client.bytes_received))
        session.end = max(session.end, at)
        for msg in events:
            session.tracker.feed(msg, at)
            note(at)

    settings = AmiSettings(port=server.port, connect_timeout_s=DEADLINE_S)
    settings.action_timeout_s = DEADLINE_S
    client = AmiClient(settings, on_events)
    server.consumed = lambda: client.bytes_received
    try:
        client.connect()
        for n, (action, *headers) in enumerate(_actions(f"queue/{name}")[1:]):
            action_id = dict(headers).get("ActionID") or f"unrecorded-{n}"
            rest = [(k, v) for k, v in headers if k != "ActionID"]
            client.send_nowait(action[1], rest, action_id, lambda _reply: None)
        _until(lambda: not client.connected())
    finally:
        client.close()
        server.stop()
    assert server.error is None, server.error
    return session


def test_queues_conf_gives_the_wrapup_time() -> None:
    assert wrapup_times(transcripts.read_text("queue/queues.conf")) == {QUEUE: 3.0}


def test_queue_status_lists_two_ready_agents() -> None:
    run = play("queue-status")
    assert run.paths == {"agent1": [(R, "")], "agent2": [(R, "")]}
    floor = run.tracker.floor_of(QUEUE, run.end)
    assert (floor.ready, floor.working, floor.waiting) == (2, 2, 0)


def test_pause_with_its_reason_then_ready() -> None:
    run = play("queue-pause-unpause")
    assert run.paths["agent1"] == [(P, "after-call work"), (R, "")]
    assert run.path("agent2") == [R]
    assert run.floors == [(P,), (P, R), (R, R)]


def test_every_agent_paused_then_both_ready_and_no_queued_call() -> None:
    run = play("queue-all-agents-paused")
    assert run.paths["agent1"] == [(P, "break"), (R, "")]
    assert run.paths["agent2"] == [(P, "break"), (R, "")]
    assert (P, P) in run.floors and run.floors[-1] == (R, R)
    assert run.tracker.calls() == []  # JOINEMPTY: the caller never entered the queue


def test_one_answered_call_rings_an_agent_who_talks_then_wraps_up() -> None:
    run = play("queue-answered-agent")
    assert run.path("agent1") == [G, T, W]
    assert run.tracker.members(QUEUE, run.end + timedelta(seconds=3.1))[0].state is R
    call = run.call("att-queue-agent")
    assert call.uniqueid == "1796161389.0" and run.tracker.call("1796161389.0") == call
    assert (call.member, call.end, call.hold_s, call.ring_s, call.talk_s) == (
        "agent1",
        CallEnd.CONNECTED,
        0,
        0,
        6,
    )
    assert call.answered_at is not None and call.answered_at <= call.joined_at
    assert call.wait_s is not None and 0 <= call.wait_s < 2
    assert call.talk_time_s == 6.0 and call.ring_to_agent_s == 0.0


def test_four_calls_two_agents_both_talk_then_wrap_up_then_ready() -> None:
    run = play("queue-four-calls-two-agents")
    assert run.path("agent1") == [T, W] and run.path("agent2") == [T, W]
    assert (T, T) in run.floors and run.floors[-1] == (W, W)
    floor = run.tracker.floor_of(QUEUE, run.end + timedelta(seconds=3.1))
    assert (floor.ready, floor.count(W), floor.waiting) == (2, 0, 0)
    taken = {a: run.call(f"att-queue-over-{a}") for a in range(4)}
    assert (taken[0].member, taken[0].talk_s, taken[0].hold_s) == ("agent2", 7, 0)
    assert (taken[1].member, taken[1].talk_s, taken[1].hold_s) == ("agent1", 6, 1)
    # RingTime 0 in both AgentConnects (the simulated agents answer at once)
    assert [(c.ring_s, c.ring_to_agent_s, c.talk_time_s) for c in (taken[0], taken[1])] == [
        (0, 0.0, 7.0),
        (0, 0.0, 6.0),
    ]
    for timed_out in (taken[2], taken[3]):
        assert (timed_out.end, timed_out.member, timed_out.hold_s) == (CallEnd.ABANDONED, None, 2)
        assert timed_out.wait_s is not None and timed_out.wait_s >= 0


def test_a_caller_abandons_while_both_agents_talk() -> None:
    run = play("queue-caller-abandons")
    assert run.path("agent1") == [G, T, W] and run.path("agent2") == [G, T, W]
    assert (T, T) in run.floors
    gone = run.call("att-queue-callerhup")
    assert (gone.end, gone.hold_s, gone.member) == (CallEnd.ABANDONED, 2, None)
    first, second = run.call("1796161451.23"), run.call("1796161451.22")
    assert (first.member, first.talk_s, second.member, second.hold_s, second.talk_s) == (
        "agent1",
        7,
        "agent2",
        1,
        6,
    )
    assert run.tracker.floor_of(QUEUE, run.end).waiting == 0


ANS, QUE, END = Phase.ANSWERED, Phase.QUEUED, Phase.OVER


def test_each_dial_rings_then_is_answered_queued_and_over() -> None:
    """What the pacer counts of its dials: ringing, answered on its way, or the queue's."""
    run = play("queue-four-calls-two-agents", watch=tuple(f"att-queue-over-{a}" for a in range(4)))
    assert run.phases == {f"att-queue-over-{a}": [None, ANS, QUE, END] for a in range(4)}
    paused = play("queue-all-agents-paused", watch=("att-queue-paused",))
    assert paused.phases == {"att-queue-paused": [None, ANS, END]}  # JOINEMPTY: never queued


def test_the_agents_time_and_the_customers_waits_from_four_calls() -> None:
    run = play("queue-four-calls-two-agents")
    later = run.end + timedelta(seconds=3.1)  # both wrap-ups (3 s, queues.conf) are over
    (t,) = run.tracker.agent_times(later)
    assert t.queue == QUEUE and t.total.wrap_ups == 2 and t.wraps == (3.0, 3.0)
    taken = [run.call(f"att-queue-over-{a}") for a in (0, 1)]
    ends = [(c.connected_at, c.completed_at) for c in taken]
    talk = sum((end - start).total_seconds() for start, end in ends if start and end)
    # the device may go in-call a few ms before AgentConnect; arrival times follow the reads
    assert abs(t.total.talking - talk) < 0.5 and t.total.wrap_up == 6.0
    assert t.total.occupancy is not None and 0 < t.total.occupancy < 1
    made = run.tracker.take_waits()
    waits = {w.attempt: (w.member, w.seconds) for w in made if not w.ended}
    assert set(waits) == {f"att-queue-over-{a}" for a in range(4)}
    assert [waits[f"att-queue-over-{a}"][0] for a in range(4)] == ["agent2", "agent1", None, None]
    assert all(seconds >= 0 for _, seconds in waits.values())
    # at AgentConnect the RingTime, at AgentComplete again with the TalkTime; abandoned: neither
    times = [(w.attempt[-1], w.member, w.ring_s, w.talk_s, w.ended) for w in made]
    assert sorted(times, key=lambda t: (t[0], t[4])) == [
        ("0", "agent2", 0.0, None, False),
        ("0", "agent2", 0.0, 7.0, True),
        ("1", "agent1", 0.0, None, False),
        ("1", "agent1", 0.0, 6.0, True),
        ("2", None, None, None, False),
        ("3", None, None, None, False),
    ]
    ended = {w.attempt: w.seconds for w in made if w.ended}
    assert all(ended[a] == waits[a][1] for a in ended)  # the same wait, repeated
    assert run.tracker.take_waits() == []
    hours = run.tracker.take_hours(later)
    assert abs(sum(h.seconds.logged_in for h in hours) - t.total.logged_in) < 1e-6
