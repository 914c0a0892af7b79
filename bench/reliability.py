"""Reliability under faults, at small scale on one machine: real `dialerd run` daemons.

Three scenarios, each against the AMI simulator in its own process (so calls
outlive a daemon, as in Asterisk) and real daemons as subprocesses:

- ``pg-restart``: three daemons on one throwaway PostgreSQL under load;
  ``pg_ctl restart -m fast``, then the server stopped for 30 s and started again;
- ``sigstop``: two daemons on PostgreSQL, one of them SIGSTOPped for 60 s;
- ``kill-9``: one daemon on SQLite killed with SIGKILL five times in a row,
  restarted at once each time with the same instance id.

Measured from the simulator's own Originate log (the PBX's truth) and the
database at the end: dials (Originates the PBX accepted), duplicates (one attempt
key dialled twice), dials inside ``min_spacing`` (a number dialled again within
30 min: in a run this short, any redial), answered calls redialled (the PBX
answered a number, which is then dialled again), results lost (dials the PBX
completed whose attempt ends ``interrupted`` or still ``dialing``), interrupted
(attempts settled ``interrupted`` at some point; in brackets, how many of those
a late result then corrected).

    .venv/bin/python bench/reliability.py [--contacts 300] [--only sigstop ...]

Needs PostgreSQL's server binaries (Debian's ``postgresql`` package) for the first
two scenarios. Run by hand; not part of CI.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt, CampaignEvent
from tests.pgcluster import Cluster, start_cluster

SECRET = "reliability-secret"
ANSWERED_DIGIT = "0"  # the simulator's default dialplan: a number ending in 0 is answered
CAMPAIGN = """\
name = "rel"
contacts = ["rel.csv"]
timezone = "Asia/Shanghai"
holidays = {{ closed = [] }}

[dialing]
max_rounds = 3
min_spacing = "30m"
ring_timeout = "30s"
max_concurrent = {max_concurrent}
calls_per_second = {cps}
channel = "PJSIP/{{number}}@carrier"
caller_id = "4006589888"
answered = {{ application = "AGI", data = "agi://127.0.0.1:4573/answered" }}

