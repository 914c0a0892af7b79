"""The AMI simulator against a raw socket client: it must talk like the recordings."""

from __future__ import annotations

import itertools
import re
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from dialerd.domain.ports import DialResult
from dialerd.pbx import transcripts
from dialerd.pbx.ami.correlate import Correlator
from dialerd.pbx.ami.protocol import AmiMessage, AmiParser, format_action
from dialerd.pbx.simulator import AmiSimulator, Faults, Scenario
from dialerd.pbx.simulator.scenario import DIGIT_OUTCOMES, KNOWN_TEMPLATES, default_template
from dialerd.pbx.simulator.templates import load_template
from tests.integration.test_ami_replay import DIGIT_TRANSCRIPT, EXPECTED_SIGNALS

SECRET = "s3cret"
SCALE = 0.01
DEADLINE_S = 30.0  # for any wait on what should come: generous, the machine may be busy
HELD = 1e6  # time_scale at which a call moves on only when the test plays it
_OPEN: list[socket.socket] = []


class Client:
    """A plain socket AMI client that keeps every message it read."""

    def __init__(self, address: tuple[str, int], login: bool = True) -> None:
        self.sock = socket.create_connection(address, timeout=5)
        _OPEN.append(self.sock)
        self.parser = AmiParser()
        self.messages: list[AmiMessage] = []
        self.eof = False
        self.sent = b""
        if login:
            self.send("Login", ("Username", "dialerd"), ("Secret", SECRET), ("ActionID", "l-1"))
            self.until(lambda m: m.name == "FullyBooted")

    @classmethod
    def batch(cls) -> Client:
        """A client that only collects what it would send (``sent``), to write it at once."""
        batch = cls.__new__(cls)
        batch.sent = b""
        batch.sock = None  # type: ignore[assignment]
        return batch

    def send(self, action: str, *headers: tuple[str, str]) -> None:
        self.send_raw(format_action(action, headers))

    def send_raw(self, data: bytes) -> None:
        self.sent += data
        if self.sock is not None:
            self.sock.sendall(data)

    def until(self, pred: Callable[[AmiMessage], bool], timeout: float = DEADLINE_S) -> AmiMessage:
        """The first message read (already or from now on) that ``pred`` accepts."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for msg in self.messages[seen:]:
                if pred(msg):
                    return msg
            seen = len(self.messages)
            if self.eof or time.monotonic() > deadline:
                raise AssertionError(f"not seen (eof={self.eof}) after {seen} messages")
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:  # an aborted connection may reset rather than close
                data = b""
            self.eof = not data
            self.messages += self.parser.feed(data)

    def until_count(self, count: int, timeout: float = DEADLINE_S) -> None:
        """Read until ``count`` messages in all were read."""
        if len(self.messages) < count:
            self.until(lambda _: len(self.messages) >= count, timeout)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture
def sim() -> Iterator[AmiSimulator]:
    simulator = AmiSimulator(secret=SECRET, time_scale=SCALE, login_fail_delay_s=0.2)
    simulator.start_in_thread()
    yield simulator
    simulator.stop()


def _address(sim: AmiSimulator) -> tuple[str, int]:
    return sim.host, sim.port


def _recorded_originate(name: str) -> bytes:
    sent = transcripts.load(name).sent
    return next(b for b in sent.split(b"\r\n\r\n") if b"Action: Originate" in b) + b"\r\n\r\n"


def _normalised(msgs: list[AmiMessage]) -> list[list[tuple[str, str]]]:
    """Headers with Uniqueids and channel sequence numbers replaced by their order of appearance."""
    ids: dict[str, str] = {}
    out = []
    for msg in msgs:
        headers = []
        for key, value in msg.headers:
            if key.endswith(("Uniqueid", "Linkedid")) and value != "<unknown>":
                value = ids.setdefault(value, f"U{len(ids)}")
            value = re.sub(r"-[0-9a-f]{8}(;[12])", r"-SEQ\1", value)
            if key == "Timestamp":
                value = "T"
            headers.append((key, value))
        out.append(headers)
    return out


def _recorded_call_events(name: str) -> list[AmiMessage]:
    msgs = AmiParser().feed(transcripts.load(name).received)
    ack = next(i for i, m in enumerate(msgs) if m.get("ActionID") == f"{name}-orig-2")
    return [m for m in msgs[ack + 1 :] if m.kind == "event"]


@pytest.mark.parametrize("name", sorted(KNOWN_TEMPLATES))
def test_each_recorded_behaviour_is_replayed_field_for_field(sim: AmiSimulator, name: str) -> None:
    recorded = _recorded_call_events(name)
    client = Client(_address(sim))
    client.send_raw(_recorded_originate(name))
    ack = client.until(lambda m: m.get("ActionID") == f"{name}-orig-2")
    assert (ack.name, ack["Message"]) == ("Success", "Originate successfully queued")
    start = client.messages.index(ack) + 1
    client.until_count(start + len(recorded))
    with pytest.raises(AssertionError):  # and nothing more
        client.until(lambda m: False, timeout=0.1)
    got = client.messages[start:]
    assert _normalised(got) == _normalised(recorded)
    client.close()


def _originate(client: Client, key: str, number: str, **extra: str) -> None:
    headers = {
        "ActionID": key,
        "ChannelId": key,
        "OtherChannelId": f"{key}-2",
        "Channel": f"PJSIP/{number}@carrier",
        "Context": "dialerd-answered",
        "Exten": "s",
        "Priority": "1",
        "Timeout": "5000",
        "CallerID": '"Bank" <95555>',
        "Variable": f"DIALERD_ATTEMPT={key[1:]}",
        "Async": "true",
    }
    headers.update(extra)
    client.send("Originate", *((k, v) for k, v in headers.items() if v))


def _results(client: Client, keys: list[str], timeout: float = DEADLINE_S) -> dict[str, DialResult]:
    results: dict[str, DialResult] = {}
    correlator = Correlator(lambda r: results.__setitem__(r.key, r), settle_s=0.0)
    now = datetime.now(UTC)
    for key in keys:
        correlator.expect(key, int(key[1:]), 30.0, now)
    fed = 0

    def done(_: AmiMessage) -> bool:
        nonlocal fed
        for msg in client.messages[fed:]:
            correlator.feed(msg, datetime.now(UTC))
        fed = len(client.messages)
        correlator.tick(datetime.now(UTC))
        return len(results) == len(keys)

    client.until(done, timeout)
    return results


def test_concurrent_calls_by_channel_id_give_the_recorded_signals(sim: AmiSimulator) -> None:
    client = Client(_address(sim))
    keys = [f"k{d}" for d in range(10)]
    for digit, key in enumerate(keys):
        _originate(client, key, f"861380013800{digit}")
    results = _results(client, keys)
    for digit, key in enumerate(keys):
        s = results[key].signals
        fields = (s.originate_response, s.reason, s.hangup_cause, s.callee_cause, s.dial_status)
        assert fields == EXPECTED_SIGNALS[DIGIT_TRANSCRIPT[digit]][:5], key
        assert s.raw["channels"][0].startswith(f"PJSIP/861380013800{digit}@carrier-")
    failed = next(m for m in client.messages if m.get("ActionID") == "k1" and m.kind == "event")
    assert failed["Uniqueid"] == "k1"  # a failed Originate names the ChannelId it was given
    assert [r.variables for r in sim.originates[:2]] == [
        [("DIALERD_ATTEMPT", "0")],
        [("DIALERD_ATTEMPT", "1")],
    ]
    assert [(r.channel_id, r.template) for r in sim.originates[:2]] == [
        ("k0", "answered-human"),
        ("k1", "busy"),
    ]


def test_bad_login_waits_then_closes(sim: AmiSimulator) -> None:
    client = Client(_address(sim), login=False)
    started = time.monotonic()
    client.send("Login", ("Username", "dialerd"), ("Secret", "wrong"), ("ActionID", "b-1"))
    reply = client.until(lambda m: m.kind == "response")
    assert time.monotonic() - started >= 0.2
    assert (reply.name, reply["Message"], reply["ActionID"]) == (
        "Error",
        "Authentication failed",
        "b-1",
    )
    with pytest.raises(AssertionError, match="eof=True"):
        client.until(lambda m: False)


def test_ping_events_unknown_action_and_logoff(sim: AmiSimulator) -> None:
    client = Client(_address(sim))
    assert client.parser.banner == "Asterisk Call Manager/11.0.0"
    client.send("Ping", ("ActionID", "p-1"))
    pong = client.until(lambda m: m.get("ActionID") == "p-1")
    assert pong.headers[:3] == [("Response", "Success"), ("ActionID", "p-1"), ("Ping", "Pong")]
    assert abs(float(pong["Timestamp"]) - time.time()) < 60
    client.send("Events", ("ActionID", "e-1"), ("EventMask", "off"))
    assert client.until(lambda m: m.get("ActionID") == "e-1")["Events"] == "Off"
    client.send("Frobnicate", ("ActionID", "u-1"))
    assert (
        client.until(lambda m: m.get("ActionID") == "u-1")["Message"] == "Invalid/unknown command"
    )
    client.send("Logoff", ("ActionID", "o-1"))
    bye = client.until(lambda m: m.get("ActionID") == "o-1")
    assert (bye.name, bye["Message"]) == ("Goodbye", "Thanks for all the fish.")
    with pytest.raises(AssertionError, match="eof=True"):
        client.until(lambda m: False)


def test_refused_and_sync_originates(sim: AmiSimulator) -> None:
    client = Client(_address(sim))
    _originate(client, "k1", "13800000001", Context="no-such-context")
    refused = client.until(lambda m: m.get("ActionID") == "k1")
    assert (refused.name, refused["Message"]) == ("Error", "Extension does not exist.")
    _originate(client, "k2", "13800000001", Async="")
    reply = client.until(lambda m: m.get("ActionID") == "k2")
    assert (reply.name, reply["Message"]) == ("Error", "Originate failed")
    client.until(lambda m: m.name == "Hangup" and m["Uniqueid"] == "k2")
    after = client.messages[client.messages.index(reply) + 1 :]
    assert [m.name for m in after].count("Hangup") == 2
    assert not any(m.name == "OriginateResponse" for m in client.messages)


def test_core_show_channels_lists_a_live_call_and_hangup_ends_it(sim: AmiSimulator) -> None:
    client = Client(_address(sim))
    _originate(client, "k2", "13800000002", Timeout="600000")  # rings until hung up
    client.until(lambda m: m.name == "DialState")
    client.send("CoreShowChannels", ("ActionID", "c-1"))
    done = client.until(lambda m: m.name == "CoreShowChannelsComplete")
    listed = [m for m in client.messages if m.name == "CoreShowChannel"]
    assert (done["ListItems"], done["EventList"], done["ActionID"]) == ("2", "Complete", "c-1")
    assert sorted(m["Uniqueid"] for m in listed) == ["k2", "k2-2"]
    assert all(m["Linkedid"] == "k2" and "Duration" in m and "Application" in m for m in listed)
    channel = next(m["Channel"] for m in listed if m["Uniqueid"] == "k2")
    client.send("Hangup", ("ActionID", "h-1"), ("Channel", channel))
    assert client.until(lambda m: m.get("ActionID") == "h-1")["Message"] == "Channel Hungup"
    results = _results(client, ["k2"])
    s = results["k2"].signals
    assert (s.originate_response, s.reason, s.hangup_cause, s.rang) == ("Failure", 1, 16, True)
    assert sim.live_call_count() == 0


def test_dropped_connection_keeps_the_call_and_loses_outage_events() -> None:
    sim = AmiSimulator(secret=SECRET, time_scale=HELD, faults=Faults(drop_after_originates=1))
    address = sim.start_in_thread()
    try:
        client = Client(address)
        _originate(client, "k8", "13800000008")  # answering machine, held until played
        with pytest.raises(AssertionError, match="eof=True"):
            client.until(lambda m: False)
        sim.play("k8", 2)  # the call goes on during the outage; these events reach no one
        assert not any(m.name == "Hangup" for m in client.messages)
        again = Client(address)
        again.send("CoreShowChannels", ("ActionID", "c-1"))
        again.until(lambda m: m.name == "CoreShowChannelsComplete")
        assert {m["Uniqueid"] for m in again.messages if m.name == "CoreShowChannel"} == {
            "k8",
            "k8-2",
        }
        sim.play("k8")  # the rest of the call, on the new connection
        hangup = again.until(lambda m: m.name == "Hangup" and m["Uniqueid"] == "k8")
        assert hangup["Cause"] == "16"
        assert not any(m.name == "Newchannel" for m in again.messages)  # sent during the outage
    finally:
        sim.stop()


def _with_account(msg: AmiMessage, account: str) -> list[tuple[str, str]]:
    """A recorded event as Asterisk 22 sends it for an Originate with ``Account``: every
    ``*AccountCode`` field carries it, but a Local half's Newchannel and the VarSets of
    the Originate's variables, which come before its NewAccountCode (checked on 22.10.1;
    the OutgoingSpoolFailed channel is made with it)."""
    early = msg.name == "Newchannel" or (
        msg.name == "VarSet" and msg.get("Variable") == "DIALERD_ATTEMPT"
    )
    keep = early and msg.get("Channel") != "OutgoingSpoolFailed"
    return [(k, v if keep or not k.endswith("AccountCode") else account) for k, v in msg.headers]


@pytest.mark.parametrize("name", ["answered-human", "busy", "congestion"])
def test_the_originates_account_is_every_channels_account_code(
    sim: AmiSimulator, name: str
) -> None:
    recorded = _recorded_call_events(name)
    client = Client(_address(sim))
    originate = _recorded_originate(name).replace(b"Async:", b"Account: K-1\r\nAsync:")
    client.send_raw(originate)
    ack = client.until(lambda m: m.get("ActionID") == f"{name}-orig-2")
    start = client.messages.index(ack) + 1
    client.until_count(start + len(recorded))
    got = [AmiMessage.from_pairs(h) for h in _normalised(client.messages[start:])]
    want = [AmiMessage.from_pairs(h) for h in _normalised(recorded)]
    assert [m.headers for m in got] == [_with_account(m, "K-1") for m in want]
    assert any(k.endswith("AccountCode") and v == "K-1" for m in got for k, v in m.headers)
    client.close()


def test_the_spool_failed_channel_is_made_with_the_account() -> None:
    """Asterisk 22 makes the ``failed`` extension's channel with the Account already set."""
    parts = [p.fmt for g in load_template("busy-failed-ext").groups for p in g.parts]
    events = [e for fmt in parts for e in fmt.split("\r\n\r\n") if e]
    spool = [e for e in events if "Channel: OutgoingSpoolFailed" in e]
    assert len(spool) >= 3 and all("AccountCode: {account}" in e for e in spool)
    local = [e for e in events if e.startswith("Event: Newchannel") and "{chan}-{seq}" in e]
    assert len(local) == 2 and all("AccountCode: \r\n" in e for e in local)


