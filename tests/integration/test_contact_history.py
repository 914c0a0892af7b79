"""``dialerd contact``: a contact's dials with labels, caller ID and channel, and why it waits."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialerd.actions.control import change_state
from dialerd.actions.history import contact_history
from dialerd.cli import cli
from tests.enginekit import Rig, make_rig, write_campaign

BUSY, VACANT = "13800138001", "13800138003"
DAYTIME = '[[windows]]\ndays = "daily"\nstart = "09:00"\nend = "21:00"\n'


def _rig(engine: Engine, tmp_path: Path) -> Rig:
    rows = [f"c1,张三,{BUSY}", f"c2,李四,{VACANT}"]
    rig = make_rig(engine, write_campaign(tmp_path, rows, windows=DAYTIME))
    rig.step()
    rig.settle()
    return rig


def _config(engine: Engine, tmp_path: Path) -> Path:
    path = tmp_path / "dialerd.toml"
    path.write_text(f'[database]\nurl = "{engine.url.render_as_string(hide_password=False)}"\n')
    return path


def test_history_and_why_the_next_dial_waits(engine: Engine, tmp_path: Path) -> None:
    rig = _rig(engine, tmp_path)
    with Session(engine) as session:
        busy = contact_history(session, "test-campaign", "c1", now=rig.clock.now())
        vacant = contact_history(session, "test-campaign", "c2", now=rig.clock.now())
    (dial,) = busy.dials
    assert (dial.outcome, dial.label_zh, dial.caller_id, dial.round) == (
        "busy",
        "忙音/占线",
        "4006589888",
        1,
    )
    assert dial.channel == f"PJSIP/86{BUSY}@carrier"
    # dialled Monday 10:00 in Shanghai; busy retries after min_spacing (6h), inside the window
    assert busy.next_text == (
        "next dial 2026-11-23 16:00, number 1, new round (min_spacing 6h since 10:00)"
    )
    assert busy.numbers[0].next_dial_at == busy.wait.at if busy.wait else False
    assert vacant.dials[0].label_zh == "空号"
    assert vacant.next_text == "no next dial: closed: no_numbers"

    later = rig.clock.now().replace(hour=12)  # 20:00 in Shanghai: 16:00 passed, window open
    with Session(engine) as session, session.begin():
        change_state(session, "test-campaign", "pause", who="ops", now=later)
    with Session(engine) as session:
        paused = contact_history(session, "test-campaign", "c1", now=later)
    assert paused.next_text == (
        "due now, number 1, new round (nothing holds it back); "
        "the campaign is paused: no dial until it is resumed"
    )


def test_cli_table_and_json(engine: Engine, tmp_path: Path) -> None:
    _rig(engine, tmp_path)
    config = _config(engine, tmp_path)
    out = CliRunner().invoke(cli, ["--config", str(config), "contact", "test-campaign", "c1"])
    assert out.exit_code == 0, out.output
    assert "contact    c1 (张三)" in out.output
    assert "4006589888" in out.output and "忙音/占线" in out.output
    assert "next       " in out.output
    doc = json.loads(
        CliRunner()
        .invoke(cli, ["--config", str(config), "contact", "test-campaign", "c1", "--json"])
        .output
    )
    assert doc["dials"][0]["outcome"] == "busy" and doc["dials"][0]["label_zh"] == "忙音/占线"
    assert doc["next"]["position"] == 1 and doc["next"]["text"]
    missing = CliRunner().invoke(cli, ["--config", str(config), "contact", "test-campaign", "zz"])
    assert missing.exit_code == 1
    assert "campaign test-campaign: no contact 'zz'" in missing.output
