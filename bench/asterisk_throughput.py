"""Completed Originates per second against a real Asterisk: a plain AMI client, dialerd's
AMI adapter alone, and `dialerd run`.

Run from the repository root with a run-asterisk script (start DIR --ami-port N,
stop DIR, cli DIR CMD) named by ``--run-asterisk`` or ``DIALERD_TEST_ASTERISK``::

    .venv/bin/python -m bench.asterisk_throughput --calls 2000 --rounds 3 \
        --run-asterisk /path/to/run-asterisk

One Asterisk instance serves every run, its AMI user as docs/asterisk.md sets it
up, ``eventfilter`` lines included (read from the recipe; ``--bare-user`` drops
them): so Asterisk writes each client only the events dialerd reads (for the plain
client: OriginateResponse and Hangup among them). Each round runs, one after the other on
the same PBX, so that all three see the same machine (the order rotates from
round to round; ``--pin`` gives Asterisk one core and the clients the other):

* plain: one TCP socket, Login, then every Originate pipelined (Async, the
  reference ``[callee-sim]`` vacant number ``…3``, the same Context, Exten,
  Timeout, CallerID and DIALERD_ATTEMPT variable dialerd sends, no ChannelId,
  event classes call and system); the clock runs from the first write until every
  OriginateResponse and every Hangup (two a dial: the Local channel's halves) is
  read, the point where dialerd too knows each call has ended; it correlates
  nothing and writes nothing;
* adapter: dialerd's ``AmiTelephony`` in this process, every dial originated
  at once (the same numbers, Context, Exten, Timeout, CallerID and variables as
  `dialerd run`), the clock from the first ``originate`` to the last result
  delivered (OriginateResponse and every Hangup correlated);
* dialerd: a fresh SQLite database holding a campaign of the same number of
  vacant numbers (imported before the clock starts), `dialerd run` started with
  campaign and channel caps well above the PBX's pace and ``pbx.calls_per_second``
  at ``--pace`` (default 2,500/s: what this PBX sets up at best, above the plain
  client's rate; dialerd sends its Originates evenly at that pace, docs/asterisk.md
  section 4); the clock runs from the first attempt's claim to the moment every
  attempt's result is committed (polled every 5 ms on one read-only connection).

More clients run only when named in ``--clients``: ``plainfull``, the plain
client sending dialerd's whole Originate (Account, its two variables) with its
event classes, to tell what those cost Asterisk; ``window``, the plain client
keeping no more than ``--window`` dials up at a time, to tell what a burst of
calls set up at once costs Asterisk; ``baseline``, `dialerd run` of another source
tree (``--baseline DIR``, e.g. ``git archive`` of an older commit), to compare two
versions in the same rounds; ``floor`` and ``floorpaced``, bench/floor_client.py:
the least a Python dialer does and still writes each attempt before its dial and
its result after (one thread, dialerd's Originate, parser and event classes, no
policy), every batch at once or at ``--pace``: what the host leaves a dialer
written in Python, the daemon's own CPU a dial aside.

It prints the load average, one line per round and the median ratios adapter ÷
plain and dialerd ÷ plain over the rounds, and checks every result: one per
dial, each ``vacant`` (the adapter's as ``dialerd.domain.classify`` reads it;
dialerd's: one attempt per number, every number dialled). Each round also
prints CPU per dial: Asterisk's while it served each client, and the daemon's
own from its first claim on; on a shared machine these vary less than the rates.
And how many of the machine's CPUs were busy on average while each client's clock
ran (/proc/stat): with dialerd and Asterisk on one host the ratio is about
(busy serving dialerd / busy serving plain) x (Asterisk's CPU a dial serving plain)
/ (Asterisk's serving dialerd + the daemon's own), BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from pydantic import SecretStr

from bench.floor_client import IDLE_S, floor
from dialerd.domain.classify import classify
from dialerd.domain.ports import AnsweredTarget, DialRequest, DialResult
from dialerd.pbx.ami.adapter import AmiTelephony
from dialerd.settings import AmiSettings
from tests.realpbx.pbx import (
    AMI_SECRET,
    AMI_USER,
    DialerSite,
    RealPbx,
    filtered_manager_conf,
    wait_for,
)


def _script(arg: str | None) -> Path:
    for candidate in (arg, os.environ.get("DIALERD_TEST_ASTERISK")):
        if candidate:
            return Path(candidate)
    raise SystemExit("name a run-asterisk script: --run-asterisk PATH or DIALERD_TEST_ASTERISK")


def _action(headers: list[tuple[str, str]]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode()


CHANNELS_PER_DIAL = 2  # Local/…@callee-sim: the ;1 and ;2 halves


def _dial(number: str) -> list[tuple[str, str]]:
    """An Originate's headers from Channel to CallerID, as every client sends them."""
    return [
        ("Channel", f"Local/{number}@callee-sim"),
        ("Context", "dialerd-answered"),
        ("Exten", "s"),
        ("Priority", "1"),
        ("Timeout", "30000"),
        ("CallerID", "4006589888"),
    ]