def test_core_show_channels_lists_each_channel_with_the_originates_account() -> None:
    sim = AmiSimulator(secret=SECRET, time_scale=HELD)
    address = sim.start_in_thread()
    try:
        client = Client(address)
        _originate(client, "k8", "13800000008", Account="7-8-0-1-1")
        _originate(client, "k9", "13800000008")  # no Account: no code, as Asterisk
        client.send("CoreShowChannels", ("ActionID", "c-1"))
        client.until(lambda m: m.name == "CoreShowChannelsComplete")
        rows = [m for m in client.messages if m.name == "CoreShowChannel"]
        codes = {m["Uniqueid"]: m["AccountCode"] for m in rows}
        assert codes == {"k8": "7-8-0-1-1", "k8-2": "7-8-0-1-1", "k9": "", "k9-2": ""}
    finally:
        sim.stop()


def test_getvar_reads_the_amd_verdict_on_the_answered_channel_once_given() -> None:
    """As Asterisk 22: Success with Variable and Value (empty when unset), or an Error."""
    sim = AmiSimulator(secret=SECRET, time_scale=HELD)
    address = sim.start_in_thread()
    try:
        client = Client(address)
        _originate(client, "k8", "13800000008")  # answering machine, held until played
        client.send("CoreShowChannels", ("ActionID", "c-1"))
        client.until(lambda m: m.name == "CoreShowChannelsComplete")
        named = {
            m["Uniqueid"]: m["Channel"] for m in client.messages if m.name == "CoreShowChannel"
        }
        answered, callee = named["k8"], named["k8-2"]
        asked = itertools.count()

        def getvar(channel: str, variable: str) -> AmiMessage:
            aid = f"g-{next(asked)}"
            client.send("Getvar", ("ActionID", aid), ("Channel", channel), ("Variable", variable))
            return client.until(lambda m: m.get("ActionID") == aid)

        before = getvar(answered, "AMDSTATUS")
        assert before.headers[:2] == [("Response", "Success"), ("ActionID", "g-0")]
        assert (before["Variable"], before["Value"]) == ("AMDSTATUS", "")
        amd_group = load_template("answering-machine").amd_group
        assert amd_group is not None
        sim.play("k8", amd_group)  # group 0 went out at once: up to AMD's VarSets
        assert getvar(answered, "AMDSTATUS")["Value"] == "MACHINE"
        assert getvar(answered, "AMDCAUSE")["Value"] == "LONGGREETING-1500-1500"
        assert getvar(callee, "AMDSTATUS")["Value"] == ""  # AMD ran on the answered half
        assert getvar(callee, "DIALERD_ATTEMPT")["Value"] == "8"
        gone = getvar("PJSIP/nobody-00000001", "AMDSTATUS")
        assert (gone.name, gone["Message"]) == ("Error", "No such channel")
        assert getvar(answered, "")["Message"] == "No variable specified"
    finally:
        sim.stop()


