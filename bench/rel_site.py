"""The reliability bench's PBX and daemons: the AMI simulator in a process of its own
(run as ``python bench/rel_site.py --serve-simulator PORT LOG SCALE``) and real
``dialerd run`` daemons as subprocesses, on one database."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt
from tests.servicekit import AGI_ANSWERED, CAMPAIGN

SECRET = "reliability-secret"
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
{agi}
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
    """Child process: run the simulator; log each accepted Originate to ``log`` and each
    ended call to ``ends.jsonl`` beside it (JSONL, stamped when the simulator saw them)."""
    from dialerd.pbx.simulator import AmiSimulator, Scenario
    from dialerd.pbx.simulator.calls import Call
    from dialerd.pbx.simulator.records import OriginateRecord

    sim = AmiSimulator(
        port=port,
        username="dialerd",
        secret=SECRET,
        scenario=Scenario(),
        time_scale=time_scale,
        cdr_csv=log.parent / "Master.csv",  # the PBX's call records, as Asterisk's cdr_csv
    )
    sim.max_records = 10**7
    lines: queue.SimpleQueue[tuple[Path, str]] = queue.SimpleQueue()
    remember, call_ended = sim.remember, sim.call_ended

    def remembered(records: list[Any], record: Any) -> None:
        remember(records, record)
        if isinstance(record, OriginateRecord):
            number = record.channel.split("/")[-1].split("@")[0]
            entry = {"key": record.action_id, "number": number, "at": time.time()}
            lines.put((log, json.dumps(entry)))

    def ended(call: Call) -> None:
        call_ended(call)
        rec = call.record()
        entry = {"key": rec.account, "at": rec.end, "answered": rec.answer is not None}
        lines.put((log.parent / "ends.jsonl", json.dumps(entry)))

    sim.remember = remembered  # type: ignore[method-assign]
    sim.call_ended = ended  # type: ignore[method-assign]
    sim.start_in_thread()
    while True:
        path, line = lines.get()
        with path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


@dataclass
class Simulator:
    port: int
    log: Path
    proc: subprocess.Popen[bytes]

    @classmethod
    def start(cls, root: Path, time_scale: float) -> Simulator:
        port, log = free_port(), root / "originates.jsonl"
        log.touch()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-simulator", str(port), str(log), str(time_scale)],
            stdout=subprocess.DEVNULL,
            stderr=(root / "simulator.err").open("wb"),
        )
        wait_port(port)
        return cls(port, log, proc)

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
        # +86138...: clear of the simulator's exact-number variants (+86139000000xx)
        rows = "".join(f"c{i},+86138{i:08d}\n" for i in range(contacts))
        (folder / "rel.csv").write_text("external_id,phone1\n" + rows)
        text = CAMPAIGN.format(
            name="rel",
            description="",
            max_rounds=3,
            min_spacing="30m",
            ring_timeout="30s",
            max_concurrent=max_concurrent,
            per_second=cps,
            answered=AGI_ANSWERED,
        )
        (folder / "rel.toml").write_text(text)

    def start(self, instance: str, *, channels: int = 40, cps: int = 10, agi: str = "") -> None:
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
                agi=agi or "enabled = false",
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


def make_site(root: Path, url: str, time_scale: float) -> Site:
    engine = make_engine(url)
    upgrade(engine)
    return Site(root, url, Simulator.start(root, time_scale), engine)


def close(site: Site) -> None:
    site.sim.stop()
    site.engine.dispose()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the simulator did not start")


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--serve-simulator":
    serve_simulator(int(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4]))
