"""The queue recipe of docs/asterisk.md on a real Asterisk, and what its queue_log says.

The tests replay the two blocks the doc marks as the queue recipe (the
`[dialerd-queue]` context and queues.conf) as written; only the parties are
simulated: the called parties (`[callee-sim*]`) and the agents (`[agent-sim]`,
`[agent-talk]`: answer at once, talk 6 s) of the reference dialplan kept in the
repository, and the queue's `member =>` lines replaced by those agents.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from pathlib import Path

from dialerd.pbx.ami.queues import wrapup_times
from tests.realpbx.pbx import DialerSite, RealPbx

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs/asterisk.md"
REFERENCE = REPO / "dialerd/pbx/transcripts/extensions.conf"  # the simulated parties
QUEUE = "callback-team"
AGENTS = ("agent1", "agent2")
#: queue_log events of a caller who left the queue without an agent
DROPPED = ("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY")


def doc_block(which: str) -> str:
    """The ini block docs/asterisk.md marks `<!-- the queue recipe (which): ... -->`."""
    found = re.search(
        rf"<!-- the queue recipe \({re.escape(which)}\):[^>]*-->\n```ini\n(.*?)```",
        DOC.read_text(),
        re.S,
    )
    assert found, f"{DOC}: no queue recipe block for {which}"
    return found[1]


def reference_sections(keep: tuple[str, ...]) -> str:
    """The reference dialplan's sections whose name starts with one of ``keep``."""
    kept, out = False, []
    for line in REFERENCE.read_text().splitlines():
        if line.startswith("["):
            kept = line[1 : line.index("]")].startswith(keep)
        if kept:
            out.append(line)
    return "\n".join(out) + "\n"


def queues_conf() -> str:
    """The doc's queues.conf with its members replaced by the simulated agents."""
    lines = [ln for ln in doc_block("queues.conf").splitlines() if not ln.startswith("member")]
    lines += [f"member => Local/{a}@agent-sim,0,{a}" for a in AGENTS]
    return "\n".join(lines) + "\n"


#: People who answer as the reference callee 0 does (a "hello", 3 s, hang up) after
#: ringing: [callee-rings] for the number's second-to-last digit mod 4 seconds;
#: [callee-held] until the test sets the global RELEASE (`dialplan set global`).
RINGING_CALLEES = """
[callee-rings]
exten => _X.,1,Ringing()
 same => n,Wait($[${EXTEN:-2:1} % 4])
 same => n,Goto(callee-sim-d0,${EXTEN},1)

[callee-held]
exten => _X.,1,Ringing()
 same => n(held),Wait(0.2)
 same => n,GotoIf($["${RELEASE}" = ""]?held)
 same => n,Goto(callee-sim-d0,${EXTEN},1)
"""


def extensions_conf() -> str:
    """The doc's [dialerd-queue] with the reference callees and agents beside it."""
    parties = reference_sections(("general", "globals", "callee-sim", "agent-sim", "agent-talk"))
    return parties + RINGING_CALLEES + "\n" + doc_block("extensions.conf")


def load_recipe(pbx: RealPbx, site: DialerSite, folder: Path) -> None:
    """Restart ``pbx`` on the recipe; tell ``site``'s dialerd the queue's wrap-up time."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "queues.conf").write_text(queues_conf())
    (folder / "extensions.conf").write_text(extensions_conf())
    pbx.restart_with(folder / "queues.conf", folder / "extensions.conf")
    wrapup = wrapup_times(doc_block("queues.conf"))
    assert wrapup.get(QUEUE, 0) > 0, "the recipe's queue has a wrapuptime"
    site.extra_env["DIALERD_AMI__QUEUE_WRAPUP_S"] = json.dumps(wrapup)


PACING = f"""
[pacing]
mode = "{{mode}}"
queue = "{QUEUE}"
ratio = {{ratio}}
"""


def pacing(mode: str, ratio: float = 1.0) -> str:
    return PACING.format(mode=mode, ratio=ratio)


def queue_log(pbx: RealPbx) -> list[list[str]]:
    """Asterisk's queue_log, one list of fields (time|callid|queue|agent|event|data…) a line."""
    if not pbx.queue_log.exists():
        return []
    return [line.split("|") for line in pbx.queue_log.read_text().splitlines()]


def queue_events(pbx: RealPbx) -> Counter[str]:
    return Counter(fields[4] for fields in queue_log(pbx) if len(fields) > 4)


def recorded_calls(site: DialerSite) -> dict[str, tuple[str, str]]:
    """(outcome, treatment) of each recorded dial by its originated channel's Uniqueid,
    which is the queue_log's callid when that channel ran ``Queue()``."""
    with sqlite3.connect(site.db) as conn:
        rows = conn.execute(
            "SELECT json_extract(signals, '$.raw.uniqueid'), outcome, treatment "
            "FROM attempts WHERE status = 'done'"
        ).fetchall()
    return {str(uid): (str(outcome), str(treatment)) for uid, outcome, treatment in rows}


def assert_recorded_as_the_queue_says(site: DialerSite, pbx: RealPbx) -> None:
    """Call by call: a caller an agent took is `answered` (complete); no other answered
    call is: one that left the queue without an agent, or never got in, is `abandoned`."""
    calls = recorded_calls(site)
    log = queue_log(pbx)
    connected = {f[1] for f in log if f[4] == "CONNECT"}
    dropped = {f[1] for f in log if f[4] in DROPPED}
    assert connected.isdisjoint(dropped)
    taken = {c: calls.get(c) for c in connected}
    assert set(taken.values()) <= {("answered", "complete")}, taken
    left = {c: calls.get(c, ("?", "?")) for c in dropped}
    assert all(o == "abandoned" and t != "complete" for o, t in left.values()), left
    answered = {c for c, (outcome, _) in calls.items() if outcome == "answered"}
    assert answered == connected, "answered without an agent"


def screen_pops(pbx: RealPbx) -> list[str]:
    """The attempt ids the simulated agents' legs saw (``[agent-talk]`` logs each one)."""
    full = pbx.root / "var/log/asterisk/full"
    return re.findall(r'"agent takes attempt (\d*)"', full.read_text()) if full.exists() else []


def set_paused(pbx: RealPbx, paused: bool) -> None:
    """Every agent of the queue paused (示忙) or back (示闲), as QueuePause does."""
    verb = "pause" if paused else "unpause"
    for agent in AGENTS:
        pbx.cli(f"queue {verb} member Local/{agent}@agent-sim queue {QUEUE} reason break")