def test_event_delay_and_drop_connections_on_demand() -> None:
    delay = 2.0  # the ack comes at once and the events after the delay, however busy the CPU
    sim = AmiSimulator(secret=SECRET, time_scale=0, faults=Faults(event_delay_s=delay))
    address = sim.start_in_thread()
    try:
        client = Client(address)
        started = time.monotonic()
        _originate(client, "k1", "13800000001")
        ack = client.until(lambda m: m.get("ActionID") == "k1")
        newchannel = client.until(lambda m: m.name == "Newchannel")
        assert time.monotonic() - started >= 0.3  # the events waited; the ack came before them
        assert client.messages.index(ack) < client.messages.index(newchannel)
        other = Client(address)
        sim.drop_connections()
        for each in (client, other):
            with pytest.raises(AssertionError, match="eof=True"):
                each.until(lambda m: False)
    finally:
        sim.stop()


def test_junk_and_interleaving_faults_do_not_change_results() -> None:
    faults = Faults(junk_rate=1.0, interleave=True, seed=3)
    sim = AmiSimulator(secret=SECRET, time_scale=0, faults=faults)
    address = sim.start_in_thread()
    try:
        client = Client(address)
        keys = [f"k{d}" for d in (1, 3, 4, 5, 6, 9)]
        batch = Client.batch()
        for key in keys:
            _originate(batch, key, f"1380000000{key[1]}")
        client.send_raw(batch.sent)  # in one write: the calls run side by side
        results = _results(client, keys)
        assert {k: r.signals.hangup_cause for k, r in results.items()} == {
            "k1": 0,
            "k3": 1,
            "k4": 21,
            "k5": 0,
            "k6": 20,
            "k9": 18,
        }
        assert any(m.name == "SimulatorUnknownEvent" for m in client.messages)
        assert any(m.garbage for m in client.messages)
        uids = [(m.get("Uniqueid") or "").partition("-")[0] for m in client.messages]
        owners = [uid for uid in uids if uid in results]
        switches = sum(a != b for a, b in itertools.pairwise(owners))
        assert switches > len(keys)  # the calls' events are interleaved
    finally:
        sim.stop()


