"""The manager.conf recipe's event filters (docs/asterisk.md, section 1) on a real Asterisk:
with only those events sent, `dialerd run` still records the ten callee behaviours,
the AMD verdicts among them, exactly as without them."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.realpbx.pbx import (
    AMI_SECRET,
    AMI_USER,
    DialerSite,
    RealPbx,
    filtered_manager_conf,
    wait_for,
)
from tests.recordings import LAST_DIGIT_OUTCOMES

pytestmark = pytest.mark.timeout(240)


def _filtered(pbx: RealPbx, folder: Path) -> RealPbx:
    pbx.restart_with(filtered_manager_conf(folder, pbx.script, pbx.ami_port))
    return pbx


def test_the_ten_behaviours_are_recorded_through_the_recipes_filters(
    site: DialerSite, real_pbx: RealPbx, tmp_path: Path
) -> None:
    _filtered(real_pbx, tmp_path)
    numbers = [f"1380000000{d}" for d in LAST_DIGIT_OUTCOMES]
    site.write_campaign("ten", numbers, ring_timeout="8s")
    daemon = site.start()
    wait_for(lambda: len(site.done()) >= len(LAST_DIGIT_OUTCOMES), "ten recorded results", 150)
    assert site.stop(daemon) == 0
    got = {str(a["number"])[-1]: a["outcome"] for a in site.done()}
    assert got == LAST_DIGIT_OUTCOMES
    assert len(site.attempts()) == len(LAST_DIGIT_OUTCOMES)  # one dial each, none doubled


def _session_of_one_vacant_dial(pbx: RealPbx) -> str:
    """Everything the recipe's user receives for one Originate of a vacant number."""
    lines = [
        "Action: Login", f"Username: {AMI_USER}", f"Secret: {AMI_SECRET}", "ActionID: in", "",
        "Action: Originate", "ActionID: one", "Channel: Local/13800000003@callee-sim",
        "Context: dialerd-answered", "Exten: s", "Priority: 1", "Timeout: 8000",
        "Variable: DIALERD_ATTEMPT=1", "Async: true", "", "",
    ]  # fmt: skip
    received = b""
    with socket.create_connection(("127.0.0.1", pbx.ami_port), timeout=60) as sock:
        sock.sendall("\r\n".join(lines).encode())
        while received.count(b"Event: Hangup\r\n") < 2 or b"OriginateResponse" not in received:
            chunk = sock.recv(65536)
            assert chunk, f"Asterisk closed the session: {received!r}"
            received += chunk
    return received.decode()


def test_the_recipes_user_receives_only_the_events_dialerd_reads(
    real_pbx: RealPbx, tmp_path: Path
) -> None:
    text = _session_of_one_vacant_dial(_filtered(real_pbx, tmp_path))
    assert "Event: Newchannel" in text and "Variable: DIALERD_ATTEMPT" in text
    for dropped in ("Newexten", "LocalBridge", "DialBegin"):
        assert f"Event: {dropped}\r\n" not in text  # sent to a bare user (fixtures/ami)
