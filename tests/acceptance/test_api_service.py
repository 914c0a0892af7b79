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
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from openapi_spec_validator import validate
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt, AttemptSummary, CampaignEvent, Instance, PhoneNumber
from dialerd.pbx.simulator import AmiSimulator, Scenario
from tests.pgcluster import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

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


@contextmanager
def make_site(engine: Engine, db_url: str, root: Path) -> Iterator[ApiSite]:
    sim = AmiSimulator(
        username="dialerd",
        secret=SECRET,
        scenario=Scenario(rules=[("*", "answered")]),
        time_scale=0.2,
    )
    host, port = sim.start_in_thread()
    (root / "campaigns").mkdir()
    (root / "dialerd.toml").write_text(
        f"""\
campaigns_dir = "{root / "campaigns"}"
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
    site = ApiSite(root, db_url, engine, sim)
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


@pytest.fixture
def api_site(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ApiSite]:
    with make_site(engine, db_url, tmp_path) as site:
        yield site


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[ApiSite]:
    url = f"sqlite:///{tmp_path / 'dialerd.db'}"
    engine = make_engine(url)
    upgrade(engine)
    try:
        with make_site(engine, url, tmp_path) as site:
            yield site
    finally:
        engine.dispose()


@pytest.fixture
def pg_site(pg_cluster: Cluster, tmp_path: Path) -> Iterator[ApiSite]:
    url = pg_cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")
    engine = make_engine(url)
    upgrade(engine)
    try:
        with make_site(engine, url, tmp_path) as site:
            yield site
    finally:
        engine.dispose()


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
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=60) == 0  # the API thread stops with the daemon
    names = [e.get("event") for e in daemon.events()]
    assert names.index("api_listening") < names.index("daemon_stopped")
    logged = [e for e in daemon.events() if e.get("event") == "api_request"]
    assert "api_listening" in names and {e["token"] for e in logged} >= {"desk-1", "ops-tool"}
    assert not any(agent in line or ops in line for line in daemon.log.read_text().splitlines())


def _first_done(site: ApiSite) -> int | None:
    with Session(site.engine) as s:
        return s.scalar(
            select(Attempt.id).where(Attempt.outcome == "answered").order_by(Attempt.id).limit(1)
        )


@pytest.mark.postgres
def test_a_pause_sent_to_one_daemon_stops_dialling_on_both(pg_site: ApiSite) -> None:
    site = pg_site
    # room for both daemons: each claims what is due up to the campaign's cap
    site.write_campaign("alpha", [f"a{i},+861390002{i:04d}\n" for i in range(300)], concurrent=20)
    ops = site.token("ops-tool", "ops")
    first, second = site.start("api-1"), site.start("api-2", api=False)

    def dialled_by() -> set[str]:
        with Session(site.engine) as s:
            return set(s.scalars(select(Attempt.instance_id).distinct()))

    wait_until("both daemons dialling", lambda: dialled_by() == {"api-1", "api-2"}, 120)
    with httpx.Client(base_url=first.api_url(), timeout=30) as http:
        assert http.post("/v1/campaigns/alpha/pause", headers=bearer(ops)).status_code == 200
        for d in (first, second):  # every tick that read "active" before the pause is over
            site.beats_after(d.instance, 2)
        dials = site.count(Attempt)
        due = site.count(PhoneNumber, PhoneNumber.next_dial_at.is_not(None))
        for d in (first, second):
            site.beats_after(d.instance, 3)
        assert due > 0 and site.count(Attempt) == dials  # due work, and nobody dialled it
        assert http.post("/v1/campaigns/alpha/resume", headers=bearer(ops)).status_code == 200
    wait_until("dialling again after resume", lambda: site.count(Attempt) > dials)
    print(f"two daemons: {dials} dials before the pause, {due} due left, none while paused")


BURST = 1000


def _bad_requests(url: str, agent: str) -> list[int]:
    """``BURST`` requests, each refused: no or bad token, bad bodies, wrong scope, too large."""
    big = b"{" + b" " * (1 << 20) + b"}"
    kinds: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/v1/status", {}),
        ("GET", "/v1/status", {"headers": bearer("dlr_forged")}),
        ("POST", "/v1/attempts/1/disposition", {"headers": bearer(agent), "json": {"x": 1}}),
        ("POST", "/v1/attempts/1/disposition", {"headers": bearer(agent), "json": {"code": 5}}),
        ("POST", "/v1/attempts/1/disposition",
         {"headers": bearer(agent, **{"content-type": "application/json"}), "content": b"{"}),
        ("POST", "/v1/attempts/999999/disposition",
         {"headers": bearer(agent), "json": {"code": "completed"}}),
        ("POST", "/v1/campaigns/alpha/pause", {"headers": bearer(agent)}),
        ("GET", "/v1/attempts/not-a-number", {"headers": bearer(agent)}),
        ("GET", "/v1/campaigns/nope/report", {"headers": bearer(agent)}),
    ]  # fmt: skip
    codes: list[int] = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for i in range(BURST):
            if i % 100 == 99:
                method, path, kw = (
                    "POST",
                    "/v1/attempts/1/disposition",
                    {
                        "headers": bearer(agent, **{"content-type": "application/json"}),
                        "content": big,
                    },
                )
            else:
                method, path, kw = kinds[i % len(kinds)]
            codes.append(http.request(method, path, **kw).status_code)  # type: ignore[arg-type]
    return codes


def test_a_thousand_bad_requests_leave_the_dial_rate_and_memory_alone(
    sqlite_site: ApiSite,
) -> None:
    site = sqlite_site
    rows = [f"b{i},+861390003{i:04d}\n" for i in range(3000)]
    site.write_campaign("alpha", rows, concurrent=500, per_second=10)
    agent = site.token("desk-1", "agent")
    daemon = site.start("api-1")
    url = daemon.api_url()

    def dials() -> int:
        return site.count(Attempt)

    def rate_over(n: int) -> float:
        start, t0 = dials(), time.monotonic()
        wait_until(f"{n} more dials", lambda: dials() >= start + n)
        return (dials() - start) / (time.monotonic() - t0)

    wait_until("dialling under way", lambda: dials() >= 20)
    before = rate_over(60)
    rss_before = daemon.rss_kib()
    start, t0 = dials(), time.monotonic()
    codes = _bad_requests(url, agent)
    during = (dials() - start) / (time.monotonic() - t0)
    elapsed = time.monotonic() - t0
    after = rate_over(60)
    rss_after = daemon.rss_kib()
    print(
        f"\nAPI burst: {BURST} bad requests in {elapsed:.1f} s; dial rate {before:.1f}/s before, "
        f"{during:.1f}/s during, {after:.1f}/s after (campaign limit 10/s); "
        f"RSS {rss_before / 1024:.1f} MiB -> {rss_after / 1024:.1f} MiB"
    )
    assert all(400 <= c < 500 for c in codes), sorted(set(codes))
    assert {401, 403, 404, 413, 422} <= set(codes)
    # generous bounds: the rate limit (10/s) is the bound, not the API
    assert during >= 0.5 * before and after >= 0.5 * before
    assert rss_after - rss_before < 64 * 1024