def test_hung_simulator_answers_no_ping(sim: AmiSimulator) -> None:
    client = Client(_address(sim))
    sim.faults.hung = True
    client.send("Ping", ("ActionID", "p-1"))
    with pytest.raises(AssertionError, match="eof=False"):
        client.until(lambda m: m.get("ActionID") == "p-1", timeout=0.3)
    sim.faults.hung = False
    client.send("Ping", ("ActionID", "p-2"))
    assert client.until(lambda m: m.get("ActionID") == "p-2")["Ping"] == "Pong"


def test_reject_login_fault(sim: AmiSimulator) -> None:
    sim.faults.reject_login = True
    with pytest.raises(AssertionError, match="eof=True"):
        Client(_address(sim))


def test_received_bytes_are_recorded_exactly(sim: AmiSimulator) -> None:
    client = Client(_address(sim))
    client.send_raw(b"Action: Ping\r\nActionID: x\r\nX-Injected: a\r\n\r\n")
    client.until(lambda m: m.get("ActionID") == "x")
    assert sim.received == client.sent
    assert sim.sessions[0].received == client.sent and sim.sessions[0].logged_in


def test_records_stay_bounded(sim: AmiSimulator) -> None:
    sim.max_records, sim.max_received_bytes = 4, 100
    client = Client(_address(sim))
    for i in range(7):
        _originate(client, f"k{i}", "13800000003")
    client.until(lambda m: m.get("Uniqueid") == "k6" and m.name == "Hangup")
    assert [r.action_id for r in sim.originates] == ["k4", "k5", "k6"]
    assert len(sim.sessions[0].received) == 100 and client.sent.endswith(sim.received)