def _number(round_no: int, i: int) -> str:
    return f"138{round_no:02d}{i:05d}3"  # last digit 3: Hangup(1), a vacant number


def plain(
    pbx: RealPbx, calls: int, round_no: int, full: bool = False, window: int | None = None
) -> float:
    """Originates per second completed by a plain pipelined socket client.

    ``full``: with every header `dialerd run` sends for a campaign that does not record
    (Account, its two variables) and its event classes, to tell what the Originate
    itself costs Asterisk.
    """
    if full:
        return pipelined(pbx, calls, round_no, DIALERD_CLASSES, _full_headers)[0]
    return pipelined(
        pbx, calls, round_no, "call,system", lambda _r, i: [_attempt(i)], window=window
    )[0]


#: (round, dial) -> the Originate's headers after CallerID (variables, Account)
Headers = Callable[[int, int], list[tuple[str, str]]]
DIALERD_CLASSES = "system,call,user,dialplan,agent"


def pipelined(
    pbx: RealPbx,
    calls: int,
    round_no: int,
    classes: str,
    headers: Headers,
    window: int | None = None,
) -> tuple[float, float]:
    """(dials per second, bytes Asterisk sent a dial) of one socket that logs in with
    ``classes`` and sends every Originate at once (``headers`` after CallerID), or with
    a ``window``: no more than that many dials up at a time (a dial is up until its
    OriginateResponse and Hangups are read; counted, as every dial here has them all)."""
    sock = socket.create_connection(("127.0.0.1", pbx.ami_port))
    buf = b""

    def read_until(marker: bytes) -> None:
        nonlocal buf
        while marker not in buf:
            buf += sock.recv(65536)

    read_until(b"\r\n")
    login = [("Action", "Login"), ("Username", AMI_USER), ("Secret", AMI_SECRET)]
    sock.sendall(_action([*login, ("Events", classes), ("ActionID", "login")]))
    read_until(b"Message: Authentication accepted")
    buf, received = b"", 0

    def originate(i: int) -> bytes:
        return _action(
            [
                ("Action", "Originate"),
                ("ActionID", f"p{round_no}-{i}"),
                *_dial(_number(round_no, i)),
                *headers(round_no, i),
                ("Async", "true"),
            ]
        )

    started, machine = time.perf_counter(), _jiffies()
    sent = min(calls, window or calls)
    for first in range(0, sent, 50):
        sock.sendall(b"".join(originate(i) for i in range(first, min(first + 50, sent))))
    responses = hangups = 0
    # done as dialerd is done: every OriginateResponse in and every channel hung up
    # (a vacant dial has two, the Local channel's halves)
    sock.settimeout(IDLE_S)
    while responses < calls or hangups < CHANNELS_PER_DIAL * calls:
        try:
            data = sock.recv(65536)
        except TimeoutError:  # a lost event would otherwise hang the bench
            raise RuntimeError(
                f"Asterisk silent for {IDLE_S:g} s with {responses} OriginateResponse of "
                f"{calls} and {hangups} Hangup of {CHANNELS_PER_DIAL * calls} read"
            ) from None
        if not data:
            raise RuntimeError("Asterisk closed the AMI connection")
        received += len(data)
        buf += data
        head, _, buf = buf.rpartition(b"\r\n\r\n")
        buf = buf if head else head + buf
        responses += head.count(b"Event: OriginateResponse")
        hangups += head.count(b"Event: Hangup\r\n")
        if window is not None:
            done = min(responses, hangups // CHANNELS_PER_DIAL)
            more = min(calls, done + window) - sent
            if more > 0:
                sock.sendall(b"".join(originate(i) for i in range(sent, sent + more)))
                sent += more
    elapsed = time.perf_counter() - started
    MACHINE_BUSY.append(_cores_busy(machine))
    sock.close()
    return calls / elapsed, received / calls


def _attempt(i: int) -> tuple[str, str]:
    return ("Variable", f"DIALERD_ATTEMPT={i}")


def _full_headers(round_no: int, i: int) -> list[tuple[str, str]]:
    key = f"9-{round_no}-{i}-1-001"
    return [
        ("Account", key),
        ("Variable", f"DIALERD_TOKEN={i:032x}"),
        _attempt(i),
    ]


def adapter(pbx: RealPbx, calls: int, round_no: int) -> tuple[float, dict[str, int]]:
    """Originates per second completed by dialerd's AMI adapter alone (results delivered)."""
    settings = AmiSettings(
        port=pbx.ami_port, username=AMI_USER, secret=SecretStr(AMI_SECRET), reconnect_min_s=0.1
    )
    telephony = AmiTelephony(settings)  # the production settle_s
    results: list[DialResult] = []
    telephony.start(results.append)
    try:
        wait_for(telephony.is_up, "the AMI link", 60)
        requests = [
            DialRequest(
                attempt_id=round_no * 100_000 + i,
                key=f"9-{round_no}-{i}-1-001",
                campaign="bench",
                number=f"+{_number(round_no, i)}",
                channel=f"Local/{_number(round_no, i)}@callee-sim",
                caller_id="4006589888",
                ring_timeout_s=30,
                answered=AnsweredTarget(context="dialerd-answered", exten="s"),
            )
            for i in range(calls)
        ]
        started, cpu, machine = time.perf_counter(), time.process_time(), _jiffies()
        for request in requests:
            telephony.originate(request)
        _poll(lambda: len(results) >= calls, f"{calls} adapter results")
        elapsed = time.perf_counter() - started
        MACHINE_BUSY.append(_cores_busy(machine))
        ADAPTER_CPU.append((time.process_time() - cpu) / calls)
    finally:
        telephony.close()
    outcomes: dict[str, int] = {}
    for result in list(results):
        label = classify(result.signals).outcome.value
        if label != "vacant" and label not in outcomes:
            print(f"adapter: {label}: {result.signals}", flush=True)
        outcomes[label] = outcomes.get(label, 0) + 1
    return calls / elapsed, outcomes


def floor_run(
    pbx: RealPbx, calls: int, round_no: int, db: Path, pace: float | None
) -> tuple[float, dict[str, int]]:
    """Originates per second completed by bench.floor_client (the least a Python dialer
    keeping dialerd's rules does): dialerd's Originate and event classes, each result
    committed."""
    login = [("Username", AMI_USER), ("Secret", AMI_SECRET), ("Events", DIALERD_CLASSES)]

    def originate(attempt: int, number: str) -> list[tuple[str, str]]:
        extra = _full_headers(round_no, attempt)  # DIALERD_ATTEMPT: the attempt's id
        return [("ActionID", str(attempt)), *_dial(number), *extra, ("Async", "true")]

    machine = _jiffies()
    numbers = [_number(round_no, i) for i in range(calls)]
    rate, spent, outcomes = floor(pbx.ami_port, login, numbers, originate, db, pace)
    MACHINE_BUSY.append(_cores_busy(machine))
    (FLOOR_CPU if pace is None else FLOORPACED_CPU).append(spent)
    return rate, outcomes


def dialerd(
    pbx: RealPbx, calls: int, round_no: int, root: Path, tree: Path | None = None
) -> tuple[float, dict[str, int]]:
    """Originates per second completed by `dialerd run`, every result committed
    (``tree``: the daemon of another source tree, e.g. a baseline checkout)."""
    site = DialerSite(root=root, pbx=pbx, tree=tree)
    root.mkdir(parents=True)
    site.extra_env.update(
        DIALERD_PBX__MAX_CHANNELS="2000",
        DIALERD_PBX__CALLS_PER_SECOND=str(PACE),
        DIALERD_AGI__ENABLED="false",
        DIALERD_LOG__LEVEL="warning",
    )
    numbers = [_number(round_no, i) for i in range(calls)]
    site.write_campaign(
        "bench", numbers, ring_timeout="30s", max_concurrent=2000, calls_per_second=10_000
    )
    assert site.cli("db", "upgrade").returncode == 0
    loaded = site.cli("campaign", "load", str(root / "campaigns"))
    assert loaded.returncode == 0, loaded.stderr
    daemon = site.start()
    try:
        cpu = _watch(site.db, calls, daemon.pid)
        finished = time.time()
    finally:
        site.stop(daemon, signal.SIGTERM)
        site.close()
    with sqlite3.connect(site.db) as conn:
        first = conn.execute("SELECT min(claimed_at) FROM attempts").fetchone()[0]
        outcomes = dict(conn.execute("SELECT outcome, count(*) FROM attempts GROUP BY outcome"))
        attempts, numbers = conn.execute(
            "SELECT count(*), count(DISTINCT phone_number_id) FROM attempts"
        ).fetchone()
    if attempts != numbers or numbers != calls:  # a number dialled twice, or one never
        outcomes["duplicate or missing"] = abs(attempts - numbers) + abs(numbers - calls)
    began = datetime.fromisoformat(first).timestamp()
    (BASELINE_CPU if tree is not None else DIALERD_CPU).append(cpu / calls)
    return calls / (finished - began), outcomes


#: `dialerd run`'s pbx.calls_per_second (--pace): the pace of its Originates on the wire
PACE = 2500.0
#: client window's most dials up at a time (--window)
WINDOW = 25
DIALERD_CPU: list[float] = []  # the daemon's CPU seconds per dial, one per round
ADAPTER_CPU: list[float] = []  # this process's while the adapter ran
FLOOR_CPU: list[float] = []  # the floor client's, this process's
FLOORPACED_CPU: list[float] = []  # the floor client's at dialerd's pace
BASELINE_CPU: list[float] = []  # the baseline tree's daemon's, one per round
MACHINE_BUSY: list[float] = []  # CPUs busy on average while a client's clock ran, one a run


def _watch(db: Path, calls: int, pid: int) -> float:
    """Poll until ``calls`` results are committed; the daemon's CPU seconds meanwhile
    (from its first attempt row on, so without its start-up).

    One read-only connection for every poll: a new one reads the schema again, ~3 ms
    of CPU a poll, taken from the cores the daemon and Asterisk share (the plain
    client has no such observer); the two counts read an index each, ~0.01 ms.
    """
    cpu_at_first: float | None = None
    machine: tuple[int, int] | None = None
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)

    def check() -> bool:
        nonlocal cpu_at_first, machine
        claimed, done = _progress(conn)
        if cpu_at_first is None and claimed:
            cpu_at_first, machine = _cpu_s(pid), _jiffies()
        return done >= calls

    try:
        _poll(check, f"{calls} results committed")
    finally:
        conn.close()
    MACHINE_BUSY.append(_cores_busy(machine or _jiffies()))
    return _cpu_s(pid) - (cpu_at_first or 0.0)


