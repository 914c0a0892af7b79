"""Reliability under faults, at small scale on one machine: real `dialerd run` daemons.

Each dialling scenario runs against the AMI simulator in its own process (so
calls outlive a daemon, as in Asterisk, and it writes Asterisk's call records,
Master.csv) and real daemons as subprocesses:

- ``pg-restart``: three daemons on one throwaway PostgreSQL under load;
  ``pg_ctl restart -m fast``, then the server stopped for 30 s and started again;
- ``sigstop``: two daemons on PostgreSQL, one of them SIGSTOPped for 60 s;
- ``kill-9``: one daemon on SQLite killed with SIGKILL five times in a row,
  restarted 5 s later each time (dialerd.service's ``RestartSec``) with the same
  instance id;
- ``fastagi``: forged FastAGI dispositions, then 1,000 idle connections and a
  300 MB line against a dialling daemon (bench/rel_agi.py);
- ``inputs``: hostile contact, do-not-call and campaign files and an unreachable or
  unmigrated database through the CLI, on SQLite and PostgreSQL (bench/rel_inputs.py).

Measured from the simulator's own logs (the PBX's truth: every Originate, every
call's end and whether it was answered), the daemons' JSON logs and the database
at the end (bench/rel_report.py; the simulator and daemons: bench/rel_site.py).
Prints one table.

    .venv/bin/python bench/reliability.py [--contacts 300] [--only sigstop ...] [--keep DIR]

Needs PostgreSQL's server binaries (Debian's ``postgresql`` package) for the
PostgreSQL scenarios. Run by hand; not part of CI.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rel_agi import fastagi
from bench.rel_inputs import hostile_inputs
from bench.rel_report import EXPECTED, Check, Run, info, inside, log_events, table, windows, zero
from bench.rel_site import Site, close, make_site
from tests.pgcluster import Cluster, start_cluster

DAEMONS = ("pg-a", "pg-b", "pg-c")
RESTART_S = 5.0  # dialerd.service: RestartSec=5s


# -- scenarios -----------------------------------------------------------------------------
def _started(log: Path, times: int, deadline_s: float = 300) -> None:
    """Wait until the daemon's log says it has started ``times`` times."""
    deadline = time.monotonic() + deadline_s
    while len(log_events(log, "daemon_started")) < times:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{log}: the daemon did not start")
        time.sleep(0.2)


def _settle(site: Site, deadline_s: float) -> None:
    """Let the calls in flight end and be recorded (or the deadline pass)."""
    deadline = time.monotonic() + deadline_s
    while site.dialing() > 0 and time.monotonic() < deadline:
        time.sleep(1)


def pg_restart(cluster: Cluster, root: Path, contacts: int) -> list[Check]:
    name = "3 daemons, PostgreSQL restart + 30 s stop"
    site = make_site(root, cluster.create_database("rel_restart"), time_scale=0.5)
    site.write_campaign(contacts, max_concurrent=90, cps=15)
    t0 = time.monotonic()
    for instance in DAEMONS:
        site.start(instance, channels=30, cps=5)
    for instance in DAEMONS:
        _started(root / f"{instance}.log", 1)
    time.sleep(15)
    print("  pg_ctl restart -m fast", flush=True)
    outages = [(time.time(), 0.0)]
    _pg_ctl(cluster, "restart", "-m", "fast")
    outages[0] = (outages[0][0], time.time())
    time.sleep(10)
    print("  pg_ctl stop -m fast; 30 s down", flush=True)
    _pg_ctl(cluster, "stop", "-m", "fast")
    down = time.time()
    time.sleep(30)
    outages.append((down, time.time()))
    _pg_ctl(cluster, "start")
    time.sleep(20)
    _settle(site, 120)
    stopped = sum(1 for proc in site.procs.values() if proc.poll() is not None)
    site.stop_all()
    run = Run.read(name, root, site.engine, time.monotonic() - t0)
    close(site)
    return [
        *run.checks(),
        zero(name, "daemons that stopped on the outage", stopped),
        zero(name, "dials started while unable to record", _unrecorded(run, root, outages)),
    ]


def _unrecorded(run: Run, root: Path, outages: list[tuple[float, float]]) -> int:
    """Originates sent while the database was away, or while their daemon's result writer
    was failing (from its ``results_write_failed`` to its ``results_write_recovered``)."""
    end = time.time()
    failing = ("results_write_failed", "results_write_recovered")
    spans = {d: windows(root / f"{d}.log", *failing, end) for d in DAEMONS}
    count = 0
    for o in run.truth.originates:
        attempt = run.attempts.get(o["key"])
        own = spans.get(attempt.instance_id, []) if attempt is not None else []
        count += inside(o["at"], outages) or inside(o["at"], own)
    return count


