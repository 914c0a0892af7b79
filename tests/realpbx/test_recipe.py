"""The answered-leg recipe of docs/asterisk.md, loaded as it is on a real Asterisk."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from dialerd.domain.classify import classify
from dialerd.pbx.cdr import CdrFile
from tests.realpbx.pbx import DialerSite, RealPbx, wait_for

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs/asterisk.md"
CALLEES = REPO / "dialerd/pbx/transcripts/extensions.conf"  # [callee-sim]: the called parties


def recipe() -> str:
    """The dialplan block the doc marks as the recipe."""
    text = DOC.read_text()
    found = re.search(r"<!-- the recipe:[^>]*-->\n```ini\n(.*?)```", text, re.S)
    assert found, f"{DOC}: no recipe block"
    return found[1]


def callee_sections() -> str:
    """[general], [globals] and the [callee-sim*] contexts of the reference dialplan."""
    keep, out = False, []
    for line in CALLEES.read_text().splitlines():
        if line.startswith("["):
            name = line[1 : line.index("]")]
            keep = name in ("general", "globals") or name.startswith("callee-sim")
        if keep:
            out.append(line)
    return "\n".join(out) + "\n"


def test_the_docs_recipe_records_amd_and_the_disposition_live_and_in_the_cdr(
    site: DialerSite, real_pbx: RealPbx, tmp_path: Path
) -> None:
    dialplan = recipe().replace("127.0.0.1:4573", f"127.0.0.1:{real_pbx.agi_port}")
    assert "[my-ivr]" in dialplan
    conf = tmp_path / "extensions.conf"
    conf.write_text(callee_sections() + "\n" + dialplan)
    real_pbx.restart_with(conf)
    # last digit 0: answered by a person who says "hello" and then listens; 8: an
    # answering machine; 7: answered, then the callee hangs up during AMD()
    numbers = ["13800000000", "13800000008", "13800000007"]
    site.write_campaign("recipe", numbers, context="dialerd-answered", record=True)
    site.extra_env["DIALERD_PBX__RECORDING_PREFIX"] = "site-a-"
    daemon = site.start()
    wait_for(lambda: len(site.done()) == len(numbers), "the answered calls recorded", 150)
    assert site.stop(daemon) == 0
    with sqlite3.connect(site.db) as conn:
        rows = conn.execute(
            "SELECT p.e164, a.outcome, a.amd_status, a.disposition, a.answered_at, a.key"
            " FROM attempts a JOIN phone_numbers p ON p.id = a.phone_number_id"
        ).fetchall()
    live = {str(r[0])[-1]: r[1:] for r in rows}
    outcome, amd, disposition, answered, key = live["0"]
    assert (outcome, amd, disposition) == ("completed", "HUMAN", "completed")
    assert answered is not None
    assert [live[d][:2] for d in "87"] == [
        ("answering_machine", "MACHINE"),
        ("early_hangup", "HANGUP"),
    ]
    recording = real_pbx.root / f"var/spool/asterisk/monitor/dialerd/site-a-{key}.wav"
    assert recording.is_file(), sorted(p.name for p in recording.parent.glob("*"))
    # the hangup handler put AMD's verdict into each call's record: settled from
    # Master.csv alone, the machine and the early hang-up get their live outcome
    keys = {d: str(live[d][4]) for d in "087"}
    records = CdrFile(real_pbx.cdr)

    def recorded() -> bool:
        records.refresh()
        return len(records.signals(keys.values())) == len(keys)

    wait_for(recorded, "the calls' records", 120)
    found = records.signals(keys.values())
    assert {d: found[k].amd_status for d, k in keys.items()} == {
        "0": "HUMAN",
        "8": "MACHINE",
        "7": "HANGUP",
    }
    assert classify(found[keys["8"]]).outcome.value == "answering_machine"
    assert classify(found[keys["7"]]).outcome.value == "early_hangup"
    assert classify(found[keys["0"]]).outcome.value == "answered"  # no flow disposition