def _poll(check: Callable[[], bool], what: str, timeout: float = 600) -> None:
    """``wait_for`` every 5 ms: its 0.1 s would add up to 5 % to a 2-second run."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.005)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (and its waited-for children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _jiffies() -> tuple[int, int]:
    """The machine's CPU time so far, in ticks: (all, idle and iowait) (/proc/stat)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]


def _cores_busy(since: tuple[int, int]) -> float:
    """How many of the machine's CPUs were busy on average since ``since`` (``_jiffies``)."""
    total, idle = _jiffies()
    spent = total - since[0]
    return (os.cpu_count() or 1) * (1 - (idle - since[1]) / spent) if spent else 0.0


def _progress(conn: sqlite3.Connection) -> tuple[int, int]:
    """Attempts claimed and attempts done (an attempt is ``dialing`` until its result is
    committed, then ``done``; ``ix_attempts_open`` holds the ``dialing`` ones)."""
    try:
        claimed = conn.execute("SELECT count(*) FROM attempts").fetchone()[0]
        dialing = conn.execute("SELECT count(*) FROM attempts WHERE status = 'dialing'").fetchone()
    except sqlite3.OperationalError:  # locked for a moment
        return 0, 0
    return int(claimed), int(claimed) - int(dialing[0])


def main() -> int:
    global PACE, WINDOW
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--run-asterisk", default=None)
    parser.add_argument(
        "--clients",
        default=",".join(CLIENTS),
        help="which of plain,adapter,dialerd,plainfull,window,baseline,floor,floorpaced to "
        "run (plain always runs: the ratios need it; plainfull: plain with dialerd's "
        "Originate headers and event classes; window: plain with at most --window dials up; "
        "baseline: `dialerd run` of the --baseline tree; floor, floorpaced: the least a "
        "Python dialer recording every result does, at once or at --pace)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="another source tree of dialerd (e.g. `git archive main`), run as client baseline",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="Asterisk on the first CPU, this bench and dialerd on the others (taskset)",
    )
    parser.add_argument(
        "--bare-user",
        action="store_true",
        help="the reference manager.conf user without the eventfilter lines of the recipe "
        "(docs/asterisk.md, section 1; by default every client's user has them)",
    )
    parser.add_argument(
        "--pace",
        type=float,
        default=PACE,
        help="`dialerd run`'s pbx.calls_per_second, the even pace of its Originates "
        "(default %(default)g/s; 100000 sends each tick's claims at once)",
    )
    parser.add_argument(
        "--window",
        type=int,
        default=WINDOW,
        help="client window: the plain client with at most this many dials up at a time "
        "(default %(default)d)",
    )
    args = parser.parse_args()
    PACE, WINDOW = args.pace, args.window
    work = Path(tempfile.mkdtemp(prefix="dialerd-astbench-"))
    pbx = RealPbx(script=_script(args.run_asterisk), root=work / "pbx")
    if not args.bare_user:
        pbx.confs.append(filtered_manager_conf(work, pbx.script, pbx.ami_port))
    pbx.start()
    if args.pin:
        _pin(pbx)
    user = "without event filters" if args.bare_user else "with the recipe's event filters"
    print(f"load average {_load()}  ({os.cpu_count()} CPUs); AMI user {user}", flush=True)
    # a fresh Asterisk is slow for its first thousand or so calls (the first round's
    # first client paid it: a third of its later rate); warm it up, uncounted
    plain(pbx, min(args.calls, 1000), 0)
    wait_for(lambda: "0 active channels" in pbx.cli("core show channels"), "idle", 120)
    clients = [c for c in ALL_CLIENTS if c == "plain" or c in args.clients.split(",")]
    if "baseline" in clients and args.baseline is None:
        raise SystemExit("client baseline needs --baseline TREE")
    ratios: dict[str, list[float]] = {c: [] for c in clients if c != "plain"}
    pbx_cpu: dict[str, list[float]] = {c: [] for c in clients}
    busy: dict[str, list[float]] = {c: [] for c in clients}
    wrong_total = 0
    try:
        for r in range(1, args.rounds + 1):
            k = (r - 1) % len(clients)
            order = clients[k:] + clients[:k]  # rotate the order per round
            rates: dict[str, float] = {}
            outcomes: dict[str, dict[str, int]] = {}
            for name in order:
                before = _cpu_s(_asterisk_pid(pbx))
                rates[name], outcomes[name] = _run(name, pbx, args.calls, r, work, args.baseline)
                wait_for(lambda: "0 active channels" in pbx.cli("core show channels"), "idle", 120)
                pbx_cpu[name].append((_cpu_s(_asterisk_pid(pbx)) - before) / args.calls)
                busy[name].append(MACHINE_BUSY[-1])
            for name in ratios:
                ratios[name].append(rates[name] / rates["plain"])
            wrong = {
                f"{name}:{k}": v
                for name, got in outcomes.items()
                for k, v in got.items()
                if k != "vacant"
            }
            wrong_total += sum(wrong.values())
            line = " ".join(
                f" {name} {rates[name]:6.0f}/s"
                + (f" ({ratios[name][-1]:.2f})" if name in ratios else "")
                for name in clients
            )
            cpu = _cpu_line(clients, pbx_cpu)
            cores = " ".join(f"{name} {busy[name][-1]:.2f}" for name in clients)
            print(
                f"round {r} ({' > '.join(order)}):{line}  load {_load()}\n"
                f"    CPU ms per dial: Asterisk serving {cpu}\n"
                f"    CPUs busy (of {os.cpu_count()}) while each ran: {cores}"
                + (f"  WRONG {wrong}" if wrong else ""),
                flush=True,
            )
    finally:
        pbx.stop()
    for name, values in ratios.items():
        print(
            f"median ratio {name} / plain over {args.rounds} rounds: "
            f"{statistics.median(values):.2f}"
        )
    for name, values in busy.items():
        print(f"median CPUs busy while {name} ran: {statistics.median(values):.2f}")
    spent_by = (
        ("adapter", ADAPTER_CPU),
        ("dialerd", DIALERD_CPU),
        ("baseline", BASELINE_CPU),
        ("floor", FLOOR_CPU),
        ("floorpaced", FLOORPACED_CPU),
    )
    for name, spent in spent_by:
        if spent:
            print(f"median {name} CPU per dial: {statistics.median(spent) * 1e3:.2f} ms")
    print(f"load average {_load()}")
    return 1 if wrong_total else 0


