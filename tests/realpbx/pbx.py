"""A real Asterisk for the opt-in test tier, and `dialerd run` driving it.

The tier runs only where ``DIALERD_TEST_ASTERISK`` names a ``run-asterisk`` script
(start DIR --ami-port N --agi-port N [--conf FILE], stop DIR, cli DIR CMD), such as
the prebuilt Asterisk 22 that ``.ci/`` points at when it is present; elsewhere every
test in ``tests/realpbx`` is skipped, so a clone with nothing beside it still passes.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ENV = "DIALERD_TEST_ASTERISK"
AMI_USER, AMI_SECRET = "dialerd", "dialerd-secret"  # the reference manager.conf
# read at import: the suite's autouse fixture clears DIALERD_* from each test's environment
_NAMED = os.environ.get(ENV, "")
# and points XDG_CACHE_HOME at the test's own folder; run-asterisk unpacks its build
# (100 MB) once into the user's cache, so it gets the cache as it was
_USER_CACHE = os.environ.get("XDG_CACHE_HOME")


def _script_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    if _USER_CACHE is not None:
        env["XDG_CACHE_HOME"] = _USER_CACHE
    return env


def run_asterisk() -> Path | None:
    """The run-asterisk script named by the environment, if it is there."""
    path = Path(_NAMED)
    return path if _NAMED and path.is_file() and os.access(path, os.X_OK) else None


DOCS = Path(__file__).resolve().parents[2] / "docs" / "asterisk.md"


def recipe_filters(docs: Path = DOCS) -> list[str]:
    """The ``eventfilter`` lines of the manager.conf recipe (docs/asterisk.md, section 1):
    only the events dialerd reads leave Asterisk."""
    text = docs.read_text()
    opening = text.index("```ini", text.index("## 1. manager.conf"))
    block = text[opening : text.index("```\n", opening + len("```ini"))]
    lines = [line.strip() for line in block.splitlines() if line.startswith("eventfilter(")]
    if not any("name(OriginateResponse)" in line for line in lines):
        raise ValueError(f"{docs}: no eventfilter lines in the manager.conf recipe")
    return lines


def filtered_manager_conf(folder: Path, script: Path, port: int) -> Path:
    """The reference manager.conf (its last section is the dialerd user's) with the recipe's
    event filters added to that user, written in ``folder`` for ``--conf``."""
    text = (script.parent / "etc" / "manager.conf").read_text()
    path = folder / "manager.conf"  # run-asterisk sets the port before it copies --conf files
    filters = "\n".join(recipe_filters())
    path.write_text(text.replace("port = 5038", f"port = {port}") + filters + "\n")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], what: str, timeout: float) -> None:
    """Poll ``check`` until it holds; the deadline is generous, never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


@dataclass
class RealPbx:
    """One Asterisk instance with all its state in ``root``."""

    script: Path
    root: Path
    ami_port: int = field(default_factory=free_port)
    agi_port: int = field(default_factory=free_port)
    confs: list[Path] = field(default_factory=list)

    def restart_with(self, *confs: Path) -> None:
        """Stop, then start on ``confs`` (each replaces the reference file of its name)."""
        self.stop()
        self.confs = list(confs)
        self.start()

    def start(self) -> None:
        args = ["start", str(self.root), "--ami-port", str(self.ami_port)]
        args += ["--agi-port", str(self.agi_port)]
        for conf in self.confs:
            args += ["--conf", str(conf)]
        subprocess.run(
            [str(self.script), *args],
            check=True,
            capture_output=True,
            timeout=120,
            env=_script_env(),
        )

    def stop(self) -> None:
        subprocess.run(
            [str(self.script), "stop", str(self.root)],
            capture_output=True,
            timeout=60,
            env=_script_env(),
        )

    def cli(self, command: str) -> str:
        done = subprocess.run(
            [str(self.script), "cli", str(self.root), command],
            capture_output=True,
            text=True,
            timeout=60,
            env=_script_env(),
        )
        return done.stdout

    @property
    def cdr(self) -> Path:
        return self.root / "var/log/asterisk/cdr-csv/Master.csv"

    @property
    def queue_log(self) -> Path:
        return self.root / "var/log/asterisk/queue_log"


CAMPAIGN = """\
name = "{name}"
contacts = ["{name}.csv"]
region = "CN"
timezone = "Asia/Shanghai"
holidays = {{ closed = [] }}

[dialing]
max_rounds = 1
min_spacing = "1h"
ring_timeout = "{ring_timeout}"
max_concurrent = {max_concurrent}
calls_per_second = {calls_per_second}
channel = "Local/{{national}}@{callees}"
caller_id = "4006589888"
answered = {{ context = "{context}", exten = "s" }}
record = {record}

[[windows]]
days = "daily"
start = "00:00"
end = "24:00"
"""


@dataclass
class DialerSite:
    """A campaigns folder, a SQLite database and `dialerd run` pointed at a RealPbx."""

    root: Path
    pbx: RealPbx
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    instance_id: str | None = "realpbx-test"  # None: the default, derived from the state dir
    tree: Path | None = None  # run dialerd from this source tree (a baseline); None: this one

    @property
    def db(self) -> Path:
        return self.root / "dialerd.db"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIALERD_")}
        env.update(
            DIALERD_DATABASE__URL=f"sqlite:///{self.db}",
            DIALERD_CAMPAIGNS_DIR=str(self.root / "campaigns"),
            DIALERD_PBX__KIND="ami",
            DIALERD_AMI__HOST="127.0.0.1",
            DIALERD_AMI__PORT=str(self.pbx.ami_port),
            DIALERD_AMI__USERNAME=AMI_USER,
            DIALERD_AMI__SECRET=AMI_SECRET,
            DIALERD_AGI__HOST="127.0.0.1",
            DIALERD_AGI__PORT=str(self.pbx.agi_port),
            STATE_DIRECTORY=str(self.root / "state"),
            DIALERD_LOG__FORMAT="json",
            DIALERD_LOG__MASK_NUMBERS="false",
        )
        if self.instance_id is not None:
            env["DIALERD_INSTANCE_ID"] = self.instance_id
        env.update(self.extra_env)
        return env

    def write_campaign(
        self,
        name: str,
        numbers: list[str],
        *,
        ring_timeout: str = "10s",
        context: str = "dialerd-answered",
        max_concurrent: int = 20,
        calls_per_second: float = 20,
        record: bool = False,
        tables: str = "",
        callees: str = "callee-sim",
    ) -> None:
        """The campaign file and its list; ``tables`` is TOML appended (e.g. ``[pacing]``)."""
        folder = self.root / "campaigns"
        folder.mkdir(parents=True, exist_ok=True)
        text = CAMPAIGN.format(
            name=name,
            ring_timeout=ring_timeout,
            context=context,
            max_concurrent=max_concurrent,
            calls_per_second=calls_per_second,
            record=str(record).lower(),
            callees=callees,
        )
        text += tables
        (folder / f"{name}.toml").write_text(text)
        rows = [f"c{i},n{i},{number}" for i, number in enumerate(numbers)]
        (folder / f"{name}.csv").write_text("external_id,name,phone1\n" + "\n".join(rows) + "\n")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dialerd", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.tree,
        )

    def start(self) -> subprocess.Popen[bytes]:
        done = self.cli("db", "upgrade")
        assert done.returncode == 0, done.stderr
        with (self.root / "daemon.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dialerd", "run"],
                env=self.env(),
                stdout=log,
                stderr=log,
                cwd=self.tree,
            )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
        proc.send_signal(sig)
        return proc.wait(timeout=120)

    def attempts(self) -> list[dict[str, object]]:
        if not self.db.exists():
            return []
        with sqlite3.connect(self.db) as conn:
            conn.row_factory = sqlite3.Row
            try:
                rows = conn.execute(
                    "SELECT a.id, a.key, a.status, a.outcome, p.e164 AS number "
                    "FROM attempts a JOIN phone_numbers p ON p.id = a.phone_number_id "
                    "ORDER BY a.id"
                ).fetchall()
            except sqlite3.OperationalError:
                return []
        return [dict(r) for r in rows]

    def done(self) -> list[dict[str, object]]:
        return [a for a in self.attempts() if a["status"] == "done"]

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
