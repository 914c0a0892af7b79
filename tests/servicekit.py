"""`dialerd run` as a subprocess against the AMI simulator: the acceptance tests' rig.

A :class:`Site` is one installation: a settings file, a campaigns folder, a
database and an AMI simulator running in this process (so calls outlive a
daemon, as they do in Asterisk), optionally a datagram socket standing in for
systemd's. Daemons run as ``python -m dialerd run``, each writing JSON lines to
its own log. Every wait is on a condition with a generous deadline (the suite
must pass with the CPU busy), never on a fixed sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt, Instance
from dialerd.pbx.simulator import AmiSimulator
from tests.notifysocket import NotifyListener

SECRET = "acceptance-secret"
INSTANCE = "acceptance-1"
WAIT_S = 60.0  # any wait on what should come: generous, the machine may be busy
WATCHDOG_USEC = 6_000_000  # the daemon pings every half of it: 3 s of slack on a busy machine
AGI_ANSWERED = '{ application = "AGI", data = "agi://127.0.0.1:4573/answered" }'

CAMPAIGN = """\
name = "{name}"
description = "{description}"
contacts = ["{name}.csv"]
timezone = "Asia/Shanghai"
holidays = {{ closed = [] }}

[dialing]
max_rounds = {max_rounds}
min_spacing = "{min_spacing}"
ring_timeout = "{ring_timeout}"
max_concurrent = {max_concurrent}
calls_per_second = {per_second}
channel = "PJSIP/{{number}}@carrier"
caller_id = "4006589888"
answered = {answered}

[[windows]]
days = "daily"
start = "00:00"
end = "24:00"
"""

SETTINGS = """\
campaigns_dir = "{campaigns}"
[database]
url = "{db_url}"
[pbx]
kind = "ami"
{pbx_extra}
[ami]
host = "{host}"
port = {port}
username = "dialerd"
[agi]
enabled = false
[scheduler]
tick_s = 0.1
heartbeat_s = 1
reap_interval_s = 1
drain_timeout_s = 20
[log]
format = "json"
"""


def wait_until(
    what: str,
    check: Callable[[], Any],
    timeout: float = WAIT_S,
    *,
    show: Callable[[], str] = lambda: "",
    poll_s: float = 0.05,
) -> Any:
    """Poll ``check`` until it returns something true, and return that; else fail naming
    ``what`` (with ``show()``, what would explain it)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out ({timeout:.0f} s) waiting for {what}{show()}")
        time.sleep(poll_s)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any DIALERD_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALERD_")}
    env.update(extra)
    return env


def json_events(log: Path) -> list[dict[str, Any]]:
    """The JSON lines of a daemon's log, in order: whole lines only (the daemon may be
    writing the last one as it is read)."""
    text = log.read_text(errors="replace") if log.exists() else ""
    lines = text.split("\n")[:-1]  # what follows the last newline is not a whole line yet
    return [json.loads(line) for line in lines if line.startswith("{")]