def _cpu_line(clients: list[str], pbx_cpu: dict[str, list[float]]) -> str:
    """One round's CPU ms per dial: Asterisk's per client, then the clients' own."""
    cpu = " ".join(f"{name} {pbx_cpu[name][-1] * 1e3:.2f}" for name in clients)
    own = (("adapter", "the adapter's", ADAPTER_CPU), ("dialerd", "dialerd's", DIALERD_CPU))
    more = (
        ("baseline", "baseline's", BASELINE_CPU),
        ("floor", "the floor's", FLOOR_CPU),
        ("floorpaced", "the paced floor's", FLOORPACED_CPU),
    )
    for name, whose, spent in (*own, *more):
        if name in clients:
            cpu += f"; {whose} own {spent[-1] * 1e3:.2f}"
    return cpu


CLIENTS = ["plain", "adapter", "dialerd"]  # the default set
ALL_CLIENTS = [*CLIENTS, "plainfull", "window", "baseline", "floor", "floorpaced"]


def _run(
    name: str, pbx: RealPbx, calls: int, r: int, work: Path, baseline: Path | None
) -> tuple[float, dict[str, int]]:
    if name in ("plain", "plainfull", "window"):
        window = WINDOW if name == "window" else None
        return plain(pbx, calls, r, full=name == "plainfull", window=window), {"vacant": calls}
    if name == "adapter":
        return adapter(pbx, calls, r)
    if name == "baseline":
        return dialerd(pbx, calls, r, work / f"base{r}", baseline)
    if name in ("floor", "floorpaced"):
        pace = PACE if name == "floorpaced" else None
        return floor_run(pbx, calls, r, work / f"{name}{r}.db", pace)
    return dialerd(pbx, calls, r, work / f"site{r}")


def _pin(pbx: RealPbx) -> None:
    """Asterisk (every thread; new ones inherit) on CPU 0, this process and its children on
    the rest: each side has a core of its own, as when dialerd runs on another host."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise SystemExit("--pin needs two CPUs")
    pid = str(_asterisk_pid(pbx))
    subprocess.run(
        ["taskset", "-a", "-p", "-c", str(cpus[0]), pid], check=True, capture_output=True
    )
    os.sched_setaffinity(0, cpus[1:])
    print(f"pinned: Asterisk on CPU {cpus[0]}, the clients on {cpus[1:]}", flush=True)


def _asterisk_pid(pbx: RealPbx) -> int:
    return int((pbx.root / "var/run/asterisk/asterisk.pid").read_text().split()[0])


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
