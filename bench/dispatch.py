"""Dispatch throughput and lateness at 10k, 100k and 1M contacts, on SQLite and PostgreSQL.

The real Dispatcher and ResultWriter run on the real clock against an in-process
PBX that fails every call at once (busy), so the database is the only bottleneck.
The queue holds N contacts; a stream of them falls due at a steady rate (above
the target of 500 dials/s) during the measured run, the rest later, so the index
is as deep as the campaign is big. Reported: dials/s sustained, lateness (due →
Originate) p50/p99, and the mean cost of a tick that claims a full batch.

    .venv/bin/python bench/dispatch.py [--sizes 10000 100000 1000000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datetime import time as dtime

from bench.databases import fresh_databases
from dialerd.db import tables
from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.domain.calendar import CallingCalendar, Window
from dialerd.domain.callerid import CallerIdRules
from dialerd.domain.clock import SystemClock
from dialerd.domain.pacing import Floor
from dialerd.domain.policy import DialPolicy
from dialerd.domain.ports import (
    AnsweredInfo,
    AnsweredTarget,
    DialRequest,
    DialResult,
    LinkState,
    LinkStatus,
    PbxSignals,
    ResultSink,
    Verdict,
)
from dialerd.engine.dispatcher import Dispatcher
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.writer import ResultWriter
from dialerd.logconfig import configure_logging
from dialerd.settings import LogSettings

DUE_RATE = 700  # contacts falling due per second during the run
TICK_S = 0.05
BATCH = 500


class InstantPbx:
    """Every call is busy at once: results flow back as fast as the writer can take them."""

    def __init__(self) -> None:
        self.sink: ResultSink = lambda _r: None
        self.sent: list[tuple[float, str]] = []

    def start(self, sink: ResultSink) -> None:
        self.sink = sink

    def is_up(self) -> bool:
        return True

    def originate(self, request: DialRequest) -> None:
        self.sent.append((time.time(), request.key))
        self.sink(
            DialResult(
                request.key,
                request.attempt_id,
                PbxSignals(
                    originate_response="Failure",
                    reason=5,
                    hangup_cause=0,
                    callee_cause=17,
                    dial_status="BUSY",
                    ended_at=datetime.now(UTC),
                ),
            )
        )

    def live_keys(self) -> set[str]:
        return set()

    def link_status(self) -> LinkStatus:
        return LinkStatus(LinkState.UP, "instant")

    def in_flight(self) -> int:
        return 0

    def adopt(self, key: str, attempt_id: int) -> None:
        pass

    def on_answered(self, attempt_id: int, info: AnsweredInfo) -> Verdict:
        return Verdict.not_in_flight

    def floor(self, queue: str, dials: Mapping[int, float] | None = None) -> Floor | None:
        return None

    def close(self) -> None:
        pass


def populate(engine: Engine, n: int, t0: datetime, run_s: float) -> int:
    """N contacts with one number each; the first DUE_RATE*run_s fall due during the run."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        cid = conn.execute(
            insert(tables.campaigns)
            .values(
                name="bench",
                description="",
                config={},
                config_sha256="x",
                timezone="UTC",
                max_rounds=4,
                min_spacing_s=21600,
                state="active",
                created_at=now,
                updated_at=now,
            )
            .returning(tables.campaigns.c.id)
        ).scalar_one()
    streamed = int(DUE_RATE * run_s)
    step = 50_000
    for start in range(0, n, step):
        ids = range(start + 1, min(n, start + step) + 1)
        with engine.begin() as conn:
            conn.execute(
                insert(tables.contacts),
                [
                    {
                        "id": i,
                        "campaign_id": cid,
                        "external_id": f"e{i}",
                        "priority": 0,
                        "state": "active",
                        "rounds_started": 0,
                        "refusals": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(tables.phone_numbers),
                [
                    {
                        "id": i,
                        "contact_id": i,
                        "campaign_id": cid,
                        "position": 1,
                        "e164": f"+86138{i:08d}",
                        "raw": "x",
                        "number_type": "mobile",
                        "state": "dialable",
                        "dial_count": 0,
                        "priority": 0,
                        "third_party": False,
                        "next_dial_at": t0 + timedelta(seconds=(i - 1) / DUE_RATE)
                        if i <= streamed
                        else t0 + timedelta(days=2, seconds=i),
                    }
                    for i in ids
                ],
            )
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return int(cid)


def runtime(cid: int) -> CampaignRuntime:
    return CampaignRuntime(
        id=cid,
        name="bench",
        policy=DialPolicy(),
        calendar=CallingCalendar("UTC", (Window(frozenset(range(7)), dtime(0), dtime.max),)),
        caller_ids=CallerIdRules("4006589888", "PJSIP/{number}@carrier", ()),
        answered=AnsweredTarget(context="dialerd-answered", exten="s"),
        max_concurrent=5000,
        calls_per_second=1000,
    )


def measure(url: str, n: int, seconds: float) -> dict[str, float]:
    engine = make_engine(url)
    upgrade(engine)
    # the stream starts once loading is over (about 20k rows/s on a busy machine)
    t0 = datetime.now(UTC) + timedelta(seconds=10 + n / 8_000)
    cid = populate(engine, n, t0, seconds)
    assert datetime.now(UTC) < t0, "loading took longer than planned: raise the margin"
    rt = runtime(cid)
    pbx = InstantPbx()
    clock = SystemClock()
    writer = ResultWriter(engine, clock, {cid: rt}.get)
    pbx.start(writer.submit)
    writer.start()
    disp = Dispatcher(
        engine,
        pbx,
        clock,
        instance_id="bench",
        max_channels=5000,
        calls_per_second=5000,
        batch=BATCH,
        tick_s=TICK_S,
    )
    disp.set_campaigns({cid: rt})
    while datetime.now(UTC) < t0:
        time.sleep(0.01)
    tick_costs: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        report = disp.tick()
        if report.claimed:
            tick_costs.append((time.monotonic() - started) / report.claimed)
        time.sleep(max(0.0, TICK_S - (time.monotonic() - started)))
    writer.stop()
    due = {
        f"{cid}-{i}-1-1-001": t0 + timedelta(seconds=(i - 1) / DUE_RATE)
        for i in range(1, int(DUE_RATE * seconds) + 1)
    }
    late = sorted((sent - due[key].timestamp()) * 1000 for sent, key in pbx.sent if key in due)
    span = pbx.sent[-1][0] - pbx.sent[0][0] if len(pbx.sent) > 1 else float("nan")
    engine.dispose()
    return {
        "dials_per_s": len(pbx.sent) / span,
        "p50_ms": statistics.median(late) if late else float("nan"),
        "p99_ms": late[int(len(late) * 0.99) - 1] if late else float("nan"),
        "ms_per_dial_in_tick": 1000 * statistics.mean(tick_costs) if tick_costs else float("nan"),
    }


def main() -> None:
    configure_logging(LogSettings(format="json", level="warning"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    with fresh_databases(args.backends) as fresh:
        print(
            f"{'backend':<11}{'contacts':>10}{'dials/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'ms/dial in tick':>17}"
        )
        for backend in args.backends:
            for n in args.sizes:
                r = measure(fresh(backend, f"bench_{n}"), n, args.seconds)
                print(
                    f"{backend:<11}{n:>10}{r['dials_per_s']:>10.0f}{r['p50_ms']:>9.1f}"
                    f"{r['p99_ms']:>9.1f}{r['ms_per_dial_in_tick']:>17.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
