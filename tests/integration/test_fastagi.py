"""FastAGI server against a client that plays Asterisk's side of the recorded exchange."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from dialerd.pbx import transcripts
from dialerd.pbx.fastagi import AnsweredInfo, FastAgiServer, parse_callback_at
from dialerd.settings import AgiSettings

RECORDED_REPLIES = transcripts.read_text("answered-human-fastagi.agi-recv.txt")
RECORDED_ENV = RECORDED_REPLIES.split("\n\n")[0]
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


class Reports:
    def __init__(self) -> None:
        self.got: list[tuple[int, AnsweredInfo]] = []

    def __call__(self, attempt_id: int, info: AnsweredInfo) -> None:
        self.got.append((attempt_id, info))


@pytest.fixture
def agi() -> Iterator[tuple[FastAgiServer, Reports, int]]:
    reports = Reports()
    server = FastAgiServer(AgiSettings(port=0), reports, now=lambda: NOW)
    _, port = server.start()
    yield server, reports, port
    server.stop()


def play_asterisk(
    port: int, env: str, variables: dict[str, str], hangup_before: int | None = None
) -> list[str]:
    """Send the environment, answer each command like Asterisk 22 did; return the commands."""
    commands: list[str] = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
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
            elif command.startswith("BOGUS"):
                reply = "510 Invalid or unknown command"
            else:
                reply = "200 result=1"
            sock.sendall(reply.encode() + b"\n")
    return commands


def test_the_recorded_replies_are_the_forms_the_client_plays() -> None:
    assert "200 result=1 (att-answered-human-fastagi)\n" in RECORDED_REPLIES
    assert RECORDED_REPLIES.rstrip("\n").endswith("HANGUP")


def test_answered_records_the_answer_and_amd(agi: tuple[FastAgiServer, Reports, int]) -> None:
    _, reports, port = agi
    env = RECORDED_ENV.replace("agi_arg_1: att-answered-human-fastagi", "agi_arg_1: 42")
    commands = play_asterisk(port, env, {"AMDCAUSE": "HUMAN-800-800"})
    assert commands == [
        "GET VARIABLE AMDCAUSE",
        "GET VARIABLE DIALERD_DISPOSITION",
        "GET VARIABLE DIALERD_CALLBACK",
    ]
    assert reports.got == [
        (42, AnsweredInfo(answered_at=NOW, amd_status="HUMAN", amd_cause="HUMAN-800-800"))
    ]


def test_disposition_reads_the_flow_variables_and_skips_hangup(
    agi: tuple[FastAgiServer, Reports, int],
) -> None:
    _, reports, port = agi
    env = (
        "agi_network: yes\nagi_network_script: disposition\n"
        "agi_request: agi://127.0.0.1:4573/disposition\nagi_arg_1: 77"
    )
    variables = {
        "DIALERD_DISPOSITION": "callback_requested",
        "DIALERD_CALLBACK": "2026-12-01T10:00:00+08:00",
    }
    play_asterisk(port, env, variables, hangup_before=1)
    callback = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert reports.got == [
        (77, AnsweredInfo(disposition="callback_requested", callback_at=callback))
    ]


def test_attempt_id_falls_back_to_the_channel_variable(
    agi: tuple[FastAgiServer, Reports, int],
) -> None:
    _, reports, port = agi
    env = "agi_network: yes\nagi_network_script: disposition?src=ivr"
    play_asterisk(port, env, {"DIALERD_ATTEMPT": "9", "DIALERD_DISPOSITION": "refused"})
    assert reports.got == [(9, AnsweredInfo(disposition="refused"))]


def test_without_a_numeric_attempt_nothing_is_reported(
    agi: tuple[FastAgiServer, Reports, int],
) -> None:
    _, reports, port = agi
    play_asterisk(port, RECORDED_ENV, {})  # agi_arg_1 is "att-answered-human-fastagi"
    assert play_asterisk(port, "agi_network: yes\nagi_network_script: other", {}) == []
    assert reports.got == []


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
