"""AmiTelephony over TCP against a fake AMI that replays the recorded Asterisk 22 transcripts."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from dialerd.domain.classify import classify
from dialerd.domain.outcomes import Outcome
from dialerd.domain.ports import AnsweredTarget, DialRequest, DialResult
from dialerd.errors import TelephonyUnavailable, UnsafeDialInput
from dialerd.pbx.ami.adapter import LOST, AmiTelephony
from dialerd.pbx.ami.client import EVENT_CLASSES
from dialerd.pbx.ami.protocol import AmiParser
from dialerd.pbx.fastagi import AnsweredInfo, Verdict
from dialerd.pbx.simulator import AmiSimulator, Faults
from dialerd.pbx.simulator.templates import load_template
from dialerd.settings import AmiSettings
from tests.amikit import signal_fields
from tests.integration.transcript_ami import TranscriptAmi

DEADLINE_S = 30.0  # for any wait: generous, the machine may be busy
# a hung server is left within this: ping 0.2 s + deadline 3 s, and room for a busy machine
LEFT_WITHIN_S = 15.0


def _until(check: Callable[[], object], timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def _settings(port: int, secret: str = "s3cret") -> AmiSettings:
    return AmiSettings(
        host="127.0.0.1",
        port=port,
        secret=secret,  # type: ignore[arg-type]
        # not shorter: on a busy machine a slow reply would drop the link in mid-test
        connect_timeout_s=3.0,
        action_timeout_s=3.0,
        ping_interval_s=0.2,
        reconnect_min_s=0.05,
        reconnect_max_s=0.2,
        settle_grace_s=0.2,
    )


def _request(n: int, number: str, ring_timeout_s: float = 5.0) -> DialRequest:
    return DialRequest(
        attempt_id=100 + n,
        key=f"7-{n}-0-1-1",
        campaign="spring",
        number=f"+86{number}",
        channel=f"Local/{number}@callee-sim",
        caller_id='"dialerd" <4000>',
        ring_timeout_s=ring_timeout_s,
        answered=AnsweredTarget(context="dialerd-answered", exten="s"),
    )


class Rig:
    def __init__(self) -> None:
        self.server = TranscriptAmi()
        self.results: queue.Queue[DialResult] = queue.Queue()
        self.statuses: list[str] = []
        self.adapter = AmiTelephony(
            _settings(self.server.port),
            on_status=lambda st: self.statuses.append(st.detail),
            settle_s=0.1,
            recording_prefix="site-a-",
        )

    def start(self) -> None:
        self.adapter.start(self.results.put)
        _until(self.adapter.is_up)

    def result(self, timeout: float = DEADLINE_S) -> DialResult:
        return self.results.get(timeout=timeout)


@pytest.fixture
def rig() -> Iterator[Rig]:
    made = Rig()
    yield made
    made.adapter.close()
    made.server.stop()


EXPECTED = {  # digit: response, reason, ;1 cause, ;2 cause, DialStatus, rang, AMD, answered
    "0": ("Success", 4, 16, 16, "ANSWER", False, "HUMAN", True),
    "1": ("Failure", 5, 0, 17, "BUSY", False, None, False),
    "2": ("Failure", 3, 19, 19, None, True, None, False),
    "3": ("Failure", 0, 1, 1, "NOANSWER", False, None, False),
    "4": ("Failure", 0, 21, 21, "NOANSWER", False, None, False),
    "5": ("Failure", 8, 0, 34, "CONGESTION", False, None, False),
    "6": ("Failure", 0, 20, 20, "CHANUNAVAIL", False, None, False),
    "7": ("Success", 4, 16, 16, "ANSWER", False, "HANGUP", True),
    "8": ("Success", 4, 16, 16, "ANSWER", False, "MACHINE", True),
    "9": ("Failure", 0, 18, 18, "NOANSWER", False, None, False),
}


def test_every_recorded_outcome_comes_back_as_its_signals(rig: Rig) -> None:
    rig.start()
    for n, digit in enumerate(EXPECTED):
        request = _request(n, f"1380000000{digit}")
        rig.adapter.originate(_replace(request, variables={"DIALERD_KEY": "forged", "LANG": "zh"}))
    got = {}
    for _ in EXPECTED:
        result = rig.result()
        got[result.key] = (result.attempt_id, *signal_fields(result.signals))
    for n, (digit, expected) in enumerate(EXPECTED.items()):
        assert got[f"7-{n}-0-1-1"] == (100 + n, *expected), digit
    sent = rig.server.originates[0]
    assert sent["ActionID"] == "7-0-0-1-1"
    assert "ChannelId" not in sent and "OtherChannelId" not in sent  # Asterisk's O(n) check
    assert sent["Async"] == "true" and sent["Timeout"] == "5000"
    assert sent["Account"] == "7-0-0-1-1"  # the key, on every channel and call record
    assert b"Variable: DIALERD_ATTEMPT=100\r\n" in rig.server.received
    assert b"Variable: LANG=zh\r\n" in rig.server.received
    # no DIALERD_KEY (a campaign's neither), and the recording's only for a recording campaign
    assert b"DIALERD_KEY" not in rig.server.received
    assert b"DIALERD_RECORD" not in rig.server.received
    assert f"Events: {EVENT_CLASSES}\r\n".encode() in rig.server.received
    assert rig.adapter.in_flight() == 0


def test_a_recording_campaign_sends_the_recording_variables(rig: Rig) -> None:
    rig.start()
    rig.adapter.originate(_replace(_request(1, "13800000001"), record=True))
    assert rig.result().signals.dial_status == "BUSY"
    assert b"Variable: DIALERD_RECORD=1\r\n" in rig.server.received
    assert b"Variable: DIALERD_RECORDING=site-a-7-1-0-1-1\r\n" in rig.server.received


def test_an_injected_number_never_reaches_the_socket(rig: Rig) -> None:
    rig.start()
    bad = _request(1, "13800138000")
    evil = "13800138000\r\nAction: Command\r\nCommand: core stop now"
    for field in ("number", "channel", "caller_id"):
        value = f"Local/{evil}@x" if field == "channel" else evil
        with pytest.raises(UnsafeDialInput, match=f"^{field}:"):
            rig.adapter.originate(_replace(bad, **{field: value}))
    pings = rig.server.received.count(b"Action: Ping")
    _until(lambda: rig.server.received.count(b"Action: Ping") > pings)  # link still healthy
    assert b"Command" not in rig.server.received
    assert rig.server.originates == []


def _replace(req: DialRequest, **changes: object) -> DialRequest:
    return replace(req, **changes)  # type: ignore[arg-type]


def test_down_link_refuses_dials() -> None:
    adapter = AmiTelephony(_settings(1))
    with pytest.raises(TelephonyUnavailable):
        adapter.originate(_request(1, "13800000001"))
    assert adapter.live_keys() is None


def test_killed_link_reconnects_keeps_survivors_and_expires_lost_dials(rig: Rig) -> None:
    rig.server.autoplay = False
    rig.start()
    survivor, lost = _request(1, "13800000000", 0.5), _request(2, "13800000001", 0.5)
    rig.adapter.originate(survivor)
    rig.adapter.originate(lost)
    _until(lambda: len(rig.server.backlog) == 2)
    rig.server.play(survivor.key, 6)  # Newchannel .. Newstate Up: the call is up
    rig.server.play(lost.key, 2)
    rig.server.live = {survivor.key}
    logins = rig.server.logins
    rig.server.drop_connections()
    _until(lambda: rig.server.logins > logins and rig.adapter.is_up())
    assert any("lost; reconnecting" in s for s in rig.statuses)
    assert rig.adapter.live_keys() == {survivor.key}
    assert b"Action: Getvar" not in rig.server.received  # the key is each row's AccountCode

    gone = rig.result()  # at started + 0.5 s ring + 0.2 s grace
    assert (gone.key, gone.attempt_id, gone.signals.error) == (lost.key, 102, LOST)
    assert gone.signals.lost  # the engine records it as interrupted
    rig.server.play(survivor.key)  # the rest of the answered call, on the new connection
    kept = rig.result()
    assert kept.key == survivor.key and kept.signals.error is None
    assert kept.signals.originate_response == "Success" and kept.signals.amd_status == "HUMAN"
    assert [o["ActionID"] for o in rig.server.originates] == [survivor.key, lost.key]


def test_rejected_login_is_reported_and_retried_with_backoff() -> None:
    server = TranscriptAmi(secret="other")
    statuses: list[str] = []
    adapter = AmiTelephony(_settings(server.port), on_status=lambda st: statuses.append(st.detail))
    try:
        adapter.start(lambda _r: None)
        _until(lambda: server.logins >= 3)
        assert not adapter.is_up()
        assert statuses[0] == f"AMI login rejected by 127.0.0.1:{server.port}"
        server.secret = "s3cret"
        _until(adapter.is_up)
    finally:
        adapter.close()
        server.stop()


def test_a_hung_server_is_left_within_seconds(rig: Rig) -> None:
    rig.start()
    rig.server.answer_pings = False
    started = time.monotonic()
    _until(lambda: rig.server.logins >= 2)
    assert time.monotonic() - started < LEFT_WITHIN_S
    rig.server.answer_pings = True
    _until(rig.adapter.is_up)


def test_chanvariable_headers_do_not_wedge_the_reader(rig: Rig) -> None:
    rig.server.transcripts = {
        "13800000011": "chanvars-busy",
        "13800000010": "chanvars-answered-human",
    }
    rig.start()
    rig.adapter.originate(_request(1, "13800000011"))
    rig.adapter.originate(_request(2, "13800000010"))
    results = {r.key: r.signals for r in (rig.result(), rig.result())}
    assert results["7-1-0-1-1"].dial_status == "BUSY"
    assert results["7-2-0-1-1"].amd_status == "HUMAN"
    assert rig.adapter.live_keys() == set()  # the link still answers


def test_the_answered_leg_disposition_reaches_the_result(rig: Rig) -> None:
    rig.server.autoplay = False
    rig.start()
    request = _request(3, "13800000000")
    rig.adapter.originate(request)
    _until(lambda: request.key in rig.server.backlog)
    callback = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    early = AnsweredInfo(disposition="dnc_requested")
    assert rig.adapter.on_answered(103, early) is Verdict.not_answered  # no answer yet
    assert rig.adapter.on_answered(999, early) is Verdict.not_in_flight
    answered = AnsweredInfo(answered_at=callback, amd_status="HUMAN")
    assert rig.adapter.on_answered(103, answered) is Verdict.accepted
    disposition = AnsweredInfo(disposition="callback_requested", callback_at=callback)
    assert rig.adapter.on_answered(103, disposition) is Verdict.accepted
    assert rig.adapter.on_answered(103, early) is Verdict.already_recorded
    rig.server.play(request.key)
    signals = rig.result().signals
    assert (signals.disposition, signals.callback_at) == ("callback_requested", callback)
    assert rig.adapter.on_answered(103, answered) is Verdict.not_in_flight  # its result is out


def test_the_dialerd_abandon_user_event_makes_the_dial_abandoned(rig: Rig) -> None:
    """Recorded: every agent paused, the answered call leaves the queue (JOINEMPTY)."""
    rig.server.transcripts["13900000010"] = "queue/queue-all-agents-paused"
    rig.start()
    request = _request(7, "13900000010")
    rig.adapter.originate(request)
    signals = rig.result().signals
    assert (signals.originate_response, signals.disposition) == ("Success", "abandoned")
    assert signals.answered_at is not None


# -- against dialerd's AMI simulator ----------------------------------------------------------
SIM_SECRET = "sim-secret"
HELD = 1e6  # time_scale at which a simulated call moves on only when the test plays it


class SimRig:
    def __init__(self, time_scale: float = 0.0, faults: Faults | None = None) -> None:
        self.sim = AmiSimulator(
            secret=SIM_SECRET, time_scale=time_scale, faults=faults, login_fail_delay_s=0.05
        )
        _, self.port = self.sim.start_in_thread()
        self.results: queue.Queue[DialResult] = queue.Queue()
        self.statuses: list[str] = []
        self.adapter = AmiTelephony(
            _settings(self.port, SIM_SECRET),
            on_status=lambda st: self.statuses.append(st.detail),
            settle_s=0.1,
        )
        self.adapter.start(self.results.put)

    def close(self) -> None:
        self.adapter.close()
        self.sim.stop()


@pytest.fixture
def sim_rig(request: pytest.FixtureRequest) -> Iterator[SimRig]:
    made = SimRig(*getattr(request, "param", ()))
    yield made
    made.close()


def test_simulator_every_outcome(sim_rig: SimRig) -> None:
    _until(sim_rig.adapter.is_up)
    for n, digit in enumerate(EXPECTED):
        sim_rig.adapter.originate(_request(n, f"1380000000{digit}"))
    got = {}
    for _ in EXPECTED:
        result = sim_rig.results.get(timeout=DEADLINE_S)
        got[result.key] = signal_fields(result.signals)
    for n, (digit, expected) in enumerate(EXPECTED.items()):
        assert got[f"7-{n}-0-1-1"] == expected, digit


def test_simulator_never_receives_an_injected_number(sim_rig: SimRig) -> None:
    _until(sim_rig.adapter.is_up)
    evil = _replace(_request(1, "13800000001"), number="13800000001\r\nAction: Command")
    with pytest.raises(UnsafeDialInput, match=r"^number:"):
        sim_rig.adapter.originate(evil)
    sim_rig.adapter.originate(_request(2, "13800000001"))
    sim_rig.results.get(timeout=DEADLINE_S)
    assert b"Command" not in sim_rig.sim.received
    assert [o.action_id for o in sim_rig.sim.originates] == ["7-2-0-1-1"]


@pytest.mark.parametrize("sim_rig", [(HELD, Faults(drop_after_originates=2))], indirect=True)
def test_simulator_dropped_link_keeps_the_live_call_and_loses_the_ended_one(
    sim_rig: SimRig,
) -> None:
    sim = sim_rig.sim
    _until(sim_rig.adapter.is_up)
    sim.faults.reject_login = True  # the link stays down until the test lets it come back
    live, gone = _request(1, "13800000000", 0.5), _request(2, "13800000001", 0.5)
    sim_rig.adapter.originate(live)
    sim_rig.adapter.originate(gone)
    _until(lambda: len(sim.originates) == 2 and not sim_rig.adapter.is_up())  # dropped
    sim.play(live.key, 1)  # while the link is down, the live call is answered ...
    sim.play(gone.key)  # ... and the other one ends: its last events are lost
    sim.faults.reject_login = False
    _until(lambda: len(sim.sessions) >= 2 and sim_rig.adapter.is_up())
    sim.play(live.key)  # the rest of the live call comes on the new connection
    results = {r.key: r for r in (sim_rig.results.get(timeout=DEADLINE_S) for _ in range(2))}
    assert results[gone.key].signals.error == LOST
    assert results[live.key].signals.error is None
    assert results[live.key].signals.hangup_cause == 16
    assert len(sim_rig.sim.originates) == 2  # nothing was sent twice


@pytest.mark.parametrize("sim_rig", [(HELD,)], indirect=True)
def test_simulator_a_machine_adopted_after_a_restart_keeps_its_amd_verdict(
    sim_rig: SimRig,
) -> None:
    """AMD ruled while no run listened (kill -9): the next run reads the verdict (Getvar)."""
    sim = sim_rig.sim
    _until(sim_rig.adapter.is_up)
    machine, human = _request(1, "13800000008", 60), _request(2, "13800000000", 60)
    sim_rig.adapter.originate(machine)
    sim_rig.adapter.originate(human)
    _until(lambda: len(sim.originates) == 2)
    amd_said = load_template("answering-machine").amd_group
    spoken = load_template("answered-human")  # answered, AMD still listening
    answered = next(i for i, g in enumerate(spoken.groups) if g.at_s >= (spoken.answer_at_s or 0))
    assert amd_said is not None and spoken.amd_group is not None and answered < spoken.amd_group
    sim_rig.adapter.close()  # the run dies with both calls up: what follows reaches no one
    sim.play(machine.key, amd_said)  # group 0 went out at once: these end with group amd_said
    sim.play(human.key, answered)
    results: queue.Queue[DialResult] = queue.Queue()
    restarted = AmiTelephony(_settings(sim_rig.port, SIM_SECRET), settle_s=0.1)
    restarted.start(results.put)
    try:
        _until(restarted.is_up)
        assert restarted.live_keys() == {machine.key, human.key}
        restarted.adopt(machine.key, machine.attempt_id)
        restarted.adopt(human.key, human.attempt_id)
        sim.play(machine.key)
        sim.play(human.key)  # its AMD verdict comes live, on the new connection
        got = {r.key: r.signals for r in (results.get(timeout=DEADLINE_S) for _ in range(2))}
    finally:
        restarted.close()
    assert (got[machine.key].amd_status, got[machine.key].amd_cause) == (
        "MACHINE",
        "LONGGREETING-1500-1500",
    )
    assert classify(got[machine.key]).outcome is Outcome.answering_machine
    assert (got[human.key].amd_status, got[human.key].amd_cause) == ("HUMAN", "HUMAN-800-800")
    assert classify(got[human.key]).outcome is Outcome.answered
    asked = [m for m in AmiParser(expect_banner=False).feed(sim.received) if m.get("Action")]
    getvars = {(m["Channel"], m["Variable"]) for m in asked if m["Action"] == "Getvar"}
    amd_asked = {pair for pair in getvars if pair[1].startswith("AMD")}
    assert {channel.rpartition(";")[2] for channel, _ in amd_asked} == {"1"}  # the answered half
    assert len(amd_asked) == 4  # both calls were listed Up: both asked


@pytest.mark.parametrize("sim_rig", [(0.0, Faults(reject_login=True))], indirect=True)
def test_simulator_rejected_login_backs_off_and_recovers(sim_rig: SimRig) -> None:
    _until(lambda: len(sim_rig.sim.sessions) >= 3)
    assert not sim_rig.adapter.is_up()
    assert sim_rig.statuses[0].startswith("AMI login rejected by 127.0.0.1:")
    sim_rig.sim.faults.reject_login = False
    _until(sim_rig.adapter.is_up)


def test_simulator_hung_server_is_left_within_seconds(sim_rig: SimRig) -> None:
    _until(sim_rig.adapter.is_up)
    sim_rig.sim.faults.hung = True
    started = time.monotonic()
    _until(lambda: not sim_rig.adapter.is_up())
    assert time.monotonic() - started < LEFT_WITHIN_S
    sim_rig.sim.faults.hung = False
    _until(sim_rig.adapter.is_up)


def test_an_adopted_dial_is_followed_to_its_end(rig: Rig) -> None:
    rig.server.autoplay = False
    rig.start()
    request = _request(4, "13800000001")
    rig.adapter.originate(request)  # stands in for a dial an earlier run started
    _until(lambda: request.key in rig.server.backlog)
    rig.server.live = {"9-9-0-1-1"}  # listed before it is adopted: no sweep can miss it
    rig.adapter.adopt("9-9-0-1-1", 999)  # and a second one, from a previous daemon
    rig.adapter.adopt(request.key, 104)  # already tracked: no change
    rig.server.play(request.key)
    assert rig.result().key == request.key
    rig.server.live = set()  # the adopted call ended while its events went elsewhere
    adopted = rig.result()
    assert (adopted.key, adopted.attempt_id, adopted.signals.error) == ("9-9-0-1-1", 999, LOST)


def test_a_secret_with_a_line_break_is_never_sent(rig: Rig) -> None:
    settings = _settings(rig.server.port, "s3cret\r\nAction: Command")
    statuses: list[str] = []
    adapter = AmiTelephony(settings, on_status=lambda st: statuses.append(st.detail))
    adapter.start(lambda _r: None)
    try:
        _until(lambda: bool(statuses))
        assert statuses[0].startswith("AMI settings refused:")
        assert not adapter.is_up()
        assert rig.server.logins == 0 and b"Command" not in rig.server.received
    finally:
        adapter.close()


@pytest.mark.parametrize(
    "sim_rig", [(0.0, Faults(junk_rate=0.5, interleave=True, seed=7))], indirect=True
)
def test_simulator_junk_and_interleaving_change_nothing(sim_rig: SimRig) -> None:
    _until(sim_rig.adapter.is_up)
    for n, digit in enumerate(EXPECTED):
        sim_rig.adapter.originate(_request(n, f"1380000000{digit}"))
    got = {r.key: r.signals for r in (sim_rig.results.get(timeout=DEADLINE_S) for _ in EXPECTED)}
    for n, (digit, expected) in enumerate(EXPECTED.items()):
        s = got[f"7-{n}-0-1-1"]
        seen = (s.originate_response, s.reason, s.hangup_cause, s.callee_cause, s.dial_status)
        assert seen == expected[:5], digit


def test_a_shutdown_event_delivers_the_pending_dials_and_stops_dialling(rig: Rig) -> None:
    rig.server.autoplay = False
    rig.start()
    ringing, queued = _request(4, "13800000002", 60.0), _request(5, "13800000003", 60.0)
    rig.adapter.originate(ringing)
    rig.adapter.originate(queued)
    _until(lambda: len(rig.server.backlog) == 2)
    rig.server.play(ringing.key, 4)  # its channels exist: it had started ringing
    rig.server.backlog[queued.key] = [b"Event: Shutdown\r\nShutdown: Cleanly\r\nRestart: True"]
    rig.server.play(queued.key)
    got = {r.key: r.signals for r in (rig.result(), rig.result())}
    assert all(s.lost and s.raw["pbx_stopped"] for s in got.values()), got
    assert got[queued.key].hangup_cause is None  # never ran: retried soon by the engine
    assert not rig.adapter.is_up()  # no Originate on a connection whose PBX is stopping
    with pytest.raises(TelephonyUnavailable):
        rig.adapter.originate(_request(6, "13800000000"))