def sigstop(cluster: Cluster, root: Path, contacts: int) -> list[Check]:
    name = "2 daemons, PostgreSQL, one SIGSTOPped 60 s"
    site = make_site(root, cluster.create_database("rel_sigstop"), time_scale=1.0)
    site.write_campaign(contacts, max_concurrent=60, cps=10)
    t0 = time.monotonic()
    site.start("stop-a", channels=30, cps=5)
    site.start("stop-b", channels=30, cps=5)
    for instance in ("stop-a", "stop-b"):
        _started(root / f"{instance}.log", 1)
    time.sleep(12)
    victim = site.procs["stop-a"]
    print("  SIGSTOP stop-a for 60 s", flush=True)
    os.kill(victim.pid, signal.SIGSTOP)
    time.sleep(60)
    os.kill(victim.pid, signal.SIGCONT)
    resumed = time.time()
    time.sleep(10)
    _settle(site, 120)
    site.stop_all()
    run = Run.read(name, root, site.engine, time.monotonic() - t0)
    close(site)
    by_id = {a.id: a for a in run.attempts.values()}
    live = 0  # the peer settled one of the stopped daemon's calls the PBX still had
    for e in log_events(root / "stop-b.log", "call_interrupted"):
        attempt = by_id.get(e["attempt_id"])
        if attempt is None or attempt.key not in {o["key"] for o in run.truth.originates}:
            continue
        ended = run.truth.ends.get(attempt.key, {}).get("at")
        live += ended is None or ended > e["at"]
    after = [e for e in log_events(root / "stop-a.log", "call_result") if e["at"] > resumed]
    return [
        *run.checks(),
        zero(name, "its live calls settled by the peer", live),
        info(name, "results the stopped daemon recorded after it resumed", len(after)),
    ]


def kill_9(root: Path, contacts: int) -> list[Check]:
    name = "1 daemon, SQLite, kill -9 five times"
    site = make_site(root, f"sqlite:///{root / 'dialerd.db'}", time_scale=0.5)
    site.write_campaign(contacts, max_concurrent=30, cps=10)
    t0 = time.monotonic()
    site.start("k9", channels=30, cps=10)
    kills = []
    for n in range(5):
        # each kill hits a daemon that has dialled 6 s, however slow its start-up
        _started(root / "k9.log", n + 1)
        time.sleep(6)
        print(f"  kill -9 #{n + 1}", flush=True)
        proc = site.procs["k9"]
        proc.kill()
        kills.append(time.time())
        proc.wait()
        time.sleep(RESTART_S)
        site.start("k9", channels=30, cps=10)
    time.sleep(10)
    _settle(site, 120)
    site.stop_all()
    run = Run.read(name, root, site.engine, time.monotonic() - t0)
    close(site)
    started = [e["at"] for e in log_events(root / "k9.log", "daemon_started")]
    gaps = [(k, min((c for c in started if c > k), default=time.time())) for k in kills]
    unheard = [k for k, e in run.truth.ends.items() if any(a < e["at"] < b for a, b in gaps)]
    real = [
        k
        for k in unheard
        if k in run.attempts and run.attempts[k].outcome == EXPECTED[run.attempts[k].number[-1]]
    ]
    measure = "calls that ended while no daemon listened, settled with the records' outcome"
    return [
        *run.checks(),
        Check(name, measure, str(len(unheard)), str(len(real)), len(real) == len(unheard)),
    ]


def _pg_ctl(cluster: Cluster, action: str, *args: str) -> None:
    data = str(cluster.root / "data")
    opts = (
        f"-c listen_addresses=127.0.0.1 -c port={cluster.port}"
        f" -c unix_socket_directories={cluster.root}"
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    log = str(cluster.root / "log")
    cluster._run("pg_ctl", "-D", data, "-o", opts, "-l", log, "-w", *args, action)


SCENARIOS = ("pg-restart", "sigstop", "kill-9", "fastagi", "inputs")
ON_POSTGRESQL = {"pg-restart", "sigstop", "inputs"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it (logs, databases)")
    args = parser.parse_args()
    checks: list[Check] = []
    with tempfile.TemporaryDirectory(prefix="dialerd-rel-") as tmp:
        base = args.keep.resolve() if args.keep else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o755)
        cluster = start_cluster() if ON_POSTGRESQL & set(args.only) else None
        runs: dict[str, Callable[[], list[Check]]] = {
            "pg-restart": lambda: pg_restart(_need(cluster), _dir(base, "r"), args.contacts),
            "sigstop": lambda: sigstop(_need(cluster), _dir(base, "s"), args.contacts),
            "kill-9": lambda: kill_9(_dir(base, "k"), args.contacts),
            "fastagi": lambda: fastagi(_fastagi_site(_dir(base, "a"))),
            "inputs": lambda: hostile_inputs(_dir(base, "i"), cluster),
        }
        try:
            for name in args.only:
                print(f"{name} ...", flush=True)
                checks += runs[name]()
        finally:
            if cluster is not None:
                cluster.stop()
    print(table(checks))


def _fastagi_site(root: Path) -> Site:
    return make_site(root, f"sqlite:///{root / 'dialerd.db'}", time_scale=0.5)


def _need(cluster: Cluster | None) -> Cluster:
    if cluster is None:
        raise SystemExit("PostgreSQL is not installed")
    return cluster


def _dir(base: Path, name: str) -> Path:
    path = base / name
    path.mkdir(exist_ok=True)
    return path


if __name__ == "__main__":
    main()