@dataclass
class Daemon:
    """One ``dialerd run`` process and its log."""

    proc: subprocess.Popen[bytes]
    log: Path
    instance: str

    def events(self) -> list[dict[str, Any]]:
        return json_events(self.log)

    def api_url(self) -> str:
        """The HTTP API's address, once its ``api_listening`` line is logged."""

        def listening() -> str | None:
            found = [e for e in self.events() if e.get("event") == "api_listening"]
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited:\n{self.log.read_text()[-3000:]}")
            return f"http://127.0.0.1:{found[0]['port']}" if found else None

        url: str = wait_until("the API listening", listening)
        return url

    def stop(self, timeout: float = WAIT_S) -> int:
        """SIGTERM, then the exit status once it has drained."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


@dataclass
class Site:
    """One installation: settings, campaigns folder, database, simulator (and notify socket)."""

    root: Path
    db_url: str
    engine: Engine
    sim: AmiSimulator
    listener: NotifyListener | None = None
    daemons: list[Daemon] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.root / "dialerd.toml"

    @property
    def notify(self) -> NotifyListener:
        """systemd's side (a site made with ``notify=True``)."""
        assert self.listener is not None, "a site made without notify=True"
        return self.listener

    def write_campaign(
        self,
        name: str,
        rows: Sequence[str] | int,
        *,
        description: str = "v1",
        concurrent: int = 5,
        per_second: float = 50,
        answered: str = AGI_ANSWERED,
        ring_timeout: str = "30s",
        max_rounds: int = 2,
        min_spacing: str = "1h",
        tables: str = "",
    ) -> Path:
        """``name.csv`` and ``name.toml``; ``rows``: ``external_id,phone1`` lines, or how many
        to number (:func:`numbered`). ``tables``: TOML appended (e.g. ``[pacing]``)."""
        if isinstance(rows, int):
            rows = numbered(f"{name}-", rows)
        folder = self.root / "campaigns"
        (folder / f"{name}.csv").write_text("external_id,phone1\n" + "".join(rows))
        path = folder / f"{name}.toml"
        path.write_text(
            CAMPAIGN.format(
                name=name,
                description=description,
                max_concurrent=concurrent,
                per_second=per_second,
                answered=answered,
                ring_timeout=ring_timeout,
                max_rounds=max_rounds,
                min_spacing=min_spacing,
            )
            + tables
        )
        return path

    def start(
        self,
        instance: str = INSTANCE,
        *,
        api: bool = False,
        preexec: Callable[[], None] | None = None,
    ) -> Daemon:
        """Run ``dialerd run`` as ``instance`` (its log: ``<instance>.log``, appended to)."""
        env = clean_env(
            DIALERD_AMI__SECRET=SECRET,
            DIALERD_INSTANCE_ID=instance,
            DIALERD_API__ENABLED="true" if api else "false",
            DIALERD_API__PORT="0",
        )
        if self.listener is not None:
            env.update(NOTIFY_SOCKET=str(self.listener.path), WATCHDOG_USEC=str(WATCHDOG_USEC))
        log = self.root / f"{instance}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dialerd", "--config", str(self.config), "run"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                preexec_fn=preexec,
            )
        daemon = Daemon(proc, log, instance)
        self.daemons.append(daemon)
        return daemon

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A ``dialerd`` verb on this site's settings."""
        return subprocess.run(
            [sys.executable, "-m", "dialerd", "--config", str(self.config), *args],
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=WAIT_S,
            check=False,
        )

    def logs(self) -> list[Path]:
        return list(dict.fromkeys(d.log for d in self.daemons))

    def events(self) -> list[dict[str, Any]]:
        """Every daemon's log lines, log by log."""
        return [e for log in self.logs() for e in json_events(log)]

    def attempts(self) -> dict[str, int]:
        """Attempt rows by status (plus ``interrupted`` for that outcome)."""
        with Session(self.engine) as s:
            by_status = select(Attempt.status, func.count()).group_by(Attempt.status)
            rows = {str(status): n for status, n in s.execute(by_status).all()}
            rows["interrupted"] = s.execute(
                select(func.count()).where(Attempt.outcome == "interrupted")
            ).scalar_one()
        return rows

    def count(self, model: Any, *where: Any) -> int:
        with Session(self.engine) as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def adopted(self) -> int:
        """Orphaned dials the daemons' logs say they adopted."""
        settled = [e for e in self.events() if e["event"] == "orphans_settled"]
        return sum(int(str(e["adopted"])) for e in settled)

    def wait_until(self, what: str, check: Callable[[], Any], timeout: float = WAIT_S) -> Any:
        """:func:`wait_until`, failing with the attempts and the logs' tails."""
        return wait_until(what, check, timeout, show=self.explain)

    def explain(self) -> str:
        tails = "".join(
            f"\n{p.name}:\n{p.read_text(errors='replace')[-3000:]}" for p in self.logs()
        )
        return f"; attempts {self.attempts()}{tails}"

    def beats_after(self, instance: str, n: int) -> None:
        """Wait until ``instance`` has sent ``n`` more heartbeats (each a second apart)."""

        def beat() -> Any:
            with Session(self.engine) as s:
                return s.scalar(select(Instance.heartbeat_at).where(Instance.id == instance))

        seen = [beat()]

        def moved() -> bool:
            now = beat()
            if now != seen[-1]:
                seen.append(now)
            return len(seen) > n

        self.wait_until(f"{n} heartbeats of {instance}", moved)

    def close(self, *, gently: bool) -> None:
        """Stop what is still running: SIGTERM first when ``gently``, else SIGKILL."""
        for d in self.daemons:
            if d.proc.poll() is not None:
                continue
            if gently:
                d.proc.send_signal(signal.SIGTERM)
                try:
                    d.proc.wait(timeout=30)
                    continue
                except subprocess.TimeoutExpired:
                    pass
            d.proc.kill()
            d.proc.wait(timeout=10)


def simulator(**options: Any) -> AmiSimulator:
    """An AMI simulator that takes this rig's login (``options``: scenario, time_scale...)."""
    return AmiSimulator(username="dialerd", secret=SECRET, **options)


@contextmanager
def make_site(
    root: Path,
    sim: AmiSimulator,
    *,
    database: tuple[Engine, str] | None = None,
    notify: bool = False,
    cdr_csv: Path | None = None,
    gently: bool = False,
) -> Iterator[Site]:
    """A site in ``root`` on ``sim`` (started here, stopped at the end).

    ``database``: an upgraded engine and its URL (default: a SQLite file in ``root``,
    made here, read through a read-only engine disposed of here). ``notify``: a
    NOTIFY_SOCKET for the daemons. ``gently``: daemons still running at the end get
    SIGTERM before SIGKILL.
    """
    host, port = sim.start_in_thread()
    (root / "campaigns").mkdir()
    if database is None:
        db_url = f"sqlite:///{root / 'dialerd.db'}"
        writer = make_engine(db_url)
        upgrade(writer)
        writer.dispose()
        engine = make_engine(db_url, read_only=True)  # the test's reads take no write lock
    else:
        engine, db_url = database
    pbx_extra = f'cdr_csv = "{cdr_csv}"' if cdr_csv is not None else ""
    (root / "dialerd.toml").write_text(
        SETTINGS.format(
            campaigns=root / "campaigns", db_url=db_url, host=host, port=port, pbx_extra=pbx_extra
        )
    )
    listener = NotifyListener(root / "notify.sock") if notify else None
    site = Site(root, db_url, engine, sim, listener)
    try:
        yield site
    finally:
        site.close(gently=gently)
        if listener is not None:
            listener.close()
        sim.stop()
        if database is None:
            engine.dispose()


def hang_up_every_call(sim: AmiSimulator) -> None:
    """As the callees would: every call the simulator is playing ends now."""

    def hang_up() -> None:
        for call in list(sim.calls.values()):
            call.hangup()

    sim.loop.call_soon_threadsafe(hang_up)


def numbered(prefix: str, count: int, first: str = "+861390001") -> list[str]:
    """``count`` contact rows ``<prefix><i>,<first><i:04d>``."""
    return [f"{prefix}{i},{first}{i:04d}\n" for i in range(count)]
