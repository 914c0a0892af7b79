"""The answered-leg recipe of docs/asterisk.md, loaded as it is on a real Asterisk."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

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


def test_the_docs_recipe_records_amd_and_the_disposition(
    site: DialerSite, real_pbx: RealPbx, tmp_path: Path
) -> None:
    dialplan = recipe().replace("127.0.0.1:4573", f"127.0.0.1:{real_pbx.agi_port}")
    assert "[my-ivr]" in dialplan
    conf = tmp_path / "extensions.conf"
    conf.write_text(callee_sections() + "\n" + dialplan)
    real_pbx.stop()
    real_pbx.confs = [conf]
    real_pbx.start()
    # last digit 0: answered by a person who says "hello" and then listens
    site.write_campaign("recipe", ["13800000000"], context="dialerd-answered", record=True)
    site.extra_env["DIALERD_PBX__RECORDING_PREFIX"] = "site-a-"
    daemon = site.start()
    wait_for(lambda: len(site.done()) >= 1, "the answered call recorded", 150)
    assert site.stop(daemon) == 0
    with sqlite3.connect(site.db) as conn:
        row = conn.execute(
            "SELECT outcome, amd_status, disposition, answered_at FROM attempts"
        ).fetchone()
    outcome, amd, disposition, answered = row
    assert (outcome, amd, disposition) == ("completed", "HUMAN", "completed")
    assert answered is not None
    key = str(site.attempts()[0]["key"])
    recording = real_pbx.root / f"var/spool/asterisk/monitor/dialerd/site-a-{key}.wav"
    assert recording.is_file(), sorted(p.name for p in recording.parent.glob("*"))