def test_timeout_ends_an_unanswered_call_early() -> None:
    # scaled by 4: the recorded no-answer rings 21 s, a Timeout of 300 ms ends it at 1.2 s
    sim = AmiSimulator(secret=SECRET, time_scale=4.0)
    address = sim.start_in_thread()
    try:
        client = Client(address)
        started = time.monotonic()
        _originate(client, "k2", "13800000002", Timeout="300")
        s = _results(client, ["k2"])["k2"].signals
        assert (s.reason, s.hangup_cause) == (3, 19)
        # 0.3 s after the Originate at time_scale 1; the recording's own Timeout (5 s) would
        # have ended it after 20 s at this scale: between the two, a busy machine's delays
        recorded = load_template("no-answer").recorded_timeout_s
        assert time.monotonic() - started < recorded * sim.time_scale
    finally:
        sim.stop()


def test_scenario_rules() -> None:
    scenario = Scenario(
        rules=[("+86138*", {"answered": 0.5, "busy": 0.5}), (re.compile(r"\d+7"), "vacant")],
        seed=1,
    )
    picks = {scenario.template_for("8613800000000") for _ in range(50)}
    assert picks == {"answered-human", "busy"}
    assert scenario.template_for("1007") == "unallocated"
    assert Scenario(rules=[("re:1[0-9]{3}", "congestion")]).template_for("1234") == "congestion"
    assert scenario.template_for("1009") == "no-user-responding"
    assert [default_template(f"1380000000{d}") for d in range(10)] == list(DIGIT_TRANSCRIPT)
    assert default_template("+8613900000015") == "x-cause38-network-out-of-order"
    assert len(DIGIT_OUTCOMES) == 10
    with pytest.raises(ValueError, match="unknown simulated outcome"):
        Scenario(rules=[("*", "nonsense")])
