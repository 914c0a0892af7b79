"""The HTTP API of `dialerd run`, over TCP with a real HTTP client, on SQLite and PostgreSQL.

The daemon runs as a subprocess against the AMI simulator (in this process), as in
``test_service.py``; its API listens on a free port it reports in its log.
Tokens are made with ``dialerd api token add``. Waits are on conditions
(heartbeats, rows, originates) with generous deadlines, never on fixed sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from openapi_spec_validator import validate
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dialerd.db.models import Attempt, AttemptSummary, CampaignEvent, Instance
from dialerd.pbx.simulator import AmiSimulator, Scenario

pytestmark = pytest.mark.slow

SECRET = "acceptance-secret"
WAIT_S = 60.0

CAMPAIGN = """\
name = "{name}"
contacts = ["{name}.csv"]
timezone = "Asia/Shanghai"
holidays = {{ closed = [] }}

[dialing]
max_rounds = 2
min_spacing = "1h"
ring_timeout = "30s"
max_concurrent = {max_concurrent}
calls_per_second = {per_second}
channel = "PJSIP/{{number}}@carrier"
caller_id = "4006589888"
answered = {{ context = "dialerd-answered", exten = "s" }}

[[windows]]
days = "daily"
start = "00:00"
end = "24:00"
"""


def wait_until(what: str, check: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    log: Path
    instance: str

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def api_url(self) -> str:
        def listening() -> str | None:
            found = [e for e in self.events() if e.get("event") == "api_listening"]
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited:\n{self.log.read_text()[-3000:]}")
            return f"http://127.0.0.1:{found[0]['port']}" if found else None

        url: str = wait_until("the API listening", listening)
        return url

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


@dataclass
class ApiSite:
    root: Path
    db_url: str
    engine: Engine
    sim: AmiSimulator
    daemons: list[Daemon] = field(default_factory=list)

    def write_campaign(self, name: str, rows: list[str], *, concurrent: int = 5,
                       per_second: float = 50) -> None:  # fmt: skip
        folder = self.root / "campaigns"
        (folder / f"{name}.csv").write_text("external_id,phone1\n" + "".join(rows))
        (folder / f"{name}.toml").write_text(
            CAMPAIGN.format(name=name, max_concurrent=concurrent, per_second=per_second)
        )

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIALERD_")}
        env.update(DIALERD_DATABASE__URL=self.db_url, DIALERD_AMI__SECRET=SECRET)
        return env

    def start(self, instance: str, *, api: bool = True) -> Daemon:
        log = self.root / f"{instance}.log"
        env = self.env() | {
            "DIALERD_INSTANCE_ID": instance,
            "DIALERD_API__ENABLED": "true" if api else "false",
            "DIALERD_API__PORT": "0",
        }
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dialerd", "--config", str(self.root / "dialerd.toml"),
                 "run"],
                env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.root,
            )  # fmt: skip
        daemon = Daemon(proc, log, instance)
        self.daemons.append(daemon)
        return daemon

    def token(self, name: str, scope: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "dialerd", "--config", str(self.root / "dialerd.toml"),
             "api", "token", "add", name, "--scope", scope],
            env=self.env(), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        token = done.stdout.strip()
        assert token.startswith("dlr_") and "shown only now" in done.stderr
        return token

    def count(self, model: Any, *where: Any) -> int:
        with Session(self.engine) as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

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

        wait_until(f"{n} heartbeats of {instance}", moved)


@pytest.fixture
def api_site(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ApiSite]:
    sim = AmiSimulator(
        username="dialerd",
        secret=SECRET,
        scenario=Scenario(rules=[("*", "answered")]),
        time_scale=0.2,
    )
    host, port = sim.start_in_thread()
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "dialerd.toml").write_text(
        f"""\
campaigns_dir = "{tmp_path / "campaigns"}"
[pbx]
kind = "ami"
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
    )
    site = ApiSite(tmp_path, db_url, engine, sim)
    try:
        yield site
    finally:
        for d in site.daemons:
            if d.proc.poll() is None:
                d.proc.send_signal(signal.SIGTERM)
                try:
                    d.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    d.proc.kill()
                    d.proc.wait(timeout=10)
        sim.stop()


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def test_summaries_scopes_control_and_contacts_against_the_daemon(api_site: ApiSite) -> None:
    site = api_site
    site.write_campaign("alpha", [f"a{i},+861390001{i:04d}\n" for i in range(3)])
    agent, ops = site.token("desk-1", "agent"), site.token("ops-tool", "ops")
    daemon = site.start("api-1")
    with httpx.Client(base_url=daemon.api_url(), timeout=30) as http:
        spec = http.get("/v1/openapi.json")
        assert spec.status_code == 200
        validate(spec.json())
        assert http.get("/v1/status").status_code == 401
        assert http.post("/v1/campaigns/alpha/pause", headers=bearer(agent)).status_code == 403

        # an answered call, then its summary, posted twice with one key and once without
        aid = wait_until(
            "an answered call recorded",
            lambda: site.count(Attempt, Attempt.outcome == "answered") and _first_done(site),
        )
        body = {"code": "refused", "note": "不需要", "agent": "李娜"}
        url = f"/v1/attempts/{aid}/disposition"
        key = bearer(agent, **{"Idempotency-Key": f"summary-{aid}"})
        first, again = (
            http.post(url, json=body, headers=key),
            http.post(url, json=body, headers=key),
        )
        assert first.status_code == again.status_code == 200, first.text
        assert first.json() == again.json() and first.json()["outcome"] == "refused"
        assert http.post(url, json=body, headers=bearer(agent)).status_code == 409
        assert site.count(AttemptSummary) == 1
        assert site.count(CampaignEvent, CampaignEvent.kind == "agent_summary") == 1
        assert site.count(CampaignEvent, CampaignEvent.kind == "outcome_corrected") == 1

        # paused: appended contacts wait; resumed: they are dialled
        paused = http.post("/v1/campaigns/alpha/pause", headers=bearer(ops))
        assert paused.json()["state"] == "paused"
        added = http.post(
            "/v1/campaigns/alpha/contacts",
            json={"contacts": [{"external_id": "late-1", "phone1": "+8613900020001"},
                               {"external_id": "late-2", "phone1": "not a number"}]},
            headers=bearer(ops),
        )  # fmt: skip
        assert added.status_code == 200, added.text
        assert added.json()["loaded_ids"] == ["late-1"]
        assert {r["external_id"] for r in added.json()["rejected_rows"]} == {"late-2"}
        site.beats_after("api-1", 3)
        assert site.count(Attempt, Attempt.number == "+8613900020001") == 0
        assert http.post("/v1/campaigns/alpha/resume", headers=bearer(ops)).status_code == 200
        wait_until(
            "the appended contact dialled",
            lambda: site.count(Attempt, Attempt.number == "+8613900020001") == 1,
        )
    names = [e.get("event") for e in daemon.events()]
    logged = [e for e in daemon.events() if e.get("event") == "api_request"]
    assert "api_listening" in names and {e["token"] for e in logged} >= {"desk-1", "ops-tool"}
    assert not any(agent in line or ops in line for line in daemon.log.read_text().splitlines())


def _first_done(site: ApiSite) -> int | None:
    with Session(site.engine) as s:
        return s.scalar(
            select(Attempt.id).where(Attempt.outcome == "answered").order_by(Attempt.id).limit(1)
        )
