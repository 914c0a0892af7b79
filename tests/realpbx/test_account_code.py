"""The dial's key on a real Asterisk: the Originate's Account, not a channel variable.

dialerd's AMI adapter dials a held call: its channels carry the key as their
account code (`CoreShowChannel` rows: what `live_keys()` and adoption read), no
`DIALERD_KEY` and, for a campaign that does not record, no `DIALERD_RECORD`;
`${CHANNEL(accountcode)}` and `${CDR(accountcode)}` give the key in a hangup
handler on both Local halves (docs/asterisk.md's userfield recipe), and the
call's records settle to its dial.
"""

from __future__ import annotations

import queue
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from dialerd.domain.ports import AnsweredTarget, DialRequest, DialResult
from dialerd.pbx.ami.adapter import AmiTelephony
from dialerd.pbx.cdr import CdrRow, read_rows
from dialerd.settings import AmiSettings
from tests.realpbx.pbx import AMI_SECRET, AMI_USER, RealPbx, wait_for

pytestmark = pytest.mark.timeout(240)

DIALPLAN = """\
[general]
static = yes
writeprotect = yes

[acct-callee]
exten => _X.,1,Set(CHANNEL(hangup_handler_push)=acct-record,s,1)
 same => n,Answer()
 same => n,Wait(600)

[acct-answered]
exten => s,1,Set(CHANNEL(hangup_handler_push)=acct-record,s,1)
 same => n,Wait(600)

[acct-record]
exten => s,1,Set(CDR(userfield)=${CHANNEL(accountcode)} cdr=${CDR(accountcode)})
 same => n,Return()
"""


def _variables(pbx: RealPbx, channel: str) -> dict[str, str]:
    """A live channel's variables, as `core show channel` prints them."""
    text = pbx.cli(f"core show channel {channel}")
    _, _, block = text.partition("Variables:")
    pairs = (line.strip().partition("=") for line in block.splitlines())
    return {name: value for name, sep, value in pairs if sep}


def test_the_key_is_every_channels_account_code_and_no_variable(
    real_pbx: RealPbx, tmp_path: Path
) -> None:
    conf = tmp_path / "extensions.conf"
    conf.write_text(DIALPLAN)
    real_pbx.restart_with(conf)
    settings = AmiSettings(
        port=real_pbx.ami_port,
        username=AMI_USER,
        secret=SecretStr(AMI_SECRET),
        action_timeout_s=30.0,
    )
    results: queue.Queue[DialResult] = queue.Queue()
    adapter = AmiTelephony(settings, recording_prefix="site-a-")
    adapter.start(results.put)
    request = DialRequest(
        attempt_id=41,
        key="5-41-0-1-001",
        campaign="c",
        number="+8613800000000",
        channel="Local/13800000000@acct-callee",
        caller_id="4000",
        ring_timeout_s=60,
        answered=AnsweredTarget(context="acct-answered", exten="s"),
        variables={"DIALERD_KEY": "forged", "LANG": "zh"},
    )
    try:
        wait_for(adapter.is_up, "the AMI link", 60)
        adapter.originate(request)
        wait_for(lambda: adapter.live_keys() == {request.key}, "the call listed by its key", 60)
        halves = sorted(name for name, *_ in _channel_rows(real_pbx))
        assert [h.rpartition(";")[2] for h in halves] == ["1", "2"]
        for half in halves:
            variables = _variables(real_pbx, half)
            assert variables["DIALERD_ATTEMPT"] == "41" and variables["LANG"] == "zh"
            assert "DIALERD_KEY" not in variables and "DIALERD_RECORD" not in variables
            assert "DIALERD_RECORDING" not in variables
        real_pbx.cli("channel request hangup all")
        result = results.get(timeout=60)
        assert (result.key, result.signals.answered_at is not None) == (request.key, True)
        recording = replace(request, attempt_id=42, key="5-42-0-1-001", record=True)
        adapter.originate(recording)
        wait_for(lambda: adapter.live_keys() == {recording.key}, "the recording call", 60)
        for half in (name for name, *_ in _channel_rows(real_pbx)):
            variables = _variables(real_pbx, half)
            assert variables["DIALERD_RECORD"] == "1"
            assert variables["DIALERD_RECORDING"] == "site-a-5-42-0-1-001"
        real_pbx.cli("channel request hangup all")
        assert results.get(timeout=60).key == recording.key
    finally:
        adapter.close()
    wait_for(lambda: real_pbx.cdr.exists() and len(_records(real_pbx)) >= 4, "4 records", 60)
    first = [r for r in _records(real_pbx) if r.accountcode == request.key]
    assert len(first) == 2  # both Local halves
    assert {r.userfield for r in first} == {f"{request.key} cdr={request.key}"}
    assert all(r.keys() >= {request.key} for r in first)


def _channel_rows(pbx: RealPbx) -> list[list[str]]:
    """`core show channels concise` rows: channel!context!exten!priority!state!..."""
    lines = pbx.cli("core show channels concise").splitlines()
    return [line.split("!") for line in lines if line.count("!") > 5]


def _records(pbx: RealPbx) -> list[CdrRow]:
    rows, problems = read_rows(pbx.cdr.read_text())
    assert problems == []
    return rows
