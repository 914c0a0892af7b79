"""FastAGI server against a client that plays Asterisk's side of the recorded exchange."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from dialerd.pbx import transcripts
from dialerd.pbx.agitoken import AgiTokens
from dialerd.pbx.fastagi import (
    AnsweredInfo,
    FastAgiServer,
    HeldAnswer,
    Verdict,
    parse_callback_at,
)
from dialerd.settings import AgiSettings

RECORDED_REPLIES = transcripts.read_text("answered-human-fastagi.agi-recv.txt")
RECORDED_ENV = RECORDED_REPLIES.split("\n\n")[0]
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
TOKENS = AgiTokens("test-secret")
DEADLINE_S = 60.0


@dataclass
class FakeTelephony:
    """Dials in flight by attempt id (value: answered by the PBX), checked like the adapters."""

    flights: dict[int, bool] = field(default_factory=dict)
    held: dict[int, HeldAnswer] = field(default_factory=dict)
    got: list[tuple[int, AnsweredInfo]] = field(default_factory=list)

    def __call__(self, attempt_id: int, info: AnsweredInfo) -> Verdict:
        if attempt_id not in self.flights:
            return Verdict.not_in_flight
        held = self.held.setdefault(attempt_id, HeldAnswer())
        verdict = held.take(info, answered_by_pbx=self.flights[attempt_id])
        if verdict is Verdict.accepted:
            self.got.append((attempt_id, info))
        return verdict


@pytest.fixture
def agi() -> Iterator[tuple[FakeTelephony, int]]:
    pbx = FakeTelephony({42: True, 77: True, 9: True, 5: False})
    server = FastAgiServer(AgiSettings(port=0), pbx, tokens=TOKENS, now=lambda: NOW)
    _, port = server.start()
    yield pbx, port
    server.stop()


def env_for(script: str, *args: str) -> str:
    lines = [f"agi_network: yes\nagi_network_script: {script}"]
    lines += [f"agi_arg_{n}: {value}" for n, value in enumerate(args, 1)]
    return "\n".join(lines)


@dataclass
class Played:
    commands: list[str]
    result: str | None  # what the server set in DIALERD_AGI_RESULT


def play_asterisk(
    port: int, env: str, variables: dict[str, str], hangup_before: int | None = None
) -> Played:
    """Send the environment, answer each command like Asterisk 22 did."""
    commands: list[str] = []
    result = None
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S) as sock:
        rfile = sock.makefile("rb")
        sock.sendall(env.encode() + b"\n\n")
        while line := rfile.readline():
            command = line.decode().rstrip("\n")
            commands.append(command)
            if hangup_before == len(commands):
                sock.sendall(b"HANGUP\n")
            if command.startswith("GET VARIABLE "):
                value = variables.get(command.split()[-1])
                reply = f"200 result=1 ({value})" if value is not None else "200 result=0"
            elif command.startswith("SET VARIABLE DIALERD_AGI_RESULT "):
                result = command.split(" ", 3)[3].strip('"')
                reply = "200 result=1"
            else:
                reply = "510 Invalid or unknown command"
            sock.sendall(reply.encode() + b"\n")
    return Played(commands, result)


def test_answered_records_the_answer_and_amd(agi: tuple[FakeTelephony, int]) -> None:
    pbx, port = agi
    env = RECORDED_ENV + f"\nagi_arg_1: 42\nagi_arg_2: {TOKENS.token(42)}\nagi_arg_3: HUMAN"
    played = play_asterisk(port, env, {"AMDCAUSE": "HUMAN-800-800"})
    assert played.commands == [
        "GET VARIABLE AMDCAUSE",
        "GET VARIABLE DIALERD_DISPOSITION",
        "GET VARIABLE DIALERD_CALLBACK",
        "GET VARIABLE DIALERD_RECORDING_FILE",
        'SET VARIABLE DIALERD_AGI_RESULT "accepted"',
    ]
    assert pbx.got == [
        (42, AnsweredInfo(answered_at=NOW, amd_status="HUMAN", amd_cause="HUMAN-800-800"))
    ]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (
            "/var/spool/asterisk/monitor/dialerd/42.wav",
            "/var/spool/asterisk/monitor/dialerd/42.wav",
        ),
        ("/rec/a\x01b.wav", None),  # a control character: left out
        ("/" + "r" * 300, None),  # longer than attempts.recording_file holds
    ],
)
def test_answered_reports_the_recording_file(
    agi: tuple[FakeTelephony, int], value: str, stored: str | None
) -> None:
    pbx, port = agi
    env = RECORDED_ENV + f"\nagi_arg_1: 42\nagi_arg_2: {TOKENS.token(42)}\nagi_arg_3: HUMAN"
    play_asterisk(port, env, {"DIALERD_RECORDING_FILE": value})
    assert [info.recording_file for _, info in pbx.got] == [stored]


def test_disposition_reads_the_flow_variables_and_skips_hangup(
    agi: tuple[FakeTelephony, int],
) -> None:
    pbx, port = agi
    variables = {
        "DIALERD_DISPOSITION": "预约回拨",
        "DIALERD_CALLBACK": "2026-12-01T10:00:00+08:00",
    }
    env = env_for("disposition", "77", TOKENS.token(77))
    played = play_asterisk(port, env, variables, hangup_before=1)
    assert played.result is None  # hung up: nothing more is said to the channel
    callback = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert pbx.got == [(77, AnsweredInfo(disposition="callback_requested", callback_at=callback))]


def test_attempt_and_token_fall_back_to_channel_variables(
    agi: tuple[FakeTelephony, int],
) -> None:
    pbx, port = agi
    env = "agi_network: yes\nagi_network_script: disposition?src=ivr"
    variables = {
        "DIALERD_ATTEMPT": "9",
        "DIALERD_TOKEN": TOKENS.token(9),
        "DIALERD_DISPOSITION": "refused",
    }
    assert play_asterisk(port, env, variables).result == "accepted"
    assert pbx.got == [(9, AnsweredInfo(disposition="refused"))]


@pytest.mark.parametrize(
    ("args", "variables", "reason"),
    [
        ((), {}, "no_attempt"),
        (("att-answered-human-fastagi",), {}, "no_attempt"),
        (("42",), {}, "no_token"),
        (("42", "0" * 32), {}, "bad_token"),
        (("42", TOKENS.token(43)), {}, "bad_token"),
        (("42", "令牌"), {}, "bad_token"),
        (("1000", TOKENS.token(1000)), {}, "not_in_flight"),
        (("5", TOKENS.token(5)), {}, "not_answered"),
    ],
)
def test_forged_requests_change_nothing_and_are_logged_once(
    agi: tuple[FakeTelephony, int], args: tuple[str, ...], variables: dict[str, str], reason: str
) -> None:
    pbx, port = agi
    with capture_logs() as logs:
        played = play_asterisk(
            port, env_for("disposition", *args), {"DIALERD_DISPOSITION": "dnc_requested"}
        )
    assert played.result == reason
    assert pbx.got == []
    refused = [e for e in logs if e["event"] == "agi_refused"]
    assert [e["reason"] for e in refused] == [reason]
    assert all("exc_info" not in e for e in logs)
    if reason == "bad_token":  # the caller's token is not logged
        assert all(args[1] not in str(e) for e in logs)


def test_a_second_disposition_is_refused(agi: tuple[FakeTelephony, int]) -> None:
    pbx, port = agi
    env = env_for("disposition", "42", TOKENS.token(42))
    assert play_asterisk(port, env, {"DIALERD_DISPOSITION": "completed"}).result == "accepted"
    with capture_logs() as logs:
        second = play_asterisk(port, env, {"DIALERD_DISPOSITION": "dnc_requested"})
    assert second.result == "already_recorded"
    assert pbx.got == [(42, AnsweredInfo(disposition="completed"))]
    assert [e["reason"] for e in logs if e["event"] == "agi_refused"] == ["already_recorded"]


def test_an_unknown_disposition_is_refused_to_the_caller_and_logged_raw(
    agi: tuple[FakeTelephony, int],
) -> None:
    pbx, port = agi
    env = env_for("disposition", "42", TOKENS.token(42))
    with capture_logs() as logs:
        played = play_asterisk(port, env, {"DIALERD_DISPOSITION": "sold_a_car"})
    assert played.result == "unknown_disposition"
    assert pbx.got == [(42, AnsweredInfo())]  # nothing recorded: the PBX's outcome stands
    (line,) = [e for e in logs if e["event"] == "agi_refused"]
    assert (line["reason"], line["disposition"], line["attempt_id"]) == (
        "unknown_disposition",
        "sold_a_car",
        42,
    )


def test_unknown_scripts_are_not_served(agi: tuple[FakeTelephony, int]) -> None:
    pbx, port = agi
    assert play_asterisk(port, env_for("other", "42", TOKENS.token(42)), {}).commands == []
    assert pbx.got == []


# -- bounds --------------------------------------------------------------------------------


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def wait_closed(sock: socket.socket) -> None:
    """Until the server closes ``sock`` (EOF or reset), within the deadline."""
    sock.settimeout(DEADLINE_S)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass


def genuine_request(port: int, attempt_id: int) -> str | None:
    env = env_for("disposition", str(attempt_id), TOKENS.token(attempt_id))
    return play_asterisk(port, env, {"DIALERD_DISPOSITION": "completed"}).result


def test_idle_connections_and_a_huge_line_leave_the_server_serving() -> None:
    pbx = FakeTelephony(dict.fromkeys(range(1, 10), True))
    server = FastAgiServer(AgiSettings(port=0), pbx, tokens=TOKENS)
    _, port = server.start()
    chunk = b"x" * (1 << 20)
    try:
        assert genuine_request(port, 1) == "accepted"  # warm: pool threads, buffers
        before = rss_kib()
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(1000)]
        with socket.create_connection(("127.0.0.1", port)) as huge:
            sent = 0
            try:
                while sent < 300 * len(chunk):
                    huge.sendall(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            wait_closed(huge)
        assert sent < 300 * len(chunk)  # cut off long before the end of the line
        served: list[str | None] = []
        worker = threading.Thread(target=lambda: served.append(genuine_request(port, 2)))
        worker.start()
        worker.join(DEADLINE_S)
        assert served == ["accepted"]
        assert server.connections <= AgiSettings().max_connections
        growth_kib = rss_kib() - before
        assert growth_kib < 20 * 1024, f"RSS grew by {growth_kib} KiB"
        print(f"RSS growth {growth_kib} KiB; {sent >> 20} MiB of the line sent")
        for sock in idle:
            sock.close()
    finally:
        server.stop()
    assert [n for n, _ in pbx.got] == [1, 2]


def test_the_connection_limit_makes_room_for_a_genuine_request() -> None:
    pbx = FakeTelephony({1: True})
    settings = AgiSettings(port=0, max_connections=4, workers=2)
    server = FastAgiServer(settings, pbx, tokens=TOKENS)
    _, port = server.start()
    try:
        with capture_logs() as logs:
            idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
            wait_closed(idle[0])  # the oldest two make room for the later ones
            wait_closed(idle[1])
            assert genuine_request(port, 1) == "accepted"
        evicted = [e for e in logs if e["event"] == "agi_connection_evicted"]
        assert len(evicted) == 3
        for sock in idle:
            sock.close()
    finally:
        server.stop()


def test_idle_timeouts_are_one_line_each_without_traceback() -> None:
    pbx = FakeTelephony({1: True})
    # the stalled client's environment must arrive within the timeout of its connect: room
    # for a busy machine between the two (0.2 s was not)
    server = FastAgiServer(AgiSettings(port=0, idle_timeout_s=1.0), pbx, tokens=TOKENS)
    _, port = server.start()
    try:
        with capture_logs() as logs:
            with socket.create_connection(("127.0.0.1", port)) as silent:
                wait_closed(silent)  # never sent its environment
            with socket.create_connection(("127.0.0.1", port)) as stalled:
                env = env_for("disposition", "1", TOKENS.token(1))
                stalled.sendall(env.encode() + b"\n\n")
                wait_closed(stalled)  # never answered GET VARIABLE
    finally:
        server.stop()
    timeouts = [e for e in logs if e["event"] == "agi_idle_timeout"]
    assert [e["phase"] for e in timeouts] == ["environment", "session"]
    assert all("exc_info" not in e and e["log_level"] == "info" for e in timeouts)
    assert pbx.got == []


def test_a_long_reply_line_closes_the_session() -> None:
    pbx = FakeTelephony({1: True})
    server = FastAgiServer(AgiSettings(port=0, max_line_bytes=1024), pbx, tokens=TOKENS)
    _, port = server.start()
    try:
        with capture_logs() as logs:
            variables = {"DIALERD_DISPOSITION": "completed" + "x" * 2000}
            played = play_asterisk(port, env_for("disposition", "1", TOKENS.token(1)), variables)
    finally:
        server.stop()
    assert played.commands == ["GET VARIABLE DIALERD_DISPOSITION"]
    assert [e["event"] for e in logs if e["event"].startswith("agi_line")] == ["agi_line_too_long"]
    assert pbx.got == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T10:00:00+08:00", datetime(2026, 12, 1, 2, 0, tzinfo=UTC)),
        ("1796083200", datetime(2026, 12, 1, 0, 0, tzinfo=UTC)),
        ("2026-12-01T10:00:00", None),  # no offset: ambiguous, refused
        ("tomorrow", None),
        ("", None),
    ],
)
def test_callback_times(text: str, expected: datetime | None) -> None:
    assert parse_callback_at(text) == expected