[[windows]]
days = "daily"
start = "00:00"
end = "24:00"
"""
SETTINGS = """\
instance_id = "{instance}"
campaigns_dir = "{campaigns}"
[database]
url = "{url}"
[pbx]
kind = "ami"
max_channels = {channels}
calls_per_second = {cps}
cdr_csv = "{cdr}"
[ami]
host = "127.0.0.1"
port = {port}
username = "dialerd"
[agi]
enabled = false
[scheduler]
tick_s = 0.2
heartbeat_s = 1
reap_interval_s = 2
drain_timeout_s = 30
[log]
format = "json"
"""


# -- the simulator, in its own process ---------------------------------------------------
def serve_simulator(port: int, log: Path, time_scale: float) -> None:
    """Child process: run the simulator; append each accepted Originate to ``log`` (JSONL)."""
    from dialerd.pbx.simulator import AmiSimulator, Scenario

    sim = AmiSimulator(
        port=port,
        username="dialerd",
        secret=SECRET,
        scenario=Scenario(),
        time_scale=time_scale,
        cdr_csv=log.parent / "Master.csv",  # the PBX's call records, as Asterisk's cdr_csv
    )
    sim.max_records = 10**7
    sim.start_in_thread()
    seen = 0
    with log.open("a", encoding="utf-8") as out:
        while True:
            records = list(sim.originates)
            for rec in records[seen:]:
                number = rec.channel.split("/")[-1].split("@")[0]
                out.write(json.dumps({"key": rec.action_id, "number": number, "at": time.time()}))
                out.write("\n")
            seen = len(records)
            out.flush()
            time.sleep(0.05)


@dataclass
class Simulator:
    port: int
    log: Path
    proc: subprocess.Popen[bytes]

    @classmethod
    def start(cls, root: Path, time_scale: float) -> Simulator:
        port, log = _free_port(), root / "originates.jsonl"
        log.touch()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-simulator", str(port), str(log), str(time_scale)],
            stdout=subprocess.DEVNULL,
            stderr=(root / "simulator.err").open("wb"),
        )
        _wait_port(port)
        return cls(port, log, proc)

    def originates(self) -> list[dict[str, str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


# -- daemons -------------------------------------------------------------------------------
@dataclass
class Site:
    root: Path
    url: str
    sim: Simulator
    engine: Engine
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def write_campaign(self, contacts: int, *, max_concurrent: int, cps: int) -> None:
        folder = self.root / "campaigns"
        folder.mkdir(exist_ok=True)
        rows = "".join(f"c{i},+86139{i:08d}\n" for i in range(contacts))
        (folder / "rel.csv").write_text("external_id,phone1\n" + rows)
        text = CAMPAIGN.format(max_concurrent=max_concurrent, cps=cps)
        (folder / "rel.toml").write_text(text)

    def start(self, instance: str, *, channels: int = 40, cps: int = 10) -> None:
        config = self.root / f"{instance}.toml"
        config.write_text(
            SETTINGS.format(
                instance=instance,
                campaigns=self.root / "campaigns",
                url=self.url,
                channels=channels,
                cps=cps,
                port=self.sim.port,
                cdr=self.root / "Master.csv",
            )
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIALERD_")}
        env.pop("NOTIFY_SOCKET", None)
        env["DIALERD_AMI__SECRET"] = SECRET
        with (self.root / f"{instance}.log").open("ab") as log:
            self.procs[instance] = subprocess.Popen(
                [sys.executable, "-m", "dialerd", "--config", str(config), "run"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def dialing(self) -> int:
        for _ in range(60):  # the database may be coming back
            try:
                with self.engine.connect() as conn:
                    return int(
                        conn.execute(
                            select(func.count()).where(Attempt.status == "dialing")
                        ).scalar_one()
                    )
            except Exception:
                time.sleep(1)
        raise RuntimeError("the database did not come back")


# -- measures ------------------------------------------------------------------------------
@dataclass
class Row:
    scenario: str
    dials: int
    duplicates: int
    inside_spacing: int
    answered_redialled: int
    results_lost: int
    interrupted: int
    corrected: int
    seconds: float


def measure(site: Site, scenario: str, seconds: float) -> Row:
    originates = site.sim.originates()
    keys = Counter(o["key"] for o in originates)
    numbers = Counter(o["number"].lstrip("+") for o in originates)
    answered_redialled = sum(
        n - 1 for number, n in numbers.items() if number.endswith(ANSWERED_DIGIT) and n > 1
    )
    with site.engine.connect() as conn:
        attempts = conn.execute(select(Attempt.key, Attempt.status, Attempt.outcome)).all()
        late = conn.execute(
            select(func.count()).where(CampaignEvent.kind == "late_result")
        ).scalar_one()
    reached_pbx = set(keys)
    lost = sum(
        1
        for a in attempts
        if a.key in reached_pbx and (a.status == "dialing" or a.outcome == "interrupted")
    )
    final_interrupted = sum(1 for a in attempts if a.outcome == "interrupted")
    return Row(
        scenario=scenario,
        dials=len(originates),
        duplicates=sum(n - 1 for n in keys.values() if n > 1),
        inside_spacing=sum(n - 1 for n in numbers.values() if n > 1),
        answered_redialled=answered_redialled,
        results_lost=lost,
        interrupted=final_interrupted + int(late),
        corrected=int(late),
        seconds=seconds,
    )


# -- scenarios -----------------------------------------------------------------------------
def _site(root: Path, url: str, time_scale: float) -> Site:
    engine = make_engine(url)
    upgrade(engine)
    return Site(root, url, Simulator.start(root, time_scale), engine)


def _settle(site: Site, deadline_s: float) -> None:
    """Let the calls in flight end and be recorded (or the deadline pass)."""
    deadline = time.monotonic() + deadline_s
    while site.dialing() > 0 and time.monotonic() < deadline:
        time.sleep(1)


def pg_restart(cluster: Cluster, root: Path, contacts: int) -> Row:
    site = _site(root, cluster.create_database("rel_restart"), time_scale=0.5)
    site.write_campaign(contacts, max_concurrent=90, cps=15)
    t0 = time.monotonic()
    for name in ("pg-a", "pg-b", "pg-c"):
        site.start(name, channels=30, cps=5)
    time.sleep(15)
    print("  pg_ctl restart -m fast", flush=True)
    _pg_ctl(cluster, "restart", "-m", "fast")
    time.sleep(10)
    print("  pg_ctl stop -m fast; 30 s down", flush=True)
    _pg_ctl(cluster, "stop", "-m", "fast")
    time.sleep(30)
    _pg_ctl(cluster, "start")
    time.sleep(20)
    _settle(site, 120)
    site.stop_all()
    row = measure(site, "3 daemons, PostgreSQL restart + 30 s stop", time.monotonic() - t0)
    _close(site)
    return row


def sigstop(cluster: Cluster, root: Path, contacts: int) -> Row:
    site = _site(root, cluster.create_database("rel_sigstop"), time_scale=1.0)
    site.write_campaign(contacts, max_concurrent=60, cps=10)
    t0 = time.monotonic()
    site.start("stop-a", channels=30, cps=5)
    site.start("stop-b", channels=30, cps=5)
    time.sleep(12)
    victim = site.procs["stop-a"]
    print("  SIGSTOP stop-a for 60 s", flush=True)
    os.kill(victim.pid, signal.SIGSTOP)
    time.sleep(60)
    os.kill(victim.pid, signal.SIGCONT)
    time.sleep(10)
    _settle(site, 120)
    site.stop_all()
    row = measure(site, "2 daemons, PostgreSQL, one SIGSTOPped 60 s", time.monotonic() - t0)
    _close(site)
    return row


def kill_9(root: Path, contacts: int) -> Row:
    site = _site(root, f"sqlite:///{root / 'dialerd.db'}", time_scale=0.5)
    site.write_campaign(contacts, max_concurrent=30, cps=10)
    t0 = time.monotonic()
    site.start("k9", channels=30, cps=10)
    for n in range(5):
        time.sleep(6)
        print(f"  kill -9 #{n + 1}", flush=True)
        proc = site.procs["k9"]
        proc.kill()
        proc.wait()
        site.start("k9", channels=30, cps=10)
    time.sleep(10)
    _settle(site, 120)
    site.stop_all()
    row = measure(site, "1 daemon, SQLite, kill -9 five times", time.monotonic() - t0)
    _close(site)
    return row


def _close(site: Site) -> None:
    site.sim.stop()
    site.engine.dispose()


def _pg_ctl(cluster: Cluster, action: str, *args: str) -> None:
    data = str(cluster.root / "data")
    opts = (
        f"-c listen_addresses=127.0.0.1 -c port={cluster.port}"
        f" -c unix_socket_directories={cluster.root}"
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    log = str(cluster.root / "log")
    cluster._run("pg_ctl", "-D", data, "-o", opts, "-l", log, "-w", *args, action)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the simulator did not start")


def table(rows: list[Row]) -> str:
    head = (
        "| scenario | dials | duplicates | dials inside min_spacing | answered calls redialled "
        "| results lost | interrupted (corrected by a late result) | run |"
    )
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {r.dials} | {r.duplicates} | {r.inside_spacing} | "
            f"{r.answered_redialled} | {r.results_lost} | {r.interrupted} ({r.corrected}) | "
            f"{r.seconds:.0f} s |"
        )
    return "\n".join(lines)


SCENARIOS = ("pg-restart", "sigstop", "kill-9")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve-simulator":
        serve_simulator(int(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, default=list(SCENARIOS))
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="dialerd-rel-") as tmp:
        base = Path(tmp)
        os.chmod(base, 0o755)
        cluster = start_cluster() if {"pg-restart", "sigstop"} & set(args.only) else None
        runs: dict[str, Callable[[], Row]] = {
            "pg-restart": lambda: pg_restart(_need(cluster), _dir(base, "r"), args.contacts),
            "sigstop": lambda: sigstop(_need(cluster), _dir(base, "s"), args.contacts),
            "kill-9": lambda: kill_9(_dir(base, "k"), args.contacts),
        }
        try:
            for name in args.only:
                print(f"{name} ...", flush=True)
                rows.append(runs[name]())
        finally:
            if cluster is not None:
                cluster.stop()
    print(table(rows))


def _need(cluster: Cluster | None) -> Cluster:
    if cluster is None:
        raise SystemExit("PostgreSQL is not installed")
    return cluster


def _dir(base: Path, name: str) -> Path:
    path = base / name
    path.mkdir()
    return path


if __name__ == "__main__":
    main()
