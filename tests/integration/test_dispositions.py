"""Dispositions over FastAGI, through the virtual PBX and the result writer, into the database."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dialerd.db.engine import make_engine
from dialerd.db.models import Attempt, DncEntry
from dialerd.db.secrets import shared_secret
from dialerd.domain.outcomes import Outcome, info
from dialerd.pbx.agitoken import TOKEN_VARIABLE, AgiTokens
from dialerd.pbx.fastagi import FastAgiServer
from dialerd.settings import AgiSettings
from tests.enginekit import Rig, make_rig, write_campaign

TOKENS = AgiTokens("disposition-test-secret")
REASONS = list(Outcome)[:14]  # the manual's fourteen failure reasons (docs/rulebook.md §2)
ANSWERS, NO_ANSWER = "13800138000", "13800138002"


@pytest.fixture
def agi_port(request: pytest.FixtureRequest) -> Iterator[int]:
    rig: Rig = request.getfixturevalue("rig")
    server = FastAgiServer(AgiSettings(port=0), rig.pbx.on_answered, tokens=TOKENS)
    _, port = server.start()
    yield port
    server.stop()


def disposition(port: int, attempt_id: int, token: str | None, value: str) -> str | None:
    """Play Asterisk's side of ``AGI(agi://.../disposition,<attempt>,<token>)``."""
    env = f"agi_network: yes\nagi_network_script: disposition\nagi_arg_1: {attempt_id}\n"
    if token is not None:
        env += f"agi_arg_2: {token}\n"
    result = None
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        rfile = sock.makefile("rb")
        sock.sendall(env.encode() + b"\n")
        while line := rfile.readline():
            command = line.decode().rstrip("\n")
            if command == "GET VARIABLE DIALERD_DISPOSITION":
                reply = f"200 result=1 ({value})"
            elif command.startswith("SET VARIABLE DIALERD_AGI_RESULT "):
                result = command.split(" ", 3)[3].strip('"')
                reply = "200 result=1"
            else:
                reply = "200 result=0"
            sock.sendall(reply.encode() + b"\n")
    return result


def outcomes(engine: Engine) -> dict[str, tuple[str | None, str | None]]:
    """number -> (outcome, disposition) of its latest attempt."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Attempt.number, Attempt.outcome, Attempt.disposition).order_by(Attempt.id)
        )
        return {r.number: (r.outcome, r.disposition) for r in rows}


@pytest.fixture
def rig(engine: Engine, tmp_path: Path) -> Rig:
    rows = [f"c{n:02d},客户{n},1380010{n:03d}0" for n in range(len(REASONS))]
    rows += [f"n1,无人,{NO_ANSWER}"]
    return make_rig(engine, write_campaign(tmp_path, rows, calls_per_second=100), agi_tokens=TOKENS)


def test_each_of_the_fourteen_reasons_is_recorded_through_a_disposition(
    rig: Rig, agi_port: int
) -> None:
    assert rig.step() == len(REASONS) + 1
    rig.clock.advance(timedelta(seconds=10))  # the answered calls are up, still talking
    said: dict[str, Outcome] = {}
    for n, request in enumerate(r for r in rig.pbx.originated if r.number != "+86" + NO_ANSWER):
        reason = REASONS[n]
        name = info(reason).label_zh if n % 2 else reason.value  # by label and by code
        token = request.variables[TOKEN_VARIABLE]
        assert disposition(agi_port, request.attempt_id, token, name) == "accepted"
        said[request.number] = reason
    rig.settle()
    recorded = outcomes(rig.engine)
    for number, reason in said.items():
        assert recorded[number] == (reason.value, reason.value)
    assert set(said.values()) == set(REASONS)
    assert recorded["+86" + NO_ANSWER] == ("no_answer", None)


def test_forged_dispositions_change_nothing(rig: Rig, agi_port: int) -> None:
    assert rig.step() == len(REASONS) + 1
    by_number = {r.number: r for r in rig.pbx.originated}
    ringing = by_number["+86" + NO_ANSWER]
    answered = by_number["+8613800100000"]
    rig.clock.advance(timedelta(seconds=10))
    # the no-answer call (still ringing): no token, a wrong one, the right one before answer
    assert disposition(agi_port, ringing.attempt_id, None, "dnc_requested") == "no_token"
    wrong = TOKENS.token(ringing.attempt_id + 1)
    assert disposition(agi_port, ringing.attempt_id, wrong, "dnc_requested") == "bad_token"
    right = ringing.variables[TOKEN_VARIABLE]
    assert disposition(agi_port, ringing.attempt_id, right, "dnc_requested") == "not_answered"
    # an attempt id that does not exist yet, with its own token
    future = max(r.attempt_id for r in rig.pbx.originated) + 1
    assert disposition(agi_port, future, TOKENS.token(future), "completed") == "not_in_flight"
    # an answered call: one disposition, then no second one; an unknown one is refused
    token = answered.variables[TOKEN_VARIABLE]
    assert disposition(agi_port, answered.attempt_id, token, "sold_a_car") == "unknown_disposition"
    assert disposition(agi_port, answered.attempt_id, token, "refused") == "accepted"
    assert disposition(agi_port, answered.attempt_id, token, "dnc_requested") == (
        "already_recorded"
    )
    rig.settle()
    recorded = outcomes(rig.engine)
    assert recorded["+86" + NO_ANSWER] == ("no_answer", None)
    assert recorded["+8613800100000"] == ("refused", "refused")
    assert recorded["+8613800100010"] == ("answered", None)  # no disposition: the PBX's word
    with rig.engine.connect() as conn:
        assert conn.execute(select(DncEntry.id)).all() == []
    # the attempt that did not exist then is dialled later and owes nothing to the forgery
    rig.clock.advance(timedelta(hours=7))
    rig.step()
    rig.settle()
    with rig.engine.connect() as conn:
        row = conn.execute(select(Attempt.outcome).where(Attempt.id == future)).one_or_none()
    assert row is None or row.outcome != "completed"


def test_daemons_sharing_a_database_share_the_token_secret(engine: Engine) -> None:
    first = shared_secret(engine, "agi")
    assert len(first) == 64 and shared_secret(engine, "agi") == first
    assert shared_secret(engine, "other") != first
    other_daemon = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        theirs = AgiTokens(shared_secret(other_daemon, "agi"))
    finally:
        other_daemon.dispose()
    assert theirs.token(42) == AgiTokens(first).token(42)
